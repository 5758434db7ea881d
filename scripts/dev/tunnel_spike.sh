#!/bin/bash
# Spike for docs/tunnel-design.md: what this kernel does for the director side
# of tunnel forwarding. Two namespaces on a veth: A (client/router side,
# 192.0.2.1, an XDP_PASS program so that XDP_TX frames are delivered) and D
# (director, 192.0.2.2, the spike XDP program below). Measures:
#  1. bpf_xdp_adjust_head(-N) + XDP_TX on veth for N = 20 28 40 48 128 192 216 224 256,
#     and what A receives (tcpdump);
#  2. bpf_check_mtu and bpf_fib_lookup (routed destination, gateway with/without
#     a neighbour entry, tot_len over the link MTU and over a route's mtu);
#  3. whether D's kernel accepts a packet from a VIP that is local on D
#     (src 203.0.113.10 on D's lo -> 192.0.2.2), accept_local 0 and 1, v4 and v6:
#     the way an answer to a health probe sent through the tunnel comes back.
# Run as root: scripts/dev/tunnel_spike.sh. Prints the figures; removes its
# namespaces and files on exit (trap). Nothing of the project is built.
set -euo pipefail
P=tunsp$$
A=$P-a D=$P-d
W=$(mktemp -d /tmp/tunspike.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$D" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
GROWS=(20 28 40 48 128 192 216 224 256)

cat >"$W/spike.bpf.c" <<'C'
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define AF_INET 2
/* slot i (0..8): adjust_head result for GROWS[i]; 10..: check_mtu, fib lookups */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __s64);
} tunspike_res SEC(".maps");
static __always_inline void put(__u32 k, __s64 v)
{
	__s64 *p = bpf_map_lookup_elem(&tunspike_res, &k);
	if (p)
		*p = v;
}
static const int grows[9] = {20, 28, 40, 48, 128, 192, 216, 224, 256};
static __always_inline void fib(struct xdp_md *ctx, __u32 slot, __be32 src, __u32 dst,
				__u16 tot_len)
{
	struct bpf_fib_lookup f = {};
	f.family = AF_INET;
	f.l4_protocol = IPPROTO_UDP;
	f.ipv4_src = src;
	f.ipv4_dst = bpf_htonl(dst);
	f.ifindex = ctx->ingress_ifindex;
	f.tot_len = tot_len;
	long rc = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
	put(slot, rc);
	put(slot + 1, f.ifindex);
	put(slot + 2, f.mtu_result);
	put(slot + 3, ((__s64)f.dmac[3] << 16) | (f.dmac[4] << 8) | f.dmac[5]);
	put(slot + 4, bpf_ntohl(f.ipv4_dst)); /* the gateway it resolved */
}
/* IPv4 frag-needed to the sender, from the address it sent to, for a frame
 * over 1500 - 20 (an IPIP overhead): trims to Ethernet + IP + 64, grows by
 * IP + ICMP, swaps MACs, XDP_TX. Checksums with bpf_csum_diff over packet
 * memory. Slot 50: 1 built, 2 small (passed), -1 adjust failed. */
#define QUOTE (20 + 64)
static __always_inline int too_big(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (bpf_ntohs(ip->tot_len) + 20 <= 1500 || !(ip->frag_off & bpf_htons(0x4000))) {
		put(50, 2);
		return XDP_PASS;
	}
	__u8 mac[12];
	__builtin_memcpy(mac, data, 12);
	int len = end - data;
	if (bpf_xdp_adjust_tail(ctx, 14 + QUOTE - len) || bpf_xdp_adjust_head(ctx, -28)) {
		put(50, -1);
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + 14 + 28 + QUOTE > end)
		return XDP_DROP;
	struct ethhdr *eth = data;
	__builtin_memcpy(eth->h_dest, mac + 6, 6);
	__builtin_memcpy(eth->h_source, mac, 6);
	eth->h_proto = bpf_htons(ETH_P_IP);
	struct iphdr *o = (void *)(eth + 1);
	struct iphdr *quoted = (void *)o + 28;
	__u8 *icmp = (void *)(o + 1);
	o->version = 4; o->ihl = 5; o->tos = 0xc0; o->id = 0; o->frag_off = 0; o->ttl = 64;
	o->protocol = IPPROTO_ICMP; o->tot_len = bpf_htons(28 + QUOTE);
	o->saddr = quoted->daddr; o->daddr = quoted->saddr; o->check = 0;
	icmp[0] = 3; icmp[1] = 4; icmp[2] = 0; icmp[3] = 0; icmp[4] = 0; icmp[5] = 0;
	*(__be16 *)(icmp + 6) = bpf_htons(1500 - 20);
	__s64 c = bpf_csum_diff(0, 0, (void *)o, 20, 0);
	c = (c & 0xffff) + (c >> 16); c = (c & 0xffff) + (c >> 16);
	o->check = ~c;
	c = bpf_csum_diff(0, 0, (void *)icmp, 8 + QUOTE, 0);
	c = (c & 0xffff) + (c >> 16); c = (c & 0xffff) + (c >> 16);
	*(__u16 *)(icmp + 2) = ~c;
	put(50, 1);
	return XDP_TX;
}
SEC("xdp")
int spike(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	__u32 i = bpf_ntohs(udp->dest) - 9000;
	if (i == 10)
		return too_big(ctx);
	if (i >= 9)
		return XDP_PASS;
	int grow = grows[i];
	__be32 me = ip->daddr, client = ip->saddr;
	__u16 inner_len = bpf_ntohs(ip->tot_len);
	if (i == 0) {
		__u32 mtu = 0;
		put(10, bpf_check_mtu(ctx, 0, &mtu, 20, 0));
		put(11, mtu);
		mtu = 0;
		put(12, bpf_check_mtu(ctx, 0, &mtu, 1500, 0));
		put(13, mtu);
		/* 198.51.100.7 via 192.0.2.254 (neighbour known), small and over 1500 */
		fib(ctx, 20, me, 0xc6336407, 1480);
		fib(ctx, 25, me, 0xc6336407, 1520);
		/* 198.51.100.200 via 192.0.2.254, route mtu 1400 */
		fib(ctx, 30, me, 0xc63364c8, 1420);
		/* 198.51.100.70 via 192.0.2.254, route mtu lock 1400 */
		fib(ctx, 40, me, 0xc6336446, 1420);
		/* 203.0.113.7 via 192.0.2.253 (no neighbour entry) */
		fib(ctx, 35, me, 0xcb007107, 100);
	}
	__u8 mac[12];
	__builtin_memcpy(mac, eth, 12);
	long rc = bpf_xdp_adjust_head(ctx, -grow);
	put(i, rc);
	if (rc)
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	/* back to A: dst = old src, src = old dst */
	__builtin_memcpy(eth->h_dest, mac + 6, 6);
	__builtin_memcpy(eth->h_source, mac, 6);
	if (grow == 20 || grow == 28) {
		struct iphdr *o = (void *)(eth + 1);
		if ((void *)(o + 1) > end)
			return XDP_DROP;
		eth->h_proto = bpf_htons(ETH_P_IP);
		o->version = 4; o->ihl = 5; o->tos = 0; o->id = 0;
		o->frag_off = bpf_htons(0x4000); o->ttl = 64;
		o->protocol = grow == 20 ? IPPROTO_IPIP : IPPROTO_UDP;
		o->tot_len = bpf_htons(inner_len + grow);
		o->saddr = me; o->daddr = client; o->check = 0;
		__u32 s = 0; __u16 *w = (void *)o;
#pragma unroll
		for (int k = 0; k < 10; k++) s += w[k];
		s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16);
		o->check = ~s;
		if (grow == 28) {
			struct udphdr *u = (void *)(o + 1);
			if ((void *)(u + 1) > end)
				return XDP_DROP;
			u->source = bpf_htons(40000); u->dest = bpf_htons(6080);
			u->len = bpf_htons(inner_len + 8); u->check = 0;
		}
		return XDP_TX;
	}
	/* anything else: an IPv6 ethertype with zeroed headroom (only its size matters) */
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	return XDP_TX;
}
SEC("xdp")
int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
C
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu \
  -c "$W/spike.bpf.c" -o "$W/spike.o"

ip netns add "$A"; ip netns add "$D"
ip link add "$P-x" netns "$A" type veth peer "$P-y" netns "$D"
ip -n "$A" link set "$P-x" name eth0; ip -n "$D" link set "$P-y" name eth0
for ns in "$A" "$D"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
ip -n "$A" addr add 192.0.2.1/24 dev eth0; ip -n "$D" addr add 192.0.2.2/24 dev eth0
ip -n "$A" addr add 2001:db8:1::1/64 dev eth0 nodad; ip -n "$D" addr add 2001:db8:1::2/64 dev eth0 nodad
ip -n "$D" addr add 203.0.113.10/32 dev lo; ip -n "$D" addr add 2001:db8:100::10/128 dev lo
ip -n "$D" route add 198.51.100.0/24 via 192.0.2.254
ip -n "$D" route add 198.51.100.128/25 via 192.0.2.254 mtu 1400
ip -n "$D" route add 203.0.113.0/25 via 192.0.2.253
ip -n "$D" route add 198.51.100.64/26 via 192.0.2.254 mtu lock 1400
ip -n "$D" neigh replace 192.0.2.254 lladdr 02:00:00:00:00:fe dev eth0 nud permanent
ethtool -K "$P-x" tx off >/dev/null 2>&1 || ip netns exec "$A" ethtool -K eth0 tx off >/dev/null
ip -n "$A" link set eth0 xdpdrv obj "$W/spike.o" sec xdp/pass 2>/dev/null ||
  ip -n "$A" link set eth0 xdpdrv obj "$W/spike.o" program pass
ip -n "$D" link set eth0 xdpdrv obj "$W/spike.o" program spike
DMAC=$(ip -n "$D" -j link show eth0 | jq -r '.[0].address')
AMAC=$(ip -n "$A" -j link show eth0 | jq -r '.[0].address')

echo "== 1. adjust_head + XDP_TX on veth (what A receives)"
ip netns exec "$A" timeout 8 tcpdump -i eth0 -nn -e -c 9 "ether src $DMAC and not arp and not icmp and not icmp6" \
  >"$W/tcpdump.txt" 2>/dev/null & PIDS+=($!)
sleep 1  # tcpdump has no "ready" signal; its capture starts within this
ip netns exec "$A" ping -c1 -W1 192.0.2.2 >/dev/null
for i in "${!GROWS[@]}"; do
  ip netns exec "$A" bash -c "echo hello-$i >/dev/udp/192.0.2.2/$((9000 + i))"
done
wait "${PIDS[-1]}" || true
RES=$(bpftool map dump name tunspike_res -j)
val() { jq -r --argjson k "$1" '.[] | (.formatted // .) | select(.key == $k) | .value' <<<"$RES"; }
for i in "${!GROWS[@]}"; do echo "adjust_head(-${GROWS[$i]}) = $(val "$i")"; done
echo "A received (the frame sent was 50 bytes: Ethernet 14, IPv4 20, UDP 8, 8 of data):"
sed -E 's/^[0-9:.]+ //' "$W/tcpdump.txt" | cut -c1-150

echo "-- a full-size inner packet (IPv4 1500 bytes) grown by 20 and 48, XDP_TX to a veth peer of MTU 1500, then 1600"
big() {  # what A receives of one 1500-byte IPv4 packet to port 9000 (+20) and 9003 (+48)
  ip netns exec "$A" timeout 3 tcpdump -i eth0 -nn -c 2 "ether src $DMAC and not arp and not icmp and not icmp6" \
    >"$W/big.txt" 2>/dev/null & local t=$!
  sleep 1  # as above
  for port in 9000 9003; do
    ip netns exec "$A" python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IP, 10, 2); s.sendto(b'x'*1472, ('192.0.2.2', $port))"
  done
  wait $t || true
  echo "A's MTU $(ip -n "$A" -j link show eth0 | jq '.[0].mtu'): $(grep -c . "$W/big.txt") of 2 received: $(sed -E 's/^[0-9:.]+ //' "$W/big.txt" | cut -c1-60 | tr '\n' ';')"
}
big
ip -n "$A" link set eth0 mtu 1600
big

echo "== 2. bpf_check_mtu, bpf_fib_lookup (rc: 0 success, 5 forwarding disabled, 7 no neighbour, 8 frag needed)"
echo "check_mtu(len_diff 20) = $(val 10) mtu $(val 11); check_mtu(len_diff 1500) = $(val 12) mtu $(val 13)"
ifx=$(ip -n "$D" -j link show eth0 | jq '.[0].ifindex')
print_fib() {
  for s in 20 25 30 40 35; do
    case $s in 20) w="198.51.100.7 tot_len 1480";; 25) w="198.51.100.7 tot_len 1520";;
      30) w="198.51.100.200 (route mtu 1400) tot_len 1420";; 40) w="198.51.100.70 (mtu lock 1400) tot_len 1420";; 35) w="203.0.113.7 via .253 (no neigh)";; esac
    local nh; nh=$(val $((s + 4)))
    printf 'fib %-45s rc %s ifindex %s (eth0 %s) mtu_result %s dmac ..:%06x ipv4_dst after %s\n' "$w" \
      "$(val $s)" "$(val $((s + 1)))" "$ifx" "$(val $((s + 2)))" "$(val $((s + 3)))" \
      "$((nh >> 24 & 255)).$((nh >> 16 & 255)).$((nh >> 8 & 255)).$((nh & 255))"
  done
}
echo "-- net.ipv4.ip_forward=$(ip netns exec "$D" sysctl -n net.ipv4.ip_forward) in D"
print_fib
ip netns exec "$D" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$A" bash -c "echo again >/dev/udp/192.0.2.2/9000"
RES=$(bpftool map dump name tunspike_res -j)
echo "-- net.ipv4.ip_forward=1 in D"
print_fib

echo "== 3. an answer from a VIP local on D, to D's own address"
cat >"$W/recv.py" <<'PY'
import socket, sys
fam, proto, want = (socket.AF_INET, socket.IPPROTO_ICMP, 0) if sys.argv[1] == "4" else (socket.AF_INET6, socket.IPPROTO_ICMPV6, 129)
s = socket.socket(fam, socket.SOCK_RAW, proto); s.settimeout(2)
try:
    while True:
        b, a = s.recvfrom(2000)
        data = b[20:] if fam == socket.AF_INET else b
        if data[0] == want and data[4:6] == b"\x12\x34":
            print("received from", a[0]); break
except socket.timeout:
    print("nothing in 2 s")
PY
cat >"$W/send.py" <<'PY'
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s & 0xffff) + (s >> 16)
    return ~(s + (s >> 16)) & 0xffff
fam, amac, dmac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), bytes.fromhex(sys.argv[3].replace(":", ""))
if fam == "4":
    src, dst = socket.inet_aton("203.0.113.10"), socket.inet_aton("192.0.2.2")
    icmp = struct.pack("!BBHHH", 0, 0, 0, 0x1234, 1) + b"probe"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = dmac + amac + b"\x08\x00" + ip + icmp
else:
    src, dst = socket.inet_pton(socket.AF_INET6, "2001:db8:100::10"), socket.inet_pton(socket.AF_INET6, "2001:db8:1::2")
    icmp = struct.pack("!BBHHH", 129, 0, 0, 0x1234, 1) + b"probe"
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(icmp), 58, 64, src, dst)
    frame = dmac + amac + b"\x86\xdd" + ip + icmp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("eth0", 0)); s.send(frame)
PY
for al in 0 1; do
  ip netns exec "$D" sysctl -qw net.ipv4.conf.all.accept_local=$al net.ipv4.conf.eth0.accept_local=$al
  for fam in 4 6; do
    ip netns exec "$D" python3 "$W/recv.py" $fam >"$W/recv.txt" & rp=$!
    sleep 0.3  # the raw socket is open well within this
    ip netns exec "$A" python3 "$W/send.py" $fam "$AMAC" "$DMAC"
    wait $rp || true
    echo "accept_local=$al IPv$fam echo reply from the local VIP: $(cat "$W/recv.txt")"
  done
done
cat >"$W/recv_packet.py" <<'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); s.bind(("eth0", 0)); s.settimeout(2)
try:
    while True:
        f = s.recv(2000)
        ip = f[14:]
        if ip[9] == 1 and ip[20] == 0 and ip[24:26] == b"\x12\x34":
            print("received from", socket.inet_ntoa(ip[12:16])); break
except socket.timeout:
    print("nothing in 2 s")
PY
ip netns exec "$D" sysctl -qw net.ipv4.conf.all.accept_local=0 net.ipv4.conf.eth0.accept_local=0
ip netns exec "$D" python3 "$W/recv_packet.py" >"$W/recv.txt" & rp=$!
sleep 0.3  # as above
ip netns exec "$A" python3 "$W/send.py" 4 "$AMAC" "$DMAC"
wait $rp || true
echo "accept_local=0 IPv4 echo reply from the local VIP, read on an AF_PACKET socket: $(cat "$W/recv.txt")"

echo "== 4. ICMP frag-needed built in XDP (mtu 1480 = 1500 - IPIP's 20) for a 1500-byte DF datagram"
ip netns exec "$D" sysctl -qw net.ipv4.conf.all.accept_local=0 net.ipv4.conf.eth0.accept_local=0
cat >"$W/df.py" <<'PY'
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
s.connect(("192.0.2.2", 9010))
print("IP_MTU before", s.getsockopt(socket.IPPROTO_IP, 14), end="; ")
s.send(b"x" * 1472)
import time
for _ in range(20):  # up to 1 s for the ICMP to be processed
    time.sleep(0.05)
    if s.getsockopt(socket.IPPROTO_IP, 14) != 1500: break
print("after", s.getsockopt(socket.IPPROTO_IP, 14), end="; ")
try:
    s.send(b"x" * 1472); print("second send of 1472 bytes: sent")
except OSError as e:
    print("second send of 1472 bytes:", errno.errorcode[e.errno])
PY
ip -n "$A" link set eth0 mtu 1500
echo "client (A): $(ip netns exec "$A" python3 "$W/df.py")"
RES=$(bpftool map dump name tunspike_res -j)
echo "XDP too_big result $(val 50) (1 = built and sent); A: $(ip -n "$A" route get 192.0.2.2 | tr -s ' ' | head -2 | tr '\n' ' ')"

echo "== 5. a health probe: inner ICMP echo 192.0.2.1 -> VIP, encapsulated by A's kernel (raw IPIP socket, UDP socket for GUE)"
cat >"$W/probe.py" <<'PY'
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s & 0xffff) + (s >> 16)
    return ~(s + (s >> 16)) & 0xffff
icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 7) + b"xlb-probe"
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0,
                 socket.inet_aton("192.0.2.1"), socket.inet_aton("203.0.113.10"))
inner = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + icmp
if sys.argv[1] == "ipip":
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IPIP)
    s.sendto(inner, ("192.0.2.2", 0))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(inner, ("192.0.2.2", 6080))
print(len(inner), "inner bytes sent")
PY
for kind in ipip gue; do
  ip netns exec "$D" timeout 3 tcpdump -i eth0 -nn -c 1 -v "ether src $AMAC and (ip proto 4 or udp port 6080)" \
    >"$W/probe.txt" 2>/dev/null & t=$!
  sleep 1  # as above
  ip netns exec "$A" python3 "$W/probe.py" $kind >/dev/null
  wait $t || true
  echo "$kind: D sees: $(tr -s ' \n' ' ' <"$W/probe.txt" | cut -c1-230)"
done

echo "rp_filter in D: all=$(ip netns exec "$D" sysctl -n net.ipv4.conf.all.rp_filter) eth0=$(ip netns exec "$D" sysctl -n net.ipv4.conf.eth0.rp_filter)"
