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
#include <stdio.h>
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
	} else if (!strcmp(key, "matrix")) {
		if (strcmp(value, "dense") && strcmp(value, "list"))
			return *why = "matrix must be dense or list", -1;
		q->dense = value[0] == 'd';
	} else if (!strcmp(key, "servers")) {
		if (strcmp(value, "0") && strcmp(value, "1"))
			return *why = "servers must be 0 or 1", -1;
		q->servers = value[0] == '1';
	} else {
		return *why = "unknown parameter (after, limit, state, min_score, max_score, rack, servers, matrix)",
		       -1;
	}
	return 0;
}

/* JSON has no NaN or infinity: those become null. */
static json_t *real(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* The racks are written straight into the buffer, not built as a jansson
 * tree first: 100 racks x 40 servers as a tree cost ~60 ms, this ~5 ms.
 * Reals with 9 significant digits, as reports carry them; no string here
 * needs escaping (names from fixed tables, numbers). */
static void put_real(struct nw_buf *b, const char *key, double x)
{
	if (isfinite(x))
		nw_buf_printf(b, ",\"%s\":%.9g", key, x);
	else
		nw_buf_printf(b, ",\"%s\":null", key);
}

static void put_server(struct nw_buf *b, const struct nw_report_server *e)
{
	nw_buf_printf(b, "{\"id\":%u,\"class\":\"%s\"", e->id, nw_health_name(e->cls));
	put_real(b, "error", e->error);
	put_real(b, "snr_db", e->snr_db);
	put_real(b, "loss_ratio", e->loss_ratio);
	put_real(b, "jitter_s", e->jitter_s);
	nw_buf_printf(b, ",\"up\":%s}", e->up ? "true" : "false");
}

static void put_rack(struct nw_buf *b, const struct dc_state *st, const struct dc_rack *r,
		     uint64_t mono_ns, int with_servers)
{
	nw_buf_printf(b, "{\"rack_id\":%u,\"state\":\"%s\",\"expected\":%s", r->rack_id,
		      dc_rack_state_name(dc_rack_state(st, r, mono_ns)),
		      r->expected ? "true" : "false");
	put_real(b, "score", dc_rack_contribution(st, r, mono_ns));
	put_real(b, "reported_score", r->have ? r->last.rack_score : NAN);
	put_real(b, "age_s", dc_rack_age_s(r, mono_ns));
	if (r->have)
		nw_buf_printf(b, ",\"seq\":%llu,\"boot_ns\":%llu", (unsigned long long)r->last.seq,
			      (unsigned long long)r->last.boot_ns);
	else
		nw_buf_printf(b, ",\"seq\":null,\"boot_ns\":null");
	put_real(b, "interval_s", r->have ? r->last.interval_s : NAN);
	nw_buf_printf(b, ",\"authenticated\":%s,\"reports_accepted\":%llu",
		      r->have && r->last.authenticated ? "true" : "false",
		      (unsigned long long)r->accepted);
	if (with_servers) {
		nw_buf_put(b, ",\"servers\":[", 12);
		for (uint32_t i = 0; r->have && i < r->last.nservers; i++) {
			if (i)
				nw_buf_put(b, ",", 1);
			put_server(b, &r->last.servers[i]);
		}
		nw_buf_put(b, "]", 1);
	}
	nw_buf_put(b, "}", 1);
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
static void put_worst(struct nw_buf *b, const struct dc_state *st, uint64_t mono_ns)
{
	size_t idx[DC_API_WORST], n = 0;
	double sc[DC_API_WORST];

	for (size_t i = 0; i < st->n; i++) {
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
	nw_buf_put(b, ",\"worst_racks\":[", 16);
	for (size_t i = 0; i < n; i++) {
		if (i)
			nw_buf_put(b, ",", 1);
		put_rack(b, st, &st->racks[idx[i]], mono_ns, 0);
	}
	nw_buf_put(b, "]", 1);
}

char *dc_api_json(const struct dc_view *v, const struct dc_api_query *q, uint64_t mono_ns)
{
	const struct dc_state *st = v->state;
	size_t counts[DC_RACK__COUNT] = { 0 }, budget = 0, listed = 0, first = 0;
	long long last_id = -1, next = -1;
	struct nw_buf b = { 0 }, fab = { 0 };
	double score;
	json_t *head;
	char *h;

	for (size_t i = 0; i < st->n; i++)
		counts[dc_rack_state(st, &st->racks[i], mono_ns)]++;
	/* the fabric first: the DC score is capped by its score */
	if (dc_fabric_json(v, q, mono_ns, &fab, &score)) {
		nw_buf_free(&fab);
		return NULL;
	}
	/* The summary through jansson (dc_id needs escaping), then the lists. */
	head = json_pack("{s:s, s:o, s:s, s:b, s:o, s:I, s:I, s:f, s:I, s:I, s:I,"
			 " s:{s:I, s:I, s:I}, s:b, s:s}",
			 "dc_id", v->dc_id, "health_score", real(score), "dc_state",
			 v->overloaded ? "overloaded" : "ok", "overloaded", v->overloaded, "lag_s",
			 real(v->lag_s), "reports_shed", (json_int_t)v->shed, "racks_behind",
			 (json_int_t)v->racks_behind, "stale_s", st->cfg.stale_s, "racks_expected",
			 (json_int_t)st->cfg.racks_expected, "racks_known", (json_int_t)st->n,
			 "racks_reporting", (json_int_t)dc_state_reporting(st, mono_ns),
			 "racks_by_state", "ok", (json_int_t)counts[DC_RACK_OK], "stale",
			 (json_int_t)counts[DC_RACK_STALE], "never",
			 (json_int_t)counts[DC_RACK_NEVER], "auth_required",
			 v->auth_required ? 1 : 0, "version", NW_VERSION_STRING);
	h = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(head);
	if (!h) {
		nw_buf_free(&fab);
		return NULL;
	}
	nw_buf_put(&b, h, strlen(h) - 1); /* without its closing brace */
	free(h);
	nw_buf_put(&b, fab.p, fab.len);
	nw_buf_free(&fab);
	put_worst(&b, st, mono_ns);
	nw_buf_put(&b, ",\"racks\":[", 10);
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
			next = last_id; /* more to come: the next page starts after it */
			break;
		}
		if (listed)
			nw_buf_put(&b, ",", 1);
		put_rack(&b, st, r, mono_ns, q->servers);
		budget += cost;
		listed++;
		last_id = r->rack_id;
	}
	if (next >= 0)
		nw_buf_printf(&b, "],\"next_after\":%lld}", next);
	else
		nw_buf_put(&b, "],\"next_after\":null}", 20);
	nw_buf_put(&b, "", 1); /* the NUL the caller's string needs */
	if (b.failed) {
		nw_buf_free(&b);
		return NULL;
	}
	return b.p;
}
