/* SPDX-License-Identifier: MIT */
/*
 * The one home of a server's health: the class of a spectral error, liveness
 * (up, down), the state a server is shown in and the rack score. Every state
 * is an enum nw_health (health_state.h), the one the view, /metrics, the
 * reports and the DC use. Pure functions: no I/O, no allocation, no clock.
 *
 * Who calls what: the rack view decides each server's liveness when it copies
 * its counters (nw_live_window_ns, nw_live_up) and derives its state and the
 * rack score when it finishes (nw_health_state_of, nw_rack_score_*); the
 * analysis reads that liveness, classifies the error it measured
 * (nw_health_class_of) and uses the same window to tell a return after an
 * outage. Boundaries and reasoning: docs/analysis.md, "Health".
 */
#ifndef NW_HEALTH_H
#define NW_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "health_state.h"

#define NW_HEALTH_WARN_AT 0.2    /* error >= 0.2 is not healthy */
#define NW_HEALTH_CRIT_ABOVE 0.5 /* error > 0.5 is critical */
/* Down after this many intervals without a record, and never sooner than
 * this many sample periods: a very short --interval must not make a 20 Hz
 * server flicker. */
#define NW_LIVE_MISSED 3U

/* HEALTHY (error < 0.2), WARNING (0.2 <= error <= 0.5) or CRITICAL (error >
 * 0.5, or NaN: an unmeasurable server must never look healthy). */
enum nw_health nw_health_class_of(double error);

/* How long a server may stay silent and still be up: NW_LIVE_MISSED
 * intervals, or NW_LIVE_MISSED sample periods at rate_uhz if that is longer
 * (rate_uhz 0: not known yet, intervals only). */
uint64_t nw_live_window_ns(double interval_s, uint32_t rate_uhz);

/* Up: a record with rx stamp last_rx_ns (0: none ever) lies within window_ns
 * of now_ns; a stamp ahead of now also counts. Down otherwise. A server
 * that left is neither: callers test `left` first. */
bool nw_live_up(uint64_t last_rx_ns, uint64_t now_ns, uint64_t window_ns);

/* The state a server is shown in: LEFT after a goodbye, DOWN when not up,
 * else the analysis class once analysed, HEALTHY until then. */
enum nw_health nw_health_state_of(bool left, bool up, bool analysed, enum nw_health analysis_class);

/* The rack score: the mean, over the servers that have not left, of 0 for a
 * down server, 1 - spectral_error (clamped to 0..1) for an analysed one and
 * 1 for one up but not analysed yet; 1.0 when no server is expected (empty
 * rack, or all left: nothing expected is failing). Add each server's state,
 * then read the value. */
struct nw_rack_score {
	double sum;
	uint32_t servers;
};
void nw_rack_score_add(struct nw_rack_score *rs, enum nw_health state, bool analysed,
		       double spectral_error);
double nw_rack_score_value(const struct nw_rack_score *rs);

#endif
