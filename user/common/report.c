// SPDX-License-Identifier: MIT
/*
 * Rack -> DC report frames (report.h). The payload is built and read with
 * jansson only; the MAC is libsodium's HMAC-SHA-256. The encoder refuses
 * every value the parser would refuse, so a rack never sends a report the
 * DC must reject for its content.
 *
 * JSON integers are signed 64-bit in jansson (json_int_t): boot_ns, seq and
 * time_ns above INT64_MAX cannot be written and are out of range when read
 * (they would not fit before the year 2262 in nanoseconds anyway).
 */
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* 9 significant digits: far finer than any health figure is measured, and
 * a 16384-server report stays well under NW_REPORT_MAX_PAYLOAD. Rounding to
 * 9 digits never leaves a range whose bounds are 0, 1, 400 or 3600. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

static const char *const reject_names[NW_REJ__COUNT] = {
	[NW_REJ_OK] = "ok",
	[NW_REJ_BAD_FRAME] = "bad_frame",
	[NW_REJ_TOO_LARGE] = "too_large",
	[NW_REJ_TRUNCATED] = "truncated",
	[NW_REJ_JSON] = "json",
	[NW_REJ_DUPLICATE_KEY] = "duplicate_key",
	[NW_REJ_TYPE] = "type",
	[NW_REJ_RANGE] = "range",
	[NW_REJ_TOO_MANY_SERVERS] = "too_many_servers",
	[NW_REJ_AUTH] = "auth",
	[NW_REJ_REPLAY] = "replay",
	[NW_REJ_RACK_CLAIMED] = "rack_claimed",
};

const char *nw_report_reject_name(enum nw_report_reject r)
{
	return (unsigned)r < NW_REJ__COUNT ? reject_names[r] : "unknown";
}

int nw_report_is_newer(uint64_t last_boot_ns, uint64_t last_seq, uint64_t boot_ns, uint64_t seq)
{
	return boot_ns > last_boot_ns || (boot_ns == last_boot_ns && seq > last_seq);
}

/* ------------------------------------------------------------ ranges */

/* One place for every range, shared by encoder and parser so they cannot
 * drift apart. NaN fails every comparison, hence the positive forms. */
static int unit_ok(double x)
{
	return x >= 0.0 && x <= 1.0;
}

static int interval_ok(double x)
{
	return x > 0.0 && x <= NW_REPORT_MAX_INTERVAL_S;
}

static int jitter_ok(double x)
{
	return x >= 0.0 && x <= 3600.0;
}

static int snr_ok(double x)
{
	return x >= -NW_REPORT_SNR_LIMIT_DB && x <= NW_REPORT_SNR_LIMIT_DB;
}

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

/* ------------------------------------------------------------ encode */

static int values_ok(const struct nw_report *r)
{
	if (r->rack_id > NW_REPORT_MAX_RACK || r->seq < 1 || r->boot_ns > INT64_MAX ||
	    r->seq > INT64_MAX || r->time_ns > INT64_MAX || !interval_ok(r->interval_s) ||
	    !unit_ok(r->rack_score) || r->nservers > NW_REPORT_MAX_SERVERS ||
	    (r->nservers && !r->servers))
		return 0;
	for (uint32_t i = 0; i < r->nservers; i++) {
		const struct nw_report_server *s = &r->servers[i];

		if ((unsigned)s->cls >= NW_HEALTH__COUNT ||
		    (isfinite(s->error) && !unit_ok(s->error)) ||
		    (isfinite(s->snr_db) && !snr_ok(s->snr_db)) || !unit_ok(s->loss_ratio) ||
		    !jitter_ok(s->jitter_s))
			return 0;
	}
	return 1;
}

/* The parser refuses a report naming a server twice; checking that here
 * costs a sorted copy of the ids (64 KiB at most), on the rack's side. */
static int ids_unique(const struct nw_report *r)
{
	uint32_t *ids;
	int ok = 1;

	if (r->nservers < 2)
		return 1;
	ids = malloc(r->nservers * sizeof(*ids));
	if (!ids)
		return 0;
	for (uint32_t i = 0; i < r->nservers; i++)
		ids[i] = r->servers[i].id;
	qsort(ids, r->nservers, sizeof(*ids), cmp_u32);
	for (uint32_t i = 1; i < r->nservers && ok; i++)
		ok = ids[i] != ids[i - 1];
	free(ids);
	return ok;
}

/* json_object_set_new drops `v` on failure and fails on v == NULL, so a
 * failed constructor needs no separate check. */
static int set(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v) ? -1 : 0;
}

static json_t *real_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *server_json(const struct nw_report_server *s)
{
	json_t *o = json_object();
	int err = 0;

	if (!o)
		return NULL;
	err |= set(o, "id", json_integer(s->id));
	err |= set(o, "class", json_string(nw_health_name(s->cls)));
	err |= set(o, "error", real_or_null(s->error));
	err |= set(o, "snr_db", real_or_null(s->snr_db));
	err |= set(o, "loss_ratio", json_real(s->loss_ratio));
	err |= set(o, "jitter_s", json_real(s->jitter_s));
	err |= set(o, "up", json_boolean(s->up));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *report_json(const struct nw_report *r)
{
	json_t *o = json_object(), *arr = json_array();
	int err = !o || !arr;

	if (!err) {
		err |= set(o, "v", json_integer(NW_REPORT_VERSION));
		err |= set(o, "rack_id", json_integer(r->rack_id));
		err |= set(o, "boot_ns", json_integer((json_int_t)r->boot_ns));
		err |= set(o, "seq", json_integer((json_int_t)r->seq));
		err |= set(o, "time_ns", json_integer((json_int_t)r->time_ns));
		err |= set(o, "interval_s", json_real(r->interval_s));
		err |= set(o, "rack_score", json_real(r->rack_score));
	}
	for (uint32_t i = 0; !err && i < r->nservers; i++)
		err |= json_array_append_new(arr, server_json(&r->servers[i])) ? -1 : 0;
	if (!err) {
		err |= set(o, "servers", arr);
		arr = NULL; /* owned by o now, even on failure */
	}
	json_decref(arr);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct nw_buf *out = data;

	nw_buf_put(out, buf, size);
	return out->failed ? -1 : 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int nw_report_encode(const struct nw_report *r, const struct nw_keys *keys, struct nw_buf *out)
{
	static const uint8_t zero_hdr[NW_REPORT_HDR_LEN];
	uint8_t *hdr;
	json_t *root;
	size_t plen;
	int rc;

	nw_buf_reset(out);
	if (!values_ok(r) || !ids_unique(r))
		return -1;
	root = report_json(r);
	if (!root)
		return -1;
	/* The payload is dumped straight after a placeholder header, so the
	 * frame is built in one buffer without a copy of the JSON text. */
	nw_buf_put(out, (const char *)zero_hdr, sizeof(zero_hdr));
	rc = out->failed ? -1 : json_dump_callback(root, dump_cb, out, DUMP_FLAGS);
	json_decref(root);
	if (rc || out->failed)
		return -1;
	plen = out->len - NW_REPORT_HDR_LEN;
	if (plen < 2 || plen > NW_REPORT_MAX_PAYLOAD ||
	    !within_budget((const uint8_t *)out->p + NW_REPORT_HDR_LEN, plen))
		return -1;
	hdr = (uint8_t *)out->p;
	memcpy(hdr, "NWR", 3);
	hdr[3] = NW_REPORT_VERSION;
	hdr[4] = keys && keys->present ? NW_REPORT_FLAG_MAC : 0;
	put_be32(hdr + 8, (uint32_t)plen);
	if (keys && keys->present) {
		uint8_t mac[NW_REPORT_MAC_LEN];

		crypto_auth_hmacsha256(mac, (const uint8_t *)out->p, out->len, keys->report);
		nw_buf_put(out, (const char *)mac, sizeof(mac));
		if (out->failed)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ parse */

enum nw_report_reject nw_report_frame_header(const uint8_t hdr[NW_REPORT_HDR_LEN],
					     size_t *frame_len)
{
	uint32_t plen;

	if (memcmp(hdr, "NWR", 3) || hdr[3] != NW_REPORT_VERSION ||
	    (hdr[4] & ~NW_REPORT_FLAG_MAC) || hdr[5] || hdr[6] || hdr[7])
		return NW_REJ_BAD_FRAME;
	plen = (uint32_t)hdr[8] << 24 | (uint32_t)hdr[9] << 16 | (uint32_t)hdr[10] << 8 | hdr[11];
	if (plen < 2 || plen > NW_REPORT_MAX_PAYLOAD)
		return NW_REJ_TOO_LARGE;
	*frame_len = NW_REPORT_HDR_LEN + plen +
		     ((hdr[4] & NW_REPORT_FLAG_MAC) ? NW_REPORT_MAC_LEN : 0);
	return NW_REJ_OK;
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
	return NW_REJ_OK;
}

static enum nw_report_reject parse_payload(const json_t *root, struct nw_report *out)
{
	const json_t *servers;
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
	n = json_array_size(servers);
	/* Before any allocation: a hostile count never sizes our memory. */
	if (n > NW_REPORT_MAX_SERVERS)
		return NW_REJ_TOO_MANY_SERVERS;
	if (n == 0)
		return NW_REJ_OK;
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
	return NW_REJ_OK;
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

enum nw_report_reject nw_report_parse(const uint8_t *frame, size_t len, const struct nw_keys *keys,
				      struct nw_report *out)
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
	has_mac = (frame[4] & NW_REPORT_FLAG_MAC) != 0;
	plen = frame_len - NW_REPORT_HDR_LEN - (has_mac ? NW_REPORT_MAC_LEN : 0);
	/* Authenticate before parsing: without the key nobody gets jansson to
	 * look at a byte of the payload. */
	if (keys && keys->present) {
		if (!has_mac ||
		    crypto_auth_hmacsha256_verify(frame + NW_REPORT_HDR_LEN + plen, frame,
						  NW_REPORT_HDR_LEN + plen, keys->report))
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

void nw_report_free(struct nw_report *r)
{
	free(r->servers);
	memset(r, 0, sizeof(*r));
}
