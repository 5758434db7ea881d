#!/usr/bin/env bash
# Lab test: xlb-decap on a real of tunnel forwarding. Two namespaces joined
# by a veth pair: "sender" plays the director and the client at once
# (xlb-tunnel-probe: encapsulated TCP segments out through a raw socket, the
# answers captured with AF_PACKET), "real" has the VIPs on lo, an
# xlb-lab-server on them and xlb-decap on its interface. The real's answers
# must come from the VIP, unencapsulated, straight to the client (routed
# back through the sender, which has no route to the VIPs itself), for IPIP
# and GUE, IPv4 and IPv6: SYN-ACK, then a whole TCP exchange (banner, echo).
# Also: no answer without xlb-decap (this kernel has no ipip/fou), none for a
# VIP not given; usage errors change nothing; another program is not
# replaced; --gue-port on a second attach; status and its counters; detach
# leaves no program, no pins; generic mode with --local.
set -euo pipefail
BUILD=$(cd "${1:?usage: decap_lab_test.sh BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/netns.sh"
source "$ROOT/scripts/lib/lab_checks.sh"
netns_init dcp
P=$NETNS_PREFIX RUN=$NETNS_RUN
S=$P-s R=$P-r
IFS_=$P-s IFR=$P-r IFX=$P-x IFY=$P-y  # interface names: 15 characters at most
trap netns_down EXIT
trap 'exit 1' INT TERM

VIP4=192.0.2.10 VIP6=2001:db8::10 OTHER_VIP4=192.0.2.99
REAL4=198.51.100.20 REAL6=2001:db8:1::20 DIRECTOR4=198.51.100.1 DIRECTOR6=2001:db8:1::1
CLIENT4=203.0.113.7 CLIENT6=2001:db8:2::7

netns_add "$S"
netns_add "$R"
ip link add "$IFS_" netns "$S" type veth peer name "$IFR" netns "$R"
ip -n "$S" addr add "$DIRECTOR4/24" dev "$IFS_"
ip -n "$S" addr add "$DIRECTOR6/64" dev "$IFS_" nodad
ip -n "$R" addr add "$REAL4/24" dev "$IFR"
ip -n "$R" addr add "$REAL6/64" dev "$IFR" nodad
for side in "$S $IFS_" "$R $IFR"; do
  read -r ns ifn <<<"$side"
  ip -n "$ns" link set "$ifn" up
  ip netns exec "$ns" ethtool -K "$ifn" tx off >/dev/null
done
ip -n "$R" addr add "$VIP4/32" dev lo
ip -n "$R" addr add "$OTHER_VIP4/32" dev lo
ip -n "$R" addr add "$VIP6/128" dev lo
# The clients are reached through the sender (as through a router).
ip -n "$R" route add 203.0.113.0/24 via "$DIRECTOR4"
ip -n "$R" -6 route add 2001:db8:2::/64 via "$DIRECTOR6"
# A second interface on the real, with someone else's XDP program.
ip link add "$IFX" netns "$R" type veth peer name "$IFY" netns "$R"
ip -n "$R" link set "$IFX" up
ip -n "$R" link set "$IFY" up
ip -n "$R" link set dev "$IFX" xdpdrv obj "$BUILD/bpf/pass.bpf.o" sec xdp

PINS=$RUN/bpf
netns_mount_bpf "$PINS"
PIN=$PINS/xlb-decap
decap() { ip netns exec "$R" "$BUILD/decap/xlb-decap" --pin-dir "$PIN" "$@"; }

netns_start "$R" "$BUILD/tests/lab/xlb-lab-server" --name real1 --port 8080 >"$RUN/server.out"
netns_wait_for 5 "server ready" grep -qx ready "$RUN/server.out"

# probe ENCAP FAMILY [OPTIONS...]: a SYN (and more with --handshake) to the
# VIP of FAMILY through the tunnel; the probe's output in $RUN/probe.out.
PORT_SEQ=40000
probe() {
  local encap=$1 family=$2 outer vip client
  shift 2
  if [[ $family == 4 ]]; then
    outer="--outer-src $DIRECTOR4 --outer-dst $REAL4" vip=$VIP4 client=$CLIENT4
  else
    outer="--outer-src $DIRECTOR6 --outer-dst $REAL6" vip=$VIP6 client=$CLIENT6
  fi
  PORT_SEQ=$((PORT_SEQ + 1))  # a fresh connection each time
  # shellcheck disable=SC2086
  ip netns exec "$S" "$BUILD/tests/lab/xlb-tunnel-probe" --iface "$IFS_" --encap "$encap" \
    $outer --client "$client" --vip "$vip" --port 8080 --client-port "$PORT_SEQ" \
    --timeout-ms 2000 "$@" >"$RUN/probe.out" 2>&1
}
answered() { probe "$@" && grep -q "^syn-ack from" "$RUN/probe.out"; }
exchanged() {
  probe "$@" --handshake && grep -qx "banner real1" "$RUN/probe.out" && grep -qx "echo ok" "$RUN/probe.out"
}
no_answer() { ! probe "$@" --timeout-ms 800; }
not_attached() {
  [[ $(ip -n "$R" -o link show dev "$IFR") != *xdp* && ! -e $PIN ]]
}
counter() { decap status --json | jq -r ".counters.$1"; }

check "without xlb-decap the real does not answer IPIP (no ipip module)" no_answer ipip 4
check "without xlb-decap the real does not answer GUE" no_answer gue 4

# Usage errors: exit 2, naming what is wrong; bad input changes nothing.
check "attach without a VIP: usage error" fails_with 2 "no VIP" decap attach "$IFR"
check "attach with a bad VIP: usage error naming it" \
  fails_with 2 "--vip '192.0.2.300': not an IPv4 or IPv6 address" decap attach "$IFR" --vip 192.0.2.300
check "attach with a bad --local: usage error" fails_with 2 "--local 'real'" \
  decap attach "$IFR" --vip "$VIP4" --local real
check "attach with a bad --gue-port: usage error" fails_with 2 "--gue-port wants a port" \
  decap attach "$IFR" --vip "$VIP4" --gue-port 70000
check "attach with a bad --xdp-mode: usage error" fails_with 2 "--xdp-mode wants native or generic" \
  decap attach "$IFR" --vip "$VIP4" --xdp-mode fast
check "attach to a missing interface names it" fails_with 1 "no interface named 'nosuch0'" \
  decap attach nosuch0 --vip "$VIP4"
check "attach over another XDP program is refused" \
  fails_with 1 "$IFX already has XDP program [0-9]+ \(xlb_pass\) attached" decap attach "$IFX" --vip "$VIP4"
check "... and that program stays" bash -c "ip -n '$R' -o link show dev '$IFX' | grep -q 'prog/xdp id'"
check "after the errors: nothing attached, nothing pinned" not_attached
check "status says not loaded" bash -c "ip netns exec '$R' '$BUILD/decap/xlb-decap' --help >/dev/null && \
  ip netns exec '$R' '$BUILD/decap/xlb-decap' status --pin-dir '$PIN' | grep -q 'not loaded'"

check "attach (native)" decap attach "$IFR" --vip "$VIP4" --vip "$VIP6" --xdp-mode native
check "status: the interface, the VIPs, the real's own addresses as outer destinations" bash -c "
  out=\$(ip netns exec '$R' '$BUILD/decap/xlb-decap' status --pin-dir '$PIN')
  grep -qx 'interfaces: $IFR (native)' <<<\"\$out\" && grep -qx 'VIPs: $VIP4 $VIP6' <<<\"\$out\" &&
  grep -qx 'outer destinations: $REAL4 $REAL6' <<<\"\$out\" && grep -qx 'GUE port: 6080' <<<\"\$out\""

check "IPIP v4: SYN-ACK from the VIP straight to the client" answered ipip 4
check "IPIP v4: a whole TCP exchange (banner, echo)" exchanged ipip 4
check "IPIP v6 (IPv6 in IPv6): a whole TCP exchange" exchanged ipip 6
check "GUE v4 (variant 1, port 6080): a whole TCP exchange" exchanged gue 4
check "GUE v6: a whole TCP exchange" exchanged gue 6
check "GUE variant 0 (a plain GUE header): SYN-ACK" answered gue 4 --gue-variant 0
check "GUE to another port: no answer" no_answer gue 4 --gue-port 6081

# A VIP on the real's lo that xlb-decap was not given: not decapsulated.
not_vip_before=$(counter not_vip)
check "a VIP not given to xlb-decap gets no answer" bash -c "
  ! ip netns exec '$S' '$BUILD/tests/lab/xlb-tunnel-probe' --iface '$IFS_' --encap ipip \
    --outer-src $DIRECTOR4 --outer-dst $REAL4 --client $CLIENT4 --vip $OTHER_VIP4 --port 8080 \
    --timeout-ms 800 >/dev/null 2>&1"
check "... and counts not_vip" test "$(counter not_vip)" -gt "$not_vip_before"

check "status counts IPIP and GUE, v4 and v6" bash -c "
  j=\$(ip netns exec '$R' '$BUILD/decap/xlb-decap' status --json --pin-dir '$PIN')
  jq -e '.counters.ipip_v4 >= 4 and .counters.ipip_v6 >= 3 and .counters.gue_v4 >= 4 and
         .counters.gue_v6 >= 3 and .counters.passed > 0 and .interfaces[0].name == \"$IFR\"' <<<\"\$j\" >/dev/null"

# A second attach on the same interface changes the configuration in place.
check "attach again with --gue-port 9000 updates it" bash -c "
  ip netns exec '$R' '$BUILD/decap/xlb-decap' attach '$IFR' --vip $VIP4 --gue-port 9000 --pin-dir '$PIN' |
  grep -q 'updated'"
check "GUE to 9000 is decapsulated now" answered gue 4 --gue-port 9000
check "GUE to 6080 is not any more" no_answer gue 4
check "the VIP left out is not any more" no_answer ipip 6
check "one interface per pin directory: a second interface is refused" \
  fails_with 1 "attached to $IFR already" decap attach "$IFY" --vip "$VIP4" --local 198.51.100.30

check "detach $IFX (someone else's program) is refused, the program stays" bash -c "
  ip netns exec '$R' '$BUILD/decap/xlb-decap' detach '$IFX' --pin-dir '$PIN' 2>&1 | grep -q 'not xlb-decap' &&
  ip -n '$R' -o link show dev '$IFX' | grep -q 'prog/xdp id'"
check "detach" decap detach "$IFR"
check "after detach: no XDP program on $IFR, no pins" not_attached
check "after detach: the real does not answer IPIP again" no_answer ipip 4
check "detach twice: says it is not attached" fails_with 1 "not attached to $IFR" decap detach "$IFR"

# Generic (skb) mode, with the outer destination given.
check "attach in generic mode with --local" \
  decap attach "$IFR" --vip "$VIP4" --local "$REAL4" --xdp-mode generic
check "status: generic mode, the --local address only" bash -c "
  out=\$(ip netns exec '$R' '$BUILD/decap/xlb-decap' status --pin-dir '$PIN')
  grep -qx 'interfaces: $IFR (generic)' <<<\"\$out\" && grep -qx 'outer destinations: $REAL4' <<<\"\$out\""
check "generic mode: a whole TCP exchange over IPIP" exchanged ipip 4
check "generic mode: GUE too" exchanged gue 4
check "asking for native mode over it is refused" \
  fails_with 1 "attached to $IFR in generic XDP mode; detach it first" \
  decap attach "$IFR" --vip "$VIP4" --xdp-mode native
check "detach (generic)" decap detach "$IFR"
check "after detach: no XDP program, no pins" not_attached

lab_checks_done decap
