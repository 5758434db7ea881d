#!/bin/bash
# VRRP I/O in two network namespaces joined by a veth pair: adverts built by
# the codec go out through controlplane/vrrp/io.cc and come back decoded
# (IPv4 multicast, IPv6 multicast, IPv4 and IPv6 unicast, another VRID,
# VRRPv2 with PASS auth); VIPs are added with a label and removed; GARP and
# unsolicited NA update the peer's neighbour table; and, if keepalived is
# installed, its adverts are received and decoded.
# Needs root. Everything it creates is removed on exit, also on failure.
# IO_PROBE=/path/to/vrrp-io-probe (meson test gives it; default build/tests/lab/).
set -euo pipefail
command -v keepalived >/dev/null || {
  echo "FAIL: keepalived is not installed (scripts/setup.sh installs it); the interop part needs it"
  exit 1
}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/netns.sh"
netns_init vio
P=$NETNS_PREFIX TMP=$NETNS_RUN
NSA="$P-a" NSB="$P-b"
IFA=$P-a IFB=$P-b  # interface names: 15 characters at most
FAILS=0
trap netns_down EXIT
trap 'exit 1' INT TERM

ok() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
A() { ip netns exec "$NSA" "$@"; }
B() { ip netns exec "$NSB" "$@"; }

# The probe is built by meson (tests/lab/meson.build): a hand-made g++ line
# here had fallen behind the libraries it needs.
IO_PROBE=${IO_PROBE:-$ROOT/build/tests/lab/vrrp-io-probe}
[[ -x "$IO_PROBE" ]] || {
  echo "FAIL: $IO_PROBE is not built (ninja -C build tests/lab/vrrp-io-probe, or set IO_PROBE)"
  exit 1
}

netns_add "$NSA"
netns_add "$NSB"
ip link add "$IFA" netns "$NSA" type veth peer name "$IFB" netns "$NSB"
for side in A B; do
  ns=NS$side; ifn=IF$side
  ip netns exec "${!ns}" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip netns exec "${!ns}" sysctl -qw "net.ipv6.conf.${!ifn}.accept_dad=0"
  ip netns exec "${!ns}" ip link set "${!ifn}" up
done
A ip addr add 192.0.2.1/24 dev "$IFA"
B ip addr add 192.0.2.2/24 dev "$IFB"
A ip addr add 2001:db8:51::1/64 dev "$IFA" nodad
B ip addr add 2001:db8:51::2/64 dev "$IFB" nodad
link_local() { ip -n "$1" -6 -o addr show dev "$2" scope link | awk '{print $4}' | cut -d/ -f1; }
have_link_locals() { [[ -n $(link_local "$NSA" "$IFA") && -n $(link_local "$NSB" "$IFB") ]]; }
netns_wait_for 5 "link-local addresses" have_link_locals
LLA=$(A ip -6 -o addr show dev "$IFA" scope link | awk '{print $4}' | cut -d/ -f1)
LLB=$(B ip -6 -o addr show dev "$IFB" scope link | awk '{print $4}' | cut -d/ -f1)
MACA=$(A cat /sys/class/net/"$IFA"/address)
[[ -n "$LLA" ]] || { echo "no link-local address on $IFA"; exit 1; }

# recv_check NAME FAMILY RECV_OPTS... -- SEND_OPTS... -- EXPECT_REGEX
# Starts a receiver in B, waits until it listens, sends from A, checks.
recv_check() {
  local name=$1 fam=$2; shift 2
  local ropts=() sopts=()
  while [[ $1 != -- ]]; do ropts+=("$1"); shift; done; shift
  while [[ $1 != -- ]]; do sopts+=("$1"); shift; done; shift
  local expect=$1 out="$TMP/$name.out"
  : >"$out"
  B timeout 10 "$IO_PROBE" recv "$IFB" "$fam" --count 1 --timeout-ms 3000 "${ropts[@]}" >"$out" 2>&1 &
  local pid=$!
  netns_own "$pid"
  for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
  A "$IO_PROBE" send "$IFA" "$fam" "${sopts[@]}" >/dev/null
  wait "$pid" || true
  if grep -Eq "$expect" "$out"; then ok "$name: $(grep -E '^(ok|drop)' "$out" | head -1)"
  else bad "$name: wanted /$expect/, got: $(tr '\n' '|' <"$out")"; fi
}

recv_check v4-multicast v4 -- --src 192.0.2.1 --dst 224.0.0.18 --vrid 51 --prio 150 --vip 203.0.113.51 -- \
  '^ok src=192.0.2.1 dst=224.0.0.18 ttl=255 version=3 vrid=51 prio=150 int_cs=100 addrs=203.0.113.51'
recv_check v6-multicast v6 -- --src "$LLA" --dst ff02::12 --vrid 51 --vip 2001:db8:51::51 -- \
  "^ok src=$LLA dst=ff02::12 ttl=255 version=3 vrid=51 prio=100 int_cs=100 addrs=2001:db8:51::51"
recv_check v4-unicast v4 --unicast -- --src 192.0.2.1 --dst 192.0.2.2 --vrid 51 -- \
  '^ok src=192.0.2.1 dst=192.0.2.2 ttl=255 version=3 vrid=51'
recv_check v6-unicast v6 --unicast -- --src 2001:db8:51::1 --dst 2001:db8:51::2 --vrid 51 -- \
  '^ok src=2001:db8:51::1 dst=2001:db8:51::2 ttl=255 version=3 vrid=51'
recv_check v4-other-vrid v4 -- --src 192.0.2.1 --dst 224.0.0.18 --vrid 52 -- \
  '^ok src=192.0.2.1 dst=224.0.0.18 ttl=255 version=3 vrid=52'
recv_check v2-auth v4 -- --src 192.0.2.1 --dst 224.0.0.18 --vrid 53 --version 2 --auth secret --int-cs 100 -- \
  '^ok .*ttl=255 version=2 vrid=53 .*auth_type=1 auth=secret'

# The socket filter: an off-link advert (TTL/hop limit 1) and a datagram
# longer than any advert (5000 bytes, fragmented on the wire) never reach the
# reader; the valid advert sent after them is the first thing it reads.
cat >"$TMP/hostile.py" <<'EOF'
import socket, sys
fam, dst, ifname = sys.argv[1], sys.argv[2], sys.argv[3]
advert = bytes([0x31, 51, 200, 1, 0, 100, 0, 0]) + bytes(4 if fam == "v4" else 16)
if fam == "v4":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER: IP_PMTUDISC_DONT, fragment
    to = (dst, 0)
    def ttl(n):
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, n)
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    to = (dst, 0, 0, socket.if_nametoindex(ifname))
    def ttl(n):
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, n)
ttl(1)
s.sendto(advert, to)
ttl(255)
s.sendto(advert + bytes(5000), to)
EOF
filter_check() {  # filter_check FAMILY GROUP SRC VIP
  local out="$TMP/filter-$1.out"
  : >"$out"
  B timeout 10 "$IO_PROBE" recv "$IFB" "$1" --count 1 --timeout-ms 3000 >"$out" 2>&1 &
  local pid=$!
  netns_own "$pid"
  for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
  A timeout 5 /usr/bin/python3 "$TMP/hostile.py" "$1" "$2" "$IFA"
  A "$IO_PROBE" send "$IFA" "$1" --src "$3" --dst "$2" --vrid 51 --vip "$4" >/dev/null
  wait "$pid" || true
  if [[ $(grep -Em1 '^(ok|drop)' "$out") == "ok src=$3 dst=$2 ttl=255 "* ]]; then
    ok "$1 socket filter: TTL-1 and oversized datagrams not read, the advert is"
  else bad "$1 socket filter: the reader got: $(tr '\n' '|' <"$out")"; fi
}
filter_check v4 224.0.0.18 192.0.2.1 203.0.113.51
filter_check v6 ff02::12 "$LLA" 2001:db8:51::51

# Addresses: add with a label, see it in `ip addr`, remove (twice).
LABEL="${IFA}:v51"; LABEL=${LABEL:0:15}
A "$IO_PROBE" addr add "$IFA" 203.0.113.51/32 "$LABEL" >/dev/null
if A ip -4 -o addr show dev "$IFA" | grep -q "inet 203.0.113.51/32 .*$LABEL"; then ok "v4 VIP added with label $LABEL"
else bad "v4 VIP/label missing: $(A ip -4 -o addr show dev "$IFA")"; fi
if A "$IO_PROBE" addr list "$IFA" | grep -q "^203.0.113.51/32 label=$LABEL"; then ok "ListAddresses sees label"
else bad "ListAddresses: $(A "$IO_PROBE" addr list "$IFA" | tr '\n' '|')"; fi
A "$IO_PROBE" addr add "$IFA" 2001:db8:51::51/128 >/dev/null
if A ip -6 -o addr show dev "$IFA" | grep "2001:db8:51::51/128" | grep -q nodad &&
   ! A ip -6 -o addr show dev "$IFA" | grep "2001:db8:51::51/128" | grep -q tentative; then
  ok "v6 VIP added nodad, not tentative"
else bad "v6 VIP: $(A ip -6 -o addr show dev "$IFA" | tr '\n' '|')"; fi
if A ip -6 -o addr show dev "$IFA" | grep "2001:db8:51::51/128" | grep -q deprecated; then
  ok "v6 VIP added deprecated (never the kernel's choice of source)"
else bad "v6 VIP not deprecated: $(A ip -6 -o addr show dev "$IFA" | tr '\n' '|')"; fi
if A "$IO_PROBE" addr add "$IFA" 203.0.113.52/32 "wrong:label" >/dev/null 2>&1; then bad "bad label accepted"
else ok "label not starting with the interface name refused"; fi
A "$IO_PROBE" addr del "$IFA" 203.0.113.51/32 >/dev/null
A "$IO_PROBE" addr del "$IFA" 2001:db8:51::51/128 >/dev/null
if A ip -o addr show dev "$IFA" | grep -Eq '203.0.113.51|2001:db8:51::51'; then bad "VIPs not removed"
else ok "VIPs removed"; fi
if A "$IO_PROBE" addr del "$IFA" 203.0.113.51/32 >/dev/null && A "$IO_PROBE" addr del "$IFA" 2001:db8:51::51/128 >/dev/null; then
  ok "removing an absent address is not an error"
else bad "removing an absent address failed"; fi

# GARP / unsolicited NA: B has stale entries with a wrong MAC; after A
# announces, B's entries carry A's MAC.
B ip neigh replace 192.0.2.51 lladdr 02:00:00:00:00:99 dev "$IFB" nud stale
B ip -6 neigh replace 2001:db8:51::51 lladdr 02:00:00:00:00:99 dev "$IFB" nud stale
A "$IO_PROBE" addr add "$IFA" 192.0.2.51/32 "$LABEL" >/dev/null
A "$IO_PROBE" addr add "$IFA" 2001:db8:51::51/128 >/dev/null
sleep 1.1  # past neigh locktime (1 s) since the entries were written
B timeout 5 tcpdump -l -n -c 4 -i "$IFB" 'arp or icmp6[0] == 136' >"$TMP/tcpdump.out" 2>/dev/null &
TPID=$!; netns_own "$TPID"
sleep 1
A "$IO_PROBE" announce "$IFA" 192.0.2.51 2001:db8:51::51 --count 2 >/dev/null
wait "$TPID" || true
sleep 0.2
if B ip neigh show 192.0.2.51 dev "$IFB" | grep -q "lladdr $MACA"; then ok "GARP: peer learned $MACA for 192.0.2.51"
else bad "GARP: $(B ip neigh show 192.0.2.51 dev "$IFB")"; fi
if B ip -6 neigh show 2001:db8:51::51 dev "$IFB" | grep -q "lladdr $MACA"; then ok "NA: peer learned $MACA for 2001:db8:51::51"
else bad "NA: $(B ip -6 neigh show 2001:db8:51::51 dev "$IFB")"; fi
echo "  tcpdump on peer: $(tr '\n' '|' <"$TMP/tcpdump.out")"
A "$IO_PROBE" addr del "$IFA" 192.0.2.51/32 >/dev/null
A "$IO_PROBE" addr del "$IFA" 2001:db8:51::51/128 >/dev/null

# keepalived interop: its adverts (v2 multicast with PASS, v3 IPv6
# multicast) decoded by our receiver.
if command -v keepalived >/dev/null; then
  mkdir -p "$TMP/ka"
  cat >"$TMP/ka/keepalived.conf" <<CONF
global_defs {
  router_id ${P}
  enable_script_security
}
vrrp_instance V4 {
  state MASTER
  interface $IFA
  virtual_router_id 61
  priority 200
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass kapass
  }
  virtual_ipaddress {
    203.0.113.61/32
  }
}
vrrp_instance V6 {
  state MASTER
  version 3
  interface $IFA
  virtual_router_id 62
  priority 200
  advert_int 1
  virtual_ipaddress {
    2001:db8:62::62/128
  }
}
CONF
  B timeout 15 "$IO_PROBE" recv "$IFB" v4 --count 2 --timeout-ms 8000 >"$TMP/ka4.out" 2>&1 &
  R4=$!; netns_own "$R4"
  B timeout 15 "$IO_PROBE" recv "$IFB" v6 --count 2 --timeout-ms 8000 >"$TMP/ka6.out" 2>&1 &
  R6=$!; netns_own "$R6"
  sleep 0.3
  # Started without the A wrapper (a shell function, whose background copy
  # is a subshell): $! must be keepalived's own PID for the kill to reach it.
  ip netns exec "$NSA" keepalived -n -l -D -f "$TMP/ka/keepalived.conf" -p "$TMP/ka/k.pid" -r "$TMP/ka/vrrp.pid" \
    -c "$TMP/ka/chk.pid" >"$TMP/ka/log" 2>&1 &
  KPID=$!; netns_own "$KPID"
  wait "$R4" || true
  wait "$R6" || true
  # The other way: our adverts, with a higher priority, make keepalived back off.
  B "$IO_PROBE" send "$IFB" v4 --src 192.0.2.2 --dst 224.0.0.18 --vrid 61 --prio 250 \
    --version 2 --auth kapass --int-cs 100 --vip 203.0.113.61 --count 3 >/dev/null
  B "$IO_PROBE" send "$IFB" v6 --src "$LLB" --dst ff02::12 --vrid 62 --prio 250 \
    --vip 2001:db8:62::62 --count 3 >/dev/null
  for _ in $(seq 20); do
    (($(grep -c 'with higher priority 250' "$TMP/ka/log") >= 2)) && break; sleep 0.1
  done
  kill -TERM "$KPID" 2>/dev/null || true
  wait "$KPID" 2>/dev/null || true
  # keepalived's VRRP child ends with its parent; wait (bounded) until it has.
  for _ in $(seq 50); do pgrep -f -- "-f $TMP/ka/keepalived.conf" >/dev/null || break; sleep 0.1; done
  if grep -Eq '^ok src=192.0.2.1 dst=224.0.0.18 ttl=255 version=2 vrid=61 prio=200 int_cs=100 addrs=203.0.113.61 auth_type=1 auth=kapass' "$TMP/ka4.out"; then
    ok "keepalived v2: $(grep '^ok' "$TMP/ka4.out" | head -1)"
  else bad "keepalived v2: $(tr '\n' '|' <"$TMP/ka4.out") log: $(tail -5 "$TMP/ka/log" | tr '\n' '|')"; fi
  if grep -Eq "^ok src=$LLA dst=ff02::12 ttl=255 version=3 vrid=62 prio=200 int_cs=100 addrs=2001:db8:62::62" "$TMP/ka6.out"; then
    ok "keepalived v3/IPv6: $(grep '^ok' "$TMP/ka6.out" | head -1)"
  else bad "keepalived v3/IPv6: $(tr '\n' '|' <"$TMP/ka6.out") log: $(tail -5 "$TMP/ka/log" | tr '\n' '|')"; fi
  for inst in V4 V6; do
    # Not "(init)": that one is keepalived's start-up.
    if grep -q "($inst) Master received advert from .* with higher priority 250" "$TMP/ka/log" &&
       grep -q "($inst) Entering BACKUP STATE$" "$TMP/ka/log"; then
      ok "keepalived $inst: $(grep "($inst) Master received advert" "$TMP/ka/log" | grep -o -m1 "Master received.*") -> BACKUP"
    else bad "keepalived $inst did not take our adverts: $(grep "($inst)" "$TMP/ka/log" | tail -4 | tr '\n' '|')"; fi
  done
else
  echo "SKIP: keepalived not installed"
fi

if ((FAILS)); then echo "$FAILS FAILED"; exit 1; fi
echo "ALL PASSED"
