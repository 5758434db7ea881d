/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Tunnel forwarding (forward: tunnel; docs/tunnel-design.md): direct routing
 * with a wrapper. The real is chosen exactly as for DR (connection table,
 * persistence, Maglev); the packet is then grown in front of its IP header
 * by an outer IP header (IPIP: IPv4 in IPv4, IPv6 in IPv6) or an outer IP
 * and UDP header (GUE variant 1: the inner IP header straight after UDP),
 * from the service's entry in the map tunnels, and sent to the real's next
 * hop. A packet that would not fit the tunnel's mtu once wrapped is never
 * sent: the client gets ICMP frag-needed / packet-too-big from the VIP (DF
 * or IPv6), or it is dropped (IPv4 without DF). A SYN's MSS is lowered so
 * that the connection's segments fit. */
#ifndef XLB_BPF_TUNNEL_H
#define XLB_BPF_TUNNEL_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "csum.h"
#include "flood.h"
#include "forward.h"
#include "hash.h"
#include "icmp.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"
#include "trace.h"

#define XLB_TUN_TTL 64
#define XLB_IP_DF 0x4000
#define XLB_IPPROTO_IPIP 4
#define XLB_IPPROTO_IPV6 41
#define XLB_IPV6_MIN_MTU 1280
/* GUE source port: IANA's dynamic range, from the flow hash (the kernel's
 * udp_flow_src_port does the same over its local port range). */
#define XLB_GUE_SPORT_BASE 0xc000
#define XLB_GUE_SPORT_MASK 0x3fff
#define XLB_TCPOPT_MSS 2
#define XLB_TCP_MAX_OPTION_BYTES 40
/* What an ICMP error built here quotes of the packet: its first 84 (IPv4:
 * IP header + 64) or 104 (IPv6: 40 + 64) bytes. Fixed sizes: the checksum
 * loop has constant bounds, and a packet too big is always longer. */
#define XLB_TOO_BIG_QUOTE4 84
#define XLB_TOO_BIG_QUOTE6 104
#define XLB_TOS_INTERNETWORK_CONTROL 0xc0 /* as the kernel's ICMP errors */

/* Sum of `words` 16-bit words at `p` (already bounds-checked). */
static __always_inline __u32 csum_words(const void *p, int words)
{
	const __u16 *w = p;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The IPv6 pseudo-header sum (RFC 8200 8.1) of an upper-layer packet. */
static __always_inline __u32 csum_pseudo6(const __be32 *src, const __be32 *dst, __u32 len,
					  __u8 proto)
{
	return csum_words(src, 8) + csum_words(dst, 8) + bpf_htons(len) + bpf_htons(proto);
}

/* Lowers the MSS option of a TCP SYN to t->mss, with its checksum (Linux
 * writes MSS first: found at once in practice). No MSS option: nothing (the
 * defaults, 536 / 1220, fit). */
static __always_inline void tunnel_clamp_mss(struct tcphdr *tcp, void *data_end,
					     const struct xlb_tunnel *t, struct xlb_trace *tr)
{
	if ((void *)(tcp + 1) > data_end)
		return;
	__u32 opts_len = tcp->doff * 4 - sizeof(*tcp); /* parse checked doff >= 5 */
	__u8 *opts = (void *)(tcp + 1);
	/* Byte by byte at constant offsets, skipping the bodies of other
	 * options: a variable offset would be tracked exactly by the verifier,
	 * which then walks every combination of option lengths. */
	__u32 skip = 0;
#pragma unroll
	for (int i = 0; i < XLB_TCP_MAX_OPTION_BYTES; i++) {
		if (skip) {
			skip--;
			continue;
		}
		if (i >= opts_len || (void *)(opts + i + 2) > data_end)
			return;
		__u8 kind = opts[i];
		if (kind == 0) /* end of options */
			return;
		if (kind == 1) /* NOP */
			continue;
		__u8 len = opts[i + 1];
		if (len < 2)
			return;
		if (kind == XLB_TCPOPT_MSS) {
			if (len != 4 || i + 4 > opts_len || (void *)(opts + i + 4) > data_end)
				return;
			__be16 *value = (void *)(opts + i + 2);
			if (bpf_ntohs(*value) <= t->mss)
				return;
			__be16 old = *value, new = bpf_htons(t->mss);
			/* At an odd offset the value's bytes fall in two
			 * checksum words: its contribution is byte-swapped. */
			__u16 o16 = old, n16 = new;
			if (i & 1) {
				o16 = __builtin_bswap16(o16);
				n16 = __builtin_bswap16(n16);
			}
			tcp->check = csum_apply(tcp->check, csum_delta(&o16, &n16, 1));
			*value = new;
			count_global(tr, XLB_STAT_TUN_MSS_CLAMPED);
			return;
		}
		skip = len - 1;
	}
}

/* What the packet path (xlb_xdp) hands the wrapping program (xlb_tunnel)
 * across the tail call, in tunnel_scratch: the tail call keeps only ctx. */
struct tunnel_args {
	struct xlb_flow_key flow; /* the client's flow (an ICMP error's: the one it quotes) */
	__u32 service_id;
	__u32 real_id;
	__u32 l3_off;             /* from the frame's start to its IP header: 14 or 18 */
	__u8 proto;               /* the packet's own protocol (ICMP for an error) */
	__u8 tcp_flags;
	__u8 was_trace;           /* the frame is a trace (bpf/trace.h) */
	__u8 new_flow;            /* for the service's and real's counters */
	__u32 bytes;              /* the frame's length as it came in */
};

/* Neither is pinned (dataplane/program.cc lists them as the program's own):
 * slot 0 of tunnel_progs holds xlb_tunnel, filled by the loader; the
 * scratch is per CPU, written just before the tail call on the same CPU
 * (XDP runs to its end there), so one entry serves. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tunnel_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tunnel_args);
} tunnel_scratch SEC(".maps");

/* A tunnel flow's packet that cannot be wrapped: dropped and counted. */
static __always_inline int tunnel_encap_failed(struct xlb_trace *tr)
{
	count_global(tr, XLB_STAT_TUN_ENCAP_FAILED);
	count_global(tr, XLB_STAT_DROPPED);
	return XDP_DROP;
}

/* Replaces the frame (too big to be wrapped) by ICMP frag-needed (IPv4) or
 * packet-too-big (IPv6) from the VIP to the client, quoting its start and
 * advertising the largest inner packet the tunnel takes; back out of the
 * interface it came in, to the hop it came from. */
static __always_inline int tunnel_too_big(struct xdp_md *ctx, const struct tunnel_args *a,
					  struct xlb_trace *tr,
					  const struct xlb_tunnel *t, __u32 overhead,
					  __u32 l2_len, __u32 l3_len)
{
	int v6 = a->flow.family == XLB_FAMILY_V6;
	__u32 quote = v6 ? XLB_TOO_BIG_QUOTE6 : XLB_TOO_BIG_QUOTE4;
	__u32 mtu = t->mtu - overhead;
	if (v6 && mtu < XLB_IPV6_MIN_MTU)
		mtu = XLB_IPV6_MIN_MTU;
	if (l3_len <= quote || window_full(FLOOD_WINDOW_ICMP, XLB_ICMP_RATE_DEFAULT,
					   bpf_ktime_get_coarse_ns(), tr)) {
		count_global(tr, l3_len <= quote ? XLB_STAT_TUN_TOO_BIG_DROPPED
						       : XLB_STAT_TUN_TOO_BIG_LIMITED);
		count_global(tr, XLB_STAT_DROPPED);
		return XDP_DROP;
	}
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int trim = (int)(l2_len + quote) - (int)(data_end - data);
	__u32 grow = (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) + sizeof(struct icmp_hdr);
	if (bpf_xdp_adjust_tail(ctx, trim) || bpf_xdp_adjust_head(ctx, -(int)grow)) {
		return tunnel_encap_failed(trace_moved(ctx, a->was_trace));
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	tr = trace_moved(ctx, a->was_trace);
	/* Ethernet (and VLAN tag) from where the frame began, MACs swapped. */
	struct ethhdr *eth = data;
	struct ethhdr *old = data + grow;
	if (data + 18 > data_end || (void *)old + 18 > data_end)
		return XDP_DROP;
	__builtin_memcpy((void *)eth + 12, (void *)old + 12, 6);
	__builtin_memcpy(eth->h_dest, old->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old->h_dest, ETH_ALEN);
	void *l3 = data + (l2_len == 18 ? 18 : 14);
	if (v6) {
		struct ipv6hdr *ip6 = l3;
		struct icmp_hdr *icmp = (void *)(ip6 + 1);
		if ((void *)icmp + sizeof(*icmp) + XLB_TOO_BIG_QUOTE6 > data_end)
			return XDP_DROP;
		__u32 len = sizeof(*icmp) + XLB_TOO_BIG_QUOTE6;
		*(__be32 *)ip6 = bpf_htonl(0x60000000 | (XLB_TOS_INTERNETWORK_CONTROL << 20));
		ip6->payload_len = bpf_htons(len);
		ip6->nexthdr = IPPROTO_ICMPV6;
		ip6->hop_limit = XLB_TUN_TTL;
		__builtin_memcpy(&ip6->saddr, a->flow.dst, 16);
		__builtin_memcpy(&ip6->daddr, a->flow.src, 16);
		icmp->type = XLB_ICMPV6_PKT_TOOBIG;
		icmp->code = 0;
		icmp->checksum = 0;
		icmp->rest = bpf_htonl(mtu);
		__u32 sum = csum_pseudo6(a->flow.dst, a->flow.src, len, IPPROTO_ICMPV6) +
			    csum_words(icmp, len / 2);
		icmp->checksum = ~csum_fold(sum);
	} else {
		struct iphdr *ip = l3;
		struct icmp_hdr *icmp = (void *)(ip + 1);
		if ((void *)icmp + sizeof(*icmp) + XLB_TOO_BIG_QUOTE4 > data_end)
			return XDP_DROP;
		__u32 len = sizeof(*icmp) + XLB_TOO_BIG_QUOTE4;
		*(__u8 *)ip = 0x45;
		ip->tos = XLB_TOS_INTERNETWORK_CONTROL;
		ip->tot_len = bpf_htons(sizeof(*ip) + len);
		ip->id = 0;
		ip->frag_off = 0;
		ip->ttl = XLB_TUN_TTL;
		ip->protocol = IPPROTO_ICMP;
		ip->check = 0;
		ip->saddr = a->flow.dst[0];
		ip->daddr = a->flow.src[0];
		ip->check = ~csum_fold(csum_words(ip, sizeof(*ip) / 2));
		icmp->type = XLB_ICMP_DEST_UNREACH;
		icmp->code = XLB_ICMP_FRAG_NEEDED;
		icmp->checksum = 0;
		icmp->rest = bpf_htonl(mtu & 0xffff);
		icmp->checksum = ~csum_fold(csum_words(icmp, len / 2));
	}
	count_global(tr, XLB_STAT_TUN_TOO_BIG);
	count_global(tr, XLB_STAT_TX);
	if (tr)
		tr->out_ifindex = ctx->ingress_ifindex;
	return XDP_TX;
}

/* Wraps the frame for real a->real_id of tunnel service a->service_id and
 * sends it to the real's next hop; counts the traffic as the DR path does.
 * Runs in its own program (xlb_tunnel, reached by a tail call), with a stack
 * and a verification of its own: inlined into the packet path the two
 * together passed BPF's 512 bytes of stack and its instruction limit. */
static __always_inline int xlb_tunnel_forward(struct xdp_md *ctx, const struct tunnel_args *a)
{
	struct xlb_trace *tr = trace_moved(ctx, a->was_trace);
	trace_flag(tr, XLB_TRACE_F_TUNNEL);
	__u32 service_id = a->service_id, real_id = a->real_id;
	struct xlb_tunnel *t = bpf_map_lookup_elem(&tunnels, &service_id);
	struct xlb_real *real = bpf_map_lookup_elem(&reals, &real_id);
	/* overhead 0: the entry was never written (the control plane writes
	 * it before it flags the service). */
	if (!t || !real || t->overhead == 0 || real->family != a->flow.family) {
		return tunnel_encap_failed(tr);
	}
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int v6 = a->flow.family == XLB_FAMILY_V6;
	int gue = t->flags & XLB_TUN_F_GUE;
	/* From the family and the flag, not t->overhead: a constant-sized
	 * growth, whatever the map says. */
	__u32 overhead = (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)) +
			 (gue ? sizeof(struct udphdr) : 0);
	__u32 l2_len = a->l3_off == 18 ? 18 : 14;
	void *l3 = data + l2_len, *l4;
	__u32 l3_len, tos;
	int df;
	if (v6) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		tos = (bpf_ntohl(*(__be32 *)ip6) >> 20) & 0xff;
		df = 1; /* routers never fragment IPv6 */
		l4 = ip6 + 1;
	} else {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		l3_len = bpf_ntohs(ip->tot_len);
		tos = ip->tos;
		df = !!(ip->frag_off & bpf_htons(XLB_IP_DF));
		l4 = l3 + ip->ihl * 4;
	}
	int is_icmp = a->proto == IPPROTO_ICMP || a->proto == IPPROTO_ICMPV6;
	/* mtu 0: not configured, no limit. */
	if (t->mtu && l3_len + overhead > t->mtu) {
		if (df && !is_icmp) /* no ICMP error about an ICMP error */
			return tunnel_too_big(ctx, a, tr, t, overhead, l2_len, l3_len);
		count_global(tr, XLB_STAT_TUN_TOO_BIG_DROPPED);
		count_global(tr, XLB_STAT_DROPPED);
		return XDP_DROP;
	}
	/* No next hop: dropped, not passed up (the inner packet would be
	 * delivered locally on a VRRP master, the VIP being local). */
	struct nexthop nh;
	if (!real_nexthop(ctx, &a->flow, real, &nh)) {
		count_global(tr, XLB_STAT_NO_ROUTE);
		count_global(tr, XLB_STAT_DROPPED);
		return XDP_DROP;
	}
	if ((t->flags & XLB_TUN_F_MSS_CLAMP) && a->proto == IPPROTO_TCP &&
	    (a->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN)
		tunnel_clamp_mss(l4, data_end, t, tr);
	__u32 hash = hash_flow(&a->flow);
	__be32 hash_be = bpf_htonl(hash);
	if (bpf_xdp_adjust_head(ctx, -(int)overhead)) {
		/* Not enough headroom: test_run and every driver reserve 256. */
		return tunnel_encap_failed(trace_moved(ctx, a->was_trace));
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	tr = trace_moved(ctx, a->was_trace);
	/* Ethernet: the frame's own type and VLAN tag; send_to writes the MACs. */
	void *old = data + overhead;
	if (data + 18 > data_end || old + 18 > data_end)
		return XDP_DROP;
	__builtin_memcpy(data, old, 18);
	void *outer = data + l2_len;
	if (v6) {
		struct ipv6hdr *ip6 = outer;
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		/* Flow label from the hash (RFC 6438): ECMP spreads flows. */
		*(__be32 *)ip6 = bpf_htonl(0x60000000 | (tos << 20) | (hash & 0xfffff));
		ip6->payload_len = bpf_htons(l3_len + (gue ? sizeof(struct udphdr) : 0));
		ip6->nexthdr = gue ? IPPROTO_UDP : XLB_IPPROTO_IPV6;
		ip6->hop_limit = XLB_TUN_TTL;
		__be32 *src = ip6->saddr.in6_u.u6_addr32;
#pragma unroll
		for (int i = 0; i < 4; i++)
			src[i] = t->src[i] | (hash_be & t->src_hostmask[i]);
		__builtin_memcpy(&ip6->daddr, real->addr, 16);
		if (gue) {
			struct udphdr *udp = (void *)(ip6 + 1);
			struct ipv6hdr *inner = (void *)(udp + 1);
			if ((void *)(inner + 1) > data_end)
				return XDP_DROP;
			__u32 ulen = sizeof(*udp) + l3_len;
			udp->source = bpf_htons(XLB_GUE_SPORT_BASE | (hash & XLB_GUE_SPORT_MASK));
			udp->dest = t->gue_port;
			udp->len = bpf_htons(ulen);
			udp->check = 0;
			/* IPv6 UDP needs a checksum (RFC 6936: zero only where the
			 * receiver allows it). Computed without reading the
			 * payload: a valid inner segment sums to the complement of
			 * its pseudo-header's sum. */
			__u32 inner_pseudo = csum_pseudo6(inner->saddr.in6_u.u6_addr32,
							  inner->daddr.in6_u.u6_addr32,
							  bpf_ntohs(inner->payload_len), inner->nexthdr);
			__u32 sum = csum_pseudo6(ip6->saddr.in6_u.u6_addr32,
						 ip6->daddr.in6_u.u6_addr32, ulen, IPPROTO_UDP) +
				    csum_words(udp, sizeof(*udp) / 2) +
				    csum_words(inner, sizeof(*inner) / 2) +
				    (__u16)~csum_fold(inner_pseudo);
			__u16 check = ~csum_fold(sum);
			udp->check = check ? check : 0xffff;
		}
	} else {
		struct iphdr *ip = outer;
		if ((void *)(ip + 1) > data_end)
			return XDP_DROP;
		*(__u8 *)ip = 0x45;
		ip->tos = tos; /* DSCP and ECN (RFC 6040 normal mode) */
		ip->tot_len = bpf_htons(l3_len + overhead);
		ip->id = 0;    /* atomic datagram (RFC 6864) */
		ip->frag_off = bpf_htons(XLB_IP_DF);
		ip->ttl = XLB_TUN_TTL;
		ip->protocol = gue ? IPPROTO_UDP : XLB_IPPROTO_IPIP;
		ip->check = 0;
		ip->saddr = t->src[0] | (hash_be & t->src_hostmask[0]);
		ip->daddr = real->addr[0];
		ip->check = ~csum_fold(csum_words(ip, sizeof(*ip) / 2));
		if (gue) {
			struct udphdr *udp = (void *)(ip + 1);
			if ((void *)(udp + 1) > data_end)
				return XDP_DROP;
			udp->source = bpf_htons(XLB_GUE_SPORT_BASE | (hash & XLB_GUE_SPORT_MASK));
			udp->dest = t->gue_port;
			udp->len = bpf_htons(sizeof(*udp) + l3_len);
			udp->check = 0; /* none (RFC 768): fou and GUE take it for IPv4 */
		}
	}
	int verdict = send_to(ctx, tr, &nh);
	if (verdict == XDP_TX || verdict == XDP_REDIRECT) {
		if (is_icmp)
			count_global(tr, XLB_STAT_ICMP_FORWARDED);
		else if (!tr) {
			count_traffic(&service_stats, service_id, a->bytes, a->new_flow);
			count_traffic(&real_stats, real_id, a->bytes, a->new_flow);
		}
	}
	return verdict;
}

#endif /* XLB_BPF_TUNNEL_H */
