/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Forwarding a frame out: to a real (direct routing leaves the frame as it
 * is but for its Ethernet addresses; NAT has rewritten it before), or to a
 * client (NAT replies). */
#ifndef XLB_BPF_FORWARD_H
#define XLB_BPF_FORWARD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "parse.h"
#include "stats.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

struct nexthop {
	__u32 ifindex;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};

/* The kernel's next hop from `src` to `dst` (FIB and neighbour table).
 * Returns 0 when there is none, or its MAC is not known yet. */
static __always_inline int fib_nexthop(struct xdp_md *ctx, __u8 family, __u8 proto,
				       const __be32 *src, const __be32 *dst, struct nexthop *nh)
{
	struct bpf_fib_lookup fib = {};
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = proto;
	if (family == XLB_FAMILY_V4) {
		fib.family = AF_INET;
		fib.ipv4_src = src[0];
		fib.ipv4_dst = dst[0];
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	return 1;
}

/* Sends the frame to `nh`: XDP_TX out of the interface it came in,
 * XDP_REDIRECT out of another one. When that interface is not one the
 * program may redirect to, the frame goes up the stack with its Ethernet
 * header untouched, and is counted. bpf_redirect_map() is asked before the
 * header is rewritten (the redirect happens only after the program returns):
 * its own lookup says whether the interface is in tx_ports, so a redirect
 * costs one devmap lookup, not two. */
static __always_inline int send_to(struct xdp_md *ctx, struct xlb_trace *tr,
				   const struct nexthop *nh)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	int same_if = nh->ifindex == ctx->ingress_ifindex;
	int verdict = XDP_TX;
	if (!same_if) {
		verdict = bpf_redirect_map(&tx_ports, nh->ifindex, XDP_PASS);
		if (verdict != XDP_REDIRECT) {
			count_global(tr, XLB_STAT_NO_ROUTE);
			return XDP_PASS;
		}
	}
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	count_global(tr, same_if ? XLB_STAT_TX : XLB_STAT_REDIRECT);
	if (tr)
		tr->out_ifindex = nh->ifindex;
	return verdict;
}

/* The next hop toward `real`: the one the control plane resolved, else the
 * kernel's. Returns 0 when neither is known. */
static __always_inline int real_nexthop(struct xdp_md *ctx, const struct xlb_flow_key *flow,
					const struct xlb_real *real, struct nexthop *nh)
{
	if (real->flags & XLB_REAL_F_NEXTHOP) {
		nh->ifindex = real->ifindex;
		__builtin_memcpy(nh->dmac, real->dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, real->smac, ETH_ALEN);
		return 1;
	}
	return fib_nexthop(ctx, real->family, flow->proto, flow->src, real->addr, nh);
}

/* Sends the frame to `real`, through real_nexthop. When it is not known the
 * frame goes up the stack (the kernel forwards a NAT packet itself) and is
 * counted. */
static __always_inline int forward_to_real(struct xdp_md *ctx, struct xlb_trace *tr,
					   const struct xlb_flow_key *flow,
					   const struct xlb_real *real)
{
	struct nexthop nh;
	if (!real_nexthop(ctx, flow, real, &nh)) {
		count_global(tr, XLB_STAT_NO_ROUTE);
		return XDP_PASS;
	}
	return send_to(ctx, tr, &nh);
}

#endif /* XLB_BPF_FORWARD_H */
