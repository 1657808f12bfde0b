// SPDX-License-Identifier: MIT
/* /api/v1/dc: the DC score and every rack with its servers' summaries. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "dc_metrics.h"

/* JSON has no NaN or infinity: those become null. */
static json_t *real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *server_json(const struct nw_report_server *e)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:b}", "id", (json_int_t)e->id, "class",
			 nw_health_name(e->cls), "error", real(e->error), "snr_db", real(e->snr_db),
			 "loss_ratio", real(e->loss_ratio), "jitter_s", real(e->jitter_s), "up",
			 e->up ? 1 : 0);
}

static json_t *rack_json(const struct dc_state *st, const struct dc_rack *r, uint64_t mono_ns)
{
	json_t *servers = json_array(), *o;

	if (!servers)
		return NULL;
	for (uint32_t i = 0; r->have && i < r->last.nservers; i++)
		if (json_array_append_new(servers, server_json(&r->last.servers[i]))) {
			json_decref(servers);
			return NULL;
		}
	o = json_pack("{s:I, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:I, s:o}", "rack_id",
		      (json_int_t)r->rack_id, "state",
		      dc_rack_state_name(dc_rack_state(st, r, mono_ns)), "expected", r->expected,
		      "score", real(dc_rack_contribution(st, r, mono_ns)), "reported_score",
		      r->have ? real(r->last.rack_score) : json_null(), "age_s",
		      real(dc_rack_age_s(r, mono_ns)), "seq",
		      r->have ? json_integer((json_int_t)r->last.seq) : json_null(), "boot_ns",
		      r->have ? json_integer((json_int_t)r->last.boot_ns) : json_null(),
		      "interval_s", r->have ? real(r->last.interval_s) : json_null(),
		      "authenticated", r->have && r->last.authenticated, "reports_accepted",
		      (json_int_t)r->accepted, "servers", servers);
	return o;
}

char *dc_api_json(const struct dc_view *v, uint64_t mono_ns)
{
	const struct dc_state *st = v->state;
	json_t *racks = json_array(), *doc;
	char *s;

	if (!racks)
		return NULL;
	for (size_t i = 0; i < st->n; i++)
		if (json_array_append_new(racks, rack_json(st, &st->racks[i], mono_ns))) {
			json_decref(racks);
			return NULL;
		}
	doc = json_pack("{s:s, s:o, s:f, s:I, s:I, s:b, s:s, s:o}", "dc_id", v->dc_id,
			"health_score", real(dc_state_score(st, mono_ns)), "stale_s",
			st->cfg.stale_s, "racks_expected", (json_int_t)st->cfg.racks_expected,
			"racks_reporting", (json_int_t)dc_state_reporting(st, mono_ns),
			"auth_required", v->auth_required ? 1 : 0, "version", NW_VERSION_STRING,
			"racks", racks);
	if (!doc)
		return NULL;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}
