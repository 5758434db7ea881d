/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow hashing for Maglev slot selection: Bob Jenkins' lookup3 mixing (the
 * kernel's jhash), over the words of a flow or of a client address. */
#ifndef XLB_BPF_HASH_H
#define XLB_BPF_HASH_H

#include <linux/types.h>
#include "xlb_abi.h"

#define XLB_HASH_SEED 0x9e3779b9u

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define jhash_mix(a, b, c)                    \
	{                                     \
		a -= c; a ^= rol32(c, 4);  c += b; \
		b -= a; b ^= rol32(a, 6);  a += c; \
		c -= b; c ^= rol32(b, 8);  b += a; \
		a -= c; a ^= rol32(c, 16); c += b; \
		b -= a; b ^= rol32(a, 19); a += c; \
		c -= b; c ^= rol32(b, 4);  b += a; \
	}

#define jhash_final(a, b, c)                  \
	{                                     \
		c ^= b; c -= rol32(b, 14);    \
		a ^= c; a -= rol32(c, 11);    \
		b ^= a; b -= rol32(a, 25);    \
		c ^= b; c -= rol32(b, 16);    \
		a ^= c; a -= rol32(c, 4);     \
		b ^= a; b -= rol32(a, 14);    \
		c ^= b; c -= rol32(b, 24);    \
	}

/* Hash of an address (4 words; IPv4 uses word 0). */
static __always_inline __u32 hash_addr(const __be32 *addr)
{
	__u32 a, b, c;
	a = b = c = XLB_HASH_SEED + (4 << 2);
	a += addr[0];
	b += addr[1];
	c += addr[2];
	jhash_mix(a, b, c);
	a += addr[3];
	jhash_final(a, b, c);
	return c;
}

/* Hash of a client -> VIP flow: both addresses, both ports, protocol. */
static __always_inline __u32 hash_flow(const struct xlb_flow_key *f)
{
	__u32 a, b, c;
	a = b = c = XLB_HASH_SEED + (9 << 2) + f->proto;
	a += f->src[0];
	b += f->src[1];
	c += f->src[2];
	jhash_mix(a, b, c);
	a += f->src[3];
	b += f->dst[0];
	c += f->dst[1];
	jhash_mix(a, b, c);
	a += f->dst[2];
	b += f->dst[3];
	c += ((__u32)f->sport << 16) | f->dport;
	jhash_final(a, b, c);
	return c;
}

#endif /* XLB_BPF_HASH_H */
