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

enum nw_health nw_health_state_of(bool left, bool up, bool analysed, enum nw_health analysis_class)
{
	if (left)
		return NW_HEALTH_LEFT;
	if (!up)
		return NW_HEALTH_DOWN;
	if (analysed && analysis_class <= NW_HEALTH_CRITICAL)
		return analysis_class;
	return NW_HEALTH_HEALTHY;
}

void nw_rack_score_add(struct nw_rack_score *rs, enum nw_health state, bool analysed,
		       double spectral_error)
{
	double sc;

	if (state == NW_HEALTH_LEFT)
		return; /* out of the expected set, not an alarm */
	sc = state == NW_HEALTH_DOWN ? 0.0 : analysed ? 1.0 - spectral_error : 1.0;
	rs->sum += sc < 0 ? 0 : sc > 1 ? 1 : sc;
	rs->servers++;
}

double nw_rack_score_value(const struct nw_rack_score *rs)
{
	return rs->servers ? rs->sum / rs->servers : 1.0;
}
