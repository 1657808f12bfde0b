// SPDX-License-Identifier: MIT
#include "dc_metrics.h"

#include <stdio.h>
#include <string.h>

#include "dc_fabric.h"
#include "prom.h"

#define PUTS(b, lit) nw_buf_put((b), (lit), sizeof(lit) - 1)

static void put_u64(struct nw_buf *b, uint64_t x)
{
	char t[20];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + x % 10);
		x /= 10;
	} while (x);
	nw_buf_put(b, t + i, sizeof(t) - i);
}

/* The per-rack series are most of the page (about 8 per rack: 80,000 lines
 * at 10,000 racks), so their lines are assembled from pieces instead of
 * formatted: name{dc_id="…",rack_id="N"<extra>} value. */
static void rack_prefix(struct nw_buf *out, const char *name, const char *dc,
			const struct dc_rack *r, const char *extra)
{
	nw_buf_put(out, name, strlen(name));
	PUTS(out, "{");
	nw_buf_put(out, dc, strlen(dc));
	PUTS(out, ",rack_id=\"");
	put_u64(out, r->rack_id);
	PUTS(out, "\"");
	if (extra)
		nw_buf_put(out, extra, strlen(extra));
	PUTS(out, "} ");
}

/* One series of a per-rack family: dc_id and rack_id. */
static void rack_sample(struct nw_buf *out, const char *name, const char *dc,
			const struct dc_rack *r, double x)
{
	rack_prefix(out, name, dc, r, NULL);
	nw_prom_number(out, x);
	PUTS(out, "\n");
}

static void rack_sample_u64(struct nw_buf *out, const char *name, const char *dc,
			    const struct dc_rack *r, uint64_t x)
{
	rack_prefix(out, name, dc, r, NULL);
	put_u64(out, x);
	PUTS(out, "\n");
}

/* Seconds from nanoseconds, exact to the nanosecond, without formatting a
 * double (nw_prom_number's shortest round trip costs up to three snprintf
 * and strtod calls). */
static void rack_sample_age(struct nw_buf *out, const char *name, const char *dc,
			    const struct dc_rack *r, uint64_t mono_ns)
{
	uint64_t last = r->heard_ns > r->rx_ns ? r->heard_ns : r->rx_ns;
	uint64_t ns = mono_ns > last ? mono_ns - last : 0;
	char frac[10];

	rack_prefix(out, name, dc, r, NULL);
	put_u64(out, ns / 1000000000ULL);
	ns %= 1000000000ULL;
	for (int i = 8; i >= 0; i--, ns /= 10)
		frac[i + 1] = (char)('0' + ns % 10);
	frac[0] = '.';
	nw_buf_put(out, frac, sizeof(frac));
	PUTS(out, "\n");
}

/* min(mean rack score, fabric score): dc_fabric.h */
static double dc_score(const struct dc_state *st, uint64_t mono_ns)
{
	struct dc_fabric f;
	double x;

	if (dc_fabric_build(&f, st, mono_ns))
		return dc_state_score(st, mono_ns);
	x = dc_fabric_dc_score(&f, st, mono_ns);
	dc_fabric_free(&f);
	return x;
}

#define EACH_RACK(st, r)                        \
	for (size_t i_ = 0; i_ < (st)->n; i_++) \
		for (const struct dc_rack *r = &(st)->racks[i_]; r; r = NULL)

/* The per-rack detail families (--rack-detail-max): most of the page at
 * 10,000 racks, and not needed by the rules, alerts or the DC score. */
static void rack_detail_age(struct nw_buf *out, const char *dc, const struct dc_state *st,
			    uint64_t mono_ns)
{
	nw_prom_family(
		out, "netwatch_dc_rack_report_age_seconds", "gauge",
		"Seconds since the rack's newest report was accepted (absent until one was).");
	EACH_RACK(st, r)
	if (r->have)
		rack_sample_age(out, "netwatch_dc_rack_report_age_seconds", dc, r, mono_ns);
}

static void rack_detail_rest(struct nw_buf *out, const char *dc, const struct dc_state *st,
			     uint64_t mono_ns)
{
	nw_prom_family(out, "netwatch_dc_rack_state", "gauge",
		       "One series per state (ok, stale, never); 1 for the rack's current one.");
	EACH_RACK(st, r)
	{
		enum dc_rack_state cur = dc_rack_state(st, r, mono_ns);

		static const char *const state_label[DC_RACK__COUNT] = {
			[DC_RACK_OK] = ",state=\"ok\"",
			[DC_RACK_STALE] = ",state=\"stale\"",
			[DC_RACK_NEVER] = ",state=\"never\"",
		};

		for (int s = 0; s < DC_RACK__COUNT; s++) {
			rack_prefix(out, "netwatch_dc_rack_state", dc, r, state_label[s]);
			nw_buf_put(out, (int)cur == s ? "1\n" : "0\n", 2);
		}
	}

	nw_prom_family(out, "netwatch_dc_rack_servers", "gauge",
		       "Servers in the rack's newest accepted report.");
	EACH_RACK(st, r)
	if (r->have)
		rack_sample_u64(out, "netwatch_dc_rack_servers", dc, r, r->last.nservers);

	nw_prom_family(out, "netwatch_dc_rack_reports_accepted_total", "counter",
		       "Reports accepted per rack since the DC started.");
	EACH_RACK(st, r)
	if (r->have)
		rack_sample_u64(out, "netwatch_dc_rack_reports_accepted_total", dc, r, r->accepted);
}

int dc_metrics_render(const struct dc_view *v, uint64_t mono_ns, struct nw_buf *out)
{
	const struct dc_state *st = v->state;
	struct nw_buf lab = { 0 };
	char rest[96];
	const char *dc;
	int detail = st->n <= v->rack_detail_max;

	/* Every series carries dc_id: escaped once, pasted everywhere. */
	PUTS(&lab, "dc_id=\"");
	nw_prom_label_value(&lab, v->dc_id);
	PUTS(&lab, "\"");
	if (lab.failed) {
		nw_buf_free(&lab);
		return -1;
	}
	dc = lab.p;

	nw_prom_family(
		out, "netwatch_dc_health_score", "gauge",
		"Mean over expected and reporting racks of the rack score (a stale or never-reporting rack counts 0), capped by netwatch_fabric_score when inter-rack paths are measured.");
	nw_prom_sample(out, "netwatch_dc_health_score", dc, NULL, dc_score(st, mono_ns));

	nw_prom_family(
		out, "netwatch_dc_rack_health_score", "gauge",
		"Rack score as the DC counts it: the newest reported score, 0 when stale or never reported.");
	EACH_RACK(st, r)
	rack_sample(out, "netwatch_dc_rack_health_score", dc, r,
		    dc_rack_contribution(st, r, mono_ns));

	/* The DC score's numerator and denominator: shards of one DC add them
	 * up (deploy/prometheus/rules, docs/dc.md "Shards"). */
	nw_prom_family(
		out, "netwatch_dc_score_numerator", "gauge",
		"Sum over the racks in the DC score of what each counts (its score when ok, else 0); divided by netwatch_dc_racks_known it is netwatch_dc_health_score.");
	nw_prom_sample(out, "netwatch_dc_score_numerator", dc, NULL,
		       dc_state_score(st, mono_ns) * (double)st->n);
	{
		size_t counts[DC_RACK__COUNT] = { 0 };

		EACH_RACK(st, r)
		counts[dc_rack_state(st, r, mono_ns)]++;
		nw_prom_family(out, "netwatch_dc_racks", "gauge",
			       "Racks in the DC score by state (ok, stale, never).");
		for (int st_i = 0; st_i < DC_RACK__COUNT; st_i++) {
			snprintf(rest, sizeof(rest), ",state=\"%s\"",
				 dc_rack_state_name((enum dc_rack_state)st_i));
			nw_prom_sample_u64(out, "netwatch_dc_racks", dc, rest, counts[st_i]);
		}
	}
	nw_prom_family(
		out, "netwatch_dc_overloaded", "gauge",
		"1 while the DC is behind its racks (lag over 1 s, or a rack kept fresh only by unread data, in the last 5 s): its rack states are then a lower bound on health, not evidence of failure.");
	nw_prom_sample_u64(out, "netwatch_dc_overloaded", dc, NULL, v->overloaded ? 1 : 0);
	nw_prom_family(
		out, "netwatch_dc_lag_seconds", "gauge",
		"How far behind the DC is, over the last second: the longest time from a report's arrival (kernel receive time) to its processing, or, for a connection whose reports were shed, since it was last read less its rack's interval.");
	nw_prom_sample(out, "netwatch_dc_lag_seconds", dc, NULL, v->lag_s);
	nw_prom_family(
		out, "netwatch_dc_reports_shed_total", "counter",
		"Reports skipped unread because a newer one of the same rack came in the same read: the DC was behind (oldest shed, newest kept).");
	nw_prom_sample_u64(out, "netwatch_dc_reports_shed_total", dc, NULL, v->shed);
	nw_prom_family(
		out, "netwatch_dc_racks_behind", "gauge",
		"Racks kept fresh at the last sweep only because their connection held unread data.");
	nw_prom_sample_u64(out, "netwatch_dc_racks_behind", dc, NULL, v->racks_behind);
	nw_prom_family(out, "netwatch_dc_racks_forgotten_total", "counter",
		       "Racks that were not expected and left the DC after --forget stale.");
	nw_prom_sample_u64(out, "netwatch_dc_racks_forgotten_total", dc, NULL, v->forgotten);

	nw_prom_family(out, "netwatch_dc_racks_reporting", "gauge",
		       "Racks whose newest report is younger than --stale.");
	nw_prom_sample_u64(out, "netwatch_dc_racks_reporting", dc, NULL,
			   dc_state_reporting(st, mono_ns));
	nw_prom_family(out, "netwatch_dc_racks_expected", "gauge", "Racks expected by --racks.");
	nw_prom_sample_u64(out, "netwatch_dc_racks_expected", dc, NULL, st->cfg.racks_expected);
	nw_prom_family(out, "netwatch_dc_racks_known", "gauge",
		       "Racks in the DC score: expected ones and every rack that has reported.");
	nw_prom_sample_u64(out, "netwatch_dc_racks_known", dc, NULL, st->n);

	if (detail)
		rack_detail_age(out, dc, st, mono_ns);

	nw_prom_family(
		out, "netwatch_dc_rack_stale", "gauge",
		"1 when the rack counts 0 in the DC score: no report for --stale seconds, or never reported.");
	EACH_RACK(st, r)
	rack_sample_u64(out, "netwatch_dc_rack_stale", dc, r,
			dc_rack_state(st, r, mono_ns) != DC_RACK_OK);

	if (detail)
		rack_detail_rest(out, dc, st, mono_ns);

	nw_prom_family(out, "netwatch_dc_reports_accepted_total", "counter",
		       "Reports accepted from all racks.");
	nw_prom_sample_u64(out, "netwatch_dc_reports_accepted_total", dc, NULL, st->accepted);

	nw_prom_family(out, "netwatch_dc_reports_rejected_total", "counter",
		       "Reports (or frames) refused, by reason; every reason always present.");
	for (int why = NW_REJ_OK + 1; why < NW_REJ__COUNT; why++) {
		snprintf(rest, sizeof(rest), ",reason=\"%s\"",
			 nw_report_reject_name((enum nw_report_reject)why));
		nw_prom_sample_u64(out, "netwatch_dc_reports_rejected_total", dc, rest,
				   st->rejected[why]);
	}

	nw_prom_family(
		out, "netwatch_dc_path_rows_rejected_total", "counter",
		"paths_in rows dropped from parsed reports: a pair the --fabric-mesh schedule does not probe around now.");
	nw_prom_sample_u64(out, "netwatch_dc_path_rows_rejected_total", dc, NULL,
			   v->path_rows_rejected);

	nw_prom_family(out, "netwatch_dc_connections_open", "gauge", "Rack connections open now.");
	nw_prom_sample_u64(out, "netwatch_dc_connections_open", dc, NULL, v->conns_open);
	nw_prom_family(
		out, "netwatch_dc_connections_accepted_total", "counter",
		"Rack connections accepted (including those closed at once over --max-conns).");
	nw_prom_sample_u64(out, "netwatch_dc_connections_accepted_total", dc, NULL,
			   v->conns_accepted);
	nw_prom_family(
		out, "netwatch_dc_connections_rejected_total", "counter",
		"Connections the DC closed itself, by reason (limit, idle, slow, memory, errors, evicted).");
	for (int why = 0; why < DC_CONN__COUNT; why++) {
		snprintf(rest, sizeof(rest), ",reason=\"%s\"",
			 dc_conn_reject_name((enum dc_conn_reject)why));
		nw_prom_sample_u64(out, "netwatch_dc_connections_rejected_total", dc, rest,
				   v->conn_rejected[why]);
	}
	nw_prom_family(
		out, "netwatch_dc_buffered_bytes", "gauge",
		"Bytes of frame buffers charged to --max-buffer over all connections (beyond each connection's 16 KiB allowance).");
	nw_prom_sample_u64(out, "netwatch_dc_buffered_bytes", dc, NULL, v->buffered_bytes);

	nw_prom_family(
		out, "netwatch_dc_auth_required", "gauge",
		"1 when reports must carry a valid HMAC (--key-file), 0 when unauthenticated reports are accepted.");
	nw_prom_sample_u64(out, "netwatch_dc_auth_required", dc, NULL, v->auth_required ? 1 : 0);

	if (dc_fabric_metrics(v, dc, mono_ns, out))
		out->failed = 1;

	nw_prom_family(out, "netwatch_dc_build_info", "gauge", "The running build (git describe).");
	nw_buf_printf(out, "netwatch_dc_build_info{%s,version=\"", dc);
	nw_prom_label_value(out, NW_VERSION_STRING);
	PUTS(out, "\"} 1\n");

	nw_buf_free(&lab);
	return out->failed ? -1 : 0;
}
