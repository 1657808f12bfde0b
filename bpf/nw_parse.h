/* SPDX-License-Identifier: MIT */
/*
 * The one parser of NetWatch frames and samples. Written so the same source
 * is verifiable BPF (every read is bounds-checked against `end` before it
 * happens, loops are unrolled) and plain C for the socket hook and the fuzzer.
 */
#ifndef NW_PARSE_H
#define NW_PARSE_H

#include "nw_wire.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Fixed-count loops: clang (BPF) and GCC (userspace) spell it differently;
 * an unknown pragma would break -Werror builds. */
#ifdef __clang__
#define NW_UNROLL _Pragma("unroll")
#else
#define NW_UNROLL _Pragma("GCC unroll 16")
#endif

/* Header views are read wherever they sit in the frame: an IPv6 header at
 * offset 14 or a sample at offset 42 is not naturally aligned. BPF allows
 * unaligned packet loads (and packing would cost byte-wise loads there);
 * in C an unaligned access through an aligned type is undefined, so the
 * userspace build reads through packed views. Same layout either way. */
#if defined(__bpf__)
#define NW_VIEW
#else
#define NW_VIEW __attribute__((packed))
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define nw_be16(x) __builtin_bswap16(x)
#define nw_be32(x) __builtin_bswap32(x)
#define nw_be64(x) __builtin_bswap64(x)
#else
#define nw_be16(x) (x)
#define nw_be32(x) (x)
#define nw_be64(x) (x)
#endif

#define NW_ETH_P_IP 0x0800
#define NW_ETH_P_IPV6 0x86DD
#define NW_ETH_P_8021Q 0x8100
#define NW_ETH_P_8021AD 0x88A8
#define NW_IPPROTO_UDP 17
#define NW_VLAN_MAX 2

/* Our own minimal header views: vmlinux.h and the UAPI headers disagree on
 * what they declare, and the parser must compile against both. */
struct nw_eth {
	__u8 dst[6];
	__u8 src[6];
	__be16 proto;
} NW_VIEW;
struct nw_vlan {
	__be16 tci;
	__be16 proto;
} NW_VIEW;
struct nw_ip4 {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__u8 saddr[4];
	__u8 daddr[4];
} NW_VIEW;
struct nw_ip6 {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
} NW_VIEW;
struct nw_udp {
	__be16 source;
	__be16 dest;
	__be16 len;
	__be16 check;
} NW_VIEW;

/* The wire sample as read from the packet: struct nw_wire_sample's layout. */
struct nw_wire_view {
	__be32 magic;
	__u8 version;
	__u8 flags;
	__be16 rack_id;
	__be32 server_id;
	__be32 freq_uhz;
	__be32 rate_uhz;
	__be32 value;
	__be64 seq;
	__be64 tx_ns;
} NW_VIEW;
_Static_assert(sizeof(struct nw_wire_view) == sizeof(struct nw_wire_sample), "view of wire v1");
_Static_assert(__builtin_offsetof(struct nw_wire_view, tx_ns) ==
		       __builtin_offsetof(struct nw_wire_sample, tx_ns),
	       "view of wire v1");

#define NW_OK (-1) /* nw_parse_* success; any other value is an nw_malformed reason */

enum nw_frame_verdict {
	NW_FRAME_PASS = 0,  /* not a datagram to our port: leave it alone */
	NW_FRAME_OURS,      /* a datagram to our port: payload located */
	NW_FRAME_MALFORMED, /* to our port, but its lengths are wrong */
};

struct nw_frame {
	const __u8 *payload;
	__u32 payload_len; /* as the UDP header claims; checked against the frame */
	__u8 family;       /* 4 or 6 */
	__u8 addr[16];     /* source address */
	__u16 udp_off;     /* the UDP header's offset from the frame's start, for
			    * helpers that take offsets (the chaos program's rewrite) */
	int reason;        /* nw_malformed when NW_FRAME_MALFORMED */
};

static __always_inline int nw_locate_udp(const __u8 *udp_start, const void *end, __u32 l4_room,
					 __u16 port, struct nw_frame *f)
{
	const struct nw_udp *udp = (const struct nw_udp *)udp_start;
	__u32 udp_len;

	if ((const void *)(udp + 1) > end)
		return NW_FRAME_PASS; /* cannot see the port: not ours to judge */
	if (udp->dest != nw_be16(port))
		return NW_FRAME_PASS;
	udp_len = nw_be16(udp->len);
	if (udp_len < sizeof(*udp) || udp_len > l4_room) {
		f->reason = NW_MAL_LENGTH;
		return NW_FRAME_MALFORMED;
	}
	f->payload = (const __u8 *)(udp + 1);
	f->payload_len = udp_len - (__u32)sizeof(*udp);
	if ((const void *)(f->payload + f->payload_len) > end) {
		f->reason = NW_MAL_TRUNCATED;
		return NW_FRAME_MALFORMED;
	}
	return NW_FRAME_OURS;
}

/*
 * Ethernet, up to two VLAN tags, IPv4 (options allowed, fragments passed) or
 * IPv6 (UDP as the first next header), UDP to `port`. The one place a
 * NetWatch datagram is recognised in a frame: the collector (both entries),
 * the fuzzer and the chaos program's corruption all call it.
 */
static __always_inline int nw_parse_frame(const void *data, const void *end, __u16 port,
					  struct nw_frame *f)
{
	const __u8 *p = (const __u8 *)data;
	const struct nw_eth *eth = (const struct nw_eth *)p;
	__u16 proto;
	__u32 off = sizeof(*eth);

	if ((const void *)(eth + 1) > end)
		return NW_FRAME_PASS;
	proto = nw_be16(eth->proto);

	NW_UNROLL
	for (int i = 0; i < NW_VLAN_MAX; i++) {
		const struct nw_vlan *vlan;

		if (proto != NW_ETH_P_8021Q && proto != NW_ETH_P_8021AD)
			break;
		vlan = (const struct nw_vlan *)(p + off);
		if ((const void *)(vlan + 1) > end)
			return NW_FRAME_PASS;
		proto = nw_be16(vlan->proto);
		off += sizeof(*vlan);
	}

	if (proto == NW_ETH_P_IP) {
		const struct nw_ip4 *ip = (const struct nw_ip4 *)(p + off);
		__u32 ihl_bytes, tot_len;

		if ((const void *)(ip + 1) > end)
			return NW_FRAME_PASS;
		if ((ip->ver_ihl >> 4) != 4 || ip->protocol != NW_IPPROTO_UDP)
			return NW_FRAME_PASS;
		if (ip->frag_off & nw_be16(0x3FFF))
			return NW_FRAME_PASS; /* a fragment: the UDP header is not ours to read */
		ihl_bytes = (__u32)(ip->ver_ihl & 0x0F) * 4;
		if (ihl_bytes < sizeof(*ip))
			return NW_FRAME_PASS;
		tot_len = nw_be16(ip->tot_len);
		if (tot_len < ihl_bytes)
			return NW_FRAME_PASS;
		f->family = 4;
		NW_UNROLL
		for (int i = 0; i < 4; i++)
			f->addr[i] = ip->saddr[i];
		f->udp_off = (__u16)(off + ihl_bytes);
		return nw_locate_udp((const __u8 *)ip + ihl_bytes, end, tot_len - ihl_bytes, port,
				     f);
	}
	if (proto == NW_ETH_P_IPV6) {
		const struct nw_ip6 *ip6 = (const struct nw_ip6 *)(p + off);

		if ((const void *)(ip6 + 1) > end)
			return NW_FRAME_PASS;
		if ((nw_be32(ip6->ver_tc_flow) >> 28) != 6 || ip6->nexthdr != NW_IPPROTO_UDP)
			return NW_FRAME_PASS;
		f->family = 6;
		NW_UNROLL
		for (int i = 0; i < 16; i++)
			f->addr[i] = ip6->saddr[i];
		f->udp_off = (__u16)(off + sizeof(*ip6));
		return nw_locate_udp((const __u8 *)(ip6 + 1), end, nw_be16(ip6->payload_len), port,
				     f);
	}
	return NW_FRAME_PASS;
}

/*
 * Validates a UDP payload that claims `len` bytes (already known to fit
 * before `end`) and fills `s` in host order. Returns NW_OK or the reason.
 */
static __always_inline int nw_parse_sample(const __u8 *payload, const void *end, __u32 len,
					   struct nw_sample *s)
{
	const struct nw_wire_view *w = (const struct nw_wire_view *)payload;
	__u32 want, value, exp;

	if (len < NW_WIRE_LEN || (const void *)(w + 1) > end)
		return NW_MAL_TRUNCATED;
	if (nw_be32(w->magic) != NW_MAGIC)
		return NW_MAL_MAGIC;
	if (w->version != NW_VERSION)
		return NW_MAL_VERSION;
	if (w->flags & ~NW_FLAGS_KNOWN)
		return NW_MAL_FLAGS;
	want = (w->flags & NW_FLAG_AUTH) ? NW_WIRE_LEN_AUTH : NW_WIRE_LEN;
	if (len != want)
		return NW_MAL_LENGTH;

	s->rack_id = nw_be16(w->rack_id);
	s->version = w->version;
	s->flags = w->flags;
	s->server_id = nw_be32(w->server_id);
	s->freq_uhz = nw_be32(w->freq_uhz);
	s->rate_uhz = nw_be32(w->rate_uhz);
	s->seq = nw_be64(w->seq);
	s->tx_ns = nw_be64(w->tx_ns);
	s->payload_len = len;
	value = nw_be32(w->value);
	s->value_bits = value;

	exp = (value >> 23) & 0xFFU;
	if (exp == 0xFFU)
		return NW_MAL_FIELD; /* NaN or infinity is never a tone sample */
	if (s->rate_uhz == 0 || s->freq_uhz == 0 || (__u64)s->freq_uhz * 2 >= s->rate_uhz)
		return NW_MAL_FIELD;

	if (s->flags & NW_FLAG_AUTH) {
		const __u8 *tag = payload + NW_WIRE_LEN;

		if ((const void *)(tag + NW_TAG_LEN) > end)
			return NW_MAL_TRUNCATED;
		NW_UNROLL
		for (int i = 0; i < NW_TAG_LEN; i++)
			s->tag[i] = tag[i];
	}
	return NW_OK;
}

#endif /* NW_PARSE_H */
