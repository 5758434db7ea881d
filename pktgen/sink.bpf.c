// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xlb-pktgen's sink: counts every frame that arrives, per interface, and
 * drops it (or passes it up, when the loader says so). On a veth it is also
 * the XDP program whose presence lets XDP_TX/XDP_REDIRECT frames from the
 * peer be delivered (PLATFORM.md). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "pktgen_abi.h"

const volatile __u32 verdict = XDP_DROP;

/* ifindex -> counters; the loader creates an entry for each interface it
 * attaches to, so the packet path only looks up. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XLB_PKTGEN_SINK_MAX_INTERFACES);
	__type(key, __u32);
	__type(value, struct xlb_pktgen_sink_count);
} sink_counts SEC(".maps");

SEC("xdp")
int xlb_pktgen_sink(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	struct xlb_pktgen_sink_count *c = bpf_map_lookup_elem(&sink_counts, &ifindex);
	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
