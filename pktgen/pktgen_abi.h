/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What xlb-pktgen's BPF programs (pktgen.bpf.c, sink.bpf.c) and its C++
 * side share: the one definition of which flow the i-th packet belongs to,
 * and where the fields a flow changes sit in a frame. */
#ifndef XLB_PKTGEN_ABI_H
#define XLB_PKTGEN_ABI_H

#include <linux/types.h>

/* Flow i of a run: source address addr_first + i % addr_count (the
 * address's last 32 bits; the others stay as in the frame) and source port
 * port_first + (i / addr_count) % port_count. Offsets are from the start of
 * the frame, all even (16-bit words). */
struct xlb_pktgen_flows {
	__u32 addr_first;   /* host order */
	__u32 addr_count;   /* >= 1 */
	__u32 port_count;   /* >= 1 */
	__u16 port_first;   /* host order */
	__u16 saddr_off;    /* the source address's last 32 bits */
	__u16 sport_off;
	__u16 l4_csum_off;
	__u16 ip_csum_off;  /* 0: no IP header checksum (IPv6) */
	__u16 header_len;   /* bytes of headers the program restores, even */
	__u8 udp;           /* a UDP checksum that comes out 0 is sent as 0xffff */
	__u8 pad;
};

/* Room for the headers of flow 0's frame (Ethernet + IPv6 + TCP: 74). */
#define XLB_PKTGEN_HEADER_MAX 80

static inline __u32 xlb_pktgen_flow_addr(const volatile struct xlb_pktgen_flows *f, __u64 i)
{
	return f->addr_first + (__u32)(i % f->addr_count);
}

static inline __u16 xlb_pktgen_flow_port(const volatile struct xlb_pktgen_flows *f, __u64 i)
{
	return (__u16)(f->port_first + (__u32)((i / f->addr_count) % f->port_count));
}

/* The sink's counters, per CPU, per interface (keyed by ifindex). */
struct xlb_pktgen_sink_count {
	__u64 packets;
	__u64 bytes;
};

#define XLB_PKTGEN_SINK_MAX_INTERFACES 64

#endif /* XLB_PKTGEN_ABI_H */
