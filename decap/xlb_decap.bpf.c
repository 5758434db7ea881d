// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xlb-decap: the reals' side of tunnel forwarding. Decapsulates IPIP and GUE
 * packets that are ours and hands the inner packet to the kernel, which
 * then sees it as if it had come in directly (the VIP is on the real's
 * loopback, so the real answers from the VIP straight to the client).
 *
 * Ours, and nothing else is touched:
 *  - the outer destination is one of `locals` (the addresses the loader was
 *    given, by default those of the interface at attach time) - never "any
 *    address": with the VIP on lo every VIP is local too;
 *  - the outer protocol is IPIP (4: inner IPv4, 41: inner IPv6, in an IPv4
 *    or IPv6 outer header) or UDP to the configured GUE port;
 *  - the inner destination is one of `vips`.
 * Why so narrow: whoever can reach the real can put any source address in
 * the inner header. Unwrapping everything would let anyone on the network
 * deliver packets that look as if they came from a trusted (or local)
 * address to any local service, past the source filters of every router in
 * between. Limited to the VIPs, what gets in is what the director would
 * have sent anyway: packets to the load-balanced services; their source is
 * still unchecked (as with the kernel's ipip/fou), so keep IPIP and the GUE
 * port closed to all but the directors at the network's edge. The inner
 * packet then goes through the real's firewall as any other packet.
 *
 * GUE (draft-ietf-intarea-gue): variant 1, the UDP payload being the inner
 * IP packet itself (told apart by its first nibble, 4 or 6), is what
 * Katran and xlb send. Variant 0 is accepted in its plain form only: a
 * 4-byte header with version 0, no control bit, no optional fields (hlen 0),
 * no flags and protocol 4 or 41, which is what Linux's fou sends with
 * `encap gue` and no options; anything else to the GUE port (control
 * messages, optional fields such as remote checksum offload, whose meaning
 * we would have to implement) is counted malformed and dropped, as the
 * kernel's GUE receiver does with what it does not know.
 *
 * Not decapsulated, passed untouched: outer fragments (only the first one
 * holds the inner header; the kernel reassembles them, and the director
 * clamps the MSS so that there are none), IPv6 outer headers with extension
 * headers before the tunnelled one. An IPv4 outer header with options is
 * decapsulated: the whole outer header goes, its options concern the outer
 * hop only. The inner packet is not changed (TTL / hop limit included),
 * but for a congestion mark, see carry_ce.
 * The outer UDP checksum is not checked (the inner packet carries its own,
 * which the kernel checks), as Katran's decapsulator does. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "parse.h"
#include "csum.h"
#include "decap_abi.h"

#define IPPROTO_IPIP_ 4
#define IPPROTO_IPV6_ 41
#define GUE_HEADER_LEN 4

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_DECAP_MAX_VIPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_decap_addr);
	__type(value, __u32);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_DECAP_MAX_LOCALS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_decap_addr);
	__type(value, __u32);
} locals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_decap_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_DECAP_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 counter, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &counter);
	if (v)
		*v += 1;
	return verdict;
}

/* Whether the destination of `flow` is in `set` (vips or locals). */
static __always_inline int dst_in(void *set, const struct xlb_flow_key *flow)
{
	struct xlb_decap_addr key = {.family = flow->family};
	key.addr[0] = flow->dst[0];
	key.addr[1] = flow->dst[1];
	key.addr[2] = flow->dst[2];
	key.addr[3] = flow->dst[3];
	return bpf_map_lookup_elem(set, &key) != NULL;
}

/* Replaces everything between the Ethernet header and the inner packet by
 * nothing: the Ethernet header (`eth_len` bytes: 14, 18 with a tag; a
 * constant where inlined, so that the copies have a fixed size) moves
 * forward by `strip` bytes, and its type becomes the inner packet's. */
static __always_inline int strip_outer(struct xdp_md *ctx, const __u32 eth_len, __u32 strip,
				       __be16 inner_type)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 eth[18];
	if (data + eth_len > data_end)
		return -1;
	__builtin_memcpy(eth, data, eth_len);
	*(__be16 *)(eth + eth_len - 2) = inner_type;
	if (bpf_xdp_adjust_head(ctx, (int)strip))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + eth_len > data_end)
		return -1;
	__builtin_memcpy(data, eth, eth_len);
	return 0;
}

#define ECN_MASK 3
#define ECN_CE 3

/* The ECN field of an IPv4 or IPv6 header (parse checked its length). */
static __always_inline __u8 ecn_of(const struct packet *p)
{
	const __u8 *h = p->l3;
	return p->flow.family == XLB_DECAP_FAMILY_V4 ? h[1] & ECN_MASK : (h[1] >> 4) & ECN_MASK;
}

/* RFC 6040: congestion met on the way to the real (CE in the outer header)
 * is carried into the inner header when that one is ECN-capable, as the
 * kernel's tunnels do; the only change to the inner packet. A Not-ECT inner
 * packet stays as it is (RFC 6040 would drop it; the director copies the
 * inner ECN field to the outer header, so it does not happen with xlb). */
static __always_inline void carry_ce(const struct packet *outer, struct packet *in)
{
	if (ecn_of(outer) != ECN_CE)
		return;
	__u8 ecn = ecn_of(in);
	if (ecn == 0 || ecn == ECN_CE)
		return;
	__u8 *h = in->l3;
	if (in->flow.family == XLB_DECAP_FAMILY_V6) {
		h[1] |= ECN_CE << 4;
		return;
	}
	struct iphdr *ip = in->l3;
	__u16 old = *(__u16 *)h;
	h[1] |= ECN_CE;
	ip->check = csum_apply(ip->check, csum_delta(&old, h, 1));
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet outer = {};
	int r = parse_packet(&outer, data, data_end);
	if (r == PARSE_MALFORMED)
		/* The outer IP header is cut short: not readable, so not
		 * decapsulated; the kernel drops it. */
		return count(XLB_DECAP_MALFORMED, XDP_PASS);
	if (!outer.flow.family || r == PARSE_FRAGMENT || r == PARSE_ICMP)
		return count(XLB_DECAP_PASSED, XDP_PASS);
	if (!dst_in(&locals, &outer.flow))
		return count(XLB_DECAP_PASSED, XDP_PASS);

	void *inner = outer.l4;
	__u32 room = outer.l4_len; /* bytes of the outer payload left for the inner packet */
	__u8 inner_proto = outer.flow.proto;
	int gue = 0;
	if (r == PARSE_FLOW && outer.flow.proto == IPPROTO_UDP) {
		__u32 key = 0;
		struct xlb_decap_config *cfg = bpf_map_lookup_elem(&config, &key);
		if (!cfg || !cfg->gue_port || outer.flow.dport != cfg->gue_port)
			return count(XLB_DECAP_PASSED, XDP_PASS);
		gue = 1;
		struct udphdr *udp = outer.l4;
		room = bpf_ntohs(udp->len) - sizeof(*udp); /* parse checked len >= 8 */
		inner = udp + 1;
		__u8 *first = inner;
		if ((void *)(first + 1) > data_end)
			return count(XLB_DECAP_MALFORMED, XDP_DROP);
		if ((*first >> 4) == 4) {
			inner_proto = IPPROTO_IPIP_;
		} else if ((*first >> 4) == 6) {
			inner_proto = IPPROTO_IPV6_;
		} else {
			/* Variant 0: only the plain header (see above). */
			__u8 *h = inner;
			if ((void *)(h + GUE_HEADER_LEN) > data_end || room < GUE_HEADER_LEN)
				return count(XLB_DECAP_MALFORMED, XDP_DROP);
			if (h[0] != 0 || h[2] != 0 || h[3] != 0 ||
			    (h[1] != IPPROTO_IPIP_ && h[1] != IPPROTO_IPV6_))
				return count(XLB_DECAP_MALFORMED, XDP_DROP);
			inner_proto = h[1];
			inner = h + GUE_HEADER_LEN;
			room -= GUE_HEADER_LEN;
		}
	} else if (r != PARSE_OTHER ||
		   (outer.flow.proto != IPPROTO_IPIP_ && outer.flow.proto != IPPROTO_IPV6_)) {
		return count(XLB_DECAP_PASSED, XDP_PASS);
	}

	/* Ours by its outer header: from here on it is decapsulated, passed
	 * as not for a VIP, or dropped as malformed. */
	struct packet in = {};
	int ir = inner_proto == IPPROTO_IPIP_ ? parse_ipv4(&in, inner, data_end)
					      : parse_ipv6(&in, inner, data_end);
	if (ir == PARSE_MALFORMED)
		return count(XLB_DECAP_MALFORMED, XDP_DROP);
	/* The inner packet ends within the outer payload (not in padding). */
	__u32 inner_hlen = in.l4 - inner;
	if (inner_hlen > room || in.l4_len > room - inner_hlen)
		return count(XLB_DECAP_MALFORMED, XDP_DROP);
	if (!dst_in(&vips, &in.flow))
		return count(XLB_DECAP_NOT_VIP, XDP_PASS);

	carry_ce(&outer, &in);
	__u32 eth_len = outer.l3 - data;
	__u32 strip = inner - outer.l3;
	__be16 type = bpf_htons(inner_proto == IPPROTO_IPIP_ ? ETH_P_IP : ETH_P_IPV6);
	if (eth_len == 18 ? strip_outer(ctx, 18, strip, type) : strip_outer(ctx, 14, strip, type))
		return count(XLB_DECAP_MALFORMED, XDP_DROP);
	__u32 counter = gue ? (inner_proto == IPPROTO_IPIP_ ? XLB_DECAP_GUE_V4 : XLB_DECAP_GUE_V6)
			    : (inner_proto == IPPROTO_IPIP_ ? XLB_DECAP_IPIP_V4 : XLB_DECAP_IPIP_V6);
	return count(counter, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
