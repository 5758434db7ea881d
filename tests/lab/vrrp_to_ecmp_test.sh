#!/bin/bash
# README "Migrating a VRRP pair to ECMP without dropping connections", done
# step by step as an operator does it, under 30 long-lived connections from
# a client behind the router (scripts/lib/ecmp_lab.sh, two directors d1 and
# d2 with VRRP, the VIP inside their segment as VRRP has it). Every step is
# a config edit and a reload (SIGHUP, what `systemctl reload xlbd` sends),
# never vtysh on the directors. After each step what the README tells the
# operator to check, and that all 30 connections are alive:
#   (0) d1 is VRRP master and holds the VIP; the router reaches it by ARP;
#   (1) the router gets config/frr-router.conf (its VIP range the segment):
#       the neighbours configured, not established;
#   (2) FRR on both directors, nothing in it for xlb;
#   (3) bgp: on d1 (the master): `xlbctl bgp` Established and announced;
#       the router's route has one path, via d1's own address;
#   (4) bgp: on d2 (after `xlbctl list` agrees on both): two paths, BFD up
#       with both, d2 forwards some of the connections;
#   (rb) rolling back: `xlbctl bgp drain` on both, no /32 at the router
#       (ARP again, to the master), bgp: removed; then (3) and (4) again,
#       where the drain kept across the removal needs `xlbctl bgp undrain`;
#   (5) the segment's ARP requests for the VIP came from the router only;
#       vrrp: removed, d2 first: no VIP on d1's interface, the route keeps
#       both directors, new connections work;
#   (rb5) rolling back after (5): vrrp: back, a master, then drained: the
#       router on ARP again; then undrained and vrrp: removed once more.
# Prints the longest gap any connection saw.
set -euo pipefail
BUILD=$(cd "${1:?usage: vrrp_to_ecmp_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
LIB=$SRC/scripts/lib
source "$LIB/lab_checks.sh"
source "$LIB/ecmp_lab.sh"
DL_VIP_NET=198.51.100  # the VIP inside the directors' segment, as with VRRP
AA_VIPS=1 AA_CONNS_PER_VIP=30
source "$LIB/active_active.sh"

# The router is a plain Linux router until step 1: FRR runs with nothing
# configured, the kernel routes the segment.
ecmp_start_router() { ecmp_frr_start rt "$ECMP_RT" ""; }

ecmp_init "$BUILD" 2 || { echo "FAIL: $(basename "$0"): no FRR"; exit 1; }
trap 'netns_down' EXIT
trap 'exit 1' INT TERM
ecmp_up
VIP=$ECMP_VIP
D1=$(dl_director_addr 1) D2=$(dl_director_addr 2)

conf() { echo "$DL_RUN/d$1/xlb.yaml"; }
declare -A RELOADED_AT  # I -> when director I's xlbd was last sent SIGHUP (s)
reload() { RELOADED_AT[$1]=$EPOCHSECONDS; kill -HUP "${DL_XLBD[$1]}"; }  # I
vrrp_yaml() {  # PRIORITY
  printf 'vrrp:\n  - name: vip1\n    interface: eth0\n    vrid: 51\n    priority: %s\n' "$1"
  printf '    advert_interval: 100ms\n    addresses: [%s/24]\n' "$VIP"
}
drop_section() {  # I KEY: the top-level KEY: and its lines out of director I's config
  awk -v key="$2:" '/^[^ ]/ { skip = ($1 == key) } !skip' "$(conf "$1")" >"$(conf "$1").new"
  mv "$(conf "$1").new" "$(conf "$1")"
}

bgp_is() { [[ $(dl_xlbctl "$1" --json bgp | jq -c "$2") == "$3" ]]; }  # I JQ EXPECTED
# I: what `xlbctl bgp` shows once director I announces, the sessions read
# from bgpd in a second after RELOADED_AT[I] (xlbd answers with its last
# read, which after bgp: was removed and added again is the old session's).
bgp_up_and_announced() {
  dl_xlbctl "$1" --json bgp | jq -e --arg vip "$VIP" --argjson since "${RELOADED_AT[$1]}" \
    '.drained == false and (.sessions_time | fromdateiso8601) > $since
    and (.sessions[0] | .state == "Established" and .bfd == "up")
    and (.vips[] | select(.vip == $vip) | .announced)' >/dev/null
}
bgp_printed() {  # I: the human output says the same
  local out
  out=$(dl_xlbctl "$1" bgp) && grep -q "$ECMP_ROUTER_ADDR.*Established" <<<"$out" &&
    grep -q "$VIP" <<<"$out" || { sed 's/^/  /' <<<"$out"; return 1; }
}
paths_are() { ecmp_router_paths_are "$1"; }
route_via() {  # ADDR: the router sends the VIP's packets to ADDR ("" directly, by ARP)
  local got
  got=$(ip -n "$ECMP_RT" -j route get "$VIP" | jq -r '.[0].gateway // ""')
  [[ $got == "$1" ]]
}
frr_route_paths() {  # the router's `show ip route VIP`: BGP nexthops that are installed
  ecmp_vtysh rt -c "show ip route $VIP/32 json" |
    jq --arg p "$VIP/32" '[(.[$p] // [])[] | select(.protocol == "bgp" and .installed)
      | .nexthops[] | select(.fib)] | length'
}
bfd_up_with() {  # ADDR...: the router's BFD sessions with them are up
  local peers a
  peers=$(ecmp_vtysh rt -c 'show bfd peers json')
  for a in "$@"; do
    jq -e --arg a "$a" 'any(.[]; .peer == $a and .status == "up")' <<<"$peers" >/dev/null || return 1
  done
}
state_is() { dl_xlbctl "$1" --json vrrp | jq -e --arg s "$2" '.[0].state == $s' >/dev/null; }  # I STATE
master_is() { state_is "$1" MASTER && dl_has_addr "$1" "$VIP"; }  # I: master, the VIP on it
no_vrrp() { [[ $(dl_xlbctl "$1" --json vrrp | jq length) == 0 ]]; }
vip_gone_from() { ! dl_has_addr "$1" "$VIP"; }
new_flows() { dl_xlbctl "$1" --json list | jq '[.[].counters.new_flows] | add'; }  # I
d2_packets() { dl_xlbctl 2 --json list | jq '[.[].counters.packets] | add'; }
services_of() {  # I: what must agree between directors: services, reals, weights, health
  dl_xlbctl "$1" --json list | jq -S '[.[] | {vip, port, reals: [.reals[] | {address, weight, health}]}]'
}
LONGEST_GAP=0
all_alive() {
  local alive gap
  read -r alive gap < <(aa_hold_status)
  dl_log "    $alive of 30 alive, longest gap so far $gap ms"
  LONGEST_GAP=$gap
  ((alive == 30))
}
new_conns_work() {
  local out
  out=$(ecmp_client connect --target "$VIP:80" --count 30 --timeout-ms 2000 2>&1)
  passed_all "$out" connect 30 || { echo "  $(tail -3 <<<"$out")"; return 1; }
}

dl_log "(0) a VRRP pair: d1 master, d2 backup"
dl_start_xlbd 1 "$(dl_services_yaml 1)
$(vrrp_yaml 150)" --state-dir "$DL_RUN/d1"
dl_start_xlbd 2 "$(dl_services_yaml 1)
$(vrrp_yaml 100)" --state-dir "$DL_RUN/d2"
check "(0) d1 is VRRP master and holds the VIP" netns_wait_for 10 "d1 master" master_is 1
check "(0) d2 is backup" state_is 2 BACKUP
check "(0) the router reaches the VIP on its segment (ARP), no BGP route" route_via ""
# Who asks the segment for the VIP (README, before step 5): from d1's side.
netns_start "${DL_D[1]}" tcpdump -l -n -i eth0 "arp and host $VIP" >"$DL_RUN/arp.txt" 2>"$DL_RUN/tcpdump.err"
netns_wait_for 5 "tcpdump listening" grep -q listening "$DL_RUN/tcpdump.err"
check "(0) 30 long-lived connections through the router" aa_start_holds

dl_log "(1) the router: config/frr-router.conf"
sed "s#203\.0\.113\.0/24 ge 32#$DL_VIP_NET.0/24 ge 32#" "$SRC/config/frr-router.conf" >"$DL_RUN/frr-router.conf"
check "(1) the router config's IPv4 VIP range substituted" \
  grep -q "permit $DL_VIP_NET.0/24 ge 32" "$DL_RUN/frr-router.conf"
router_conf_applied() {  # vtysh -f: exit 0, no complaint, the running config has it
  local out
  out=$(ecmp_vtysh rt -f "$DL_RUN/frr-router.conf" 2>&1) && [[ -z $out ]] &&
    ecmp_vtysh rt -c 'show running-config' | grep -q "permit $DL_VIP_NET.0/24 ge 32" ||
    { echo "  vtysh -f said: $out"; return 1; }
}
check "(1) vtysh -f frr-router.conf applies it" router_conf_applied
neighbours_not_established() {
  ecmp_vtysh rt -c 'show bgp ipv4 unicast summary json' | jq -e --arg a "$D1" --arg b "$D2" \
    '.peers[$a] and .peers[$b] and .peers[$a].state != "Established" and .peers[$b].state != "Established"' >/dev/null
}
check "(1) the neighbours are configured, not established" neighbours_not_established
check "(1) 30 of 30 alive" all_alive

dl_log "(2) FRR on both directors, empty"
ecmp_frr_start d1 "${DL_D[1]}" ""
ecmp_frr_start d2 "${DL_D[2]}" ""
check "(2) still no BGP route at the router" route_via ""
check "(2) 30 of 30 alive" all_alive

step3() {  # (3) bgp: on the master; UNDRAIN=1: it was drained before (rollback)
  dl_log "(3${1:-}) bgp: on d1 (the master), reload"
  ecmp_bgp_yaml 1 >>"$(conf 1)"
  reload 1
  if [[ -n ${UNDRAIN:-} ]]; then
    check "(3${1:-}) xlbctl bgp: still drained from the rollback" \
      netns_wait_for 5 "bgp: on d1" bgp_is 1 '[.configured, .drained]' '[true,true]'
    check "(3${1:-}) ... announcing nothing" paths_are 0
    check "(3${1:-}) xlbctl bgp undrain" dl_xlbctl 1 bgp undrain
  fi
  check "(3${1:-}) xlbctl bgp on d1: Established, BFD up, the VIP announced" \
    netns_wait_for 20 "d1 announcing" bgp_up_and_announced 1
  check "(3${1:-}) xlbctl bgp prints the session and the VIP" bgp_printed 1
  check "(3${1:-}) the router's route to the VIP: 1 path" netns_wait_for 10 "1 path" paths_are 1
  check "(3${1:-}) ip route get VIP at the router: via d1's own address" route_via "$D1"
  check "(3${1:-}) show ip route VIP: the BGP route installed, 1 path" test "$(frr_route_paths)" = 1
  check "(3${1:-}) d1 is still VRRP master" master_is 1
  check "(3${1:-}) 30 of 30 alive" all_alive
}
step4() {
  dl_log "(4${1:-}) bgp: on d2, reload"
  check "(4${1:-}) before: xlbctl list agrees on both directors" \
    test "$(services_of 1)" = "$(services_of 2)"
  local packets_before
  packets_before=$(d2_packets)
  ecmp_bgp_yaml 2 >>"$(conf 2)"
  reload 2
  if [[ -n ${UNDRAIN:-} ]]; then
    check "(4${1:-}) xlbctl bgp undrain on d2" \
      netns_wait_for 5 "bgp: on d2" dl_xlbctl 2 bgp undrain
  fi
  check "(4${1:-}) xlbctl bgp on d2: Established, BFD up, the VIP announced" \
    netns_wait_for 20 "d2 announcing" bgp_up_and_announced 2
  check "(4${1:-}) the router's route: 2 paths" netns_wait_for 10 "2 paths" paths_are 2
  check "(4${1:-}) show ip route VIP: 2 paths installed" test "$(frr_route_paths)" = 2
  check "(4${1:-}) show bfd peers at the router: up with both" \
    netns_wait_for 5 "BFD up with both" bfd_up_with "$D1" "$D2"
  check "(4${1:-}) 30 of 30 alive" all_alive
  dl_log "    xlbctl list --stats on d2: $(new_flows 2) connections, $(d2_packets) packets" \
    "($packets_before before this step)"
  check "(4${1:-}) xlbctl list --stats on d2 counts connections" test "$(new_flows 2)" -gt 0
  check "(4${1:-}) ... and packets of the held connections now" test "$(d2_packets)" -gt "$packets_before"
}
step3
step4

dl_log "(rb) rolling back: drain both, then bgp: removed"
check "(rb) xlbctl bgp drain on d1" dl_xlbctl 1 bgp drain
check "(rb) xlbctl bgp drain on d2" dl_xlbctl 2 bgp drain
check "(rb) the router has no /32 route left" netns_wait_for 10 "0 paths" paths_are 0
check "(rb) the router reaches the VIP by ARP again" route_via ""
check "(rb) 30 of 30 alive" all_alive
for i in 1 2; do
  drop_section "$i" bgp
  reload "$i"
  check "(rb) bgp: removed from d$i: xlbctl bgp says not configured" \
    netns_wait_for 5 "d$i without bgp:" bgp_is "$i" .configured false
done
check "(rb) still no route at the router" paths_are 0
check "(rb) d1 is still VRRP master" master_is 1
check "(rb) 30 of 30 alive" all_alive

UNDRAIN=1 step3 ' again'
UNDRAIN=1 step4 ' again'

dl_log "(5) vrrp: removed, d2 (backup) first, then d1"
check "(5) before: the router's route has every director" paths_are 2
# The router's requests were seen, and no one else's (the master's own
# gratuitous ARPs, "who-has VIP tell VIP", ask nobody).
router_only_asks() {
  grep -q "who-has $VIP tell $ECMP_ROUTER_ADDR," "$DL_RUN/arp.txt" &&
    ! grep "who-has $VIP tell" "$DL_RUN/arp.txt" | grep -Evq "tell ($ECMP_ROUTER_ADDR|$VIP),"
}
check "(5) before: only the router asked the segment for the VIP" router_only_asks
for i in 2 1; do
  drop_section "$i" vrrp
  reload "$i"
  check "(5) vrrp: removed from d$i: xlbctl vrrp shows no instance" netns_wait_for 5 "d$i" no_vrrp "$i"
done
check "(5) d1 removed the VIP from its interface" netns_wait_for 5 "VIP gone" vip_gone_from 1
check "(5) the route still has 2 paths, via the directors" paths_are 2
check "(5) 30 of 30 alive" all_alive
check "(5) new connections work" new_conns_work

dl_log "(rb5) rolling back after (5): vrrp: back, then drain"
vrrp_yaml 150 >>"$(conf 1)"
vrrp_yaml 100 >>"$(conf 2)"
reload 1
reload 2
check "(rb5) xlbctl vrrp: d1 master again, holding the VIP" netns_wait_for 10 "d1 master" master_is 1
check "(rb5) ... d2 backup" netns_wait_for 5 "d2 backup" state_is 2 BACKUP
check "(rb5) xlbctl bgp drain on d1" dl_xlbctl 1 bgp drain
check "(rb5) xlbctl bgp drain on d2" dl_xlbctl 2 bgp drain
check "(rb5) the router has no /32 route left" netns_wait_for 10 "0 paths" paths_are 0
check "(rb5) the router reaches the VIP by ARP again" route_via ""
check "(rb5) 30 of 30 alive" all_alive

dl_log "(rb5) and forward again: undrain, vrrp: removed"
check "(rb5) xlbctl bgp undrain on d1" dl_xlbctl 1 bgp undrain
check "(rb5) xlbctl bgp undrain on d2" dl_xlbctl 2 bgp undrain
check "(rb5) undrained: 2 paths" netns_wait_for 10 "2 paths" paths_are 2
for i in 2 1; do
  drop_section "$i" vrrp
  reload "$i"
  check "(rb5) vrrp: removed from d$i" netns_wait_for 5 "d$i" no_vrrp "$i"
done
check "(rb5) d1 removed the VIP from its interface" netns_wait_for 5 "VIP gone" vip_gone_from 1
check "(rb5) 30 of 30 alive" all_alive
check "(rb5) new connections work" new_conns_work
aa_stop_holds
dl_log "longest gap any of the 30 connections saw: $LONGEST_GAP ms"

lab_checks_done "lab vrrp_to_ecmp" || {
  for f in "$DL_RUN"/d*/xlbd.log; do echo "--- $f"; grep -Ei 'bgp|vrrp|error' "$f" | tail -15; done
  exit 1
}
