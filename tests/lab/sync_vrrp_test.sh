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

SYNC_SC_REFRESH=5s  # the refresh walk brings the copies their ESTABLISHED state
sync_sc_init "$BUILD" "$MODE" 1
trap 'aa_stop_holds; netns_down' EXIT
sync_sc_up
SYNC_SC_STEP=check
sync_sc_run
check "all $SYNC_SC_CONNS connections survive director 1's death ($SYNC_SC_SURVIVED alive)" \
  test "$SYNC_SC_SURVIVED" = "$SYNC_SC_CONNS"
lab_checks_done "lab sync_vrrp $MODE"
