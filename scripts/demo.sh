#!/usr/bin/env bash
# The main job: builds xlb and shows it forwarding. A client, one director
# running the XDP program, three real servers (network namespaces, removed
# at the end). Real TCP connections go through the VIP by direct routing;
# the demo shows where each went and the director's counters.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
xlb_require_root "$0" "$@"

"$XLB_ROOT/scripts/setup.sh"
ninja -C "$XLB_BUILD" >/dev/null
source "$XLB_ROOT/scripts/lib/lab.sh"
lab_init "$XLB_BUILD"
trap lab_down EXIT

lab_log "building the lab: client, director, three reals (namespaces $LAB_PREFIX-*)"
lab_up
lab_start_servers
lab_log "loading xlb on the director's d0 and d1 (native XDP)"
lab_dp attach d0 d1 | sed 's/^/    /'
lab_log "service 192.0.2.10:80/tcp -> reals 203.0.113.11-13, direct routing, Maglev"
lab_dp service add 192.0.2.10:80/tcp
lab_dp real set 192.0.2.10:80/tcp 203.0.113.11 203.0.113.12 203.0.113.13

lab_log "client: 12 TCP connections to 192.0.2.10:80, held open, then 300 short ones"
hold_out=$LAB_RUN/hold.out
ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target 192.0.2.10:80 \
  --conns 12 --seconds 2 >"$hold_out" &
hold_pid=$!
LAB_PIDS+=("$hold_pid")
lab_wait_for 10 "held connections" grep -qx ready "$hold_out"
lab_log "where each held connection went (the director's connection table):"
lab_dp conns | sed 's/^/    /'
wait "$hold_pid"
grep -E '^conn ' "$hold_out" | awk '{printf "    connection %-2s answered by %s, %s lines echoed\n", $2, $4, $6}'
out=$(ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" connect --target 192.0.2.10:80 \
  --count 300)
lab_log "300 short connections, answered by:"
sed 's/^/    /' <<<"$out"

lab_log "director: services and reals with counters"
lab_dp list --stats | sed 's/^/    /'
lab_log "director: global counters"
lab_dp stats | sed 's/^/    /'
grep -qx 'connect: 300 passed, 0 failed' <<<"$out"
lab_log "demo done; removing the lab"
