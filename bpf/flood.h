/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Floods of new flows. Packets from spoofed sources (SYNs, but also ACKs or
 * UDP datagrams of flows nobody opened) each make table entries that are
 * never used again: each costs an insert (with an eviction once the table, an
 * LRU, is full: about half the director's cost for such a packet) and pushes
 * live flows out. Past a rate of new flows per CPU, a new flow makes no
 * entry in any table (connections, NAT replies, persistence):
 *  - direct routing: Maglev sends it to its real all the same, and the flow
 *    is recorded at a later packet once the rate allows, which Maglev sends
 *    to the same real unless the service's reals changed in between (as
 *    Katran does under a SYN flood);
 *  - NAT: dropped and counted. Its reply needs the reply entry, and a NAT
 *    flow whose entries were not made cannot be translated back: forwarding
 *    it would only make the real answer into nothing. The client retries.
 * Established flows (connection-table hits) are untouched and pay nothing. */
#ifndef XLB_BPF_FLOOD_H
#define XLB_BPF_FLOOD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb_abi.h"
#include "select.h"

/* New flows per CPU and second beyond which they make no entry; 0: always
 * make one. Set by the loader before load (dataplane::ProgramOptions). */
const volatile __u32 xlb_flood_rate = XLB_FLOOD_RATE_DEFAULT;

/* Per CPU: the events (new flows; ICMP errors sent) of the current
 * one-second window. Not pinned: a new program starts counting afresh. */
struct flood_window {
	__u64 start_ns;
	__u64 flows;
};

enum flood_window_slot {
	FLOOD_WINDOW_FLOWS = 0,   /* new flows that would make entries */
	FLOOD_WINDOW_ICMP = 1,    /* ICMP errors built here (bpf/tunnel.h) */
	FLOOD_WINDOW__COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOOD_WINDOW__COUNT);
	__type(key, __u32);
	__type(value, struct flood_window);
} flood_windows SEC(".maps");

/* Counts an event of window `slot`; true when this CPU has seen more than
 * `rate` of them in the current second (rate 0: never). A trace counts
 * nothing: it tells what the next event on this CPU would meet. */
static __always_inline int window_full(__u32 slot, __u32 rate, __u64 now,
				       const struct xlb_trace *tr)
{
	if (rate == 0)
		return 0;
	struct flood_window *w = bpf_map_lookup_elem(&flood_windows, &slot);
	if (!w)
		return 0;
	if (tr)
		return now - w->start_ns < NSEC_PER_SEC && w->flows + 1 > rate;
	if (now - w->start_ns >= NSEC_PER_SEC) {
		w->start_ns = now;
		w->flows = 0;
	}
	return ++w->flows > rate;
}

/* True when this CPU has seen more than xlb_flood_rate new flows that would
 * make entries in the current second. */
static __always_inline int flood(__u64 now, const struct xlb_trace *tr)
{
	return window_full(FLOOD_WINDOW_FLOWS, xlb_flood_rate, now, tr);
}

#endif /* XLB_BPF_FLOOD_H */
