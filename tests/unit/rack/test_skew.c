/* SPDX-License-Identifier: MIT */
/* Lower-envelope clock skew: recovers +-100 ppm and 0 ppm under random
 * positive queueing, ignores upward outliers, says "unknown" on too little. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "skew.h"

#define RATE 20.0
#define SECONDS 60
#define NPTS ((size_t)(RATE * SECONDS))

/* splitmix64: deterministic, seeded, no global state. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double uni(uint64_t *s)
{
	return (double)(rnd(s) >> 11) * 0x1.0p-53;
}

/* t on the sender's clock from an arbitrary TAI-like epoch; d = offset +
 * skew drift + 1 ms base + U(0.2, 5) ms queueing. */
static void feed(struct nw_skew *s, double ppm, uint64_t seed, size_t n, int outliers)
{
	const double epoch = 1.7e9, offset = 0.037;

	for (size_t k = 0; k < n; k++) {
		double t = (double)k / RATE;
		double q = 0.2e-3 + uni(&seed) * 4.8e-3;
		double d = offset + ppm * 1e-6 * t + 1e-3 + q;

		if (outliers && k % 97 == 13)
			d += 0.2;
		nw_skew_add(s, epoch + t, d);
	}
}

static void check(double ppm, int outliers, const char *name)
{
	struct nw_skew s;
	struct nw_skew_result r;
	const double t_now = 1.7e9 + (double)(NPTS - 1) / RATE;
	const double want_delay = 0.037 + ppm * 1e-6 * (double)(NPTS - 1) / RATE + 1.2e-3;

	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	feed(&s, ppm, 42 + (uint64_t)(ppm + 1000), NPTS, outliers);
	nw_skew_eval(&s, t_now, &r);
	printf("[ skew ] %-22s true %+7.1f ppm  est %+9.4f ppm  envelope delay %.4f ms (true floor %.4f ms)  excess %.3f ms  n=%zu\n",
	       name, ppm, r.ppm, r.delay_s * 1e3, want_delay * 1e3, r.excess_s * 1e3, r.n);
	assert_true(r.valid);
	assert_true(isfinite(r.ppm) && isfinite(r.delay_s) && isfinite(r.excess_s));
	assert_true(fabs(r.ppm - ppm) <= 5.0);
	/* The envelope sits on the 0.2 ms floor of the queueing. */
	assert_true(fabs(r.delay_s - want_delay) < 0.2e-3);
	assert_true(r.excess_s > 0);
	nw_skew_free(&s);
}

static void test_plus_100(void **state)
{
	(void)state;
	check(100.0, 0, "+100 ppm");
}
static void test_zero(void **state)
{
	(void)state;
	check(0.0, 0, "0 ppm");
}
static void test_minus_100(void **state)
{
	(void)state;
	check(-100.0, 0, "-100 ppm");
}

static void test_outliers_do_not_move_it(void **state)
{
	struct nw_skew a, b;
	struct nw_skew_result ra, rb;

	(void)state;
	assert_int_equal(nw_skew_init(&a, NPTS), 0);
	assert_int_equal(nw_skew_init(&b, NPTS), 0);
	feed(&a, 100.0, 7, NPTS, 0);
	feed(&b, 100.0, 7, NPTS, 1); /* same series plus 12 points at +200 ms */
	nw_skew_eval(&a, 1.7e9 + 60, &ra);
	nw_skew_eval(&b, 1.7e9 + 60, &rb);
	printf("[ skew ] outliers: clean %+.4f ppm, with 200 ms outliers %+.4f ppm\n", ra.ppm,
	       rb.ppm);
	assert_true(ra.valid && rb.valid);
	assert_true(fabs(rb.ppm - 100.0) <= 5.0);
	/* Upward points never touch the lower hull: identical fit. */
	assert_true(fabs(ra.ppm - rb.ppm) < 1e-9);
	assert_true(fabs(ra.delay_s - rb.delay_s) < 1e-12);
	nw_skew_free(&a);
	nw_skew_free(&b);
	check(-100.0, 1, "-100 ppm + outliers");
}

static void test_too_few_is_unknown(void **state)
{
	struct nw_skew s;
	struct nw_skew_result r;

	(void)state;
	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	nw_skew_eval(&s, 0, &r);
	assert_false(r.valid);
	feed(&s, 100.0, 3, 20, 0); /* 20 points < min_points 32 */
	nw_skew_eval(&s, 1.7e9, &r);
	assert_false(r.valid);
	assert_true(r.ppm == 0 && r.delay_s == 0);
	nw_skew_free(&s);
	/* Enough points but only 5 s of them: span below min_span_s. */
	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	feed(&s, 100.0, 3, 100, 0);
	nw_skew_eval(&s, 1.7e9, &r);
	assert_false(r.valid);
	nw_skew_free(&s);
	assert_int_equal(nw_skew_init(&s, 1), -1);
}

static void test_ring_and_order(void **state)
{
	struct nw_skew s;
	struct nw_skew_result r;
	uint64_t seed = 99;

	(void)state;
	/* 3 minutes into a 60 s ring: the first 2 minutes (at -100 ppm) must be
	 * forgotten; the last 60 s are at +50 ppm. Points arrive pairwise swapped
	 * and NaNs are thrown in. */
	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	for (size_t k = 0; k < 3 * NPTS; k += 2) {
		for (int j = 1; j >= 0; j--) {
			double t = (double)(k + (size_t)j) / RATE;
			double ppm = k + (size_t)j < 2 * NPTS ? -100.0 : 50.0;
			double d = 1e-3 + ppm * 1e-6 * (t - 120.0) + 0.2e-3 + uni(&seed) * 4.8e-3;

			nw_skew_add(&s, t, d);
		}
		nw_skew_add(&s, NAN, 0);
	}
	nw_skew_eval(&s, 180.0, &r);
	printf("[ skew ] after wrap + reorder: %+.4f ppm (true +50), rejected %lu\n", r.ppm,
	       s.rejected);
	assert_true(r.valid);
	assert_int_equal(r.n, NPTS);
	assert_true(fabs(r.ppm - 50.0) <= 5.0);
	assert_int_equal(s.rejected, 3 * NPTS / 2);
	nw_skew_free(&s);
}

/* d = base + queueing, with `step` seconds added from `at` s on (a route
 * change, a netem delay), or a skew of `ppm` starting at `at` s. */
static void feed_bent(struct nw_skew *s, double step, double ppm, double at, uint64_t seed)
{
	for (size_t k = 0; k < NPTS; k++) {
		double t = (double)k / RATE;
		double d = 1e-3 + 0.2e-3 + uni(&seed) * 4.8e-3;

		if (t >= at)
			d += step + ppm * 1e-6 * (t - at);
		nw_skew_add(s, 1.7e9 + t, d);
	}
}

static void test_delay_step_is_not_a_skew(void **state)
{
	static const double at[] = { 10.0, 30.0, 45.0 };
	struct nw_skew s;
	struct nw_skew_result r;

	(void)state;
	/* A 200 ms step anywhere in the span: the plain envelope would climb it
	 * at thousands of ppm; the halves disagree, so it is no skew at all. */
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(nw_skew_init(&s, NPTS), 0);
		feed_bent(&s, 0.2, 0.0, at[i], 7 + i);
		nw_skew_eval(&s, 1.7e9 + SECONDS, &r);
		assert_false(r.valid);
		assert_true(r.nonlinear);
		nw_skew_free(&s);
	}
	/* A skew that began mid-span is not a line yet either... */
	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	feed_bent(&s, 0.0, 200.0, 30.0, 11);
	nw_skew_eval(&s, 1.7e9 + SECONDS, &r);
	assert_false(r.valid);
	assert_true(r.nonlinear);
	nw_skew_free(&s);
	/* ...while one over the whole span is, and a small step (0.5 ms, inside
	 * the queueing noise's reach) does not make a zero skew unknown. */
	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	feed_bent(&s, 0.0, 200.0, 0.0, 12);
	nw_skew_eval(&s, 1.7e9 + SECONDS, &r);
	assert_true(r.valid);
	assert_false(r.nonlinear);
	assert_true(fabs(r.ppm - 200.0) <= 10.0);
	nw_skew_free(&s);
	assert_int_equal(nw_skew_init(&s, NPTS), 0);
	feed_bent(&s, 0.5e-3, 0.0, 30.0, 13);
	nw_skew_eval(&s, 1.7e9 + SECONDS, &r);
	assert_true(r.valid);
	assert_true(fabs(r.ppm) <= 25.0);
	nw_skew_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plus_100),
		cmocka_unit_test(test_zero),
		cmocka_unit_test(test_minus_100),
		cmocka_unit_test(test_outliers_do_not_move_it),
		cmocka_unit_test(test_too_few_is_unknown),
		cmocka_unit_test(test_ring_and_order),
		cmocka_unit_test(test_delay_step_is_not_a_skew),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
