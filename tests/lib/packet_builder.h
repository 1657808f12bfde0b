/* SPDX-License-Identifier: MIT */
/*
 * Builds NetWatch test frames: Ethernet, up to three VLAN tags, IPv4 (with
 * options, fragments) or IPv6, UDP (or another L4 protocol, or a raw
 * ethertype such as ARP), and a wire v1 sample. Every length is correct
 * unless a test overrides it on purpose. The one packet builder shared by
 * tests/bpf, tests/unit, tests/bench and the fuzzer's seed generator.
 */
#ifndef NW_PACKET_BUILDER_H
#define NW_PACKET_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nw_wire.h"

#define PB_RACK 7U
#define PB_PORT 9999U
#define PB_FRAME_MAX 512U

/* ------------------------------------------------------------ the sample */

struct pb_sample {
	uint32_t magic;
	uint8_t version;
	uint8_t flags;
	uint16_t rack_id;
	uint32_t server_id;
	uint32_t freq_uhz;
	uint32_t rate_uhz;
	uint32_t value_bits;
	uint64_t seq;
	uint64_t tx_ns;
	uint64_t nonce; /* emitted with version NW_VERSION (v2) only */
	/* The fabric block, emitted with NW_FLAG_FABRIC on v2 only. */
	uint16_t dst_rack;
	uint16_t mesh_epoch;
	uint32_t fabric_reserved;
	uint8_t tag[NW_TAG_LEN];
	int32_t len; /* payload bytes to emit; -1: what version and flags require */
};

static inline uint32_t pb_float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* A valid wire v1 sample: tone 1.35 Hz at 20 Hz (set version = NW_VERSION
 * and a nonce for v2). */
static inline struct pb_sample pb_sample_make(uint16_t rack, uint32_t server, uint64_t seq,
					      uint64_t tx_ns)
{
	struct pb_sample s;

	memset(&s, 0, sizeof(s));
	s.magic = NW_MAGIC;
	s.version = NW_VERSION_V1;
	s.rack_id = rack;
	s.server_id = server;
	s.freq_uhz = 1350000U;
	s.rate_uhz = 20000000U;
	s.value_bits = pb_float_bits(0.5f + (float)(seq % 7) * 0.125f);
	s.seq = seq;
	s.tx_ns = tx_ns;
	for (int i = 0; i < NW_TAG_LEN; i++)
		s.tag[i] = (uint8_t)(0xA0 + i);
	s.len = -1;
	return s;
}

static inline void pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
	pb_put16(p, (uint16_t)(v >> 16));
	pb_put16(p + 2, (uint16_t)v);
}

static inline void pb_put64(uint8_t *p, uint64_t v)
{
	pb_put32(p, (uint32_t)(v >> 32));
	pb_put32(p + 4, (uint32_t)v);
}

/* A valid FABRIC sample (wire v2) on the path src_rack -> dst_rack: tone
 * 1 Hz at 5 Hz, the fabric agent's defaults. */
static inline struct pb_sample pb_fabric_make(uint16_t src_rack, uint16_t dst_rack, uint64_t seq,
					      uint64_t tx_ns)
{
	struct pb_sample s = pb_sample_make(src_rack, NW_SERVER_FABRIC, seq, tx_ns);

	s.version = NW_VERSION;
	s.flags = NW_FLAG_FABRIC;
	s.nonce = 0x0123456789ABCDEFULL;
	s.freq_uhz = 1000000U;
	s.rate_uhz = 5000000U;
	s.dst_rack = dst_rack;
	return s;
}

static inline size_t pb_sample_len(const struct pb_sample *s)
{
	size_t base = s->version == NW_VERSION ? NW_WIRE_V2_LEN : NW_WIRE_LEN;

	if (s->version == NW_VERSION && (s->flags & NW_FLAG_FABRIC))
		base = NW_WIRE_FABRIC_LEN;

	if (s->len >= 0)
		return (size_t)s->len;
	return (s->flags & NW_FLAG_AUTH) ? base + NW_TAG_LEN : base;
}

/* Writes the sample's payload (pb_sample_len bytes, zero padded past the
 * tag) to `out` and returns its length. */
static inline size_t pb_put_sample(uint8_t *out, const struct pb_sample *s)
{
	uint8_t full[NW_WIRE_MAX];
	size_t len = pb_sample_len(s), base = NW_WIRE_LEN;

	pb_put32(full + 0, s->magic);
	full[4] = s->version;
	full[5] = s->flags;
	pb_put16(full + 6, s->rack_id);
	pb_put32(full + 8, s->server_id);
	pb_put32(full + 12, s->freq_uhz);
	pb_put32(full + 16, s->rate_uhz);
	pb_put32(full + 20, s->value_bits);
	pb_put64(full + 24, s->seq);
	pb_put64(full + 32, s->tx_ns);
	if (s->version == NW_VERSION) {
		pb_put64(full + NW_WIRE_LEN, s->nonce);
		base = NW_WIRE_V2_LEN;
		if (s->flags & NW_FLAG_FABRIC) {
			pb_put16(full + base, s->dst_rack);
			pb_put16(full + base + 2, s->mesh_epoch);
			pb_put32(full + base + 4, s->fabric_reserved);
			base = NW_WIRE_FABRIC_LEN;
		}
	}
	memcpy(full + base, s->tag, NW_TAG_LEN);
	memset(full + base + NW_TAG_LEN, 0, sizeof(full) - base - NW_TAG_LEN);
	memset(out, 0, len);
	memcpy(out, full, len < sizeof(full) ? len : sizeof(full));
	return len;
}

/* ------------------------------------------------------------- the frame */

#define PB_ETH_ARP 0x0806
#define PB_ETH_IP 0x0800
#define PB_ETH_IPV6 0x86DD
#define PB_ETH_8021Q 0x8100
#define PB_ETH_8021AD 0x88A8
#define PB_IPPROTO_ICMP 1
#define PB_IPPROTO_TCP 6
#define PB_IPPROTO_UDP 17

struct pb_frame {
	int family;         /* 4 or 6; 0: raw `ethertype` + payload (ARP...) */
	uint16_t ethertype; /* family 0 only */
	int nvlan;          /* 0..3 tags */
	uint16_t vlan_tpid[3];
	uint8_t l4_proto;      /* UDP; anything else gets an 8-byte L4 header
			      * with the ports in its first 4 bytes */
	uint16_t frag_off;     /* IPv4 flags + fragment offset, host order */
	uint8_t ip4_opt_words; /* IPv4 option words (4 bytes each, NOPs) */
	uint16_t sport, dport;
	int32_t udp_len; /* -1: 8 + payload */
	int32_t ip_len;  /* -1: correct (IPv4 total / IPv6 payload length) */
	uint8_t src[16], dst[16];
	size_t cut;            /* >0: drop this many bytes from the frame's end */
	uint16_t ip_csum_xor;  /* flips bits of the correct IPv4 header checksum */
	uint16_t udp_csum_xor; /* flips bits of the correct UDP checksum */
	uint8_t udp_csum_mode; /* PB_CSUM_* */
};

#define PB_CSUM_FULL 0    /* the complete checksum */
#define PB_CSUM_NONE 1    /* 0: "no checksum" */
#define PB_CSUM_PARTIAL 2 /* offload's partial value: the folded pseudo-header sum */

static inline struct pb_frame pb_frame_make(int family)
{
	struct pb_frame f;

	memset(&f, 0, sizeof(f));
	f.family = family;
	f.vlan_tpid[0] = PB_ETH_8021AD;
	f.vlan_tpid[1] = PB_ETH_8021Q;
	f.vlan_tpid[2] = PB_ETH_8021Q;
	f.l4_proto = PB_IPPROTO_UDP;
	f.sport = 40000;
	f.dport = PB_PORT;
	f.udp_len = -1;
	f.ip_len = -1;
	if (family == 6) {
		/* 2001:db8::11 -> 2001:db8::1 */
		uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x11 };
		uint8_t d6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };

		memcpy(f.src, s6, 16);
		memcpy(f.dst, d6, 16);
	} else {
		uint8_t s4[4] = { 198, 18, 7, 11 }, d4[4] = { 198, 18, 7, 1 };

		memcpy(f.src, s4, 4);
		memcpy(f.dst, d4, 4);
	}
	return f;
}

static inline uint32_t pb_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static inline uint16_t pb_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Builds the frame into buf (>= PB_FRAME_MAX bytes); returns its length. */
static inline size_t pb_build(uint8_t *buf, const struct pb_frame *f, const uint8_t *payload,
			      size_t plen)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x11 };
	size_t off = 0, l3, l4, l4_len, total;
	uint16_t proto;

	memset(buf, 0, PB_FRAME_MAX);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	off = 12;
	proto = f->family == 4 ? PB_ETH_IP : f->family == 6 ? PB_ETH_IPV6 : f->ethertype;
	for (int i = 0; i < f->nvlan && i < 3; i++) {
		pb_put16(buf + off, f->vlan_tpid[i]);
		pb_put16(buf + off + 2, (uint16_t)(100 + i)); /* TCI: VLAN id */
		off += 4;
	}
	pb_put16(buf + off, proto);
	off += 2;
	l3 = off;

	if (f->family != 4 && f->family != 6) {
		memcpy(buf + off, payload, plen);
		total = off + plen;
		return total - (f->cut < total ? f->cut : total);
	}

	l4_len = 8 + plen;
	if (f->family == 4) {
		size_t ihl = 20 + 4 * (size_t)f->ip4_opt_words;
		uint16_t tot = f->ip_len >= 0 ? (uint16_t)f->ip_len : (uint16_t)(ihl + l4_len);

		buf[l3] = (uint8_t)(0x40 | (ihl / 4));
		pb_put16(buf + l3 + 2, tot);
		pb_put16(buf + l3 + 4, 0x1234);
		pb_put16(buf + l3 + 6, f->frag_off);
		buf[l3 + 8] = 64;
		buf[l3 + 9] = f->l4_proto;
		memcpy(buf + l3 + 12, f->src, 4);
		memcpy(buf + l3 + 16, f->dst, 4);
		memset(buf + l3 + 20, 0x01, ihl - 20); /* NOP options */
		pb_put16(buf + l3 + 10,
			 (uint16_t)(pb_csum_fold(pb_csum_add(0, buf + l3, ihl)) ^ f->ip_csum_xor));
		l4 = l3 + ihl;
	} else {
		uint16_t pl = f->ip_len >= 0 ? (uint16_t)f->ip_len : (uint16_t)l4_len;

		pb_put32(buf + l3, 0x60000000U);
		pb_put16(buf + l3 + 4, pl);
		buf[l3 + 6] = f->l4_proto;
		buf[l3 + 7] = 64;
		memcpy(buf + l3 + 8, f->src, 16);
		memcpy(buf + l3 + 24, f->dst, 16);
		l4 = l3 + 40;
	}

	pb_put16(buf + l4, f->sport);
	pb_put16(buf + l4 + 2, f->dport);
	if (f->l4_proto == PB_IPPROTO_UDP) {
		uint16_t ulen = f->udp_len >= 0 ? (uint16_t)f->udp_len : (uint16_t)l4_len;
		uint32_t sum = 0;

		pb_put16(buf + l4 + 4, ulen);
		memcpy(buf + l4 + 8, payload, plen);
		/* Pseudo-header checksum over what is really there. */
		if (f->family == 4) {
			sum = pb_csum_add(sum, f->src, 4);
			sum = pb_csum_add(sum, f->dst, 4);
		} else {
			sum = pb_csum_add(sum, f->src, 16);
			sum = pb_csum_add(sum, f->dst, 16);
		}
		sum += PB_IPPROTO_UDP + (uint32_t)l4_len;
		if (f->udp_csum_mode == PB_CSUM_PARTIAL) {
			/* What a sender with checksum offload leaves in the
			 * frame: ~csum_tcpudp_magic(), the folded sum itself. */
			pb_put16(buf + l4 + 6, (uint16_t)~pb_csum_fold(sum));
		} else if (f->udp_csum_mode == PB_CSUM_NONE) {
			pb_put16(buf + l4 + 6, 0);
		} else {
			sum = pb_csum_add(sum, buf + l4, l4_len);
			uint16_t c = pb_csum_fold(sum);
			pb_put16(buf + l4 + 6, (uint16_t)((c ? c : 0xFFFF) ^ f->udp_csum_xor));
		}
	} else {
		memcpy(buf + l4 + 8, payload, plen);
	}
	total = l4 + l4_len;
	return total - (f->cut < total ? f->cut : total);
}

/* A frame carrying the sample. */
static inline size_t pb_sample_frame(uint8_t *buf, const struct pb_frame *f,
				     const struct pb_sample *s)
{
	uint8_t payload[256];
	size_t plen = pb_sample_len(s);

	if (plen > sizeof(payload))
		plen = sizeof(payload);
	struct pb_sample c = *s;
	c.len = (int32_t)plen;
	pb_put_sample(payload, &c);
	return pb_build(buf, f, payload, plen);
}

/* The most common case: an IPv4 frame with a valid sample. */
static inline size_t pb_simple(uint8_t *buf, uint32_t server, uint64_t seq, uint64_t tx_ns)
{
	struct pb_frame f = pb_frame_make(4);
	struct pb_sample s = pb_sample_make(PB_RACK, server, seq, tx_ns);

	return pb_sample_frame(buf, &f, &s);
}

#endif /* NW_PACKET_BUILDER_H */
