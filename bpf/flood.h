/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* SYN floods. A SYN from a spoofed source never completes its handshake, so
 * the connection-table entry it makes is never used: it costs an insert
 * (with an eviction once the table, an LRU, is full: about half the
 * director's SYN rate) and fills the table with junk. Past a rate of
 * SYNs per CPU, a SYN for a direct-routing service makes no entry: Maglev
 * sends it to its real all the same, and its connection is recorded at its
 * next packet (the handshake's ACK), which Maglev sends to the same real
 * unless the service's reals changed in between (as Katran does under a
 * flood). A NAT service's SYN always makes its entries: the real's SYN-ACK
 * needs the reply half. */
#ifndef XLB_BPF_FLOOD_H
#define XLB_BPF_FLOOD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb_abi.h"
#include "select.h"

/* SYNs per CPU and second beyond which they make no entry; 0: always make
 * one. Set by the loader before load (dataplane::ProgramOptions). */
const volatile __u32 xlb_syn_flood_rate = XLB_SYN_FLOOD_RATE_DEFAULT;

/* Per CPU: the SYNs of the current one-second window. Not pinned: a new
 * program starts counting afresh. */
struct syn_window {
	__u64 start_ns;
	__u64 syns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syn_window);
} syn_windows SEC(".maps");

/* Counts a SYN that would make an entry; true when this CPU has seen more
 * than xlb_syn_flood_rate of them in the current second. */
static __always_inline int syn_flood(__u64 now)
{
	__u32 rate = xlb_syn_flood_rate;
	if (rate == 0)
		return 0;
	__u32 zero = 0;
	struct syn_window *w = bpf_map_lookup_elem(&syn_windows, &zero);
	if (!w)
		return 0;
	if (now - w->start_ns >= NSEC_PER_SEC) {
		w->start_ns = now;
		w->syns = 0;
	}
	return ++w->syns > rate;
}

#endif /* XLB_BPF_FLOOD_H */
