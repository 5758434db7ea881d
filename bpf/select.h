/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Choosing the real for a packet of a service, in order: the connection
 * table, persistence, the service's Maglev table. */
#ifndef XLB_BPF_SELECT_H
#define XLB_BPF_SELECT_H

#include "maps.h"
#include "hash.h"
#include "parse.h"
#include "stats.h"
#include "sync.h"

#define NSEC_PER_SEC 1000000000ull
/* Refresh a shared entry's timestamp at most this often: writing it on every
 * packet would bounce its cache line between CPUs for nothing. */
#define XLB_TOUCH_NS (NSEC_PER_SEC / 4)

static __always_inline struct xlb_service *lookup_service(const struct xlb_flow_key *f)
{
	struct xlb_service_key key = {};
	key.addr[0] = f->dst[0];
	key.addr[1] = f->dst[1];
	key.addr[2] = f->dst[2];
	key.addr[3] = f->dst[3];
	key.port = f->dport;
	key.proto = f->proto;
	key.family = f->family;
	struct xlb_service *svc = bpf_map_lookup_elem(&services, &key);
	if (svc)
		return svc;
	key.port = 0; /* all-ports service */
	return bpf_map_lookup_elem(&services, &key);
}

/* False when `addr` is certainly not in `filter` (see XLB_FILTER_BITS). */
static __always_inline int maybe_in(void *filter, const __be32 *addr)
{
	__u32 bit = xlb_filter_bit(addr);
	__u32 word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(filter, &word);
	return w && (*w & (1ull << (bit % 64)));
}

static __always_inline struct xlb_vip *lookup_vip(const __be32 *addr, __u8 family)
{
	struct xlb_vip_key key = {};
	key.addr[0] = addr[0];
	key.addr[1] = addr[1];
	key.addr[2] = addr[2];
	key.addr[3] = addr[3];
	key.family = family;
	return bpf_map_lookup_elem(&vips, &key);
}

/* The real `id` if it is still the one `gen` was recorded for, belongs to the
 * service and (for new flows) takes new flows. */
static __always_inline struct xlb_real *valid_real(__u32 id, __u32 gen, __u32 service_id,
						    int for_new_flow)
{
	if (id == 0)
		return NULL;
	struct xlb_real *real = bpf_map_lookup_elem(&reals, &id);
	if (!real || real->gen != gen || real->service_id != service_id)
		return NULL;
	if (for_new_flow && real->weight == 0)
		return NULL;
	return real;
}

/* A table entry still in force: not idle past its timeout, and its service
 * still the one it was made for. */
static __always_inline int conn_alive(const struct xlb_conn *conn, __u64 now)
{
	__u32 timeout = (conn->flags & XLB_CONN_F_CLOSING) ? conn->closing_timeout_s
							   : conn->timeout_s;
	if (now - conn->last_seen_ns > (__u64)timeout * NSEC_PER_SEC)
		return 0; /* expired: re-select, never reuse stale state */
	__u32 sid = conn->service_id;
	__u32 *gen = bpf_map_lookup_elem(&service_gens, &sid);
	return gen && *gen == conn->service_gen;
}

/* The client's ACK without SYN: the handshake is done (ICMP errors and UDP
 * come with no flags). */
static __always_inline __u32 conn_established(__u8 tcp_flags)
{
	return (tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_ACK ? XLB_CONN_F_ESTABLISHED : 0;
}

/* True at the entry's first FIN or RST (the peers hear of it: bpf/sync.h).
 * A copy made from a peer's record becomes this director's own at its first
 * packet here: from then on no peer's copy replaces it (bpf/sync_apply.h). */
static __always_inline int conn_touch(struct xlb_conn *conn, __u8 tcp_flags, __u64 now)
{
	if (conn->flags & XLB_CONN_F_SYNCED)
		conn->flags &= ~XLB_CONN_F_SYNCED;
	/* Written once per flow, on its first ACK. */
	if (!(conn->flags & XLB_CONN_F_ESTABLISHED) && conn_established(tcp_flags))
		conn->flags |= XLB_CONN_F_ESTABLISHED;
	if (tcp_flags & (XLB_TCP_FIN | XLB_TCP_RST)) {
		int first = !(conn->flags & XLB_CONN_F_CLOSING);
		conn->flags |= XLB_CONN_F_CLOSING;
		conn->last_seen_ns = now;
		return first;
	} else if (now - conn->last_seen_ns > XLB_TOUCH_NS) {
		conn->last_seen_ns = now;
	}
	return 0;
}

/* Connection-table hit: the real the flow already uses, or NULL when the
 * flow is unknown, expired, or its service or real is gone. *entry is the
 * table entry of a hit. */
static __always_inline struct xlb_real *conn_lookup(const struct packet *p, __u64 now,
						    __u32 *real_id, __u32 *service_id,
						    __u32 *conn_flags, struct xlb_conn **entry)
{
	struct xlb_conn *conn = bpf_map_lookup_elem(&conn_table, &p->flow);
	if (!conn || !conn_alive(conn, now))
		return NULL;
	struct xlb_real *real = valid_real(conn->real_id, conn->real_gen, conn->service_id, 0);
	if (!real)
		return NULL;
	if (!p->trace && conn_touch(conn, p->tcp_flags, now))
		sync_emit(XLB_FLOW_EV_CLOSING, &p->flow, conn);
	*real_id = conn->real_id;
	*service_id = conn->service_id;
	*conn_flags = conn->flags;
	*entry = conn;
	return real;
}

/* The connection flags a flow of `svc` carries from its creation: how its
 * packets are forwarded (NAT, tunnel; neither: direct routing). */
static __always_inline __u32 conn_forward_flags(const struct xlb_service *svc)
{
	return ((svc->flags & XLB_SVC_F_NAT) ? XLB_CONN_F_NAT : 0) |
	       ((svc->flags & XLB_SVC_F_TUNNEL) ? XLB_CONN_F_TUNNEL : 0);
}

/* Records a new flow's choice. */
static __always_inline void conn_fill(struct xlb_conn *conn, const struct packet *p,
				      const struct xlb_service *svc, __u32 real_id,
				      __u32 real_gen, __u64 now)
{
	conn->real_id = real_id;
	conn->real_gen = real_gen;
	conn->service_id = svc->id;
	conn->service_gen = svc->gen;
	conn->timeout_s = p->flow.proto == IPPROTO_UDP ? svc->udp_timeout_s : svc->tcp_timeout_s;
	conn->closing_timeout_s = svc->tcp_fin_timeout_s;
	conn->flags = (p->tcp_flags & (XLB_TCP_FIN | XLB_TCP_RST)) ? XLB_CONN_F_CLOSING : 0;
	conn->flags |= conn_established(p->tcp_flags);
	conn->flags |= conn_forward_flags(svc);
	conn->last_seen_ns = now;
}

static __always_inline __u32 maglev_pick(const struct xlb_service *svc, __u32 hash,
				     struct xlb_trace *tr)
{
	__u32 outer = svc->id * 2 + (svc->active_table & 1);
	void *table = bpf_map_lookup_elem(&maglev_tables, &outer);
	if (!table || svc->table_size == 0)
		return 0;
	__u32 slot = hash % svc->table_size;
	if (tr) {
		tr->flags |= XLB_TRACE_F_MAGLEV;
		tr->maglev_slot = slot;
	}
	__u32 *id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : 0;
}

static __always_inline void persist_key(struct xlb_persist_key *key, const struct packet *p,
					const struct xlb_service *svc)
{
	key->client[0] = p->flow.src[0] & svc->persist_mask[0];
	key->client[1] = p->flow.src[1] & svc->persist_mask[1];
	key->client[2] = p->flow.src[2] & svc->persist_mask[2];
	key->client[3] = p->flow.src[3] & svc->persist_mask[3];
	key->service_id = svc->id;
	key->family = p->flow.family;
}

/* A new flow (or a TCP SYN): persistence, then Maglev. Returns the real and
 * its id, or NULL when the service has no real that takes new flows. With
 * `record`, a persistent service's choice is recorded for the client. */
static __always_inline struct xlb_real *select_new(const struct packet *p,
						   const struct xlb_service *svc, __u64 now,
						   __u32 *real_id, int record)
{
	struct xlb_persist_key pkey = {};
	struct xlb_real *real;
	if (svc->flags & XLB_SVC_F_PERSIST) {
		persist_key(&pkey, p, svc);
		struct xlb_persist *pe = bpf_map_lookup_elem(&persist_table, &pkey);
		if (pe && now - pe->last_seen_ns <= (__u64)svc->persist_timeout_s * NSEC_PER_SEC) {
			real = valid_real(pe->real_id, pe->real_gen, svc->id, 1);
			if (real) {
				if (p->trace)
					p->trace->flags |= XLB_TRACE_F_PERSIST_HIT;
				else
					pe->last_seen_ns = now;
				*real_id = pe->real_id;
				return real;
			}
		}
	}
	__u32 hash = (svc->flags & XLB_SVC_F_SOURCE_HASH) ? hash_addr(p->flow.src)
							   : hash_flow(&p->flow);
	__u32 id = maglev_pick(svc, hash, p->trace);
	if (id == 0)
		return NULL;
	real = bpf_map_lookup_elem(&reals, &id);
	if (!real)
		return NULL;
	if (svc->flags & XLB_SVC_F_PERSIST) {
		struct xlb_persist pe = {.real_id = id, .real_gen = real->gen, .last_seen_ns = now};
		if (!record)
			count_global(p->trace, XLB_STAT_PERSIST_UNRECORDED);
		else if (!p->trace && bpf_map_update_elem(&persist_table, &pkey, &pe, BPF_ANY) != 0)
			count_global(p->trace, XLB_STAT_PERSIST_INSERT_FAILED);
	}
	*real_id = id;
	return real;
}

#endif /* XLB_BPF_SELECT_H */
