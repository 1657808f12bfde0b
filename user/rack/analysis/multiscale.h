/* SPDX-License-Identifier: MIT */
/*
 * Multi-scale health classes (docs/analysis.md, "Multi-scale classes"): a
 * server's class escalates from short windows evaluated every tick and keeps
 * the long window's precision in steady state, with hysteresis so that a
 * server near a boundary does not flap, and returns to healthy as soon as
 * its newest slots are clean instead of waiting for the long window to drain.
 *
 * The short scales are a least-squares fit of the expected tone (known
 * frequency, free amplitude and phase: IEEE Std 1057's sine fit) to the
 * newest NW_MS_SHORT_SLOTS slots (64: "short") and their newest
 * NW_MS_QUICK_SLOTS (32: "quick"). Its error, 1 - fitted power / total power,
 * is the same noise/(signal+noise) as the long window's spectral_error, with
 * equal weight on every slot: an unbiased estimate of the loss fraction
 * (mean p, no Hann lobe bias) with less scatter than a 64-point Hann FFT.
 *
 * Pure: no I/O, no allocation, no clock (times are passed in). One state per
 * server. Order: nw_ms_reset when a presence begins (first sample, back
 * after an outage or a goodbye), nw_ms_tick every tick with the short
 * scales, nw_ms_long every refresh with the long window's error once it is
 * warm; nw_ms_state.cls is the class to show.
 */
#ifndef NW_MULTISCALE_H
#define NW_MULTISCALE_H

#include <stdbool.h>
#include <stdint.h>

#include "health_state.h"

#define NW_MS_SHORT_SLOTS 64U /* 3.2 s at 20 Hz: escalation */
#define NW_MS_QUICK_SLOTS 32U /* 1.6 s at 20 Hz: the way back */

/* Thresholds, from the measured scatter (docs/analysis.md). Short scale:
 * enter warning at >= 0.22 (5 % loss: mean 0.049, sd 0.033, max 0.213 over
 * 30 min of ticks), critical above 0.7; leave critical below 0.45 and
 * warning below 0.12. Quick scale: clean below 0.02 (no hole, or one at a
 * zero crossing). Long window: enter at the seed's 0.2 / 0.5, leave warning
 * below 0.15 and critical below 0.45 (about 1.5 sd of a 256-slot window). */
#define NW_MS_SHORT_WARN_ENTER 0.28
#define NW_MS_QUICK_WARN_ENTER 0.45
#define NW_MS_SHORT_WARN_LEAVE 0.12
#define NW_MS_SHORT_CRIT_ENTER 0.7
#define NW_MS_SHORT_CRIT_LEAVE 0.45
#define NW_MS_QUICK_CLEAN 0.02
#define NW_MS_LONG_WARN_LEAVE 0.15
#define NW_MS_LONG_CRIT_LEAVE 0.45

/* Error of the best-fitting tone at tone_hz (any amplitude and phase) to
 * x[0..n-1] sampled at rate_hz: residual power / total power in [0, 1];
 * 1.0 when x holds no power. A DC offset counts as error, as in the long
 * window. No allocation. */
double nw_tone_fit_error(const double *x, uint32_t n, double rate_hz, double tone_hz);

/* What a tick measured. A scale is ok once all its slots belong to the
 * current presence. quick_full: the quick window has every slot filled and
 * no collision (exact, from the reconstruction): with the fit's error below
 * NW_MS_QUICK_CLEAN it is "clean for its length". The fit alone cannot say
 * so: a hole where the tone crosses zero costs it almost nothing. */
struct nw_ms_tick_in {
	bool short_ok, quick_ok, quick_full;
	double short_err, quick_err;
};

struct nw_ms_state {
	enum nw_health short_lvl; /* escalated by the short scale, latched */
	enum nw_health long_lvl;  /* the long window's, with hysteresis */
	/* After a quick return the long window still holds the fault that is
	 * over: its verdict is set aside until it has turned over. */
	uint64_t long_aside_until_ns;
	enum nw_health cls; /* HEALTHY, WARNING or CRITICAL: max of the two */
	uint64_t returns;   /* quick returns taken (for tests and the docs) */
};

void nw_ms_reset(struct nw_ms_state *m);

/* Every tick. long_span_ns: the long window's length. Returns the class. */
enum nw_health nw_ms_tick(struct nw_ms_state *m, const struct nw_ms_tick_in *in, uint64_t now_ns,
			  uint64_t long_span_ns);

/* Every refresh whose long window is warm. Returns the class. */
enum nw_health nw_ms_long(struct nw_ms_state *m, double long_err, uint64_t now_ns);

#endif
