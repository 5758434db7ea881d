#!/usr/bin/env bash
# Lab test: sessions cut when a real fails (on_down: shutdown, HAProxy's
# on-marked-down shutdown-sessions, as Patroni's HAProxy configuration uses
# it). Two NAT services check Patroni's /primary on real1 and real2
# (lab_role): 5002 with on_down: shutdown, 5003 with the default (keep).
# 20 long-lived connections to each sit on real1, the primary. Patroni
# switches over (real2 becomes primary, then real1 a replica):
#  (1) bad `xlbctl real flush` input is refused with xlbctl's exit codes and
#      changes nothing;
#  (2) every connection to 5002 gets a reset (ECONNRESET) within 2 x the
#      check interval of real1 being marked down;
#  (3) the control: those to 5003 are not cut, they keep exchanging;
#  (4) xlbd killed, 5003 switched to shutdown in the file, xlbd started: the
#      flows of its real that is down are cut at the start;
#  (5) `xlbctl real flush` cuts a drained real's connections on request and
#      says how many.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: on_down_test.sh BUILD_DIR}"
trap netns_down EXIT

INTERVAL_MS=200
CONNS=20
lab_up
lab_start_servers
HEALTH="type: http, port: 8008, path: /primary, interval: ${INTERVAL_MS}ms, timeout: 150ms, rise: 1, fall: 1"
cat >"$CONF" <<YAML
interfaces: [d0, d1]
api: {socket: $SOCK, metrics: ""}
services:
  - name: pg-shutdown
    vip: $LAB_NAT_VIP4
    port: 5002
    forward: nat
    reals:
      - {address: 203.0.113.11, port: 8080}
      - {address: 203.0.113.12, port: 8080}
    health: {$HEALTH}
    on_down: shutdown
  - name: pg-keep
    vip: $LAB_NAT_VIP4
    port: 5003
    forward: nat
    reals:
      - {address: 203.0.113.11, port: 8080}
      - {address: 203.0.113.12, port: 8080}
    health: {$HEALTH}
YAML
SHUTDOWN="$LAB_NAT_VIP4:5002/tcp" KEEP="$LAB_NAT_VIP4:5003/tcp"

# reals_are SERVICE STATE1 STATE2: real1 and real2 as `xlbctl health` says.
reals_are() {
  local health
  health=$(xlbctl health)
  grep -Eq "^$1 +203\.0\.113\.11:8080 +http +$2 " <<<"$health" &&
    grep -Eq "^$1 +203\.0\.113\.12:8080 +http +$3 " <<<"$health"
}
# on_real SERVICE REAL: its connection-table entries that go to REAL.
on_real() { xlbctl conns "$1" | awk -v r="$2:8080" '$NF == r' | wc -l; }
# hold_status OUT PID: the client's "status ..." line, asked with SIGUSR2.
hold_status() {
  local before
  before=$(grep -c '^status ' "$1" || true)
  kill -USR2 "$2"
  netns_wait_for 5 "a status line" bash -c "(( \$(grep -c '^status ' '$1') > $before ))"
  grep '^status ' "$1" | tail -1
}

lab_role 1 primary
lab_role 2 replica
check "--check-config accepts on_down" \
  ip netns exec "$D" "$LAB_BUILD/controlplane/xlbd" --check-config "$CONF"
lab_start_xlbd
for svc in "$SHUTDOWN" "$KEEP"; do
  check "$svc: real1 (primary) up, real2 (replica) down" \
    netns_wait_for 10 "real1 up, real2 down" reals_are "$svc" up down
done

# 20 long-lived connections to each service, all on real1.
start_hold() {  # start_hold PORT OUT: its PID in HOLD_PID
  ip netns exec "$C" "$LAB_BUILD/tests/lab/xlb-lab-client" hold --target "$LAB_NAT_VIP4:$1" \
    --conns "$CONNS" --interval-ms 50 --seconds 120 --timeout-ms 3000 --timestamps >"$2" &
  HOLD_PID=$!
  netns_own "$HOLD_PID"
  netns_wait_for 10 "$CONNS connections to port $1" grep -qx ready "$2"
}
cut_out=$LAB_RUN/hold-shutdown.out keep_out=$LAB_RUN/hold-keep.out
start_hold 5002 "$cut_out"
cut_pid=$HOLD_PID
start_hold 5003 "$keep_out"
keep_pid=$HOLD_PID
check "$CONNS flows of 5002 on real1" test "$(on_real "$SHUTDOWN" 203.0.113.11)" = "$CONNS"
check "$CONNS flows of 5003 on real1" test "$(on_real "$KEEP" 203.0.113.11)" = "$CONNS"

# (1) Bad input for flush: a clear error, xlbctl's exit code, nothing changed.
check "(1) flush of an unknown service: exit 1, named" \
  fails_with 1 "no service $LAB_NAT_VIP4:5999/tcp" xlbctl real flush "$LAB_NAT_VIP4:5999" 203.0.113.11:8080
check "(1) flush of a real the service does not have: exit 1, named" \
  fails_with 1 "service $SHUTDOWN has no real 203.0.113.13:8080" \
  xlbctl real flush "$LAB_NAT_VIP4:5002" 203.0.113.13:8080
check "(1) flush without a real: exit 2" \
  fails_with 2 "missing argument: real flush" xlbctl real flush "$LAB_NAT_VIP4:5002"
check "(1) flush of a service without a port: exit 2" \
  fails_with 2 "no port" xlbctl real flush "$LAB_NAT_VIP4" 203.0.113.11:8080
check "(1) flush of a malformed real: exit 2" \
  fails_with 2 "'real-one' is not an IPv4 or IPv6 address" \
  xlbctl real flush "$LAB_NAT_VIP4:5002" real-one
check "(1) ... and the flows are all still there" \
  test "$(on_real "$SHUTDOWN" 203.0.113.11)" = "$CONNS"
check "(1) ... and no connection was cut" bash -c "! grep -q '^fail ' '$cut_out' '$keep_out'"

# Patroni switches over: real2 is promoted, then real1 demoted.
lab_role 2 primary
for svc in "$SHUTDOWN" "$KEEP"; do
  check "$svc: real2, promoted, is up" netns_wait_for 10 "real2 up" reals_are "$svc" up up
done
lab_role 1 replica
down_line="real $SHUTDOWN 203.0.113.11:8080 is down"
check "real1 of 5002 is marked down" netns_wait_for 10 "real1 down" grep -q "$down_line" "$XLBD_LOG"

# (2) Every connection to 5002 is reset, soon after the mark-down.
check "(2) all $CONNS connections to 5002 fail" netns_wait_for 10 "$CONNS failures" \
  bash -c "(( \$(grep -c '^fail ' '$cut_out') >= $CONNS ))"
# A glog line's time in ns: "W20261203 10:42:30.123456 ..." (older glog:
# "W1203 ..."), local time as date reads it.
glog_ns() {
  local day time
  read -r day time _ <<<"$1"
  day=${day:1}
  ((${#day} == 4)) && day=$(date +%Y)$day
  date -d "${day:0:4}-${day:4:2}-${day:6:2} $time" +%s%N
}
down_ns=$(glog_ns "$(grep -m1 "$down_line" "$XLBD_LOG")")
grep -m1 "$down_line" "$XLBD_LOG" | sed 's/^/  /'
grep "real $SHUTDOWN 203.0.113.11:8080 is down: .* connections cut" "$XLBD_LOG" | sed 's/^/  /' || true
resets=$(grep -c '^fail [0-9]* [0-9]* reset .*Connection reset by peer' "$cut_out" || true)
check "(2) each failure is a reset (ECONNRESET): $resets of $CONNS" test "$resets" = "$CONNS"
slowest_ms=$(awk -v d="$down_ns" '$1 == "fail" { ms = ($3 - d) / 1e6; if (ms > m) m = ms } END { printf "%d", m }' "$cut_out")
earliest_ms=$(awk -v d="$down_ns" '$1 == "fail" { ms = ($3 - d) / 1e6; if (n++ == 0 || ms < m) m = ms } END { printf "%d", m }' "$cut_out")
echo "  resets from $earliest_ms to $slowest_ms ms after the mark-down"
check "(2) every reset within 2 x the check interval ($((2 * INTERVAL_MS)) ms) of the mark-down" \
  test "$slowest_ms" -le $((2 * INTERVAL_MS))
check "(2) none before it" test "$earliest_ms" -ge 0
check "(2) xlbd logged how many it cut" \
  grep -q "real $SHUTDOWN 203.0.113.11:8080 is down: $CONNS connections cut (on_down: shutdown" "$XLBD_LOG"
check "(2) 5002 has no flow left on real1" test "$(on_real "$SHUTDOWN" 203.0.113.11)" = 0
out=$(lab_client connect --target "$LAB_NAT_VIP4:5002" --count 20 || true)
check "(2) clients reconnect at once, to the new primary" \
  bash -c "grep -qx 'server real2 20' <<<'$out' && grep -qx 'connect: 20 passed, 0 failed' <<<'$out'"

# (3) The control: with the default, the connections to 5003 go on (real1's
# server is alive, only demoted), for 5 check intervals past the mark-down.
check "real1 of 5003 is marked down too" \
  netns_wait_for 10 "real1 down" grep -q "real $KEEP 203.0.113.11:8080 is down" "$XLBD_LOG"
sleep_until=$((down_ns / 1000000 + 5 * INTERVAL_MS))
netns_wait_for 10 "5 check intervals" bash -c "(( \$(date +%s%3N) >= $sleep_until ))"
status=$(hold_status "$keep_out" "$keep_pid")
echo "  5003: $status"
check "(3) on_down: keep: all $CONNS connections to 5003 alive and exchanging" \
  grep -Eq "^status alive $CONNS failed 0 .* fresh $CONNS$" <<<"$status"
check "(3) ... still on real1" test "$(on_real "$KEEP" 203.0.113.11)" = "$CONNS"

# (4) A restarted xlbd cuts the flows of reals that are down where the
# service now says shutdown (also what an xlbd killed during a flush left).
kill -9 "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null || true
netns_forget "$XLBD_PID"
sed -i '/name: pg-keep/,$ s/^    health: .*$/&\n    on_down: shutdown/' "$CONF"
check "(4) pg-keep now says on_down: shutdown" \
  bash -c "sed -n '/name: pg-keep/,\$p' '$CONF' | grep -qx '    on_down: shutdown'"
lab_start_xlbd
check "(4) restarted on the changed file: all $CONNS connections to 5003 are reset" \
  netns_wait_for 10 "$CONNS resets" \
  bash -c "(( \$(grep -c '^fail [0-9]* [0-9]* reset .*Connection reset by peer' '$keep_out') >= $CONNS ))"
check "(4) ... logged at the start" \
  grep -q "real $KEEP 203.0.113.11:8080 is down: $CONNS connections cut (on_down: shutdown" "$XLBD_LOG"

# (5) xlbctl real flush cuts a drained real's connections on request, and
# says how many: 20 new connections to 5003 sit on real2 (the primary), real1
# comes back, real2 is drained (its connections go on), then flushed.
# The cut clients' last segments made entries on real2 (that is how they
# were reset); they stay until their idle timeout, and the flush counts them.
stale=$(on_real "$KEEP" 203.0.113.12)
start_hold 5003 "$LAB_RUN/hold-flush.out"
flush_pid=$HOLD_PID flush_out=$LAB_RUN/hold-flush.out
check "(5) $CONNS more flows of 5003 on real2 (beside $stale of the cut ones)" \
  test "$(on_real "$KEEP" 203.0.113.12)" = $((stale + CONNS))
lab_role 1 primary
check "(5) real1 is back up" netns_wait_for 10 "real1 up" reals_are "$KEEP" up up
xlbctl real set "$LAB_NAT_VIP4:5003" 203.0.113.12:8080 --drain
status=$(hold_status "$flush_out" "$flush_pid")
check "(5) drained: the $CONNS connections go on ($status)" \
  grep -Eq "^status alive $CONNS failed 0 .* fresh $CONNS$" <<<"$status"
flushed=$(xlbctl real flush "$LAB_NAT_VIP4:5003" 203.0.113.12:8080)
echo "  xlbctl real flush: $flushed"
n=$((stale + CONNS))
check "(5) real flush prints what it removed" \
  test "$flushed" = "$n connections removed ($n NAT reply entries, 0 persistence entries)"
check "(5) all $CONNS connections are reset" netns_wait_for 5 "$CONNS resets" \
  bash -c "(( \$(grep -c '^fail [0-9]* [0-9]* reset .*Connection reset by peer' '$flush_out') >= $CONNS ))"
out=$(lab_client connect --target "$LAB_NAT_VIP4:5003" --count 20 || true)
check "(5) ... and reconnect, to real1" \
  bash -c "grep -qx 'server real1 20' <<<'$out' && grep -qx 'connect: 20 passed, 0 failed' <<<'$out'"
again=$(xlbctl real flush "$LAB_NAT_VIP4:5003" 203.0.113.12:8080)
check "(5) a second flush finds nothing" \
  test "$again" = "0 connections removed (0 NAT reply entries, 0 persistence entries)"

netns_stop "$cut_pid"
netns_stop "$keep_pid"
netns_stop "$flush_pid"
lab_checks_done "lab on_down"
