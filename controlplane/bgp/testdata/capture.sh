#!/bin/bash
# How the samples beside this script were captured (FRR 8.4.4 on Debian 12, as root):
# scripts/dev/bgp_spike.sh's two namespaces (director D AS 64513, router R AS 64512), then
# D configured by vtysh the way xlbd will (docs/bgp-design.md "What xlbd owns"), plus one
# operator neighbour (no `description xlbd`) and bfdd profile (`fast`), then `show
# running-config`, `show bgp summary json` and `show bfd peers json` of D once the sessions
# are up.
# usage: controlplane/bgp/testdata/capture.sh [SAMPLE...]   (from the repository root)
# Only the SAMPLEs named (file names, e.g. running_config_owned.txt) are rewritten, all by
# default: some tests pin values of one capture (status_test.cc: uptimes, a BFD still down).
set -u
DEST=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d /tmp/xlb-bgp-capture.XXXXXX)
source scripts/dev/bgp_spike.sh
keep_samples() {
  if (($# == 0)); then cp "$OUT"/* "$DEST"/; else for f in "$@"; do cp "$OUT/$f" "$DEST/$f"; done; fi
}
trap 'spike_down; rm -rf "$OUT"' EXIT
spike_up
dvty -c 'configure terminal' \
  -c 'bfd' -c 'profile xlbd' -c 'transmit-interval 100' -c 'receive-interval 100' -c 'exit' \
  -c 'profile fast' -c 'transmit-interval 50' -c 'receive-interval 50' -c 'exit' -c 'exit' \
  -c 'ip prefix-list XLB-VIPS4 seq 5 permit 203.0.113.10/32' \
  -c 'ip prefix-list XLB-VIPS4 seq 10 permit 203.0.113.11/32' \
  -c 'ipv6 prefix-list XLB-VIPS6 seq 5 permit 2001:db8:100::1/128' \
  -c 'route-map XLB-VIPS-OUT permit 10' -c 'match ip address prefix-list XLB-VIPS4' -c 'exit' \
  -c 'route-map XLB-VIPS-OUT permit 20' -c 'match ipv6 address prefix-list XLB-VIPS6' -c 'exit' \
  -c 'router bgp 64513' -c 'bgp router-id 192.0.2.1' -c 'no bgp network import-check' \
  -c 'neighbor 192.0.2.2 description xlbd' -c 'neighbor 192.0.2.2 password s3cret' \
  -c 'neighbor 192.0.2.2 bfd profile xlbd' \
  -c 'neighbor 2001:db8:1::2 description xlbd' -c 'neighbor 2001:db8:1::2 timers 5 15' \
  -c 'neighbor 2001:db8:1::2 bfd profile xlbd' \
  -c 'neighbor 198.51.100.9 remote-as 64999' -c 'neighbor 198.51.100.9 bfd profile fast' \
  -c 'address-family ipv4 unicast' -c 'neighbor 192.0.2.2 route-map XLB-VIPS-OUT out' \
  -c 'neighbor 192.0.2.2 next-hop-self' -c 'network 203.0.113.10/32' -c 'exit-address-family' \
  -c 'address-family ipv6 unicast' -c 'neighbor 2001:db8:1::2 route-map XLB-VIPS-OUT out' \
  -c 'no neighbor 192.0.2.2 activate' -c 'network 2001:db8:100::1/128' -c 'exit-address-family'
echo "configure rc=$?"
# Router side: the password must match for the session to come up.
rvty -c 'configure terminal' -c 'router bgp 64512' -c 'neighbor 192.0.2.1 password s3cret'
for _ in $(seq 100); do
  [[ $(dvty -c 'show bgp summary json' | grep -c '"state":"Established"') -ge 2 ]] && break; sleep 0.2
done
for _ in $(seq 50); do dvty -c 'show bfd peers json' | grep -q '"status":"up"' && break; sleep 0.2; done
dvty -c 'show running-config' >"$OUT/running_config_owned.txt"
dvty -c 'show bgp summary json' >"$OUT/bgp_summary.json"
dvty -c 'show bfd peers json' >"$OUT/bfd_peers.json"
# docs/bgp-design.md "BFD timers": new timers in the profile, then neither session reset?
bfd_sessions() { # per session: BFD id, uptime, our timers; BGP connectionsDropped
  dvty -c 'show bfd peers json' |
    jq -c '.[] | select(.peer != "198.51.100.9") | {peer, status, id, uptime, "transmit-interval", "detect-multiplier"}'
  dvty -c 'show bgp summary json' | jq -c '[.[].peers | to_entries[] | {(.key): .value.connectionsDropped}] | add'
}
for _ in $(seq 50); do  # both of xlbd's BFD sessions up
  [[ $(dvty -c 'show bfd peers json' | jq '[.[] | select(.status == "up")] | length') == 2 ]] && break; sleep 0.2
done
{
  echo "# before: profile xlbd 100 ms x 3"; bfd_sessions
  dvty -c 'configure terminal' -c 'bfd' -c 'profile xlbd' -c 'transmit-interval 200' \
    -c 'receive-interval 200' -c 'detect-multiplier 5'; echo "# profile xlbd -> 200 ms x 5: rc=$?"
  sleep 2; bfd_sessions
} >"$OUT/bfd_profile_change.txt"
# Errors, for the runner's messages.
dvty -c 'configure terminal' -c 'router bgp 64513' -c 'address-family ipv4 unicast' -c 'network 203.0.113.300/32' >"$OUT/error_unknown.txt" 2>&1; echo "rc=$?" >>"$OUT/error_unknown.txt"
dvty -c 'configure terminal' -c 'router bgp 64514' >"$OUT/error_other_as.txt" 2>&1; echo "rc=$?" >>"$OUT/error_other_as.txt"
# An FRR with nothing of xlbd's (R).
rvty -c 'show running-config' >"$OUT/running_config_router.txt"
# A bgpd with no config at all (E, own namespace, no links), given the whole plan of
# plan_test.cc's EmptyRunningGivesFullConfig in one call: what bgpd then runs must plan to
# nothing (plan_test.cc: AppliedPlanIsStable).
E=$P-e; ip netns add "$E"; frr_start "$E" ""
cmds=(); while IFS= read -r line; do cmds+=(-c "$line"); done <<'PLAN'
configure terminal
ip prefix-list XLB-VIPS4 permit 203.0.113.10/32
ip prefix-list XLB-VIPS4 permit 203.0.113.11/32
ipv6 prefix-list XLB-VIPS6 permit 2001:db8:100::1/128
route-map XLB-VIPS-OUT permit 10
match ip address prefix-list XLB-VIPS4
exit
route-map XLB-VIPS-OUT permit 20
match ipv6 address prefix-list XLB-VIPS6
exit
bfd
profile xlbd
transmit-interval 100
receive-interval 100
detect-multiplier 3
exit
exit
router bgp 64513
bgp router-id 192.0.2.1
no bgp network import-check
neighbor 192.0.2.2 remote-as 64512
neighbor 192.0.2.2 description xlbd
neighbor 192.0.2.2 password s3cret
neighbor 192.0.2.2 bfd profile xlbd
neighbor 192.0.2.2 timers 3 9
neighbor 2001:db8:1::2 remote-as 64512
neighbor 2001:db8:1::2 description xlbd
neighbor 2001:db8:1::2 bfd profile xlbd
neighbor 2001:db8:1::2 timers 5 15
address-family ipv4 unicast
neighbor 192.0.2.2 activate
neighbor 192.0.2.2 route-map XLB-VIPS-OUT out
neighbor 192.0.2.2 next-hop-self
no neighbor 2001:db8:1::2 activate
network 203.0.113.10/32
exit-address-family
address-family ipv6 unicast
no neighbor 192.0.2.2 activate
neighbor 2001:db8:1::2 activate
neighbor 2001:db8:1::2 route-map XLB-VIPS-OUT out
network 2001:db8:100::1/128
exit-address-family
exit
PLAN
ip netns exec "$E" vtysh -N "$E" "${cmds[@]}"; echo "applied plan rc=$?"
ip netns exec "$E" vtysh -N "$E" -c 'show running-config' >"$OUT/running_config_applied.txt"
# -E echoes each command before running it: the last echo before a `%` line names the
# command that failed (vtysh.cc relies on it).
ip netns exec "$E" vtysh -N "$E" -E -c 'configure terminal' -c 'router bgp 64513' \
  -c 'address-family ipv4 unicast' -c 'network 203.0.113.300/32' -c 'network 203.0.113.12/32' \
  >"$OUT/error_echo.txt" 2>&1; echo "rc=$?" >>"$OUT/error_echo.txt"
ip netns exec "$E" vtysh -N "$E" -E -c 'configure terminal' -c 'router bgp 64513' \
  -c 'address-family ipv4 unicast' -c 'no network 198.51.100.77/32' \
  >"$OUT/error_echo_absent.txt" 2>&1; echo "rc=$?" >>"$OUT/error_echo_absent.txt"
# bfdd not running: the profile cannot be set, a clear error (and bgpd still takes
# `neighbor X bfd profile`).
kill "$(cat "/var/run/frr/$E/bfdd.pid")"
for _ in $(seq 20); do kill -0 "$(cat "/var/run/frr/$E/bfdd.pid")" 2>/dev/null || break; sleep 0.1; done
ip netns exec "$E" vtysh -N "$E" -E -c 'configure terminal' -c 'bfd' -c 'profile xlbd' \
  -c 'transmit-interval 100' >"$OUT/error_bfdd_absent.txt" 2>&1; echo "rc=$?" >>"$OUT/error_bfdd_absent.txt"
for d in bgpd zebra; do kill "$(cat "/var/run/frr/$E/$d.pid")"; done
for _ in $(seq 20); do [[ -e /var/run/frr/$E/bgpd.pid ]] && kill -0 "$(cat "/var/run/frr/$E/bgpd.pid")" 2>/dev/null || break; sleep 0.1; done
ip netns del "$E"; rm -rf "/etc/frr/$E" "/var/run/frr/$E"
keep_samples "$@"
