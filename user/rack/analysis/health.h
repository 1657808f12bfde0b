/* SPDX-License-Identifier: MIT */
/*
 * Health from the tone: class per server, up/down/left, rack score.
 * Pure functions over nw_signal state and nw_spec_result; no I/O, no
 * allocation. Boundaries and reasoning: docs/analysis.md.
 */
#ifndef NW_HEALTH_H
#define NW_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "nw_signal.h"
#include "spectrum.h"

#define NW_HEALTH_WARN_AT 0.2 /* error >= 0.2 is not healthy */
#define NW_HEALTH_CRIT_ABOVE 0.5 /* error > 0.5 is critical */
#define NW_HEALTH_DEFAULT_INTERVAL_NS 1000000000ULL
#define NW_HEALTH_DEFAULT_MISSED 3U

/* error < 0.2 healthy; 0.2 <= error <= 0.5 warning; error > 0.5 (or NaN) critical */
enum nw_health_class { NW_CLASS_HEALTHY = 0, NW_CLASS_WARNING, NW_CLASS_CRITICAL };

enum nw_live_state {
	NW_LIVE_UP = 0,
	NW_LIVE_DOWN, /* expected, but nothing for missed*interval (or never heard) */
	NW_LIVE_LEFT, /* said goodbye: out of the expected set, not an alarm */
};

struct nw_health_params {
	uint64_t interval_ns; /* analysis/report interval */
	uint32_t missed;      /* K: down after K intervals without a record */
};

struct nw_server_health {
	enum nw_live_state state;
	double error;              /* spectral_error, or 1.0 when down */
	enum nw_health_class cls;  /* of error */
};

enum nw_health_class nw_health_class_of(double error);
const char *nw_health_class_name(enum nw_health_class c);
const char *nw_live_state_name(enum nw_live_state s);

/* Defaults: 1 s interval, K = 3 ("down within 3 s"). */
void nw_health_params_default(struct nw_health_params *p);

/* Liveness from the signal's last record at now_ns, error from res (may be
 * NULL: then only liveness is judged and error is 1.0 unless up with no
 * result, which also gives 1.0). */
void nw_health_eval(const struct nw_health_params *p, const struct nw_signal *sig,
		    const struct nw_spec_result *res, uint64_t now_ns, struct nw_server_health *out);

/* 1 - mean error over servers not LEFT (a down one counts its error 1.0).
 * No expected server: 1.0 (nothing expected is failing). */
double nw_rack_score(const struct nw_server_health *servers, size_t n);

#endif
