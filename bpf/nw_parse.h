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
_Static_assert(sizeof(struct nw_wire_view) + NW_NONCE_LEN == sizeof(struct nw_wire_sample),
	       "view of the header");
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
	__u16 l3_off;      /* the IP header's offset, for nw_check_sums */
	__u8 ihl_bytes;    /* IPv4 header length (0 for IPv6) */
	__u8 daddr[16];    /* destination address, for the UDP pseudo-header */
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
	int verdict;

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
		for (int i = 0; i < 4; i++) {
			f->addr[i] = ip->saddr[i];
			f->daddr[i] = ip->daddr[i];
		}
		f->udp_off = (__u16)(off + ihl_bytes);
		f->l3_off = (__u16)off;
		f->ihl_bytes = (__u8)ihl_bytes;
		verdict = nw_locate_udp((const __u8 *)ip + ihl_bytes, end, tot_len - ihl_bytes,
					port, f);
		/* The stack drops a datagram whose IP length runs past the frame. */
		if (verdict == NW_FRAME_OURS && (const void *)((const __u8 *)ip + tot_len) > end) {
			f->reason = NW_MAL_TRUNCATED;
			return NW_FRAME_MALFORMED;
		}
		return verdict;
	}
	if (proto == NW_ETH_P_IPV6) {
		const struct nw_ip6 *ip6 = (const struct nw_ip6 *)(p + off);

		if ((const void *)(ip6 + 1) > end)
			return NW_FRAME_PASS;
		if ((nw_be32(ip6->ver_tc_flow) >> 28) != 6 || ip6->nexthdr != NW_IPPROTO_UDP)
			return NW_FRAME_PASS;
		f->family = 6;
		NW_UNROLL
		for (int i = 0; i < 16; i++) {
			f->addr[i] = ip6->saddr[i];
			f->daddr[i] = ip6->daddr[i];
		}
		f->udp_off = (__u16)(off + sizeof(*ip6));
		f->l3_off = (__u16)off;
		f->ihl_bytes = 0;
		verdict = nw_locate_udp((const __u8 *)(ip6 + 1), end, nw_be16(ip6->payload_len),
					port, f);
		if (verdict == NW_FRAME_OURS &&
		    (const void *)((const __u8 *)(ip6 + 1) + nw_be16(ip6->payload_len)) > end) {
			f->reason = NW_MAL_TRUNCATED;
			return NW_FRAME_MALFORMED;
		}
		return verdict;
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
	__u32 want, value, exp, base;

	if (len < NW_WIRE_LEN || (const void *)(w + 1) > end)
		return NW_MAL_TRUNCATED;
	if (nw_be32(w->magic) != NW_MAGIC)
		return NW_MAL_MAGIC;
	if (w->version != NW_VERSION && w->version != NW_VERSION_V1)
		return NW_MAL_VERSION;
	if (w->flags & ~NW_FLAGS_KNOWN)
		return NW_MAL_FLAGS;
	/* v1 has no room for the fabric block: an older sender never sets it. */
	if ((w->flags & NW_FLAG_FABRIC) && w->version != NW_VERSION)
		return NW_MAL_FLAGS;
	base = nw_wire_tagged_len(w->version, w->flags);
	want = (w->flags & NW_FLAG_AUTH) ? base + NW_TAG_LEN : base;
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
	/* The fabric id names a path, never a server: only with the flag. */
	if ((s->server_id == NW_SERVER_FABRIC) != !!(s->flags & NW_FLAG_FABRIC))
		return NW_MAL_FIELD;

	s->nonce = 0;
	if (w->version == NW_VERSION) {
		const __u8 *n = payload + NW_WIRE_LEN;

		if ((const void *)(n + NW_NONCE_LEN) > end)
			return NW_MAL_TRUNCATED;
		NW_UNROLL
		for (unsigned i = 0; i < NW_NONCE_LEN; i++)
			s->nonce = s->nonce << 8 | n[i];
	}
	s->dst_rack = 0;
	s->mesh_epoch = 0;
	if (s->flags & NW_FLAG_FABRIC) {
		const __u8 *fb = payload + NW_WIRE_V2_LEN;

		if ((const void *)(fb + NW_FABRIC_LEN) > end)
			return NW_MAL_TRUNCATED;
		if (fb[4] | fb[5] | fb[6] | fb[7])
			return NW_MAL_FIELD;
		s->dst_rack = (__u16)(fb[0] << 8 | fb[1]);
		s->mesh_epoch = (__u16)(fb[2] << 8 | fb[3]);
	}
	if (s->flags & NW_FLAG_AUTH) {
		const __u8 *tag = payload + base;

		if ((const void *)(tag + NW_TAG_LEN) > end)
			return NW_MAL_TRUNCATED;
		NW_UNROLL
		for (int i = 0; i < NW_TAG_LEN; i++)
			s->tag[i] = tag[i];
	}
	return NW_OK;
}

/* A 16-bit word as it lies in memory (any alignment). */
static __always_inline __u16 nw_load16(const __u8 *p)
{
	__u16 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/* Ones' complement sum of 16-bit words as loaded: the Internet checksum is
 * byte-order independent (RFC 1071), so raw loads and raw constants agree. */
static __always_inline __u32 nw_csum_fold(__u64 sum)
{
	sum = (sum & 0xFFFFFFFFULL) + (sum >> 32);
	sum = (sum & 0xFFFFULL) + (sum >> 16);
	sum = (sum & 0xFFFFULL) + (sum >> 16);
	return (__u32)((sum & 0xFFFFULL) + (sum >> 16));
}

/*
 * What the IP stack would check before it delivers the datagram: the IPv4
 * header checksum and the UDP checksum (pseudo-header, header and the
 * payload of `payload_len` <= NW_WIRE_MAX bytes, i.e. after
 * nw_parse_sample accepted it). Returns NW_OK or NW_MAL_CHECKSUM.
 *
 * A UDP checksum of 0 means "none" in IPv4 and is refused in IPv6, as the
 * stack does. A datagram sent from this very host (a veth peer) may carry
 * checksum offload's partial value, the folded pseudo-header sum: the stack
 * trusts those (CHECKSUM_PARTIAL) and so do we; a corrupted frame matches it
 * by chance once in 65536.
 */
static __always_inline int nw_check_sums(const void *data, const void *end,
					 const struct nw_frame *f)
{
	const __u8 *l3 = (const __u8 *)data + f->l3_off;
	const __u8 *udp = (const __u8 *)data + f->udp_off;
	__u32 ulen = f->payload_len + 8, alen = f->family == 4 ? 4 : 16;
	__u64 pseudo = 0, sum;
	__u16 check;

	if (f->payload_len > NW_WIRE_MAX)
		return NW_MAL_CHECKSUM;
	if (f->family == 4) {
		sum = 0;
		NW_UNROLL
		for (__u32 i = 0; i < 60; i += 2) {
			if (i >= f->ihl_bytes)
				break;
			if ((const void *)(l3 + i + 2) > end)
				return NW_MAL_CHECKSUM;
			sum += nw_load16(l3 + i);
		}
		if (nw_csum_fold(sum) != 0xFFFF)
			return NW_MAL_CHECKSUM;
	}
	NW_UNROLL
	for (__u32 i = 0; i < 16; i += 2) {
		if (i >= alen)
			break;
		pseudo += (__u32)nw_load16(&f->addr[i]) + nw_load16(&f->daddr[i]);
	}
	pseudo += nw_be16(NW_IPPROTO_UDP) + nw_be16((__u16)ulen);
	if ((const void *)(udp + 8) > end)
		return NW_MAL_CHECKSUM;
	check = nw_load16(udp + 6);
	if (check == 0)
		return f->family == 4 ? NW_OK : NW_MAL_CHECKSUM;
	if (check == (__u16)nw_csum_fold(pseudo))
		return NW_OK; /* offload's partial checksum from a local sender */
	/* The payload is 40, 48, 56 or 64 bytes (nw_parse_sample): fixed loops. */
	if (ulen != 8 + NW_WIRE_LEN && ulen != 8 + NW_WIRE_V2_LEN &&
	    ulen != 8 + NW_WIRE_V2_LEN_AUTH && ulen != 8 + NW_WIRE_FABRIC_LEN_AUTH)
		return NW_MAL_CHECKSUM;
	if ((const void *)(udp + 8 + NW_WIRE_LEN) > end)
		return NW_MAL_CHECKSUM;
	sum = pseudo;
	NW_UNROLL
	for (__u32 i = 0; i < 8 + NW_WIRE_LEN; i += 2)
		sum += nw_load16(udp + i);
	if (ulen >= 8 + NW_WIRE_V2_LEN) {
		if ((const void *)(udp + 8 + NW_WIRE_V2_LEN) > end)
			return NW_MAL_CHECKSUM;
		NW_UNROLL
		for (__u32 i = 8 + NW_WIRE_LEN; i < 8 + NW_WIRE_V2_LEN; i += 2)
			sum += nw_load16(udp + i);
	}
	if (ulen >= 8 + NW_WIRE_V2_LEN_AUTH) {
		if ((const void *)(udp + 8 + NW_WIRE_V2_LEN_AUTH) > end)
			return NW_MAL_CHECKSUM;
		NW_UNROLL
		for (__u32 i = 8 + NW_WIRE_V2_LEN; i < 8 + NW_WIRE_V2_LEN_AUTH; i += 2)
			sum += nw_load16(udp + i);
	}
	if (ulen == 8 + NW_WIRE_FABRIC_LEN_AUTH) {
		if ((const void *)(udp + 8 + NW_WIRE_FABRIC_LEN_AUTH) > end)
			return NW_MAL_CHECKSUM;
		NW_UNROLL
		for (__u32 i = 8 + NW_WIRE_V2_LEN_AUTH; i < 8 + NW_WIRE_FABRIC_LEN_AUTH; i += 2)
			sum += nw_load16(udp + i);
	}
	return nw_csum_fold(sum) == 0xFFFF ? NW_OK : NW_MAL_CHECKSUM;
}

#endif /* NW_PARSE_H */
