#!/bin/bash
# Flow sync under hostile datagrams (issue #16: "forged or replayed ones are
# dropped and counted"), on the two-director lab of sync_scenario.sh (DR):
# director 2 is sent, each 20 times, datagrams from an address that is not a
# peer, datagrams from director 1's address tagged with another key, datagrams
# with the right key but an epoch older than director 1's (a replay from
# before its restart), truncated ones and junk. Each is counted under its
# reason, none of their flows reaches director 2's table, and the real
# stream from director 1 goes on being applied afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/sync_scenario.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
BUILD=${1:?usage: sync_hostile_test.sh BUILD_DIR}
FORGE=$ROOT/tests/lab/tools/sync_forge.py

sync_sc_init "$BUILD" dr 1
trap netns_down EXIT
sync_sc_up

connect() {  # connect COUNT: new connections to the VIP (through director 1)
  ip netns exec "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$(dl_vip 1):80" \
    --count "$1" --timeout-ms 1000 >/dev/null
}
applied() { dl_xlbctl 2 --json sync | jq '.applied.inserted'; }
dropped() { dl_xlbctl 2 --json sync | jq ".dropped.$1"; }
forge() {  # forge NAMESPACE KIND [ARGS...]
  ip netns exec "$1" python3 "$FORGE" "$2" --destination "$(dl_director_addr 2)" \
    --vip "$(dl_vip 1)" --client "$DL_CLIENT_ADDR" "${@:3}"
}

check "20 connections through director 1" connect 20
check "director 2 applied them" netns_wait_for 5 "20 applied" eval '(($(applied) >= 20))'
# Director 1's sender id and epoch as director 2 heard them (python: the
# epoch, nanoseconds, does not fit jq's doubles).
read -r sender_id epoch < <(dl_xlbctl 2 --json sync |
  python3 -c 'import json, sys; p = json.load(sys.stdin)["peers"][0]; print(p["sender_id"], p["epoch"])')
before_applied=$(applied)

forge "$DL_C" forged
forge "${DL_D[1]}" forged --sender-id "$sender_id" --epoch "$epoch"
forge "${DL_D[1]}" replayed --key-file "$DL_RUN/sync.key" --sender-id "$sender_id" \
  --epoch $((epoch - 1))
forge "${DL_D[1]}" truncated
forge "${DL_D[1]}" junk
sync_view=$(dl_xlbctl 2 --json sync)
echo "director 2 drops: $(jq -c '.dropped' <<<"$sync_view")"
counted() { netns_wait_for 5 "$1 >= $2" eval "(( \$(dropped $1) >= $2 ))"; }
check "20 from a non-peer counted unknown_peer" counted unknown_peer 20
check "20 tagged with another key counted auth_failed" counted auth_failed 20
check "20 of an older epoch counted replayed" counted replayed 20
check "40 truncated or junk counted malformed" counted malformed 40
hostile_flows=$(dl_xlbctl 2 --json conns --limit 100000 |
  jq '[.connections[] | select(.client | test(":600[0-1][0-9]$"))] | length')
check "none of their flows is in director 2's table ($hostile_flows)" test "$hostile_flows" = 0
check "nothing of theirs was applied" test "$(applied)" = "$before_applied"

check "10 more connections through director 1" connect 10
check "director 2 still applies director 1's flows" \
  netns_wait_for 5 "10 more applied" eval "(( \$(applied) >= before_applied + 10 ))"
check "director 1 is still up for director 2" sync_sc_peer_up 2
lab_checks_done "lab sync_hostile"
