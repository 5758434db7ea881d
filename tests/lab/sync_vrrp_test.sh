#!/bin/bash
# Flow state shared between two VRRP directors (issue #16), on the scenarios
# of scripts/lib/sync_scenario.sh:
#   nat  60 long-lived NAT connections through director 1; director 2 learns
#        every flow and its NAT reply half by sync; director 1 is killed
#        (kill -9, link down): all 60 go on through director 2.
#   dr   60 long-lived DR connections over real1 and real2; real3 is added
#        on both directors 1 s before director 1 is killed: Maglev on
#        director 2 would now send some of them to real3 (counted with
#        `xlbctl trace --syn`), its copies of director 1's entries keep all
#        60 on their reals.
# Usage: sync_vrrp_test.sh BUILD_DIR nat|dr
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/sync_scenario.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
BUILD=${1:?usage: sync_vrrp_test.sh BUILD_DIR nat|dr}
MODE=${2:?usage: sync_vrrp_test.sh BUILD_DIR nat|dr}
[[ $MODE == nat || $MODE == dr ]] || { echo "unknown scenario '$MODE' (want nat or dr)" >&2; exit 2; }

SYNC_SC_REFRESH=5s  # the refresh walk within the test's time (default 60s)
sync_sc_init "$BUILD" "$MODE" 1
trap 'aa_stop_holds; netns_down' EXIT
sync_sc_up
n=$SYNC_SC_CONNS

check "$n long-lived $MODE connections through director 1" sync_sc_hold
check "director 2 has an entry for each of them, learnt from director 1" \
  netns_wait_for 5 "director 2 has the flows" sync_sc_backup_has_flows
sync1=$(dl_xlbctl 2 --json sync)
echo "director 2: $(jq -c '{records: [.peers[].records_received], applied, dropped}' <<<"$sync1")"
check "director 2 counts no forged, replayed or malformed datagram" \
  test "$(jq '[.dropped.auth_failed, .dropped.replayed, .dropped.malformed] | add' <<<"$sync1")" = 0

if [[ $MODE == nat ]]; then
  nat_replies() { dl_xlbctl 2 --json status | jq '.tables[] | select(.name == "nat_replies") | .entries'; }
  has_replies() { (($(nat_replies) >= n)); }
  check "director 2 holds their NAT reply halves too" netns_wait_for 5 "reply halves" has_replies
  echo "director 2: $(nat_replies) NAT reply entries"
else
  check "director 2 shows them active (director 1's refresh walk, every ${SYNC_SC_REFRESH})" \
    netns_wait_for 15 "the flows active on director 2" sync_sc_backup_flows_active
  sync_sc_add_real 198.51.100.23
  # The scenario: the reals change 1 s before the master dies.
  sleep 1
  moved=0
  while read -r port; do
    real=$(dl_xlbctl 2 --json trace "$(dl_vip 1):80" "$DL_CLIENT_ADDR:$port" --syn | jq -r '.real')
    [[ $real == 198.51.100.23* ]] && moved=$((moved + 1))
  done < <(sync_sc_flows 1)
  echo "Maglev on director 2 now picks real3 for $moved of the $n flows"
  check "the added real changes the choice for some of the flows (else this test proves nothing)" \
    test "$moved" -gt 0
fi

sync_sc_kill_master
survived=$(sync_sc_survivors)
check "all $n connections survive director 1's death ($survived alive)" test "$survived" = "$n"
lab_checks_done "lab sync_vrrp $MODE"
