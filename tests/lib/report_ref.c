// SPDX-License-Identifier: MIT
/* The jansson DOM reference parser (report_ref.h), as the DC ran it before
 * the streaming parser. Kept byte for byte in behaviour; only test code
 * links it. */
#include "report_ref.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_ranges.h"

#define unit_ok nw_report_unit_ok
#define interval_ok nw_report_interval_ok
#define jitter_ok nw_report_jitter_ok
#define snr_ok nw_report_snr_ok

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_server(const void *a, const void *b)
{
	return cmp_u32(&((const struct nw_report_server *)a)->id,
		       &((const struct nw_report_server *)b)->id);
}

/* Not parsing: a count of bytes that precede every value jansson would
 * allocate, so a hostile payload cannot turn 4 MiB into hundreds. Bytes
 * inside strings count too, which only errs on the side of refusing. */
static int within_budget(const uint8_t *p, size_t n)
{
	size_t containers = 0, separators = 0;

	for (size_t i = 0; i < n; i++) {
		containers += p[i] == '{' || p[i] == '[';
		separators += p[i] == ',' || p[i] == ':';
	}
	return containers <= NW_REPORT_MAX_CONTAINERS && separators <= NW_REPORT_MAX_SEPARATORS;
}

/* An integer field within [lo, hi]: missing or not a JSON integer is TYPE
 * (1.0 is a real, not an integer), outside the range RANGE. */
static enum nw_report_reject get_int(const json_t *o, const char *k, json_int_t lo, json_int_t hi,
				     json_int_t *out)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		return NW_REJ_TYPE;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi ? NW_REJ_OK : NW_REJ_RANGE;
}

/* A number (integer or real) that `ok` accepts; with `nullable`, JSON null
 * reads as NAN ("not analysed yet"). */
static enum nw_report_reject get_num(const json_t *o, const char *k, int (*ok)(double),
				     int nullable, double *out)
{
	const json_t *v = json_object_get(o, k);

	if (nullable && json_is_null(v)) {
		*out = NAN;
		return NW_REJ_OK;
	}
	if (!json_is_number(v))
		return NW_REJ_TYPE;
	*out = json_number_value(v);
	return ok(*out) ? NW_REJ_OK : NW_REJ_RANGE;
}

#define TRY(expr)                                    \
	do {                                         \
		enum nw_report_reject rej_ = (expr); \
		if (rej_ != NW_REJ_OK)               \
			return rej_;                 \
	} while (0)

static enum nw_report_reject parse_server(const json_t *o, struct nw_report_server *s)
{
	const json_t *cls, *up;
	json_int_t id;

	if (!json_is_object(o))
		return NW_REJ_TYPE;
	TRY(get_int(o, "id", 0, NW_REPORT_MAX_SERVER_ID, &id));
	s->id = (uint32_t)id;
	cls = json_object_get(o, "class");
	if (!json_is_string(cls))
		return NW_REJ_TYPE;
	if (nw_health_parse(json_string_value(cls), &s->cls))
		return NW_REJ_RANGE;
	TRY(get_num(o, "error", unit_ok, 1, &s->error));
	TRY(get_num(o, "snr_db", snr_ok, 1, &s->snr_db));
	TRY(get_num(o, "loss_ratio", unit_ok, 0, &s->loss_ratio));
	TRY(get_num(o, "jitter_s", jitter_ok, 0, &s->jitter_s));
	up = json_object_get(o, "up");
	if (!json_is_boolean(up))
		return NW_REJ_TYPE;
	s->up = json_is_true(up);
	/* optional since issue 16: absent is healthy / no period */
	s->since_ns = 0;
	s->period_s = NAN;
	if (json_object_get(o, "since_ns")) {
		TRY(get_int(o, "since_ns", 0, INT64_MAX, &id));
		s->since_ns = (uint64_t)id;
	}
	if (json_object_get(o, "period_s"))
		TRY(get_num(o, "period_s", nw_report_period_ok, 1, &s->period_s));
	return NW_REJ_OK;
}

/* latency_ms: null, or {"p50": ms|null, "p99": ms|null}; kept in s. */
static enum nw_report_reject parse_latency(const json_t *lat, struct nw_report_path *p)
{
	p->latency_p50_s = p->latency_p99_s = NAN;
	if (json_is_null(lat))
		return NW_REJ_OK;
	if (!json_is_object(lat))
		return NW_REJ_TYPE;
	TRY(get_num(lat, "p50", nw_report_latency_ok, 1, &p->latency_p50_s));
	TRY(get_num(lat, "p99", nw_report_latency_ok, 1, &p->latency_p99_s));
	p->latency_p50_s /= 1e3;
	p->latency_p99_s /= 1e3;
	return NW_REJ_OK;
}

static enum nw_report_reject parse_path(const json_t *o, struct nw_report_path *p)
{
	const json_t *cls;
	json_int_t x;

	if (!json_is_object(o))
		return NW_REJ_TYPE;
	TRY(get_int(o, "src_rack", 0, NW_REPORT_MAX_RACK, &x));
	p->src_rack = (uint32_t)x;
	cls = json_object_get(o, "class");
	if (!json_is_string(cls))
		return NW_REJ_TYPE;
	if (nw_health_parse(json_string_value(cls), &p->cls))
		return NW_REJ_RANGE;
	TRY(get_num(o, "error", unit_ok, 1, &p->error));
	TRY(get_num(o, "loss_ratio", unit_ok, 0, &p->loss_ratio));
	TRY(parse_latency(json_object_get(o, "latency_ms"), p));
	TRY(get_num(o, "period_s", nw_report_period_ok, 1, &p->period_s));
	TRY(get_int(o, "mesh_epoch", 0, NW_REPORT_MAX_RACK, &x));
	p->mesh_epoch = (uint32_t)x;
	TRY(get_int(o, "since_ns", 0, INT64_MAX, &x));
	p->since_ns = (uint64_t)x;
	return NW_REJ_OK;
}

/* The optional "paths_in" array (its type was checked with the root). */
static enum nw_report_reject parse_paths(const json_t *paths, struct nw_report *out)
{
	size_t n = json_array_size(paths);

	if (n > NW_REPORT_MAX_PATHS)
		return NW_REJ_TOO_LARGE;
	if (n == 0)
		return NW_REJ_OK;
	out->paths = calloc(n, sizeof(*out->paths));
	if (!out->paths)
		return NW_REJ_TOO_LARGE;
	out->npaths = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		TRY(parse_path(json_array_get(paths, i), &out->paths[i]));
	return nw_report_paths_order(out);
}

static enum nw_report_reject parse_payload(const json_t *root, struct nw_report *out)
{
	const json_t *servers, *paths;
	json_int_t v;
	size_t n;

	if (!json_is_object(root))
		return NW_REJ_TYPE;
	TRY(get_int(root, "v", NW_REPORT_VERSION, NW_REPORT_VERSION, &v));
	TRY(get_int(root, "rack_id", 0, NW_REPORT_MAX_RACK, &v));
	out->rack_id = (uint32_t)v;
	TRY(get_int(root, "boot_ns", 0, INT64_MAX, &v));
	out->boot_ns = (uint64_t)v;
	TRY(get_int(root, "seq", 1, INT64_MAX, &v));
	out->seq = (uint64_t)v;
	TRY(get_int(root, "time_ns", 0, INT64_MAX, &v));
	out->time_ns = (uint64_t)v;
	TRY(get_num(root, "interval_s", interval_ok, 0, &out->interval_s));
	TRY(get_num(root, "rack_score", unit_ok, 0, &out->rack_score));
	servers = json_object_get(root, "servers");
	if (!json_is_array(servers))
		return NW_REJ_TYPE;
	paths = json_object_get(root, "paths_in");
	if (paths && !json_is_array(paths))
		return NW_REJ_TYPE;
	n = json_array_size(servers);
	/* Before any allocation: a hostile count never sizes our memory. */
	if (n > NW_REPORT_MAX_SERVERS)
		return NW_REJ_TOO_MANY_SERVERS;
	if (n == 0)
		return parse_paths(paths, out);
	out->servers = calloc(n, sizeof(*out->servers));
	if (!out->servers)
		return NW_REJ_TOO_LARGE; /* no memory for it: as good as too large */
	out->nservers = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		TRY(parse_server(json_array_get(servers, i), &out->servers[i]));
	/* Sorted in place to find a repeated id without a second allocation;
	 * the DC gets the servers in id order (and can bsearch them). */
	qsort(out->servers, n, sizeof(*out->servers), cmp_server);
	for (size_t i = 1; i < n; i++)
		if (out->servers[i].id == out->servers[i - 1].id)
			return NW_REJ_RANGE;
	return parse_paths(paths, out);
}

static enum nw_report_reject json_reject(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_duplicate_key:
		return NW_REJ_DUPLICATE_KEY;
	case json_error_numeric_overflow:
		return NW_REJ_RANGE;
	default:
		return NW_REJ_JSON;
	}
}

enum nw_report_reject nw_report_parse_ref(const uint8_t *frame, size_t len,
					  const struct nw_keys *keys, struct nw_report *out)
{
	enum nw_report_reject rej;
	size_t frame_len, plen;
	json_error_t jerr;
	json_t *root;
	int has_mac;

	memset(out, 0, sizeof(*out));
	if (len < NW_REPORT_HDR_LEN)
		return NW_REJ_TRUNCATED;
	rej = nw_report_frame_header(frame, &frame_len);
	if (rej != NW_REJ_OK)
		return rej;
	if (len != frame_len)
		return NW_REJ_TRUNCATED;
	has_mac = (frame[4] & NW_REPORT_MAC_FLAGS) != 0;
	plen = frame_len - NW_REPORT_HDR_LEN - nw_report_mac_len(frame[4]);
	/* Authenticate before parsing: without the key nobody gets jansson to
	 * look at a byte of the payload. The MAC is the product's (report_mac.c):
	 * this reference is for the JSON. */
	if (keys && keys->present) {
		if (!has_mac || !nw_report_mac_verify(frame[4], frame, NW_REPORT_HDR_LEN + plen,
						      frame + NW_REPORT_HDR_LEN + plen, keys))
			return NW_REJ_AUTH;
		out->authenticated = 1;
	}
	if (!within_budget(frame + NW_REPORT_HDR_LEN, plen))
		return NW_REJ_TOO_LARGE;
	root = json_loadb((const char *)frame + NW_REPORT_HDR_LEN, plen, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!root) {
		rej = json_reject(&jerr);
	} else {
		rej = parse_payload(root, out);
		json_decref(root);
	}
	if (rej != NW_REJ_OK) {
		int auth = out->authenticated;

		nw_report_free(out);
		out->authenticated = auth;
	}
	return rej;
}
