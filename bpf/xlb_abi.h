/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The BPF ABI of xlb: every map key, map value and constant that the XDP
 * program and the C++ data-plane library share. This file is the one
 * definition; nothing else declares these layouts.
 *
 * Conventions:
 *  - addresses are 4 big-endian 32-bit words; an IPv4 address uses word 0 and
 *    leaves words 1..3 zero, and every key carries the family explicitly;
 *  - ports are big-endian (as on the wire);
 *  - id 0 is never a valid service or real id, so a zeroed slot means "none".
 */
#ifndef XLB_ABI_H
#define XLB_ABI_H

#include <linux/bpf.h>
#include <linux/types.h>

/* ---- sizes ------------------------------------------------------------- */

#define XLB_MAX_SERVICES 1024          /* service ids 1..1023 */
#define XLB_MAX_REALS 65536            /* real ids 1..65535, one per (service, real) */
#define XLB_MAX_IFACES 64              /* interfaces: devmap (egress), iface_macs (ingress) */
#define XLB_MAGLEV_DEFAULT_SIZE 65537  /* prime, ~650 slots per real at 100 reals */
#define XLB_MAGLEV_MAX_SIZE 1048573    /* largest prime below 2^20 */
#define XLB_CONN_TABLE_DEFAULT 262144  /* connection-table entries (LRU) */
#define XLB_PERSIST_TABLE_DEFAULT 65536
/* New table entries (flows) per CPU and second past which a new flow makes
 * none: direct routing forwards it without one, NAT drops it (bpf/flood.h);
 * Katran's SYN rate is 125000. */
#define XLB_FLOOD_RATE_DEFAULT 100000
/* ICMP errors the program itself sends (tunnel too big) per CPU and second:
 * Linux's icmp_msgs_per_sec. */
#define XLB_ICMP_RATE_DEFAULT 1000

/* Two Maglev tables per service (double buffering): the outer map slot of
 * service s, buffer b (0 or 1) is s * 2 + b. */
#define XLB_MAGLEV_OUTER_SIZE (XLB_MAX_SERVICES * 2)
/* Flags of every Maglev table (an array of __u32): sizes differ between
 * services (BPF_F_INNER_MAP), and the control plane writes them through a
 * memory mapping (BPF_F_MMAPABLE). */
#define XLB_MAGLEV_TABLE_FLAGS (BPF_F_INNER_MAP | BPF_F_MMAPABLE)

#define XLB_FAMILY_V4 4
#define XLB_FAMILY_V6 6

/* ---- services ---------------------------------------------------------- */

/* Looked up with the packet's (dst, dport, proto), then with port 0 for an
 * all-ports service. */
struct xlb_service_key {
	__be32 addr[4];
	__be16 port;   /* 0: every port of this VIP and protocol */
	__u8 proto;    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;   /* XLB_FAMILY_V4 / XLB_FAMILY_V6 */
};

enum xlb_service_flags {
	XLB_SVC_F_SOURCE_HASH = 1 << 0,    /* hash the client address alone */
	XLB_SVC_F_PERSIST = 1 << 1,        /* client (masked) sticks to its real */
	XLB_SVC_F_DROP_FRAGMENTS = 1 << 2, /* see struct xlb_vip */
	XLB_SVC_F_NAT = 1 << 3,            /* masquerade (IPVS -m); else direct routing */
	XLB_SVC_F_TUNNEL = 1 << 4,         /* encapsulate to the real (IPVS -i): map tunnels */
};

struct xlb_service {
	__u32 id;
	__u32 gen;                /* == service_gens[id] while the service exists */
	__u32 flags;              /* enum xlb_service_flags */
	__u32 table_size;         /* Maglev table size (prime) of both buffers */
	__u32 active_table;       /* 0 or 1: which buffer the packet path reads */
	__u32 persist_timeout_s;  /* with XLB_SVC_F_PERSIST */
	__be32 persist_mask[4];   /* client address & mask = persistence key */
	__u32 tcp_timeout_s;      /* idle timeout of an established TCP flow */
	__u32 tcp_fin_timeout_s;  /* ... after FIN or RST was seen */
	__u32 udp_timeout_s;      /* idle timeout of a UDP flow */
	__u32 pad;
};

/* Every address that has at least one service: lets the packet path tell
 * "for a VIP" for packets without ports (fragments, ICMP errors). */
struct xlb_vip_key {
	__be32 addr[4];
	__u8 family;
	__u8 pad[3];
};

enum xlb_vip_flags {
	XLB_VIP_F_DROP_FRAGMENTS = 1 << 0, /* some service on it drops fragments */
};

struct xlb_vip {
	__u32 flags; /* enum xlb_vip_flags */
};

/* Address filters: one bit per hash of an address, so that a packet that
 * is none of ours (most of what reaches the director itself) is told apart
 * with one array read instead of hash lookups. A set bit may be a false
 * positive; the hash lookups behind it decide. Two of them: VIPs (by
 * destination) and NAT reals (by source, for their replies).
 * An array of __u64 words; bit b is word b / 64, bit b % 64. */
#define XLB_FILTER_BITS 65536
#define XLB_FILTER_WORDS (XLB_FILTER_BITS / 64)

static inline __u32 xlb_filter_bit(const __be32 addr[4])
{
	__u32 x = addr[0] ^ addr[1] ^ addr[2] ^ addr[3];
	return (x ^ (x >> 16)) & (XLB_FILTER_BITS - 1);
}

/* ---- reals ------------------------------------------------------------- */

enum xlb_real_flags {
	/* ifindex/dmac/smac hold the next hop, resolved by the control plane
	 * from the kernel's neighbour table; without it the packet path asks
	 * bpf_fib_lookup. */
	XLB_REAL_F_NEXTHOP = 1 << 0,
	/* Removed from its service: takes no new flows (weight 0); its
	 * established flows go on until the id is given to another real. */
	XLB_REAL_F_RETIRED = 1 << 1,
	/* Health checks found it down: weight is 0 for that reason (weight 0
	 * without this flag is an operator's drain). Not read by the packet
	 * path: it is the control plane's record, so a restarted xlbd starts
	 * this real down until it passes `rise` checks. */
	XLB_REAL_F_HEALTH_DOWN = 1 << 2,
};

/* Indexed by real id. A real id belongs to one (service, address, port);
 * `gen` changes whenever the id is given to another real, so a connection
 * recorded for an old owner of the id is never sent to the new one. */
struct xlb_real {
	__be32 addr[4];
	__u32 service_id;
	__u32 gen;
	__u32 weight;    /* 0: drained, takes no new flows, keeps its own */
	__u32 flags;     /* enum xlb_real_flags */
	__u32 ifindex;   /* egress interface of the next hop */
	__u8 dmac[6];    /* next hop's MAC */
	__u8 smac[6];    /* egress interface's MAC */
	__be16 port;     /* real's port */
	__u8 family;
	__u8 pad;
};

/* ---- tunnels (forward: tunnel; docs/tunnel-design.md) ------------------- */

enum xlb_tunnel_flags {
	XLB_TUN_F_GUE = 1 << 0,       /* UDP to gue_port (GUE variant 1); else IPIP / IPv6-in-IPv6 */
	XLB_TUN_F_MSS_CLAMP = 1 << 1, /* lower a SYN's MSS option to mss */
};

/* Indexed by service id, for services with XLB_SVC_F_TUNNEL: how their
 * packets are wrapped. A map of its own rather than fields of xlb_service
 * or xlb_real, whose pinned maps an upgraded xlbd must adopt as they are
 * (a pinned map of another value size is refused). 44 bytes. */
struct xlb_tunnel {
	__u32 flags;            /* enum xlb_tunnel_flags */
	__be32 src[4];          /* outer source: src | (flow hash & src_hostmask) */
	__be32 src_hostmask[4]; /* the host bits of the source prefix (0: one address) */
	__be16 gue_port;        /* outer UDP destination port (GUE) */
	__u16 mtu;              /* largest outer IP packet toward the reals */
	__u16 mss;              /* with XLB_TUN_F_MSS_CLAMP: mtu - overhead - 40 (v4) / 60 (v6) */
	__u8 overhead;          /* bytes added: 20, 28 (IPv4) / 40, 48 (IPv6) */
	__u8 pad;
};

/* The slot of the (unpinned) prog array tunnel_progs that the loader fills
 * with the wrapping program xlb_tunnel, tail-called by xlb_xdp. */
#define XLB_TUNNEL_PROG_SLOT 0

/* ---- connection table and persistence ---------------------------------- */

/* A flow as the client sends it: client -> VIP. */
struct xlb_flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

enum xlb_conn_flags {
	XLB_CONN_F_CLOSING = 1 << 0, /* FIN or RST seen: shorter timeout */
	XLB_CONN_F_NAT = 1 << 1,     /* client -> VIP flow of a NAT service */
	/* TCP: the client sent an ACK without SYN, so the handshake is done
	 * (IPVS's input-only state table for direct routing decides
	 * ESTABLISHED the same way); without it the flow is half-open. Only
	 * the control plane reads it: active vs inactive connections. */
	XLB_CONN_F_ESTABLISHED = 1 << 2,
	/* A flow of a tunnel service (set from XLB_SVC_F_TUNNEL at creation):
	 * a hit encapsulates with tunnels[the service id]. */
	XLB_CONN_F_TUNNEL = 1 << 3,
};

/* A connection-table hit forwards without looking the service up: the
 * entry carries what the packet path needs, and the generations tell whether
 * its service and real are still the ones it was made for.
 * 40 bytes, so that a table element (the kernel's 48-byte header, the 40-byte
 * key, this) is exactly two cache lines: with 65536 flows every hit is a
 * cache miss, and it should cost two lines, not three or four. The NAT reply
 * half lives in a map of its own (struct xlb_nat_reply) for that reason. */
struct xlb_conn {
	__u32 real_id;
	__u32 real_gen;
	__u32 service_id;
	__u32 service_gen;
	__u32 timeout_s;          /* idle timeout while open (service's, at creation) */
	__u32 closing_timeout_s;  /* ... once FIN or RST was seen */
	__u32 flags;              /* enum xlb_conn_flags */
	__u32 pad;
	__u64 last_seen_ns;       /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC_COARSE */
};

/* The reply half of a NAT flow, in the map nat_replies keyed by the reply
 * (real -> client): the flow's state as in its connection-table entry
 * (timeouts, closing, service generation), the VIP and port the reply must
 * come from, and the next hop toward the client. */
struct xlb_nat_reply {
	struct xlb_conn conn;
	__be32 vip[4];
	__be16 vport;
	__u8 pad[2];
	/* From bpf_fib_lookup, asked again when older than
	 * XLB_NEXTHOP_REFRESH_NS. */
	__u32 nh_ifindex;
	__u64 nh_checked_ns;
	__u8 nh_dmac[6];
	__u8 nh_smac[6];
	__u8 pad2[4];
};

#define XLB_NEXTHOP_REFRESH_NS 1000000000ull

struct xlb_persist_key {
	__be32 client[4];    /* client address & service's persist_mask */
	__u32 service_id;
	__u8 family;
	__u8 pad[3];
};

struct xlb_persist {
	__u32 real_id;
	__u32 real_gen;
	__u64 last_seen_ns;
};

/* A real's (address, port, protocol), for the NAT reals set: traffic from
 * one of them that matches no flow is a reply we cannot place (counted);
 * anything else from a real is its own and goes up unseen. */
struct xlb_endpoint_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* ---- interfaces -------------------------------------------------------- */

/* The MAC of each interface the program is attached to. A unicast frame
 * for another MAC is another host's (a switch floods frames for a MAC it has
 * not learnt to every port, VRRP backups included): the kernel drops it as
 * PACKET_OTHERHOST, so the program must not forward it either.
 * An array of XLB_MAX_IFACES slots, read on every packet xlb may forward (an
 * array read costs a fraction of a hash lookup): interface i sits in slot
 * xlb_iface_slot(i) or, when that is taken, in the next free slot after it
 * (linear probing); a lookup stops at a free slot. */
struct xlb_iface {
	__u32 ifindex;  /* 0: a free slot */
	__u8 mac[6];
	__u8 pad[2];
};

static inline __u32 xlb_iface_slot(__u32 ifindex)
{
	return ifindex % XLB_MAX_IFACES;
}

/* ---- counters (per-CPU arrays; readers sum over CPUs) ------------------ */

/* Per service (indexed by service id) and per real (indexed by real id). */
struct xlb_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

/* Global counters: one per-CPU __u64 per reason. */
enum xlb_global_stat {
	XLB_STAT_PASSED = 0,      /* not for a VIP: handed to the kernel */
	XLB_STAT_DROPPED,         /* for a VIP but dropped (no real, option) */
	XLB_STAT_MALFORMED,       /* shorter than its headers claim: dropped */
	XLB_STAT_FRAGMENTS,       /* IP fragments for a VIP */
	XLB_STAT_NO_ROUTE,        /* next hop of the real unknown: passed up */
	XLB_STAT_CONN_HIT,
	XLB_STAT_CONN_MISS,
	XLB_STAT_TX,              /* forwarded out of the interface it came in */
	XLB_STAT_REDIRECT,        /* forwarded out of another interface */
	XLB_STAT_ICMP_FORWARDED,  /* frag-needed / packet-too-big sent to a real */
	XLB_STAT_NO_REAL,         /* service without a real that takes flows */
	XLB_STAT_NAT_REPLY,       /* replies from reals rewritten to come from the VIP */
	XLB_STAT_NAT_UNMATCHED,   /* from a NAT real's port, matching no flow: passed up */
	XLB_STAT_NOT_OURS,        /* for a VIP (or from a NAT real) but another host's MAC: passed up */
	XLB_STAT_FLOW_UNRECORDED, /* new DR flows forwarded without an entry: past the flood rate */
	XLB_STAT_NAT_FLOOD_DROPPED,   /* new NAT flows dropped: past the flood rate */
	XLB_STAT_PERSIST_UNRECORDED,  /* persistence choices not recorded: past the flood rate */
	XLB_STAT_CONN_INSERT_FAILED,  /* bpf_map_update_elem failed, per table */
	XLB_STAT_NAT_REPLY_INSERT_FAILED,
	XLB_STAT_PERSIST_INSERT_FAILED,
	XLB_STAT_NAT_REPLY_RESTORED,  /* a NAT flow's evicted reply entry made again */
	XLB_STAT_VRRP_DROPPED,    /* VRRP (protocol 112) fragments or TTL != 255: dropped */
	/* Tunnel services (bpf/tunnel.h): a packet too big for tunnel mtu once
	 * encapsulated got ICMP frag-needed / packet-too-big from the VIP; */
	XLB_STAT_TUN_TOO_BIG,
	XLB_STAT_TUN_TOO_BIG_LIMITED, /* ... would have, past XLB_ICMP_RATE_DEFAULT: dropped */
	XLB_STAT_TUN_TOO_BIG_DROPPED, /* ... IPv4 without DF (or ICMP): dropped */
	XLB_STAT_TUN_MSS_CLAMPED, /* a SYN's MSS option lowered to the tunnel's mss */
	XLB_STAT_TUN_ENCAP_FAILED, /* no tunnels entry, family mismatch or no headroom: dropped */
	/* Flow-state sync (bpf/sync.h): flow events the ring flow_events took; */
	XLB_STAT_SYNC_EVENTS,
	XLB_STAT_SYNC_RING_FULL,  /* ... did not take (full: nobody reads it): dropped */
	XLB_STAT__COUNT,
};

/* ---- flow-state sync (docs/sync-design.md) ----------------------------- */

/* What the data path tells the control plane about its flows, for the peers
 * (bpf/sync.h). Set in .rodata at load (dataplane::ProgramOptions): off, the
 * program pays one constant test that the verifier removes. */
enum xlb_sync_mode {
	XLB_SYNC_OFF = 0,
	XLB_SYNC_PER_FLOW = 1, /* one ring record per event (no BPF_F_TIMER_CPU_PIN) */
	XLB_SYNC_BATCHED = 2,  /* per-CPU batches, partial ones sent by a 1 ms timer */
};

#define XLB_FLOW_EVENT_BATCH 16
#define XLB_SYNC_RING_DEFAULT (4u << 20) /* bytes of flow_events: ~0.6 s at 100k flows/s */

enum xlb_flow_event_type {
	XLB_FLOW_EV_NEW = 1,     /* a connection-table entry made (DR, NAT, tunnel) */
	XLB_FLOW_EV_CLOSING = 2, /* the first FIN or RST an entry saw */
};

/* 64 bytes. A NAT flow's reply half is not sent: it follows from the flow
 * and the real (nat_reply_key, bpf/nat.h). */
struct xlb_flow_event {
	struct xlb_flow_key flow; /* client -> VIP */
	__u32 service_id;
	__u32 real_id;
	__u32 real_gen;
	__u16 type;               /* enum xlb_flow_event_type */
	__u16 conn_flags;         /* enum xlb_conn_flags of the entry */
	__u64 last_seen_ns;       /* the entry's, bpf_ktime_get_coarse_ns() */
};

/* One record of the ring flow_events: `count` events of one CPU (1 with
 * XLB_SYNC_PER_FLOW), the record only as long as they are. */
struct xlb_flow_event_batch {
	__u32 count;
	__u32 cpu;
	struct xlb_flow_event ev[XLB_FLOW_EVENT_BATCH];
};

/* ---- trace (xlbctl trace) ---------------------------------------------- */

/* A frame run through the loaded program with BPF_PROG_TEST_RUN, carrying
 * this struct as its XDP metadata (the 32 bytes before ctx->data) with `key`
 * equal to the program's xlb_trace_key (random per load, bpf/trace.h), is a
 * trace: the program decides as for any frame and rewrites the frame alike,
 * but changes no state (no table entry, timestamp or counter) and writes its
 * decision here instead. The caller reads it back from the metadata that
 * test_run returns before the frame. */
enum xlb_trace_flags {
	XLB_TRACE_F_SEEN = 1 << 0,        /* the program took the frame as a trace */
	XLB_TRACE_F_SERVICE = 1 << 1,     /* service_id is the flow's service */
	XLB_TRACE_F_NEW_CONN = 1 << 2,    /* a TCP SYN: re-selects over any entry */
	XLB_TRACE_F_CONN_HIT = 1 << 3,    /* real from the flow's connection-table entry */
	XLB_TRACE_F_PERSIST_HIT = 1 << 4, /* real from the client's persistence entry */
	XLB_TRACE_F_MAGLEV = 1 << 5,      /* real from Maglev slot maglev_slot */
	XLB_TRACE_F_WOULD_RECORD = 1 << 6, /* a real packet would make the flow's entry */
	XLB_TRACE_F_NAT = 1 << 7,         /* destination rewritten to the real (NAT) */
	XLB_TRACE_F_NAT_REPLY = 1 << 8,   /* a NAT real's reply, source rewritten to the VIP */
	XLB_TRACE_F_ICMP = 1 << 9,        /* a PMTU error about the flow */
	XLB_TRACE_F_TUNNEL = 1 << 10,     /* encapsulated to the real (tunnels[service_id]) */
};

struct xlb_trace {
	__u32 key;          /* in: xlb_trace_key of the loaded program */
	__u32 flags;        /* out: enum xlb_trace_flags */
	__u32 reasons;      /* out: bit r: a real packet would count global stat r */
	__u32 service_id;   /* out: with XLB_TRACE_F_SERVICE */
	__u32 real_id;      /* out: the real chosen, 0: none */
	__u32 maglev_slot;  /* out: with XLB_TRACE_F_MAGLEV */
	__u32 out_ifindex;  /* out: the interface of XDP_TX / XDP_REDIRECT */
	__u32 pad;
};
/* XDP metadata is at most 32 bytes, a multiple of 4, and every global stat
 * has a bit in `reasons`: bpf/trace.h checks both at compile time. */

/* ---- sync: applying peers' flows (sync_apply, docs/sync-design.md) ----- */

/* A peer director's flow, translated by xlbd to this director's ids
 * (dataplane/sync_applier.h), for the syscall program sync_apply
 * (bpf/sync_apply.h), which reads a batch of them from its .bss. */
#define XLB_SYNC_APPLY_MAX 139 /* records of a 9000-byte datagram */

enum xlb_sync_apply_result {
	XLB_SYNC_NONE = 0,         /* reply_result of a flow that is not NAT */
	XLB_SYNC_INSERTED,         /* no entry here: made (or replaced a dead one) */
	XLB_SYNC_REFRESHED,        /* same real, the copy newer: last_seen/flags updated */
	XLB_SYNC_REPLACED,         /* a peer's older copy for another real: replaced */
	XLB_SYNC_KEPT_OWN,         /* a live entry this director made: kept */
	XLB_SYNC_KEPT_NEWER,       /* a live entry at least as new: kept */
	XLB_SYNC_STALE,            /* service or real no longer the translated one */
	XLB_SYNC_NO_ROOM,          /* the table refused the insert */
	XLB_SYNC_RESULT__COUNT,
};

/* Marks an entry made from a peer's record (conn_table and nat_replies):
 * a live one is replaced by a newer copy; one without it is this
 * director's own and never is. */
#define XLB_CONN_F_SYNCED (1 << 4)

struct xlb_sync_apply_entry {  /* 72 bytes */
	struct xlb_flow_key flow;  /* client -> VIP */
	__u32 service_id;          /* this director's ids and generations */
	__u32 service_gen;
	__u32 real_id;
	__u32 real_gen;
	__be16 svc_port;           /* the service's port (0: all-ports service) */
	__u16 flags;               /* XLB_CONN_F_CLOSING | XLB_CONN_F_ESTABLISHED */
	__u32 age_ms;              /* now - last_seen at the sender */
	__u8 result;               /* out: enum xlb_sync_apply_result, conn_table */
	__u8 reply_result;         /* out: ... nat_replies (NAT flows; else NONE) */
	__u8 pad[6];
};

struct xlb_sync_apply_batch {
	__u32 count;               /* entries to apply, <= XLB_SYNC_APPLY_MAX */
	__u32 pad;
	/* CLOCK_MONOTONIC_COARSE (the data path's bpf_ktime_get_coarse_ns),
	 * read by xlbd: a syscall program cannot read that clock itself. */
	__u64 now_ns;
	struct xlb_sync_apply_entry e[XLB_SYNC_APPLY_MAX];
};

#endif /* XLB_ABI_H */
