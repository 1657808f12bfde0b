// SPDX-License-Identifier: MIT
/*
 * /api/v1/dc: the summary (DC score, overload, counts by state, the worst
 * racks) and one page of racks with their servers' summaries, filtered by
 * the query (docs/dc.md). A page stops at its limit or at about
 * DC_API_PAGE_BYTES, whichever comes first, and says where the next one
 * starts: one response costs the loop a bounded time and memory however
 * many racks and servers the DC holds (10,000 x 40: the default answer is
 * ~0.5 MB).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_metrics.h"

/* What one rack costs in the page, estimated before it is built: its
 * fields, and each server summary (measured ~125 bytes compact). */
#define RACK_BYTES 320U
#define SERVER_BYTES 140U

void dc_api_query_default(struct dc_api_query *q)
{
	memset(q, 0, sizeof(*q));
	q->after = -1;
	q->limit = DC_API_DEFAULT_LIMIT;
	q->min_score = 0.0;
	q->max_score = 1.0;
	q->servers = 1;
}

static int parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int parse_unit(const char *v, double *out)
{
	char *end;

	if (!*v)
		return -1;
	*out = strtod(v, &end);
	return *end || !(*out >= 0.0 && *out <= 1.0) ? -1 : 0;
}

static int parse_states(const char *v, unsigned *out)
{
	*out = 0;
	while (*v) {
		size_t len = strcspn(v, ",");
		int found = 0;

		for (int st = 0; st < DC_RACK__COUNT; st++) {
			const char *name = dc_rack_state_name((enum dc_rack_state)st);

			if (strlen(name) == len && !strncmp(v, name, len)) {
				*out |= 1U << st;
				found = 1;
			}
		}
		if (!found)
			return -1;
		v += len + (v[len] == ',');
	}
	return *out ? 0 : -1;
}

static int parse_ids(const char *v, struct dc_api_query *q)
{
	char buf[16];

	q->nrack_ids = 0;
	while (*v) {
		size_t len = strcspn(v, ",");

		if (len == 0 || len >= sizeof(buf) || q->nrack_ids >= DC_API_MAX_RACK_IDS)
			return -1;
		memcpy(buf, v, len);
		buf[len] = '\0';
		if (parse_u32(buf, NW_REPORT_MAX_RACK, &q->rack_ids[q->nrack_ids]))
			return -1;
		q->nrack_ids++;
		v += len + (v[len] == ',');
	}
	return q->nrack_ids ? 0 : -1;
}

int dc_api_query_set(struct dc_api_query *q, const char *key, const char *value, const char **why)
{
	uint32_t x;

	if (!value)
		value = "";
	if (!strcmp(key, "after")) {
		if (parse_u32(value, NW_REPORT_MAX_RACK, &x))
			return *why = "after must be a rack id 0..65535", -1;
		q->after = x;
	} else if (!strcmp(key, "limit")) {
		if (parse_u32(value, DC_API_MAX_LIMIT, &x) || x == 0)
			return *why = "limit must be 1..1000", -1;
		q->limit = x;
	} else if (!strcmp(key, "state")) {
		if (parse_states(value, &q->states))
			return *why = "state must be ok, stale or never (comma-separated)", -1;
	} else if (!strcmp(key, "min_score")) {
		if (parse_unit(value, &q->min_score))
			return *why = "min_score must be 0..1", -1;
	} else if (!strcmp(key, "max_score")) {
		if (parse_unit(value, &q->max_score))
			return *why = "max_score must be 0..1", -1;
	} else if (!strcmp(key, "rack")) {
		if (parse_ids(value, q))
			return *why = "rack must be up to 256 rack ids 0..65535, comma-separated",
			       -1;
	} else if (!strcmp(key, "servers")) {
		if (strcmp(value, "0") && strcmp(value, "1"))
			return *why = "servers must be 0 or 1", -1;
		q->servers = value[0] == '1';
	} else {
		return *why = "unknown parameter (after, limit, state, min_score, max_score, rack, servers)",
		       -1;
	}
	return 0;
}

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

static json_t *rack_json(const struct dc_state *st, const struct dc_rack *r, uint64_t mono_ns,
			 int with_servers)
{
	json_t *o = json_pack("{s:I, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:I}", "rack_id",
			      (json_int_t)r->rack_id, "state",
			      dc_rack_state_name(dc_rack_state(st, r, mono_ns)), "expected",
			      r->expected, "score", real(dc_rack_contribution(st, r, mono_ns)),
			      "reported_score", r->have ? real(r->last.rack_score) : json_null(),
			      "age_s", real(dc_rack_age_s(r, mono_ns)), "seq",
			      r->have ? json_integer((json_int_t)r->last.seq) : json_null(),
			      "boot_ns",
			      r->have ? json_integer((json_int_t)r->last.boot_ns) : json_null(),
			      "interval_s", r->have ? real(r->last.interval_s) : json_null(),
			      "authenticated", r->have && r->last.authenticated, "reports_accepted",
			      (json_int_t)r->accepted);
	json_t *servers;

	if (!o || !with_servers)
		return o;
	servers = json_array();
	if (!servers || json_object_set_new(o, "servers", servers)) {
		json_decref(o);
		return NULL;
	}
	for (uint32_t i = 0; r->have && i < r->last.nservers; i++)
		if (json_array_append_new(servers, server_json(&r->last.servers[i]))) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static int wanted_id(const struct dc_api_query *q, uint32_t id)
{
	if (!q->nrack_ids)
		return 1;
	for (uint32_t i = 0; i < q->nrack_ids; i++)
		if (q->rack_ids[i] == id)
			return 1;
	return 0;
}

static int matches(const struct dc_state *st, const struct dc_rack *r, const struct dc_api_query *q,
		   uint64_t mono_ns)
{
	double score;

	if (q->states && !(q->states & (1U << dc_rack_state(st, r, mono_ns))))
		return 0;
	score = dc_rack_contribution(st, r, mono_ns);
	return score >= q->min_score && score <= q->max_score && wanted_id(q, r->rack_id);
}

/* The DC_API_WORST racks with the lowest score (ties: lower id first). */
static json_t *worst_json(const struct dc_state *st, uint64_t mono_ns)
{
	size_t idx[DC_API_WORST], n = 0;
	double sc[DC_API_WORST];
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < st->n; i++) {
		double x = dc_rack_contribution(st, &st->racks[i], mono_ns);
		size_t at;

		if (n == DC_API_WORST && x >= sc[n - 1])
			continue;
		if (n < DC_API_WORST)
			n++;
		for (at = n - 1; at > 0 && sc[at - 1] > x; at--) {
			sc[at] = sc[at - 1];
			idx[at] = idx[at - 1];
		}
		sc[at] = x;
		idx[at] = i;
	}
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, rack_json(st, &st->racks[idx[i]], mono_ns, 0))) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

char *dc_api_json(const struct dc_view *v, const struct dc_api_query *q, uint64_t mono_ns)
{
	const struct dc_state *st = v->state;
	size_t counts[DC_RACK__COUNT] = { 0 }, budget = 0, listed = 0, first = 0;
	json_t *racks = json_array(), *doc, *next = json_null();
	json_int_t last_id = -1;
	char *s;

	if (!racks)
		return NULL;
	for (size_t i = 0; i < st->n; i++)
		counts[dc_rack_state(st, &st->racks[i], mono_ns)]++;
	/* racks are sorted by id: the page starts after q->after */
	while (first < st->n && (int64_t)st->racks[first].rack_id <= q->after)
		first++;
	for (size_t i = first; i < st->n; i++) {
		const struct dc_rack *r = &st->racks[i];
		size_t cost;

		if (!matches(st, r, q, mono_ns))
			continue;
		cost = RACK_BYTES + (q->servers && r->have ? r->last.nservers * SERVER_BYTES : 0);
		if (listed == q->limit || (listed > 0 && budget + cost > DC_API_PAGE_BYTES)) {
			/* more to come: the next page starts after the last listed */
			next = json_integer(last_id);
			break;
		}
		if (json_array_append_new(racks, rack_json(st, r, mono_ns, q->servers))) {
			json_decref(racks);
			return NULL;
		}
		budget += cost;
		listed++;
		last_id = r->rack_id;
	}
	doc = json_pack("{s:s, s:o, s:s, s:b, s:o, s:I, s:I, s:f, s:I, s:I, s:I, s:{s:I, s:I, s:I},"
			" s:o, s:b, s:s, s:o, s:o}",
			"dc_id", v->dc_id, "health_score", real(dc_state_score(st, mono_ns)),
			"dc_state", v->overloaded ? "overloaded" : "ok", "overloaded",
			v->overloaded, "lag_s", real(v->lag_s), "reports_shed", (json_int_t)v->shed,
			"racks_behind", (json_int_t)v->racks_behind, "stale_s", st->cfg.stale_s,
			"racks_expected", (json_int_t)st->cfg.racks_expected, "racks_known",
			(json_int_t)st->n, "racks_reporting",
			(json_int_t)dc_state_reporting(st, mono_ns), "racks_by_state", "ok",
			(json_int_t)counts[DC_RACK_OK], "stale", (json_int_t)counts[DC_RACK_STALE],
			"never", (json_int_t)counts[DC_RACK_NEVER], "worst_racks",
			worst_json(st, mono_ns), "auth_required", v->auth_required ? 1 : 0,
			"version", NW_VERSION_STRING, "racks", racks, "next_after", next);
	if (!doc)
		return NULL;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}
