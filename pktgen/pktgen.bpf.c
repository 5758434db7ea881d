// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xlb-pktgen's XDP engine: run with BPF_PROG_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, each run sends one frame out of the device
 * given as ingress (XDP_TX), and makes it the next flow's.
 *
 * It cannot trust what the frame holds. The kernel copies data_in into a
 * page of its page pool only when it creates the page; a recycled page
 * holds whatever its last user left in it (net/bpf/test_run.c: reset_ctx
 * resets the pointers, not the bytes). Its last user may be this program
 * (the previous flow), or whoever received the frame: a director that
 * rewrote the MACs, NAT that rewrote the destination, a kernel that
 * decremented the TTL. So every run first restores the headers of flow 0's
 * frame from `header`, then writes flow i's source address and port and
 * updates the checksums incrementally from flow 0's. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "csum.h"
#include "pktgen_abi.h"

/* Set by the loader before load; constants to the verifier. */
const volatile struct xlb_pktgen_flows flows = {.addr_count = 1, .port_count = 1};
const volatile __u8 header[XLB_PKTGEN_HEADER_MAX] = {};

/* How many frames this CPU has sent: the flow index. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pktgen_seq SEC(".maps");

static __always_inline __u16 *field(void *data, void *data_end, __u16 off, int words)
{
	__u16 *p = data + off;
	if ((void *)(p + words) > data_end)
		return 0;
	return p;
}

SEC("xdp")
int xlb_pktgen_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&pktgen_seq, &zero);
	if (!seq)
		return XDP_ABORTED;
	__u64 i = (*seq)++;

	__u16 *out = field(data, data_end, 0, flows.header_len / 2);
	if (!out)
		return XDP_ABORTED;
	const volatile __u16 *in = (const volatile __u16 *)header;
#pragma unroll
	for (int w = 0; w < XLB_PKTGEN_HEADER_MAX / 2; w++)
		if (w < flows.header_len / 2)
			out[w] = in[w];

	__u16 *saddr = field(data, data_end, flows.saddr_off, 2);
	__u16 *sport = field(data, data_end, flows.sport_off, 1);
	__u16 *l4_csum = field(data, data_end, flows.l4_csum_off, 1);
	if (!saddr || !sport || !l4_csum)
		return XDP_ABORTED;
	__u32 addr = bpf_htonl(xlb_pktgen_flow_addr(&flows, i));
	__u16 port = bpf_htons(xlb_pktgen_flow_port(&flows, i));
	__u32 addr_delta = csum_delta(saddr, &addr, 2);
	__u32 port_delta = csum_delta(sport, &port, 1);
	if (flows.ip_csum_off) {
		__u16 *ip_csum = field(data, data_end, flows.ip_csum_off, 1);
		if (!ip_csum)
			return XDP_ABORTED;
		*ip_csum = csum_apply(*ip_csum, addr_delta);
	}
	__u16 check = csum_apply(*l4_csum, addr_delta + port_delta);
	if (flows.udp && check == 0)
		check = 0xffff;
	*l4_csum = check;
	__builtin_memcpy(saddr, &addr, 4);
	*sport = port;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
