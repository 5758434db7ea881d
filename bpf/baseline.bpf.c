// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The floor for measurements, not part of the product: xlb_floor_tx does the
 * least a forwarder can do (swap MACs, XDP_TX); benchmarks report their
 * figures as a ratio to it. xlb_floor_redirect is the same for a forwarder
 * between interfaces (the throughput benchmark's floor). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xlb_floor_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/* xlb_floor_redirect: each frame, untouched, out of the next of the
 * floor_port_count interfaces in floor_ports (round robin, per CPU). */
const volatile __u32 floor_port_count = 1;

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} floor_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} floor_next SEC(".maps");

SEC("xdp")
int xlb_floor_redirect(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u32 *next = bpf_map_lookup_elem(&floor_next, &zero);
	if (!next)
		return XDP_ABORTED;
	__u32 slot = *next;
	*next = slot + 1 >= floor_port_count ? 0 : slot + 1;
	return bpf_redirect_map(&floor_ports, slot, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
