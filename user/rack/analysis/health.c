// SPDX-License-Identifier: MIT
/* Health class, shown state and rack score. See health.h. */
#include "health.h"

enum nw_health nw_health_class_of(double error)
{
	/* NaN fails both comparisons below it and lands in critical. */
	if (error < NW_HEALTH_WARN_AT)
		return NW_HEALTH_HEALTHY;
	if (error <= NW_HEALTH_CRIT_ABOVE)
		return NW_HEALTH_WARNING;
	return NW_HEALTH_CRITICAL;
}

enum nw_health nw_health_state_of(bool left, bool up, bool measured, enum nw_health analysis_class)
{
	if (left)
		return NW_HEALTH_LEFT;
	if (!up)
		return NW_HEALTH_DOWN;
	if (measured && analysis_class <= NW_HEALTH_CRITICAL)
		return analysis_class;
	return NW_HEALTH_WARMING;
}

void nw_rack_score_add(struct nw_rack_score *rs, enum nw_health state, double error)
{
	double sc;

	if (state == NW_HEALTH_LEFT || state == NW_HEALTH_WARMING)
		return; /* out of the expected set, or nothing measured yet */
	sc = state == NW_HEALTH_DOWN ? 0.0 : 1.0 - error;
	/* NaN (a class without a figure) fails both and counts 0 */
	rs->sum += sc >= 0 ? (sc > 1 ? 1 : sc) : 0;
	rs->servers++;
}

double nw_rack_score_value(const struct nw_rack_score *rs)
{
	return rs->servers ? rs->sum / rs->servers : 1.0;
}
