// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP_PASS, for the lab: attached to the peer of a veth that xlb sends into
 * with XDP_TX/XDP_REDIRECT, because a native-mode veth delivers such frames
 * only when its peer has an XDP program (see PLATFORM.md). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xlb_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
