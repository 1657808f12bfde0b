/* SPDX-License-Identifier: MIT */
/*
 * Test cases shared by the BPF test (tests/bpf/test_collector.c, through the
 * real XDP and tc programs) and the unit test (tests/unit/rack/test_parse_account.c,
 * through the same parser and accounting code in userspace): every malformed
 * frame with its exact reason, and the sequence scenarios with their exact
 * counters and the record each sample must produce.
 */
#ifndef NW_CASES_H
#define NW_CASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet_builder.h"

/* ---------------------------------------------------------- malformed */

struct mal_case {
	char name[80];
	uint8_t frame[PB_FRAME_MAX];
	size_t len;
	int reason; /* enum nw_malformed */
};

struct mal_cases {
	size_t n;
	struct mal_case c[512];
};

static inline void mal_add(struct mal_cases *m, const char *name, int family,
			   const struct pb_frame *f, const struct pb_sample *s, int reason)
{
	struct mal_case *c;

	if (m->n >= sizeof(m->c) / sizeof(m->c[0]))
		abort();
	c = &m->c[m->n++];
	snprintf(c->name, sizeof(c->name), "ipv%d %s", family, name);
	c->len = pb_sample_frame(c->frame, f, s);
	c->reason = reason;
}

/* Every malformed sample to our port, for IPv4 and IPv6, from server 1 of
 * rack PB_RACK (registered or not, it must never get that far). */
static inline struct mal_cases *mal_cases_build(void)
{
	struct mal_cases *m = calloc(1, sizeof(*m));
	char name[64];

	if (!m)
		abort();
	for (int family = 4; family <= 6; family += 2) {
		const struct pb_frame f0 = pb_frame_make(family);
		const struct pb_sample s0 = pb_sample_make(PB_RACK, 1, 3, 1000000000ULL);
		struct pb_frame f;
		struct pb_sample s;

		s = s0;
		s.magic = 0x4E57544FU;
		mal_add(m, "bad magic", family, &f0, &s, NW_MAL_MAGIC);
		s = s0;
		s.magic = 0;
		mal_add(m, "zero magic", family, &f0, &s, NW_MAL_MAGIC);
		s = s0;
		s.version = 0;
		mal_add(m, "version 0", family, &f0, &s, NW_MAL_VERSION);
		s = s0;
		s.version = NW_VERSION + 1;
		mal_add(m, "version 3", family, &f0, &s, NW_MAL_VERSION);
		s = s0;
		s.version = NW_VERSION;
		s.len = NW_WIRE_LEN;
		mal_add(m, "v2 without its nonce", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.version = NW_VERSION;
		s.flags = NW_FLAG_AUTH;
		s.len = NW_WIRE_LEN_AUTH;
		mal_add(m, "v2 auth flag, 48 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.version = NW_VERSION;
		s.len = NW_WIRE_V2_LEN_AUTH;
		mal_add(m, "v2 no auth flag, 56 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.flags = NW_FLAG_FABRIC;
		s.server_id = NW_SERVER_FABRIC;
		mal_add(m, "v1 with the FABRIC flag", family, &f0, &s, NW_MAL_FLAGS);
		s = s0;
		s.flags = 0x08;
		mal_add(m, "flag 0x08", family, &f0, &s, NW_MAL_FLAGS);
		/* FABRIC (docs/fabric.md): its length rows and its two fields. */
		s = pb_fabric_make(PB_RACK, PB_RACK, 3, 1000000000ULL);
		s.len = NW_WIRE_V2_LEN;
		mal_add(m, "fabric without its block", family, &f0, &s, NW_MAL_LENGTH);
		s = pb_fabric_make(PB_RACK, PB_RACK, 3, 1000000000ULL);
		s.flags |= NW_FLAG_AUTH;
		s.len = NW_WIRE_FABRIC_LEN;
		mal_add(m, "fabric auth flag, 56 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = pb_fabric_make(PB_RACK, PB_RACK, 3, 1000000000ULL);
		s.len = NW_WIRE_FABRIC_LEN_AUTH;
		mal_add(m, "fabric no auth flag, 64 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = pb_fabric_make(PB_RACK, PB_RACK, 3, 1000000000ULL);
		s.server_id = 1;
		mal_add(m, "fabric from server 1", family, &f0, &s, NW_MAL_FIELD);
		s = pb_fabric_make(PB_RACK, PB_RACK, 3, 1000000000ULL);
		s.fabric_reserved = 0x100;
		mal_add(m, "fabric reserved not 0", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.version = NW_VERSION;
		s.server_id = NW_SERVER_FABRIC;
		mal_add(m, "fabric server id without the flag", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.flags = 0x80 | NW_FLAG_GOODBYE;
		mal_add(m, "flag 0x80", family, &f0, &s, NW_MAL_FLAGS);
		s = s0;
		s.rate_uhz = 0;
		mal_add(m, "rate 0", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.freq_uhz = 0;
		mal_add(m, "tone 0", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.freq_uhz = s.rate_uhz / 2;
		mal_add(m, "tone = rate/2", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.freq_uhz = s.rate_uhz / 2 + 1;
		mal_add(m, "tone > rate/2", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.freq_uhz = 0xFFFFFFFFU;
		s.rate_uhz = 0xFFFFFFFFU;
		mal_add(m, "tone = rate = max", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.value_bits = 0x7FC00000U;
		mal_add(m, "NaN value", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.value_bits = 0xFFC00001U;
		mal_add(m, "negative NaN value", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.value_bits = 0x7F800000U;
		mal_add(m, "+inf value", family, &f0, &s, NW_MAL_FIELD);
		s = s0;
		s.flags = NW_FLAG_AUTH;
		s.len = NW_WIRE_LEN;
		mal_add(m, "auth flag, 40 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.len = NW_WIRE_LEN_AUTH;
		mal_add(m, "no auth flag, 48 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.len = NW_WIRE_LEN + 1;
		mal_add(m, "41 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.flags = NW_FLAG_AUTH;
		s.len = NW_WIRE_LEN_AUTH + 1;
		mal_add(m, "auth flag, 49 bytes", family, &f0, &s, NW_MAL_LENGTH);
		s = s0;
		s.len = 200;
		mal_add(m, "200 bytes", family, &f0, &s, NW_MAL_LENGTH);

		/* UDP length against the IP length and the frame. */
		for (int ulen = 0; ulen < 8; ulen++) {
			f = f0;
			f.udp_len = ulen;
			snprintf(name, sizeof(name), "udp len %d < 8", ulen);
			mal_add(m, name, family, &f, &s0, NW_MAL_LENGTH);
		}
		f = f0;
		f.udp_len = 8 + NW_WIRE_LEN + 1;
		mal_add(m, "udp len > ip payload", family, &f, &s0, NW_MAL_LENGTH);
		f = f0;
		f.udp_len = 0xFFFF;
		mal_add(m, "udp len 65535", family, &f, &s0, NW_MAL_LENGTH);
		f = f0;
		f.udp_len = 8 + NW_WIRE_LEN + 16;
		f.ip_len = (family == 4 ? 20 : 0) + 8 + NW_WIRE_LEN + 16;
		mal_add(m, "udp and ip len > frame", family, &f, &s0, NW_MAL_TRUNCATED);

		/* Truncated at every byte of the 40-byte header: (a) the
		 * lengths say 40 but the frame ends early, (b) the lengths
		 * agree with the frame and say k < 40. */
		for (int k = 0; k < (int)NW_WIRE_LEN; k++) {
			f = f0;
			f.cut = NW_WIRE_LEN - (size_t)k;
			snprintf(name, sizeof(name), "frame cut at header byte %d", k);
			mal_add(m, name, family, &f, &s0, NW_MAL_TRUNCATED);
			s = s0;
			s.len = k;
			snprintf(name, sizeof(name), "consistent %d-byte payload", k);
			mal_add(m, name, family, &f0, &s, NW_MAL_TRUNCATED);
		}
		/* An authenticated sample cut inside its tag. */
		for (int k = (int)NW_WIRE_LEN; k < (int)NW_WIRE_LEN_AUTH; k++) {
			s = s0;
			s.flags = NW_FLAG_AUTH;
			f = f0;
			f.cut = NW_WIRE_LEN_AUTH - (size_t)k;
			snprintf(name, sizeof(name), "auth frame cut at tag byte %d", k - 40);
			mal_add(m, name, family, &f, &s, NW_MAL_TRUNCATED);
		}
		/* Issue 15, item 7: what the IP stack would drop. */
		f = f0;
		f.udp_csum_xor = 0x0100;
		mal_add(m, "bad udp checksum", family, &f, &s0, NW_MAL_CHECKSUM);
		f = f0;
		f.udp_csum_xor = 0xFFFF;
		mal_add(m, "udp checksum inverted", family, &f, &s0, NW_MAL_CHECKSUM);
		s = s0;
		s.seq ^= 1; /* the payload changed after the checksum was made */
		f = f0;
		f.udp_csum_xor = 0x0001;
		mal_add(m, "udp checksum off by one", family, &f, &s, NW_MAL_CHECKSUM);
		if (family == 4) {
			f = f0;
			f.ip_csum_xor = 0x0001;
			mal_add(m, "bad ipv4 header checksum", family, &f, &s0, NW_MAL_CHECKSUM);
			f = f0;
			f.ip4_opt_words = 2;
			f.ip_csum_xor = 0x8000;
			mal_add(m, "bad ipv4 header checksum with options", family, &f, &s0,
				NW_MAL_CHECKSUM);
		} else {
			f = f0;
			f.udp_csum_mode = PB_CSUM_NONE;
			mal_add(m, "udp checksum 0 over ipv6", family, &f, &s0, NW_MAL_CHECKSUM);
		}
		f = f0;
		f.ip_len = (family == 4 ? 20 : 0) + 8 + NW_WIRE_LEN + 1;
		mal_add(m, "ip length 1 past the frame", family, &f, &s0, NW_MAL_TRUNCATED);
		f = f0;
		f.ip_len = 1500;
		mal_add(m, "ip length 1500, frame short", family, &f, &s0, NW_MAL_TRUNCATED);

		/* Two VLAN tags do not change any of it. */
		f = f0;
		f.nvlan = 2;
		f.cut = 1;
		mal_add(m, "2 vlan tags, cut by 1", family, &f, &s0, NW_MAL_TRUNCATED);
		s = s0;
		s.version = 9;
		mal_add(m, "2 vlan tags, version 9", family, &f0, &s, NW_MAL_VERSION);
	}
	return m;
}

/* --------------------------------------------------------- other traffic */

struct pass_case {
	char name[64];
	uint8_t frame[PB_FRAME_MAX];
	size_t len;
};

struct pass_cases {
	size_t n;
	struct pass_case c[64];
};

static inline void pass_add(struct pass_cases *p, const char *name, const struct pb_frame *f,
			    const uint8_t *payload, size_t plen)
{
	struct pass_case *c = &p->c[p->n++];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->len = pb_build(c->frame, f, payload, plen);
}

/* Traffic the collector must leave alone and not count as malformed; all of
 * it carries a valid sample of a registered server (1) where it can. */
static inline struct pass_cases *pass_cases_build(void)
{
	struct pass_cases *p = calloc(1, sizeof(*p));
	uint8_t sample[NW_WIRE_LEN];
	struct pb_sample s = pb_sample_make(PB_RACK, 1, 3, 1000000000ULL);
	struct pb_frame f;
	const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	if (!p)
		abort();
	pb_put_sample(sample, &s);
	for (int family = 4; family <= 6; family += 2) {
		const struct pb_frame f0 = pb_frame_make(family);
		char name[64];

		f = f0;
		f.dport = 9998;
		snprintf(name, sizeof(name), "ipv%d udp to port 9998", family);
		pass_add(p, name, &f, sample, sizeof(sample));
		f = f0;
		f.dport = 53;
		f.sport = PB_PORT;
		snprintf(name, sizeof(name), "ipv%d udp from port 9999", family);
		pass_add(p, name, &f, sample, sizeof(sample));
		f = f0;
		f.l4_proto = PB_IPPROTO_TCP;
		snprintf(name, sizeof(name), "ipv%d tcp to port 9999", family);
		pass_add(p, name, &f, sample, sizeof(sample));
		f = f0;
		f.l4_proto = family == 4 ? PB_IPPROTO_ICMP : 58;
		snprintf(name, sizeof(name), "ipv%d icmp", family);
		pass_add(p, name, &f, sample, sizeof(sample));
		f = f0;
		f.nvlan = 3;
		snprintf(name, sizeof(name), "ipv%d three vlan tags", family);
		pass_add(p, name, &f, sample, sizeof(sample));
		f = f0;
		f.cut = NW_WIRE_LEN + 1;
		snprintf(name, sizeof(name), "ipv%d udp header cut", family);
		pass_add(p, name, &f, sample, sizeof(sample));
	}
	f = pb_frame_make(4);
	f.frag_off = 0x2000; /* MF, offset 0 */
	pass_add(p, "ipv4 first fragment (MF)", &f, sample, sizeof(sample));
	f = pb_frame_make(4);
	f.frag_off = 0x0001; /* offset 8 */
	pass_add(p, "ipv4 fragment offset 8", &f, sample, sizeof(sample));
	f = pb_frame_make(4);
	f.frag_off = 0x2000 | 0x0100;
	pass_add(p, "ipv4 middle fragment", &f, sample, sizeof(sample));
	f = pb_frame_make(4);
	f.nvlan = 1;
	f.vlan_tpid[0] = PB_ETH_8021Q;
	f.frag_off = 0x0005;
	pass_add(p, "vlan ipv4 last fragment", &f, sample, sizeof(sample));
	f = pb_frame_make(0);
	f.ethertype = PB_ETH_ARP;
	pass_add(p, "arp", &f, arp, sizeof(arp));
	f = pb_frame_make(0);
	f.ethertype = PB_ETH_ARP;
	f.nvlan = 1;
	pass_add(p, "vlan arp", &f, arp, sizeof(arp));
	f = pb_frame_make(0);
	f.ethertype = 0x88CC; /* LLDP */
	pass_add(p, "lldp", &f, arp, sizeof(arp));
	f = pb_frame_make(0);
	f.ethertype = PB_ETH_IP; /* claims IPv4, too short */
	pass_add(p, "runt ipv4", &f, arp, 10);
	f = pb_frame_make(0);
	f.ethertype = PB_ETH_IP;
	f.cut = 0;
	pass_add(p, "ethernet header only", &f, arp, 0);
	return p;
}

/* ----------------------------------------------------- sequence scenarios */

#define SEQ_MAX_STEPS 320
#define SEQ_NO_RECORD (-1)

/* The scenarios run on a controlled clock, in sample periods of the
 * sample's rate (20 Hz: SEQ_PERIOD_NS): step k arrives at rx_k (never
 * earlier than the step before) and was sent at tx_k, or at the absolute
 * tx_raw when `raw` (forged times). The unit test stamps rx itself; the BPF
 * test cannot set the kernel's clock, so it moves the server's past back by
 * the elapsed time instead (test_collector.c). */
#define SEQ_PERIOD_NS 50000000ULL

struct seq_step {
	uint64_t seq;
	int64_t tx_k;    /* tx = base + tx_k * period */
	int64_t rx_k;    /* rx = base + rx_k * period + latency */
	uint64_t tx_raw; /* with `raw`: tx as sent, whatever the clock says */
	uint8_t raw;
	uint8_t flags; /* NW_FLAG_* */
	uint8_t anom;  /* expected nw_outcome.anomaly (nw_anomaly + 1, or 0) */
	int rec;       /* expected record flags, or SEQ_NO_RECORD */
};

struct seq_want {
	uint64_t received, lost, duplicates, reordered, late, restarts, goodbyes, anomalous;
};

struct seq_case {
	const char *name;
	size_t n;
	struct seq_step steps[SEQ_MAX_STEPS];
	struct seq_want want;
};

static inline void seq_add(struct seq_case *c, uint64_t seq, int64_t tx_k, uint8_t flags, int rec)
{
	int64_t prev_rx = c->n ? c->steps[c->n - 1].rx_k : tx_k;

	if (c->n >= SEQ_MAX_STEPS)
		abort();
	memset(&c->steps[c->n], 0, sizeof(c->steps[c->n]));
	c->steps[c->n].seq = seq;
	c->steps[c->n].tx_k = tx_k;
	c->steps[c->n].rx_k = tx_k > prev_rx ? tx_k : prev_rx;
	c->steps[c->n].flags = flags;
	c->steps[c->n].rec = rec;
	c->n++;
}

/* The last step arrives `periods` after the one before it (not before its tx). */
static inline void seq_wait(struct seq_case *c, int64_t periods)
{
	struct seq_step *s = &c->steps[c->n - 1];
	int64_t prev_rx = c->n > 1 ? c->steps[c->n - 2].rx_k : s->tx_k;

	s->rx_k = prev_rx + periods;
}

/* A forged sample: absolute tx, expected to be dropped as `anom`. */
static inline void seq_forge(struct seq_case *c, uint64_t seq, uint64_t tx_raw, uint8_t flags,
			     int anom)
{
	seq_add(c, seq, c->n ? c->steps[c->n - 1].tx_k : 0, flags, SEQ_NO_RECORD);
	c->steps[c->n - 1].raw = 1;
	c->steps[c->n - 1].tx_raw = tx_raw;
	c->steps[c->n - 1].anom = (uint8_t)(anom + 1);
}

/* The expected anomaly of the last step (it is dropped, no record). */
static inline void seq_anom(struct seq_case *c, int anom)
{
	c->steps[c->n - 1].anom = (uint8_t)(anom + 1);
	c->steps[c->n - 1].rec = SEQ_NO_RECORD;
}

/* In-order samples a..b (inclusive) except `skip1`/`skip2`; the first one
 * of the case is a stream start. */
static inline void seq_range(struct seq_case *c, uint64_t a, uint64_t b, int64_t skip1,
			     int64_t skip2)
{
	for (uint64_t k = a; k <= b; k++) {
		if ((int64_t)k == skip1 || (int64_t)k == skip2)
			continue;
		seq_add(c, k, (int64_t)k, 0, c->n == 0 ? NW_REC_STREAM_START : 0);
	}
}

#define SEQ_NONE (-1)
#define SEQ_GOODBYE(c, seq, txk) seq_add((c), (seq), (txk), NW_FLAG_GOODBYE, NW_REC_GOODBYE)

static inline size_t seq_cases_build(struct seq_case **out)
{
	enum { N = 48 };
	struct seq_case *cs = calloc(N, sizeof(*cs)), *c;
	size_t n = 0;

	if (!cs)
		abort();
#define NEXT(nm)                \
	do {                    \
		c = &cs[n++];   \
		c->name = (nm); \
	} while (0)

	NEXT("in order 0..9");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	c->want = (struct seq_want){ .received = 10 };

	NEXT("gaps, window still open");
	seq_add(c, 0, 0, 0, NW_REC_STREAM_START);
	seq_add(c, 1, 1, 0, 0);
	seq_add(c, 2, 2, 0, 0);
	seq_add(c, 5, 5, 0, 0);
	seq_add(c, 6, 6, 0, 0);
	seq_add(c, 10, 10, 0, 0);
	c->want = (struct seq_want){ .received = 6 };

	NEXT("gaps, closed by goodbye");
	seq_add(c, 0, 0, 0, NW_REC_STREAM_START);
	seq_add(c, 1, 1, 0, 0);
	seq_add(c, 2, 2, 0, 0);
	seq_add(c, 5, 5, 0, 0);
	seq_add(c, 6, 6, 0, 0);
	seq_add(c, 10, 10, 0, 0);
	SEQ_GOODBYE(c, 10, 11);
	c->want = (struct seq_want){ .received = 6, .lost = 5, .goodbyes = 1 };

	NEXT("goodbye with trailing losses");
	seq_range(c, 0, 4, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 7, 8);
	c->want = (struct seq_want){ .received = 5, .lost = 3, .goodbyes = 1 };

	NEXT("duplicates");
	seq_add(c, 0, 0, 0, NW_REC_STREAM_START);
	seq_add(c, 0, 0, 0, SEQ_NO_RECORD);
	seq_add(c, 1, 1, 0, 0);
	seq_add(c, 1, 1, 0, SEQ_NO_RECORD);
	seq_add(c, 2, 2, 0, 0);
	seq_add(c, 2, 2, 0, SEQ_NO_RECORD);
	seq_add(c, 2, 2, 0, SEQ_NO_RECORD);
	c->want = (struct seq_want){ .received = 3, .duplicates = 4 };

	NEXT("reordering inside the window");
	seq_add(c, 0, 0, 0, NW_REC_STREAM_START);
	seq_add(c, 2, 2, 0, 0);
	seq_add(c, 1, 1, 0, NW_REC_REORDERED);
	seq_add(c, 3, 3, 0, 0);
	seq_add(c, 6, 6, 0, 0);
	seq_add(c, 4, 4, 0, NW_REC_REORDERED);
	seq_add(c, 5, 5, 0, NW_REC_REORDERED);
	seq_add(c, 4, 4, 0, SEQ_NO_RECORD); /* and then a duplicate of it */
	c->want = (struct seq_want){ .received = 7, .reordered = 3, .duplicates = 1 };

	NEXT("63 behind is reordered, 64 behind is late");
	seq_range(c, 0, 66, 2, 3);
	seq_add(c, 3, 3, 0, NW_REC_REORDERED);
	seq_add(c, 2, 2, 0, SEQ_NO_RECORD);
	c->want = (struct seq_want){ .received = 66, .lost = 1, .reordered = 1, .late = 1 };

	NEXT("very late (90 behind)");
	seq_range(c, 0, 99, 9, SEQ_NONE);
	seq_add(c, 9, 9, 0, SEQ_NO_RECORD);
	c->want = (struct seq_want){ .received = 99, .lost = 1, .late = 1 };

	NEXT("restart at 0 with a newer tx");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	seq_add(c, 0, 20, 0, NW_REC_STREAM_START | NW_REC_RESTART);
	seq_add(c, 1, 21, 0, 0);
	seq_add(c, 2, 22, 0, 0);
	c->want = (struct seq_want){ .received = 13, .restarts = 1 };

	NEXT("restart closes the old window");
	seq_range(c, 0, 9, 5, 7);
	seq_add(c, 0, 20, 0, NW_REC_STREAM_START | NW_REC_RESTART);
	seq_add(c, 2, 22, 0, 0);
	SEQ_GOODBYE(c, 3, 23);
	c->want = (struct seq_want){ .received = 10, .lost = 2 + 2, .restarts = 1, .goodbyes = 1 };

	NEXT("lower seq with an older tx is not a restart");
	seq_range(c, 0, 9, 4, SEQ_NONE);
	seq_add(c, 4, 4, 0, NW_REC_REORDERED);
	seq_add(c, 0, 0, 0, SEQ_NO_RECORD);
	c->want = (struct seq_want){ .received = 10, .reordered = 1, .duplicates = 1 };

	NEXT("goodbye, straggler, new stream");
	seq_range(c, 0, 4, 3, SEQ_NONE);
	SEQ_GOODBYE(c, 4, 5);
	seq_add(c, 3, 3, 0, SEQ_NO_RECORD); /* late: its stream is closed */
	seq_add(c, 0, 100, 0, NW_REC_STREAM_START);
	seq_add(c, 1, 101, 0, 0);
	c->want = (struct seq_want){ .received = 6, .lost = 1, .late = 1, .goodbyes = 1 };

	NEXT("repeated goodbye, goodbye before any sample");
	SEQ_GOODBYE(c, 5, 5);
	c->steps[c->n - 1].rec = SEQ_NO_RECORD;
	seq_range(c, 0, 2, SEQ_NONE, SEQ_NONE);
	c->steps[1].rec = NW_REC_STREAM_START;
	SEQ_GOODBYE(c, 2, 3);
	SEQ_GOODBYE(c, 2, 3);
	c->steps[c->n - 1].rec = SEQ_NO_RECORD;
	c->want = (struct seq_want){ .received = 3, .goodbyes = 1 };

	NEXT("start at seq 5: 0-4 pending while in the window");
	seq_range(c, 5, 63, SEQ_NONE, SEQ_NONE);
	c->want = (struct seq_want){ .received = 59 };

	NEXT("start at seq 5: 0-4 lost when they leave");
	seq_range(c, 5, 68, SEQ_NONE, SEQ_NONE);
	c->want = (struct seq_want){ .received = 64, .lost = 5 };

	NEXT("start at seq 5: a pending seq arrives");
	seq_range(c, 5, 6, SEQ_NONE, SEQ_NONE);
	seq_add(c, 2, 2, 0, NW_REC_REORDERED);
	for (uint64_t k = 7; k <= 68; k++)
		seq_add(c, k, (int64_t)k, 0, 0);
	c->want = (struct seq_want){ .received = 65, .lost = 4, .reordered = 1 };

	NEXT("start at seq 5, goodbye right away");
	seq_range(c, 5, 5, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 5, 6);
	c->want = (struct seq_want){ .received = 1, .lost = 5, .goodbyes = 1 };

	NEXT("start at seq 62: 62 pending");
	seq_range(c, 62, 62, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 62, 63);
	c->want = (struct seq_want){ .received = 1, .lost = 62, .goodbyes = 1 };

	NEXT("start at seq 63: 63 pending");
	seq_range(c, 63, 63, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 63, 64);
	c->want = (struct seq_want){ .received = 1, .lost = 63, .goodbyes = 1 };

	NEXT("start at seq 64: a join, nothing pending");
	seq_range(c, 64, 64, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 64, 65);
	c->want = (struct seq_want){ .received = 1, .goodbyes = 1 };

	NEXT("join at seq 1000: nothing before counts");
	seq_range(c, 1000, 1100, 1050, SEQ_NONE);
	SEQ_GOODBYE(c, 1102, 1103);
	c->want = (struct seq_want){ .received = 100, .lost = 3, .goodbyes = 1 };

	NEXT("a jump the elapsed time does not explain moves nothing (not 2^62 lost)");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	seq_add(c, 1ULL << 62, 10, 0, SEQ_NO_RECORD);
	seq_anom(c, NW_ANOM_SEQ_JUMP);
	seq_add(c, 10, 10, 0, 0);
	seq_add(c, 11, 11, 0, 0);
	c->want = (struct seq_want){ .received = 12, .anomalous = 1 };

	NEXT("a jump past NW_SEQ_JUMP_MAX after as long a silence is a new stream");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	seq_add(c, 9 + (1ULL << 25), 9 + (1LL << 25), 0, NW_REC_STREAM_START | NW_REC_RESTART);
	seq_add(c, 10 + (1ULL << 25), 10 + (1LL << 25), 0, 0);
	c->want = (struct seq_want){ .received = 12, .restarts = 1 };

	NEXT("a jump of exactly NW_SEQ_JUMP_MAX after as long a silence is loss");
	seq_range(c, 0, 0, SEQ_NONE, SEQ_NONE);
	seq_add(c, NW_SEQ_JUMP_MAX, (int64_t)NW_SEQ_JUMP_MAX, 0, 0);
	c->want = (struct seq_want){ .received = 2, .lost = NW_SEQ_JUMP_MAX - NW_SEQ_WINDOW };

	/* Issue 15, item 1: one forged sample must not make the server late
	 * forever (seq 2^63 with tx 2^64-1, then seq 2^63 with a plausible tx,
	 * then a plausible seq with a tx an hour ahead). */
	NEXT("forged seq 2^63 and tx 2^64-1 move nothing");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	seq_forge(c, 1ULL << 63, ~0ULL, 0, NW_ANOM_CLOCK);
	seq_add(c, 1ULL << 63, 10, 0, SEQ_NO_RECORD);
	seq_anom(c, NW_ANOM_SEQ_JUMP);
	seq_add(c, 12, 10 + 72000, 0, SEQ_NO_RECORD);
	c->steps[c->n - 1].rx_k = c->steps[c->n - 2].rx_k;
	seq_anom(c, NW_ANOM_TIME_JUMP);
	seq_add(c, 10, 10, 0, 0);
	seq_range(c, 11, 19, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 19, 20);
	c->want = (struct seq_want){ .received = 20, .goodbyes = 1, .anomalous = 3 };

	/* Item 2: a goodbye may not add more lost than the time explains. */
	NEXT("forged goodbyes at 2^63 and 2^24-1 ahead add nothing");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 1ULL << 63, 10);
	seq_anom(c, NW_ANOM_SEQ_JUMP);
	SEQ_GOODBYE(c, 9 + NW_SEQ_JUMP_MAX - 1, 10);
	seq_anom(c, NW_ANOM_SEQ_JUMP);
	SEQ_GOODBYE(c, 3, 10); /* below the stream: not its goodbye */
	seq_anom(c, NW_ANOM_GOODBYE);
	seq_range(c, 10, 12, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 12, 13);
	c->want = (struct seq_want){ .received = 13, .goodbyes = 1, .anomalous = 3 };

	/* Item 4: the largest seq then 0 is one restart, nothing lost. */
	NEXT("seq 2^64-1 then 0 is one restart");
	seq_add(c, ~0ULL, 0, 0, NW_REC_STREAM_START);
	seq_add(c, 0, 1, 0, NW_REC_STREAM_START | NW_REC_RESTART);
	seq_range(c, 1, 3, SEQ_NONE, SEQ_NONE);
	c->steps[2].rec = 0;
	c->want = (struct seq_want){ .received = 5, .restarts = 1 };

	NEXT("tx 0 or far from the receiver's clock is dropped");
	seq_range(c, 0, 4, SEQ_NONE, SEQ_NONE);
	seq_forge(c, 5, 0, 0, NW_ANOM_CLOCK);
	seq_forge(c, 5, (uint64_t)1 << 63, 0, NW_ANOM_CLOCK);
	seq_add(c, 2, 2 - 72000, 0, SEQ_NO_RECORD); /* in the window, an hour old */
	seq_anom(c, NW_ANOM_TIME_JUMP);
	seq_range(c, 5, 6, SEQ_NONE, SEQ_NONE);
	c->want = (struct seq_want){ .received = 7, .anomalous = 3 };

	/* Two agents with the same ids: the newer start wins once, the other
	 * is counted as an anomaly, not a restart per sample. */
	NEXT("two senders with the same ids: one restart, then anomalies");
	seq_range(c, 1000, 1004, SEQ_NONE, SEQ_NONE);
	seq_add(c, 0, 1005, 0, NW_REC_STREAM_START | NW_REC_RESTART);
	for (uint64_t k = 1; k <= 5; k++) {
		seq_add(c, 1004 + k, 1005 + (int64_t)k, 0, SEQ_NO_RECORD);
		seq_anom(c, NW_ANOM_SEQ_JUMP);
		seq_add(c, k, 1005 + (int64_t)k, 0, 0);
	}
	c->want = (struct seq_want){ .received = 11, .restarts = 1, .anomalous = 5 };

	NEXT("a second sender started earlier is not a restart");
	seq_range(c, 1000, 1004, SEQ_NONE, SEQ_NONE);
	seq_add(c, 900, 1005, 0, SEQ_NO_RECORD);
	seq_anom(c, NW_ANOM_RESTART);
	seq_range(c, 1005, 1006, SEQ_NONE, SEQ_NONE);
	c->steps[c->n - 2].rec = 0;
	c->want = (struct seq_want){ .received = 7, .anomalous = 1 };

	/* The stream's first sample has nothing to be checked against: if it
	 * was forged, the genuine samples take over once nothing fitting has
	 * been accepted for NW_RESYNC_NS. */
	NEXT("a forged first sample gives way after NW_RESYNC_NS");
	seq_add(c, 1ULL << 63, 1000, 0, NW_REC_STREAM_START); /* tx 50 s ahead */
	c->steps[c->n - 1].rx_k = 0;
	seq_add(c, 5000, 1, 0, SEQ_NO_RECORD); /* older tx, lower seq: late */
	seq_add(c, 5001, 2, 0, SEQ_NO_RECORD);
	seq_add(c, 5300, 300, 0, NW_REC_STREAM_START | NW_REC_RESTART); /* 15 s on */
	c->steps[c->n - 1].anom = NW_ANOM_RESYNC + 1;
	seq_add(c, 5301, 301, 0, 0);
	c->want = (struct seq_want){ .received = 3, .late = 2, .restarts = 1 };

	/* A stream that said goodbye (or went quiet) is not reopened by a
	 * replay: by then any capture is too old to resync it. */
	NEXT("a replay after the stream went quiet does not reopen it");
	seq_range(c, 0, 9, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 9, 10);
	seq_add(c, 5, 5, 0, SEQ_NO_RECORD);
	seq_wait(c, 2 * (int64_t)(NW_RESYNC_NS / SEQ_PERIOD_NS));
	seq_add(c, 7, 7, 0, SEQ_NO_RECORD); /* 20 s later: stale, but not fresh */
	seq_add(c, 3, 3, 0, SEQ_NO_RECORD);
	seq_range(c, 0, 1, SEQ_NONE, SEQ_NONE); /* then its next lifetime, fresh */
	c->steps[c->n - 2].tx_k = c->steps[c->n - 2].rx_k = c->steps[c->n - 3].rx_k + 1;
	c->steps[c->n - 2].rec = NW_REC_STREAM_START;
	c->steps[c->n - 1].tx_k = c->steps[c->n - 1].rx_k = c->steps[c->n - 2].rx_k + 1;
	c->want = (struct seq_want){ .received = 12, .late = 3, .goodbyes = 1 };

	/* Item 6 without a key: samples of an earlier lifetime replayed into
	 * the next one carry older tx and cannot move or close it. */
	NEXT("an earlier lifetime replayed moves nothing");
	seq_range(c, 0, 20, SEQ_NONE, SEQ_NONE);
	SEQ_GOODBYE(c, 20, 21);
	seq_add(c, 0, 100, 0, NW_REC_STREAM_START);
	seq_range(c, 1, 5, SEQ_NONE, SEQ_NONE);
	for (size_t k = c->n - 5; k < c->n; k++)
		c->steps[k].tx_k = c->steps[k].rx_k = 100 + (int64_t)c->steps[k].seq;
	seq_add(c, 10, 10, 0, SEQ_NO_RECORD);
	c->steps[c->n - 1].rx_k = 106;
	seq_anom(c, NW_ANOM_TIME_JUMP);
	SEQ_GOODBYE(c, 20, 21);
	c->steps[c->n - 1].rx_k = 106;
	seq_anom(c, NW_ANOM_TIME_JUMP);
	SEQ_GOODBYE(c, 3, 4);
	c->steps[c->n - 1].rx_k = 106;
	seq_anom(c, NW_ANOM_GOODBYE);
	seq_add(c, 6, 106, 0, 0);
	c->want = (struct seq_want){ .received = 28, .goodbyes = 1, .anomalous = 3 };

	NEXT("gap wider than the window");
	seq_range(c, 0, 0, SEQ_NONE, SEQ_NONE);
	seq_add(c, 200, 200, 0, 0);
	seq_add(c, 150, 150, 0, NW_REC_REORDERED); /* 50 behind: still pending */
	seq_add(c, 100, 100, 0, SEQ_NO_RECORD);    /* 100 behind: late */
	c->want = (struct seq_want){ .received = 3, .lost = 136, .reordered = 1, .late = 1 };

	NEXT("gap wider than the window, closed by goodbye");
	seq_range(c, 0, 0, SEQ_NONE, SEQ_NONE);
	seq_add(c, 200, 200, 0, 0);
	SEQ_GOODBYE(c, 200, 201);
	c->want = (struct seq_want){ .received = 2, .lost = 199, .goodbyes = 1 };

#undef NEXT
	if (n > N)
		abort();
	*out = cs;
	return n;
}

#endif /* NW_CASES_H */
