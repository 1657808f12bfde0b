/* SPDX-License-Identifier: MIT */
/*
 * SipHash-2-4 of the one message NetWatch authenticates: the 40 bytes of a
 * wire v1 sample, the 48 of a v2 one or the 56 of a FABRIC one (docs/wire-format.md). The agent tags with libsodium's
 * crypto_shorthash (the same function); this copy exists because the BPF
 * collector cannot call libsodium, and the socket hook includes it too so
 * both hooks judge a tag with the same code.
 *
 * The length is fixed, so there is no tail handling and every loop has a
 * constant trip count (unrolled for the verifier). Key and tag are the
 * byte strings libsodium uses: k0/k1 and the result are little-endian.
 */
#ifndef NW_SIPHASH_H
#define NW_SIPHASH_H

#include "nw_wire.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define NW_SIP_KEY_LEN 16U
#define NW_SIP_MSG_LEN NW_WIRE_LEN
#define NW_SIP_WORDS_MAX (NW_WIRE_FABRIC_LEN / 8U)
_Static_assert(NW_SIP_MSG_LEN % 8U == 0 && NW_WIRE_V2_LEN % 8U == 0 && NW_WIRE_FABRIC_LEN % 8U == 0,
	       "the samples are whole words: no tail block");

/* A little-endian 64-bit word at any alignment. BPF packet loads may be
 * unaligned (and a byte-wise memcpy would cost eight loads there); in C an
 * unaligned load through a u64 pointer is undefined, memcpy is not. */
static __always_inline __u64 nw_sip_le64(const __u8 *p)
{
	__u64 v;

#if defined(__bpf__)
	v = *(const __u64 *)p;
#else
	__builtin_memcpy(&v, p, sizeof(v));
#endif
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#define NW_SIP_ROTL(x, b) (__u64)(((x) << (b)) | ((x) >> (64 - (b))))

#define NW_SIP_ROUND(v0, v1, v2, v3)      \
	do {                              \
		v0 += v1;                 \
		v1 = NW_SIP_ROTL(v1, 13); \
		v1 ^= v0;                 \
		v0 = NW_SIP_ROTL(v0, 32); \
		v2 += v3;                 \
		v3 = NW_SIP_ROTL(v3, 16); \
		v3 ^= v2;                 \
		v0 += v3;                 \
		v3 = NW_SIP_ROTL(v3, 21); \
		v3 ^= v0;                 \
		v2 += v1;                 \
		v1 = NW_SIP_ROTL(v1, 17); \
		v1 ^= v2;                 \
		v2 = NW_SIP_ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of msg[0..len-1], len 40 (wire v1), 48 (v2: with the
 * nonce) or 56 (v2 FABRIC), under the key words k0, k1 (nw_sip_le64 of key bytes 0..7 and
 * 8..15). Returns the tag as a number; its wire bytes are that number
 * little-endian, as crypto_shorthash writes them. The caller has made sure
 * len bytes are there. */
static __always_inline __u64 nw_siphash(const __u8 *msg, __u32 len, __u64 k0, __u64 k1)
{
	__u64 v0 = 0x736f6d6570736575ULL ^ k0;
	__u64 v1 = 0x646f72616e646f6dULL ^ k1;
	__u64 v2 = 0x6c7967656e657261ULL ^ k0;
	__u64 v3 = 0x7465646279746573ULL ^ k1;
	__u64 b = (__u64)len << 56; /* the final block: length only */

#ifdef __clang__
#pragma unroll
#else
#pragma GCC unroll 8
#endif
	for (unsigned i = 0; i < NW_SIP_WORDS_MAX; i++) {
		__u64 m;

		if (8U * i >= len)
			break;
		m = nw_sip_le64(msg + 8U * i);
		v3 ^= m;
		NW_SIP_ROUND(v0, v1, v2, v3);
		NW_SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	v3 ^= b;
	NW_SIP_ROUND(v0, v1, v2, v3);
	NW_SIP_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	NW_SIP_ROUND(v0, v1, v2, v3);
	NW_SIP_ROUND(v0, v1, v2, v3);
	NW_SIP_ROUND(v0, v1, v2, v3);
	NW_SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static __always_inline __u64 nw_siphash40(const __u8 *msg, __u64 k0, __u64 k1)
{
	return nw_siphash(msg, NW_SIP_MSG_LEN, k0, k1);
}

/* 1 when the 8 bytes at `tag` are msg[0..len-1]'s tag. A 64-bit compare is
 * one instruction: no early exit a timing attacker could walk byte by byte. */
static __always_inline int nw_sip_tag_ok_len(const __u8 *msg, __u32 len, const __u8 *tag, __u64 k0,
					     __u64 k1)
{
	return nw_siphash(msg, len, k0, k1) == nw_sip_le64(tag);
}

/* The same for a 40-byte wire v1 sample. */
static __always_inline int nw_sip_tag_ok(const __u8 *msg, const __u8 *tag, __u64 k0, __u64 k1)
{
	return nw_sip_tag_ok_len(msg, NW_SIP_MSG_LEN, tag, k0, k1);
}

#endif /* NW_SIPHASH_H */
