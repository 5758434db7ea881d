#!/bin/bash
# Flow state shared between ECMP directors (issue #16) on the ECMP lab
# (scripts/lib/ecmp_lab.sh with ECMP_SYNC=1: every director's sync: section
# names directors 1..4), the steps of scripts/lib/ecmp_scenario.sh's
# ecmp_sc_join_drain, as `scripts/bench.sh sync` runs them:
#   90 long-lived DR connections through the router's 3-path route; every
#   director holds every flow (its own, or a peer's copy); the real with the
#   most flows is drained on all three (`xlbctl real set --drain`: its flows
#   stay, new ones avoid it), then director 4 joins with it drained in its
#   config. The router moves some flows to director 4, some of them on the
#   drained real: Maglev there (drained real left out) would send them to
#   another real, which resets them; director 4's copies (resync from a peer
#   before it announces the VIP) keep them on their real: all 90 survive.
set -euo pipefail
BUILD=$(cd "${1:?usage: sync_ecmp_test.sh BUILD_DIR}" && pwd)
LIB=$(dirname "$0")/../../scripts/lib
source "$LIB/lab_checks.sh"
source "$LIB/ecmp_scenario.sh"

CONNS=90
ECMP_SYNC=1
ecmp_sc_init "$BUILD" "$CONNS" || { echo "FAIL: $(basename "$0"): no FRR"; exit 1; }
trap 'netns_down' EXIT
trap 'exit 1' INT TERM

ecmp_log "3 directors with sync, $CONNS connections; the busiest real drained everywhere; director 4 joins"
ecmp_sc_join_drain || ecmp_log "    stopped: $ECMP_JD_FAILED"
ecmp_log "    drained $ECMP_JD_REAL ($ECMP_JD_ON_REAL flows); route at $ECMP_JD_PATHS paths after $ECMP_JOIN_MS ms"
ecmp_log "    the router moved $ECMP_JD_MOVED flows to another director ($ECMP_JD_MOVED_DRAINED on the drained real), $ECMP_JD_MOVED_NEW to director 4 ($ECMP_JD_MOVED_NEW_DRAINED on the drained real)"
ecmp_log "    $ECMP_SURVIVED of $CONNS connections alive at the end"
check "$CONNS connections reach a real ($ECMP_JD_UP)" test "$ECMP_JD_UP" -eq "$CONNS"
check "every director holds every flow, learnt by sync" test "$ECMP_JD_SHARED" -eq 1
check "director 4 joined: the route has 4 paths ($ECMP_JD_PATHS)" test "$ECMP_JD_PATHS" -eq 4
check "the router moved flows on the drained real to director 4 ($ECMP_JD_MOVED_NEW_DRAINED; else this proves nothing)" \
  test "$ECMP_JD_MOVED_NEW_DRAINED" -gt 0
check "all $CONNS connections survive ($ECMP_SURVIVED)" test "$ECMP_SURVIVED" -eq "$CONNS"

lab_checks_done "lab sync_ecmp" || {
  awk '$1 == "conn" && $NF != "ok"' "$DL_RUN/hold1.out" | sed 's/^/  broken: /'
  for f in "$DL_RUN"/d*/xlbd.log; do echo "--- $f"; grep -i sync "$f" | tail -8; done
  exit 1
}
