// SPDX-License-Identifier: MIT
/* Reconstruction on the receiver's grid (user/rack/analysis/nw_signal.c): where samples
 * land, collisions, feed order, restarts, goodbye. Raw windows (no Hann). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_signal.h"
#include "spectrum.h"
#include "test_spectrum_gen.h"

#define N 256U

static float value_of(double tone, uint64_t k)
{
	return (float)sin(2.0 * M_PI * tone * (double)k / GEN_RATE);
}

static struct nw_record rec_at(uint64_t k, uint64_t tx0, double delay_ms, double tone,
			       uint16_t flags)
{
	uint64_t tx = tx0 + k * GEN_T_NS;

	return (struct nw_record){ .seq = k,
				   .tx_ns = tx,
				   .rx_ns = tx + (uint64_t)llround(delay_ms * 1e6),
				   .value_bits = gen_bits(value_of(tone, k)),
				   .flags = flags };
}

static uint64_t last_now(void)
{
	return GEN_T0_NS + (N - 1) * GEN_T_NS + 11000000ULL;
}

/* A clean stream: sample k sits in slot k, whatever the constant delay. */
static void test_placement(void **state)
{
	static const double delays[] = { 1.0, 26.0, 200.0, 1234.5 };
	double out[N], keep[N];

	(void)state;
	for (size_t d = 0; d < 4; d++) {
		struct nw_signal sig;
		struct nw_window_stats st;

		assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
		for (uint64_t k = 0; k < N; k++) {
			struct nw_record r = rec_at(k, GEN_T0_NS, delays[d], 1.0,
						    k ? 0 : NW_REC_STREAM_START);

			nw_signal_add(&sig, &r);
		}
		uint64_t now = last_now() + (uint64_t)llround((delays[d] - 1.0) * 1e6);

		assert_int_equal(nw_signal_window(&sig, now, NULL, out, keep, &st), N);
		assert_int_equal(st.collisions, 0);
		for (uint32_t i = 0; i < N; i++)
			assert_true(out[i] == (double)value_of(1.0, i));
		nw_signal_free(&sig);
	}
}

/* The newest n slots alone (the short scales): on a clean stream they are
 * the long window's last n slots, and n above the signal's N is taken as N. */
static void test_window_newest(void **state)
{
	double out[N], keep[N];
	struct nw_signal sig;
	struct nw_window_stats st;

	(void)state;
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (uint64_t k = 0; k < N; k++) {
		struct nw_record r = rec_at(k, GEN_T0_NS, 26.0, 1.0, k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
	}
	uint64_t now = last_now() + 25000000ULL;

	for (uint32_t n = 32; n <= 64; n *= 2) {
		assert_int_equal(nw_signal_window_n(&sig, n, now, NULL, out, keep, &st), n);
		assert_int_equal(st.collisions, 0);
		for (uint32_t i = 0; i < n; i++)
			assert_true(out[i] == (double)value_of(1.0, N - n + i));
	}
	assert_int_equal(nw_signal_window_n(&sig, 2 * N, now, NULL, out, keep, &st), N);
	nw_signal_free(&sig);
}

/* Sample 100 arrives 60 ms late, after sample 101: it lands in 101's slot,
 * 101 (the first arrival) is kept, the collision is counted, slot 100 is 0. */
static void test_collision_keeps_first(void **state)
{
	struct nw_signal sig;
	struct nw_window_stats st;
	double out[N], keep[N];

	(void)state;
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (uint64_t k = 0; k < N; k++) {
		if (k == 100)
			continue;
		struct nw_record r = rec_at(k, GEN_T0_NS, 1.0, 1.0, k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
		if (k == 101) {
			struct nw_record late = rec_at(100, GEN_T0_NS, 60.0, 1.0, NW_REC_REORDERED);

			nw_signal_add(&sig, &late);
		}
	}
	assert_int_equal(nw_signal_window(&sig, last_now(), NULL, out, keep, &st), N - 1);
	assert_int_equal(st.collisions, 1);
	assert_true(out[100] == 0.0);
	assert_true(out[101] == (double)value_of(1.0, 101));
	nw_signal_free(&sig);
}

/* The slot depends on the arrival time only: the same records fed in a
 * different order give the same window, bit for bit, and the same metrics
 * (a collision keeps the earliest arrival, not the first fed). */
static void test_feed_order_irrelevant(void **state)
{
	struct gen_cfg c = {
		.tone_hz = 4.35, .delay_ms = 5.0, .jitter_ms = 30.0, .loss = 0.05, .seed = 21
	};
	struct nw_record *recs = calloc(N + 16, sizeof(*recs));
	struct nw_signal a, b;
	struct nw_window_stats sa, sb;
	double oa[N], ob[N], keep[N];
	size_t n;

	(void)state;
	assert_non_null(recs);
	n = gen_stream(&c, 0, N, GEN_T0_NS, NW_REC_STREAM_START, recs);
	assert_int_equal(nw_signal_init(&a, N, GEN_RATE, 4.35), 0);
	assert_int_equal(nw_signal_init(&b, N, GEN_RATE, 4.35), 0);
	for (size_t i = 0; i < n; i++)
		nw_signal_add(&a, &recs[i]);
	/* b: the first record stays first (it opens the stream), then each block
	 * of 8 is fed backwards. */
	nw_signal_add(&b, &recs[0]);
	for (size_t blk = 1; blk < n; blk += 8) {
		size_t end = blk + 8 < n ? blk + 8 : n;

		for (size_t i = end; i-- > blk;) {
			struct nw_record r = recs[i];

			r.flags |= NW_REC_REORDERED;
			nw_signal_add(&b, &r);
		}
	}
	uint64_t now = last_now() + 200000000ULL;

	nw_signal_window(&a, now, NULL, oa, keep, &sa);
	nw_signal_window(&b, now, NULL, ob, keep, &sb);
	print_message("  jittered stream: filled %u collisions %u (both orders)\n", sa.filled,
		      sa.collisions);
	assert_true(sa.collisions > 0); /* the case where order could matter */
	assert_int_equal(sa.filled, sb.filled);
	assert_int_equal(sa.collisions, sb.collisions);
	assert_memory_equal(oa, ob, sizeof(oa));
	nw_signal_free(&a);
	nw_signal_free(&b);
	free(recs);
}

/* Restart mid-window: stream A (seq 0..149), a 1 s silence, stream B from
 * seq 0 again, on a schedule 30 ms off A's and 2 ms slower. Both streams are
 * placed on the receiver's grid: A's k in slot k, B's j in slot 171 + j. */
static void test_restart_mid_window(void **state)
{
	struct nw_spec_ctx *ctx = *state;
	struct nw_signal sig;
	struct nw_window_stats st;
	struct nw_spec_result res;
	double out[N], keep[N];
	const uint64_t a_len = 150, b_first_slot = 171, b_len = N - b_first_slot;
	const uint64_t b_t0 = GEN_T0_NS + 170 * GEN_T_NS + 30000000ULL;

	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (uint64_t k = 0; k < a_len; k++) {
		struct nw_record r = rec_at(k, GEN_T0_NS, 1.0, 1.0, k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
	}
	for (uint64_t j = 0; j < b_len; j++) {
		struct nw_record r = rec_at(j, b_t0, 3.0, 1.0,
					    j ? 0 : NW_REC_STREAM_START | NW_REC_RESTART);

		nw_signal_add(&sig, &r);
	}
	assert_int_equal(sig.streams, 2);
	uint64_t now = b_t0 + (b_len - 1) * GEN_T_NS + 3000000ULL + 5000000ULL;

	assert_int_equal(nw_signal_window(&sig, now, NULL, out, keep, &st), a_len + b_len);
	assert_int_equal(st.collisions, 0);
	/* newest slot = B's last sample; slot s is out[s - (b_first_slot + b_len - N)] */
	const uint64_t oldest = b_first_slot + b_len - N;

	assert_int_equal(oldest, 0);
	for (uint64_t k = 0; k < a_len; k++)
		assert_true(out[k - oldest] == (double)value_of(1.0, k));
	for (uint64_t s = a_len; s < b_first_slot; s++)
		assert_true(out[s - oldest] == 0.0);
	for (uint64_t j = 0; j < b_len; j++)
		assert_true(out[b_first_slot + j - oldest] == (double)value_of(1.0, j));

	assert_int_equal(nw_spec_analyze(ctx, &sig, now, &res), 0);
	print_message("  restart mid-window: fill %.3f error %.4f (phase jump + 21 empty slots)\n",
		      res.fill, res.spectral_error);
	assert_false(res.tone_mismatch);
	assert_true(res.spectral_error < 0.5);
	nw_signal_free(&sig);
}

/* A goodbye is not a sample: it only marks the server as left; the next
 * stream brings it back. */
static void test_goodbye(void **state)
{
	struct nw_signal sig;
	struct nw_window_stats st;
	double out[N], keep[N];

	(void)state;
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (uint64_t k = 0; k < 10; k++) {
		struct nw_record r = rec_at(k, GEN_T0_NS, 1.0, 1.0, k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
	}
	struct nw_record bye = rec_at(12, GEN_T0_NS, 1.0, 1.0, NW_REC_GOODBYE);

	bye.value_bits = 0;
	nw_signal_add(&sig, &bye);
	assert_true(sig.left);
	assert_int_equal(sig.samples, 10);
	assert_true(sig.last_rx_ns == bye.rx_ns);
	assert_int_equal(nw_signal_window(&sig, bye.rx_ns, NULL, out, keep, &st), 10);

	struct nw_record back = rec_at(0, GEN_T0_NS + 100 * GEN_T_NS, 1.0, 1.0,
				       NW_REC_STREAM_START);

	nw_signal_add(&sig, &back);
	assert_false(sig.left);
	assert_int_equal(sig.streams, 2);
	nw_signal_free(&sig);
}

/* A non-finite value must not poison the spectrum: it counts as a zero. */
static void test_nan_value(void **state)
{
	struct nw_signal sig;
	struct nw_window_stats st;
	double out[N], keep[N];

	(void)state;
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	struct nw_record r = rec_at(0, GEN_T0_NS, 1.0, 1.0, NW_REC_STREAM_START);

	r.value_bits = 0x7fc00000U; /* NaN */
	nw_signal_add(&sig, &r);
	assert_int_equal(nw_signal_window(&sig, r.rx_ns, NULL, out, keep, &st), 1);
	assert_true(out[N - 1] == 0.0);
	nw_signal_free(&sig);
}

/* Many restarts in one window: only the newest NW_SIGNAL_EPOCHS streams are
 * placed; nothing older is read. */
static void test_many_restarts(void **state)
{
	struct nw_signal sig;
	struct nw_window_stats st;
	double out[N], keep[N];
	uint64_t t = GEN_T0_NS, now = 0;

	(void)state;
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (int s = 0; s < 6; s++) {
		for (uint64_t j = 0; j < 10; j++) {
			struct nw_record r = rec_at(j, t, 1.0, 1.0, j ? 0 : NW_REC_STREAM_START);

			nw_signal_add(&sig, &r);
			now = r.rx_ns;
		}
		t += 20 * GEN_T_NS;
	}
	assert_int_equal(nw_signal_window(&sig, now, NULL, out, keep, &st), 10 * NW_SIGNAL_EPOCHS);
	assert_int_equal(st.collisions, 0);
	nw_signal_free(&sig);
}

static int setup(void **state)
{
	struct nw_spec_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx || nw_spec_ctx_init(ctx, N) != 0)
		return -1;
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	nw_spec_ctx_free(*state);
	free(*state);
	return 0;
}

/* The arrivals' robust spread about their own schedule (the displaced-
 * sample rule, multiscale.h): 0 for a steady delay; about sigma/T for
 * Gaussian jitter; about 0 when a few samples are late among on-time ones
 * (a loaded sender); NaN with too few samples; the current stream only. */
static void test_delay_spread(void **state)
{
	struct nw_signal sig;
	uint64_t seed = 17, now = last_now() + 40000000ULL;
	double spread;

	(void)state;
	/* steady 30 ms */
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (uint64_t k = 0; k < N; k++) {
		struct nw_record r = rec_at(k, GEN_T0_NS, 30.0, 1.0, k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
	}
	spread = nw_signal_delay_spread(&sig, 32, now, now);
	assert_true(spread >= 0 && spread < 1e-6);
	nw_signal_free(&sig);

	/* Gaussian jitter, sigma 25 ms = half a slot (records fed in rx order) */
	{
		struct gen_cfg c = { .tone_hz = 1.0, .delay_ms = 100, .jitter_ms = 25, .seed = 3 };
		struct nw_record recs[N];
		size_t n = gen_stream(&c, 0, N, GEN_T0_NS, NW_REC_STREAM_START, recs);

		assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
		for (size_t i = 0; i < n; i++)
			nw_signal_add(&sig, &recs[i]);
		spread = nw_signal_delay_spread(&sig, 64, now + 70000000ULL, now + 70000000ULL);
		print_message("  jitter sigma 25 ms: spread %.3f slots\n", spread);
		assert_true(spread > 0.35 && spread < 0.65);
		nw_signal_free(&sig);
	}

	/* every fifth sample 40 ms late, the rest on time */
	assert_int_equal(nw_signal_init(&sig, N, GEN_RATE, 1.0), 0);
	for (uint64_t k = 0; k < N; k++) {
		struct nw_record r = rec_at(k, GEN_T0_NS,
					    k % 5 ? 30.0 : 70.0 + 10 * gen_uniform(&seed), 1.0,
					    k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
	}
	spread = nw_signal_delay_spread(&sig, 32, now, now);
	print_message("  a fifth late by 40-50 ms: spread %.3f slots\n", spread);
	assert_true(spread < 0.05);
	/* fewer than NW_SIGNAL_SPREAD_MIN samples in the window: not known */
	assert_true(isnan(nw_signal_delay_spread(&sig, 4, now, now)));
	/* a new stream: only its samples count (two are too few) */
	for (uint64_t k = 0; k < 2; k++) {
		struct nw_record r = rec_at(k, now + 1000000, 30.0, 1.0,
					    k ? 0 : NW_REC_STREAM_START);

		nw_signal_add(&sig, &r);
	}
	assert_true(
		isnan(nw_signal_delay_spread(&sig, 32, now + 200000000ULL, now + 200000000ULL)));
	nw_signal_free(&sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_window_newest),
		cmocka_unit_test(test_collision_keeps_first),
		cmocka_unit_test(test_feed_order_irrelevant),
		cmocka_unit_test(test_restart_mid_window),
		cmocka_unit_test(test_goodbye),
		cmocka_unit_test(test_nan_value),
		cmocka_unit_test(test_many_restarts),
		cmocka_unit_test(test_delay_spread),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
