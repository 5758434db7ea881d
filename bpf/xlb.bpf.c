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
#include "nat.h"
#include "stats.h"
#include "iface.h"
#include "flood.h"
#include "trace.h"
#include "tunnel.h"
/* sync: applying peers' flows (its own block) */
#include "sync_apply.h"

static __always_inline int pass_up(struct xlb_trace *tr)
{
	count_global(tr, XLB_STAT_PASSED);
	return XDP_PASS;
}

static __always_inline int handle_fragment(const struct packet *p)
{
	struct xlb_vip *vip = lookup_vip(p->flow.dst, p->flow.family);
	if (!vip)
		return pass_up(p->trace);
	/* Non-first fragments carry no ports: there is no flow to follow.
	 * The kernel reassembles them, or the VIP's option drops them. */
	count_global(p->trace, XLB_STAT_FRAGMENTS);
	if (vip->flags & XLB_VIP_F_DROP_FRAGMENTS) {
		count_global(p->trace, XLB_STAT_DROPPED);
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* A tunnel flow's packet: its arguments into tunnel_scratch, then on to
 * xlb_tunnel (bpf/tunnel.h) by a tail call, which does not come back. The
 * DR and NAT paths pay nothing for tunnels but the flag's test. */
static __always_inline int to_tunnel(struct xdp_md *ctx, const struct packet *p,
				     const struct xlb_flow_key *flow, __u32 real_id,
				     __u32 service_id, __u32 bytes, int new_flow)
{
	__u32 zero = 0;
	struct tunnel_args *a = bpf_map_lookup_elem(&tunnel_scratch, &zero);
	if (a) {
		a->flow = *flow;
		a->service_id = service_id;
		a->real_id = real_id;
		a->l3_off = p->l3 - (void *)(long)ctx->data;
		a->proto = p->flow.proto;
		a->tcp_flags = p->tcp_flags;
		a->was_trace = p->trace != NULL;
		a->new_flow = new_flow;
		a->bytes = bytes;
		bpf_tail_call(ctx, &tunnel_progs, XLB_TUNNEL_PROG_SLOT);
	}
	/* Slot empty: the loader did not fill it (or its pin was removed
	 * while this program runs: dataplane/prog_array_pins.h). */
	return tunnel_encap_failed(p->trace);
}

/* Sends a packet of a flow to its real as it is (direct routing, or NAT
 * rewritten before), or wrapped for a tunnel flow. */
static __always_inline int to_real(struct xdp_md *ctx, const struct packet *p,
				   const struct xlb_flow_key *flow, const struct xlb_real *real,
				   __u32 real_id, __u32 conn_flags, __u32 service_id,
				   __u32 bytes, int new_flow)
{
	if (conn_flags & XLB_CONN_F_TUNNEL)
		return to_tunnel(ctx, p, flow, real_id, service_id, bytes, new_flow);
	return forward_to_real(ctx, p->trace, flow, real);
}

static __always_inline int handle_icmp(struct xdp_md *ctx, const struct packet *p,
				       void *data_end)
{
	struct packet quoted = {};
	quoted.trace = p->trace;
	if (!lookup_vip(p->flow.dst, p->flow.family) ||
	    !icmp_quoted_flow(p, data_end, &quoted.flow))
		return pass_up(p->trace);
	trace_flag(p->trace, XLB_TRACE_F_ICMP);
	__u64 now = bpf_ktime_get_coarse_ns();
	__u32 real_id = 0, service_id = 0, conn_flags = 0;
	struct xlb_conn *entry;
	struct xlb_real *real = conn_lookup(&quoted, now, &real_id, &service_id, &conn_flags, &entry);
	if (!real) {
		/* Not in the table: the real Maglev gives the flow. */
		struct xlb_service *svc = lookup_service(&quoted.flow);
		if (svc) {
			real = select_new(&quoted, svc, now, &real_id, 1);
			conn_flags = conn_forward_flags(svc);
			service_id = svc->id;
		}
	}
	/* A NAT real does not own the VIP the error quotes: the kernel
	 * gets it (PMTU discovery through NAT is the kernel's, as in IPVS). */
	if (!real || (conn_flags & XLB_CONN_F_NAT))
		return pass_up(p->trace);
	if (p->trace)
		p->trace->real_id = real_id;
	/* A tunnel flow's real gets it wrapped: it needs it for its own PMTU
	 * discovery as a DR real does. */
	int verdict = to_real(ctx, p, &quoted.flow, real, real_id, conn_flags, service_id, 0, 0);
	if (verdict != XDP_PASS && !(conn_flags & XLB_CONN_F_TUNNEL)) /* xlb_tunnel counts it */
		count_global(p->trace, XLB_STAT_ICMP_FORWARDED);
	return verdict;
}

static __always_inline int handle_flow(struct xdp_md *ctx, struct packet *p, __u64 bytes)
{
	struct xlb_trace *tr = p->trace;
	__u64 now = bpf_ktime_get_coarse_ns();
	__u32 real_id = 0, service_id = 0, conn_flags = 0;
	int new_flow = 0;
	struct xlb_real *real = NULL;
	struct xlb_conn *entry = NULL;
	/* A SYN opens a new connection: it re-selects even over an old entry
	 * (a reused client port must not stick to a drained real). */
	int syn = (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	if (!syn)
		real = conn_lookup(p, now, &real_id, &service_id, &conn_flags, &entry);
	if (real) {
		count_global(tr, XLB_STAT_CONN_HIT);
		trace_flag(tr, XLB_TRACE_F_CONN_HIT | XLB_TRACE_F_SERVICE);
	} else {
		struct xlb_service *svc = lookup_service(&p->flow);
		if (!svc)
			return pass_up(tr);
		count_global(tr, XLB_STAT_CONN_MISS);
		if (tr) {
			tr->flags |= XLB_TRACE_F_SERVICE | (syn ? XLB_TRACE_F_NEW_CONN : 0);
			tr->service_id = svc->id;
		}
		/* Past the flood rate a new flow makes no entry (bpf/flood.h). */
		int record = !flood(now, tr);
		if (!record && (svc->flags & XLB_SVC_F_NAT)) {
			count_global(tr, XLB_STAT_NAT_FLOOD_DROPPED);
			count_global(tr, XLB_STAT_DROPPED);
			return XDP_DROP;
		}
		real = select_new(p, svc, now, &real_id, record);
		if (!real) {
			count_global(tr, XLB_STAT_NO_REAL);
			count_global(tr, XLB_STAT_DROPPED);
			return XDP_DROP;
		}
		if (record) {
			struct xlb_conn conn = {};
			conn_fill(&conn, p, svc, real_id, real->gen, now);
			if (tr)
				tr->flags |= XLB_TRACE_F_WOULD_RECORD;
			else if (bpf_map_update_elem(&conn_table, &p->flow, &conn, BPF_ANY) != 0)
				count_global(tr, XLB_STAT_CONN_INSERT_FAILED);
			else
				sync_emit(XLB_FLOW_EV_NEW, &p->flow, &conn);
			if (conn.flags & XLB_CONN_F_NAT) {
				struct xlb_flow_key rkey = {};
				nat_reply_key(&rkey, &p->flow, real, real->port ? real->port : p->flow.dport);
				nat_insert_reply(p, &conn, &rkey);
			}
			conn_flags = conn.flags;
		} else {
			/* An entry of an earlier connection on this client port
			 * would send the handshake's ACK to that connection's
			 * real: gone, the ACK is placed as this SYN was. */
			if (syn && !tr) {
				struct xlb_conn *old = bpf_map_lookup_elem(&conn_table, &p->flow);
				if (old && (old->real_id != real_id || old->real_gen != real->gen))
					bpf_map_delete_elem(&conn_table, &p->flow);
			}
			count_global(tr, XLB_STAT_FLOW_UNRECORDED);
			conn_flags = conn_forward_flags(svc);
		}
		service_id = svc->id;
		new_flow = record; /* an unrecorded flow counts when it is recorded */
	}
	if (tr) {
		tr->service_id = service_id;
		tr->real_id = real_id;
	}
	if (conn_flags & XLB_CONN_F_NAT) {
		__be16 rport = real->port ? real->port : p->flow.dport;
		trace_flag(tr, XLB_TRACE_F_NAT);
		if (entry)
			nat_keep_reply(p, entry, real, rport);
		nat_rewrite(p, (void *)(long)ctx->data_end, 1, real->addr, rport);
	}
	int verdict = to_real(ctx, p, &p->flow, real, real_id, conn_flags, service_id, bytes,
			      new_flow);
	if ((verdict == XDP_TX || verdict == XDP_REDIRECT) && !p->trace) {
		count_traffic(&service_stats, service_id, bytes, new_flow);
		count_traffic(&real_stats, real_id, bytes, new_flow);
	}
	return verdict;
}

/* A packet not for a VIP, from a NAT real's address: a real's reply gets
 * the VIP back as its source and goes to the client; anything else from
 * the reals (their own connections) goes up unchanged. */
static __always_inline int handle_nat_reply(struct xdp_md *ctx, struct packet *p)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct xlb_nat_reply *reply = bpf_map_lookup_elem(&nat_replies, &p->flow);
	if (!reply || !conn_alive(&reply->conn, now)) {
		if (from_nat_real(p))
			count_global(p->trace, XLB_STAT_NAT_UNMATCHED);
		return pass_up(p->trace);
	}
	if (p->trace) {
		p->trace->flags |= XLB_TRACE_F_NAT_REPLY | XLB_TRACE_F_SERVICE;
		p->trace->service_id = reply->conn.service_id;
		p->trace->real_id = reply->conn.real_id;
	} else if (conn_touch(&reply->conn, p->tcp_flags, now) && xlb_sync_mode != XLB_SYNC_OFF) {
		/* The real closed first: the event names the flow as the
		 * client sends it (client -> VIP), as the peers key it. */
		struct xlb_flow_key fwd = {};
		nat_forward_key(&fwd, &p->flow, reply);
		sync_emit(XLB_FLOW_EV_CLOSING, &fwd, &reply->conn);
	}
	nat_rewrite(p, (void *)(long)ctx->data_end, 0, reply->vip, reply->vport);
	count_global(p->trace, XLB_STAT_NAT_REPLY);
	struct nexthop nh;
	if (!reply_nexthop(ctx, reply, p, now, &nh)) {
		/* Translated already: the kernel forwards it and resolves the
		 * client's next hop for the packets after it. */
		count_global(p->trace, XLB_STAT_NO_ROUTE);
		return XDP_PASS;
	}
	return send_to(ctx, p->trace, &nh);
}

/* VRRP (RFC 5798 5.1.1.3): a valid advert has TTL (hop limit) 255, which
 * no router forwards, and is never fragmented (its largest, 255 IPv6
 * addresses, is 4088 bytes; speakers send far fewer). Anything else is
 * off-link or junk: dropped here, before the kernel reassembles it or queues
 * it to the speaker's socket, so a flood of it costs the speaker nothing. */
#define XLB_IPPROTO_VRRP 112

static __always_inline int hostile_vrrp(const struct packet *p, int parsed, void *data_end)
{
	if (p->flow.family == XLB_FAMILY_V4) {
		struct iphdr *ip = p->l3;
		if ((void *)(ip + 1) > data_end || ip->protocol != XLB_IPPROTO_VRRP)
			return 0;
		return parsed == PARSE_FRAGMENT || ip->ttl != 255;
	}
	struct ipv6hdr *ip6 = p->l3;
	if ((void *)(ip6 + 1) > data_end)
		return 0;
	if (ip6->nexthdr == XLB_IPV6_FRAGMENT) {
		__u8 *next = (__u8 *)(ip6 + 1); /* the fragment header's next header */
		return (void *)(next + 1) <= data_end && *next == XLB_IPPROTO_VRRP;
	}
	return ip6->nexthdr == XLB_IPPROTO_VRRP && ip6->hop_limit != 255;
}

/* Not xlb's to forward: up to the kernel, but for VRRP that cannot be valid.
 * Only packets xlb does not forward come here: the VIP flow path pays
 * nothing for this. */
static __always_inline int not_forwarded(const struct packet *p, int parsed, void *data_end)
{
	if ((parsed == PARSE_OTHER || parsed == PARSE_FRAGMENT) && p->l3 &&
	    hostile_vrrp(p, parsed, data_end)) {
		count_global(p->trace, XLB_STAT_VRRP_DROPPED);
		return XDP_DROP;
	}
	return pass_up(p->trace);
}

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet p = {};
	/* One compare for real frames: they carry no metadata (bpf/trace.h). */
	struct xlb_trace *tr = trace_request(ctx);

	int parsed = parse_packet(&p, data, data_end);
	p.trace = tr;
	if (parsed == PARSE_MALFORMED) {
		count_global(tr, XLB_STAT_MALFORMED);
		return XDP_DROP;
	}
	if (parsed == PARSE_OTHER)
		return not_forwarded(&p, parsed, data_end);
	int to_vip = maybe_in(&vip_filter, p.flow.dst);
	if (!to_vip && !(parsed == PARSE_FLOW && maybe_in(&nat_real_filter, p.flow.src)))
		return not_forwarded(&p, parsed, data_end);
	/* Checked only for what xlb may forward (the filters said so): other
	 * traffic goes up unchanged whatever its MAC, and pays no lookup.
	 * The kernel drops another host's frame; xlb must not forward it
	 * either (a flooded frame would reach the real once per director). */
	if (for_another_host(ctx, data, data_end)) {
		count_global(tr, XLB_STAT_NOT_OURS);
		return XDP_PASS;
	}
	if (!to_vip)
		return handle_nat_reply(ctx, &p);
	switch (parsed) {
	case PARSE_FRAGMENT:
		return handle_fragment(&p);
	case PARSE_ICMP:
		return handle_icmp(ctx, &p, data_end);
	}
	return handle_flow(ctx, &p, data_end - data);
}

/* A tunnel flow's packet, from xlb_xdp by a tail call (slot 0 of
 * tunnel_progs): its arguments are in tunnel_scratch, its trace (if it is
 * one) still in the frame's metadata. */
SEC("xdp")
int xlb_tunnel(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct tunnel_args *a = bpf_map_lookup_elem(&tunnel_scratch, &zero);
	if (!a)
		return XDP_DROP;
	return xlb_tunnel_forward(ctx, a);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
