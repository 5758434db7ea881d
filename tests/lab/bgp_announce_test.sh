#!/bin/bash
# xlbd announcing its VIP through FRR (the bgp: section; scripts/lib/ecmp_lab.sh
# with two directors whose bgpd starts empty): what an operator of the
# ECMP setup checks, and the control-plane faults that must not become an
# outage.
#   (1) both directors announce: the router has 2 paths; `xlbctl bgp` shows
#       the session Established with BFD up and the VIP announced;
#   (2) health: d1's reals unreachable (blackhole routes on d1 only): d1's
#       checks fail and it withdraws the VIP (1 path); reachable again: the
#       VIP is back;
#   (3) `xlbctl bgp drain` on d1: withdrawn, the BGP session not reset, 12
#       long-lived connections survive (d1's flows go to d2, same Maglev);
#       d1's xlbd restarted while drained announces nothing and says so;
#       undrain: 2 paths;
#   (4) kill -9 of d1's xlbd, then a new one: the route keeps 2 paths the
#       whole time (the new xlbd keeps bgpd's networks until its first
#       checks), sampled every ~50 ms;
#   (5) d1's bgpd stopped (SIGSTOP) while a change is due: xlbd's API
#       answers within 1 s, forwarding goes on; SIGCONT: the change lands;
#   (6) SIGTERM of d1's xlbd: the router has 1 path before xlbd has exited
#       (withdrawn first, then withdraw_delay of forwarding);
#   (7) a reload of d2 without its bgp: section: d2's neighbour and network
#       are removed from its bgpd (no "description xlbd" left), 0 paths.
set -euo pipefail
BUILD=$(cd "${1:?usage: bgp_announce_test.sh BUILD_DIR}" && pwd)
LIB=$(dirname "$0")/../../scripts/lib
source "$LIB/lab_checks.sh"
source "$LIB/ecmp_lab.sh"
AA_VIPS=1 AA_CONNS_PER_VIP=12
source "$LIB/active_active.sh"

ecmp_init "$BUILD" 2 || { echo "FAIL: $(basename "$0"): no FRR"; exit 1; }
trap 'netns_down' EXIT
trap 'exit 1' INT TERM
ecmp_up
ecmp_start_director 1
ecmp_start_director 2

bgp_json() { dl_xlbctl "$1" --json bgp; }
bgp_is() { [[ $(bgp_json "$1" | jq -c "$2") == "$3" ]]; }  # I JQ_FILTER EXPECTED
announced() { bgp_is "$1" '.vips[0].announced' "$2"; }
session_up() {
  bgp_json "$1" | jq -e '.sessions[0] | .state == "Established" and .bfd == "up"' >/dev/null
}
paths_are() { ecmp_router_paths_are "$1"; }
# The router's count of BGP session drops of d1 (a reset shows here).
d1_drops() {
  ecmp_vtysh rt -c 'show bgp summary json' |
    jq '.ipv4Unicast.peers["198.51.100.1"].connectionsDropped // 0'
}

dl_log "(1) both directors announce"
check "(1) the router has 2 paths to the VIP" netns_wait_for 30 "2 paths" paths_are 2
check "(1) xlbctl bgp: the session is Established, BFD up" netns_wait_for 10 "session" session_up 1
check "(1) xlbctl bgp: the VIP is announced" announced 1 true
printed() { local out; out=$(dl_xlbctl 1 bgp) && grep -q "$ECMP_ROUTER_ADDR.*Established" <<<"$out" && grep -q "$ECMP_VIP" <<<"$out"; }
check "(1) xlbctl bgp prints the session and the VIP" printed

dl_log "(2) d1 loses its reals"
for j in 1 2 3; do ip -n "${DL_D[1]}" route add blackhole "198.51.100.2$j/32"; done
check "(2) d1's checks fail: it withdraws the VIP (1 path at the router)" \
  netns_wait_for 10 "1 path" paths_are 1
check "(2) xlbctl bgp: the VIP not healthy, not announced" \
  bgp_is 1 '.vips[0] | [.healthy, .announced]' '[false,false]' 
for j in 1 2 3; do ip -n "${DL_D[1]}" route del blackhole "198.51.100.2$j/32"; done
check "(2) the reals reachable again: announced again (2 paths)" netns_wait_for 10 "2 paths" paths_are 2

dl_log "(3) drain"
check "(3) 12 long-lived connections through the VIP" aa_start_holds
drops=$(d1_drops)
check "(3) xlbctl bgp drain on d1" dl_xlbctl 1 bgp drain
check "(3) the router has 1 path" netns_wait_for 5 "1 path" paths_are 1
check "(3) xlbctl bgp: drained, the VIP not announced" \
  netns_wait_for 2 "FRR's answer" bgp_is 1 '[.drained, .vips[0].announced]' '[true,false]' 
check "(3) the BGP session was not reset" test "$(d1_drops)" = "$drops"
check "(3) the session is still Established" session_up 1
read -r alive gap < <(aa_hold_status)
dl_log "    $alive of 12 connections alive (longest gap $gap ms)"
check "(3) all 12 connections survive the drain ($alive)" test "$alive" -eq 12
kill -TERM "${DL_XLBD[1]}"
wait "${DL_XLBD[1]}" || true
netns_forget "${DL_XLBD[1]}"
ecmp_start_xlbd 1
check "(3) a restarted xlbd is still drained (its reals checked healthy)" \
  netns_wait_for 10 "a verdict" bgp_is 1 '[.drained, .vips[0].healthy]' '[true,true]' 
check "(3) ... and announces nothing" paths_are 1
check "(3) xlbctl bgp undrain" dl_xlbctl 1 bgp undrain
check "(3) the router has 2 paths again" netns_wait_for 5 "2 paths" paths_are 2
read -r alive gap < <(aa_hold_status)
check "(3) all 12 connections survive the undrain ($alive)" test "$alive" -eq 12

dl_log "(4) kill -9 and restart of d1's xlbd"
: >"$DL_RUN/paths.log"
sample_paths() {
  local k
  for ((k = 0; k < 400; k++)); do ecmp_router_paths >>"$DL_RUN/paths.log"; sleep 0.03; done
}
sample_paths &
SAMPLER=$!
NETNS_PIDS+=("$SAMPLER")
exec 3>&2 2>/dev/null
kill -9 "${DL_XLBD[1]}"
wait "${DL_XLBD[1]}" || true
exec 2>&3 3>&-
netns_forget "${DL_XLBD[1]}"
ecmp_start_xlbd 1
check "(4) the new xlbd judges the VIP healthy and announced" \
  netns_wait_for 10 "a verdict" bgp_is 1 '[.vips[0].healthy, .vips[0].announced]' '[true,true]' 
more_samples() { (($(wc -l <"$DL_RUN/paths.log") >= $1)); }
netns_wait_for 5 "20 samples more" more_samples $(($(wc -l <"$DL_RUN/paths.log") + 20)) || true
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
netns_forget "$SAMPLER"
dl_log "    $(wc -l <"$DL_RUN/paths.log") samples of the route, fewest paths: $(sort -n "$DL_RUN/paths.log" | head -1)"
check "(4) the route kept 2 paths through the restart" \
  bash -c "[[ -s '$DL_RUN/paths.log' ]] && ! grep -qvx 2 '$DL_RUN/paths.log'"
read -r alive gap < <(aa_hold_status)
check "(4) all 12 connections survive ($alive)" test "$alive" -eq 12
aa_stop_holds

dl_log "(5) d1's bgpd stopped"
read -r _ bgpd_pid _ <<<"${ECMP_FRR_PIDS[d1]}"
kill -STOP "$bgpd_pid"
dl_xlbctl 1 service add "$(dl_vip 2):80" --name extra >/dev/null  # a new VIP: a reconcile is due
api_fast() {  # three times, half a second apart: each answer within 1 s
  local k
  for k in 1 2 3; do
    timeout 1 ip netns exec "${DL_D[1]}" "$BUILD/controlplane/xlbctl" --socket "$DL_RUN/d1/xlbd.sock" \
      status >/dev/null || return 1
    sleep 0.5
  done
}
check "(5) xlbd's API answers within 1 s while bgpd hangs" api_fast
check "(5) forwarding goes on" \
  bash -c "ip netns exec '$DL_C' '$BUILD/tests/lab/xlb-lab-client' connect --target '$ECMP_VIP:80' \
    --count 10 --timeout-ms 2000 | grep -qx 'connect: 10 passed, 0 failed'"
kill -CONT "$bgpd_pid"
owned_v2() { ecmp_vtysh d1 -c 'show running-config' | grep -q "permit $(dl_vip 2)/32"; }
check "(5) bgpd back: the new VIP reaches its prefix-list" netns_wait_for 15 "the new VIP" owned_v2

dl_log "(6) SIGTERM of d1's xlbd"
start=$EPOCHREALTIME
kill -TERM "${DL_XLBD[1]}"
wait "${DL_XLBD[1]}" || true
netns_forget "${DL_XLBD[1]}"
paths=$(ecmp_router_paths)
dl_log "    xlbd exited after $(((${EPOCHREALTIME/./} - ${start/./}) / 1000)) ms; the router then had $paths path(s)"
check "(6) the router had 1 path when xlbd exited (withdrawn first)" test "$paths" = 1
check "(6) xlbd logged the withdrawal and the delay" \
  bash -c "grep -q 'bgp: withdrew 1 VIPs' '$DL_RUN/d1/xlbd.log' && grep -q 'withdraw_delay' '$DL_RUN/d1/xlbd.log'"

dl_log "(7) d2's bgp: section removed"
printf 'interfaces: [eth0]\napi: {socket: %s, metrics: ""}\n%s\n' "$DL_RUN/d2/xlbd.sock" "$(dl_services_yaml 1)" \
  >"$DL_RUN/d2/xlb.yaml"
kill -HUP "${DL_XLBD[2]}"
no_xlbd_lines() { ! ecmp_vtysh d2 -c 'show running-config' | grep -Eq 'description xlbd|^ *network '; }
check "(7) d2's bgpd has no neighbour or network of xlbd's left" netns_wait_for 10 "removal" no_xlbd_lines
check "(7) the router has no path" netns_wait_for 10 "0 paths" paths_are 0
check "(7) xlbctl bgp: not configured" bgp_is 2 .configured false

lab_checks_done "lab bgp_announce" || {
  for f in "$DL_RUN"/d*/xlbd.log; do echo "--- $f"; grep -i bgp "$f" | tail -15; done
  exit 1
}
