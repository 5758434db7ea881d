/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow events for the other directors (docs/sync-design.md): each new
 * connection-table entry and each entry's first FIN or RST becomes a struct
 * xlb_flow_event in the ring flow_events, which xlbd reads and sends to its
 * peers. Off unless the loader sets xlb_sync_mode: then the one test below
 * is on a constant and the verifier drops the rest.
 *
 * XLB_SYNC_BATCHED: events gather in a batch per CPU, sent as one ring
 * record when 16 are there (the ring's locking costs as much as a record of
 * one event, and dominates: 5-7 % of a new flow batched, 17-21 % per event,
 * measured by scripts/dev/sync_spike.sh); a periodic 1 ms timer pinned to the
 * CPU sends a partial batch, re-arming itself until 100 rounds found
 * nothing. The packet path (softirq, bottom halves off) and the timer's
 * callback (hrtimer softirq of the same CPU) never interleave on a batch.
 * XLB_SYNC_PER_FLOW: one record per event, where the kernel lacks
 * BPF_F_TIMER_CPU_PIN (before 6.7). A record the ring cannot take is dropped
 * and its events counted (XLB_STAT_SYNC_RING_FULL); forwarding goes on. */
#ifndef XLB_BPF_SYNC_H
#define XLB_BPF_SYNC_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb_abi.h"
#include "maps.h"
#include "stats.h"

#ifndef BPF_F_TIMER_CPU_PIN
#define BPF_F_TIMER_CPU_PIN (1ULL << 1) /* kernel 6.7; Debian 12's uapi header predates it */
#endif
#define XLB_SYNC_FLUSH_NS 1000000ull /* a partial batch waits at most this long */
#define XLB_SYNC_IDLE_ROUNDS 100     /* empty timer rounds before the timer stops */
#define XLB_CLOCK_MONOTONIC 1

/* enum xlb_sync_mode, set by the loader before load. */
const volatile __u32 xlb_sync_mode = XLB_SYNC_OFF;

/* One CPU's batch and its timer (an ARRAY slot per CPU: a PERCPU_ARRAY
 * cannot hold a bpf_timer). Not pinned: a new program starts with empty
 * batches (a partial batch of the one it replaced is lost). */
struct sync_stage {
	struct bpf_timer timer;
	__u32 n;     /* events in batch */
	__u32 armed; /* the timer runs */
	__u32 idle;  /* timer rounds in a row that found no event */
	__u32 ready; /* the timer is initialised */
	struct xlb_flow_event_batch batch;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256); /* the loader sets the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct sync_stage);
} sync_stages SEC(".maps");

/* Sends the first n events of the batch as one ring record. */
static __always_inline void sync_send(struct sync_stage *st, __u32 n)
{
	if (n == 0 || n > XLB_FLOW_EVENT_BATCH)
		return;
	st->batch.count = n;
	st->batch.cpu = bpf_get_smp_processor_id();
	__u64 size = __builtin_offsetof(struct xlb_flow_event_batch, ev) +
		     (__u64)n * sizeof(struct xlb_flow_event);
	/* The compiler makes the + an |, whose bound the verifier loses:
	 * bound it again where the verifier sees it. */
	asm volatile("" : "+r"(size));
	if (size > sizeof(st->batch))
		return;
	/* No wakeup: xlbd reads the ring on its own clock (every 2 ms). */
	long rc = bpf_ringbuf_output(&flow_events, &st->batch, size, BPF_RB_NO_WAKEUP);
	count_global_by(rc == 0 ? XLB_STAT_SYNC_EVENTS : XLB_STAT_SYNC_RING_FULL, n);
	st->n = 0;
}

static int sync_timer(void *map, __u32 *key, struct sync_stage *st)
{
	__u32 n = st->n;
	sync_send(st, n);
	st->idle = n ? 0 : st->idle + 1;
	if (st->idle < XLB_SYNC_IDLE_ROUNDS)
		bpf_timer_start(&st->timer, XLB_SYNC_FLUSH_NS, BPF_F_TIMER_CPU_PIN);
	else
		st->armed = 0;
	return 0;
}

/* An event about `flow` (client -> VIP) and its entry `conn`. A trace
 * (bpf/trace.h) writes no entry and emits nothing: callers skip it. */
static __always_inline void sync_emit(__u16 type, const struct xlb_flow_key *flow,
				      const struct xlb_conn *conn)
{
	if (xlb_sync_mode == XLB_SYNC_OFF)
		return;
	__u32 cpu = bpf_get_smp_processor_id();
	struct sync_stage *st = bpf_map_lookup_elem(&sync_stages, &cpu);
	if (!st)
		return;
	__u32 k = xlb_sync_mode == XLB_SYNC_BATCHED ? st->n : 0;
	if (k >= XLB_FLOW_EVENT_BATCH)
		k = 0;
	struct xlb_flow_event *e = &st->batch.ev[k];
	e->flow = *flow;
	e->service_id = conn->service_id;
	e->real_id = conn->real_id;
	e->real_gen = conn->real_gen;
	e->type = type;
	e->conn_flags = conn->flags;
	e->last_seen_ns = conn->last_seen_ns;
	if (xlb_sync_mode != XLB_SYNC_BATCHED) {
		sync_send(st, 1);
		return;
	}
	st->n = k + 1;
	if (st->n == XLB_FLOW_EVENT_BATCH)
		sync_send(st, XLB_FLOW_EVENT_BATCH);
	/* bpf_timer_start costs ~7 us here: only when the timer stopped. */
	if (!st->armed) {
		if (!st->ready) {
			bpf_timer_init(&st->timer, &sync_stages, XLB_CLOCK_MONOTONIC);
			bpf_timer_set_callback(&st->timer, sync_timer);
			st->ready = 1;
		}
		st->armed = 1;
		st->idle = 0;
		bpf_timer_start(&st->timer, XLB_SYNC_FLUSH_NS, BPF_F_TIMER_CPU_PIN);
	}
}

#endif /* XLB_BPF_SYNC_H */
