// SPDX-License-Identifier: MIT
/*
 * The "fabric" member of /api/v1/dc (docs/dc.md "Fabric"): the mesh, the
 * fabric score, the path matrix as a list (and, with ?matrix=dense, as an
 * N x N array of class codes for a heatmap) and the reported faults.
 * Written straight into the buffer like the racks (dc_api.c); every
 * string is from a fixed table or a number.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_fabric.h"
#include "dc_metrics.h"

#define DC_API_MAX_PATHS 16384U /* rows listed at most; the rest: paths_truncated */

static void put_num(struct nw_buf *b, const char *key, double x)
{
	if (isfinite(x))
		nw_buf_printf(b, "\"%s\":%.9g", key, x);
	else
		nw_buf_printf(b, "\"%s\":null", key);
}

static void put_path(struct nw_buf *b, const struct dc_path *p)
{
	const struct nw_report_path *r = p->row;

	nw_buf_printf(b, "{\"src_rack\":%u,\"dst_rack\":%u,\"class\":\"%s\",", p->src, p->dst,
		      nw_health_name(r->cls));
	put_num(b, "error", r->error);
	nw_buf_put(b, ",", 1);
	put_num(b, "loss_ratio", r->loss_ratio);
	if (isfinite(r->latency_p50_s) || isfinite(r->latency_p99_s)) {
		nw_buf_put(b, ",\"latency_ms\":{", 15);
		put_num(b, "p50", r->latency_p50_s * 1e3);
		nw_buf_put(b, ",", 1);
		put_num(b, "p99", r->latency_p99_s * 1e3);
		nw_buf_put(b, "}", 1);
	} else {
		nw_buf_put(b, ",\"latency_ms\":null", 18);
	}
	if (isfinite(r->period_s))
		nw_buf_printf(b, ",\"periods\":[%.9g]", r->period_s);
	else
		nw_buf_put(b, ",\"periods\":[]", 13);
	nw_buf_printf(b, ",\"mesh_epoch\":%u,\"since_ns\":%llu,", r->mesh_epoch,
		      (unsigned long long)r->since_ns);
	put_num(b, "age_s", p->age_s);
	nw_buf_printf(b, ",\"stale\":%s}", p->stale ? "true" : "false");
}

/* classes[i][j]: the class code of src racks[i] -> dst racks[j], null
 * unmeasured (stale included), over the known racks in id order. */
static void put_dense(struct nw_buf *b, const struct dc_fabric *f, const struct dc_state *st)
{
	size_t n = st->n;
	signed char *cell;

	if (n > DC_FABRIC_DENSE_MAX) {
		nw_buf_put(b, ",\"matrix_racks\":null,\"classes\":null", 34);
		return;
	}
	cell = malloc(n * n + 1);
	if (!cell) {
		b->failed = 1;
		return;
	}
	memset(cell, -1, n * n + 1);
	for (size_t i = 0; i < f->n; i++) {
		const struct dc_rack *s = dc_state_find(st, f->paths[i].src),
				     *d = dc_state_find(st, f->paths[i].dst);

		if (s && d && !f->paths[i].stale)
			cell[(size_t)(s - st->racks) * n + (size_t)(d - st->racks)] =
				(signed char)f->paths[i].row->cls;
	}
	nw_buf_put(b, ",\"matrix_racks\":[", 17);
	for (size_t i = 0; i < n; i++)
		nw_buf_printf(b, "%s%u", i ? "," : "", st->racks[i].rack_id);
	nw_buf_put(b, "],\"classes\":[", 13);
	for (size_t i = 0; i < n; i++) {
		nw_buf_put(b, i ? ",[" : "[", i ? 2 : 1);
		for (size_t j = 0; j < n; j++) {
			signed char c = cell[i * n + j];

			if (j)
				nw_buf_put(b, ",", 1);
			if (c < 0)
				nw_buf_put(b, "null", 4);
			else
				nw_buf_printf(b, "%d", c);
		}
		nw_buf_put(b, "]", 1);
	}
	nw_buf_put(b, "]", 1);
	free(cell);
}

int dc_fabric_json(const struct dc_view *v, const struct dc_api_query *q, uint64_t mono_ns,
		   struct nw_buf *b, double *score)
{
	const struct dc_state *st = v->state;
	struct dc_fabric f;
	size_t listed = 0;

	if (dc_fabric_build(&f, st, mono_ns))
		return -1;
	*score = dc_fabric_dc_score(&f, st, mono_ns);
	nw_buf_printf(b,
		      ",\"fabric\":{\"mesh\":{\"mode\":\"%s\",\"k\":%u,\"epoch\":%u,"
		      "\"pairs_probed\":%zu,\"pairs_total\":%llu},",
		      dc_fabric_mode(&f, st), f.k, f.epoch, f.probed,
		      (unsigned long long)f.pairs_total);
	put_num(b, "score", f.score);
	nw_buf_put(b, ",\"paths\":[", 10);
	for (; listed < f.n && listed < DC_API_MAX_PATHS; listed++) {
		if (listed)
			nw_buf_put(b, ",", 1);
		put_path(b, &f.paths[listed]);
	}
	nw_buf_printf(b, "],\"paths_truncated\":%s", listed < f.n ? "true" : "false");
	if (q->dense)
		put_dense(b, &f, st);
	nw_buf_printf(b, ",\"faults\":");
	nw_scope_reported_json(v->scope, b);
	nw_buf_printf(b, ",\"faults_pending\":%zu}",
		      v->scope ? v->scope->faults.n - nw_scope_reported(v->scope) : 0);
	dc_fabric_free(&f);
	return b->failed ? -1 : 0;
}
