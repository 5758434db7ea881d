#!/bin/bash
# Spike for docs/bgp-design.md: two namespaces on a veth, each with its own FRR
# (zebra + bgpd + bfdd, path space -N), director D (AS 64513) and router R
# (AS 64512). Sourced by hand: `source scripts/dev/bgp_spike.sh; spike_up`,
# then `spike_measure` (the numbers in docs/bgp-design.md; ~20 s) or experiment with
# dvty / rvty, then `spike_down`. Run as root; nothing is built. The
# namespaces, daemons and files are netns.sh's, the FRR start frr.sh's.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/frr.sh"
netns_init bgpsp
P=${P:-$NETNS_PREFIX}
D=$P-d R=$P-r
spike_ns() { ip netns exec "$1" "${@:2}"; }
dvty() { frr_vtysh "$D" "$D" "$@"; }
rvty() { frr_vtysh "$R" "$R" "$@"; }
spike_frr() { # NS CONF: zebra, then bgpd, then (once bgpd is connected) bfdd
  mkdir -p "$(frr_dir "$1")"; printf '%s\n' "$2" >"$(frr_dir "$1")/bgpd.conf"
  frr_start "$1" "$1" "$NETNS_RUN/$1.frr.out" bgpd bfdd
}
spike_up() {
  netns_add "$D"; netns_add "$R"
  ip link add "$P-a" netns "$D" type veth peer "$P-b" netns "$R"
  spike_ns "$D" ip link set "$P-a" name eth0; spike_ns "$R" ip link set "$P-b" name eth0
  for ns in "$D" "$R"; do spike_ns "$ns" ip link set eth0 up; done
  spike_ns "$D" ip addr add 192.0.2.1/24 dev eth0; spike_ns "$R" ip addr add 192.0.2.2/24 dev eth0
  spike_ns "$D" ip addr add 2001:db8:1::1/64 dev eth0 nodad; spike_ns "$R" ip addr add 2001:db8:1::2/64 dev eth0 nodad
  spike_frr "$D" "$(cat <<C
router bgp 64513
 bgp router-id 192.0.2.1
 no bgp default ipv4-unicast
 neighbor 192.0.2.2 remote-as 64512
 neighbor 192.0.2.2 bfd
 neighbor 192.0.2.2 timers 3 9
 neighbor 2001:db8:1::2 remote-as 64512
 neighbor 2001:db8:1::2 bfd
 neighbor 2001:db8:1::2 timers 3 9
 address-family ipv4 unicast
  neighbor 192.0.2.2 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8:1::2 activate
 exit-address-family
C
)"
  spike_frr "$R" "$(cat <<C
router bgp 64512
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 192.0.2.1 remote-as 64513
 neighbor 192.0.2.1 bfd
 neighbor 192.0.2.1 timers 3 9
 neighbor 2001:db8:1::1 remote-as 64513
 neighbor 2001:db8:1::1 bfd
 neighbor 2001:db8:1::1 timers 3 9
 address-family ipv4 unicast
  neighbor 192.0.2.1 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8:1::1 activate
 exit-address-family
C
)"
}
wait_r() { # AF PREFIX present|absent: prints how long until R sees it so
  local t0 i; t0=$(date +%s%N)
  for i in $(seq 200); do
    if rvty -c "show bgp $1 unicast $2 json" 2>/dev/null | grep -q '"paths"'; then [[ $3 == present ]] && break
    else [[ $3 == absent ]] && break; fi
    sleep 0.02
  done
  echo "$2 $3 at R after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
vip4() { dvty -c 'configure terminal' -c 'router bgp 64513' -c 'address-family ipv4 unicast' -c "$1"; }
spike_measure() { # the numbers in docs/bgp-design.md
  dvty -c 'configure terminal' -c 'router bgp 64513' -c 'no bgp network import-check' -c 'no bgp ebgp-requires-policy'
  dvty -c 'clear bgp * soft out'
  time (for i in $(seq 20); do vip4 "network 203.0.113.$((100 + i))/32" >/dev/null; done)
  vip4 'network 203.0.113.99/32'; wait_r ipv4 203.0.113.99/32 present
  vip4 'no network 203.0.113.99/32'; wait_r ipv4 203.0.113.99/32 absent
  dvty -c 'configure terminal' -c 'router bgp 64513' -c 'address-family ipv6 unicast' -c 'network 2001:db8:100::1/128'
  wait_r ipv6 2001:db8:100::1/128 present
  vip4 'network 203.0.113.300/32'; echo "bad prefix: rc=$?"
  vip4 'no network 198.51.100.77/32'; echo "absent prefix: rc=$?"
  dvty -c 'configure terminal' -c 'router bgp 64513' -c 'address-family ipv4 unicast' -c 'redistribute kernel' -c 'redistribute table 200' \
    -c 'exit' -c 'address-family ipv6 unicast' -c 'redistribute kernel'
  dvty -c 'configure terminal' -c 'ip import-table 200'; dvty -c 'configure terminal' -c 'ipv6 import-table 200'; echo "ipv6 import-table: rc=$?"
  spike_ns "$D" ip route add blackhole 198.51.100.10/32 table 200; wait_r ipv4 198.51.100.10/32 present
  spike_ns "$D" ip route show 198.51.100.10/32  # zebra copied it into main
  spike_ns "$D" ip -6 route add blackhole 2001:db8:200::1/128 proto 250; wait_r ipv6 2001:db8:200::1/128 present
  spike_ns "$D" ip -6 route del 2001:db8:200::1/128 proto 250; wait_r ipv6 2001:db8:200::1/128 absent
  local pids; mapfile -t pids < <(cat /var/run/frr/"$D"/{zebra,bgpd,bfdd}.pid)
  echo "director hangs (SIGSTOP its FRR)"; kill -STOP "${pids[@]}"; wait_r ipv4 203.0.113.101/32 absent; kill -CONT "${pids[@]}"
  wait_r ipv4 203.0.113.101/32 present
  # its crash-log directory, /var/tmp/frr/bgpd.PID, is frr_start's to remove
  local bgpd; bgpd=$(cat /var/run/frr/"$D"/bgpd.pid)
  echo "kill -9 bgpd"; kill -9 "$bgpd"; wait_r ipv4 203.0.113.101/32 absent; wait_r ipv6 2001:db8:100::1/128 absent
  wait "$bgpd" 2>/dev/null; netns_forget "$bgpd"
}
spike_down() { netns_down; } # our daemons by PID, then our namespaces and files
