// SPDX-License-Identifier: MIT
/*
 * Cost of the rack controller's per-interval analysis (user/rack/analysis/analysis.c)
 * and its memory per server, with synthetic servers: no privileges, no BPF.
 *
 * For 1, 100 and 10,000 servers (default window N = 256, 20 Hz, 1 s
 * interval, 60 s horizon) every server gets a healthy tone (its expected
 * frequency, a little delay jitter, no loss) for 60 s of records, so every
 * window is full and the periodicity/skew rings are full. Then K intervals
 * of 1 s of records each, timing what the daemon runs per interval: ten
 * nw_analysis_tick (every 100 ms) and one nw_analysis_refresh:
 *  - "tone": period_budget_s < 0, so refresh_periods (in the tick) stops
 *    before its first server: nw_spec_analyze + health class + view copy
 *    for every server, and the ticks' short and quick tone fits;
 *  - "tone+periods": the default budget (NW_ANALYSIS_PERIOD_BUDGET per
 *    tick), and how long until every server's periods were re-evaluated;
 *  - "tick": nw_analysis_tick alone, per tick, on the same servers;
 *  - the unbudgeted periodicity + skew cost of one server, by calling
 *    nw_periodicity_eval_with and nw_skew_eval_series directly on filled state.
 * Memory: mallinfo2() uordblks delta across the refresh that allocates
 * every server's state, and across the first refresh that copies spectra
 * (the view's per-slot spectrum buffer), divided by the number of servers;
 * also computed from the structures' sizes for comparison.
 * Not a test: nothing here asserts timing. `make bench`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "rack_view.h"

#define RATE_HZ 20.0
#define WARM_S 60U   /* records before the timed intervals: full horizon */
#define INTERVALS 5U /* timed intervals per configuration */
#define TICKS 10U    /* timed ticks (100 ms apart) after them */
#define BASE_TAI_NS 1700000000000000000ULL

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static double rng_unit(void) /* [0, 1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

struct bench {
	uint32_t n;
	struct nw_rack_view view;
	struct nw_live live;
	struct nw_analysis an;
	struct nw_server_state *st;
	struct nw_server_rx rx;
	double *tone;
	uint64_t seq;  /* next sequence (all servers send in lockstep) */
	uint64_t t_ns; /* sender time of the next sample */
};

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void set_view(struct bench *b, uint64_t now)
{
	struct nw_stats stats;

	memset(&stats, 0, sizeof(stats));
	nw_rack_view_begin(&b->view, now, &stats, 0, 1);
	for (uint32_t s = 0; s < b->n; s++) {
		b->st[s].received = b->seq;
		b->st[s].last_rx_ns = now;
		/* the view takes the id from rx when given: a zeroed rx would
		 * make every slot server 0 */
		b->rx.slot = s;
		b->rx.server_id = s;
		b->rx.registered = 1;
		nw_rack_view_set_server(&b->view, s, &b->st[s], &b->rx);
		nw_live_set_rate(&b->live, s, s, b->st[s].rate_uhz);
	}
	/* every server sent within the last period: liveness says up */
	nw_live_tick(&b->live, now);
	nw_rack_view_set_live(&b->view, &b->live, now);
}

/* `secs` seconds of samples of every server, in time order. */
static void feed(struct bench *b, uint32_t secs)
{
	uint64_t T = (uint64_t)(1e9 / RATE_HZ);

	for (uint32_t k = 0; k < secs * (uint32_t)RATE_HZ; k++) {
		double t = (double)(b->t_ns - BASE_TAI_NS) / 1e9;

		for (uint32_t s = 0; s < b->n; s++) {
			struct nw_record rec;
			float v = (float)sin(2 * M_PI * b->tone[s] * t);

			memset(&rec, 0, sizeof(rec));
			rec.seq = b->seq;
			rec.tx_ns = b->t_ns;
			/* 200 us path + up to 100 us jitter */
			rec.rx_ns = b->t_ns + 200000 + (uint64_t)(rng_unit() * 100000);
			memcpy(&rec.value_bits, &v, sizeof(v));
			rec.flags = b->seq == 0 ? NW_REC_STREAM_START : 0;
			nw_live_record(&b->live, s, s, &rec);
			nw_analysis_record(&b->an, s, s, &rec);
		}
		b->seq++;
		b->t_ns += T;
	}
}

static void setup(struct bench *b, uint32_t n, double budget)
{
	struct nw_analysis_cfg cfg;

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->st = calloc(n, sizeof(*b->st));
	b->tone = calloc(n, sizeof(*b->tone));
	if (!b->st || !b->tone || nw_rack_view_init(&b->view, n, 0, 1.0)) {
		fprintf(stderr, "bench_analysis: out of memory\n");
		exit(1);
	}
	nw_analysis_default_cfg(&cfg, 0);
	cfg.period_budget_s = budget;
	if (nw_analysis_init(&b->an, &cfg, n) || nw_live_init(&b->live, n, cfg.down_after)) {
		fprintf(stderr, "bench_analysis: nw_analysis_init failed\n");
		exit(1);
	}
	for (uint32_t s = 0; s < n; s++) {
		/* announced tones spread over 0.5..9.5 Hz; servers 0..19 use the plan */
		double f = 0.5 + 9.0 * (double)(s % 997) / 997.0;

		b->st[s].rack_id = 0;
		b->st[s].server_id = s;
		b->st[s].rate_uhz = (uint32_t)(RATE_HZ * 1e6);
		b->st[s].freq_uhz = (uint32_t)(f * 1e6);
		b->tone[s] = nw_analysis_expected_tone(0, s, f, RATE_HZ);
	}
	b->t_ns = BASE_TAI_NS;
}

static void teardown(struct bench *b)
{
	nw_analysis_free(&b->an);
	nw_live_free(&b->live);
	nw_rack_view_free(&b->view);
	free(b->st);
	free(b->tone);
}

struct result {
	double ms_per_interval; /* mean over INTERVALS */
	double ms_max;
	double record_ns;      /* nw_live_record + nw_analysis_record per record (warm-up feed) */
	double mem_state_b;    /* per server: signal + periodicity + skew */
	double mem_spectrum_b; /* per server: the view's spectrum copy */
	uint32_t analysed;
	double tick_ms, tick_max_ms; /* nw_analysis_tick: mean and max over TICKS */
	double cycle_s; /* simulated time until every server's periods were re-evaluated */
};

/* Ticks every 100 ms (simulated, run back to back so each tick has its
 * whole wall-clock budget) until every server's periods and skew were
 * evaluated twice more: the longest gap between two evaluations of a
 * server, in simulated seconds (-1: not within 60 s). */
static double period_cycle_s(struct bench *b, uint32_t n, uint64_t now)
{
	uint64_t *was = calloc(n, sizeof(*was));
	uint32_t *first = calloc(n, sizeof(*first)), *seen = calloc(n, sizeof(*seen));
	uint32_t left = n, worst = 0;

	if (!was || !first || !seen) {
		free(was);
		free(first);
		free(seen);
		return -1;
	}
	for (uint32_t s = 0; s < n; s++)
		was[s] = b->an.srv[s].next_period_ns;
	for (uint32_t j = 1; left && j <= 600; j++) {
		nw_analysis_tick(&b->an, &b->view, now + j * 100000000ULL);
		for (uint32_t s = 0; s < n; s++) {
			if (b->an.srv[s].next_period_ns == was[s] || seen[s] >= 2)
				continue;
			was[s] = b->an.srv[s].next_period_ns;
			if (++seen[s] == 1) {
				first[s] = j;
				continue;
			}
			worst = j - first[s] > worst ? j - first[s] : worst;
			left--;
		}
	}
	free(was);
	free(first);
	free(seen);
	return left ? -1 : worst * 0.1;
}

static struct result run(uint32_t n, double budget)
{
	struct bench b;
	struct result r;
	size_t h0, h1;
	double t0, sum = 0, mx = 0;
	uint64_t now;

	memset(&r, 0, sizeof(r));
	setup(&b, n, budget);
	/* First refresh: every server present with a rate -> state allocated. */
	now = b.t_ns;
	set_view(&b, now);
	h0 = heap_used();
	nw_analysis_refresh(&b.an, &b.view, now);
	h1 = heap_used();
	nw_rack_view_finish(&b.view);
	r.mem_state_b = (double)(h1 - h0) / n;

	t0 = mono_s();
	feed(&b, WARM_S);
	r.record_ns = (mono_s() - t0) * 1e9 / ((double)n * WARM_S * RATE_HZ);

	/* First analysing refresh: the view's spectrum buffers are allocated. */
	now = b.t_ns;
	set_view(&b, now);
	h0 = heap_used();
	nw_analysis_refresh(&b.an, &b.view, now);
	h1 = heap_used();
	nw_rack_view_finish(&b.view);
	r.mem_spectrum_b = (double)(h1 - h0) / n;

	for (uint32_t i = 0; i < INTERVALS; i++) {
		double d;

		feed(&b, 1);
		now = b.t_ns;
		set_view(&b, now);
		/* ticked as the daemon does (ten times a second), so the refresh
		 * does not tick itself */
		t0 = mono_s();
		for (uint32_t j = 0; j < 10; j++)
			nw_analysis_tick(&b.an, &b.view, now - (uint64_t)(9 - j) * 100000000ULL);
		nw_analysis_refresh(&b.an, &b.view, now);
		d = mono_s() - t0;
		nw_rack_view_finish(&b.view);
		sum += d;
		if (d > mx)
			mx = d;
	}
	for (uint32_t s = 0; s < n; s++)
		r.analysed += b.view.slots[s].analysed ? 1 : 0;
	r.ms_per_interval = sum * 1e3 / INTERVALS;
	r.ms_max = mx * 1e3;
	/* The fast path: one more second of records, ticked every 100 ms
	 * across it (each tick sees the records up to its time). */
	feed(&b, 1);
	sum = mx = 0;
	for (uint32_t j = 0; j < TICKS; j++) {
		double d;

		now = b.t_ns - (uint64_t)(TICKS - 1 - j) * 100000000ULL;
		t0 = mono_s();
		nw_analysis_tick(&b.an, &b.view, now);
		d = mono_s() - t0;
		sum += d;
		if (d > mx)
			mx = d;
	}
	r.tick_ms = sum * 1e3 / TICKS;
	r.tick_max_ms = mx * 1e3;
	r.cycle_s = budget > 0 ? period_cycle_s(&b, n, now) : 0;
	teardown(&b);
	return r;
}

/* Unbudgeted periodicity + skew evaluation of one filled server: the first
 * evaluation of each server (the background fit's full search, cold
 * caches) and the steady state after it (the daemon re-evaluates the same
 * servers every few seconds: the fit starts from the previous one). */
static double period_cost_us(double *first_us)
{
	struct bench b;
	struct nw_period_result dp, hp;
	struct nw_skew_result sk;
	const uint32_t n = 20, reps = 20;
	double t0, t1, t;

	setup(&b, n, -1);
	set_view(&b, b.t_ns);
	nw_analysis_refresh(&b.an, &b.view, b.t_ns);
	feed(&b, WARM_S);
	t0 = t1 = mono_s();
	for (uint32_t k = 0; k < reps + 1; k++) {
		if (k == 1)
			t1 = mono_s();
		for (uint32_t s = 0; s < n; s++) {
			struct nw_server_analysis *sa = &b.an.srv[s];

			nw_periodicity_eval_with(&sa->per, &b.an.per_scratch, &dp, &hp);
			nw_skew_eval_series(
				&(struct nw_skew_series){
					.t = sa->per.delay.t,
					.d = sa->per.delay.y,
					.n = sa->per.delay.count,
					.d_ref = sa->per.delay.y_ref,
					.min_points = NW_SKEW_DEFAULT_MIN_POINTS,
					.min_span_s = NW_SKEW_DEFAULT_MIN_SPAN_S },
				&b.an.skew_scratch, (double)(sa->sig.last_rx_ns - sa->t0_ns) / 1e9,
				&sk);
		}
	}
	t = (mono_s() - t1) / (reps * n);
	*first_us = (t1 - t0) / n * 1e6;
	teardown(&b);
	return t * 1e6;
}

/* Usage: bench_analysis [servers...] (default 1 100 10000). */
int main(int argc, char **argv)
{
	static const uint32_t dflt[] = { 1, 100, 10000 };
	uint32_t counts[16];
	size_t ncounts = 0;
	struct nw_analysis probe;
	struct nw_analysis_cfg cfg;
	size_t sig_b, per_b, skew_b, spec_b, shared_b, cap;
	double pc, pc_first;

	for (int i = 1; i < argc && ncounts < 16; i++) {
		long v = strtol(argv[i], NULL, 10);

		if (v < 1 || v > 1000000) {
			fprintf(stderr, "bench_analysis: bad server count %s\n", argv[i]);
			return 2;
		}
		counts[ncounts++] = (uint32_t)v;
	}
	if (!ncounts)
		for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
			counts[ncounts++] = dflt[i];
	printf("bench_analysis: window %u, %.0f Hz, interval 1 s, horizon %.0f s, "
	       "%u timed intervals after %u s of records\n",
	       NW_ANALYSIS_WINDOW_DEFAULT, RATE_HZ, NW_ANALYSIS_HORIZON_DEFAULT, INTERVALS, WARM_S);

	/* Memory computed from the structures (allocations, not malloc overhead). */
	nw_analysis_default_cfg(&cfg, 0);
	if (nw_analysis_init(&probe, &cfg, 1)) {
		fprintf(stderr, "bench_analysis: nw_analysis_init failed\n");
		return 1;
	}
	cap = (size_t)ceil(cfg.horizon_s * RATE_HZ);
	sig_b = 2 * (size_t)cfg.window * sizeof(struct nw_sig_rec);
	/* per server: two rings of t (double) + y (float); the skew fit reads
	 * the delay ring (no ring of its own). The evaluation scratch is the
	 * analysis context's, once. */
	per_b = 2 * cap * (sizeof(double) + sizeof(float));
	skew_b = 0;
	{
		struct nw_periodicity_scratch ps = { 0 };
		struct nw_skew_scratch ss = { 0 };
		struct nw_periodicity_cfg pc;

		nw_periodicity_default_cfg(&pc, cap, RATE_HZ);
		if (nw_periodicity_scratch_fit(&ps, &pc) || nw_skew_scratch_fit(&ss, cap)) {
			fprintf(stderr, "bench_analysis: out of memory\n");
			return 1;
		}
		shared_b = (ps.capacity * 2 + (ps.capacity / 2 + 1) * 4) * sizeof(double) +
			   2 * ss.capacity * sizeof(struct nw_skew_pt);
		nw_periodicity_scratch_free(&ps);
		nw_skew_scratch_free(&ss);
	}
	spec_b = (cfg.window / 2 + 1) * sizeof(double);
	nw_analysis_free(&probe);
	printf("memory per server, computed from the structures: signal ring %zu B, periodicity "
	       "rings %zu B, skew ring %zu B (it fits the delay ring), view spectrum %zu B, slot entries %zu + %zu B; total "
	       "%zu B (+ %zu B of evaluation scratch once per analysis context)\n",
	       sig_b, per_b, skew_b, spec_b, sizeof(struct nw_server_analysis),
	       sizeof(struct nw_server_view),
	       sig_b + per_b + skew_b + spec_b + sizeof(struct nw_server_analysis) +
		       sizeof(struct nw_server_view),
	       shared_b);

	pc = period_cost_us(&pc_first);
	printf("periodicity + skew evaluation, unbudgeted: %.0f us per server "
	       "(first evaluation of a server %.0f us; budget %.0f ms per tick -> ~%.0f "
	       "servers per tick)\n",
	       pc, pc_first, NW_ANALYSIS_PERIOD_BUDGET * 1e3, NW_ANALYSIS_PERIOD_BUDGET * 1e6 / pc);

	printf("%-8s %-13s %12s %12s %10s %10s %14s %14s %9s\n", "servers", "refresh",
	       "ms/interval", "max ms", "us/server", "ns/record", "state B/srv", "spectrum B/srv",
	       "analysed");
	for (size_t i = 0; i < ncounts; i++) {
		for (int with_periods = 0; with_periods < 2; with_periods++) {
			uint32_t n = counts[i];
			struct result r = run(n, with_periods ? NW_ANALYSIS_PERIOD_BUDGET : -1.0);

			printf("%-8u %-13s %12.3f %12.3f %10.2f %10.1f %14.0f %14.0f %9u\n", n,
			       with_periods ? "tone+periods" : "tone", r.ms_per_interval, r.ms_max,
			       r.ms_per_interval * 1e3 / n, r.record_ns, r.mem_state_b,
			       r.mem_spectrum_b, r.analysed);
			fflush(stdout);
			if (!with_periods)
				continue;
			printf("%-8u %-13s %12.3f %12.3f %10.2f   (per 100 ms tick, periods "
			       "included; every server's periods re-evaluated within %.1f s)\n",
			       n, "tick", r.tick_ms, r.tick_max_ms, r.tick_ms * 1e3 / n, r.cycle_s);
		}
	}
	return 0;
}
