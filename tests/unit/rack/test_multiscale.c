// SPDX-License-Identifier: MIT
/* Multi-scale classes (multiscale.h, docs/analysis.md "Multi-scale classes"):
 * the short scale's statistics under random loss, and the class state
 * machine driven by synthetic record streams on a simulated clock: 100 ms
 * ticks (the short and quick tone fits), a 1 s refresh (the long 256-slot
 * window). Times below are simulated, never wall-clock. Each test prints
 * what it measured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "health.h"
#include "multiscale.h"
#include "nw_signal.h"
#include "spectrum.h"
#include "test_spectrum_gen.h"

#define N_LONG 256U
#define TICK_NS 100000000ULL
#define S_NS 1000000000ULL
#define TICKS_PER_REFRESH 10
#define SLOTS_PER_S 20
#define LONG_SPAN_NS (N_LONG * GEN_T_NS)

/* ------------------------------------------------------------ helpers */

/* A stream of `secs` seconds: clean (loss 0, jitter 0) except from fault_on_s
 * to fault_off_s, where `fault` applies. Sorted by rx; the first arrival
 * opens the stream. */
static size_t make_stream(double tone, const struct gen_cfg *fault, double fault_on_s,
			  double fault_off_s, double secs, uint64_t seed, struct nw_record **out)
{
	uint64_t total = (uint64_t)(secs * SLOTS_PER_S);
	uint64_t on = (uint64_t)(fault_on_s * SLOTS_PER_S),
		 off = (uint64_t)(fault_off_s * SLOTS_PER_S);
	struct gen_cfg clean = { .tone_hz = tone, .delay_ms = 30.0, .seed = seed };
	struct gen_cfg f = *fault;
	struct nw_record *r = calloc(total + 1, sizeof(*r));
	size_t n = 0;

	assert_non_null(r);
	if (on > total)
		on = total;
	if (off > total)
		off = total;
	if (off < on)
		off = on;
	f.tone_hz = tone;
	f.seed = seed * 7919 + 1;
	n += gen_stream(&clean, 0, on, GEN_T0_NS, 0, r + n);
	n += gen_stream(&f, on, off - on, GEN_T0_NS, 0, r + n);
	clean.seed = seed * 104729 + 3;
	n += gen_stream(&clean, off, total - off, GEN_T0_NS, 0, r + n);
	qsort(r, n, sizeof(*r), gen_cmp_rx);
	for (size_t i = 0; i < n; i++)
		r[i].flags = i ? 0 : NW_REC_STREAM_START;
	*out = r;
	return n;
}

/* The records drained up to this time make the windows (simulate sets it
 * to the tick; the scatter test leaves it 0: the window's own end). */
static uint64_t data_ns;

/* Empty slots no displaced sample accounts for, as nw_analysis_tick counts. */
static uint32_t missing(uint32_t n, const struct nw_window_stats *st)
{
	uint32_t empty = n - st->filled;

	return empty > st->collisions ? empty - st->collisions : 0;
}

/* The two scales as nw_analysis_tick measures them. */
static void quick_scale(const struct nw_signal *sig, uint64_t now, double tone, double *x,
			double *keep, struct nw_ms_tick_in *in)
{
	struct nw_window_stats st;

	nw_signal_window_at(sig, NW_MS_QUICK_SLOTS, now, data_ns, NULL, x, keep, &st);
	in->quick_err = nw_tone_fit_error(x, NW_MS_QUICK_SLOTS, GEN_RATE, tone);
	in->quick_full = st.filled == NW_MS_QUICK_SLOTS && !st.collisions;
	in->quick_holes = missing(NW_MS_QUICK_SLOTS, &st);
	in->quick_displaced = st.collided_slots;
	if (in->quick_displaced)
		in->quick_spread = nw_signal_delay_spread(sig, NW_MS_QUICK_SLOTS, now, data_ns);
	in->quick_span_ns = NW_MS_QUICK_SLOTS * GEN_T_NS;
}

static void short_scale(const struct nw_signal *sig, uint64_t now, double tone, double *x,
			double *keep, struct nw_ms_tick_in *in)
{
	struct nw_window_stats st;

	nw_signal_window_at(sig, NW_MS_SHORT_SLOTS, now, data_ns, NULL, x, keep, &st);
	in->short_holes = missing(NW_MS_SHORT_SLOTS, &st);
	in->short_full = st.filled == NW_MS_SHORT_SLOTS && !st.collisions;
	in->short_displaced = st.collided_slots;
	if (in->short_displaced)
		in->short_spread = nw_signal_delay_spread(sig, NW_MS_SHORT_SLOTS, now, data_ns);
	in->short_err = nw_tone_fit_error(x, NW_MS_SHORT_SLOTS, GEN_RATE, tone);
}

struct sim_result {
	double first_warn_s, first_crit_s; /* after fault_on; -1: never */
	double healthy_again_s;            /* after fault_off: first healthy tick; -1: never */
	uint64_t warn_ticks, crit_ticks, changes;
	uint64_t plain_changes; /* of the long window's class without hysteresis */
	/* ticks where the displaced-sample rule's error and count marks held
	 * (what fired it before the spread was asked for too) */
	uint64_t displaced_ticks;
	uint64_t returns; /* quick returns (nw_ms_state.returns) */
};

/* The ticks' phase against the sender's slots (the lab's drifts). */
static uint64_t tick_phase_ns;

/* Ticks every 100 ms from the first sample to the end of the stream, the
 * long window every 10th tick once it holds only this presence; records
 * are fed as they would have been drained by each tick. */
static void simulate(double tone, const struct nw_record *r, size_t n, double secs,
		     double fault_on_s, double fault_off_s, struct sim_result *res)
{
	struct nw_signal sig;
	struct nw_spec_ctx ctx;
	struct nw_ms_state ms;
	double x[NW_MS_SHORT_SLOTS], keep[NW_MS_SHORT_SLOTS];
	uint64_t start = r[0].rx_ns, end = GEN_T0_NS + (uint64_t)(secs * 1e9);
	enum nw_health prev = NW_HEALTH_WARMING, plain_prev = NW_HEALTH_HEALTHY;
	size_t fed = 0;
	bool was_faulty = false;

	assert_int_equal(nw_signal_init(&sig, N_LONG, GEN_RATE, tone), 0);
	assert_int_equal(nw_spec_ctx_init(&ctx, N_LONG), 0);
	nw_ms_reset(&ms);
	*res = (struct sim_result){ .first_warn_s = -1, .first_crit_s = -1, .healthy_again_s = -1 };
	for (uint64_t i = 1; start + i * TICK_NS + tick_phase_ns <= end; i++) {
		uint64_t now = start + i * TICK_NS + tick_phase_ns;
		/* the windows end where nw_analysis_tick ends them */
		uint64_t w_end = now - NW_MS_SETTLE_SLOTS * GEN_T_NS,
			 have = (w_end - start) / GEN_T_NS;

		data_ns = now;
		double t = (double)(now - GEN_T0_NS) / 1e9;
		struct nw_ms_tick_in in = { .short_ok = have >= NW_MS_SHORT_SLOTS,
					    .quick_ok = have >= NW_MS_QUICK_SLOTS,
					    .short_err = 1,
					    .quick_err = 1 };
		enum nw_health c;

		while (fed < n && r[fed].rx_ns <= now)
			nw_signal_add(&sig, &r[fed++]);
		if (in.quick_ok)
			quick_scale(&sig, w_end, tone, x, keep, &in);
		if (in.short_ok)
			short_scale(&sig, w_end, tone, x, keep, &in);
		res->displaced_ticks += in.quick_ok && in.quick_err >= NW_MS_QUICK_DISPLACED_ERR &&
					in.quick_displaced >= NW_MS_QUICK_DISPLACED_ENTER;
		c = nw_ms_tick(&ms, &in, now, LONG_SPAN_NS);
		if (i % TICKS_PER_REFRESH == 0 && have >= N_LONG) {
			struct nw_spec_result lr;

			assert_int_equal(nw_spec_analyze(&ctx, &sig, now, &lr), 0);
			uint32_t empty = N_LONG - lr.filled;

			c = nw_ms_long_counts(&ms, lr.spectral_error,
					      empty > lr.collisions
						      ? (double)(empty - lr.collisions) / N_LONG
						      : 0.0,
					      now);
			res->plain_changes += nw_health_class_of(lr.spectral_error) != plain_prev;
			plain_prev = nw_health_class_of(lr.spectral_error);
		}
		res->changes += c != prev && prev != NW_HEALTH_WARMING;
		prev = c;
		res->warn_ticks += c == NW_HEALTH_WARNING;
		res->crit_ticks += c == NW_HEALTH_CRITICAL;
		if (c != NW_HEALTH_HEALTHY && t >= fault_on_s && res->first_warn_s < 0)
			res->first_warn_s = t - fault_on_s;
		if (c == NW_HEALTH_CRITICAL && t >= fault_on_s && res->first_crit_s < 0)
			res->first_crit_s = t - fault_on_s;
		if (c != NW_HEALTH_HEALTHY && t >= fault_on_s)
			was_faulty = true;
		if (was_faulty && t >= fault_off_s && c == NW_HEALTH_HEALTHY &&
		    res->healthy_again_s < 0)
			res->healthy_again_s = t - fault_off_s;
	}
	res->returns = ms.returns;
	nw_spec_ctx_free(&ctx);
	nw_signal_free(&sig);
}

static void run_fault(double tone, const struct gen_cfg *fault, double on, double off, double secs,
		      uint64_t seed, struct sim_result *res)
{
	struct nw_record *r;
	size_t n = make_stream(tone, fault, on, off, secs, seed, &r);

	simulate(tone, r, n, secs, on, off, res);
	free(r);
}

/* ------------------------------------------------- the fit, statistics */

/* A pure tone at any phase fits exactly; an empty window is all error. */
static void test_fit_exact(void **state)
{
	double x[NW_MS_SHORT_SLOTS];

	(void)state;
	for (double tone = 1.0; tone < 9.9; tone += 0.35) {
		for (uint32_t i = 0; i < NW_MS_SHORT_SLOTS; i++)
			x[i] = 0.8 * sin(2 * M_PI * tone * i / GEN_RATE + 0.3 * tone);
		assert_true(nw_tone_fit_error(x, NW_MS_SHORT_SLOTS, GEN_RATE, tone) < 1e-9);
		assert_true(nw_tone_fit_error(x + 32, NW_MS_QUICK_SLOTS, GEN_RATE, tone) < 1e-9);
	}
	for (uint32_t i = 0; i < NW_MS_SHORT_SLOTS; i++)
		x[i] = 0;
	assert_true(nw_tone_fit_error(x, NW_MS_SHORT_SLOTS, GEN_RATE, 1.0) == 1.0);
	/* A DC offset is error, as in the long window. */
	for (uint32_t i = 0; i < NW_MS_SHORT_SLOTS; i++)
		x[i] = 1.0;
	assert_true(nw_tone_fit_error(x, NW_MS_SHORT_SLOTS, GEN_RATE, 1.0) > 0.9);
}

/* The short (64-slot) and quick (32-slot) errors under random loss p, over
 * 400 disjoint windows of one stream: the mean is p (no lobe bias: every
 * slot weighs the same), the scatter is what the thresholds are set from. */
static void scatter_at(double tone, double p, double tol)
{
	const int windows = 400;
	uint64_t total = (uint64_t)(windows + 2) * NW_MS_SHORT_SLOTS;
	struct gen_cfg c = { .tone_hz = tone, .delay_ms = 1.0, .loss = p, .seed = 42 };
	struct nw_record *r = calloc(total, sizeof(*r));
	struct nw_signal sig;
	double x[NW_MS_SHORT_SLOTS], keep[NW_MS_SHORT_SLOTS];
	double s_sum = 0, s_sq = 0, s_min = 1, s_max = 0, q_sum = 0, q_min = 1, q_max = 0;
	size_t n, fed = 0;

	assert_non_null(r);
	n = gen_stream(&c, 0, total, GEN_T0_NS, NW_REC_STREAM_START, r);
	assert_int_equal(nw_signal_init(&sig, N_LONG, GEN_RATE, tone), 0);
	for (int w = 0; w < windows; w++) {
		uint64_t last_k = (uint64_t)(w + 2) * NW_MS_SHORT_SLOTS - 1;
		uint64_t now = GEN_T0_NS + last_k * GEN_T_NS + 1000000ULL + 10000000ULL;
		struct nw_ms_tick_in in;
		double es, eq;

		while (fed < n && r[fed].rx_ns <= now)
			nw_signal_add(&sig, &r[fed++]);
		quick_scale(&sig, now, tone, x, keep, &in);
		short_scale(&sig, now, tone, x, keep, &in);
		es = in.short_err;
		eq = in.quick_err;
		s_sum += es;
		s_sq += es * es;
		s_min = fmin(s_min, es);
		s_max = fmax(s_max, es);
		q_sum += eq;
		q_min = fmin(q_min, eq);
		q_max = fmax(q_max, eq);
	}
	double mean = s_sum / windows, sd = sqrt(fmax(0, s_sq / windows - mean * mean));

	print_message("  loss %.2f tone %.2f Hz: short mean %.4f sd %.4f min %.4f max %.4f | "
		      "quick mean %.4f min %.4f max %.4f (%d windows)\n",
		      p, tone, mean, sd, s_min, s_max, q_sum / windows, q_min, q_max, windows);
	assert_true(fabs(mean - p) <= tol);
	assert_true(fabs(q_sum / windows - p) <= 2 * tol);
	nw_signal_free(&sig);
	free(r);
}

/* Tolerances: 4 standard errors of a 400-window mean (per-window sd 0.033,
 * 0.060, 0.076 at p = 0.05, 0.2, 0.5), rounded up; p = 0 is exact. */
static void test_short_scatter(void **state)
{
	(void)state;
	scatter_at(1.0, 0.0, 1e-6);
	scatter_at(1.0, 0.05, 0.008);
	scatter_at(1.0, 0.2, 0.012);
	scatter_at(1.0, 0.5, 0.016);
	scatter_at(4.35, 0.0, 1e-6);
	scatter_at(4.35, 0.05, 0.008);
	scatter_at(4.35, 0.2, 0.012);
	scatter_at(4.35, 0.5, 0.016);
}

/* ------------------------------------------- the state machine, scripted */

/* One tick; a quick window under the clean mark is taken as full here, and
 * the short window misses a few samples (more than NW_MS_LEAVE_HOLES, so
 * the leaving rules' other conditions decide). */
static enum nw_health tk(struct nw_ms_state *m, bool s_ok, double s_err, bool q_ok, double q_err,
			 uint64_t t)
{
	struct nw_ms_tick_in in = { .short_ok = s_ok,
				    .quick_ok = q_ok,
				    .quick_full = q_err < NW_MS_QUICK_CLEAN,
				    .short_full = s_ok && s_err < NW_MS_QUICK_CLEAN,
				    .short_holes = NW_MS_LEAVE_HOLES + 3,
				    .short_err = s_err,
				    .quick_err = q_err,
				    .quick_span_ns = NW_MS_QUICK_SLOTS * GEN_T_NS };

	return nw_ms_tick(m, &in, t, LONG_SPAN_NS);
}

/* The quick window's arrival spread (slots) tkc passes with displaced
 * samples: jitter's by default. */
static double script_spread = 0.5;

/* One tick with the windows' counts: holes of the short and quick windows,
 * samples displaced in the quick one. */
static enum nw_health tkc(struct nw_ms_state *m, double s_err, uint32_t s_holes, double q_err,
			  uint32_t q_holes, uint32_t q_disp, uint64_t t)
{
	struct nw_ms_tick_in in = { .short_ok = true,
				    .quick_ok = true,
				    .short_err = s_err,
				    .quick_err = q_err,
				    .short_holes = s_holes,
				    .quick_holes = q_holes,
				    .quick_displaced = q_disp,
				    .quick_spread = q_disp ? script_spread : 0,
				    .quick_span_ns = NW_MS_QUICK_SLOTS * GEN_T_NS };

	return nw_ms_tick(m, &in, t, LONG_SPAN_NS);
}

static void test_hysteresis_scripted(void **state)
{
	struct nw_ms_state m;
	const uint64_t span = LONG_SPAN_NS;
	uint64_t t = GEN_T0_NS;

	(void)state;
	nw_ms_reset(&m);
	/* No verdict before the quick scale is full: warming, whatever the
	 * long window says. */
	assert_int_equal(nw_ms_long(&m, 0.6, t), NW_HEALTH_WARMING);
	assert_int_equal(tk(&m, false, 0.9, false, 0.9, t), NW_HEALTH_WARMING);
	/* Quick full, not clean, nothing escalates: the long window's class. */
	assert_int_equal(tk(&m, false, 0, true, 0.1, t), NW_HEALTH_CRITICAL);
	nw_ms_reset(&m);
	assert_int_equal(tk(&m, false, 0, true, 0.1, t), NW_HEALTH_HEALTHY);
	/* Long window near 0.2: enters warning at 0.2, stays down to 0.15. */
	assert_int_equal(nw_ms_long(&m, 0.19, t), NW_HEALTH_HEALTHY);
	assert_int_equal(nw_ms_long(&m, 0.2, t), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long(&m, 0.16, t), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long(&m, 0.199, t), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long(&m, 0.149, t), NW_HEALTH_HEALTHY);
	/* ... and critical above 0.5, kept down to 0.45. */
	assert_int_equal(nw_ms_long(&m, 0.51, t), NW_HEALTH_CRITICAL);
	assert_int_equal(nw_ms_long(&m, 0.46, t), NW_HEALTH_CRITICAL);
	assert_int_equal(nw_ms_long(&m, 0.44, t), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long(&m, NAN, t), NW_HEALTH_CRITICAL);
	nw_ms_reset(&m);
	/* Short scale: enters at 0.28, leaves below 0.12; critical above 0.7
	 * until below 0.45. Quick not clean (0.1) throughout. */
	assert_int_equal(tk(&m, true, 0.27, true, 0.1, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tk(&m, true, 0.28, true, 0.1, t), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.13, true, 0.1, t), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.11, true, 0.1, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tk(&m, true, 0.71, true, 0.1, t), NW_HEALTH_CRITICAL);
	assert_int_equal(tk(&m, true, 0.5, true, 0.1, t), NW_HEALTH_CRITICAL);
	assert_int_equal(tk(&m, true, 0.3, true, 0.1, t), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, NAN, true, NAN, t), NW_HEALTH_CRITICAL);
	/* Not warm: no verdict (warming), then a verdict once the quick scale
	 * is full. */
	nw_ms_reset(&m);
	assert_int_equal(tk(&m, false, 0.9, false, 0.9, t), NW_HEALTH_WARMING);
	assert_int_equal(tk(&m, false, 0.9, true, 0.1, t), NW_HEALTH_HEALTHY);
	/* Quick return: a clean quick window clears both scales, and the long
	 * window's verdict is set aside until it turned over. */
	assert_int_equal(nw_ms_long(&m, 0.6, t), NW_HEALTH_CRITICAL);
	assert_int_equal(tk(&m, true, 0.4, true, 0.01, t), NW_HEALTH_HEALTHY);
	assert_int_equal(m.returns, 1);
	assert_int_equal(nw_ms_long(&m, 0.4, t + span - 1), NW_HEALTH_HEALTHY);
	/* ... while the short scale still escalates. A warning so soon after a
	 * return (that clean window was a lucky run of a steady loss) is left
	 * only by a return that finds the short window clean too: not on the
	 * short error, not on a clean quick window alone. */
	assert_int_equal(tk(&m, true, 0.3, true, 0.3, t + 1), NW_HEALTH_WARNING);
	assert_true(m.strict_return);
	assert_int_equal(tk(&m, true, 0.1, true, 0.1, t + 2), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.1, true, 0.01, t + 3), NW_HEALTH_WARNING);
	/* Once the long window turned over, its verdict counts again. */
	assert_int_equal(nw_ms_long(&m, 0.3, t + span), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.01, true, 0.01, t + span + 1), NW_HEALTH_HEALTHY);
	assert_int_equal(m.returns, 2);
	assert_false(m.strict_return);
	/* A warning long after the last return is left as before. */
	t += span + 1 + NW_MS_RELAPSE_SPANS * span;
	assert_int_equal(tk(&m, true, 0.3, true, 0.3, t), NW_HEALTH_WARNING);
	assert_false(m.strict_return);
	assert_int_equal(tk(&m, true, 0.1, true, 0.1, t + 1), NW_HEALTH_HEALTHY);
	/* A steady loss: the long window still misses 10 % of its samples,
	 * so neither scale lets the warning go on its error alone. */
	assert_int_equal(nw_ms_long_counts(&m, 0.2, 0.15, t + 2), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long_counts(&m, 0.14, NW_MS_LEAVE_MISSING, t + 3),
			 NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.28, true, 0.1, t + 4), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.1, true, 0.1, t + 5), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long_counts(&m, 0.14, 0.09, t + 6), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.1, true, 0.1, t + 7), NW_HEALTH_HEALTHY);
	/* Whatever the long window or a relapse says, a short window that misses
	 * no sample lets the warning go (the fault is over; late samples may
	 * keep the quick window from being clean). */
	assert_int_equal(tk(&m, true, 0.3, true, 0.3, t + 8), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long_counts(&m, 0.3, 0.3, t + 9), NW_HEALTH_WARNING);
	assert_int_equal(nw_ms_long_counts(&m, 0.1, 0.3, t + 10), NW_HEALTH_WARNING);
	m.strict_return = true;
	assert_int_equal(tkc(&m, 0.1, NW_MS_LEAVE_HOLES + 1, 0.1, 0, 0, t + 11), NW_HEALTH_WARNING);
	assert_int_equal(tkc(&m, 0.1, NW_MS_LEAVE_HOLES, 0.1, 0, 0, t + 12), NW_HEALTH_WARNING);
	assert_int_equal(m.short_lvl, NW_HEALTH_HEALTHY); /* the long window's is its own */
}

/* The entry rules beside the errors' own marks (multiscale.h): each needs
 * its count too, and a return from an outage starts the scales over. */
static void test_entry_rules_scripted(void **state)
{
	struct nw_ms_state m;
	const uint64_t span = LONG_SPAN_NS, q_span = NW_MS_QUICK_SLOTS * GEN_T_NS;
	uint64_t t = GEN_T0_NS + 100 * S_NS;

	(void)state;
	/* Short error at the class boundary: a warning with 13 empty slots of
	 * 64, not with 12 (a chance cluster at the tone's peaks), nor below it. */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.2, 12, 0.1, 0, 0, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tkc(&m, 0.199, 30, 0.1, 0, 0, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tkc(&m, 0.2, 13, 0.1, 0, 0, t), NW_HEALTH_WARNING);
	/* Quick error 0.3 with 10 of 32 empty. */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.1, 0, 0.3, 9, 0, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tkc(&m, 0.1, 0, 0.29, 12, 0, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tkc(&m, 0.1, 0, 0.3, 10, 0, t), NW_HEALTH_WARNING);
	/* Quick error 0.2 with 4 samples displaced (jitter beyond half a slot). */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.1, 0, 0.2, 0, 3, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tkc(&m, 0.1, 0, 0.19, 0, 8, t), NW_HEALTH_HEALTHY);
	assert_int_equal(tkc(&m, 0.1, 0, 0.2, 0, 4, t), NW_HEALTH_WARNING);
	/* ... and only when the arrivals spread about their schedule: a few
	 * late samples among on-time ones (a loaded host) are not jitter. */
	nw_ms_reset(&m);
	script_spread = NW_MS_QUICK_DISPLACED_SPREAD - 0.01;
	assert_int_equal(tkc(&m, 0.1, 0, 0.3, 0, 8, t), NW_HEALTH_HEALTHY);
	script_spread = NAN; /* too few samples to tell */
	assert_int_equal(tkc(&m, 0.1, 0, 0.3, 0, 8, t), NW_HEALTH_HEALTHY);
	script_spread = NW_MS_QUICK_DISPLACED_SPREAD;
	assert_int_equal(tkc(&m, 0.1, 0, 0.2, 0, 4, t), NW_HEALTH_WARNING);
	script_spread = 0.5;
	/* The errors' own marks need no count. */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.1, 0, 0.45, 0, 0, t), NW_HEALTH_WARNING);
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.28, 0, 0.1, 0, 0, t), NW_HEALTH_WARNING);

	/* Back from an outage: warming until the quick scale is full again,
	 * then measured on the fresh slots; the long window's verdict (it holds
	 * the outage) is set aside until it turned over. */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.8, 40, 0.9, 30, 0, t), NW_HEALTH_CRITICAL);
	assert_int_equal(nw_ms_long(&m, 0.6, t), NW_HEALTH_CRITICAL);
	/* Back from an outage that began healthy: warming until measured. */
	nw_ms_reset(&m);
	assert_int_equal(tk(&m, false, 0, true, 0.01, t), NW_HEALTH_HEALTHY);
	nw_ms_back(&m, t + S_NS, span);
	assert_int_equal(m.fresh_from_ns, t + S_NS);
	assert_int_equal(tk(&m, false, 0, false, 0, t + S_NS), NW_HEALTH_WARMING);
	assert_int_equal(nw_ms_long(&m, 0.6, t + 2 * S_NS), NW_HEALTH_WARMING);
	assert_int_equal(tk(&m, false, 0, true, 0.1, t + 3 * S_NS), NW_HEALTH_HEALTHY);
	assert_int_equal(nw_ms_long(&m, 0.6, t + S_NS + span - 1), NW_HEALTH_HEALTHY);
	assert_int_equal(nw_ms_long(&m, 0.6, t + S_NS + span), NW_HEALTH_CRITICAL);

	/* Back from an outage that began critical (heavy loss falls silent
	 * now and then): the measured fault is held, not warming, and not
	 * let go on a quick window that is merely quiet; a clean one returns. */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.8, 40, 0.9, 30, 0, t), NW_HEALTH_CRITICAL);
	nw_ms_back(&m, t + S_NS, span);
	assert_int_equal(tk(&m, false, 0, false, 0, t + S_NS), NW_HEALTH_CRITICAL);
	assert_int_equal(tk(&m, false, 0, true, 0.1, t + 3 * S_NS), NW_HEALTH_CRITICAL);
	assert_int_equal(tk(&m, false, 0, true, 0.01, t + 4 * S_NS), NW_HEALTH_HEALTHY);

	/* A quick return counts the short scale from the clean window's start:
	 * the older slots (the fault that is over) cannot escalate again. */
	nw_ms_reset(&m);
	assert_int_equal(tkc(&m, 0.5, 30, 0.6, 20, 0, t), NW_HEALTH_WARNING);
	assert_int_equal(tk(&m, true, 0.3, true, 0.01, t + 5 * S_NS), NW_HEALTH_HEALTHY);
	assert_int_equal(m.returns, 1);
	assert_int_equal(m.fresh_from_ns, t + 5 * S_NS - q_span);
}

/* ------------------------------------- the state machine, synthetic streams */

/* A clean tone stays healthy, at both tones, for 10 simulated minutes. */
static void test_clean_stays_healthy(void **state)
{
	struct gen_cfg none = { 0 };
	struct sim_result r;

	(void)state;
	for (double tone = 1.0; tone < 5; tone += 3.35) {
		run_fault(tone, &none, 1e9, 1e9, 600, 1, &r);
		print_message("  clean %.2f Hz, 10 min: %llu warning ticks, %llu changes\n", tone,
			      (unsigned long long)r.warn_ticks, (unsigned long long)r.changes);
		assert_int_equal(r.changes, 0);
	}
}

/* The no-flap rule: 5 % random loss for 30 simulated minutes (18,000
 * ticks, 1,800 long windows) never leaves healthy, at either tone. */
static void test_five_percent_never_warns(void **state)
{
	struct gen_cfg loss5 = { .delay_ms = 30.0, .loss = 0.05 };
	struct sim_result r;

	(void)state;
	for (uint64_t seed = 1; seed <= 2; seed++)
		for (double tone = 1.0; tone < 5; tone += 3.35) {
			run_fault(tone, &loss5, 0, 1e9, 1800, seed, &r);
			print_message("  5 %% loss %.2f Hz seed %llu, 30 min: %llu warning ticks\n",
				      tone, (unsigned long long)seed,
				      (unsigned long long)r.warn_ticks);
			assert_int_equal(r.warn_ticks + r.crit_ticks, 0);
		}
}

/* A sender that stalls and then sends what it held back in one burst (a
 * loaded host: every 2 s, 250 ms of samples arrive together) displaces
 * several samples, all into one slot: one event, not jitter, and no sample
 * is missing. It never reaches warning (10 simulated minutes, both tones).
 * Denser stalls do: the tone sees their empty slots and misplaced values as
 * it sees loss (every 1.2 s, or 100 ms every 0.5 s at 4.35 Hz). */
static void test_sender_stalls_stay_healthy(void **state)
{
	const double secs = 600;
	struct gen_cfg clean = { .delay_ms = 30.0, .seed = 11 };

	(void)state;
	for (double tone = 1.0; tone < 5; tone += 3.35) {
		struct nw_record *r = calloc((size_t)(secs * SLOTS_PER_S), sizeof(*r));
		struct sim_result res;
		size_t n;

		assert_non_null(r);
		clean.tone_hz = tone;
		n = gen_stream(&clean, 0, (uint64_t)(secs * SLOTS_PER_S), GEN_T0_NS,
			       NW_REC_STREAM_START, r);
		/* records are in seq order (no jitter): samples 40j .. 40j + 4
		 * arrive with the fifth */
		for (size_t i = 40; i + 4 < n; i += 40)
			for (size_t k = 0; k < 4; k++)
				r[i + k].rx_ns = r[i + 4].rx_ns;
		simulate(tone, r, n, secs, 1e9, 1e9, &res);
		print_message("  stalls of 250 ms every 2 s, %.2f Hz, 10 min: %llu warning ticks\n",
			      tone, (unsigned long long)(res.warn_ticks + res.crit_ticks));
		assert_int_equal(res.warn_ticks + res.crit_ticks, 0);
		free(r);
	}
}

/* A loaded host's scheduling as the shared lab showed it (docs/analysis.md,
 * "Multi-scale classes"): bursts of 1-6 s, one starting every 10-20 s, in
 * which a share q of the samples leave late by an exponential delay of mean
 * mean_ms while the rest leave on time. Returns the largest RFC 3550 jitter
 * estimate (ms) the collector's counter would have shown. */
static double host_load(struct nw_record *r, size_t n, double q, double mean_ms, uint64_t seed)
{
	uint64_t s = seed, burst_from = 0, burst_to = 0;
	double j = 0, jmax = 0, prev_transit = NAN;

	for (size_t i = 0; i < n; i++) {
		uint64_t tx = r[i].tx_ns;

		if (tx >= burst_to) { /* the next burst */
			burst_from = tx + (uint64_t)((10 + 10 * gen_uniform(&s)) * 1e9);
			burst_to = burst_from + (uint64_t)((1 + 5 * gen_uniform(&s)) * 1e9);
		}
		if (tx >= burst_from && gen_uniform(&s) < q)
			r[i].rx_ns += (uint64_t)(-log(1.0 - gen_uniform(&s)) * mean_ms * 1e6);
		double transit = (double)(r[i].rx_ns - tx) / 1e6;

		if (!isnan(prev_transit))
			j += (fabs(transit - prev_transit) - j) / 16;
		jmax = fmax(jmax, j);
		prev_transit = transit;
	}
	qsort(r, n, sizeof(*r), gen_cmp_rx);
	for (size_t i = 0; i < n; i++)
		r[i].flags = i ? 0 : NW_REC_STREAM_START;
	return jmax;
}

/* The false alarms of issue 13 under host load: samples now and then late
 * by tens of ms, in bursts, with the collector's jitter counter at 8-20 ms.
 * The displaced-sample rule's error and count marks are reached (the test
 * would fail without the spread), the class never leaves healthy: 30
 * simulated minutes at each load and tone. */
static void test_host_load_stays_healthy(void **state)
{
	const double secs = 1800;
	const struct {
		double q, mean_ms;
	} load[] = { { 0.3, 12 }, { 0.5, 10 }, { 0.15, 30 }, { 0.3, 20 } };
	uint64_t reached = 0;

	(void)state;
	for (size_t l = 0; l < sizeof(load) / sizeof(load[0]); l++)
		for (double tone = 1.0; tone < 5; tone += 3.35) {
			struct gen_cfg clean = { .tone_hz = tone, .delay_ms = 30.0, .seed = 5 + l };
			struct nw_record *r = calloc((size_t)(secs * SLOTS_PER_S), sizeof(*r));
			struct sim_result res;
			double jit;
			size_t n;

			assert_non_null(r);
			n = gen_stream(&clean, 0, (uint64_t)(secs * SLOTS_PER_S), GEN_T0_NS,
				       NW_REC_STREAM_START, r);
			jit = host_load(r, n, load[l].q, load[l].mean_ms, 77 + l);
			simulate(tone, r, n, secs, 1e9, 1e9, &res);
			print_message(
				"  host load %.0f %% late by ~%.0f ms in bursts, %.2f Hz, 30 min "
				"(jitter counter up to %.1f ms): displaced-rule marks at %llu "
				"ticks, %llu warning ticks\n",
				100 * load[l].q, load[l].mean_ms, tone, jit,
				(unsigned long long)res.displaced_ticks,
				(unsigned long long)(res.warn_ticks + res.crit_ticks));
			reached += res.displaced_ticks;
			assert_int_equal(res.warn_ticks + res.crit_ticks, 0);
			free(r);
		}
	assert_true(reached > 0);
}

/* The way back under host load: 30 % loss for 30 s while the sender is
 * loaded all along (a third of its samples late by ~15 ms, so the quick
 * window is rarely clean: a displaced sample leaves a hole and a
 * collision). Once the short window misses no sample the warning goes:
 * healthy again within 4 s (the short window's 3.2 s plus a tick or two),
 * not after the long window has drained its missing share (~10 s). */
static void test_return_under_host_load(void **state)
{
	struct gen_cfg loss = { .delay_ms = 30, .loss = 0.3 };
	double worst = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct nw_record *r;
		struct sim_result res;
		size_t n = make_stream(1.0, &loss, 60, 90, 120, seed, &r);
		uint64_t s = seed * 31;

		for (size_t i = 0; i < n; i++)
			if (gen_uniform(&s) < 0.33)
				r[i].rx_ns += (uint64_t)(-log(1.0 - gen_uniform(&s)) * 15e6);
		qsort(r, n, sizeof(*r), gen_cmp_rx);
		for (size_t i = 0; i < n; i++)
			r[i].flags = i ? 0 : NW_REC_STREAM_START;
		simulate(1.0, r, n, 120, 60, 90, &res);
		assert_true(res.first_warn_s >= 0);
		assert_true(res.healthy_again_s >= 0 && res.healthy_again_s <= 4.0);
		worst = fmax(worst, res.healthy_again_s);
		free(r);
	}
	print_message("  30 %% loss on a loaded sender, 8 seeds: healthy again within %.1f s\n",
		      worst);
}

/* The way back does not depend on the tick's phase against the sender's
 * clock: a tick just before the newest slot's sample is due must not count
 * that slot as a hole (NW_MS_SETTLE_SLOTS). 50 % loss for 30 s, then clean,
 * at phases across a slot: healthy again within 2 s at every one. */
static void test_return_at_any_phase(void **state)
{
	struct gen_cfg loss = { .delay_ms = 30, .loss = 0.5 };

	(void)state;
	for (uint64_t ph = 0; ph < GEN_T_NS; ph += GEN_T_NS / 5) {
		struct sim_result r;

		tick_phase_ns = ph;
		run_fault(1.0, &loss, 60, 90, 100, 3, &r);
		tick_phase_ns = 0;
		print_message("  tick phase %2llu ms: warning after %.1f s, healthy again %.1f s "
			      "after the fault\n",
			      (unsigned long long)(ph / 1000000), r.first_warn_s,
			      r.healthy_again_s);
		assert_true(r.healthy_again_s >= 0 && r.healthy_again_s <= 2.0);
	}
}

struct onset_case {
	const char *what;
	struct gen_cfg fault;
	double tone;
	double warn_median_s; /* the target (issue 13) for the median over seeds */
	double warn_max_s;    /* every seed */
	double crit_within_s; /* 0: not required */
	double len_s;         /* how long the fault lasts */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define SEEDS 16

/* A fault from 60 s for len_s (simulated) on an otherwise clean stream, over
 * SEEDS seeds: the time to warning (median and worst, bounded: the bounds
 * are what the thresholds achieve, printed beside issue 13's targets in
 * docs/analysis.md), to critical when required (sustained: 50 % loss for
 * 90 s), and back to healthy within 2 s after it stops (every
 * seed). Simulated time: the state machine's, not the wall clock's. */
static void onset(const struct onset_case *oc)
{
	double warn[SEEDS], worst_crit = 0, worst_back = 0;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct sim_result r;

		run_fault(oc->tone, &oc->fault, 60, 60 + oc->len_s, 90 + oc->len_s, seed, &r);
		assert_true(r.first_warn_s >= 0);
		warn[seed - 1] = r.first_warn_s;
		if (oc->crit_within_s > 0)
			assert_true(r.first_crit_s >= 0 && r.first_crit_s <= oc->crit_within_s);
		assert_true(r.healthy_again_s >= 0 && r.healthy_again_s <= 2.0);
		worst_crit = fmax(worst_crit, r.first_crit_s);
		worst_back = fmax(worst_back, r.healthy_again_s);
	}
	qsort(warn, SEEDS, sizeof(warn[0]), cmp_double);
	print_message("  %-13s %.2f Hz, %d seeds: warning after min %.1f median %.1f max %.1f s; "
		      "critical within %.1f s; healthy again within %.1f s\n",
		      oc->what, oc->tone, SEEDS, warn[0], warn[SEEDS / 2], warn[SEEDS - 1],
		      worst_crit, worst_back);
	assert_true(warn[SEEDS / 2] <= oc->warn_median_s);
	assert_true(warn[SEEDS - 1] <= oc->warn_max_s);
}

static void test_loss50_escalates(void **state)
{
	(void)state;
	onset(&(struct onset_case){
		"50 % loss", { .delay_ms = 30, .loss = 0.5 }, 1.0, 2.0, 3.0, 60, 90 });
	onset(&(struct onset_case){
		"50 % loss", { .delay_ms = 30, .loss = 0.5 }, 4.35, 2.0, 3.0, 60, 90 });
}

static void test_loss30_escalates(void **state)
{
	(void)state;
	onset(&(struct onset_case){
		"30 % loss", { .delay_ms = 30, .loss = 0.3 }, 1.0, 3.0, 6.0, 0, 30 });
	onset(&(struct onset_case){
		"30 % loss", { .delay_ms = 30, .loss = 0.3 }, 4.35, 3.0, 6.0, 0, 30 });
}

/* 25 ms jitter at 20 Hz (sigma = T/2): 1.0 Hz is the tone it hurts least. */
static void test_jitter25_escalates(void **state)
{
	(void)state;
	onset(&(struct onset_case){
		"jitter 25 ms", { .delay_ms = 30, .jitter_ms = 25 }, 1.0, 2.0, 3.0, 0, 30 });
	onset(&(struct onset_case){
		"jitter 25 ms", { .delay_ms = 30, .jitter_ms = 25 }, 4.35, 2.0, 3.0, 0, 30 });
}

/* Near the boundary: 10, 12, 15, 20 and 25 % loss for 30 minutes each, at
 * both tones and two seeds. Whatever the class (these may read either), it
 * settles: from 12 % on at most 10 changes in 30 minutes, at 10 % (about as
 * often warning as healthy) at most 20. Before the leaving rules
 * (NW_MS_LEAVE_MISSING, strict_return): 15 % changed 207 times, 20 % 131,
 * 10 % 32 (seed 3, 1.0 Hz); the long window's plain class 80-230 times. */
static void test_boundary_does_not_flap(void **state)
{
	const double ps[] = { 0.1, 0.12, 0.15, 0.2, 0.25 };
	struct sim_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		for (uint64_t seed = 3; seed <= 4; seed++)
			for (double tone = 1.0; tone < 5; tone += 3.35) {
				struct gen_cfg loss = { .delay_ms = 30.0, .loss = ps[i] };

				run_fault(tone, &loss, 0, 1e9, 1800, seed, &r);
				print_message("  %.0f %% loss %.2f Hz seed %llu, 30 min: %llu class "
					      "changes (%llu quick returns; long window alone, no "
					      "hysteresis: %llu), %.1f %% of ticks warning\n",
					      100 * ps[i], tone, (unsigned long long)seed,
					      (unsigned long long)r.changes,
					      (unsigned long long)r.returns,
					      (unsigned long long)r.plain_changes,
					      100.0 * (double)r.warn_ticks / 18000);
				assert_true(r.changes <= (ps[i] < 0.12 ? 20U : 10U));
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_exact),
		cmocka_unit_test(test_short_scatter),
		cmocka_unit_test(test_hysteresis_scripted),
		cmocka_unit_test(test_entry_rules_scripted),
		cmocka_unit_test(test_clean_stays_healthy),
		cmocka_unit_test(test_five_percent_never_warns),
		cmocka_unit_test(test_sender_stalls_stay_healthy),
		cmocka_unit_test(test_host_load_stays_healthy),
		cmocka_unit_test(test_return_at_any_phase),
		cmocka_unit_test(test_return_under_host_load),
		cmocka_unit_test(test_loss50_escalates),
		cmocka_unit_test(test_loss30_escalates),
		cmocka_unit_test(test_jitter25_escalates),
		cmocka_unit_test(test_boundary_does_not_flap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
