/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Whether a frame is addressed to this host, by the MAC of the interface it
 * came in on (iface_macs, written when xlb is attached). */
#ifndef XLB_BPF_IFACE_H
#define XLB_BPF_IFACE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include "xlb_abi.h"
#include "maps.h"

/* The slot of interface `ifindex`, NULL when it has none: from its home
 * slot on, up to a free slot (see struct xlb_iface). */
static __always_inline struct xlb_iface *lookup_iface(__u32 ifindex)
{
	__u32 slot = xlb_iface_slot(ifindex);
	for (int i = 0; i < XLB_MAX_IFACES; i++) {
		struct xlb_iface *e = bpf_map_lookup_elem(&iface_macs, &slot);
		if (!e || !e->ifindex)
			return NULL;
		if (e->ifindex == ifindex)
			return e;
		slot = (slot + 1) % XLB_MAX_IFACES;
	}
	return NULL;
}

/* Unicast to a MAC that is not the ingress interface's. Multicast and
 * broadcast frames are not another host's (the kernel takes them too). An
 * interface without a slot (one xlb was not attached to by the library, or
 * a BPF_PROG_TEST_RUN without one) keeps the behaviour from before this
 * check: every frame is taken as this host's. */
static __always_inline int for_another_host(struct xdp_md *ctx, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end || (eth->h_dest[0] & 1))
		return 0;
	struct xlb_iface *iface = lookup_iface(ctx->ingress_ifindex);
	if (!iface)
		return 0;
	return *(__u32 *)eth->h_dest != *(__u32 *)iface->mac ||
	       *(__u16 *)(eth->h_dest + 4) != *(__u16 *)(iface->mac + 4);
}

#endif /* XLB_BPF_IFACE_H */
