/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of the XDP program that outlive it (pinned, adopted by the next
 * xlb). Layouts come from xlb_abi.h. Sizes given here are defaults the loader
 * may change before load.
 *
 * XLB_MAPS is the one list of them. The BPF side expands it into the map
 * definitions below (under __bpf__); the control plane (dataplane/maps.h)
 * expands it into typed handles whose key and value types are the ones
 * given here, and into the names it pins and adopts. Adding a map is one
 * line here, plus its use. Why a list rather than the skeleton: the skeleton
 * gives names but not key or value types (typed access needs them at compile
 * time), and it also holds maps that are not pinned (flood_windows, .rodata);
 * dataplane/program.cc checks at compile time that the skeleton holds
 * exactly these maps and those.
 *
 * MAP(name, type, max entries, flags, key, value): a map of values;
 * MAP_OF_MAPS(name, type, max entries, flags, key, inner map template): a map
 * of maps, written with an inner map's fd and read as its id;
 * MAP_RING(name, bytes): a BPF ring buffer (no key or value), read by the
 * control plane with libbpf's ring_buffer. */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include <linux/bpf.h>
#include "xlb_abi.h"

#define XLB_MAPS(MAP, MAP_OF_MAPS, MAP_RING)                                             \
	MAP(services, BPF_MAP_TYPE_HASH, XLB_MAX_SERVICES, BPF_F_NO_PREALLOC,              \
	    struct xlb_service_key, struct xlb_service)                                    \
	/* service id -> generation of the service holding that id (0: none). */           \
	MAP(service_gens, BPF_MAP_TYPE_ARRAY, XLB_MAX_SERVICES, 0, __u32, __u32)           \
	MAP(vips, BPF_MAP_TYPE_HASH, XLB_MAX_SERVICES, BPF_F_NO_PREALLOC,                  \
	    struct xlb_vip_key, struct xlb_vip)                                            \
	MAP(vip_filter, BPF_MAP_TYPE_ARRAY, XLB_FILTER_WORDS, 0, __u32, __u64)             \
	MAP(nat_real_filter, BPF_MAP_TYPE_ARRAY, XLB_FILTER_WORDS, 0, __u32, __u64)        \
	MAP(reals, BPF_MAP_TYPE_ARRAY, XLB_MAX_REALS, 0, __u32, struct xlb_real)           \
	/* Service id -> how its packets are encapsulated (XLB_SVC_F_TUNNEL). */           \
	MAP(tunnels, BPF_MAP_TYPE_ARRAY, XLB_MAX_SERVICES, 0, __u32, struct xlb_tunnel)    \
	/* Service id * 2 + buffer -> its Maglev table (see struct maglev_table). */       \
	MAP_OF_MAPS(maglev_tables, BPF_MAP_TYPE_ARRAY_OF_MAPS, XLB_MAGLEV_OUTER_SIZE, 0,   \
		    __u32, struct maglev_table)                                            \
	/* Shared by all CPUs (not per-CPU): a flow's packets may be spread over */       \
	/* CPUs and interfaces, and NAT replies must find their request's entry. */       \
	/* One LRU list for all CPUs (no BPF_F_NO_COMMON_LRU): per-CPU lists were a */    \
	/* few percent faster on inserts but split the capacity by CPU, so a skewed */    \
	/* RSS spread would evict live flows while the table is far from full. */         \
	MAP(conn_table, BPF_MAP_TYPE_LRU_HASH, XLB_CONN_TABLE_DEFAULT, 0,                  \
	    struct xlb_flow_key, struct xlb_conn)                                          \
	/* The reply halves of NAT flows (real -> client), apart from conn_table so */    \
	/* that its entries stay small (struct xlb_conn). Its size is the loader's */     \
	/* (by default conn_table's: each NAT flow has one entry in each). */             \
	MAP(nat_replies, BPF_MAP_TYPE_LRU_HASH, XLB_CONN_TABLE_DEFAULT, 0,                 \
	    struct xlb_flow_key, struct xlb_nat_reply)                                     \
	MAP(persist_table, BPF_MAP_TYPE_LRU_HASH, XLB_PERSIST_TABLE_DEFAULT, 0,            \
	    struct xlb_persist_key, struct xlb_persist)                                    \
	MAP(nat_reals, BPF_MAP_TYPE_HASH, XLB_MAX_REALS, BPF_F_NO_PREALLOC,                \
	    struct xlb_endpoint_key, __u32)                                                \
	/* Egress interfaces for XDP_REDIRECT, keyed by ifindex. */                        \
	MAP(tx_ports, BPF_MAP_TYPE_DEVMAP_HASH, XLB_MAX_IFACES, 0, __u32, __u32)           \
	/* The MACs of the interfaces the program is attached to (written by */           \
	/* attach, removed by detach); slots as struct xlb_iface says. */                 \
	MAP(iface_macs, BPF_MAP_TYPE_ARRAY, XLB_MAX_IFACES, 0, __u32, struct xlb_iface)    \
	MAP(global_stats, BPF_MAP_TYPE_PERCPU_ARRAY, XLB_STAT__COUNT, 0, __u32, __u64)     \
	MAP(service_stats, BPF_MAP_TYPE_PERCPU_ARRAY, XLB_MAX_SERVICES, 0,                 \
	    __u32, struct xlb_counters)                                                    \
	MAP(real_stats, BPF_MAP_TYPE_PERCPU_ARRAY, XLB_MAX_REALS, 0,                       \
	    __u32, struct xlb_counters)                                                    \
	/* Flow events for the peers (bpf/sync.h), records of struct */                   \
	/* xlb_flow_event_batch. Pinned: a restarted xlbd reads what was written */       \
	/* meanwhile. Its size is the loader's (ProgramOptions::sync_ring_bytes). */       \
	MAP_RING(flow_events, XLB_SYNC_RING_DEFAULT)

#ifdef __bpf__
#include <bpf/bpf_helpers.h>

/* One Maglev table: slot -> real id. Tables of different services differ in
 * size, so the template carries BPF_F_INNER_MAP; the control plane writes
 * them through a memory mapping (BPF_F_MMAPABLE), not slot by slot. */
struct maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, XLB_MAGLEV_TABLE_FLAGS);
	__type(key, __u32);
	__type(value, __u32);
};

#define XLB_DEFINE_MAP(name_, type_, max_entries_, flags_, key_, value_) \
	struct {                                                        \
		__uint(type, type_);                                    \
		__uint(max_entries, max_entries_);                      \
		__uint(map_flags, flags_);                              \
		__type(key, key_);                                      \
		__type(value, value_);                                  \
	} name_ SEC(".maps");
#define XLB_DEFINE_MAP_RING(name_, bytes_)         \
	struct {                                   \
		__uint(type, BPF_MAP_TYPE_RINGBUF); \
		__uint(max_entries, bytes_);        \
	} name_ SEC(".maps");
#define XLB_DEFINE_MAP_OF_MAPS(name_, type_, max_entries_, flags_, key_, inner_) \
	struct {                                                                 \
		__uint(type, type_);                                             \
		__uint(max_entries, max_entries_);                               \
		__uint(map_flags, flags_);                                       \
		__type(key, key_);                                               \
		__array(values, inner_);                                         \
	} name_ SEC(".maps");

XLB_MAPS(XLB_DEFINE_MAP, XLB_DEFINE_MAP_OF_MAPS, XLB_DEFINE_MAP_RING)

#undef XLB_DEFINE_MAP
#undef XLB_DEFINE_MAP_OF_MAPS
#undef XLB_DEFINE_MAP_RING
#endif /* __bpf__ */

#endif /* XLB_BPF_MAPS_H */
