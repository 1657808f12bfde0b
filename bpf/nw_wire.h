/* SPDX-License-Identifier: MIT */
/*
 * The wire format of a tone sample: the contract between netwatch-agent and
 * every receiver (the BPF collector, the socket hook, the fuzzers). Nothing
 * here is a map layout or a daemon setting; those are in collector.h.
 * Included by bpf/ (against vmlinux.h), user/ and agent/ (UAPI headers).
 *
 * Byte layout and rationale: docs/wire-format.md.
 */
#ifndef NW_WIRE_H
#define NW_WIRE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* ---------------------------------------------------------------- wire v1 */

#define NW_MAGIC 0x4E57544EU /* "NWTN" on the wire */
/* v2 (what netwatch-agent sends) is v1 plus the sender's per-start nonce
 * after the 40 header bytes, inside the tagged bytes; v1 is still accepted. */
#define NW_VERSION 2
#define NW_VERSION_V1 1
#define NW_DEFAULT_PORT 9999
#define NW_DEFAULT_RATE_HZ 20

/* The seed frequency plan: rack r, server s -> 1.0 + r + 0.05*s Hz, servers
 * 0..19 (tones stay inside the rack's 1 Hz band). The agent picks its tone
 * from it; the rack controller checks the received tone against it. */
#define NW_PLAN_SERVERS 20U
#define NW_PLAN_BASE_UHZ 1000000ULL /* 1.0 Hz */
#define NW_PLAN_RACK_UHZ 1000000ULL /* + 1 Hz per rack */
#define NW_PLAN_STEP_UHZ 50000ULL   /* + 0.05 Hz per server */

#define NW_FLAG_GOODBYE 0x01U /* agent stopped cleanly; seq = last generated */
#define NW_FLAG_AUTH 0x02U    /* an 8-byte SipHash-2-4 tag follows the sample */
/* An inter-rack tone (docs/fabric.md): wire v2 only, server_id is
 * NW_SERVER_FABRIC and the fabric block follows the nonce. */
#define NW_FLAG_FABRIC 0x04U
#define NW_FLAGS_KNOWN (NW_FLAG_GOODBYE | NW_FLAG_AUTH | NW_FLAG_FABRIC)

/* The server id of every fabric stream; agents refuse it as --server. On the
 * collector a path (src rack -> this rack) is the stream (src, this id). */
#define NW_SERVER_FABRIC 0xFFFFFFFFU

#define NW_TAG_LEN 8

/* Every multi-byte field is big-endian. Naturally aligned: no padding. */
struct nw_wire_sample {
	__be32 magic;
	__u8 version;
	__u8 flags;
	__be16 rack_id;
	__be32 server_id;
	__be32 freq_uhz; /* the sender's tone, micro-hertz */
	__be32 rate_uhz; /* the sender's sample rate, micro-hertz */
	__be32 value;    /* IEEE-754 binary32 bits of A*sin(2*pi*f*t_k) */
	__be64 seq;      /* k, from 0 at agent start */
	__be64 tx_ns;    /* t_k on the sender's CLOCK_TAI, ns */
	__be64 nonce;    /* v2 only: random, new at every agent start */
};

/* FABRIC only, after the nonce (offset 48), inside the tagged bytes. */
struct nw_wire_fabric {
	__be16 dst_rack;   /* the rack the path goes to: its collector checks it is itself */
	__be16 mesh_epoch; /* the limited mesh's rotation epoch, mod 65536 */
	__be32 reserved;   /* 0; anything else is NW_MAL_FIELD */
};

#define NW_WIRE_LEN 40U /* a v1 sample, and v2's header before the nonce */
#define NW_NONCE_LEN 8U
#define NW_WIRE_V2_LEN (NW_WIRE_LEN + NW_NONCE_LEN)
#define NW_WIRE_LEN_AUTH (NW_WIRE_LEN + NW_TAG_LEN) /* v1, tagged */
#define NW_WIRE_V2_LEN_AUTH (NW_WIRE_V2_LEN + NW_TAG_LEN)
#define NW_FABRIC_LEN 8U
#define NW_WIRE_FABRIC_LEN (NW_WIRE_V2_LEN + NW_FABRIC_LEN) /* 56 */
#define NW_WIRE_FABRIC_LEN_AUTH (NW_WIRE_FABRIC_LEN + NW_TAG_LEN)
#define NW_WIRE_MAX NW_WIRE_FABRIC_LEN_AUTH /* the longest valid payload */
_Static_assert(sizeof(struct nw_wire_sample) == NW_WIRE_V2_LEN, "wire v2 is 48 bytes");
_Static_assert(sizeof(struct nw_wire_fabric) == NW_FABRIC_LEN, "the fabric block is 8 bytes");

/* The bytes a sample's tag covers (and where the tag starts): 40 for v1, 48
 * for v2, 56 for a FABRIC v2 sample. The flags are those of a parsed sample. */
static inline __attribute__((always_inline)) __u32 nw_wire_tagged_len(__u8 version, __u8 flags)
{
	if (version == NW_VERSION_V1)
		return NW_WIRE_LEN;
	return (flags & NW_FLAG_FABRIC) ? NW_WIRE_FABRIC_LEN : NW_WIRE_V2_LEN;
}

/* A validated sample in host byte order. */
struct nw_sample {
	__u16 rack_id;
	__u8 version;
	__u8 flags;
	__u32 server_id;
	__u32 freq_uhz;
	__u32 rate_uhz;
	__u32 value_bits;
	__u32 payload_len;
	__u64 seq;
	__u64 tx_ns;
	__u64 nonce;          /* version NW_VERSION only; 0 for v1 */
	__u8 tag[NW_TAG_LEN]; /* valid when flags & NW_FLAG_AUTH; 8-aligned (read as a word) */
	__u16 dst_rack;       /* FABRIC only (0 otherwise) */
	__u16 mesh_epoch;     /* FABRIC only */
};

/* Why a datagram to the NetWatch port was refused. Index into nw_stats.malformed. */
enum nw_malformed {
	NW_MAL_TRUNCATED = 0, /* frame holds fewer bytes than its IP/UDP lengths or the header need */
	NW_MAL_LENGTH,        /* payload length is not what version and flags require (40/48, 48/56,
			* FABRIC 56/64) */
	NW_MAL_MAGIC,
	NW_MAL_VERSION,
	NW_MAL_FLAGS,    /* unknown flag bits, or FABRIC on wire v1 */
	NW_MAL_FIELD,    /* a field out of range: rate 0, tone at or above rate/2, a
			  * FABRIC sample whose server_id is not NW_SERVER_FABRIC or
			  * whose reserved word is not 0, NW_SERVER_FABRIC without FABRIC */
	NW_MAL_AUTH,     /* tag missing or wrong where the rack has a key */
	NW_MAL_CHECKSUM, /* IPv4 header or UDP checksum wrong: the IP stack would drop it */
	NW_MAL__MAX,
};

#endif /* NW_WIRE_H */
