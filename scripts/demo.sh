#!/usr/bin/env bash
# The main job: builds xlb and shows it at work in a namespace lab (a client,
# one director, three real servers; all removed at the end). xlbd runs on
# the director from a config file; real TCP connections go through the VIP
# by direct routing; a real fails its health check and traffic moves away.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
xlb_require_root "$0" "$@"

"$XLB_ROOT/scripts/setup.sh"
ninja -C "$XLB_BUILD" >/dev/null
source "$XLB_ROOT/scripts/lib/lab.sh"
lab_init "$XLB_BUILD"
trap lab_down EXIT
say() { lab_log "$@"; }
show() { sed 's/^/    /'; }
SOCK=$LAB_RUN/xlbd.sock
xlbctl() { ip netns exec "$D" "$LAB_BUILD/controlplane/xlbctl" --socket "$SOCK" "$@"; }

say "building the lab: client, director, three reals (namespaces $LAB_PREFIX-*)"
lab_up
lab_start_servers
cat >"$LAB_RUN/xlb.yaml" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: ""}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals:
      - {address: 203.0.113.11}
      - {address: 203.0.113.12}
      - {address: 203.0.113.13}
    health: {type: http, port: 8008, path: /health, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}
YAML
say "starting xlbd on the director with this config:"
show <"$LAB_RUN/xlb.yaml"
ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$LAB_RUN/xlb.yaml" \
  --pin-dir "$LAB_PINS" --detach-on-exit >"$LAB_RUN/xlbd.log" 2>&1 &
LAB_PIDS+=($!)
lab_wait_for 10 "xlbd's API" xlbctl status >/dev/null
xlbctl list | show

say "client: 12 TCP connections held open through $LAB_VIP4:80"
hold_out=$LAB_RUN/hold.out
ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_VIP4:80" \
  --conns 12 --seconds 2 >"$hold_out" &
hold_pid=$!
LAB_PIDS+=("$hold_pid")
lab_wait_for 10 "held connections" grep -qx ready "$hold_out"
say "where each went (xlbctl conns, the director's connection table):"
xlbctl conns | show
wait "$hold_pid"
say "300 short connections, answered by:"
lab_client connect --target "$LAB_VIP4:80" --count 300 | show

say "real2's health endpoint stops answering"
lab_role 2 down
lab_wait_for 5 "real2 down" bash -c "ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' \
  --socket '$SOCK' health | grep -q '203.0.113.12:80 .* down '"
xlbctl health | show
say "300 more connections: real2 gets none"
out=$(lab_client connect --target "$LAB_VIP4:80" --count 300)
show <<<"$out"
grep -q '^server real2 ' <<<"$out" && { echo "real2 still got connections" >&2; exit 1; }

say "counters (xlbctl list --stats) and the director's view (xlbctl status):"
xlbctl list --stats | show
xlbctl status | show
say "xlbd's log:"
show <"$LAB_RUN/xlbd.log"
grep -qx 'connect: 300 passed, 0 failed' <<<"$out"
say "demo done; removing the lab"
