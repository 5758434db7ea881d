/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Applying peer directors' flows (docs/sync-design.md, "Receiver rule"):
 * the syscall program sync_apply inserts a batch of flows, translated by
 * xlbd to this director's ids (dataplane/sync_applier.h), into conn_table
 * and, for NAT flows, their reply halves into nat_replies. Never over a
 * newer entry, never over a live entry this director made itself; a peer's
 * copy is replaced only by a newer one. */
#ifndef XLB_BPF_SYNC_APPLY_H
#define XLB_BPF_SYNC_APPLY_H

#include "maps.h"
#include "select.h"
#include "nat.h"

/* Written by xlbd through the skeleton's mmapped .bss, one run per batch
 * (one xlbd thread applies: runs do not overlap). Results are written back
 * into each entry. */
struct xlb_sync_apply_batch xlb_sync_batch;

/* What to do with the table's entry `cur` (NULL: none) for a peer's `copy`. */
enum sync_action { SYNC_INSERT, SYNC_OVERWRITE, SYNC_REFRESH, SYNC_KEEP_OWN, SYNC_KEEP_NEWER };

static __always_inline int sync_decide(const struct xlb_conn *cur, const struct xlb_conn *copy,
				       __u64 now)
{
	if (!cur)
		return SYNC_INSERT;
	/* Expired, or its service or real is gone: nobody's flow any more. */
	if (!conn_alive(cur, now) || !valid_real(cur->real_id, cur->real_gen, cur->service_id, 0))
		return SYNC_OVERWRITE;
	if (cur->real_id == copy->real_id && cur->real_gen == copy->real_gen)
		return cur->last_seen_ns < copy->last_seen_ns ? SYNC_REFRESH : SYNC_KEEP_NEWER;
	if (!(cur->flags & XLB_CONN_F_SYNCED))
		return SYNC_KEEP_OWN;
	return cur->last_seen_ns < copy->last_seen_ns ? SYNC_OVERWRITE : SYNC_KEEP_NEWER;
}

/* Same real, newer copy: what the data path writes in place on a hit. */
static __always_inline void sync_refresh(struct xlb_conn *cur, const struct xlb_conn *copy,
					 __u32 keep_flags)
{
	cur->last_seen_ns = copy->last_seen_ns;
	cur->flags |= copy->flags & keep_flags;
}

/* The outcome of an insert (BPF_NOEXIST: one the data path made meanwhile is
 * its own and wins) or an overwrite. */
static __always_inline __u8 sync_written(long err, __u8 done)
{
	if (err == 0)
		return done;
	return err == -17 /* EEXIST */ ? XLB_SYNC_KEPT_OWN : XLB_SYNC_NO_ROOM;
}

/* *replaced_real: the real of the live copy a REPLACED entry replaced. */
static __always_inline __u8 sync_apply_conn(const struct xlb_flow_key *flow,
					    const struct xlb_conn *copy, __u64 now,
					    __u32 *replaced_real)
{
	struct xlb_conn *cur = bpf_map_lookup_elem(&conn_table, flow);
	int action = sync_decide(cur, copy, now);
	if (action == SYNC_OVERWRITE && cur && conn_alive(cur, now))
		*replaced_real = cur->real_id;
	switch (action) {
	case SYNC_INSERT:
		return sync_written(bpf_map_update_elem(&conn_table, flow, copy, BPF_NOEXIST),
				    XLB_SYNC_INSERTED);
	case SYNC_OVERWRITE:
		return sync_written(bpf_map_update_elem(&conn_table, flow, copy, BPF_ANY),
				    cur && conn_alive(cur, now) ? XLB_SYNC_REPLACED
							       : XLB_SYNC_INSERTED);
	case SYNC_REFRESH:
		if (cur)
			sync_refresh(cur, copy, XLB_CONN_F_CLOSING | XLB_CONN_F_ESTABLISHED);
		return XLB_SYNC_REFRESHED;
	case SYNC_KEEP_OWN:
		return XLB_SYNC_KEPT_OWN;
	}
	return XLB_SYNC_KEPT_NEWER;
}

/* The reply half of a NAT flow, by the same rule, keyed as the data path
 * keys it (nat_reply_key). */
static __always_inline __u8 sync_apply_reply(const struct xlb_flow_key *flow,
					     const struct xlb_conn *copy,
					     const struct xlb_real *real, __u64 now)
{
	struct xlb_flow_key key = {};
	nat_reply_key(&key, flow, real, real->port ? real->port : flow->dport);
	struct xlb_nat_reply reply = {};
	nat_reply_fill(&reply, flow, copy);
	reply.conn.flags |= XLB_CONN_F_SYNCED;
	struct xlb_nat_reply *cur = bpf_map_lookup_elem(&nat_replies, &key);
	switch (sync_decide(cur ? &cur->conn : NULL, &reply.conn, now)) {
	case SYNC_INSERT:
		return sync_written(bpf_map_update_elem(&nat_replies, &key, &reply, BPF_NOEXIST),
				    XLB_SYNC_INSERTED);
	case SYNC_OVERWRITE:
		return sync_written(bpf_map_update_elem(&nat_replies, &key, &reply, BPF_ANY),
				    cur && conn_alive(&cur->conn, now) ? XLB_SYNC_REPLACED
								      : XLB_SYNC_INSERTED);
	case SYNC_REFRESH:
		if (cur)
			sync_refresh(&cur->conn, &reply.conn, XLB_CONN_F_CLOSING);
		return XLB_SYNC_REFRESHED;
	case SYNC_KEEP_OWN:
		return XLB_SYNC_KEPT_OWN;
	}
	return XLB_SYNC_KEPT_NEWER;
}

static __always_inline void sync_forget_reply(const struct xlb_flow_key *flow, __u32 real_id)
{
	struct xlb_real *old = bpf_map_lookup_elem(&reals, &real_id);
	if (!old)
		return;
	struct xlb_flow_key key = {};
	nat_reply_key(&key, flow, old, old->port ? old->port : flow->dport);
	struct xlb_nat_reply *reply = bpf_map_lookup_elem(&nat_replies, &key);
	if (reply && (reply->conn.flags & XLB_CONN_F_SYNCED))
		bpf_map_delete_elem(&nat_replies, &key);
}

static long sync_apply_one(__u64 index, void *unused)
{
	__u32 i = index;
	if (i >= XLB_SYNC_APPLY_MAX)
		return 1;
	struct xlb_sync_apply_entry *e = &xlb_sync_batch.e[i];
	e->result = XLB_SYNC_STALE;
	e->reply_result = XLB_SYNC_NONE;
	/* The service and real must still be the ones xlbd translated to. */
	struct xlb_service_key skey = {};
	skey.addr[0] = e->flow.dst[0];
	skey.addr[1] = e->flow.dst[1];
	skey.addr[2] = e->flow.dst[2];
	skey.addr[3] = e->flow.dst[3];
	skey.port = e->svc_port;
	skey.proto = e->flow.proto;
	skey.family = e->flow.family;
	struct xlb_service *svc = bpf_map_lookup_elem(&services, &skey);
	if (!svc || svc->id != e->service_id || svc->gen != e->service_gen)
		return 0;
	struct xlb_real *real = valid_real(e->real_id, e->real_gen, e->service_id, 0);
	if (!real)
		return 0;
	__u64 now = xlb_sync_batch.now_ns;
	__u64 age = (__u64)e->age_ms * 1000000ull;
	struct xlb_conn copy = {};
	copy.real_id = e->real_id;
	copy.real_gen = e->real_gen;
	copy.service_id = svc->id;
	copy.service_gen = svc->gen;
	copy.timeout_s = e->flow.proto == IPPROTO_UDP ? svc->udp_timeout_s : svc->tcp_timeout_s;
	copy.closing_timeout_s = svc->tcp_fin_timeout_s;
	copy.flags = (e->flags & (XLB_CONN_F_CLOSING | XLB_CONN_F_ESTABLISHED)) |
		     conn_forward_flags(svc) | XLB_CONN_F_SYNCED;
	copy.last_seen_ns = now > age ? now - age : 0;
	__u32 replaced_real = 0;
	e->result = sync_apply_conn(&e->flow, &copy, now, &replaced_real);
	/* The replaced copy's reply half (keyed by its real) goes with it, so
	 * that its real's packets are no longer taken for replies. */
	if ((copy.flags & XLB_CONN_F_NAT) && e->result == XLB_SYNC_REPLACED)
		sync_forget_reply(&e->flow, replaced_real);
	/* The reply half only with its forward half: a kept entry's own reply
	 * half (another real's, perhaps) is the data path's to keep. */
	if ((copy.flags & XLB_CONN_F_NAT) &&
	    (e->result == XLB_SYNC_INSERTED || e->result == XLB_SYNC_REFRESHED ||
	     e->result == XLB_SYNC_REPLACED))
		e->reply_result = sync_apply_reply(&e->flow, &copy, real, now);
	return 0;
}

SEC("syscall")
int sync_apply(void *ctx)
{
	__u32 n = xlb_sync_batch.count;
	if (n > XLB_SYNC_APPLY_MAX)
		n = XLB_SYNC_APPLY_MAX;
	bpf_loop(n, sync_apply_one, NULL, 0);
	return 0;
}

#endif /* XLB_BPF_SYNC_APPLY_H */
