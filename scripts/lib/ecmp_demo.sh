# `scripts/demo.sh --ecmp`, sourced by demo.sh once xlb is built (say, show
# and XLB_BUILD are demo.sh's); ends the run with the demo's summary line and
# exit status. The ECMP lab (ecmp_lab.sh): a client behind a router whose
# FRR takes the VIP from three directors over eBGP (FRR beside each xlbd,
# BFD 100 ms x 3) and hashes flows over them (L4 multipath hash). The
# client keeps 90 connections open and sends short requests while director
# 2 is killed (link down, kill -9 of xlbd and its FRR) and a fourth joins;
# the steps are ecmp_scenario.sh's, as the benchmark and lab test run them.
source "$XLB_ROOT/scripts/lib/ecmp_scenario.sh"
ECMP_DEMO_CONNS=90
ECMP_DEMO_REQUESTS=500  # short requests, one every 20 ms: ten seconds of traffic
ecmp_sc_init "$XLB_BUILD" "$ECMP_DEMO_CONNS"
trap netns_down EXIT

say "building the lab: a client, a router (FRR), 3 directors (FRR + xlbd), 3 real servers (namespaces $DL_PREFIX-*)"
ecmp_sc_up
say "the router's route to $ECMP_VIP: one path per director (BGP, ECMP)"
ip -n "$ECMP_RT" route show exact "$ECMP_VIP/32" | show
say "the router's BFD sessions (100 ms x 3)"
ecmp_vtysh rt -c 'show bfd peers brief' | grep -E '^[0-9]|SessionId' | show

say "client: $ECMP_DEMO_CONNS long-lived connections and $ECMP_DEMO_REQUESTS short requests to $ECMP_VIP"
ecmp_sc_hold
netns_start "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$ECMP_VIP:80" \
  --count "$ECMP_DEMO_REQUESTS" --parallel 16 --pace-ms 20 --timeout-ms 3000 \
  >"$DL_RUN/requests.out" 2>/dev/null
requests_pid=$NETNS_LAST_PID
say "the router's hash spreads them; flows per director: $(ecmp_sc_spread)"
say "d1: xlbctl list --stats"
dl_xlbctl 1 list --stats | head -5 | show

say "killing director d2 (link down, kill -9 of xlbd, bgpd, bfdd, zebra)"
ecmp_sc_kill 2
failover_ms=$ECMP_WITHDRAW_MS
say "BFD noticed: the router's route has 2 paths after $failover_ms ms"
ip -n "$ECMP_RT" route show exact "$ECMP_VIP/32" | show
say "long-lived connections: $ECMP_ALIVE of $ECMP_DEMO_CONNS alive, longest pause in a stream ${ECMP_GAP} ms"
say "(d2's flows now reach d1 and d3, whose Maglev tables send each to the same real)"

say "director d4 joins (FRR announces the VIP, xlbd with the same service)"
ecmp_sc_join 4
say "the route has 3 paths again after $ECMP_JOIN_MS ms; the router moved $ECMP_MOVED flows to another director ($ECMP_MOVED_NEW to d4)"
ip -n "$ECMP_RT" route show exact "$ECMP_VIP/32" | show
wait "$requests_pid" 2>/dev/null || true
read -r alive gap < <(aa_hold_status)
aa_stop_holds
say "long-lived connections: $alive of $ECMP_DEMO_CONNS alive at the end, longest pause ${gap} ms"

read -r ok failed < <(awk '$1 == "connect:" { print $2, $4 }' "$DL_RUN/requests.out")
ok=${ok:-0} failed=${failed:-$ECMP_DEMO_REQUESTS}
say "requests served per real:"
awk '$1 == "server" { print $2, $3 }' "$DL_RUN/requests.out" | sort | show
lost=$((ECMP_DEMO_CONNS - alive))
say "failover: ${failover_ms} ms until the router dropped d2's path; connections lost: $lost; requests: $ok ok, $failed failed"
echo "summary: failover_ms=$failover_ms connections_lost=$lost requests_ok=$ok requests_failed=$failed"
((lost == 0 && failed == 0 && failover_ms >= 0))
exit
