/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The maps of the XDP program. Layouts come from xlb_abi.h; the C++ library
 * finds these maps by name through the generated skeleton. Sizes given here
 * are defaults the loader may change before load. */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, struct xlb_service_key);
	__type(value, struct xlb_service);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} services SEC(".maps");

/* service id -> generation of the service holding that id (0: none). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u32);
} service_gens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} nat_real_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_REALS);
	__type(key, __u32);
	__type(value, struct xlb_real);
} reals SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAGLEV_OUTER_SIZE);
	__type(key, __u32);
	__array(values, struct maglev_table);
} maglev_tables SEC(".maps");

/* Shared by all CPUs (not per-CPU): a flow's packets may be spread over
 * CPUs and interfaces, and NAT replies must find their request's entry. */
/* One LRU list for all CPUs (no BPF_F_NO_COMMON_LRU): per-CPU lists were a
 * few percent faster on inserts but split the capacity by CPU, so a skewed
 * RSS spread would evict live flows while the table is far from full. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_CONN_TABLE_DEFAULT);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_conn);
} conn_table SEC(".maps");

/* The reply halves of NAT flows (real -> client), apart from conn_table so
 * that its entries stay small (struct xlb_conn). Its size is the loader's
 * (by default conn_table's: each NAT flow has one entry in each). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_CONN_TABLE_DEFAULT);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_nat_reply);
} nat_replies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_PERSIST_TABLE_DEFAULT);
	__type(key, struct xlb_persist_key);
	__type(value, struct xlb_persist);
} persist_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_REALS);
	__type(key, struct xlb_endpoint_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} nat_reals SEC(".maps");

/* Egress interfaces for XDP_REDIRECT, keyed by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XLB_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* The MACs of the interfaces the program is attached to (written by attach,
 * removed by detach); slots as struct xlb_iface says. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xlb_iface);
} iface_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} global_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_counters);
} service_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_REALS);
	__type(key, __u32);
	__type(value, struct xlb_counters);
} real_stats SEC(".maps");

#endif /* XLB_BPF_MAPS_H */
