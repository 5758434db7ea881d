#!/bin/bash
# Directors behind a router's ECMP route (scripts/lib/ecmp_lab.sh): three
# directors' FRR announce the VIP over eBGP to the router's FRR, with BFD.
#   (1) the router installs a 3-path route to the VIP, 3 BFD sessions up;
#   (2) 30 long-lived client connections through the router all reach reals
#       and are spread over the three directors (each one's xlbd counts some);
#   (3) kill -9 of a director (xlbd, FRR, link down): BFD withdraws its path,
#       the route has 2 within 3 s (the measured time is printed: about
#       350 ms here; without BFD only the BGP hold time would withdraw it);
#   (4) all 30 connections survive (the flows of the dead director hash to
#       the other two, whose Maglev tables agree; the figure is printed), and
#       new connections still succeed;
#   (5) a fourth director added (ecmp_add_director) joins the route.
set -euo pipefail
BUILD=$(cd "${1:?usage: ecmp_lab_test.sh BUILD_DIR}" && pwd)
LIB=$(dirname "$0")/../../scripts/lib
source "$LIB/lab_checks.sh"
source "$LIB/ecmp_lab.sh"
AA_VIPS=1 AA_CONNS_PER_VIP=30
source "$LIB/active_active.sh"  # the long-lived connections (aa_*_holds, aa_hold_status)

ecmp_init "$BUILD" 3 || { echo "FAIL: $(basename "$0"): no FRR"; exit 1; }
trap 'netns_down' EXIT
trap 'exit 1' INT TERM

ecmp_up
for i in 1 2 3; do ecmp_start_director "$i"; done

ecmp_log "(1) routes and BFD"
check "(1) the router installs a 3-path ECMP route to $ECMP_VIP" \
  netns_wait_for 30 "3 paths to the VIP" ecmp_router_paths_are 3
check "(1) the router's 3 BFD sessions are up" netns_wait_for 10 "3 BFD sessions up" ecmp_bfd_up_are 3
no_vip_route() { [[ -z $(ip -n "${DL_D[1]}" route show exact "$ECMP_VIP/32") ]]; }
check "(1) a director does not route the VIP back via the router (AS-path loop check)" no_vip_route

ecmp_log "(2) 30 long-lived connections"
# director_conns I: the connections director I's xlbd holds (a second old at most).
director_conns() { dl_xlbctl "$1" --json list | jq '[.[].reals[].active_connections] | add'; }
all_directors_hold() {  # every director has some, 30 in all
  local i n total=0
  for i in 1 2 3; do
    n=$(director_conns "$i")
    ((n > 0)) || return 1
    total=$((total + n))
  done
  ((total == 30))
}
check "(2) all 30 connections reach a real (each has its server's name)" aa_start_holds
check "(2) they are spread over the 3 directors" netns_wait_for 5 "connections on every director" all_directors_hold
ecmp_log "    per director: $(for i in 1 2 3; do printf 'd%d=%s ' "$i" "$(director_conns "$i")"; done)"

ecmp_log "(3) kill -9 director 2"
start=$EPOCHREALTIME
ecmp_kill_director 2
two_paths_then_time() {
  netns_wait_for 3 "2 paths" ecmp_router_paths_are 2 || return 1
  ecmp_log "    route at 2 paths after $(((${EPOCHREALTIME/./} - ${start/./}) / 1000)) ms (BFD 3 x 100 ms)"
}
check "(3) the route drops to 2 paths within 3 s" two_paths_then_time
check "(3) the router's BFD session to director 2 is down, 2 up" netns_wait_for 2 "2 BFD sessions up" ecmp_bfd_up_are 2

ecmp_log "(4) the connections"
read -r alive gap < <(aa_hold_status)
ecmp_log "    $alive of 30 connections survive (longest gap $gap ms)"
check "(4) all 30 connections survive the director's death ($alive of 30)" test "$alive" -eq 30
check "(4) new connections to the VIP succeed" \
  bash -c "ip netns exec '$DL_C' '$BUILD/tests/lab/xlb-lab-client' connect --target '$ECMP_VIP:80' \
    --count 30 --timeout-ms 2000 | grep -qx 'connect: 30 passed, 0 failed'"
aa_stop_holds

ecmp_log "(5) a fourth director joins"
ecmp_add_director 4
check "(5) the route has 3 paths again (directors 1, 3 and 4)" \
  netns_wait_for 30 "3 paths to the VIP" ecmp_router_paths_are 3
check "(5) 3 BFD sessions up" netns_wait_for 10 "3 BFD sessions up" ecmp_bfd_up_are 3

lab_checks_done "lab ecmp" || {
  for f in "$DL_RUN"/d*/xlbd.log "$(ecmp_frr_dir rt)/frr.log"; do echo "--- $f"; tail -15 "$f"; done
  ecmp_vtysh rt -c 'show bgp summary' || true
  exit 1
}
