#!/usr/bin/env bash
# Lab test: a director holding VIPs inside its reals' subnet keeps its own
# traffic (health checks, neighbour discovery) on its own addresses.
#
# The lab of scripts/lib/lab.sh; xlbd in the director runs two VRRP
# instances on d1 (the reals' side, 203.0.113.1/24 2001:db8:2::1/64), alone,
# so it becomes master and adds their VIPs there:
#   2001:db8:2::100/64 (DR)  2001:db8:2::101/64 (NAT)
#   203.0.113.100/25   (DR)  203.0.113.101/25   (NAT)
# The IPv4 VIPs have a longer prefix than d1's own address: added as they
# are they would be the primary address of 203.0.113.0/25, the source of
# everything the director sends there. The DR reals have the DR VIPs on lo,
# so a health check leaving from a VIP is answered to the real itself and
# the real is marked down. (Among IPv6 addresses the kernel prefers the
# newest, so the DR VIP is added last, as a VIP of the NAT service, not on
# the reals, would not show the fault.) Then the same with VIPs added by hand (ip addr
# add, not deprecated) before xlbd starts: 2001:db8:2::102/64 and
# 203.0.113.102/25, DR services too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/lab.sh"
source "$here/../../scripts/lib/lab_checks.sh"
lab_init "${1:?usage: vip_source_test.sh BUILD_DIR}"
trap netns_down EXIT

lab_up
for r in "$R1" "$R2" "$R3"; do
  for vip in 2001:db8:2::100/128 2001:db8:2::102/128; do ip -n "$r" addr add "$vip" dev lo; done
  for vip in 203.0.113.100/32 203.0.113.102/32; do ip -n "$r" addr add "$vip" dev lo; done
done
# The DR reals answer from the VIP through their gateway, the director,
# which holds that VIP: IPv4 drops a packet from one of its own addresses
# unless told to accept it (a real network routes these replies elsewhere).
ip netns exec "$D" sysctl -qw net.ipv4.conf.d1.accept_local=1
lab_start_servers
INTERVAL_MS=200

HEALTH="{type: tcp, interval: ${INTERVAL_MS}ms, timeout: 100ms, rise: 1, fall: 1}"
service() {  # service NAME VIP FORWARD REAL_PREFIX REAL_PORT
  local reals="" i
  for i in 1 2 3; do reals+="{address: $4$i, port: $5}, "; done
  echo "  - {name: $1, vip: $2, port: 80, forward: $3, reals: [${reals%, }], health: $HEALTH}"
}
write_config() {  # write_config [with-hand-vips]
  {
    echo "interfaces: [d0, d1]"
    echo "api: {socket: $SOCK, metrics: \"\"}"
    echo "services:"
    service dr6 2001:db8:2::100 dr 2001:db8:2::1 80
    service nat6 2001:db8:2::101 nat 2001:db8:2::1 8080
    service dr4 203.0.113.100 dr 203.0.113.1 80
    service nat4 203.0.113.101 nat 203.0.113.1 8080
    if [[ ${1:-} == with-hand-vips ]]; then
      service hand6 2001:db8:2::102 dr 2001:db8:2::1 80
      service hand4 203.0.113.102 dr 203.0.113.1 80
    fi
    cat <<YAML
vrrp:
  - {name: vi6, interface: d1, vrid: 61, priority: 200, advert_interval: 100ms,
     addresses: [2001:db8:2::101/64, 2001:db8:2::100/64]}
  - {name: vi4, interface: d1, vrid: 41, priority: 200, advert_interval: 100ms,
     addresses: [203.0.113.100/25, 203.0.113.101/25]}
YAML
  } >"$CONF"
}

start_xlbd() { lab_start_xlbd --detach-on-exit; }
stop_xlbd() { netns_stop "$XLBD_PID"; }

masters() {
  [[ $(xlbctl --json vrrp | jq -r '[.[] | select(.state == "MASTER")] | length') == 2 ]]
}
# "ADDRESS/PREFIX flags" of the VIPs on d1 ("2001:db8:2::100/64 deprecated").
vip_lines() {
  ip -n "$D" -o addr show dev d1 | awk '{s = ""; for (i = 5; i <= NF; i++) if ($i == "deprecated") s = " deprecated"; print $4 s}' |
    grep -E '::10[0-2]/|\.10[0-2]/' | sort | xargs
}
# Every real of every service: "service address health checks since", one a line.
reals_health() {
  xlbctl --json list | jq -r '.[] | .name as $s | .reals[] | "\($s) \(.address) \(.health) \(.checks) \(.since)"'
}
all_up() { ! reals_health | awk '$3 != "up" {bad = 1} END {exit !bad}'; }
# Every real stays up, with the same `since` (no transition), while each of
# them is checked 10 more times.
stays_up_10_intervals() {
  local before now deadline=$((SECONDS + 10))
  before=$(reals_health)
  while ((SECONDS < deadline)); do
    now=$(reals_health)
    local rc=0
    awk 'NR == FNR {c[$1" "$2] = $4; t[$1" "$2] = $5; next}
         $3 != "up" || $5 != t[$1" "$2] {print "  " $0 " (down, or changed since " t[$1" "$2] ")"; bad = 1}
         $4 < c[$1" "$2] + 10 {short = 1}
         END {exit bad ? 2 : short}' <(echo "$before") <(echo "$now") || rc=$?
    ((rc == 0)) && return 0
    ((rc == 2)) && return 1
    sleep 0.1
  done
  echo "  not 10 checks each within 10 s: $(tr '\n' '|' <<<"$now")"
  return 1
}
through_all() {  # through_all VIP...: 30 connections through each succeed
  local vip out
  for vip in "$@"; do
    [[ $vip == *:* ]] && vip="[$vip]"
    out=$(lab_client connect --target "$vip:80" --count 30 --timeout-ms 1000 2>/dev/null || true)
    passed_all "$out" connect 30 || { echo "  $vip: $(tail -1 <<<"$out")"; return 1; }
  done
}
sources() {  # the sources the log names for the health checks
  grep -o 'health checks leave from [^ ]*' "$XLBD_LOG" | sort -u | awk '{print $5}' | xargs
}

# (1) VRRP VIPs inside the reals' subnets.
write_config
check "(1) --check-config warns of nothing: d1 has addresses of its own" \
  bash -c "! ip netns exec '$D' '$LAB_BUILD/controlplane/xlbd' --check-config '$CONF' 2>&1 | grep -q warning"
start_xlbd
check "(1) the director becomes master of both instances" netns_wait_for 10 "master" masters
check "(1) the VIPs are on d1: IPv6 deprecated, IPv4 as /32 (d1 has no primary of their /25)" \
  netns_wait_for 5 "VIPs on d1" test "$(vip_lines)" = \
  "2001:db8:2::100/64 deprecated 2001:db8:2::101/64 deprecated 203.0.113.100/32 203.0.113.101/32"
check "(1) the kernel's source toward a real is d1's own address again" \
  bash -c "ip -n '$D' -6 route get 2001:db8:2::11 | grep -q 'src 2001:db8:2::1 ' &&
           ip -n '$D' route get 203.0.113.11 | grep -q 'src 203.0.113.1 '"
check "(1) every real is up" netns_wait_for 5 "reals up" all_up
check "(1) every real stays up for 10 check intervals" stays_up_10_intervals
check "(1) the health checks leave from d1's own addresses" \
  test "$(sources)" = "2001:db8:2::1 203.0.113.1"
check "(1) traffic through every VIP succeeds" \
  through_all 2001:db8:2::100 2001:db8:2::101 203.0.113.100 203.0.113.101
stop_xlbd
check "(1) SIGTERM removes exactly the VIPs it added" netns_wait_for 5 "VIPs gone" test -z "$(vip_lines)"

# (2) And VIPs added by hand before xlbd starts, as an operator would: not
# deprecated, the IPv4 one the primary of its /25. The kernel now picks them
# as the source toward the reals; the health checks bind d1's own address.
ip -n "$D" addr add 2001:db8:2::102/64 dev d1 nodad
ip -n "$D" addr add 203.0.113.102/25 dev d1
check "(2) the kernel would send from the hand-added VIPs" \
  bash -c "ip -n '$D' -6 route get 2001:db8:2::11 | grep -q 'src 2001:db8:2::102 ' &&
           ip -n '$D' route get 203.0.113.11 | grep -q 'src 203.0.113.102 '"
write_config with-hand-vips
start_xlbd
check "(2) the director becomes master of both instances" netns_wait_for 10 "master" masters
check "(2) the kernel still prefers the hand-added VIPs" \
  bash -c "ip -n '$D' -6 route get 2001:db8:2::11 | grep -q 'src 2001:db8:2::102 ' &&
           ip -n '$D' route get 203.0.113.11 | grep -q 'src 203.0.113.102 '"
check "(2) every real is up" netns_wait_for 5 "reals up" all_up
check "(2) every real stays up for 10 check intervals" stays_up_10_intervals
check "(2) traffic through every VIP succeeds" through_all 2001:db8:2::100 2001:db8:2::101 \
  2001:db8:2::102 203.0.113.100 203.0.113.101 203.0.113.102
stop_xlbd
check "(2) the hand-added VIPs stay (not xlbd's)" \
  test "$(vip_lines)" = "2001:db8:2::102/64 203.0.113.102/25"

# (3) --check-config warns where a VIP has no address of the director's own
# beside it: the hand-added VIPs' interface without d1's own IPv6 address.
ip -n "$D" -6 addr del 2001:db8:2::1/64 dev d1
check "(3) --check-config warns of the IPv6 VIPs inside the reals' subnet, and still passes" \
  bash -c "out=\$(ip netns exec '$D' '$LAB_BUILD/controlplane/xlbd' --check-config '$CONF' 2>&1) &&
           grep -q 'warning: VIP 2001:db8:2::100/64 of vrrp vi6 on d1 is inside the subnet of real 2001:db8:2::11 of service dr6' <<<\"\$out\" &&
           grep -q 'warning: VIP 2001:db8:2::102/64 of service hand6 on d1 is inside the subnet of real 2001:db8:2::11' <<<\"\$out\" &&
           ! grep -q 'VIP 203' <<<\"\$out\""

lab_checks_done "lab vip_source" || { echo "--- xlbd log"; tail -40 "$XLBD_LOG"; exit 1; }
