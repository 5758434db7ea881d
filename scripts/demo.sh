#!/usr/bin/env bash
# The main job: builds xlb and shows three directors running it
# active-active in a namespace lab (scripts/lib/directors_lab.sh: a client,
# three directors, three real servers on one segment; all removed at the
# end). Each director runs xlbd with the same six direct-routing services
# and a VRRP section planned by `xlbctl vrrp plan`, so each is master of two
# of the six VIPs. While the client keeps 60 connections open and sends
# short requests to every VIP, one director is killed: its VIPs move to the
# other two and the traffic goes on. Then it comes back.
# With --ecmp, the way past one segment (scripts/lib/ecmp_demo.sh): a router
# with FRR spreads the client's flows over three directors that announce
# the VIP over BGP; connections and requests go on while a director is
# killed (BFD withdraws its path) and a fourth joins.
# The last line is: summary: failover_ms=N connections_lost=N requests_ok=N requests_failed=N
# Exit status 0 only if no connection was lost and no request failed.
set -euo pipefail
usage() {
  cat >&2 <<'EOF'
usage: scripts/demo.sh [--ecmp]
  (default)  three directors active-active with VRRP on one segment, six VIPs, 60 long-lived
             connections and short requests; a director killed and brought back (about 75 s)
  --ecmp     three directors behind a router's ECMP route (FRR: BGP, BFD), 90 long-lived
             connections and short requests; a director killed, a fourth joining (about 25 s)
Needs root; installs its packages (scripts/setup.sh) and builds first.
EOF
  exit "$1"
}
mode=vrrp
case "${1:-}" in
  "") ;;
  --ecmp) mode=ecmp ;;
  -h | --help) usage 0 ;;
  *) echo "demo.sh: unknown option '$1'" >&2; usage 2 ;;
esac
(($# <= 1)) || { echo "demo.sh: one option at most" >&2; usage 2; }
source "$(dirname "$0")/lib/common.sh"
xlb_require_root "$0" "$@"

"$XLB_ROOT/scripts/setup.sh"
ninja -C "$XLB_BUILD" >/dev/null
say() { dl_log "$@"; }
show() { sed 's/^/    /'; }
if [[ $mode == ecmp ]]; then
  source "$XLB_ROOT/scripts/lib/ecmp_demo.sh"  # ends the run
fi
source "$XLB_ROOT/scripts/lib/directors_lab.sh"
source "$XLB_ROOT/scripts/lib/active_active.sh"
dl_init "$XLB_BUILD" 3
trap netns_down EXIT
ADVERT_MS=100
REQUESTS_PER_VIP=500  # short requests per VIP, one every 20 ms: ten seconds of traffic

say "building the lab: a client, 3 directors, 3 real servers (namespaces $DL_PREFIX-*)"
dl_up "$AA_VIPS"
say "planning VRRP: xlbctl vrrp plan --directors d1,d2,d3 --vips $(aa_vip_list)"
aa_plan "$ADVERT_MS"
head -8 "$DL_RUN/plan.txt" | show
for i in 1 2 3; do
  aa_start_director "$i"
  say "director d$i: xlbd started (6 services, VRRP: $(grep -c 'name:' "$DL_RUN/plan/d$i.vrrp.yaml") instances, adverts every ${ADVERT_MS} ms)"
done
netns_wait_for 10 "every VIP on its planned master" aa_masters_as_planned
for i in 1 2 3; do say "d$i is master of $(aa_vips_of "$i")"; done

say "client: 60 long-lived connections (10 per VIP) and $REQUESTS_PER_VIP short requests per VIP"
aa_start_holds
REQ_PIDS=()
for ((k = 1; k <= AA_VIPS; k++)); do
  netns_start "$DL_C" "$DL_BUILD/tests/lab/xlb-lab-client" connect --target "$(dl_vip "$k"):80" \
    --count "$REQUESTS_PER_VIP" --parallel 16 --pace-ms 20 --timeout-ms 3000 \
    >"$DL_RUN/requests$k.out" 2>/dev/null
  REQ_PIDS+=("$NETNS_LAST_PID")
done
netns_wait_for 5 "every connection exchanging" aa_all_alive_fresh
say "d1: xlbctl list --stats"
dl_xlbctl 1 list --stats | head -9 | show
say "d1: xlbctl vrrp (one line per instance)"
dl_xlbctl 1 vrrp | grep -v '^    ' | show

moved_vips=$(aa_vips_of 1)
held_by_survivor() {  # every VIP d1 mastered is on d2 or d3
  local v
  for v in $moved_vips; do dl_has_addr 2 "$v" || dl_has_addr 3 "$v" || return 1; done
}
say "killing director d1 (kill -9 of its xlbd, link down): $moved_vips must move"
t0=$(date +%s%N)
dl_kill_director 1
failover_ms=-1
if netns_wait_for 10 "d1's VIPs on the survivors" held_by_survivor; then
  failover_ms=$((($(date +%s%N) - t0) / 1000000))
fi
for v in $moved_vips; do
  for i in 2 3; do dl_has_addr "$i" "$v" && say "$v moved to d$i after $failover_ms ms"; done
done
for i in 2 3; do
  say "d$i: xlbctl vrrp"
  dl_xlbctl "$i" vrrp | grep -v '^    ' | show
done
read -r alive gap < <(aa_hold_status)
say "long-lived connections: $alive of 60 alive, longest pause in a stream ${gap} ms"

say "director d1 comes back (link up, xlbd started again; it preempts its VIPs)"
ip -n "${DL_D[1]}" link set eth0 up
aa_start_director 1
netns_wait_for 15 "every VIP back on its planned master" aa_masters_as_planned &&
  say "d1 is master of $(aa_vips_of 1) again"
for pid in "${REQ_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
read -r alive gap < <(aa_hold_status)
aa_stop_holds
say "long-lived connections: $alive of 60 alive at the end, longest pause ${gap} ms"

ok=0 failed=0
for ((k = 1; k <= AA_VIPS; k++)); do
  read -r p f < <(awk '$1 == "connect:" { print $2, $4 }' "$DL_RUN/requests$k.out")
  ok=$((ok + ${p:-0})) failed=$((failed + ${f:-$REQUESTS_PER_VIP}))
done
say "requests served per real (all six VIPs):"
cat "$DL_RUN"/requests*.out | awk '$1 == "server" { n[$2] += $3 } END { for (r in n) printf "%s %d\n", r, n[r] }' |
  sort | show
lost=$((AA_VIPS * AA_CONNS_PER_VIP - alive))
say "failover: ${failover_ms} ms until d1's VIPs were held by d2/d3; connections lost: $lost; requests: $ok ok, $failed failed"
echo "summary: failover_ms=$failover_ms connections_lost=$lost requests_ok=$ok requests_failed=$failed"
((lost == 0 && failed == 0 && failover_ms >= 0))
