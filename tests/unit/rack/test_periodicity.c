/* SPDX-License-Identifier: MIT */
/* Periodicity (FFT periodogram against a red-noise background): finds a
 * periodic outage and a periodic delay bump with their period, stays silent
 * on white jitter and random loss (100 seeds each, at most one false alarm),
 * on steps, and on too-short, constant or skewed input. Also prints the cost
 * of one server evaluation at N = 1200. Simulated hours of red noise:
 * test_periodicity_props.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "periodicity.h"
#include "test_rng.h"

#define RATE 20.0
#define CAP 1200 /* 60 s at 20 Hz */
#define SEEDS 100

/* One server's stream for `seconds`: samples k at t = k / RATE; a sample is
 * lost with probability `loss` or when its phase within `out_period` is
 * below `out_len`; its delay is 5 ms + N(0, jitter) + `bump` while its phase
 * within `bump_period` is below `bump_len`, + skew_ppm * t. */
struct scenario {
	double seconds, loss, out_period, out_len, jitter, bump, bump_period, bump_len, skew_ppm;
};

static void run(struct nw_periodicity *p, const struct scenario *sc, uint64_t seed)
{
	size_t total = (size_t)(sc->seconds * RATE);
	double phase0 = uni(&seed) * 10.0; /* faults do not start at t = 0 */

	for (size_t k = 0; k < total; k++) {
		double t = (double)k / RATE, tp = t + phase0;
		int lost = uni(&seed) < sc->loss;

		if (sc->out_period > 0 && fmod(tp, sc->out_period) < sc->out_len)
			lost = 1;
		nw_periodicity_add_slot(p, t, lost);
		if (lost)
			continue;
		double d = 5e-3 + sc->jitter * gauss(&seed) + sc->skew_ppm * 1e-6 * t;

		if (sc->bump_period > 0 && fmod(tp, sc->bump_period) < sc->bump_len)
			d += sc->bump;
		nw_periodicity_add_delay(p, t, d);
	}
}

static void assert_sane(const struct nw_period_result *r)
{
	assert_true(isfinite(r->power) && isfinite(r->fap) && isfinite(r->period_s));
	assert_true(r->fap >= 0 && r->fap <= 1);
	if (r->found)
		assert_true(r->period_s > 0);
}

static void test_periodic_outage(void **state)
{
	const struct scenario sc = {
		.seconds = 90, .out_period = 5.0, .out_len = 0.5, .jitter = 1e-3
	};
	int hits = 0, delay_hits = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct nw_periodicity p;
		struct nw_period_result d, h;

		assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
		run(&p, &sc, seed);
		nw_periodicity_eval(&p, &d, &h);
		assert_sane(&d);
		assert_sane(&h);
		if (seed == 1)
			printf("[ period ] outage 0.5 s / 5 s: hole found=%d period %.3f s z=%.1f fap=%.2e n=%zu M=%zu; delay found=%d\n",
			       h.found, h.period_s, h.power, h.fap, h.n, h.nfreq, d.found);
		assert_true(h.found);
		assert_true(fabs(h.period_s - 5.0) <= 0.25);
		hits += h.found;
		delay_hits += d.found;
		nw_periodicity_free(&p);
	}
	/* The delay series only has gaps, no periodic delay: the gap filling
	 * must not turn the sampling pattern into a period. */
	printf("[ period ] outage: hole series found in %d/10 seeds; delay series (gaps only) in %d/10\n",
	       hits, delay_hits);
	assert_true(delay_hits <= 1);
}

static void test_periodic_delay_bump(void **state)
{
	const struct scenario sc = { .seconds = 75,
				     .jitter = 1e-3,
				     .bump = 20e-3,
				     .bump_period = 7.0,
				     .bump_len = 1.0,
				     .skew_ppm = 100 };

	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct nw_periodicity p;
		struct nw_period_result d, h;

		assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
		run(&p, &sc, seed);
		nw_periodicity_eval(&p, &d, &h);
		assert_sane(&d);
		assert_sane(&h);
		if (seed <= 3)
			printf("[ period ] 20 ms bump 1 s / 7 s + 1 ms jitter + 100 ppm skew: found=%d period %.3f s z=%.1f fap=%.2e; hole found=%d\n",
			       d.found, d.period_s, d.power, d.fap, h.found);
		assert_true(d.found);
		assert_true(fabs(d.period_s - 7.0) <= 0.35);
		assert_false(h.found); /* no loss at all: the hole series is constant */
		nw_periodicity_free(&p);
	}
}

/* 100 seeded runs of a fault-free scenario; at most one false alarm. */
static void null_case(const struct scenario *sc, const char *name)
{
	int fa_delay = 0, fa_hole = 0;
	double zmax = 0;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct nw_periodicity p;
		struct nw_period_result d, h;

		assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
		run(&p, sc, 1000 * seed + 7);
		nw_periodicity_eval(&p, &d, &h);
		assert_sane(&d);
		assert_sane(&h);
		fa_delay += d.found;
		fa_hole += h.found;
		zmax = fmax(zmax, fmax(d.power, h.power));
		nw_periodicity_free(&p);
	}
	printf("[ period ] %-34s false alarms: delay %d/%d, hole %d/%d (highest z %.2f)\n", name,
	       fa_delay, SEEDS, fa_hole, SEEDS, zmax);
	assert_true(fa_delay <= 1);
	assert_true(fa_hole <= 1);
}

static void test_white_jitter_1ms(void **state)
{
	const struct scenario sc = { .seconds = 70, .jitter = 1e-3 };

	(void)state;
	null_case(&sc, "white jitter 1 ms");
}

static void test_white_jitter_10ms(void **state)
{
	const struct scenario sc = { .seconds = 70, .jitter = 10e-3 };

	(void)state;
	null_case(&sc, "white jitter 10 ms");
}

static void test_random_loss_5(void **state)
{
	const struct scenario sc = { .seconds = 70, .loss = 0.05, .jitter = 1e-3 };

	(void)state;
	null_case(&sc, "random loss 5% + 1 ms jitter");
}

static void test_random_loss_20(void **state)
{
	const struct scenario sc = { .seconds = 70, .loss = 0.20, .jitter = 1e-3 };

	(void)state;
	null_case(&sc, "random loss 20% + 1 ms jitter");
}

static void test_too_short_constant_and_bad(void **state)
{
	struct nw_periodicity p;
	struct nw_period_result d, h;
	const struct scenario strong = { .seconds = 9,
					 .out_period = 2.0,
					 .out_len = 0.5,
					 .bump = 20e-3,
					 .bump_period = 2.0,
					 .bump_len = 0.5 };

	(void)state;
	/* Nothing at all. */
	assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
	nw_periodicity_eval(&p, &d, &h);
	assert_false(d.found);
	assert_false(h.found);
	assert_sane(&d);
	/* 9 s (< 10 s minimum) of a strong periodic fault: nothing. */
	run(&p, &strong, 5);
	nw_periodicity_eval(&p, &d, &h);
	assert_false(d.found);
	assert_false(h.found);
	assert_sane(&d);
	assert_sane(&h);
	nw_periodicity_free(&p);

	/* All-equal values (and an all-lost hole series) for 60 s: nothing. */
	assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
	for (int k = 0; k < 2 * CAP; k++) {
		nw_periodicity_add_delay(&p, k / RATE, 0.0123);
		nw_periodicity_add_slot(&p, k / RATE, 1);
	}
	nw_periodicity_add_delay(&p, NAN, 1.0);
	nw_periodicity_add_delay(&p, 1.0, INFINITY);
	nw_periodicity_eval(&p, &d, &h);
	assert_false(d.found);
	assert_false(h.found);
	assert_sane(&d);
	assert_sane(&h);
	assert_int_equal(p.rejected, 2);
	nw_periodicity_free(&p);

	/* A pure clock skew (exact line) is removed by the detrend: nothing. */
	assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
	for (int k = 0; k < CAP; k++)
		nw_periodicity_add_delay(&p, k / RATE, 0.005 + 100e-6 * (k / RATE));
	nw_periodicity_eval(&p, &d, NULL);
	assert_false(d.found);
	assert_sane(&d);
	nw_periodicity_free(&p);

	/* Bad parameters. */
	assert_int_equal(nw_periodicity_init(&p, 2, RATE), -1);
	assert_int_equal(nw_periodicity_init(&p, CAP, 0), -1);
	assert_int_equal(nw_periodicity_init(&p, CAP, NAN), -1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Cost of one server evaluation (delay + hole series), N = 1200, defaults. */
static void test_cost(void **state)
{
	const struct scenario sc = { .seconds = 60, .loss = 0.01, .jitter = 1e-3 };
	struct nw_periodicity p;
	struct nw_period_result d, h;
	const int reps = 50;
	double t0, t1, t2;

	(void)state;
	assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
	run(&p, &sc, 3);
	nw_periodicity_eval(&p, &d, &h); /* warm up */
	t0 = now_us();
	for (int i = 0; i < reps; i++)
		nw_periodicity_eval(&p, &d, &h);
	t1 = now_us();
	for (int i = 0; i < reps; i++)
		nw_periodicity_eval(&p, &d, NULL);
	t2 = now_us();
	printf("[ period ] cost: %.0f us per server evaluation (delay n=%zu + hole n=%zu, M=%zu freqs each); delay series alone %.0f us\n",
	       (t1 - t0) / reps, d.n, h.n, h.nfreq, (t2 - t1) / reps);
	assert_true(d.n > 1100 && h.n == CAP);
	nw_periodicity_free(&p);
}

/* Steps are not periods: a 200 ms delay step, or one 3 s outage, at several
 * places in the horizon, with 1 ms jitter. Before the halves check the step
 * read as a period of about span/2.4 (the lowest frequency searched). */
static void test_one_step_is_not_a_period(void **state)
{
	static const double at[] = { 12.0, 25.0, 40.0, 52.0 };

	(void)state;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct nw_periodicity p;
		struct nw_period_result d, h;
		uint64_t seed = 1000 + i;

		assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
		for (size_t k = 0; k < CAP; k++) {
			double t = (double)k / RATE;
			int lost = t >= at[i] && t < at[i] + 3.0;

			nw_periodicity_add_slot(&p, t, lost);
			if (!lost)
				nw_periodicity_add_delay(&p, t,
							 5e-3 + 1e-3 * gauss(&seed) +
								 (t >= at[i] ? 0.2 : 0.0));
		}
		nw_periodicity_eval(&p, &d, &h);
		printf("[ period ] step at %4.1f s: delay found=%d one_sided=%d z=%.1f; "
		       "hole found=%d one_sided=%d z=%.1f\n",
		       at[i], d.found, d.one_sided, d.power, h.found, h.one_sided, h.power);
		assert_false(d.found);
		assert_false(h.found);
		nw_periodicity_free(&p);
	}
	/* One fault cleared early in the horizon and the next applied late: a
	 * step down in one half and up in the other is one "cycle" per half. */
	struct nw_periodicity p;
	struct nw_period_result d, h;
	uint64_t seed = 77;

	assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
	for (size_t k = 0; k < CAP; k++) {
		double t = (double)k / RATE;
		int bad = t < 15.0 || t >= 45.0;

		nw_periodicity_add_slot(&p, t, bad && k % 3 == 0);
		nw_periodicity_add_delay(&p, t, 5e-3 + 1e-3 * gauss(&seed) + (bad ? 0.2 : 0.0));
	}
	nw_periodicity_eval(&p, &d, &h);
	printf("[ period ] down at 15 s, up at 45 s: delay found=%d z=%.1f; hole found=%d z=%.1f\n",
	       d.found, d.power, h.found, h.power);
	assert_false(d.found);
	assert_false(h.found);
	nw_periodicity_free(&p);
}

/* Early in the data the 5 s outage's fundamental is beyond the grid (four
 * cycles needed) while its 2.5 s harmonic is not: the lab's dashboard test
 * once read 2.49 s. Until the 5 s can be confirmed, nothing is reported. */
static void test_no_harmonic_before_the_fundamental_fits(void **state)
{
	(void)state;
	for (double secs = 12; secs <= 32; secs += 2) {
		for (int ph = 0; ph < 3; ph++) {
			struct nw_periodicity p;
			struct nw_period_result d, h;

			assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
			for (size_t k = 0; k < (size_t)(secs * RATE); k++) {
				double t = (double)k / RATE;
				int lost = fmod(t + ph * 1.7, 5.0) < 0.5;

				nw_periodicity_add_slot(&p, t, lost);
			}
			nw_periodicity_eval(&p, &d, &h);
			if (h.found)
				assert_true(fabs(h.period_s - 5.0) <= 0.25);
			if (secs >= 28)
				assert_true(h.found);
			nw_periodicity_free(&p);
		}
	}
}

/* A late sample is not a loss: nw_periodicity_slot_arrived takes back the
 * loss its gap added, and leaves other slots alone. */
static void test_late_sample_is_not_a_loss(void **state)
{
	struct nw_periodicity p;
	size_t lost = 0;

	(void)state;
	assert_int_equal(nw_periodicity_init(&p, CAP, RATE), 0);
	for (int k = 0; k < 100; k++)
		nw_periodicity_add_slot(&p, k / RATE, k == 0 || k == 90 || k == 95);
	nw_periodicity_slot_arrived(&p, 90 / RATE + 0.001); /* within a quarter slot */
	nw_periodicity_slot_arrived(&p, 50 / RATE);         /* was not lost: unchanged */
	nw_periodicity_slot_arrived(&p, 1000 / RATE);       /* no such slot: nothing */
	for (size_t i = 0; i < p.hole.count; i++)
		lost += p.hole.y[i] + p.hole.y_ref > 0.5;
	assert_int_equal(lost, 2); /* slots 0 and 95 */
	nw_periodicity_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_periodic_outage),
		cmocka_unit_test(test_periodic_delay_bump),
		cmocka_unit_test(test_white_jitter_1ms),
		cmocka_unit_test(test_white_jitter_10ms),
		cmocka_unit_test(test_random_loss_5),
		cmocka_unit_test(test_random_loss_20),
		cmocka_unit_test(test_too_short_constant_and_bad),
		cmocka_unit_test(test_one_step_is_not_a_period),
		cmocka_unit_test(test_no_harmonic_before_the_fundamental_fits),
		cmocka_unit_test(test_late_sample_is_not_a_loss),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
