/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Incremental checksum update (RFC 1624: HC' = ~(~HC + ~m + m')), for the
 * fields NAT rewrites. A checksum that was wrong stays exactly as wrong. */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

#include <linux/types.h>

/* Sum of ~old + new over `words` 16-bit words (as they are in the packet:
 * one's-complement sums do not depend on byte order). */
static __always_inline __u32 csum_delta(const void *old, const void *new, int words)
{
	const __u16 *o = old, *n = new;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < words; i++)
		sum += (__u16)~o[i] + n[i];
	return sum;
}

static __always_inline __u16 csum_apply(__u16 check, __u32 delta)
{
	__u32 sum = (__u16)~check + delta;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* XLB_BPF_CSUM_H */
