/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NAT (IPVS masquerading): a request's destination becomes the real's
 * address and port; the real's reply, which comes back through the director
 * (its gateway), gets the VIP and port back as its source. The translation
 * lives in two tables: the request's in conn_table, the reply's in
 * nat_replies. */
#ifndef XLB_BPF_NAT_H
#define XLB_BPF_NAT_H

#include "csum.h"
#include "maps.h"
#include "parse.h"
#include "forward.h"

/* Rewrites the destination (to_dst) or the source address and port of the
 * parsed packet, with its IPv4 header and TCP/UDP checksums. The parser
 * checked these bounds already; they are checked again for the verifier,
 * which does not tie the saved pointers to the family they were parsed as. */
static __always_inline void nat_rewrite(struct packet *p, void *data_end, int to_dst,
					const __be32 *addr, __be16 port)
{
	__u32 delta;
	if (p->flow.family == XLB_FAMILY_V4) {
		struct iphdr *ip = p->l3;
		if ((void *)(ip + 1) > data_end)
			return;
		__be32 *field = to_dst ? &ip->daddr : &ip->saddr;
		delta = csum_delta(field, addr, 2);
		*field = addr[0];
		ip->check = csum_apply(ip->check, delta);
	} else {
		struct ipv6hdr *ip6 = p->l3;
		if ((void *)(ip6 + 1) > data_end)
			return;
		__be32 *field = to_dst ? ip6->daddr.in6_u.u6_addr32 : ip6->saddr.in6_u.u6_addr32;
		delta = csum_delta(field, addr, 8);
		field[0] = addr[0];
		field[1] = addr[1];
		field[2] = addr[2];
		field[3] = addr[3];
	}
	__be16 *port_field;
	__u16 *check;
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4;
		if ((void *)(tcp + 1) > data_end)
			return;
		port_field = to_dst ? &tcp->dest : &tcp->source;
		check = &tcp->check;
	} else {
		struct udphdr *udp = p->l4;
		if ((void *)(udp + 1) > data_end)
			return;
		port_field = to_dst ? &udp->dest : &udp->source;
		check = &udp->check;
	}
	delta += csum_delta(port_field, &port, 1);
	*port_field = port;
	if (p->flow.proto == IPPROTO_UDP) {
		if (p->flow.family == XLB_FAMILY_V4 && *check == 0)
			return; /* IPv4 UDP without a checksum stays without */
		__u16 c = csum_apply(*check, delta);
		*check = c ? c : 0xffff; /* 0 means "none" in UDP */
		return;
	}
	*check = csum_apply(*check, delta);
}

/* The key of a NAT flow's reply entry: real -> client. */
static __always_inline void nat_reply_key(struct xlb_flow_key *key, const struct xlb_flow_key *flow,
					  const struct xlb_real *real, __be16 rport)
{
	key->src[0] = real->addr[0];
	key->src[1] = real->addr[1];
	key->src[2] = real->addr[2];
	key->src[3] = real->addr[3];
	key->dst[0] = flow->src[0];
	key->dst[1] = flow->src[1];
	key->dst[2] = flow->src[2];
	key->dst[3] = flow->src[3];
	key->sport = rport;
	key->dport = flow->sport;
	key->proto = flow->proto;
	key->family = flow->family;
}

/* The reply entry of the NAT flow `flow` recorded as `fwd`: its state, and
 * the VIP and port replies must come from; no next hop yet. */
static __always_inline void nat_reply_fill(struct xlb_nat_reply *reply,
					   const struct xlb_flow_key *flow,
					   const struct xlb_conn *fwd)
{
	reply->conn = *fwd;
	reply->conn.flags = fwd->flags & XLB_CONN_F_CLOSING;
	reply->vport = flow->dport;
	reply->vip[0] = flow->dst[0];
	reply->vip[1] = flow->dst[1];
	reply->vip[2] = flow->dst[2];
	reply->vip[3] = flow->dst[3];
}

/* The flow (client -> VIP) of a NAT reply entry, keyed by `rkey` (real ->
 * client): nat_reply_key backwards. */
static __always_inline void nat_forward_key(struct xlb_flow_key *key,
					     const struct xlb_flow_key *rkey,
					     const struct xlb_nat_reply *reply)
{
	key->src[0] = rkey->dst[0];
	key->src[1] = rkey->dst[1];
	key->src[2] = rkey->dst[2];
	key->src[3] = rkey->dst[3];
	key->dst[0] = reply->vip[0];
	key->dst[1] = reply->vip[1];
	key->dst[2] = reply->vip[2];
	key->dst[3] = reply->vip[3];
	key->sport = rkey->dport;
	key->dport = reply->vport;
	key->proto = rkey->proto;
	key->family = rkey->family;
}

/* The reply entry of a NAT flow, carrying the VIP. */
static __always_inline void nat_insert_reply(const struct packet *p, const struct xlb_conn *fwd,
					     const struct xlb_flow_key *key)
{
	if (p->trace)
		return; /* a trace writes nothing (bpf/trace.h) */
	struct xlb_nat_reply reply = {};
	nat_reply_fill(&reply, &p->flow, fwd);
	if (bpf_map_update_elem(&nat_replies, key, &reply, BPF_ANY) != 0)
		count_global(p->trace, XLB_STAT_NAT_REPLY_INSERT_FAILED);
}

/* A NAT flow's packet toward its real: its reply entry, which the LRU may
 * have evicted on its own (the two tables age apart), is made again, so the
 * flow's replies are translated from its next packet on. */
static __always_inline void nat_keep_reply(const struct packet *p, const struct xlb_conn *fwd,
					   const struct xlb_real *real, __be16 rport)
{
	struct xlb_flow_key key = {};
	nat_reply_key(&key, &p->flow, real, rport);
	if (bpf_map_lookup_elem(&nat_replies, &key))
		return;
	nat_insert_reply(p, fwd, &key);
	count_global(p->trace, XLB_STAT_NAT_REPLY_RESTORED);
}

/* From a NAT real's service port, yet matching no flow. */
static __always_inline int from_nat_real(const struct packet *p)
{
	struct xlb_endpoint_key key = {};
	key.addr[0] = p->flow.src[0];
	key.addr[1] = p->flow.src[1];
	key.addr[2] = p->flow.src[2];
	key.addr[3] = p->flow.src[3];
	key.port = p->flow.sport;
	key.proto = p->flow.proto;
	key.family = p->flow.family;
	return bpf_map_lookup_elem(&nat_reals, &key) != NULL;
}

/* The next hop toward the client of a reply entry: cached in the entry,
 * asked of the FIB again once a second (a reply's per-packet lookup would
 * cost as much as the rest of the reply path). */
static __always_inline int reply_nexthop(struct xdp_md *ctx, struct xlb_nat_reply *reply,
					 const struct packet *p, __u64 now, struct nexthop *nh)
{
	if (reply->nh_ifindex && now - reply->nh_checked_ns < XLB_NEXTHOP_REFRESH_NS) {
		nh->ifindex = reply->nh_ifindex;
		__builtin_memcpy(nh->dmac, reply->nh_dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, reply->nh_smac, ETH_ALEN);
		return 1;
	}
	int found = fib_nexthop(ctx, p->flow.family, p->flow.proto, reply->vip, p->flow.dst, nh);
	if (p->trace)
		return found; /* the cache is left as it is */
	if (!found) {
		reply->nh_ifindex = 0;
		return 0;
	}
	reply->nh_ifindex = nh->ifindex;
	__builtin_memcpy(reply->nh_dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(reply->nh_smac, nh->smac, ETH_ALEN);
	reply->nh_checked_ns = now;
	return 1;
}

#endif /* XLB_BPF_NAT_H */
