#!/usr/bin/env bash
# Directors behind a router's ECMP route (scripts/lib/ecmp_lab.sh: a router
# with FRR, L4 multipath hashing and BFD 100 ms x 3; directors each with
# FRR and xlbd, direct routing; three reals). A client keeps 90 long-lived
# TCP connections (a line every 50 ms each), which the router's hash spreads
# over three directors (scripts/lib/ecmp_scenario.sh). Then:
#   1. director 2 dies (link down, kill -9 of xlbd and its FRR): the time
#      until the router's route has 2 paths, the connections that survived,
#      the longest gap in any stream;
#   2. director 4 joins: the router moves some flows to a director with no
#      entry for them; Maglev sends them to the same real (survivors);
#   3. 90 new connections over directors 1, 3 and 4; real 3 is removed on
#      every director (xlbctl real del, all at once), then director 5 joins:
#      survivors among the connections not on real 3 (those on it end with
#      it). A flow the router moved whose Maglev slot changed with the reals
#      breaks: only shared flow state (issue #16) would keep it.
#
# usage: ecmp.sh BUILD_DIR [--json]
# Prints one JSON object (with --json, alone on stdout):
#   {"connections": 90, "survived_kill": N, "withdraw_ms": T, "max_gap_ms": G,
#    "survived_join": N, "survived_join_with_real_change": N, ...}
# Exit status 0 iff every connection survived steps 1 and 2 and the route
# lost the dead director.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../lib/ecmp_scenario.sh"

build=${1:?usage: ecmp.sh BUILD_DIR [--json]}
shift
json=0
while (($#)); do
  case "$1" in
    --json) json=1 ;;
    *) echo "ecmp.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

CONNS=90
say() { dl_log "$@" >&2; }
ecmp_sc_init "$build" "$CONNS"
trap netns_down EXIT
trap 'exit 1' INT TERM

say "router, three directors (FRR + xlbd each), three reals"
ecmp_sc_up >&2
say "the router's route to $ECMP_VIP has $(ecmp_router_paths) paths"
ecmp_sc_hold
say "$CONNS connections exchanging; per director: $(ecmp_sc_spread)"

say "(1) director 2 dies: link down, kill -9 of xlbd, bgpd, bfdd, zebra"
ecmp_sc_kill 2
survived_kill=$ECMP_ALIVE withdraw_ms=$ECMP_WITHDRAW_MS gap_kill=$ECMP_GAP
say "    route at 2 paths after $withdraw_ms ms; $survived_kill of $CONNS alive, longest gap $gap_kill ms"

say "(2) director 4 joins"
ecmp_sc_join 4
survived_join=$ECMP_ALIVE gap_join=$ECMP_GAP join_ms=$ECMP_JOIN_MS moved_join=$ECMP_MOVED moved_join_new=$ECMP_MOVED_NEW
say "    route at 3 paths after $join_ms ms; the router moved $moved_join flows to another director ($moved_join_new to d4); $survived_join of $CONNS alive, longest gap $gap_join ms"
ecmp_sc_stop_holds

removed=198.51.100.23
say "(3) $CONNS new connections over directors ${ECMP_LIVE[*]}; real $removed removed on each, then director 5 joins"
ecmp_sc_hold
say "    per director: $(ecmp_sc_spread)"
ecmp_sc_remove_real "$removed"
ecmp_sc_join 5
ecmp_sc_stop_holds
survived_real=$ECMP_OFF_REAL_SURVIVED
say "    route at 4 paths after $ECMP_JOIN_MS ms; the router moved $ECMP_MOVED flows ($ECMP_MOVED_NEW to d5), $ECMP_MOVED_CHANGED of them (not on $removed) to another real than before"
say "    $ECMP_ON_REAL connections were on $removed; of the other $ECMP_OFF_REAL, $survived_real survived"
broken=$((ECMP_OFF_REAL - survived_real))
((broken == 0)) ||
  say "    $broken broke; $ECMP_MOVED_CHANGED flows the router moved went to another real than before (their Maglev slot changed with the reals; shared flow state, issue #16, would keep them)"

max_gap=$((gap_kill > gap_join ? gap_kill : gap_join))
result=$(printf '{"connections": %d, "survived_kill": %d, "withdraw_ms": %d, "max_gap_ms": %d, "survived_join": %d, "survived_join_with_real_change": %d, "join_ms": %d, "moved_on_join": %d, "moved_to_new_director": %d, "removed_real_connections": %d, "other_connections": %d, "moved_on_join_with_real_change": %d, "moved_to_new_director_with_real_change": %d, "moved_to_another_real": %d}' \
  "$CONNS" "$survived_kill" "$withdraw_ms" "$max_gap" "$survived_join" "$survived_real" "$join_ms" \
  "$moved_join" "$moved_join_new" "$ECMP_ON_REAL" "$ECMP_OFF_REAL" "$ECMP_MOVED" "$ECMP_MOVED_NEW" \
  "$ECMP_MOVED_CHANGED")
if ((json)); then echo "$result"; else jq . <<<"$result"; fi
((survived_kill == CONNS && survived_join == CONNS && withdraw_ms >= 0))
