#!/usr/bin/env bash
# Lab test: what a restart of xlbd must not do (see scripts/lib/lab.sh).
#  (6) refuse connections while the reals' next hops are being resolved:
#      the director holds the VIP itself (as a VRRP master does), so a packet
#      the XDP program cannot forward yet goes up its stack and gets a RST.
#  (7) forget which reals were down: a real down before the restart stays
#      down until it passes `rise` checks; a drained real stays drained.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: xlbd_restart_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers

# Slow checks (rise and fall 3 x 1 s): a real wrongly up after a restart
# would stay up (and take connections) for 2 s or more.
cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals:
      - {address: 203.0.113.11}
      - {address: 203.0.113.12}
      - {address: 203.0.113.13, weight: 0}
    health: {type: http, port: 8008, path: /health, interval: 1s, timeout: 300ms, rise: 3, fall: 3}
  - name: lost  # its real answers no ARP: it must not hold the start up for long
    vip: 192.0.2.30
    port: 80
    reals:
      - {address: 203.0.113.99}
YAML

XLBD_PID=
start_xlbd() {  # returns as soon as the API answers: the moment systemd hears "ready"
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$CONF" --pin-dir "$LAB_PINS" \
    >>"$XLBD_LOG" 2>&1 &
  XLBD_PID=$!
  netns_own "$XLBD_PID"
  local i
  for ((i = 0; i < 400; i++)); do  # 10 s, polled every 25 ms
    xlbctl status >/dev/null 2>&1 && return 0
    sleep 0.025
  done
  echo "xlbd's API did not answer in 10 s" >&2
  return 1
}
kill9_xlbd() {
  kill -9 "$XLBD_PID"
  wait "$XLBD_PID" 2>/dev/null || true
}
real_field() {  # real_field REAL FIELD: from xlbctl --json list
  xlbctl --json list | jq -r --arg r "$1" --arg f "$2" \
    '.[] | select(.name == "web") | .reals[] | select(.address == $r) | .[$f]'
}
is_health() { [[ $(real_field "$1" health) == "$2" ]]; }
answered_by() {  # which reals answered N connections through the VIP ("real1 real2")
  lab_client connect --target "$LAB_VIP4:80" --count "${1:-60}" 2>/dev/null |
    awk '$1 == "server" {print $2}' | sort -u | xargs
}

# ---- (6) Traffic from the first moment.
# The director holds the VIP (as VRRP master would) and knows no neighbour.
ip -n "$D" addr add "$LAB_VIP4/32" dev lo
# The reals' replies (source: the VIP) come back through the director, their
# default route here: it forwards them although the VIP is now its own.
ip netns exec "$D" sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.d1.accept_local=1
# The director does not route the clients' traffic itself (forwarding off on
# d0): a packet xlb cannot forward with a next hop of its own goes up the stack.
ip netns exec "$D" sysctl -qw net.ipv4.conf.d0.forwarding=0
ip -n "$D" neigh flush all
for r in "$R1" "$R2" "$R3"; do ip -n "$r" neigh flush all; done
t0=$SECONDS
start_xlbd
started_in=$((SECONDS - t0))
out=$(lab_client connect --target "$LAB_VIP4:80" --count 200 --parallel 200 --timeout-ms 2000 || true)
check "(6) 200 connections at once, the moment xlbd answers: none refused or reset" \
  passed_all "$out" connect 200
check "(6) xlbd keeps the reals' neighbour entries resolved (managed)" \
  bash -c "ip -n '$D' neigh show 203.0.113.11 dev d1 | grep -q managed"
check "(6) a real answering no ARP holds the start up 3 s at most (took ${started_in} s)" \
  test "$started_in" -le 6
check "(6) ... and is named in the log" \
  grep -q "real 203.0.113.99 of 192.0.2.30:80/tcp: next hop not resolved" "$XLBD_LOG"
xlbctl service del 192.0.2.30:80
check "(6) its neighbour entry goes with it (xlbd made it)" \
  netns_wait_for 3 "entry removed" bash -c "[[ -z \$(ip -n '$D' neigh show 203.0.113.99) ]]"
check "(6) the others stay" bash -c "ip -n '$D' neigh show 203.0.113.12 dev d1 | grep -q managed"

# ---- (7) Health survives a restart.
lab_role 2 down
check "(7) real2 is seen down" netns_wait_for 8 "real2 down" is_health 203.0.113.12 down
check "(7) the drained real3 is up (drained, not down)" is_health 203.0.113.13 up
kill9_xlbd
start_xlbd
check "(7) after kill -9 and a restart, real2 is down from the first list on" \
  is_health 203.0.113.12 down
check "(7) its effective weight is 0" test "$(real_field 203.0.113.12 effective_weight)" = 0
check "(7) the drained real3 is not down" is_health 203.0.113.13 up
check "(7) real1 is up" is_health 203.0.113.11 up
check "(7) new connections go to real1 only" test "$(answered_by 60)" = "real1"
# Fixed: it needs rise (3) passing checks, one a second; before that no traffic.
lab_role 2 replica
t_fix=$SECONDS
check "(7) until it passed its rise checks real2 takes no new connections" \
  test "$(answered_by 60)" = "real1"
check "(7) real2 comes up once its checks pass" netns_wait_for 8 "real2 up" is_health 203.0.113.12 up
check "(7) ... not before 2 s (3 checks, 1 s apart)" test $((SECONDS - t_fix)) -ge 2
check "(7) real2 takes traffic again" test "$(answered_by 100)" = "real1 real2"

# A graceful stop keeps the record too.
lab_role 1 down
check "(7) real1 is seen down" netns_wait_for 8 "real1 down" is_health 203.0.113.11 down
kill -TERM "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null || true
start_xlbd
check "(7) after SIGTERM and a restart, real1 is down" is_health 203.0.113.11 down
check "(7) and real2 up" is_health 203.0.113.12 up

kill -TERM "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null || true
lab_checks_done "lab xlbd restart" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
