/* SPDX-License-Identifier: MIT */
/*
 * The one home of a server's health class, shown state and rack score.
 * Every state is an enum nw_health (health_state.h), the one the view,
 * /metrics, the reports and the DC use. Pure functions: no I/O, no
 * allocation, no clock.
 *
 * Who calls what: liveness (up, down, left, outages) is liveness.h's, the
 * one definition of down; the rack view takes it from the tracker
 * (nw_rack_view_set_live) and derives each server's state and the rack
 * score (nw_health_state_of, nw_rack_score_*); the analysis classifies the
 * error it measured (nw_health_class_of). Boundaries and reasoning:
 * docs/analysis.md, "Health" and "Liveness".
 */
#ifndef NW_HEALTH_H
#define NW_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "health_state.h"

#define NW_HEALTH_WARN_AT 0.2    /* error >= 0.2 is not healthy */
#define NW_HEALTH_CRIT_ABOVE 0.5 /* error > 0.5 is critical */

/* HEALTHY (error < 0.2), WARNING (0.2 <= error <= 0.5) or CRITICAL (error >
 * 0.5, or NaN: an unmeasurable server must never look healthy). */
enum nw_health nw_health_class_of(double error);

/* The state a server is shown in: LEFT after a goodbye, DOWN when not up,
 * else the analysis class once a measurement backs it (`measured`),
 * WARMING until then: never a presumed HEALTHY. */
enum nw_health nw_health_state_of(bool left, bool up, bool measured, enum nw_health analysis_class);

/* The rack score: the mean, over the servers that have not left and are
 * not warming, of 0 for a down server and 1 - error (clamped to 0..1) for a
 * measured one (`error`: the long window's, else the short scale's); 1.0
 * when no server counts (empty rack, all left or warming: nothing measured
 * is failing). A warming server has no measurement: counting it 1 would
 * presume it healthy, counting it 0 would call every restart a fault.
 * Add each server's state, then read the value. */
struct nw_rack_score {
	double sum;
	uint32_t servers;
};
void nw_rack_score_add(struct nw_rack_score *rs, enum nw_health state, double error);
double nw_rack_score_value(const struct nw_rack_score *rs);

#endif
