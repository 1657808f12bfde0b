// SPDX-License-Identifier: MIT
/*
 * The DC's fabric and fault families (docs/metrics.md "netwatch-dc",
 * docs/fabric.md sections 5 and 6). Per-pair series grow as N·k (limited
 * mesh) or N(N-1) (full mesh), and the rotation makes new ones every
 * epoch, so they are written only while the probed pairs are at most
 * --fabric-pair-series-max; above, the per-rack means (2N series) and the
 * worst DC_FABRIC_WORST pairs under a stable `rank` label.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_fabric.h"
#include "dc_metrics.h"
#include "prom.h"

/* ,src_rack="a",dst_rack="b" */
static void pair_labels(char *buf, size_t len, const struct dc_path *p, const char *extra)
{
	snprintf(buf, len, ",src_rack=\"%u\",dst_rack=\"%u\"%s", p->src, p->dst,
		 extra ? extra : "");
}

/* Every family is always declared (HELP, TYPE); the per-pair samples only
 * while `on`, the worst-pair ones only while not. */
static void per_pair(struct nw_buf *out, const char *dc, const struct dc_fabric *f, int on)
{
	char l[96];

	nw_prom_family(
		out, "netwatch_path_class", "gauge",
		"Class of the inter-rack path src_rack -> dst_rack as a code: 0 healthy, 1 warning, 2 critical, 3 down, 4 left, 5 warming.");
	for (size_t i = 0; on && i < f->n; i++)
		if (!f->paths[i].stale) {
			pair_labels(l, sizeof(l), &f->paths[i], NULL);
			nw_prom_sample_u64(out, "netwatch_path_class", dc, l, f->paths[i].row->cls);
		}
	nw_prom_family(out, "netwatch_path_spectral_error", "gauge",
		       "Spectral error of the path's tone (absent until analysed).");
	for (size_t i = 0; on && i < f->n; i++)
		if (!f->paths[i].stale && isfinite(f->paths[i].row->error)) {
			pair_labels(l, sizeof(l), &f->paths[i], NULL);
			nw_prom_sample(out, "netwatch_path_spectral_error", dc, l,
				       f->paths[i].row->error);
		}
	nw_prom_family(out, "netwatch_path_loss_ratio", "gauge",
		       "Lost fraction of the path's tone samples.");
	for (size_t i = 0; on && i < f->n; i++)
		if (!f->paths[i].stale) {
			pair_labels(l, sizeof(l), &f->paths[i], NULL);
			nw_prom_sample(out, "netwatch_path_loss_ratio", dc, l,
				       f->paths[i].row->loss_ratio);
		}
	/* a summary, not a gauge: only a summary may carry `quantile`
	 * (promtool); the rack's window quantiles, without _sum and _count */
	nw_prom_family(
		out, "netwatch_path_latency_seconds", "summary",
		"One-way delay of the path, quantile 0.5 and 0.99 over the rack's window (absent when unknown).");
	for (size_t i = 0; on && i < f->n; i++) {
		const struct nw_report_path *r = f->paths[i].row;

		if (f->paths[i].stale)
			continue;
		if (isfinite(r->latency_p50_s)) {
			pair_labels(l, sizeof(l), &f->paths[i], ",quantile=\"0.5\"");
			nw_prom_sample(out, "netwatch_path_latency_seconds", dc, l,
				       r->latency_p50_s);
		}
		if (isfinite(r->latency_p99_s)) {
			pair_labels(l, sizeof(l), &f->paths[i], ",quantile=\"0.99\"");
			nw_prom_sample(out, "netwatch_path_latency_seconds", dc, l,
				       r->latency_p99_s);
		}
	}
	nw_prom_family(out, "netwatch_path_period_seconds", "gauge",
		       "Strongest significant disturbance period of the path (absent when none).");
	for (size_t i = 0; on && i < f->n; i++)
		if (!f->paths[i].stale && isfinite(f->paths[i].row->period_s)) {
			pair_labels(l, sizeof(l), &f->paths[i], NULL);
			nw_prom_sample(out, "netwatch_path_period_seconds", dc, l,
				       f->paths[i].row->period_s);
		}
}

static int cmp_worse(const void *a, const void *b)
{
	const struct dc_path *x = *(const struct dc_path *const *)a,
			     *y = *(const struct dc_path *const *)b;

	if (x->row->error != y->row->error)
		return x->row->error < y->row->error ? 1 : -1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return (x->dst > y->dst) - (x->dst < y->dst);
}

/* Above the cap: the worst pairs by error, rank 0 the worst. */
static int worst_pairs(struct nw_buf *out, const char *dc, const struct dc_fabric *f, int on)
{
	const struct dc_path **w = malloc(f->n * sizeof(*w) + 1);
	size_t n = 0;
	char l[96];

	if (!w)
		return -1;
	for (size_t i = 0; on && i < f->n; i++)
		if (!f->paths[i].stale && isfinite(f->paths[i].row->error))
			w[n++] = &f->paths[i];
	qsort(w, n, sizeof(*w), cmp_worse);
	n = n < DC_FABRIC_WORST ? n : DC_FABRIC_WORST;
	nw_prom_family(
		out, "netwatch_path_worst_spectral_error", "gauge",
		"Above --fabric-pair-series-max probed pairs: the spectral error of the rank-th worst path (rank 0 the worst).");
	for (size_t i = 0; i < n; i++) {
		snprintf(l, sizeof(l), ",rank=\"%zu\"", i);
		nw_prom_sample(out, "netwatch_path_worst_spectral_error", dc, l, w[i]->row->error);
	}
	nw_prom_family(
		out, "netwatch_path_worst_info", "gauge",
		"Which pair holds each rank of netwatch_path_worst_spectral_error (always 1).");
	for (size_t i = 0; i < n; i++) {
		snprintf(l, sizeof(l), ",rank=\"%zu\",src_rack=\"%u\",dst_rack=\"%u\"", i,
			 w[i]->src, w[i]->dst);
		nw_prom_sample_u64(out, "netwatch_path_worst_info", dc, l, 1);
	}
	free(w);
	return 0;
}

static int rack_errors(struct nw_buf *out, const char *dc, const struct dc_fabric *f,
		       const struct dc_state *st)
{
	double *in = malloc(st->n * sizeof(*in) + 1), *ou = malloc(st->n * sizeof(*ou) + 1);
	char l[64];
	int rc = -1;

	if (in && ou && !dc_fabric_rack_errors(f, st, in, ou)) {
		nw_prom_family(
			out, "netwatch_rack_fabric_error", "gauge",
			"Mean spectral error of the rack's measured inter-rack paths, into it (direction in) and out of it (out).");
		for (size_t i = 0; i < st->n; i++) {
			if (isfinite(in[i])) {
				snprintf(l, sizeof(l), ",rack_id=\"%u\",direction=\"in\"",
					 st->racks[i].rack_id);
				nw_prom_sample(out, "netwatch_rack_fabric_error", dc, l, in[i]);
			}
			if (isfinite(ou[i])) {
				snprintf(l, sizeof(l), ",rack_id=\"%u\",direction=\"out\"",
					 st->racks[i].rack_id);
				nw_prom_sample(out, "netwatch_rack_fabric_error", dc, l, ou[i]);
			}
		}
		rc = 0;
	}
	free(in);
	free(ou);
	return rc;
}

static void faults(struct nw_buf *out, const char *dc, const struct nw_scope_state *sc)
{
	char l[192];

	nw_prom_family(
		out, "netwatch_fault_active", "gauge",
		"1 per reported scoped fault (docs/fabric.md section 6); labels the scope does not use are empty.");
	for (size_t i = 0; sc && i < sc->faults.n; i++) {
		const struct nw_scope_fault *f = &sc->faults.f[i];
		char rack[12] = "", src[12] = "", dst[12] = "", srv[12] = "";

		if (!f->reported)
			continue;
		if (f->scope == NW_SCOPE_RACK || f->scope == NW_SCOPE_SERVER)
			snprintf(rack, sizeof(rack), "%u", f->rack_id);
		if (f->scope == NW_SCOPE_SERVER)
			snprintf(srv, sizeof(srv), "%u", f->server_id);
		if (f->scope == NW_SCOPE_PATH) {
			snprintf(src, sizeof(src), "%u", f->src_rack);
			snprintf(dst, sizeof(dst), "%u", f->dst_rack);
		}
		snprintf(l, sizeof(l),
			 ",scope=\"%s\",rack_id=\"%s\",src_rack=\"%s\",dst_rack=\"%s\",server_id=\"%s\",cause=\"%s\"",
			 nw_scope_name(f->scope), rack, src, dst, srv,
			 nw_scope_cause_name(f->cause));
		nw_prom_sample_u64(out, "netwatch_fault_active", dc, l, 1);
	}
	nw_prom_family(
		out, "netwatch_fault_scope_seconds", "histogram",
		"Seconds from a fault's onset to its scope being reported (and to each widening), by scope.");
	for (int s = 0; s < NW_SCOPE__COUNT; s++) {
		const struct nw_scope_hist *h = sc ? &sc->hist[s] : NULL;
		uint64_t cum = 0;
		char lab[400]; /* dc_id: 128 characters, escaped at most 256 */

		snprintf(lab, sizeof(lab), "%s,scope=\"%s\"", dc, nw_scope_name((enum nw_scope)s));
		for (int b = 0; b < NW_SCOPE_BUCKETS; b++) {
			cum += h ? h->bucket[b] : 0;
			nw_prom_bucket(out, "netwatch_fault_scope_seconds", lab,
				       nw_scope_bucket_le[b], cum);
		}
		nw_prom_bucket(out, "netwatch_fault_scope_seconds", lab, INFINITY,
			       h ? h->count : 0);
		nw_prom_histogram_end(out, "netwatch_fault_scope_seconds", lab, h ? h->sum : 0,
				      h ? h->count : 0);
	}
}

int dc_fabric_metrics(const struct dc_view *v, const char *dc, uint64_t mono_ns, struct nw_buf *out)
{
	const struct dc_state *st = v->state;
	struct dc_fabric f;
	int rc = 0;

	if (dc_fabric_build(&f, st, mono_ns))
		return -1;
	nw_prom_family(
		out, "netwatch_fabric_score", "gauge",
		"1 - mean spectral error over the measured inter-rack paths (absent when none); the DC health score is at most this.");
	if (isfinite(f.score))
		nw_prom_sample(out, "netwatch_fabric_score", dc, NULL, f.score);
	nw_prom_family(
		out, "netwatch_fabric_pairs", "gauge",
		"Rack pairs: probed now (fresh, current mesh epoch) and total N(N-1) over the known racks.");
	nw_prom_sample_u64(out, "netwatch_fabric_pairs", dc, ",state=\"probed\"", f.probed);
	nw_prom_sample_u64(out, "netwatch_fabric_pairs", dc, ",state=\"total\"", f.pairs_total);
	per_pair(out, dc, &f, f.probed <= v->pair_series_max);
	rc = worst_pairs(out, dc, &f, f.probed > v->pair_series_max);
	if (!rc)
		rc = rack_errors(out, dc, &f, st);
	faults(out, dc, v->scope);
	dc_fabric_free(&f);
	return rc;
}
