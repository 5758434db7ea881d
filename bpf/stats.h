/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: plain increments, no atomics (each CPU owns its copy). */
#ifndef XLB_BPF_STATS_H
#define XLB_BPF_STATS_H

#include "maps.h"
#include "trace.h"

/* A trace (bpf/trace.h) records the reason instead of counting it. */
static __always_inline void count_global(struct xlb_trace *tr, __u32 reason)
{
	if (tr) {
		tr->reasons |= 1u << (reason & 31);
		return;
	}
	__u64 *v = bpf_map_lookup_elem(&global_stats, &reason);
	if (v)
		*v += 1;
}

/* Adds n to a global counter (not for traces: events they never make). */
static __always_inline void count_global_by(__u32 reason, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&global_stats, &reason);
	if (v)
		*v += n;
}

static __always_inline void count_traffic(void *map, __u32 id, __u64 bytes, int new_flow)
{
	struct xlb_counters *c = bpf_map_lookup_elem(map, &id);
	if (!c)
		return;
	c->packets += 1;
	c->bytes += bytes;
	c->new_flows += new_flow;
}

#endif /* XLB_BPF_STATS_H */
