#!/usr/bin/env bash
# Lab test: local exhaustion is not a real's failure. xlbd runs with 1024
# descriptors at most (prlimit) and checks its reals every 200 ms; a local
# user opens 5000 idle connections to the metrics listener and 5000 to the
# API socket and holds them for more than 10 check intervals. Every real
# stays up, xlbctl, the metrics and the status page still answer, traffic
# still flows, and the idle connections are closed by xlbd (evicted) and
# logged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: exhaustion_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
lab_start_servers

cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: "127.0.0.1:9470"}
services:
  - name: web
    vip: $LAB_VIP4
    port: 80
    reals:
      - {address: 203.0.113.11}
      - {address: 203.0.113.12}
      - {address: 203.0.113.13}
    health: {type: http, port: 8008, path: /health, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}
  - name: web-tcp
    vip: $LAB_VIP4
    port: 8080
    reals:
      - {address: 203.0.113.11}
      - {address: 203.0.113.12}
      - {address: 203.0.113.13}
    health: {type: tcp, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}
YAML

ip netns exec "$D" prlimit --nofile=1024:1024 "$LAB_BUILD/controlplane/xlbd" --config "$CONF" \
  --pin-dir "$LAB_PINS" >>"$XLBD_LOG" 2>&1 &
XLBD_PID=$!
netns_own "$XLBD_PID"
netns_wait_for 10 "xlbd's API" xlbctl status >/dev/null

# health of every real as "up"/"down", one per line
healths() { xlbctl --json list | jq -r '.[].reals[].health'; }
all_up() { [[ $(healths | sort -u) == up && $(healths | wc -l) -eq 6 ]]; }
check "all six reals are up before the flood" netns_wait_for 5 "reals up" all_up

FLOOD=$LAB_RUN/flood
netns_start "$D" "$here/tools/idle_flood.py" --tcp 127.0.0.1:9470 5000 --unix "$SOCK" 5000 \
  --status "$FLOOD.status" --stop "$FLOOD.stop" --max-seconds 45
netns_wait_for 40 "the flood" grep -q opened "$FLOOD.status" || true
cat "$FLOOD.status"
check "10000 idle connections opened (at least 9900)" \
  test "$(awk '$1 == "opened" {print $2}' "$FLOOD.status")" -ge 9900

# 10 check intervals with the connections held: never a real down.
downs=0
for _ in $(seq 20); do
  all_up || downs=$((downs + 1))
  sleep 0.1
done
check "every real stays up through 10 check intervals of the flood" test "$downs" -eq 0
check "xlbctl status answers during the flood" bash -c "ip netns exec '$D' \
  '$LAB_BUILD/controlplane/xlbctl' --socket '$SOCK' status >/dev/null"
metrics=$(ip netns exec "$D" curl -sf --max-time 5 127.0.0.1:9470/metrics || true)
check "a metrics scrape answers during the flood" grep -q '^xlb_real_health{' <<<"$metrics"
page=$(ip netns exec "$D" curl -sf --max-time 5 127.0.0.1:9470/status.json || true)
check "the status page's document answers during the flood" \
  test "$(jq -r '.services[0].reals[0].health' <<<"$page" 2>/dev/null)" = up
no_local_errors() { ! grep -Eq '^xlb_health_local_errors_total\{.*\} [1-9]' <<<"$metrics"; }
check "no real counts a local error (descriptors were left for the checks)" no_local_errors
out=$(lab_client connect --target "$LAB_VIP4:80" --count 100 || true)
check "traffic through the VIP succeeds during the flood" passed_all "$out" connect 100

touch "$FLOOD.stop"
netns_wait_for 10 "the flood's report" grep -q closed_by_peer "$FLOOD.status" || true
cat "$FLOOD.status"
closed=$(awk '$1 == "closed_by_peer" {print $2}' "$FLOOD.status")
opened=$(awk '$1 == "opened" {print $2}' "$FLOOD.status")
# All but those still in the two caps of 64 (and a few in flight).
check "xlbd closed the idle connections beyond its caps (evicted)" \
  test "${closed:-0}" -ge $((${opened:-0} - 200))
check "the evictions are logged, for both listeners" bash -c \
  "grep -q 'metrics listener 127.0.0.1:9470: 64 connections open, closed the oldest idle one' '$XLBD_LOG' && \
   grep -q 'API socket $SOCK: 64 connections open, closed the oldest idle one' '$XLBD_LOG'"
metrics=$(ip netns exec "$D" curl -sf --max-time 5 127.0.0.1:9470/metrics || true)
evicted() {  # evicted LISTENER: its xlb_api_connections_closed_total{reason="evicted"}
  awk -v l="xlb_api_connections_closed_total{listener=\"$1\",reason=\"evicted\"}" \
    '$1 == l {print $2}' <<<"$metrics"
}
check "the evictions are counted in the metrics, for both listeners" \
  test "$(evicted api)" -ge 4900 -a "$(evicted metrics)" -ge 4900
check "xlbd logs its raised open files limit" grep -q "open files limit 1024" "$XLBD_LOG"

lab_checks_done "lab exhaustion" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
