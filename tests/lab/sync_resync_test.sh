#!/bin/bash
# The resync at start (issue #16): a director that starts asks a peer for
# its flows over TCP before its VRRP instances start (scripts/lib/
# sync_scenario.sh's DR lab, two directors).
#   - director 1 starts alone: its peer's xlbd is not running, so its resync
#     fails at once (connection refused) and its VRRP starts well within
#     sync.resync_timeout + 2 s;
#   - SYNC_SC_CONNS long-lived connections through director 1; then
#     director 2's xlbd starts: `xlbctl sync` says its resync is done with
#     every flow, its connection table holds them, and its log says so
#     before its VRRP instance leaves INIT;
#   - hostile: a TCP connection to the resync port from an address that is
#     no peer (the client's) is closed at once and counted;
#   - director 2 restarts with director 1 dead: its resync times out, and a
#     reload meanwhile is what its VRRP starts with.
# Usage: sync_resync_test.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/sync_scenario.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
BUILD=${1:?usage: sync_resync_test.sh BUILD_DIR}
RESYNC_TIMEOUT_S=10  # sync.resync_timeout's default

sync_sc_init "$BUILD" dr 1
trap 'aa_stop_holds; netns_down' EXIT
sync_sc_lab
n=$SYNC_SC_CONNS
log1=$DL_RUN/d1/xlbd.log log2=$DL_RUN/d2/xlbd.log

# The line number of the first line of FILE matching REGEX (0: none).
line_of() { grep -n -m1 -E "$2" "$1" | cut -d: -f1 || true; }
resync_state() { dl_xlbctl "$1" --json sync | jq -r '.resync'; }
resync_ended() { [[ $(resync_state "$1") != running ]]; }
vrrp_left_init() { [[ -n $(line_of "$1" 'vip1.*INIT -> ') ]]; }

# Seconds from the first line of FILE matching REGEX1 to the first matching
# REGEX2, by glog's time stamps (same day).
log_gap() {
  local t1 t2
  t1=$(grep -m1 -E "$2" "$1" | awk '{print $2}')
  t2=$(grep -m1 -E "$3" "$1" | awk '{print $2}')
  awk -v a="$t1" -v b="$t2" 'BEGIN { split(a, x, ":"); split(b, y, ":");
    printf "%.3f\n", (y[1] - x[1]) * 3600 + (y[2] - x[2]) * 60 + (y[3] - x[3]) }'
}
sync_sc_start 1
# xlbd's start before its sync link (loading the program, the services)
# takes several seconds here: the bound is on what sync adds.
netns_wait_for $((RESYNC_TIMEOUT_S + 20)) "director 1's VRRP started" vrrp_left_init "$log1"
gap=$(log_gap "$log1" 'sync: VRRP and BGP wait' 'vip1.*INIT -> ')
echo "director 1: $(grep -m1 'sync: resync failed' "$log1" | sed 's/.*\] //'); VRRP $gap s later"
check "director 1's VRRP starts within resync_timeout + 2 s of its sync link ($gap s)" \
  awk -v g="$gap" -v t="$RESYNC_TIMEOUT_S" 'BEGIN { exit !(g >= 0 && g <= t + 2) }'
check "director 1, its peer down, says why it has no copy" \
  grep -q 'sync: resync failed: no peer answered (198.51.100.2: Connection refused)' "$log1"
check "xlbctl sync on director 1 says failed" test "$(resync_state 1)" = failed
netns_wait_for 10 "director 1 master of $(dl_vip 1)" dl_has_addr 1 "$(dl_vip 1)"

check "$n long-lived connections through director 1" sync_sc_hold
sync_sc_start 2
netns_wait_for $((RESYNC_TIMEOUT_S + 2)) "director 2's resync ended" resync_ended 2
sync2=$(dl_xlbctl 2 --json sync)
echo "director 2: $(jq -c '{resync, resync_detail, ready}' <<<"$sync2")"
flows=$(jq -r '.resync_detail | capture(": (?<n>[0-9]+) flows").n // 0' <<<"$sync2")
check "director 2's resync is done" test "$(jq -r .resync <<<"$sync2")" = done
check "with at least $n flows (it says $flows)" test "$flows" -ge "$n"
check "director 2 holds an entry for each of the $n connections" sync_sc_backup_has_flows
netns_wait_for 5 "director 2's VRRP started" vrrp_left_init "$log2"
resync_line=$(line_of "$log2" 'sync: resync from 198.51.100.1: [0-9]+ flows')
vrrp_line=$(line_of "$log2" 'vip1.*INIT -> ')
echo "director 2's log: resync at line ${resync_line:-none}, VRRP leaves INIT at line $vrrp_line"
check "director 2 had the flows before its VRRP instance left INIT" \
  test "${resync_line:-999999}" -lt "$vrrp_line"
check "director 1 logs the copy it served" grep -q 'sync: resync served to 198.51.100.2' "$log1"

# Hostile: the client (198.51.100.9) is no peer of director 2.
not_peer() { dl_xlbctl 2 --json sync | jq -r '.dropped.resync_not_peer'; }
before=$(not_peer)
closed_at_once() {
  ip netns exec "$DL_C" timeout 3 bash -c \
    'exec 3<>/dev/tcp/198.51.100.2/8849 && ! IFS= read -r -t 2 -u 3 line'
}
check "a TCP connection from a non-peer is closed at once, unanswered" closed_at_once
check "and counted (resync_not_peer $before -> $(not_peer))" test "$(not_peer)" -gt "$before"

# Director 2 restarts while its peer is dead (kill -9, link down): nobody
# answers its connect, so its resync times out (resync_timeout 2 s here),
# and VRRP starts with what a reload meanwhile set (priority 100 -> 120).
dl_kill_director 1
netns_stop "${DL_XLBD[2]}"
offset=$(wc -l <"$log2")
dl_start_xlbd 2 "$(sync_sc_yaml 2)
  resync_timeout: 2s"
state=$(resync_state 2)
sed -i 's/priority: 100$/priority: 120/' "$DL_RUN/d2/xlb.yaml"
kill -HUP "${DL_XLBD[2]}"
netns_wait_for 10 "director 2's resync ended again" resync_ended 2
netns_wait_for 5 "director 2's VRRP started again" \
  bash -c "tail -n +$((offset + 1)) '$log2' | grep -q 'vip1.*INIT -> '"
tail -n +$((offset + 1)) "$log2" >"$DL_RUN/d2/restart.log"
grep -E 'sync: resync|reloaded|INIT -> ' "$DL_RUN/d2/restart.log" | sed 's/^[^]]*\] /  /'
check "the resync was running when the reload came (it was $state)" test "$state" = running
check "director 2, its peer dead, times out and says so" grep -q \
  'sync: resync timed out after 2 s (0 applied); taking traffic anyway' "$DL_RUN/d2/restart.log"
check "xlbctl sync on director 2 says timed out" test "$(resync_state 2)" = "timed out"
reload_line=$(line_of "$DL_RUN/d2/restart.log" 'reloaded ')
timeout_line=$(line_of "$DL_RUN/d2/restart.log" 'sync: resync timed out')
vrrp_line=$(line_of "$DL_RUN/d2/restart.log" 'vip1.*INIT -> ')
check "the reload came during the resync, VRRP started after it" \
  test "${reload_line:-999999}" -lt "${timeout_line:-0}" -a "${timeout_line:-999999}" -lt "$vrrp_line"
check "VRRP started with the reloaded priority" grep -q 'vip1.*INIT -> .*priority 120' \
  "$DL_RUN/d2/restart.log"
lab_checks_done "lab sync_resync"
