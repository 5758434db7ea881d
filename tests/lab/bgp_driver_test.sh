#!/bin/bash
# The FRR driver (controlplane/bgp, through tests/lab/tools/bgp_probe.cc) on
# a real bgpd: director D (AS 64513, its FRR started with no config at all)
# and router RT (AS 64512) on one segment (scripts/lib/ecmp_lab.sh's FRR),
# peering over IPv4 and over IPv6.
#   (1) one reconcile configures everything: both sessions come up with BFD
#       at bgp.bfd's timers (100 ms x 3: RT sees them as D's; D's own bfdd
#       profile `fast` is left alone), RT routes the announced VIPs (IPv4
#       and IPv6), not the owned-but-withheld one, and has one path to the
#       IPv4 VIP (each neighbour is active only in its own family);
#   (2) a second reconcile sends no command;
#   (3) announcing one VIP more: RT routes it, the session was not reset;
#   (4) drain (nothing announced): RT routes neither, the session stays up;
#   (5) a desired neighbour the operator configured (no description xlbd),
#       and another AS: errors naming them, bgpd unchanged;
#   (6) the Announcer (controlplane/bgp/announcer.h, as xlbd will run it,
#       through the probe's `announcer` verb): it announces, its periodic
#       reconcile restores a network the operator removed by hand within
#       the period, and SIGTERM (WithdrawAll) withdraws every VIP at the
#       router before the probe exits, the sessions staying up;
#   (7) new BFD timers (150 ms x 5): RT sees them, neither the BGP nor the
#       BFD sessions are reset, and a second reconcile sends nothing;
#   (8) D's bfdd stopped: a reconcile that needs the profile fails, saying
#       bfdd is not running.
set -euo pipefail
BUILD=$(cd "${1:?usage: bgp_driver_test.sh BUILD_DIR}" && pwd)
PROBE=${BGP_PROBE:-$BUILD/tests/lab/xlb-bgp-probe}
LIB=$(dirname "$0")/../../scripts/lib
source "$LIB/lab_checks.sh"
source "$LIB/ecmp_lab.sh"

ecmp_init "$BUILD" 1 || { echo "FAIL: $(basename "$0"): no FRR"; exit 1; }
ANNOUNCER_LOG=$(mktemp /tmp/xlb-bgp-announcer.XXXXXX)
trap 'netns_down; rm -f "$ANNOUNCER_LOG"' EXIT
trap 'exit 1' INT TERM
D=${DL_D[1]}
netns_add "$DL_S"
netns_bridge "$DL_S"
netns_add "$ECMP_RT"
netns_attach_as "$ECMP_RT" eth1 "$DL_S" prt 198.51.100.254/24 2001:db8:1::254/64
netns_add "$D"
netns_attach_as "$D" eth0 "$DL_S" pd1 198.51.100.1/24 2001:db8:1::1/64
ecmp_frr_start rt "$ECMP_RT" "router bgp 64512
 bgp router-id 198.51.100.254
 no bgp ebgp-requires-policy
 neighbor 198.51.100.1 remote-as 64513
 neighbor 198.51.100.1 bfd
 neighbor 198.51.100.1 timers 3 9
 neighbor 2001:db8:1::1 remote-as 64513
 neighbor 2001:db8:1::1 bfd
 neighbor 2001:db8:1::1 timers 3 9
 address-family ipv6 unicast
  neighbor 2001:db8:1::1 activate
 exit-address-family"
ecmp_frr_start d1 "$D" ""

probe() { ip netns exec "$D" "$PROBE" "$DL_PREFIX-d1" "$@"; }
BFD_MS=100 BFD_MULT=3  # bgp.bfd, as the issue's lab wants it
desired() {  # desired ANNOUNCED_JSON_LIST [LOCAL_AS] [EXTRA_NEIGHBOR_JSON]
  printf '{"local_as":%s,"router_id":"198.51.100.1","neighbors":[{"address":"198.51.100.254","remote_as":64512},{"address":"2001:db8:1::254","remote_as":64512}%s],"bfd":{"interval_ms":%s,"multiplier":%s},"vips":["203.0.113.101","203.0.113.102","2001:db8:100::1"],"announce":%s}' \
    "${2:-64513}" "${3:+,$3}" "$BFD_MS" "$BFD_MULT" "$1"
}
# RT's BFD sessions with D: "PEER TX MULT ID" with D's timers (remote-*, as
# D asked for them) and RT's discriminator (a new session has a new one).
rt_bfd() {
  ecmp_vtysh rt -c 'show bfd peers json' |
    jq -r '.[] | select(.status == "up") | "\(.peer) \(."remote-transmit-interval") \(."remote-detect-multiplier") \(.id)"' | sort
}
rt_bfd_timers_are() {  # TX MULT: both of D's sessions up with them
  [[ $(rt_bfd | awk -v t="$1" -v m="$2" '$2 == t && $3 == m' | grep -c .) == 2 ]]
}
d1_profile_fast() { ecmp_vtysh d1 -c 'show running-config' | sed -n '/^ profile fast$/,/^ exit$/p'; }
routes() {  # VIP: RT's kernel routes to it
  if [[ $1 == *:* ]]; then ip -n "$ECMP_RT" -6 route show "$1/128"; else ip -n "$ECMP_RT" route show "$1/32"; fi |
    grep -c . || true
}
rt_routes() { [[ $(routes "$1") == "$2" ]]; }
session() { probe sessions | awk -v n="${1:-198.51.100.254}" '$1 == n'; }
established_bfd_up() {
  [[ $(session) == "198.51.100.254 Established "*" up "* ]] &&
    [[ $(session 2001:db8:1::254) == "2001:db8:1::254 Established "*" up "* ]]
}
dropped() { echo "$(session | awk '{print $5}')/$(session 2001:db8:1::254 | awk '{print $5}')"; }
# RT's BGP paths to an IPv4 VIP: 1 unless D's IPv6 session carries IPv4 too.
paths4() { ecmp_vtysh rt -c "show bgp ipv4 unicast $1/32 json" | jq '.paths | length'; }

dl_log "(1) first reconcile"
fast0=$(d1_profile_fast)
first_reconcile() {
  local out
  out=$(probe reconcile "$(desired '["203.0.113.101","2001:db8:100::1"]')") || return 1
  grep -qx '> neighbor 198.51.100.254 remote-as 64512' <<<"$out" &&
    grep -qx '> network 203.0.113.101/32' <<<"$out"
}
check "(1) the first reconcile plans and applies the whole config" first_reconcile
check "(1) both sessions are Established with BFD up" netns_wait_for 20 "sessions up" established_bfd_up
check "(1) the router sees D's BFD timers: $BFD_MS ms x $BFD_MULT on both sessions" \
  netns_wait_for 5 "D's BFD timers at RT" rt_bfd_timers_are "$BFD_MS" "$BFD_MULT"
fast_untouched() { [[ -n $fast0 && $(d1_profile_fast) == "$fast0" ]]; }
check "(1) D's own bfdd profile 'fast' is left as it was" fast_untouched
check "(1) the router routes the announced VIP" netns_wait_for 10 "203.0.113.101 at RT" rt_routes 203.0.113.101 1
check "(1) the router routes the announced IPv6 VIP" netns_wait_for 10 "2001:db8:100::1 at RT" rt_routes 2001:db8:100::1 1
check "(1) the router has no route to the owned, withheld VIP" rt_routes 203.0.113.102 0
one_path() { [[ $(paths4 203.0.113.101) == 1 ]]; }
check "(1) the router has one path to the IPv4 VIP (not also via the IPv6 session)" one_path
d0=$(dropped)

dl_log "(2) same desired state again"
no_commands() { [[ -z $(probe reconcile "$(desired '["203.0.113.101","2001:db8:100::1"]')") ]]; }
check "(2) a second reconcile sends no command" no_commands

dl_log "(3) one more VIP announced"
check "(3) reconcile" probe reconcile "$(desired '["203.0.113.101","203.0.113.102","2001:db8:100::1"]')"
check "(3) the router routes the new VIP" netns_wait_for 10 "203.0.113.102 at RT" rt_routes 203.0.113.102 1
same_session() { [[ $(dropped) == "$d0" ]] && established_bfd_up; }
check "(3) the session was not reset (connectionsDropped $d0 unchanged)" same_session

dl_log "(4) drain"
check "(4) reconcile with nothing announced" probe reconcile "$(desired '[]')"
drained() { rt_routes 203.0.113.101 0 && rt_routes 203.0.113.102 0 && rt_routes 2001:db8:100::1 0; }
check "(4) the router routes no VIP" netns_wait_for 10 "VIPs withdrawn at RT" drained
check "(4) the session stays up, not reset" same_session

dl_log "(5) errors"
ecmp_vtysh d1 -c 'configure terminal' -c 'router bgp 64513' -c 'neighbor 198.51.100.77 remote-as 65000' >/dev/null
before=$(ecmp_vtysh d1 -c 'show running-config')
fails_operator() {
  local err
  err=$(probe reconcile "$(desired '[]' 64513 '{"address":"198.51.100.77","remote_as":65000}')" 2>&1) && return 1
  [[ $err == *"bgp neighbor 198.51.100.77: configured in FRR by the operator"* ]]
}
check "(5) a desired neighbour of the operator's is an error naming it" fails_operator
fails_as() {
  local err
  err=$(probe reconcile "$(desired '["203.0.113.101"]' 64514)" 2>&1) && return 1
  [[ $err == *"bgp.local_as 64514: bgpd already runs AS 64513"* ]]
}
check "(5) another AS is an error naming both" fails_as
unchanged() { [[ $(ecmp_vtysh d1 -c 'show running-config') == "$before" ]]; }
check "(5) bgpd's config is unchanged by the failed reconciles" unchanged

dl_log "(6) the announcer"
PERIOD=3
netns_start "$D" "$PROBE" "$DL_PREFIX-d1" announcer "$(desired '["203.0.113.101","2001:db8:100::1"]')" "$PERIOD" >"$ANNOUNCER_LOG"
ANNOUNCER_PID=$NETNS_LAST_PID
announced() { rt_routes 203.0.113.101 1 && rt_routes 2001:db8:100::1 1; }
check "(6) the announcer announces: the router routes both VIPs" netns_wait_for 10 "VIPs at RT" announced
check "(6) the session was not reset" same_session
# Right after a periodic pass, so that the next one does not come before the
# router has seen the withdrawal.
passes() { grep -o 'reconciles=[0-9]*' "$ANNOUNCER_LOG" | tail -1; }
p0=$(passes)
next_pass() { [[ $(passes) != "$p0" ]]; }
check "(6) a periodic pass" netns_wait_for $((PERIOD + 2)) "a periodic pass" next_pass
ecmp_vtysh d1 -c 'configure terminal' -c 'router bgp 64513' -c 'address-family ipv4 unicast' \
  -c 'no network 203.0.113.101/32' >/dev/null
removed_at=$EPOCHREALTIME
check "(6) the operator's 'no network' by hand withdraws it at the router" \
  netns_wait_for 5 "203.0.113.101 gone at RT" rt_routes 203.0.113.101 0
check "(6) the periodic reconcile announces it again within the period ($PERIOD s)" \
  netns_wait_for $((PERIOD + 1)) "203.0.113.101 back at RT" rt_routes 203.0.113.101 1
dl_log "  repaired $(((${EPOCHREALTIME/./} - ${removed_at/./}) / 1000)) ms after the removal"
kill -TERM "$ANNOUNCER_PID"
rc=0
wait "$ANNOUNCER_PID" || rc=$?
netns_forget "$ANNOUNCER_PID"
withdrew() { ((rc == 0)) && grep -qx 'withdraw-all ok' "$ANNOUNCER_LOG"; }
check "(6) SIGTERM: WithdrawAll confirmed by FRR" withdrew
check "(6) the router routes no VIP after WithdrawAll" netns_wait_for 5 "VIPs withdrawn at RT" drained
check "(6) the sessions stay up after WithdrawAll" same_session

dl_log "(7) new BFD timers"
bfd0=$(rt_bfd | awk '{print $1, $4}')
BFD_MS=150 BFD_MULT=5
new_timers() {
  local out
  out=$(probe reconcile "$(desired '[]')") || return 1
  [[ $out == *"> transmit-interval 150"* && $out == *"> detect-multiplier 5"* ]]
}
check "(7) reconcile changes the profile's timers" new_timers
check "(7) the router sees D's new BFD timers: 150 ms x 5" \
  netns_wait_for 5 "D's new BFD timers at RT" rt_bfd_timers_are 150 5
same_bfd() { [[ -n $bfd0 && $(rt_bfd | awk '{print $1, $4}') == "$bfd0" ]]; }
check "(7) the BFD sessions were not reset (same discriminators at RT)" same_bfd
check "(7) the BGP sessions were not reset" same_session
no_commands_drained() { [[ -z $(probe reconcile "$(desired '[]')") ]]; }
check "(7) a second reconcile sends no command" no_commands_drained

dl_log "(8) D's bfdd stopped"
bfdd_pid=$(awk '{print $3}' <<<"${ECMP_FRR_PIDS[d1]}")
netns_stop "$bfdd_pid"
bfdd_absent() {
  local err
  err=$(probe reconcile "$(desired '[]')" 2>&1) && return 1
  [[ $err == *"vtysh: 'bfd' failed (exit 1): bfdd is not running"* ]]
}
check "(8) a reconcile that needs the profile fails, saying bfdd is not running" bfdd_absent
lab_checks_done "lab bgp driver"
