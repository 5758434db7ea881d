#!/usr/bin/env bash
# Lab test: xlbd in the director namespace, driven by its config file, its
# signals and xlbctl, with real traffic from the client (see
# scripts/lib/lab.sh). Each scenario asserts what an operator would check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: xlbd_lab_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers

write_config() {  # write_config [EXTRA_SERVICE_YAML]
  cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: "127.0.0.1:9470"}
tables: {connections: ${CONN_TABLE_SIZE:-131072}}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals:
      - {address: 203.0.113.11}
      - {address: 203.0.113.12}
      - {address: 203.0.113.13}
    health: {type: http, port: 8008, path: /health, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}
  - name: pg-primary
    vip: $LAB_NAT_VIP4
    port: 5002
    forward: nat
    reals:
      - {address: 203.0.113.11, port: 8080}
      - {address: 203.0.113.12, port: 8080}
      - {address: 203.0.113.13, port: 8080}
    health: {type: http, port: 8008, path: /primary, expect: [200], interval: 200ms, timeout: 100ms, rise: 1, fall: 1}
  - name: pg-replicas
    vip: $LAB_NAT_VIP4
    port: 5003
    forward: nat
    reals:
      - {address: 203.0.113.11, port: 8080}
      - {address: 203.0.113.12, port: 8080}
      - {address: 203.0.113.13, port: 8080}
    health: {type: http, port: 8008, path: /replica, expect: [200], interval: 200ms, timeout: 100ms, rise: 1, fall: 1}
${1:-}
YAML
}


# Which reals answered N connections to TARGET ("real1 real3").
answered_by() {
  lab_client connect --target "$1" --count "${2:-60}" 2>/dev/null | awk '$1 == "server" {print $2}' | sort | xargs
}
real_health() {  # real_health SERVICE_NAME REAL: up/down/none
  xlbctl --json list | jq -r --arg s "$1" --arg r "$2" \
    '.[] | select(.name == $s) | .reals[] | select(.address == $r) | .health'
}
packets() { xlbctl --json list | jq '[.[].counters.packets] | add'; }
is_health() { [[ $(real_health "$1" "$2") == "$3" ]]; }

# (0) NAT replies leave from the VIP, a local address on a VRRP master: the
# kernel cannot resolve their router for them, so xlbd keeps the routers of
# the routes out of its interfaces resolved (managed entries, proto 177).
# A default route via the client side (nothing answers there: the entry is
# kept, resolved or not); an IPv6 ECMP one added while xlbd runs.
ip -n "$D" route add default via 198.51.100.254 dev d0
xlb_entries() { ip -n "$D" -d neigh show proto 177 dev d0; }
managed_entries() {  # managed_entries ADDRESS...: xlb's managed entry for each, on d0
  local entries a
  entries=$(xlb_entries)
  for a in "$@"; do grep -q "^$a .*managed" <<<"$entries" || return 1; done
}
no_entries() {  # no_entries ADDRESS...: xlb has an entry for none of them
  local entries a
  entries=$(xlb_entries)
  for a in "$@"; do ! grep -q "^$a " <<<"$entries" || return 1; done
}

lab_role 1 primary
write_config
lab_start_xlbd

check "the API socket is root-only (mode 600)" test "$(stat -c %a "$SOCK")" = 600
check "(0) the default route's gateway is kept resolved for NAT replies" \
  netns_wait_for 3 "a managed entry for 198.51.100.254" managed_entries 198.51.100.254
check "(0) the log says which routers it keeps resolved" netns_wait_for 3 "the log line" \
  grep -q "NAT replies: keeping the routers toward clients resolved: 198.51.100.254 dev d0$" "$XLBD_LOG"
ip -n "$D" -6 route add default nexthop via 2001:db8:1::fe dev d0 nexthop via 2001:db8:1::fd dev d0
check "(0) each path of an ECMP route added later is kept resolved too" \
  netns_wait_for 12 "managed entries for the IPv6 routers" managed_entries 2001:db8:1::fe 2001:db8:1::fd
ip -n "$D" route del default
ip -n "$D" -6 route del default
check "(0) a router no route goes through any more is let go" \
  netns_wait_for 12 "no entries for the routers" no_entries 198.51.100.254 2001:db8:1::fe 2001:db8:1::fd

# (1) Traffic through the VIPs.
out=$(lab_client connect --target "$LAB_VIP4:80" --count 300 || true)
check "(1) 300 connections through the DR VIP succeed" passed_all "$out" connect 300
check "(1) all three reals serve" test "$(answered_by "$LAB_VIP4:80")" = "real1 real2 real3"

# (2) real2's health endpoint fails: within fall x interval + timeout (500 ms,
# given 2 s here for a loaded machine) new connections avoid it; it recovers.
lab_role 2 down
t0=$SECONDS
check "(2) real2 is marked down" netns_wait_for 3 "real2 down" is_health web 203.0.113.12 down
check "(2) new connections avoid real2" test "$(answered_by "$LAB_VIP4:80" 150)" = "real1 real3"
lab_role 2 replica
check "(2) real2 comes back after its checks pass" netns_wait_for 3 "real2 up" is_health web 203.0.113.12 up
check "(2) real2 takes traffic again" test "$(answered_by "$LAB_VIP4:80" 150)" = "real1 real2 real3"

# (3) Patroni: port 5002 goes to the primary, 5003 to the replicas; the
# primary role moves from real1 to real3 and 5002 follows.
netns_wait_for 3 "primary checks" is_health pg-primary 203.0.113.11 up || true
check "(3) 5002 reaches the primary (real1)" test "$(answered_by "$LAB_NAT_VIP4:5002")" = "real1"
check "(3) 5003 reaches the replicas" test "$(answered_by "$LAB_NAT_VIP4:5003")" = "real2 real3"
lab_role 1 replica
lab_role 3 primary
check "(3) the primary check follows the role" netns_wait_for 3 "real3 primary" is_health pg-primary 203.0.113.13 up
netns_wait_for 3 "real1 not primary" is_health pg-primary 203.0.113.11 down || true
check "(3) 5002 now reaches real3" test "$(answered_by "$LAB_NAT_VIP4:5002")" = "real3"
check "(3) 5003 now reaches real1 and real2" test "$(answered_by "$LAB_NAT_VIP4:5003")" = "real1 real2"

# (4) xlbctl changes traffic at once.
xlbctl real del "$LAB_VIP4:80" 203.0.113.13
check "(4) real del: no new connection reaches real3" test "$(answered_by "$LAB_VIP4:80")" = "real1 real2"
xlbctl real add "$LAB_VIP4:80" 203.0.113.13 --weight 1
check "(4) real add: real3 serves again" test "$(answered_by "$LAB_VIP4:80" 150)" = "real1 real2 real3"
xlbctl real set "$LAB_VIP4:80" 203.0.113.11 --drain
check "(4) real set --drain: real1 takes no new connections" \
  test "$(answered_by "$LAB_VIP4:80")" = "real2 real3"
xlbctl real set "$LAB_VIP4:80" 203.0.113.11 --weight 1
xlbctl service add 192.0.2.30:80 --forward nat --name added
xlbctl real add 192.0.2.30:80 203.0.113.12:8080
check "(4) service add: the new VIP answers" test "$(answered_by 192.0.2.30:80 20)" = "real2"
xlbctl config save "$LAB_RUN/saved.yaml" >/dev/null
check "(4) the running state saved with runtime changes is a valid config" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$LAB_RUN/saved.yaml"
check "(4) it holds the service added at run time" grep -q "vip: 192.0.2.30" "$LAB_RUN/saved.yaml"
xlbctl service del 192.0.2.30:80
out=$(lab_client connect --target 192.0.2.30:80 --count 5 --timeout-ms 300 2>/dev/null || true)
check "(4) service del: the VIP no longer answers" grep -q "connect: 0 passed, 5 failed" <<<"$out"
# (4b) service add says what a service in the config file can say, read by
# the config's parser: persistence netmask, timeouts and a health check from
# the command line (global options after the command), applied at once.
checked=(192.0.2.32:80 --name checked --forward nat --persistence 10m --persistence-netmask 24
  --tcp-timeout 20m --udp-timeout 1m --health-type http --health-port 8008 --health-path /primary
  --health-expect 200,204 --health-interval 200ms --health-timeout 100ms --health-rise 1
  --health-fall 1 --on-down shutdown)
check "(4b) service add with persistence, timeouts and health, --json after it" \
  fails_with 0 '"ok": true' xlbctl service add "${checked[@]}" --json
xlbctl real add 192.0.2.32:80 203.0.113.11:8080
xlbctl real add 192.0.2.32:80 203.0.113.13:8080
check "(4b) its http check on /primary finds real3 up" \
  netns_wait_for 3 "real3 up" is_health checked 203.0.113.13 up
check "(4b) and real1 (a replica) down" netns_wait_for 3 "real1 down" is_health checked 203.0.113.11 down
check "(4b) so only real3 serves it" test "$(answered_by 192.0.2.32:80 20)" = "real3"
check "(4b) list --json shows its persistence, check and on_down" \
  test "$(xlbctl list --json | jq -r '.[] | select(.name == "checked") | "\(.persistence) \(.check) \(.on_down)"')" = "600 http shutdown"
xlbctl config save "$LAB_RUN/saved-checked.yaml" >/dev/null
# The saved entry of the service, from its name to the next one's.
awk '/^  - name: /{ours = ($3 == "checked")} ours' "$LAB_RUN/saved-checked.yaml" >"$LAB_RUN/checked.yaml"
saved_has() {
  local want
  for want in "$@"; do grep -qE -- "$want" "$LAB_RUN/checked.yaml" || { echo "  no '$want' in:"; cat "$LAB_RUN/checked.yaml"; return 1; }; done
}
check "(4b) config save writes its netmask, timeouts and health as given" \
  saved_has "timeout: 10m" "netmask: 24" "tcp: 20m" "udp: 1m" "type: http" "port: 8008" \
  "path: /primary" "expect: \[200, 204\]" "interval: 200ms" "timeout: 100ms" "rise: 1" "fall: 1" \
  "on_down: shutdown"
check "(4b) a bad value is refused in the config's words, naming the option, exit 2" \
  fails_with 2 "^xlbctl: --health-interval: '5x' is not a duration" \
  xlbctl service add 192.0.2.33:80 --health-type tcp --health-interval 5x
check "(4b) and changes nothing" \
  test "$(xlbctl list --json | jq '[.[] | select(.vip == "192.0.2.33")] | length')" = 0
xlbctl service del 192.0.2.32:80
check "(4) a bad real is refused with a one-line reason, exit 1" \
  fails_with 1 "^xlbctl: real 2001:db8::1 of service $LAB_VIP4:80/tcp: an IPv6 real for an IPv4 VIP$" \
  xlbctl real add "$LAB_VIP4:80" 2001:db8::1
check "(4) an unknown service is a 404, exit 1" \
  fails_with 1 "^xlbctl: no service 192.0.2.99:80/tcp$" xlbctl real add 192.0.2.99:80 203.0.113.11
check "(4) a bad argument is refused before asking xlbd, exit 2" \
  fails_with 2 "^xlbctl: --weight wants a number, not 'x'$" \
  xlbctl real set "$LAB_VIP4:80" 203.0.113.11 --weight x

# (5) 200 requests in flight during SIGHUP reloads (one with a changed file):
# none fails.
lab_client connect --target "$LAB_VIP4:80" --count 3000 --parallel 200 >"$LAB_RUN/reload.out" 2>&1 &
load_pid=$!
netns_own "$load_pid"
write_config "  - {name: extra, vip: 192.0.2.31, port: 80, reals: [{address: 203.0.113.11}]}"
for _ in 1 2 3; do
  kill -HUP "$XLBD_PID"
  sleep 0.2
done
wait "$load_pid" || true
check "(5) 3000 connections, 200 at a time, through 3 reloads: none fails" \
  passed_all "$(cat "$LAB_RUN/reload.out")" connect 3000
check "(5) the changed file was applied" bash -c "ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' list | grep -q 192.0.2.31"

# (6) kill -9 during traffic, restart: no connection fails, counters go on.
before=$(packets)
ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_VIP4:80" --conns 20 \
  --interval-ms 50 --seconds 4 >"$LAB_RUN/hold.out" &
hold_pid=$!
netns_own "$hold_pid"
netns_wait_for 10 "held connections" grep -qx ready "$LAB_RUN/hold.out"
kill -9 "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null || true
out=$(lab_client connect --target "$LAB_VIP4:80" --count 100 || true)
check "(6) with xlbd dead, the XDP program keeps forwarding new connections" passed_all "$out" connect 100
lab_start_xlbd
out=$(lab_client connect --target "$LAB_VIP4:80" --count 100 || true)
check "(6) after the restart, new connections succeed" passed_all "$out" connect 100
wait "$hold_pid" || true
check "(6) 20 long-lived connections survived the kill and the restart" \
  passed_all "$(cat "$LAB_RUN/hold.out")" hold 20
after=$(packets)
check "(6) counters continue ($before -> $after packets)" test "$after" -gt "$before"

# (7) A bad config: --check-config says where; a reload keeps the running one.
cp "$CONF" "$LAB_RUN/good.yaml"
sed -i 's/interval: 200ms, timeout: 100ms, rise: 2/interval: 5x, timeout: 100ms, rise: 2/' "$CONF"
check "(7) --check-config fails naming file, line and field" \
  fails_with 1 "^$CONF:12: services\[0\]\.health\.interval: '5x' is not a duration" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$CONF"
check "(7) --check-config accepts the good file" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$LAB_RUN/good.yaml"
check "(7) a real-time priority past 99 is refused before anything starts" \
  fails_with 2 "^xlbd: --realtime-priority 100 is out of range" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$LAB_RUN/good.yaml" \
  --pin-dir "$LAB_RUN/unused-pins" --realtime-priority 100
check "(7) a negative SYN flood rate is refused" \
  fails_with 2 "^xlbd: --syn-flood-rate -5 is out of range" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$LAB_RUN/good.yaml" \
  --pin-dir "$LAB_RUN/unused-pins" --syn-flood-rate -5
listed=$(xlbctl list)
kill -HUP "$XLBD_PID"
check "(7) the reload is refused in the log" netns_wait_for 5 "reload refused" grep -q "reload refused" "$XLBD_LOG"
check "(7) nothing changed" test "$(xlbctl list)" = "$listed"
out=$(lab_client connect --target "$LAB_VIP4:80" --count 100 || true)
check "(7) traffic goes on" passed_all "$out" connect 100

check "xlbctl status names the interfaces" bash -c "ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' status | grep -Eq '^interfaces: d0 \\((libxdp-dispatcher|direct-native)\\) d1 \\((libxdp-dispatcher|direct-native)\\)$'"
conns=$(xlbctl conns "$LAB_VIP4:80")
check "xlbctl conns lists flows of the service, with their reals" \
  grep -Eq "^TCP .* $LAB_VIP4:80 +203\.0\.113\.1[123]:80$" <<<"$conns"

# xlbctl trace: for live connections, the program names the real that holds
# each one (asked of the reals' own sockets), and tracing changes nothing.
ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_VIP4:80" --conns 9 \
  --interval-ms 100 --seconds 6 >"$LAB_RUN/trace_hold.out" &
trace_hold=$!
netns_own "$trace_hold"
netns_wait_for 10 "held connections" grep -qx ready "$LAB_RUN/trace_hold.out"
traced=0 wrong=0 n=0
for r in "$R1" "$R2" "$R3"; do
  n=$((n + 1))
  # The servers' sockets are dual-stack: an IPv4 peer shows as [::ffff:ADDR]:PORT.
  for peer in $(ip netns exec "$r" ss -Htn state established "( sport = :80 )" |
                awk '{print $4}' | sed -E 's/^\[::ffff:([0-9.]+)\]/\1/'); do
    traced=$((traced + 1))
    said=$(xlbctl --json trace "$LAB_VIP4:80" "$peer" | jq -r '"\(.real) \(.chosen_by)"' || true)
    if [[ $said != "203.0.113.1$n:80 connection" ]]; then
      wrong=$((wrong + 1))
      echo "  trace of $peer says '$said'; real$n holds it"
    fi
  done
done
check "xlbctl trace names the real holding each of 9 live connections ($traced traced)" \
  test "$traced" -eq 9 -a "$wrong" -eq 0
entries=$(xlbctl --json conns | jq .total)
trace=$(xlbctl trace "$LAB_VIP4:80" 198.51.100.77:1234 --syn)
sed 's/^/  | /' <<<"$trace"
check "xlbctl trace --syn of a new flow names a real by its Maglev slot" \
  grep -Eq "^real: +203\.0\.113\.1[123]:80, by Maglev slot [0-9]+; a packet would record the flow$" <<<"$trace"
check "a trace makes no connection-table entry" \
  test "$(xlbctl --json conns | jq .total)" -eq "$entries" -a -z "$(xlbctl conns | grep 198.51.100.77)"
check "xlbctl trace of an address without a service says so, exit 0" \
  grep -q "^service: *none; the packet goes up to the kernel (XDP_PASS)$" \
  <<<"$(xlbctl trace 192.0.2.99:80 198.51.100.77:1234)"
check "xlbctl trace of a malformed flow is refused before asking xlbd, exit 2" \
  fails_with 2 "client '198.51.100.77': no port" xlbctl trace "$LAB_VIP4:80" 198.51.100.77
check "xlbctl trace from an interface xlb is not on is refused, exit 1" \
  fails_with 1 "xlb is not attached to 'lo' \(attached: d0 d1\)" \
  xlbctl trace "$LAB_VIP4:80" 198.51.100.77:1234 --interface lo
wait "$trace_hold" || true

health=$(xlbctl health)
check "xlbctl health shows each real's check" \
  grep -Eq "^$LAB_VIP4:80/tcp +203\.0\.113\.12:80 +http +up " <<<"$health"
check "xlbctl list --rate measures rates" bash -c "ip netns exec '$D' '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' list --rate | grep -q CPS"
metrics=$(ip netns exec "$D" curl -sf 127.0.0.1:9470/metrics || true)
check "metrics: per-real counters and health" \
  grep -q "xlb_real_health{service=\"web\",vip=\"$LAB_VIP4\",port=\"80\",protocol=\"tcp\",real=\"203.0.113.11\",real_port=\"80\"} 1" <<<"$metrics"
check "metrics: the configured connection table size and its fill" \
  grep -q '^xlb_table_capacity{table="connections"} 131072$' <<<"$metrics"
check "metrics: the persistence table's failed inserts" \
  grep -q '^xlb_table_insert_failures_total{table="persistence"} 0$' <<<"$metrics"
check "xlbctl status shows each table's fill" \
  grep -Eq '^  connections: [1-9][0-9]*/131072 \([0-9.]+%\), 0 failed inserts, 0 not recorded \(flood\)$' \
  <<<"$(xlbctl status)"
write_config
sed -i 's/connections: 131072/connections: 65536/' "$CONF"
kill -HUP "$XLBD_PID"
check "a changed table size is logged as taking effect at restart" \
  netns_wait_for 5 "table size warning" grep -q "table sizes changed .*take effect when xlbd restarts" "$XLBD_LOG"

kill -TERM "$XLBD_PID"
wait "$XLBD_PID" || true
out=$(lab_client connect --target "$LAB_VIP4:80" --count 50 || true)
check "after SIGTERM the program stays and forwards" passed_all "$out" connect 50
check "a table pinned with another size is refused, saying what to do" \
  fails_with 1 "pinned map .*/conn_table has max entries 131072 but this xlb wants 65536 .*remove $LAB_PINS to start afresh" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --config "$CONF" --pin-dir "$LAB_PINS"
lab_checks_done "lab xlbd" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
