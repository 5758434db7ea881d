// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xlb's XDP program: forwards packets for virtual IPs to real servers and
 * hands everything else to the kernel unchanged. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb_abi.h"
#include "maps.h"
#include "parse.h"
#include "select.h"
#include "forward.h"
#include "icmp.h"
#include "stats.h"

static __always_inline int pass_up(void)
{
	count_global(XLB_STAT_PASSED);
	return XDP_PASS;
}

static __always_inline int handle_fragment(const struct packet *p)
{
	struct xlb_vip *vip = lookup_vip(p->flow.dst, p->flow.family);
	if (!vip)
		return pass_up();
	/* Non-first fragments carry no ports: there is no flow to follow.
	 * The kernel reassembles them, or the VIP's option drops them. */
	count_global(XLB_STAT_FRAGMENTS);
	if (vip->flags & XLB_VIP_F_DROP_FRAGMENTS) {
		count_global(XLB_STAT_DROPPED);
		return XDP_DROP;
	}
	return XDP_PASS;
}

static __always_inline int handle_icmp(struct xdp_md *ctx, const struct packet *p,
				       void *data_end)
{
	struct packet quoted = {};
	if (!lookup_vip(p->flow.dst, p->flow.family) ||
	    !icmp_quoted_flow(p, data_end, &quoted.flow))
		return pass_up();
	__u64 now = bpf_ktime_get_coarse_ns();
	__u32 real_id = 0, service_id = 0;
	struct xlb_real *real = conn_lookup(&quoted, now, &real_id, &service_id);
	if (!real) {
		/* Not in the table: the real Maglev gives the flow. */
		struct xlb_service *svc = lookup_service(&quoted.flow);
		if (svc)
			real = select_new(&quoted, svc, now, &real_id);
	}
	if (!real)
		return pass_up();
	int verdict = forward_dr(ctx, &quoted.flow, real);
	if (verdict != XDP_PASS)
		count_global(XLB_STAT_ICMP_FORWARDED);
	return verdict;
}

static __always_inline int handle_flow(struct xdp_md *ctx, const struct packet *p, __u64 bytes)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	__u32 real_id = 0, service_id = 0;
	int new_flow = 0;
	struct xlb_real *real = NULL;
	/* A SYN opens a new connection: it re-selects even over an old entry
	 * (a reused client port must not stick to a drained real). */
	int syn = (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	if (!syn)
		real = conn_lookup(p, now, &real_id, &service_id);
	if (real) {
		count_global(XLB_STAT_CONN_HIT);
	} else {
		struct xlb_service *svc = lookup_service(&p->flow);
		if (!svc)
			return pass_up();
		count_global(XLB_STAT_CONN_MISS);
		real = select_new(p, svc, now, &real_id);
		if (!real) {
			count_global(XLB_STAT_NO_REAL);
			count_global(XLB_STAT_DROPPED);
			return XDP_DROP;
		}
		conn_insert(p, svc, real_id, real->gen, now);
		service_id = svc->id;
		new_flow = 1;
	}
	int verdict = forward_dr(ctx, &p->flow, real);
	if (verdict == XDP_TX || verdict == XDP_REDIRECT) {
		count_traffic(&service_stats, service_id, bytes, new_flow);
		count_traffic(&real_stats, real_id, bytes, new_flow);
	}
	return verdict;
}

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet p = {};

	int parsed = parse_packet(&p, data, data_end);
	if (parsed == PARSE_MALFORMED) {
		count_global(XLB_STAT_MALFORMED);
		return XDP_DROP;
	}
	if (parsed == PARSE_OTHER || !maybe_vip(p.flow.dst))
		return pass_up();
	switch (parsed) {
	case PARSE_FRAGMENT:
		return handle_fragment(&p);
	case PARSE_ICMP:
		return handle_icmp(ctx, &p, data_end);
	}
	return handle_flow(ctx, &p, data_end - data);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
