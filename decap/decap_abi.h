/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What xlb-decap's XDP program (xlb_decap.bpf.c) and its loader (decap.cc)
 * share: map keys and values, counters, defaults. The one definition. */
#ifndef XLB_DECAP_ABI_H
#define XLB_DECAP_ABI_H

#include <linux/types.h>

#define XLB_DECAP_MAX_VIPS 1024
#define XLB_DECAP_MAX_LOCALS 64
/* Katran's and GLB's GUE port. */
#define XLB_DECAP_GUE_PORT_DEFAULT 6080

#define XLB_DECAP_FAMILY_V4 4
#define XLB_DECAP_FAMILY_V6 6

/* An address in the VIP set (vips) or in the set of outer destinations that
 * are this real's (locals): 4 big-endian words, IPv4 in word 0 and the rest
 * zero, as in bpf/xlb_abi.h. */
struct xlb_decap_addr {
	__u32 family; /* XLB_DECAP_FAMILY_V4 / _V6 */
	__be32 addr[4];
};

/* The one entry of the config map. */
struct xlb_decap_config {
	__be16 gue_port; /* UDP destination port of GUE; 0: GUE off */
	__u16 pad;
};

/* Per-CPU counters (index into the counters map). */
enum xlb_decap_counter {
	XLB_DECAP_IPIP_V4 = 0, /* decapsulated IPIP, inner IPv4 (IPv4 in IPv4 or IPv6) */
	XLB_DECAP_IPIP_V6,     /* decapsulated IPIP, inner IPv6 (IPv6 in IPv6 or IPv4) */
	XLB_DECAP_GUE_V4,      /* decapsulated GUE, inner IPv4 */
	XLB_DECAP_GUE_V6,      /* decapsulated GUE, inner IPv6 */
	XLB_DECAP_PASSED,      /* not ours: passed to the kernel untouched */
	XLB_DECAP_NOT_VIP,     /* tunnelled to us, inner destination not a VIP: passed */
	XLB_DECAP_MALFORMED,   /* shorter than its headers claim, or an unsupported
			        * GUE header: passed when the outer IP is bad (the
			        * kernel drops it), dropped when the inner is */
	XLB_DECAP_COUNTERS,
};

#endif /* XLB_DECAP_ABI_H */
