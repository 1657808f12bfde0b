/* SPDX-License-Identifier: MIT */
/*
 * The rack controller's analysis: joins the drained records to the spectral
 * engine (nw_signal + spectrum + health), the periodicity finder and the skew
 * estimator, once per server slot, and writes their figures into the rack
 * view every interval. One thread; no allocation per record or per tick (a
 * server's state is allocated once, when its first counters show its rate).
 *
 * Per interval: nw_analysis_refresh(a, view, now) after the view's counters
 * (and with them each server's liveness) were set and before
 * nw_rack_view_finish. Per record: nw_analysis_record(). Per tick (every
 * NW_RACK_TICK_MS, after the drain): nw_analysis_tick(a, view, now), the
 * short scales of the multi-scale classes (multiscale.h), then the view's
 * states are derived again.
 */
#ifndef NW_ANALYSIS_H
#define NW_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include "health.h"
#include "multiscale.h"
#include "collector.h"
#include "liveness.h"
#include "nw_signal.h"
#include "periodicity.h"
#include "rack_view.h"
#include "skew.h"
#include "spectrum.h"

#define NW_ANALYSIS_WINDOW_DEFAULT 256U  /* 12.8 s at 20 Hz: docs/analysis.md */
#define NW_ANALYSIS_HORIZON_DEFAULT 60.0 /* s of history for periods and skew */
/* A period/skew evaluation costs ~45 us a server on a warm cache and ~60-80
 * us at 10,000 servers, whose rings are cold when their turn comes
 * (docs/benchmarks.md). It runs in the tick, round robin within a budget
 * of CPU time per tick: 20 ms of every 100 ms tick covers 250-450 servers,
 * so 10,000 are each re-evaluated within 2.2-4 s (issue 14: <= 5 s) and up
 * to ~6,000 every 2.5 s. With fewer servers the work is proportionally less
 * (each at most every 2.5 s): a rack of 32 costs ~0.6 ms a second. */
#define NW_ANALYSIS_PERIOD_EVERY 2.5    /* s between a server's period/skew evaluations */
#define NW_ANALYSIS_PERIOD_BUDGET 0.020 /* s of period/skew work (thread CPU) per tick */

struct nw_analysis_cfg {
	uint32_t window;   /* slots, power of two */
	double interval_s; /* analysis interval */
	double horizon_s;  /* periodicity and skew history */
	double period_every_s;
	double period_budget_s;
	uint32_t rack_id;
	uint32_t down_after; /* liveness.h: sample periods of silence that are down */
};

/* What the per-interval refresh reads comes first (up to `per`), so with
 * thousands of servers it is fewer cache lines to fetch; the periodicity and
 * skew state, touched per record and every few seconds, follows. */
struct nw_server_analysis {
	bool ready; /* signal and periodicity allocated */
	uint32_t server_id;
	double rate_hz, tone_hz;
	uint64_t warm_from_ns;  /* rx that began the current presence (first, after down or left) */
	uint64_t rewarm_gap_ns; /* a silence longer than this starts a new presence */
	uint64_t down_gap_ns;   /* one longer than this (liveness.h) is an outage */
	struct nw_ms_state ms;  /* multi-scale class (multiscale.h) */
	struct nw_signal sig;
	struct nw_period_result delay_period, hole_period;
	struct nw_skew_result skew_result;
	double skew_t_s; /* the series time skew_result was fitted at (its delay_s is there) */
	/* Its delay ring is also the skew fit's series (the same points:
	 * nw_skew_eval_series), so there is no second copy. */
	struct nw_periodicity per;
	bool have_t0, have_seq;
	uint64_t t0_ns; /* time origin of the period/skew series (sender clock) */
	uint64_t last_seq;
	uint64_t next_period_ns;
};

struct nw_analysis {
	struct nw_analysis_cfg cfg;
	struct nw_spec_ctx ctx;
	uint32_t max_slots;
	struct nw_server_analysis *srv; /* [max_slots] */
	/* Evaluation scratch of the periodicity finder and the skew fit: one
	 * server is evaluated at a time, so all share these (sized for the
	 * largest horizon seen), instead of ~100 KB more per server. */
	struct nw_periodicity_scratch per_scratch;
	struct nw_skew_scratch skew_scratch;
	uint32_t period_cursor; /* round robin for the period budget */
	uint64_t last_tick_ns;  /* a refresh ticks itself when nobody else did */
	/* The tick's short window: one server at a time. */
	double short_x[NW_MS_SHORT_SLOTS], short_keep[NW_MS_SHORT_SLOTS];
};

/* A silence longer than this many intervals (and sample periods) starts a
 * new presence for the analysis: its window is warmed again from the first
 * sample after it. Shorter outages stay in the window as the loss they are. */
#define NW_ANALYSIS_REWARM_INTERVALS 3U
uint64_t nw_analysis_rewarm_gap_ns(double interval_s, uint32_t rate_uhz);

void nw_analysis_default_cfg(struct nw_analysis_cfg *cfg, uint32_t rack_id);
/* 0, -EINVAL or -ENOMEM. Not thread-safe (FFTW's planner). */
int nw_analysis_init(struct nw_analysis *a, const struct nw_analysis_cfg *cfg, uint32_t max_slots);
void nw_analysis_free(struct nw_analysis *a);

/* The tone a server should send: the seed plan (1 + rack + 0.05 * server Hz,
 * servers 0..19) where it applies below Nyquist, else what it announces. */
double nw_analysis_expected_tone(uint32_t rack_id, uint32_t server_id, double announced_hz,
				 double rate_hz);

/* One drained record of the server in `slot`. */
void nw_analysis_record(struct nw_analysis *a, uint32_t slot, uint32_t server_id,
			const struct nw_record *rec);

/* Analyses every present server of the view at now_ns (CLOCK_TAI) and
 * writes its analysis fields and spectrum. */
void nw_analysis_refresh(struct nw_analysis *a, struct nw_rack_view *v, uint64_t now_ns);

/* The fast path, every tick (now_tai_ns: CLOCK_TAI, records drained up to
 * it): for every present, up, configured server, the short and quick tone
 * fits of its newest slots and its multi-scale class, written into the view
 * entry (short_valid, spectral_error_short, analysis_class). No allocation;
 * one reconstruction of NW_MS_SHORT_SLOTS slots and one fit per server. */
void nw_analysis_tick(struct nw_analysis *a, struct nw_rack_view *v, uint64_t now_tai_ns);

/* The state of `slot` while it analyses `server_id` (its delay ring, the
 * skew fit and periods, for the web UI's delay series: view/api_json.c),
 * else NULL. Read-only, from the loop's thread between refreshes. */
const struct nw_server_analysis *nw_analysis_server(const struct nw_analysis *a, uint32_t slot,
						    uint32_t server_id);

#endif
