// SPDX-License-Identifier: MIT
/*
 * The rack's own fault scope (docs/fabric.md section 6): the shared rules
 * (user/common/scope.c) over this rack's servers alone, so only rule 1
 * (most of the rack's servers degraded together: scope rack, cause
 * servers) and rule 5 (scope server) can fire. It is the decision of the
 * current view, without the DC's hold and clear: the DC, which sees every
 * rack and the paths, is where faults are debounced and alerted on.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "faults.h"
#include "scope.h"

static int degraded(enum nw_health h)
{
	return h == NW_HEALTH_WARNING || h == NW_HEALTH_CRITICAL || h == NW_HEALTH_DOWN;
}

/* The strongest period the view found: delay, else holes; NAN none. */
static double view_period(const struct nw_server_view *e)
{
	if (e->delay_period.found)
		return e->delay_period.period_s;
	return e->hole_period.found ? e->hole_period.period_s : NAN;
}

json_t *nw_rack_faults_json(const struct nw_rack_view *v)
{
	struct nw_scope_entity *e = malloc((v->count + 1) * sizeof(*e));
	struct nw_scope_list l = { 0 };
	struct nw_scope_snapshot s;
	struct nw_scope_cfg cfg;
	struct nw_buf b = { 0 };
	uint32_t rack = v->rack_id;
	json_t *out = NULL;
	size_t n = 0;

	if (!e)
		return NULL;
	for (uint32_t i = 0; i < v->count; i++) {
		const struct nw_server_view *x = &v->slots[v->order[i]];

		if (x->health == NW_HEALTH_LEFT)
			continue;
		e[n++] = (struct nw_scope_entity){ .key = nw_scope_server_key(rack, x->server_id),
						   .degraded = degraded(x->health),
						   .loss_ratio = x->loss_ratio,
						   .period_s = view_period(x) };
	}
	s = (struct nw_scope_snapshot){
		.now_ns = v->time_ns, .e = e, .n = n, .racks = &rack, .nracks = 1
	};
	nw_scope_cfg_default(&cfg);
	if (!nw_scope_decide(&cfg, &s, &l)) {
		nw_buf_put(&b, "[", 1);
		for (size_t i = 0; i < l.n; i++) {
			if (i)
				nw_buf_put(&b, ",", 1);
			nw_scope_fault_json(&l.f[i], &b);
		}
		nw_buf_put(&b, "]", 1);
		if (!b.failed)
			out = json_loadb(b.p, b.len, 0, NULL);
	}
	nw_buf_free(&b);
	nw_scope_list_free(&l);
	free(e);
	return out;
}
