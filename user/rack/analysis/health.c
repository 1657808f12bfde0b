// SPDX-License-Identifier: MIT
/* Health classes, liveness and the rack score. See health.h. */
#include "health.h"

#include <math.h>

enum nw_health_class nw_health_class_of(double error)
{
	/* NaN fails both comparisons below it and lands in critical: an
	 * unmeasurable server must never look healthy. */
	if (error < NW_HEALTH_WARN_AT)
		return NW_CLASS_HEALTHY;
	if (error <= NW_HEALTH_CRIT_ABOVE)
		return NW_CLASS_WARNING;
	return NW_CLASS_CRITICAL;
}

const char *nw_health_class_name(enum nw_health_class c)
{
	switch (c) {
	case NW_CLASS_HEALTHY:
		return "healthy";
	case NW_CLASS_WARNING:
		return "warning";
	case NW_CLASS_CRITICAL:
		return "critical";
	}
	return "unknown";
}

const char *nw_live_state_name(enum nw_live_state s)
{
	switch (s) {
	case NW_LIVE_UP:
		return "up";
	case NW_LIVE_DOWN:
		return "down";
	case NW_LIVE_LEFT:
		return "left";
	}
	return "unknown";
}

void nw_health_params_default(struct nw_health_params *p)
{
	p->interval_ns = NW_HEALTH_DEFAULT_INTERVAL_NS;
	p->missed = NW_HEALTH_DEFAULT_MISSED;
}

void nw_health_eval(const struct nw_health_params *p, const struct nw_signal *sig,
		    const struct nw_spec_result *res, uint64_t now_ns, struct nw_server_health *out)
{
	uint64_t limit = p->interval_ns * (uint64_t)(p->missed ? p->missed : 1);

	if (sig->seen && sig->left) {
		out->state = NW_LIVE_LEFT;
	} else if (!sig->seen) {
		out->state = NW_LIVE_DOWN; /* expected and never heard from */
	} else if (now_ns > sig->last_rx_ns && now_ns - sig->last_rx_ns >= limit) {
		out->state = NW_LIVE_DOWN; /* silent for K whole intervals */
	} else {
		out->state = NW_LIVE_UP;
	}
	if (out->state == NW_LIVE_UP && res && !isnan(res->spectral_error))
		out->error = res->spectral_error;
	else
		out->error = 1.0;
	out->cls = nw_health_class_of(out->error);
}

double nw_rack_score(const struct nw_server_health *servers, size_t n)
{
	double sum = 0.0;
	size_t expected = 0;

	for (size_t i = 0; i < n; i++) {
		if (servers[i].state == NW_LIVE_LEFT)
			continue;
		double e = servers[i].state == NW_LIVE_DOWN ? 1.0 : servers[i].error;

		if (!(e >= 0.0))
			e = 1.0; /* NaN or negative: treat as failed */
		if (e > 1.0)
			e = 1.0;
		sum += e;
		expected++;
	}
	return expected ? 1.0 - sum / (double)expected : 1.0;
}
