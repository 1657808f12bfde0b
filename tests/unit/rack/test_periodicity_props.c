/* SPDX-License-Identifier: MIT */
/* Properties of the periodicity finder over simulated hours (issue 14):
 *  - no period in red or white noise that is not periodic: Gilbert-Elliott
 *    loss (mean 2-20 %, bursts 2-20 samples), random loss, Gaussian and
 *    uniform jitter, a random-walk delay, agent restarts; every evaluation
 *    (every 5 s of each simulated hour) counts, and the false-period count
 *    over all of them is printed;
 *  - periods of 1-15 s of delay bumps (10 ms) and outages (5 % duty) found
 *    within +-2 % once the horizon holds them: asserted in every evaluation
 *    at the default 60 s horizon, and at a 120 s horizon for 10 and 15 s
 *    (test_long_horizon), with the closest null cases run there too;
 *  - how soon a periodic fault that starts on a clean series is reported
 *    (evaluated every 0.5 s here): asserted within the issue's
 *    max(4 periods, 15 s) + one evaluation for the 1-5 s bumps and
 *    outages; the rest (7.5 and 15 s, well inside the bound) is printed
 *    (docs/periodicity.md).
 * Deterministic seeds (splitmix64), 20 Hz, 60 s horizon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "periodicity.h"
#include "test_rng.h"

#define RATE 20.0
#define CAP 1200  /* 60 s at 20 Hz: the analysis' default horizon */
#define EVERY 100 /* samples between evaluations: 5 s */

/* The horizon of the run, in points (test_long_horizon doubles it). */
static size_t cap = CAP;

/* A fault-free but noisy stream. */
struct noise {
	double ge_loss, ge_burst; /* Gilbert-Elliott: mean loss, mean burst (samples) */
	double loss;              /* independent loss */
	double gauss_s, uni_s;    /* Gaussian sigma, uniform half-width of the delay */
	double walk_s;            /* random-walk step per sample */
	double restart_every_s;   /* mean time between agent restarts (0: none) */
};

struct tally {
	long evals, false_delay, false_hole;
	double zmax;
};

/* `seconds` of one stream, evaluated every EVERY samples once the horizon
 * is full; a restart is 1-3 s with no sample at all (both series). */
static void run_noise(const struct noise *nz, double seconds, uint64_t seed, struct tally *t)
{
	struct nw_periodicity p;
	bool bad = false;
	double walk = 0, next_restart = 0, down_until = -1;
	size_t total = (size_t)(seconds * RATE);

	assert_int_equal(nw_periodicity_init(&p, cap, RATE), 0);
	if (nz->restart_every_s > 0)
		next_restart = nz->restart_every_s * (0.5 + uni(&seed));
	for (size_t k = 0; k < total; k++) {
		double tt = (double)k / RATE, d = 5e-3;
		int lost = 0;

		if (nz->restart_every_s > 0 && tt >= next_restart) {
			down_until = tt + 1.0 + 2.0 * uni(&seed);
			next_restart = tt + nz->restart_every_s * (0.5 + uni(&seed));
		}
		if (nz->ge_loss > 0) {
			/* B -> G with 1/burst; G -> B so that P(B) = loss */
			double pbg = 1.0 / nz->ge_burst;
			double pgb = pbg * nz->ge_loss / (1.0 - nz->ge_loss);

			bad = bad ? uni(&seed) >= pbg : uni(&seed) < pgb;
			lost |= bad;
		}
		lost |= uni(&seed) < nz->loss;
		walk += nz->walk_s * gauss(&seed);
		d += nz->gauss_s * gauss(&seed) + nz->uni_s * (2.0 * uni(&seed) - 1.0) + walk;
		if (tt >= down_until) {
			nw_periodicity_add_slot(&p, tt, lost);
			if (!lost)
				nw_periodicity_add_delay(&p, tt, d);
		}
		if (k >= cap && k % EVERY == 0) {
			struct nw_period_result rd, rh;

			nw_periodicity_eval(&p, &rd, &rh);
			assert_true(isfinite(rd.power) && isfinite(rh.power));
			t->evals++;
			t->false_delay += rd.found;
			t->false_hole += rh.found;
			t->zmax = fmax(t->zmax, fmax(rd.power, rh.power));
		}
	}
	nw_periodicity_free(&p);
}

static long total_evals, total_false;

static void null_case(const char *name, const struct noise *nz, double hours, uint64_t seed)
{
	struct tally t = { 0 };

	run_noise(nz, hours * 3600.0, seed, &t);
	printf("[ props ] %-40s %ld evaluations: false periods delay %ld, loss %ld (highest z %.1f)\n",
	       name, t.evals, t.false_delay, t.false_hole, t.zmax);
	total_evals += 2 * t.evals;
	total_false += t.false_delay + t.false_hole;
	/* fap_max is 1e-3 per evaluation of a series: at most one here (the
	 * evaluations of one stream overlap, so false periods come in runs);
	 * the rate over all cases is asserted in the last null test. */
	assert_true(t.false_delay + t.false_hole <= 1 + (2 * t.evals) / 1000);
}

static void test_gilbert_elliott(void **state)
{
	static const double loss[] = { 0.02, 0.05, 0.10, 0.20 };
	static const double burst[] = { 2, 5, 10, 20 };
	uint64_t seed = 100;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			struct noise nz = { .ge_loss = loss[i],
					    .ge_burst = burst[j],
					    .gauss_s = 1e-3 };
			char name[64];

			snprintf(name, sizeof(name), "Gilbert-Elliott %2.0f %% loss, bursts %2.0f",
				 loss[i] * 100, burst[j]);
			null_case(name, &nz, 0.5, seed++);
		}
}

static void test_random_loss_and_jitter(void **state)
{
	(void)state;
	null_case("random loss 5 % + 1 ms Gaussian",
		  &(struct noise){ .loss = 0.05, .gauss_s = 1e-3 }, 1, 201);
	null_case("random loss 20 % + 1 ms Gaussian",
		  &(struct noise){ .loss = 0.20, .gauss_s = 1e-3 }, 1, 202);
	null_case("Gaussian jitter 1 ms", &(struct noise){ .gauss_s = 1e-3 }, 1, 203);
	null_case("Gaussian jitter 10 ms", &(struct noise){ .gauss_s = 10e-3 }, 1, 204);
	null_case("uniform jitter +-5 ms", &(struct noise){ .uni_s = 5e-3 }, 1, 205);
	null_case("uniform jitter +-20 ms", &(struct noise){ .uni_s = 20e-3 }, 1, 206);
}

static void test_random_walk_and_restarts(void **state)
{
	(void)state;
	null_case("random-walk delay 0.1 ms/sample + 0.2 ms",
		  &(struct noise){ .walk_s = 1e-4, .gauss_s = 2e-4 }, 1, 301);
	null_case("random-walk delay 0.02 ms/sample + 1 ms",
		  &(struct noise){ .walk_s = 2e-5, .gauss_s = 1e-3 }, 1, 302);
	null_case("agent restarts every ~3 min + 1 ms",
		  &(struct noise){ .restart_every_s = 180, .gauss_s = 1e-3 }, 1, 303);
	null_case("restarts + GE 5 % bursts 10 + walk",
		  &(struct noise){ .restart_every_s = 120,
				   .ge_loss = 0.05,
				   .ge_burst = 10,
				   .walk_s = 2e-5,
				   .gauss_s = 5e-4 },
		  1, 304);
	printf("[ props ] false-period rate over all null cases: %ld in %ld series evaluations\n",
	       total_false, total_evals);
	/* fap_max 1e-4 per evaluation of a series */
	assert_true(total_false * 10000 <= total_evals);
}

/* A periodic fault of period P from `start_s` on: a delay bump of `bump_s`
 * for `duty` of each period, or an outage (every sample lost) for `duty`. */
struct fault {
	double period_s, duty, bump_s;
	bool outage;
};

/* Evaluates every `every` samples from `from_s`; returns the first time
 * (since the fault's start) the period is reported within +-2 %, or -1, and
 * counts evaluations found / right / wrong after `settle_s`. */
static double run_fault(const struct fault *f, double start_s, double seconds, size_t every,
			double settle_s, uint64_t seed, int *found, int *right, int *evals)
{
	struct nw_periodicity p;
	double first = -1, phase = uni(&seed) * f->period_s;

	assert_int_equal(nw_periodicity_init(&p, cap, RATE), 0);
	for (size_t k = 0; k < (size_t)(seconds * RATE); k++) {
		double tt = (double)k / RATE, d = 5e-3 + 1e-3 * gauss(&seed);
		bool on = tt >= start_s &&
			  fmod(tt - start_s + phase, f->period_s) < f->duty * f->period_s;
		int lost = uni(&seed) < 0.01 || (on && f->outage);

		if (on && !f->outage)
			d += f->bump_s;
		nw_periodicity_add_slot(&p, tt, lost);
		if (!lost)
			nw_periodicity_add_delay(&p, tt, d);
		if (tt >= start_s && k % every == 0) {
			struct nw_period_result rd, rh, *r = f->outage ? &rh : &rd;
			bool ok;

			nw_periodicity_eval(&p, &rd, &rh);
			ok = r->found && fabs(r->period_s / f->period_s - 1.0) <= 0.02;
			if (ok && first < 0)
				first = tt - start_s;
			if (tt - start_s >= settle_s) {
				(*evals)++;
				*found += r->found;
				*right += ok;
			}
		}
	}
	nw_periodicity_free(&p);
	return first;
}

static void test_periods_found_within_2_percent(void **state)
{
	static const double periods[] = { 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0 };

	(void)state;
	for (int outage = 0; outage < 2; outage++)
		for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
			struct fault f = { .period_s = periods[i],
					   .duty = outage ? 0.05 : 0.25,
					   .bump_s = 10e-3,
					   .outage = outage };
			int found = 0, right = 0, evals = 0;

			/* fault all along; counted once the horizon is full */
			for (uint64_t seed = 1; seed <= 3; seed++)
				run_fault(&f, 0, 180, EVERY, 60, 50 * seed + i, &found, &right,
					  &evals);
			printf("[ props ] %s period %4.1f s: found %d/%d evaluations, within 2 %% %d\n",
			       outage ? "outage 5 %   " : "bump 10 ms   ", periods[i], found, evals,
			       right);
			/* reported right in every evaluation (the 15 s outage:
			 * four cycles of 5 % duty, the least the search allows) */
			assert_int_equal(right, evals);
		}
}

static void test_reported_quickly(void **state)
{
	static const double periods[] = { 1.0, 3.0, 5.0, 7.5, 15.0 };

	(void)state;
	for (int outage = 0; outage < 2; outage++)
		for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
			struct fault f = { .period_s = periods[i],
					   .duty = outage ? 0.05 : 0.25,
					   .bump_s = 10e-3,
					   .outage = outage };
			double limit = fmax(4.0 * periods[i], 15.0), worst = 0;

			for (uint64_t seed = 1; seed <= 3; seed++) {
				int found = 0, right = 0, evals = 0;
				/* clean for a whole horizon, then the fault */
				double first = run_fault(&f, 70, 70 + limit + 10, 10, 1e9,
							 900 + 10 * seed + i, &found, &right,
							 &evals);

				worst = first < 0 ? INFINITY : fmax(worst, first);
			}
			printf("[ props ] %s period %4.1f s: first reported %.1f s after it began "
			       "(limit max(4 P, 15 s) = %.0f s)\n",
			       outage ? "outage 5 %   " : "bump 10 ms   ", periods[i], worst,
			       limit);
			/* the bound, max(4 P, 15 s) + one evaluation, for
			 * the bumps and outages of 1-5 s (the lab's 3 s delay
			 * toggle among them) */
			if (periods[i] <= 5.0)
				assert_true(worst <= limit + 0.5);
		}
}

/* Periods of 10 and 15 s hold only 6 and 4 cycles in the default 60 s
 * horizon: there the folded test finds them (above). With a 120 s horizon (--horizon 120) they
 * are found, within +-2 %, in every evaluation; the null cases that came
 * closest at 60 s stay quiet there too (asserted: each case at most the
 * false-alarm level, all of them together at most fap_max, 1e-4, a series
 * evaluation: 0 of these 6,960). */
static void test_long_horizon(void **state)
{
	static const double periods[] = { 10.0, 15.0 };
	long evals = 0, falses = 0;

	(void)state;
	cap = 2 * CAP;
	for (int outage = 0; outage < 2; outage++)
		for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
			struct fault f = { .period_s = periods[i],
					   .duty = outage ? 0.05 : 0.25,
					   .bump_s = 10e-3,
					   .outage = outage };
			int found = 0, right = 0, n = 0;

			for (uint64_t seed = 1; seed <= 3; seed++)
				run_fault(&f, 0, 300, EVERY, 120, 70 * seed + i, &found, &right,
					  &n);
			printf("[ props ] 120 s horizon: %s period %4.1f s: found %d/%d evaluations, "
			       "within 2 %% %d\n",
			       outage ? "outage 5 %   " : "bump 10 ms   ", periods[i], found, n,
			       right);
			assert_int_equal(right, n);
		}
	{
		static const struct noise cases[] = {
			{ .ge_loss = 0.05, .ge_burst = 10, .gauss_s = 1e-3 },
			{ .ge_loss = 0.05, .ge_burst = 20, .gauss_s = 1e-3 },
			{ .ge_loss = 0.20, .ge_burst = 10, .gauss_s = 1e-3 },
			{ .walk_s = 1e-4, .gauss_s = 2e-4 },
			{ .restart_every_s = 120,
			  .ge_loss = 0.05,
			  .ge_burst = 10,
			  .walk_s = 2e-5,
			  .gauss_s = 5e-4 },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct tally t = { 0 };

			run_noise(&cases[i], 3600.0, 500 + i, &t);
			assert_true(t.false_delay + t.false_hole <= 1 + (2 * t.evals) / 1000);
			evals += 2 * t.evals;
			falses += t.false_delay + t.false_hole;
		}
		printf("[ props ] 120 s horizon: false periods in GE 5 %%/10, 5 %%/20, 20 %%/10, "
		       "a random walk, restarts + GE + walk (1 h each): %ld in %ld series "
		       "evaluations\n",
		       falses, evals);
		assert_true(falses * 10000 <= evals);
	}
	cap = CAP;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gilbert_elliott),
		cmocka_unit_test(test_random_loss_and_jitter),
		cmocka_unit_test(test_random_walk_and_restarts),
		cmocka_unit_test(test_periods_found_within_2_percent),
		cmocka_unit_test(test_reported_quickly),
		cmocka_unit_test(test_long_horizon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
