/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Traces (xlbctl trace): a frame that xlbd runs through this very program
 * with BPF_PROG_TEST_RUN, to show which real a flow goes to, must not change
 * what it shows. It carries struct xlb_trace (xlb_abi.h) as its XDP
 * metadata; the program then takes every decision as for any frame (same
 * code, same verdict, same rewrite) and skips every write to a map: no
 * connection, reply or persistence entry, no timestamp, no counter. The
 * counters it would have bumped and how it chose are written into the
 * metadata, which test_run hands back with the frame.
 *
 * Why real traffic cannot use this: a NIC's frame starts with no metadata
 * (data_meta == data), so the test is one compare, and false. Only an
 * earlier XDP program (a libxdp dispatcher chain) could put metadata there,
 * and only with this load's random key is it taken as a trace (no accident).
 * Even a forged trace is forwarded exactly as without it (the trace guards
 * writes, never a decision): such a program can only make xlb forget the
 * flows it marks, which is less than it could do by dropping them. */
#ifndef XLB_BPF_TRACE_H
#define XLB_BPF_TRACE_H

#include <linux/bpf.h>
#include "xlb_abi.h"

_Static_assert(sizeof(struct xlb_trace) == 32, "struct xlb_trace is the XDP metadata (<= 32)");
_Static_assert(XLB_STAT__COUNT <= 32, "a trace has one bit per global stat");

/* Set by the loader before load (dataplane::Program), random per load. */
const volatile __u32 xlb_trace_key = 0;

/* The frame's trace record, or NULL for every real frame. */
static __always_inline struct xlb_trace *trace_request(struct xdp_md *ctx)
{
	struct xlb_trace *tr = (void *)(long)ctx->data_meta;
	if ((void *)(tr + 1) > (void *)(long)ctx->data)
		return NULL;
	if (tr->key != xlb_trace_key || xlb_trace_key == 0)
		return NULL;
	tr->flags = XLB_TRACE_F_SEEN;
	tr->reasons = 0;
	tr->service_id = 0;
	tr->real_id = 0;
	tr->maglev_slot = 0;
	tr->out_ifindex = 0;
	tr->pad = 0;
	return tr;
}

/* The trace record again after bpf_xdp_adjust_head or _tail: the kernel
 * moves the metadata with the data, and every pointer taken before is gone.
 * `was_trace`: the frame was a trace (its earlier pointer was not NULL). */
static __always_inline struct xlb_trace *trace_moved(struct xdp_md *ctx, int was_trace)
{
	struct xlb_trace *tr = (void *)(long)ctx->data_meta;
	if (!was_trace || (void *)(tr + 1) > (void *)(long)ctx->data)
		return NULL;
	return tr;
}

static __always_inline void trace_flag(struct xlb_trace *tr, __u32 flag)
{
	if (tr)
		tr->flags |= flag;
}

#endif /* XLB_BPF_TRACE_H */
