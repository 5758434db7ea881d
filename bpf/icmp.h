/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP "fragmentation needed" and ICMPv6 "packet too big" about a VIP flow.
 * In direct routing the real answers the client itself, so a router that
 * finds the real's reply too big reports it to the VIP, i.e. to the director;
 * the error must reach the real that sent the reply, or path-MTU discovery
 * through the director breaks. */
#ifndef XLB_BPF_ICMP_H
#define XLB_BPF_ICMP_H

#include "parse.h"

#define XLB_ICMP_DEST_UNREACH 3
#define XLB_ICMP_FRAG_NEEDED 4
#define XLB_ICMPV6_PKT_TOOBIG 2

/* Ports of the quoted packet's transport header (only 8 bytes are quoted). */
static __always_inline int quoted_ports(struct xlb_flow_key *f, void *l4, void *data_end)
{
	__be16 *ports = l4;
	if ((void *)(ports + 2) > data_end)
		return 0;
	/* The quoted packet went real(VIP) -> client: swap to client -> VIP. */
	f->sport = ports[1];
	f->dport = ports[0];
	return f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP;
}

/* Fills `f` with the client -> VIP flow an ICMP error for a VIP is about.
 * Returns 0 when it is not a PMTU error about a TCP/UDP flow of this VIP. */
static __always_inline int icmp_quoted_flow(const struct packet *p, void *data_end,
					    struct xlb_flow_key *f)
{
	f->family = p->flow.family;
	if (p->flow.family == XLB_FAMILY_V4) {
		struct icmp_hdr *icmp = p->l4;
		if ((void *)(icmp + 1) > data_end)
			return 0;
		if (icmp->type != XLB_ICMP_DEST_UNREACH || icmp->code != XLB_ICMP_FRAG_NEEDED)
			return 0;
		struct iphdr *in = (void *)(icmp + 1);
		if ((void *)(in + 1) > data_end)
			return 0;
		__u32 hlen = in->ihl * 4;
		if (hlen < sizeof(*in) || hlen > 60 || in->saddr != p->flow.dst[0])
			return 0;
		f->proto = in->protocol;
		f->src[0] = in->daddr;
		f->dst[0] = in->saddr;
		return quoted_ports(f, (void *)in + hlen, data_end);
	}
	struct icmp_hdr *icmp6 = p->l4;
	if ((void *)(icmp6 + 1) > data_end || icmp6->type != XLB_ICMPV6_PKT_TOOBIG)
		return 0;
	struct ipv6hdr *in6 = (void *)(icmp6 + 1);
	if ((void *)(in6 + 1) > data_end)
		return 0;
	copy_addr6(f->src, &in6->daddr);
	copy_addr6(f->dst, &in6->saddr);
	if (f->dst[0] != p->flow.dst[0] || f->dst[1] != p->flow.dst[1] ||
	    f->dst[2] != p->flow.dst[2] || f->dst[3] != p->flow.dst[3])
		return 0;
	f->proto = in6->nexthdr;
	return quoted_ports(f, in6 + 1, data_end);
}

#endif /* XLB_BPF_ICMP_H */
