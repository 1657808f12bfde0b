// SPDX-License-Identifier: MIT
/*
 * The shared parser (bpf/nw_parse.h) and accounting (bpf/nw_account.h) run
 * in userspace on the very cases the BPF test sends through the kernel
 * (tests/lib/nw_cases.h), so a logic bug shows up without root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nw_parse.h"
#include "nw_account.h"
#include "nw_cases.h"

/* Parses a frame from an exactly sized heap copy, so ASan sees any read
 * past its end. Returns the frame verdict; *reason gets NW_OK or why. */
static int parse(const uint8_t *frame, size_t len, struct nw_frame *f, struct nw_sample *s,
		 int *reason)
{
	uint8_t *copy = malloc(len ? len : 1);
	int verdict;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	memset(f, 0, sizeof(*f));
	memset(s, 0, sizeof(*s));
	verdict = nw_parse_frame(copy, copy + len, PB_PORT, f);
	*reason = f->reason;
	if (verdict == NW_FRAME_OURS) {
		assert_true(f->payload >= copy && f->payload + f->payload_len <= copy + len);
		*reason = nw_parse_sample(f->payload, copy + len, f->payload_len, s);
		if (*reason == NW_OK)
			*reason = nw_check_sums(copy, copy + len, f);
		f->payload = (const __u8 *)(uintptr_t)(f->payload -
						       copy); /* offset; copy is gone */
	}
	free(copy);
	return verdict;
}

static void test_valid_encapsulations(void **state)
{
	(void)state;
	static const struct {
		int nvlan;
		uint16_t tpid[2];
	} encs[] = {
		{ 0, { 0, 0 } },
		{ 1, { PB_ETH_8021Q, 0 } },
		{ 1, { PB_ETH_8021AD, 0 } },
		{ 2, { PB_ETH_8021AD, PB_ETH_8021Q } },
		{ 2, { PB_ETH_8021Q, PB_ETH_8021Q } },
	};

	for (int family = 4; family <= 6; family += 2) {
		for (size_t e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
			/* auth bit 0: tagged; bit 1: wire v2 (with a nonce). */
			for (int auth = 0; auth <= 3; auth++) {
				struct pb_frame f = pb_frame_make(family);
				struct pb_sample s = pb_sample_make(PB_RACK, 42, 1234567890123ULL,
								    0x1122334455667788ULL);
				uint8_t buf[PB_FRAME_MAX];
				struct nw_frame nf;
				struct nw_sample ns;
				size_t len, hdr, plen;
				int reason;

				f.nvlan = encs[e].nvlan;
				f.vlan_tpid[0] = encs[e].tpid[0];
				f.vlan_tpid[1] = encs[e].tpid[1];
				if (auth & 1)
					s.flags = NW_FLAG_AUTH | NW_FLAG_GOODBYE;
				if (auth & 2) {
					s.version = NW_VERSION;
					s.nonce = 0xF0E1D2C3B4A59687ULL;
				}
				plen = (auth & 2 ? 48 : 40) + (auth & 1 ? 8 : 0);
				len = pb_sample_frame(buf, &f, &s);
				hdr = 14 + 4 * (size_t)f.nvlan + (family == 4 ? 20 : 40) + 8;
				assert_int_equal(len, hdr + plen);
				assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
				assert_int_equal(reason, NW_OK);
				assert_int_equal((uintptr_t)nf.payload, hdr);
				assert_int_equal(nf.payload_len, plen);
				assert_int_equal(nf.family, family);
				assert_memory_equal(nf.addr, f.src, family == 4 ? 4 : 16);
				assert_int_equal(ns.rack_id, PB_RACK);
				assert_int_equal(ns.server_id, 42);
				assert_int_equal(ns.version, s.version);
				assert_true(ns.nonce == (auth & 2 ? s.nonce : 0));
				assert_int_equal(ns.flags, s.flags);
				assert_int_equal(ns.freq_uhz, s.freq_uhz);
				assert_int_equal(ns.rate_uhz, s.rate_uhz);
				assert_int_equal(ns.value_bits, s.value_bits);
				assert_int_equal(ns.payload_len, plen);
				assert_true(ns.seq == 1234567890123ULL);
				assert_true(ns.tx_ns == 0x1122334455667788ULL);
				if (auth & 1)
					assert_memory_equal(ns.tag, s.tag, NW_TAG_LEN);
			}
		}
	}
}

/* A FABRIC sample (docs/fabric.md): 56 bytes, 64 tagged, over IPv4 and
 * IPv6; the block's fields arrive, the checksum covers the whole payload. */
static void test_valid_fabric(void **state)
{
	(void)state;
	for (int family = 4; family <= 6; family += 2) {
		for (int auth = 0; auth <= 1; auth++) {
			struct pb_frame f = pb_frame_make(family);
			struct pb_sample s = pb_fabric_make(3, 9, 77, 0x1122334455667788ULL);
			uint8_t buf[PB_FRAME_MAX];
			struct nw_frame nf;
			struct nw_sample ns;
			size_t plen = auth ? NW_WIRE_FABRIC_LEN_AUTH : NW_WIRE_FABRIC_LEN;
			int reason;

			s.mesh_epoch = 0xBEEF;
			if (auth)
				s.flags |= NW_FLAG_AUTH;
			size_t len = pb_sample_frame(buf, &f, &s);
			assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
			assert_int_equal(reason, NW_OK);
			assert_int_equal(nf.payload_len, plen);
			assert_int_equal(ns.payload_len, plen);
			assert_int_equal(ns.rack_id, 3);
			assert_int_equal(ns.server_id, NW_SERVER_FABRIC);
			assert_int_equal(ns.dst_rack, 9);
			assert_int_equal(ns.mesh_epoch, 0xBEEF);
			assert_true(ns.nonce == s.nonce);
			assert_int_equal(nw_wire_tagged_len(ns.version, ns.flags),
					 NW_WIRE_FABRIC_LEN);
			if (auth)
				assert_memory_equal(ns.tag, s.tag, NW_TAG_LEN);
			/* A flipped bit in the block is caught by the UDP checksum. */
			buf[len - plen + NW_WIRE_V2_LEN + 1] ^= 1;
			assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
			assert_int_equal(reason, NW_MAL_CHECKSUM);
		}
	}
}

static void test_valid_variants(void **state)
{
	(void)state;
	struct pb_sample s = pb_sample_make(PB_RACK, 1, 0, 1);
	uint8_t buf[PB_FRAME_MAX];
	struct nw_frame nf;
	struct nw_sample ns;
	struct pb_frame f;
	int reason;

	/* IPv4 options: the UDP header moves. */
	f = pb_frame_make(4);
	f.ip4_opt_words = 3;
	size_t len = pb_sample_frame(buf, &f, &s);
	assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
	assert_int_equal(reason, NW_OK);
	assert_int_equal((uintptr_t)nf.payload, 14 + 32 + 8);
	/* DF is not a fragment. */
	f = pb_frame_make(4);
	f.frag_off = 0x4000;
	len = pb_sample_frame(buf, &f, &s);
	assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
	assert_int_equal(reason, NW_OK);
	/* Trailing bytes after the datagram (Ethernet padding) are fine. */
	f = pb_frame_make(4);
	len = pb_sample_frame(buf, &f, &s);
	assert_int_equal(parse(buf, len + 6, &nf, &ns, &reason), NW_FRAME_OURS);
	assert_int_equal(reason, NW_OK);
	/* Tone just below Nyquist, negative zero, largest finite float. */
	s.freq_uhz = s.rate_uhz / 2 - 1;
	s.value_bits = 0x80000000U;
	f = pb_frame_make(6);
	len = pb_sample_frame(buf, &f, &s);
	assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
	assert_int_equal(reason, NW_OK);
	s.value_bits = 0x7F7FFFFFU;
	len = pb_sample_frame(buf, &f, &s);
	assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
	assert_int_equal(reason, NW_OK);
	/* No UDP checksum (IPv4 only), and the partial checksum a local
	 * sender's offload leaves: both are what the stack accepts. */
	for (int fam = 4; fam <= 6; fam += 2) {
		f = pb_frame_make(fam);
		f.udp_csum_mode = PB_CSUM_PARTIAL;
		len = pb_sample_frame(buf, &f, &s);
		assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
		assert_int_equal(reason, NW_OK);
	}
	f = pb_frame_make(4);
	f.udp_csum_mode = PB_CSUM_NONE;
	len = pb_sample_frame(buf, &f, &s);
	assert_int_equal(parse(buf, len, &nf, &ns, &reason), NW_FRAME_OURS);
	assert_int_equal(reason, NW_OK);
}

static void test_malformed(void **state)
{
	(void)state;
	struct mal_cases *m = mal_cases_build();
	int counts[NW_MAL__MAX] = { 0 };

	for (size_t i = 0; i < m->n; i++) {
		struct nw_frame nf;
		struct nw_sample ns;
		int reason, verdict = parse(m->c[i].frame, m->c[i].len, &nf, &ns, &reason);

		if (verdict == NW_FRAME_PASS || reason != m->c[i].reason)
			fail_msg("%s: verdict %d reason %d, want reason %d", m->c[i].name, verdict,
				 reason, m->c[i].reason);
		counts[reason]++;
	}
	/* Every reason the parser can give is exercised. */
	for (int r = 0; r < NW_MAL__MAX; r++)
		if (r != NW_MAL_AUTH)
			assert_true(counts[r] > 0);
	free(m);
}

static void test_other_traffic(void **state)
{
	(void)state;
	struct pass_cases *p = pass_cases_build();

	assert_true(p->n >= 20);
	for (size_t i = 0; i < p->n; i++) {
		struct nw_frame nf;
		struct nw_sample ns;
		int reason, verdict = parse(p->c[i].frame, p->c[i].len, &nf, &ns, &reason);

		if (verdict != NW_FRAME_PASS)
			fail_msg("%s: verdict %d, want PASS", p->c[i].name, verdict);
	}
	free(p);
}

/* ------------------------------------------------------------ accounting */

#define PERIOD_NS SEQ_PERIOD_NS
/* About now on CLOCK_TAI: forged times far from it are the receiver's business. */
#define BASE_NS 1800000000000000000ULL

static uint64_t counter_sum(const struct nw_server_state *st)
{
	return st->received + st->lost + st->duplicates + st->reordered + st->late + st->restarts +
	       st->goodbyes;
}

static void assert_monotonic(const struct nw_server_state *a, const struct nw_server_state *b)
{
	assert_true(b->received >= a->received);
	assert_true(b->lost >= a->lost);
	assert_true(b->duplicates >= a->duplicates);
	assert_true(b->reordered >= a->reordered);
	assert_true(b->late >= a->late);
	assert_true(b->restarts >= a->restarts);
	assert_true(b->goodbyes >= a->goodbyes);
	assert_true(counter_sum(b) > counter_sum(a) || b->goodbyes == a->goodbyes);
}

static void test_sequence_scenarios(void **state)
{
	(void)state;
	struct seq_case *cs;
	size_t n = seq_cases_build(&cs);

	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		const struct seq_case *c = &cs[i];
		struct nw_server_state st, prev;

		memset(&st, 0, sizeof(st));
		for (size_t k = 0; k < c->n; k++) {
			const struct seq_step *step = &c->steps[k];
			struct pb_sample ps = pb_sample_make(
				PB_RACK, 1, step->seq,
				step->raw ? step->tx_raw
					  : BASE_NS + (uint64_t)(step->tx_k * (int64_t)PERIOD_NS));
			uint64_t rx = BASE_NS + (uint64_t)(step->rx_k * (int64_t)PERIOD_NS) +
				      1000000 + k * 1000;
			struct nw_sample s = { 0 };
			struct nw_outcome out;

			s.rack_id = ps.rack_id;
			s.server_id = ps.server_id;
			s.version = ps.version;
			s.flags = step->flags;
			s.freq_uhz = ps.freq_uhz;
			s.rate_uhz = ps.rate_uhz;
			s.seq = ps.seq;
			s.tx_ns = ps.tx_ns;
			prev = st;
			nw_account(&st, &s, rx, &out);
			assert_monotonic(&prev, &st);
			if (out.anomaly != step->anom)
				fail_msg("%s step %zu (seq %llu): anomaly %d, want %d", c->name, k,
					 (unsigned long long)step->seq, out.anomaly, step->anom);
			if (step->rec == SEQ_NO_RECORD) {
				if (out.record)
					fail_msg("%s step %zu (seq %llu): unexpected record",
						 c->name, k, (unsigned long long)step->seq);
			} else if (!out.record || out.rec_flags != step->rec) {
				fail_msg("%s step %zu (seq %llu): record %d flags %#x, want %#x",
					 c->name, k, (unsigned long long)step->seq, out.record,
					 out.rec_flags, step->rec);
			}
		}
		if (st.received != c->want.received || st.lost != c->want.lost ||
		    st.duplicates != c->want.duplicates || st.reordered != c->want.reordered ||
		    st.late != c->want.late || st.restarts != c->want.restarts ||
		    st.goodbyes != c->want.goodbyes || st.anomalous != c->want.anomalous)
			fail_msg("%s: rcv %llu lost %llu dup %llu reord %llu late %llu restarts %llu "
				 "bye %llu anom %llu; want %llu %llu %llu %llu %llu %llu %llu",
				 c->name, (unsigned long long)st.received,
				 (unsigned long long)st.lost, (unsigned long long)st.duplicates,
				 (unsigned long long)st.reordered, (unsigned long long)st.late,
				 (unsigned long long)st.restarts, (unsigned long long)st.goodbyes,
				 (unsigned long long)st.anomalous,
				 (unsigned long long)c->want.received,
				 (unsigned long long)c->want.lost,
				 (unsigned long long)c->want.duplicates,
				 (unsigned long long)c->want.reordered,
				 (unsigned long long)c->want.late,
				 (unsigned long long)c->want.restarts,
				 (unsigned long long)c->want.goodbyes);
	}
	free(cs);
}

static void test_midstream_flag(void **state)
{
	(void)state;
	struct nw_server_state st;
	struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000, .seq = 5, .tx_ns = 100 };
	struct nw_outcome out;

	/* Registered from discovery: seqs before the first one are not ours,
	 * even when the first one is small. */
	memset(&st, 0, sizeof(st));
	st.status = NW_ST_MIDSTREAM;
	nw_account(&st, &s, 200, &out);
	assert_int_equal(out.rec_flags, NW_REC_STREAM_START);
	assert_int_equal(st.status & (NW_ST_MIDSTREAM | NW_ST_STARTED), NW_ST_STARTED);
	s.seq = 6;
	s.tx_ns = 101;
	s.flags = NW_FLAG_GOODBYE;
	nw_account(&st, &s, 201, &out);
	assert_int_equal(st.lost, 1); /* only seq 6, never 0-4 */
	assert_int_equal(st.received, 1);
}

/* Independent RFC 3550 (section 6.4.1, A.8) reference: J += (|D| - J)/16. */
struct jref {
	int have;
	int64_t last_transit;
	double j;    /* the real-valued estimator */
	int64_t j16; /* the A.8 integer estimator, scaled by 16 */
};

static void jref_add(struct jref *r, uint64_t tx, uint64_t rx)
{
	int64_t transit = (int64_t)(rx - tx);

	if (r->have) {
		int64_t d = transit - r->last_transit;

		if (d < 0)
			d = -d;
		r->j += ((double)d - r->j) / 16.0;
		r->j16 += d - ((r->j16 + 8) >> 4);
	}
	r->have = 1;
	r->last_transit = transit;
}

static void test_jitter_reference(void **state)
{
	(void)state;
	struct nw_server_state st;
	struct jref ref = { 0 };
	uint64_t lcg = 12345;

	memset(&st, 0, sizeof(st));
	for (uint64_t k = 0; k < 500; k++) {
		struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000 };
		struct nw_outcome out;
		uint64_t delay;

		lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
		delay = 200000 + (lcg >> 33) % 3000000; /* 0.2 .. 3.2 ms */
		/* a few reordered pairs too: accounting sees arrival order */
		s.seq = (k % 50 == 10) ? k + 1 : (k % 50 == 11) ? k - 1 : k;
		s.tx_ns = BASE_NS + s.seq * PERIOD_NS;
		nw_account(&st, &s, s.tx_ns + delay, &out);
		assert_true(out.record);
		jref_add(&ref, s.tx_ns, s.tx_ns + delay);
		assert_true((int64_t)st.jitter_x16_ns == ref.j16);
		/* The integer form tracks the real one to within a nanosecond. */
		assert_true(st.jitter_x16_ns / 16.0 - ref.j < 1.0 &&
			    ref.j - st.jitter_x16_ns / 16.0 < 1.0);
	}
	assert_int_equal(st.reordered, 10);
	assert_true(ref.j > 100000.0); /* a real, non-trivial jitter was measured */
}

static void test_latency_histogram(void **state)
{
	(void)state;
	static const uint64_t bounds[] = NW_HIST_BOUNDS_NS;
	struct nw_server_state st;
	uint64_t want[NW_HIST_BUCKETS] = { 0 }, sum = 0, seq = 0;

	assert_int_equal(sizeof(bounds) / sizeof(bounds[0]), NW_HIST_FINITE);
	memset(&st, 0, sizeof(st));
	for (unsigned b = 0; b < NW_HIST_BUCKETS; b++) {
		uint64_t lo = b ? bounds[b - 1] + 1 : 0;
		uint64_t hi = b < NW_HIST_FINITE ? bounds[b] : bounds[NW_HIST_FINITE - 1] * 3;
		uint64_t lat[3] = { lo, (lo + hi) / 2, hi };

		for (int i = 0; i < 3; i++) {
			struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000 };
			struct nw_outcome out;

			s.seq = seq++;
			s.tx_ns = BASE_NS + s.seq * PERIOD_NS;
			nw_account(&st, &s, s.tx_ns + lat[i], &out);
			want[b]++;
			sum += lat[i];
		}
	}
	/* Negative latency (sender clock ahead): counted, in the first bucket. */
	struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000, .seq = seq };
	struct nw_outcome out;

	s.tx_ns = BASE_NS + seq * PERIOD_NS;
	nw_account(&st, &s, s.tx_ns - 5000, &out);
	want[0]++;
	for (unsigned b = 0; b < NW_HIST_BUCKETS; b++)
		if (st.latency_hist[b] != want[b])
			fail_msg("bucket %u: %llu, want %llu", b,
				 (unsigned long long)st.latency_hist[b],
				 (unsigned long long)want[b]);
	assert_true(st.latency_sum_ns == sum);
	assert_int_equal(st.latency_negative, 1);
}

/* Issue 15, items 1-3: every extreme of seq and tx, in every order, after a
 * genuine stream: no overflow (UBSan aborts on one), counters monotonic, no
 * jitter or latency beyond what a day of clock difference can give, `lost`
 * never more than the elapsed time explains, and the genuine stream goes on
 * being counted right after. */
static void test_wire_extremes(void **state)
{
	(void)state;
	static const uint64_t vals[] = { 0,
					 1,
					 63,
					 64,
					 (1ULL << 24) - 1,
					 1ULL << 24,
					 1ULL << 40,
					 (1ULL << 63) - 1,
					 1ULL << 63,
					 ~0ULL - 1,
					 ~0ULL };
	const size_t nv = sizeof(vals) / sizeof(vals[0]);

	/* tx as an absolute value, or that far behind or ahead of the receiver. */
	for (size_t a = 0; a < nv * nv * 3; a++) {
		struct nw_server_state st, prev;
		struct nw_outcome out;
		uint64_t rx = BASE_NS, seq = 0;

		memset(&st, 0, sizeof(st));
		for (int i = 0; i < 4; i++, seq++, rx += PERIOD_NS) {
			struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000 };

			s.seq = seq;
			s.tx_ns = rx - 1000000;
			nw_account(&st, &s, rx, &out);
		}
		for (unsigned flags = 0; flags <= NW_FLAG_GOODBYE; flags += NW_FLAG_GOODBYE) {
			struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000 };

			s.flags = (uint8_t)flags;
			s.seq = vals[a / nv % nv];
			s.tx_ns = a / (nv * nv) == 0   ? vals[a % nv]
				  : a / (nv * nv) == 1 ? rx - vals[a % nv]
						       : rx + vals[a % nv];
			prev = st;
			nw_account(&st, &s, rx, &out);
			assert_monotonic(&prev, &st);
			assert_true(st.lost - prev.lost <= NW_SEQ_WINDOW + NW_REORDER_SEQS + 1 +
								   NW_SLACK_NS / PERIOD_NS * 2);
			assert_true(st.jitter_x16_ns <= 16ULL * 2 * NW_CLOCK_MAX_NS);
			assert_true(st.last_transit_ns <= (int64_t)NW_CLOCK_MAX_NS &&
				    st.last_transit_ns >= -(int64_t)NW_CLOCK_MAX_NS);
			s.tx_ns = rx > s.tx_ns ? rx - s.tx_ns : s.tx_ns - rx;
			if (s.tx_ns > NW_CLOCK_MAX_NS)
				assert_int_equal(out.anomaly, NW_ANOM_CLOCK + 1);
		}
		/* The genuine sender, a sample later, is still counted. */
		{
			struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000 };

			s.seq = seq;
			s.tx_ns = rx + PERIOD_NS - 1000000;
			prev = st;
			nw_account(&st, &s, rx + PERIOD_NS, &out);
			if (!(prev.status & NW_ST_CLOSED) && !(out.rec_flags & NW_REC_STREAM_START))
				assert_int_equal(st.received, prev.received + 1);
			assert_true(st.received + st.late > prev.received + prev.late);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_encapsulations),
		cmocka_unit_test(test_valid_fabric),
		cmocka_unit_test(test_valid_variants),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_other_traffic),
		cmocka_unit_test(test_sequence_scenarios),
		cmocka_unit_test(test_midstream_flag),
		cmocka_unit_test(test_jitter_reference),
		cmocka_unit_test(test_latency_histogram),
		cmocka_unit_test(test_wire_extremes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
