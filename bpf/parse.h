/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing: Ethernet (one optional 802.1Q/802.1ad tag), IPv4 (any
 * header length), IPv6 (fixed header), TCP, UDP, and the ICMP errors that
 * quote a VIP flow. Every read is preceded by an explicit bounds check. */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "xlb_abi.h"

#define XLB_IP_MF 0x2000
#define XLB_IP_OFFSET 0x1FFF
#define XLB_IPV6_FRAGMENT 44

/* The first 8 bytes of ICMP and ICMPv6 (linux/icmp.h drags in libc). */
struct icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* What the parser found. */
enum parse_result {
	PARSE_FLOW,      /* TCP or UDP with complete headers: flow is filled in */
	PARSE_FRAGMENT,  /* IP fragment: flow has addresses and proto only */
	PARSE_ICMP,      /* ICMP / ICMPv6: l4 points at its header */
	PARSE_OTHER,     /* not ours to look at (ARP, other protocols, ext hdrs) */
	PARSE_MALFORMED, /* shorter than its own headers claim */
};

struct packet {
	struct xlb_flow_key flow;
	void *l3;            /* IPv4 or IPv6 header */
	void *l4;            /* transport header (or ICMP) */
	__u32 l4_len;        /* transport length from the IP header */
	__u8 tcp_flags;      /* TCP byte 13 (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) */
	struct xlb_trace *trace; /* NULL but for a trace (bpf/trace.h): then no writes */
};

#define XLB_TCP_FIN 0x01
#define XLB_TCP_SYN 0x02
#define XLB_TCP_RST 0x04
#define XLB_TCP_ACK 0x10

static __always_inline int parse_ports(struct packet *p, void *data_end)
{
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4;
		if ((void *)(tcp + 1) > data_end || p->l4_len < sizeof(*tcp))
			return PARSE_MALFORMED;
		__u32 hlen = tcp->doff * 4;
		if (hlen < sizeof(*tcp) || hlen > p->l4_len)
			return PARSE_MALFORMED;
		p->flow.sport = tcp->source;
		p->flow.dport = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		return PARSE_FLOW;
	}
	if (p->flow.proto == IPPROTO_UDP) {
		struct udphdr *udp = p->l4;
		if ((void *)(udp + 1) > data_end || p->l4_len < sizeof(*udp))
			return PARSE_MALFORMED;
		__u32 ulen = bpf_ntohs(udp->len);
		if (ulen < sizeof(*udp) || ulen > p->l4_len)
			return PARSE_MALFORMED;
		p->flow.sport = udp->source;
		p->flow.dport = udp->dest;
		return PARSE_FLOW;
	}
	return PARSE_OTHER;
}

static __always_inline int parse_ipv4(struct packet *p, void *data, void *data_end)
{
	struct iphdr *ip = data;
	if ((void *)(ip + 1) > data_end)
		return PARSE_MALFORMED;
	__u32 hlen = ip->ihl * 4;
	__u32 tot_len = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || hlen < sizeof(*ip) || tot_len < hlen)
		return PARSE_MALFORMED;
	/* The frame may carry Ethernet padding after tot_len, never less. */
	if (data + tot_len > data_end)
		return PARSE_MALFORMED;
	p->l3 = ip;
	p->l4 = data + hlen;
	p->l4_len = tot_len - hlen;
	p->flow.family = XLB_FAMILY_V4;
	p->flow.proto = ip->protocol;
	p->flow.src[0] = ip->saddr;
	p->flow.dst[0] = ip->daddr;
	if (ip->frag_off & bpf_htons(XLB_IP_MF | XLB_IP_OFFSET))
		return PARSE_FRAGMENT;
	if (ip->protocol == IPPROTO_ICMP)
		return PARSE_ICMP;
	return parse_ports(p, data_end);
}

static __always_inline void copy_addr6(__be32 *dst, const struct in6_addr *src)
{
	dst[0] = src->in6_u.u6_addr32[0];
	dst[1] = src->in6_u.u6_addr32[1];
	dst[2] = src->in6_u.u6_addr32[2];
	dst[3] = src->in6_u.u6_addr32[3];
}

static __always_inline int parse_ipv6(struct packet *p, void *data, void *data_end)
{
	struct ipv6hdr *ip6 = data;
	if ((void *)(ip6 + 1) > data_end)
		return PARSE_MALFORMED;
	__u32 plen = bpf_ntohs(ip6->payload_len);
	if (ip6->version != 6 || (void *)(ip6 + 1) + plen > data_end)
		return PARSE_MALFORMED;
	p->l3 = ip6;
	p->l4 = ip6 + 1;
	p->l4_len = plen;
	p->flow.family = XLB_FAMILY_V6;
	p->flow.proto = ip6->nexthdr;
	copy_addr6(p->flow.src, &ip6->saddr);
	copy_addr6(p->flow.dst, &ip6->daddr);
	if (ip6->nexthdr == XLB_IPV6_FRAGMENT)
		return PARSE_FRAGMENT;
	if (ip6->nexthdr == IPPROTO_ICMPV6)
		return PARSE_ICMP;
	/* Other extension headers go up unparsed (parse_ports says OTHER). */
	return parse_ports(p, data_end);
}

/* Parses one frame. On anything but PARSE_OTHER, p is filled as far as the
 * result says. */
static __always_inline int parse_packet(struct packet *p, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	__be16 proto = eth->h_proto;
	void *l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;
		if ((void *)(vlan + 1) > data_end)
			return PARSE_MALFORMED;
		proto = vlan->encap_proto;
		l3 = vlan + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(p, l3, data_end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(p, l3, data_end);
	return PARSE_OTHER; /* ARP, a second VLAN tag, anything else */
}

#endif /* XLB_BPF_PARSE_H */
