// SPDX-License-Identifier: MIT
/*
 * Rack -> DC report frames (report.h). The payload is built and read with
 * jansson only; the MAC trailer is report_mac.c's. The encoder refuses
 * every value the parser would refuse, so a rack never sends a report the
 * DC must reject for its content.
 *
 * JSON integers are signed 64-bit in jansson (json_int_t): boot_ns, seq and
 * time_ns above INT64_MAX cannot be written and are out of range when read
 * (they would not fit before the year 2262 in nanoseconds anyway).
 */
#include "report.h"
#include "report_ranges.h"

#include <jansson.h>
#include <math.h>
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
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

static int cmp_path(const void *a, const void *b)
{
	return cmp_u32(&((const struct nw_report_path *)a)->src_rack,
		       &((const struct nw_report_path *)b)->src_rack);
}

enum nw_report_reject nw_report_paths_order(struct nw_report *r)
{
	for (uint32_t i = 1; i < r->npaths; i++)
		if (r->paths[i].src_rack <= r->paths[i - 1].src_rack) {
			qsort(r->paths, r->npaths, sizeof(*r->paths), cmp_path);
			break;
		}
	for (uint32_t i = 0; i < r->npaths; i++)
		if (r->paths[i].src_rack == r->rack_id ||
		    (i && r->paths[i].src_rack == r->paths[i - 1].src_rack))
			return NW_REJ_RANGE;
	return NW_REJ_OK;
}

/* ------------------------------------------------------------ encode */

/* NAN or 0 (a zero-initialised summary): no period to write. */
static int has_period(double x)
{
	return isfinite(x) && x != 0.0;
}

/* The rows the parser accepts: in range, src_rack unique and not the
 * reporting rack (sorted by the rack, as report.h asks, so a neighbour
 * compare finds a repeat). */
static int paths_ok(const struct nw_report *r)
{
	if (r->npaths > NW_REPORT_MAX_PATHS || (r->npaths && !r->paths))
		return 0;
	for (uint32_t i = 0; i < r->npaths; i++) {
		const struct nw_report_path *p = &r->paths[i];

		if (p->src_rack > NW_REPORT_MAX_RACK || p->src_rack == r->rack_id ||
		    (i && p->src_rack <= r->paths[i - 1].src_rack) ||
		    (unsigned)p->cls >= NW_HEALTH__COUNT ||
		    (isfinite(p->error) && !nw_report_unit_ok(p->error)) ||
		    !nw_report_unit_ok(p->loss_ratio) ||
		    (isfinite(p->latency_p50_s) && !nw_report_latency_ok(p->latency_p50_s * 1e3)) ||
		    (isfinite(p->latency_p99_s) && !nw_report_latency_ok(p->latency_p99_s * 1e3)) ||
		    (has_period(p->period_s) && !nw_report_period_ok(p->period_s)) ||
		    p->mesh_epoch > NW_REPORT_MAX_RACK || p->since_ns > INT64_MAX)
			return 0;
	}
	return 1;
}

static int values_ok(const struct nw_report *r)
{
	if (r->rack_id > NW_REPORT_MAX_RACK || r->seq < 1 || r->boot_ns > INT64_MAX ||
	    r->seq > INT64_MAX || r->time_ns > INT64_MAX || !nw_report_interval_ok(r->interval_s) ||
	    !nw_report_unit_ok(r->rack_score) || r->nservers > NW_REPORT_MAX_SERVERS ||
	    (r->nservers && !r->servers))
		return 0;
	for (uint32_t i = 0; i < r->nservers; i++) {
		const struct nw_report_server *s = &r->servers[i];

		if ((unsigned)s->cls >= NW_HEALTH__COUNT ||
		    (isfinite(s->error) && !nw_report_unit_ok(s->error)) ||
		    (isfinite(s->snr_db) && !nw_report_snr_ok(s->snr_db)) ||
		    !nw_report_unit_ok(s->loss_ratio) || !nw_report_jitter_ok(s->jitter_s) ||
		    s->since_ns > INT64_MAX ||
		    (has_period(s->period_s) && !nw_report_period_ok(s->period_s)))
			return 0;
	}
	return paths_ok(r);
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
	/* Optional (issue 16): only when there is something to say, so a
	 * healthy server's summary is as long as before. */
	if (s->since_ns)
		err |= set(o, "since_ns", json_integer((json_int_t)s->since_ns));
	if (has_period(s->period_s))
		err |= set(o, "period_s", json_real(s->period_s));
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *path_json(const struct nw_report_path *p)
{
	json_t *o = json_object(), *lat = NULL;
	int err = !o;

	if (!err && (isfinite(p->latency_p50_s) || isfinite(p->latency_p99_s))) {
		lat = json_object();
		err |= !lat;
		if (lat) {
			err |= set(lat, "p50", real_or_null(p->latency_p50_s * 1e3));
			err |= set(lat, "p99", real_or_null(p->latency_p99_s * 1e3));
		}
	}
	if (!err) {
		err |= set(o, "src_rack", json_integer(p->src_rack));
		err |= set(o, "class", json_string(nw_health_name(p->cls)));
		err |= set(o, "error", real_or_null(p->error));
		err |= set(o, "loss_ratio", json_real(p->loss_ratio));
		err |= set(o, "latency_ms", lat ? lat : json_null());
		lat = NULL; /* owned by o now, even on failure */
		err |= set(o, "period_s",
			   has_period(p->period_s) ? json_real(p->period_s) : json_null());
		err |= set(o, "mesh_epoch", json_integer(p->mesh_epoch));
		err |= set(o, "since_ns", json_integer((json_int_t)p->since_ns));
	}
	json_decref(lat);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "paths_in" only when the rack has rows: a rack without --fabric sends
 * what it sent before. */
static int add_paths(json_t *o, const struct nw_report *r)
{
	json_t *arr;
	int err = 0;

	if (!r->npaths)
		return 0;
	arr = json_array();
	if (!arr)
		return -1;
	for (uint32_t i = 0; !err && i < r->npaths; i++)
		err |= json_array_append_new(arr, path_json(&r->paths[i])) ? -1 : 0;
	if (err) {
		json_decref(arr);
		return -1;
	}
	return set(o, "paths_in", arr);
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
	if (!err)
		err |= add_paths(o, r);
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
	hdr[4] = keys && keys->present ? NW_REPORT_MAC_WRITTEN : 0;
	put_be32(hdr + 8, (uint32_t)plen);
	if (keys && keys->present)
		return nw_report_mac_append(out, NW_REPORT_MAC_WRITTEN, keys);
	return 0;
}

/* ------------------------------------------------------------ parse */

enum nw_report_reject nw_report_frame_header(const uint8_t hdr[NW_REPORT_HDR_LEN],
					     size_t *frame_len)
{
	uint32_t plen;

	if (memcmp(hdr, "NWR", 3) || hdr[3] != NW_REPORT_VERSION ||
	    !nw_report_mac_flags_ok(hdr[4]) || hdr[5] || hdr[6] || hdr[7])
		return NW_REJ_BAD_FRAME;
	plen = (uint32_t)hdr[8] << 24 | (uint32_t)hdr[9] << 16 | (uint32_t)hdr[10] << 8 | hdr[11];
	if (plen < 2 || plen > NW_REPORT_MAX_PAYLOAD)
		return NW_REJ_TOO_LARGE;
	*frame_len = NW_REPORT_HDR_LEN + plen + nw_report_mac_len(hdr[4]);
	return NW_REJ_OK;
}

void nw_report_free(struct nw_report *r)
{
	free(r->servers);
	free(r->paths);
	memset(r, 0, sizeof(*r));
}
