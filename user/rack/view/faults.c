// SPDX-License-Identifier: MIT
/*
 * The rack's own fault scope (docs/fabric.md section 6): the shared rules
 * and stability (user/common/scope.c) over this rack's servers alone, so
 * only rule 1 (most of the rack's servers degraded together: scope rack,
 * cause servers) and rule 5 (scope server) can fire. Moved on once per
 * --interval with the DC's hold and clear, so a server whose class
 * crosses back and forth does not make the rack's faults flap.
 */
#include <stdlib.h>

#include "faults.h"

static int degraded(enum nw_health h)
{
	return h == NW_HEALTH_WARNING || h == NW_HEALTH_CRITICAL || h == NW_HEALTH_DOWN;
}

int nw_rack_faults_update(struct nw_scope_state *st, const struct nw_rack_view *v, uint64_t wall_ns)
{
	struct nw_scope_entity *e = malloc((v->count + 1) * sizeof(*e));
	struct nw_scope_snapshot s;
	uint32_t rack = v->rack_id;
	size_t n = 0;
	int rc;

	if (!e)
		return -1;
	for (uint32_t i = 0; i < v->count; i++) {
		const struct nw_server_view *x = &v->slots[v->order[i]];

		if (x->health == NW_HEALTH_LEFT)
			continue;
		/* the same evidence the rack reports to the DC */
		e[n++] = (struct nw_scope_entity){ .key = nw_scope_server_key(rack, x->server_id),
						   .degraded = degraded(x->health),
						   .loss_ratio = x->loss_ratio,
						   .period_s = nw_view_period_s(x),
						   .since_ns = x->since_ns };
	}
	s = (struct nw_scope_snapshot){
		.now_ns = wall_ns, .e = e, .n = n, .racks = &rack, .nracks = 1
	};
	rc = nw_scope_update(st, &s);
	free(e);
	return rc;
}

json_t *nw_rack_faults_json(const struct nw_scope_state *st)
{
	struct nw_buf b = { 0 };
	json_t *out = NULL;

	nw_scope_reported_json(st, &b);
	if (!b.failed)
		out = json_loadb(b.p, b.len, 0, NULL);
	nw_buf_free(&b);
	return out;
}
