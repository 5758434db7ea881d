/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Direct-routing forwarding: the frame leaves unchanged but for its Ethernet
 * addresses, toward the real's MAC; the real has the VIP on its loopback. */
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

/* The next hop toward `real`: what the control plane resolved, else the
 * kernel's FIB and neighbour table. Returns 0 when it is not known yet. */
static __always_inline int real_nexthop(struct xdp_md *ctx, const struct xlb_flow_key *flow,
					const struct xlb_real *real, struct nexthop *nh)
{
	if (real->flags & XLB_REAL_F_NEXTHOP) {
		nh->ifindex = real->ifindex;
		__builtin_memcpy(nh->dmac, real->dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, real->smac, ETH_ALEN);
		return 1;
	}
	struct bpf_fib_lookup fib = {};
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = flow->proto;
	fib.sport = flow->sport;
	fib.dport = flow->dport;
	if (real->family == XLB_FAMILY_V4) {
		fib.family = AF_INET;
		fib.ipv4_src = flow->src[0];
		fib.ipv4_dst = real->addr[0];
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, flow->src, 16);
		__builtin_memcpy(fib.ipv6_dst, real->addr, 16);
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	return 1;
}

/* Sends the frame to the real: XDP_TX out of the interface it came in,
 * XDP_REDIRECT out of another one. When the next hop is unknown, or its
 * interface is not one the program may redirect to, the frame goes up the
 * stack untouched and is counted. */
static __always_inline int forward_dr(struct xdp_md *ctx, const struct xlb_flow_key *flow,
				      const struct xlb_real *real)
{
	struct nexthop nh;
	if (!real_nexthop(ctx, flow, real, &nh)) {
		count_global(XLB_STAT_NO_ROUTE);
		return XDP_PASS;
	}
	int same_if = nh.ifindex == ctx->ingress_ifindex;
	if (!same_if && !bpf_map_lookup_elem(&tx_ports, &nh.ifindex)) {
		count_global(XLB_STAT_NO_ROUTE);
		return XDP_PASS;
	}

	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh.smac, ETH_ALEN);
	if (same_if) {
		count_global(XLB_STAT_TX);
		return XDP_TX;
	}
	count_global(XLB_STAT_REDIRECT);
	return bpf_redirect_map(&tx_ports, nh.ifindex, 0);
}

#endif /* XLB_BPF_FORWARD_H */
