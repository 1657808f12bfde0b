// SPDX-License-Identifier: MIT
/*
 * The DC's reading of a report frame (report.h): MAC first, then the JSON
 * payload streamed through yajl's callbacks straight into struct nw_report.
 * No document tree is built: jansson's DOM cost ~3 us per server summary
 * (allocating, hashing and freeing every key and value), which capped one DC
 * core near 8000 racks; this reads a 40-server report in a few us
 * (`make bench`, bench_report).
 *
 * It gives the verdicts the jansson DOM parser gave (kept as the reference
 * in tests/lib/report_ref.c; the fuzzer and the unit tests compare the two):
 * the first syntax error, duplicate key or numeric overflow in document
 * order wins; otherwise the fields are checked in the order the reference
 * checks them (v, rack_id, boot_ns, seq, time_ns, interval_s, rack_score,
 * servers; per server id, class, error, snr_db, loss_ratio, jitter_s, up).
 * To match jansson where yajl is laxer, a pre-scan (which also counts the
 * byte budget) refuses invalid UTF-8, \u0000 and unpaired UTF-16 surrogate
 * escapes as NW_REJ_JSON, and nesting deeper than jansson's 2048 is
 * refused as JSON too. Two differences are by design: at most
 * NW_REPORT_MAX_UNKNOWN_KEYS keys the DC does not know per report (they are
 * remembered to find duplicates), beyond that NW_REJ_TOO_LARGE; and a raw
 * NUL byte, which jansson skips (its reader takes it for the end of its
 * look-ahead), is NW_REJ_JSON here, as JSON has it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "report.h"
#include "report_ranges.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_DEFAULT_MAX_DEPTH */
#define UNKNOWN_SLOTS (2U * NW_REPORT_MAX_UNKNOWN_KEYS)

/* ------------------------------------------------------------ pre-scan */

static int utf8_seq_ok(const uint8_t *p, size_t n, size_t *used)
{
	uint32_t c = p[0], cp;
	size_t len;

	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	/* overlong, surrogate, beyond U+10FFFF: what jansson refuses */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*used = len;
	return 1;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

/* The UTF-8 and escape checks, for a payload with a backslash or a byte
 * above 0x7F (a rack's report has neither). 1 ok, 0 bad. */
static int strings_ok(const uint8_t *p, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 0x80) {
			size_t used;

			if (!utf8_seq_ok(p + i, n - i, &used))
				return 0;
			i += used - 1;
		} else if (c == '"') {
			in_str = !in_str;
		} else if (c == '\\' && in_str && i + 1 < n) {
			uint32_t u, lo;

			if (p[i + 1] != 'u') {
				i++; /* the escaped byte is no quote of ours */
				continue;
			}
			if (i + 6 > n || !hex4(p + i + 2, &u))
				continue; /* malformed: yajl says so */
			if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF))
				return 0;
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (i + 12 > n || p[i + 6] != '\\' || p[i + 7] != 'u' ||
				    !hex4(p + i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
					return 0;
				i += 6;
			}
			i += 5;
		}
	}
	return 1;
}

/* A byte above 0x7F or a backslash anywhere: something for strings_ok. */
static int needs_string_checks(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		acc |= w;
	}
	for (; i < n; i++)
		acc |= p[i];
	return (acc & 0x8080808080808080ULL) || memchr(p, '\\', n);
}

/* The byte budget (report.h: every value a DOM parser would allocate
 * follows one of these bytes, counted anywhere, in strings too, as v1
 * always did), then the UTF-8 and \u escapes jansson refuses and yajl
 * would let through. Anything else malformed is left to yajl. A payload
 * shorter than the smaller budget cannot exceed either, so a rack's usual
 * report is not counted at all (the count was a quarter of the parse), and
 * the string checks run only when there is something to check.
 * NW_REJ_OK, TOO_LARGE or JSON. */
static enum nw_report_reject prescan(const uint8_t *p, size_t n)
{
	_Static_assert(NW_REPORT_MAX_CONTAINERS <= NW_REPORT_MAX_SEPARATORS,
		       "the shortcut below needs the smaller budget first");
	if (n > NW_REPORT_MAX_CONTAINERS) {
		size_t containers = 0, separators = 0;

		for (size_t i = 0; i < n; i++) {
			uint8_t c = p[i];

			containers += (c == '{') | (c == '[');
			separators += (c == ',') | (c == ':');
		}
		if (containers > NW_REPORT_MAX_CONTAINERS || separators > NW_REPORT_MAX_SEPARATORS)
			return NW_REJ_TOO_LARGE;
	}
	/* yajl takes \v and \f for whitespace, jansson (and JSON) do not; in a
	 * string they are unescaped control characters: refused either way. */
	if (memchr(p, '\v', n) || memchr(p, '\f', n))
		return NW_REJ_JSON;
	return needs_string_checks(p, n) && !strings_ok(p, n) ? NW_REJ_JSON : NW_REJ_OK;
}

/* ------------------------------------------------------------ numbers */

static const double pow10_exact[23] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
					1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
					1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* A JSON number token (yajl checked its grammar) as jansson reads it: an
 * integer unless it has a fraction or exponent, out of int64 is overflow;
 * a real by strtod, +-HUGE_VAL is overflow. Most reals take the exact
 * fast path: a mantissa below 2^53 and a power of ten up to 1e22 are both
 * exact doubles, so one IEEE multiply or divide rounds the true value
 * correctly, the same bits strtod gives (Clinger 1990). 0, or -1 overflow. */
static int read_number(const char *s, size_t len, int *is_int, int64_t *iv, double *dv)
{
	size_t i = 0;
	int neg = 0, digits = 0, frac = 0, exp10 = 0, exp_neg = 0, exp_digits = 0, slow = 0;
	uint64_t m = 0;

	if (i < len && s[i] == '-')
		neg = 1, i++;
	/* one pass: digits, then '.', 'e' or the end (yajl checked the grammar) */
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (digits >= 19) {
			slow = 1;
			continue;
		}
		if (m || s[i] != '0')
			digits++;
		m = m * 10 + (uint64_t)(s[i] - '0');
	}
	*is_int = i == len;
	if (*is_int) {
		uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

		if (slow || m > lim)
			return -1; /* 20 digits or more, or beyond int64: overflow */
		*iv = neg ? (int64_t)(0 - m) : (int64_t)m;
		*dv = (double)*iv;
		return 0;
	}
	if (s[i] == '.') {
		frac = 1;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (m == 0 && s[i] == '0') {
				exp10--; /* a leading zero: only the scale moves */
				continue;
			}
			if (digits >= 19) {
				slow = 1;
				continue;
			}
			m = m * 10 + (uint64_t)(s[i] - '0');
			digits++;
			exp10--;
		}
	}
	(void)frac;
	if (i < len) { /* 'e' or 'E' */
		int e = 0;

		i++;
		if (s[i] == '+' || s[i] == '-')
			exp_neg = s[i++] == '-';
		for (; i < len; i++) {
			if (++exp_digits > 5) {
				slow = 1;
				break;
			}
			e = e * 10 + (s[i] - '0');
		}
		exp10 += exp_neg ? -e : e;
	}
	if (!slow && m < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		double x = (double)m;

		x = exp10 < 0 ? x / pow10_exact[-exp10] : x * pow10_exact[exp10];
		*dv = neg ? -x : x;
		return 0;
	}
	{
		char small[64], *buf = len < sizeof(small) ? small : malloc(len + 1);

		if (!buf)
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		errno = 0;
		*dv = strtod(buf, NULL);
		if (buf != small)
			free(buf);
		if ((*dv == HUGE_VAL || *dv == -HUGE_VAL) && errno == ERANGE)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the walk */

/* The fields, in the order the reference parser checks them. */
enum root_field {
	R_V,
	R_RACK,
	R_BOOT,
	R_SEQ,
	R_TIME,
	R_INTERVAL,
	R_SCORE,
	R_SERVERS,
	R_PATHS,
	R__N
};
enum srv_field { S_ID, S_CLASS, S_ERROR, S_SNR, S_LOSS, S_JITTER, S_UP, S_SINCE, S_PERIOD, S__N };
/* A "paths_in" row and its "latency_ms" object (issue 16, optional). */
enum path_field { P_SRC, P_CLASS, P_ERROR, P_LOSS, P_LAT, P_PERIOD, P_EPOCH, P_SINCE, P__N };
enum lat_field { L_P50, L_P99, L__N };
/* Optional keys: their verdict is OK until a present value says otherwise. */
#define ROOT_OPTIONAL (1U << R_PATHS)
#define SRV_OPTIONAL (1U << S_SINCE | 1U << S_PERIOD)

static const char *const path_keys[P__N] = { "src_rack",   "class",    "error",      "loss_ratio",
					     "latency_ms", "period_s", "mesh_epoch", "since_ns" };
static const uint8_t path_lens[P__N] = { 8, 5, 5, 10, 10, 8, 10, 8 };
static const char *const lat_keys[L__N] = { "p50", "p99" };
static const uint8_t lat_lens[L__N] = { 3, 3 };

static const char *const root_keys[R__N] = { "v",          "rack_id", "boot_ns",
					     "seq",        "time_ns", "interval_s",
					     "rack_score", "servers", "paths_in" };
static const char *const srv_keys[S__N] = { "id",     "class",      "error",
					    "snr_db", "loss_ratio", "jitter_s",
					    "up",     "since_ns",   "period_s" };
static const uint8_t root_lens[R__N] = { 1, 7, 7, 3, 7, 10, 10, 7, 8 };
static const uint8_t srv_lens[S__N] = { 2, 5, 5, 6, 10, 8, 2, 8, 8 };

/* What the container at a depth is. */
enum frame_kind { F_IGNORED = 0, F_ROOT, F_SERVERS, F_SERVER, F_PATHS, F_PATH, F_LAT };
#define KNOWN_DEPTH 4 /* root, array, element, a path's latency_ms */

struct unknown_key {
	uint64_t hash;
	uint32_t obj; /* 0: free slot */
	uint32_t len;
};

struct walk {
	enum nw_report_reject fatal; /* syntax-level: ends the walk */
	int depth;                   /* open containers */
	int root_is_object;
	enum frame_kind kind[KNOWN_DEPTH + 1]; /* of depths 1..4; deeper is ignored */
	uint32_t obj_seq;                      /* objects opened so far: ids for duplicate keys */
	uint32_t obj_id[MAX_DEPTH + 2];
	int pending; /* the known field the next value is for; -1 none */
	/* root */
	uint32_t root_seen;
	enum nw_report_reject root_rej[R__N];
	struct nw_report *out;
	size_t nservers; /* elements of "servers" seen (stored up to the limit) */
	size_t cap;
	enum nw_report_reject first_server_rej;
	/* the server object being read */
	uint32_t srv_seen;
	enum nw_report_reject srv_rej[S__N];
	struct nw_report_server srv;
	/* "paths_in": the same, per row, and the row's latency object */
	size_t npaths, pcap;
	enum nw_report_reject first_path_rej;
	uint32_t path_seen, lat_seen;
	enum nw_report_reject path_rej[P__N], lat_rej[L__N];
	struct nw_report_path path;
	/* keys we do not know, for duplicates: open addressing, lazily made */
	struct unknown_key *unknown;
	uint32_t nunknown;
};

static uint64_t fnv1a(const unsigned char *p, size_t n, uint32_t obj)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ obj;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* 1 new, 0 a duplicate, -1 over the limit or out of memory. */
static int remember_unknown(struct walk *w, const unsigned char *k, size_t n)
{
	uint32_t obj = w->obj_id[w->depth];
	uint64_t h = fnv1a(k, n, obj);
	uint32_t i;

	if (!w->unknown) {
		w->unknown = calloc(UNKNOWN_SLOTS, sizeof(*w->unknown));
		if (!w->unknown)
			return -1;
	}
	for (i = (uint32_t)h & (UNKNOWN_SLOTS - 1); w->unknown[i].obj;
	     i = (i + 1) & (UNKNOWN_SLOTS - 1))
		if (w->unknown[i].obj == obj && w->unknown[i].hash == h &&
		    w->unknown[i].len == (uint32_t)n)
			return 0;
	if (w->nunknown >= NW_REPORT_MAX_UNKNOWN_KEYS)
		return -1;
	w->nunknown++;
	w->unknown[i] = (struct unknown_key){ .hash = h, .obj = obj, .len = (uint32_t)n };
	return 1;
}

static enum frame_kind cur_kind(const struct walk *w)
{
	return w->depth >= 1 && w->depth <= KNOWN_DEPTH ? w->kind[w->depth] : F_IGNORED;
}

static int fail(struct walk *w, enum nw_report_reject why)
{
	w->fatal = why;
	return 0; /* yajl: stop */
}

/* Where a value goes: a root field, a server field, a server (an element of
 * "servers"), or nowhere. */
enum slot {
	SLOT_NONE,
	SLOT_ROOT,
	SLOT_SRV_FIELD,
	SLOT_SERVER,
	SLOT_PATH_FIELD,
	SLOT_PATH,
	SLOT_LAT_FIELD
};

static enum slot value_slot(const struct walk *w)
{
	switch (cur_kind(w)) {
	case F_ROOT:
		return w->pending >= 0 ? SLOT_ROOT : SLOT_NONE;
	case F_SERVER:
		return w->pending >= 0 ? SLOT_SRV_FIELD : SLOT_NONE;
	case F_SERVERS:
		return SLOT_SERVER;
	case F_PATH:
		return w->pending >= 0 ? SLOT_PATH_FIELD : SLOT_NONE;
	case F_PATHS:
		return SLOT_PATH;
	case F_LAT:
		return w->pending >= 0 ? SLOT_LAT_FIELD : SLOT_NONE;
	default:
		return SLOT_NONE;
	}
}

/* One element of an array (servers or paths_in) read with verdict `rej`:
 * the first refusal is remembered, an accepted one copied to slot n of
 * *arr (grown by doubling up to `max`). Elements past `max`, or after a
 * refusal, are counted, not kept. */
static void element_done(void **arr, size_t *n, size_t *cap, size_t max, size_t size,
			 const void *elem, enum nw_report_reject rej, enum nw_report_reject *first)
{
	size_t i = (*n)++;

	if (rej != NW_REJ_OK) {
		if (*first == NW_REJ_OK)
			*first = rej;
		return;
	}
	if (i >= max || *first != NW_REJ_OK)
		return; /* refused anyway: nothing more to keep */
	if (i == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		void *p;

		c = c < max ? c : max;
		p = realloc(*arr, c * size);
		if (!p) {
			*first = NW_REJ_TOO_LARGE; /* no memory: as good as too large */
			return;
		}
		*arr = p;
		*cap = c;
	}
	memcpy((char *)*arr + i * size, elem, size);
}

/* A server element that is not an object: TYPE for that element. */
static void server_done(struct walk *w, enum nw_report_reject rej)
{
	void *arr = w->out->servers;

	element_done(&arr, &w->nservers, &w->cap, NW_REPORT_MAX_SERVERS, sizeof(w->srv), &w->srv,
		     rej, &w->first_server_rej);
	w->out->servers = arr;
}

static void path_done(struct walk *w, enum nw_report_reject rej)
{
	void *arr = w->out->paths;

	element_done(&arr, &w->npaths, &w->pcap, NW_REPORT_MAX_PATHS, sizeof(w->path), &w->path,
		     rej, &w->first_path_rej);
	w->out->paths = arr;
}

/* A scalar (or the start of a container: `kind` says which) for a known
 * field. Integer fields want a JSON integer, number fields any number,
 * nullable ones accept null (NAN). */
enum vkind { V_NULL, V_BOOL, V_INT, V_REAL, V_STRING, V_CONTAINER };

struct value {
	enum vkind kind;
	int b;
	int64_t i;
	double d;
	const unsigned char *s;
	size_t len;
};

static enum nw_report_reject int_in(const struct value *v, int64_t lo, int64_t hi, int64_t *out)
{
	if (v->kind != V_INT)
		return NW_REJ_TYPE;
	*out = v->i;
	return v->i >= lo && v->i <= hi ? NW_REJ_OK : NW_REJ_RANGE;
}

static enum nw_report_reject num_in(const struct value *v, int (*ok)(double), int nullable,
				    double *out)
{
	if (nullable && v->kind == V_NULL) {
		*out = NAN;
		return NW_REJ_OK;
	}
	if (v->kind != V_INT && v->kind != V_REAL)
		return NW_REJ_TYPE;
	*out = v->d;
	return ok(v->d) ? NW_REJ_OK : NW_REJ_RANGE;
}

static void root_value(struct walk *w, int f, const struct value *v)
{
	struct nw_report *r = w->out;
	enum nw_report_reject *rej = &w->root_rej[f];
	int64_t x = 0;

	switch (f) {
	case R_V:
		*rej = int_in(v, NW_REPORT_VERSION, NW_REPORT_VERSION, &x);
		break;
	case R_RACK:
		*rej = int_in(v, 0, NW_REPORT_MAX_RACK, &x);
		r->rack_id = (uint32_t)x;
		break;
	case R_BOOT:
		*rej = int_in(v, 0, INT64_MAX, &x);
		r->boot_ns = (uint64_t)x;
		break;
	case R_SEQ:
		*rej = int_in(v, 1, INT64_MAX, &x);
		r->seq = (uint64_t)x;
		break;
	case R_TIME:
		*rej = int_in(v, 0, INT64_MAX, &x);
		r->time_ns = (uint64_t)x;
		break;
	case R_INTERVAL:
		*rej = num_in(v, nw_report_interval_ok, 0, &r->interval_s);
		break;
	case R_SCORE:
		*rej = num_in(v, nw_report_unit_ok, 0, &r->rack_score);
		break;
	default: /* R_SERVERS, R_PATHS: an array is entered in on_start_array */
		*rej = NW_REJ_TYPE;
		break;
	}
}

/* A class name: a string naming an enum nw_health. */
static enum nw_report_reject class_in(const struct value *v, enum nw_health *out)
{
	char name[16];

	if (v->kind != V_STRING)
		return NW_REJ_TYPE;
	if (v->len >= sizeof(name))
		return NW_REJ_RANGE;
	memcpy(name, v->s, v->len);
	name[v->len] = '\0';
	return nw_health_parse(name, out) ? NW_REJ_RANGE : NW_REJ_OK;
}

static void srv_value(struct walk *w, int f, const struct value *v)
{
	struct nw_report_server *s = &w->srv;
	enum nw_report_reject *rej = &w->srv_rej[f];
	int64_t x = 0;

	switch (f) {
	case S_ID:
		*rej = int_in(v, 0, NW_REPORT_MAX_SERVER_ID, &x);
		s->id = (uint32_t)x;
		break;
	case S_CLASS:
		*rej = class_in(v, &s->cls);
		break;
	case S_ERROR:
		*rej = num_in(v, nw_report_unit_ok, 1, &s->error);
		break;
	case S_SNR:
		*rej = num_in(v, nw_report_snr_ok, 1, &s->snr_db);
		break;
	case S_LOSS:
		*rej = num_in(v, nw_report_unit_ok, 0, &s->loss_ratio);
		break;
	case S_JITTER:
		*rej = num_in(v, nw_report_jitter_ok, 0, &s->jitter_s);
		break;
	case S_UP:
		*rej = v->kind == V_BOOL ? NW_REJ_OK : NW_REJ_TYPE;
		s->up = v->b;
		break;
	case S_SINCE:
		*rej = int_in(v, 0, INT64_MAX, &x);
		s->since_ns = (uint64_t)x;
		break;
	default: /* S_PERIOD */
		*rej = num_in(v, nw_report_period_ok, 1, &s->period_s);
		break;
	}
}

static void path_value(struct walk *w, int f, const struct value *v)
{
	struct nw_report_path *p = &w->path;
	enum nw_report_reject *rej = &w->path_rej[f];
	int64_t x = 0;

	switch (f) {
	case P_SRC:
		*rej = int_in(v, 0, NW_REPORT_MAX_RACK, &x);
		p->src_rack = (uint32_t)x;
		break;
	case P_CLASS:
		*rej = class_in(v, &p->cls);
		break;
	case P_ERROR:
		*rej = num_in(v, nw_report_unit_ok, 1, &p->error);
		break;
	case P_LOSS:
		*rej = num_in(v, nw_report_unit_ok, 0, &p->loss_ratio);
		break;
	case P_LAT: /* an object is entered in on_start_map */
		*rej = v->kind == V_NULL ? NW_REJ_OK : NW_REJ_TYPE;
		p->latency_p50_s = p->latency_p99_s = NAN;
		break;
	case P_PERIOD:
		*rej = num_in(v, nw_report_period_ok, 1, &p->period_s);
		break;
	case P_EPOCH:
		*rej = int_in(v, 0, NW_REPORT_MAX_RACK, &x);
		p->mesh_epoch = (uint32_t)x;
		break;
	default: /* P_SINCE */
		*rej = int_in(v, 0, INT64_MAX, &x);
		p->since_ns = (uint64_t)x;
		break;
	}
}

/* latency_ms.p50 / .p99 in ms, null: unknown; kept in seconds. */
static void lat_value(struct walk *w, int f, const struct value *v)
{
	double ms = NAN;

	w->lat_rej[f] = num_in(v, nw_report_latency_ok, 1, &ms);
	*(f == L_P50 ? &w->path.latency_p50_s : &w->path.latency_p99_s) = ms / 1e3;
}

/* Every scalar and every container start passes here once. */
static int on_value(struct walk *w, const struct value *v)
{
	if (w->depth == 0 && v->kind != V_CONTAINER)
		return fail(w, NW_REJ_JSON); /* jansson: '[' or '{' expected */
	switch (value_slot(w)) {
	case SLOT_ROOT:
		root_value(w, w->pending, v);
		break;
	case SLOT_SRV_FIELD:
		srv_value(w, w->pending, v);
		break;
	case SLOT_SERVER:
		if (v->kind != V_CONTAINER)
			server_done(w, NW_REJ_TYPE);
		break; /* an object is a server: on_start_map; an array: TYPE there */
	case SLOT_PATH_FIELD:
		path_value(w, w->pending, v);
		break;
	case SLOT_PATH:
		if (v->kind != V_CONTAINER)
			path_done(w, NW_REJ_TYPE);
		break;
	case SLOT_LAT_FIELD:
		lat_value(w, w->pending, v);
		break;
	default:
		break;
	}
	w->pending = -1;
	return 1;
}

static int on_null(void *ctx)
{
	return on_value(ctx, &(struct value){ .kind = V_NULL });
}

static int on_bool(void *ctx, int b)
{
	return on_value(ctx, &(struct value){ .kind = V_BOOL, .b = !!b });
}

static int on_number(void *ctx, const char *s, size_t len)
{
	struct value v = { .kind = V_REAL };
	int is_int;

	if (read_number(s, len, &is_int, &v.i, &v.d))
		return fail(ctx, NW_REJ_RANGE); /* jansson: numeric overflow */
	v.kind = is_int ? V_INT : V_REAL;
	return on_value(ctx, &v);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	return on_value(ctx, &(struct value){ .kind = V_STRING, .s = s, .len = len });
}

/* A container opens at depth+1 with `kind`. */
static int open_container(struct walk *w, enum frame_kind kind, int is_object)
{
	if (w->depth >= MAX_DEPTH)
		return fail(w, NW_REJ_JSON); /* jansson: maximum parsing depth */
	w->depth++;
	w->obj_id[w->depth] = is_object ? ++w->obj_seq : 0;
	if (w->depth <= KNOWN_DEPTH)
		w->kind[w->depth] = kind;
	w->pending = -1;
	return 1;
}

static int on_start_map(void *ctx)
{
	struct walk *w = ctx;
	enum slot slot = value_slot(w);
	int pending = w->pending;

	if (w->depth == 0) {
		w->root_is_object = 1;
		return open_container(w, F_ROOT, 1);
	}
	if (slot == SLOT_SERVER) {
		w->srv_seen = 0;
		for (int f = 0; f < S__N; f++) /* missing until seen, unless optional */
			w->srv_rej[f] = (SRV_OPTIONAL >> f) & 1U ? NW_REJ_OK : NW_REJ_TYPE;
		memset(&w->srv, 0, sizeof(w->srv));
		w->srv.period_s = NAN;
		return open_container(w, F_SERVER, 1);
	}
	if (slot == SLOT_PATH) {
		w->path_seen = 0;
		for (int f = 0; f < P__N; f++)
			w->path_rej[f] = NW_REJ_TYPE;
		memset(&w->path, 0, sizeof(w->path));
		return open_container(w, F_PATH, 1);
	}
	if (slot == SLOT_PATH_FIELD && pending == P_LAT) {
		w->lat_seen = 0;
		w->lat_rej[L_P50] = w->lat_rej[L_P99] = NW_REJ_TYPE;
		return open_container(w, F_LAT, 1);
	}
	if (slot != SLOT_NONE && slot != SLOT_SERVER && slot != SLOT_PATH) {
		w->pending = pending;
		on_value(w, &(struct value){ .kind = V_CONTAINER });
	}
	return open_container(w, F_IGNORED, 1);
}

static int on_end_map(void *ctx)
{
	struct walk *w = ctx;

	if (cur_kind(w) == F_SERVER) {
		enum nw_report_reject rej = NW_REJ_OK;

		for (int f = 0; f < S__N && rej == NW_REJ_OK; f++)
			rej = w->srv_rej[f];
		w->depth--;
		server_done(w, rej);
		return 1;
	}
	if (cur_kind(w) == F_PATH) {
		enum nw_report_reject rej = NW_REJ_OK;

		for (int f = 0; f < P__N && rej == NW_REJ_OK; f++)
			rej = w->path_rej[f];
		w->depth--;
		path_done(w, rej);
		return 1;
	}
	if (cur_kind(w) == F_LAT)
		w->path_rej[P_LAT] = w->lat_rej[L_P50] != NW_REJ_OK ? w->lat_rej[L_P50]
								    : w->lat_rej[L_P99];
	w->depth--;
	return 1;
}

static int on_start_array(void *ctx)
{
	struct walk *w = ctx;
	enum slot slot = value_slot(w);

	if (w->depth == 0)
		return open_container(w, F_IGNORED, 0); /* an array: TYPE at the end */
	if (slot == SLOT_ROOT && (w->pending == R_SERVERS || w->pending == R_PATHS)) {
		w->root_rej[w->pending] = NW_REJ_OK;
		return open_container(w, w->pending == R_SERVERS ? F_SERVERS : F_PATHS, 0);
	}
	if (slot == SLOT_SERVER)
		server_done(w, NW_REJ_TYPE);
	else if (slot == SLOT_PATH)
		path_done(w, NW_REJ_TYPE);
	else if (slot != SLOT_NONE)
		on_value(w, &(struct value){ .kind = V_CONTAINER });
	return open_container(w, F_IGNORED, 0);
}

static int on_end_array(void *ctx)
{
	struct walk *w = ctx;

	w->depth--;
	return 1;
}

static int find_key(const char *const *keys, const uint8_t *lens, int n, const unsigned char *k,
		    size_t len)
{
	for (int i = 0; i < n; i++)
		if (lens[i] == len && !memcmp(keys[i], k, len))
			return i;
	return -1;
}

static int on_key(void *ctx, const unsigned char *k, size_t len)
{
	struct walk *w = ctx;
	enum frame_kind kind = cur_kind(w);
	int f = -1, rc;

	if (kind != F_IGNORED && kind != F_SERVERS && kind != F_PATHS) {
		uint32_t *seen = kind == F_ROOT     ? &w->root_seen
				 : kind == F_SERVER ? &w->srv_seen
				 : kind == F_PATH   ? &w->path_seen
						    : &w->lat_seen;

		f = kind == F_ROOT     ? find_key(root_keys, root_lens, R__N, k, len)
		    : kind == F_SERVER ? find_key(srv_keys, srv_lens, S__N, k, len)
		    : kind == F_PATH   ? find_key(path_keys, path_lens, P__N, k, len)
				       : find_key(lat_keys, lat_lens, L__N, k, len);
		if (f >= 0) {
			if (*seen & (1U << f))
				return fail(w, NW_REJ_DUPLICATE_KEY);
			*seen |= 1U << f;
			w->pending = f;
			return 1;
		}
	}
	w->pending = -1;
	rc = remember_unknown(w, k, len);
	if (rc < 0)
		return fail(w, NW_REJ_TOO_LARGE);
	return rc ? 1 : fail(w, NW_REJ_DUPLICATE_KEY);
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

static int cmp_server(const void *a, const void *b)
{
	uint32_t x = ((const struct nw_report_server *)a)->id,
		 y = ((const struct nw_report_server *)b)->id;

	return (x > y) - (x < y);
}

/* The paths_in rows once the servers passed: as many as allowed, each
 * valid, sorted by src_rack, none twice and none from the reporting rack
 * itself (a rack does not probe itself: a forged row, RANGE). */
static enum nw_report_reject paths_verdict(struct walk *w)
{
	struct nw_report *r = w->out;

	if (w->npaths > NW_REPORT_MAX_PATHS)
		return NW_REJ_TOO_LARGE;
	if (w->first_path_rej != NW_REJ_OK)
		return w->first_path_rej;
	r->npaths = (uint32_t)w->npaths;
	if (w->pcap > r->npaths && r->npaths) {
		struct nw_report_path *p = realloc(r->paths, r->npaths * sizeof(*r->paths));

		if (p)
			r->paths = p;
	}
	return nw_report_paths_order(r);
}

/* The verdict once the whole payload was read without a fatal error. */
static enum nw_report_reject verdict(struct walk *w)
{
	struct nw_report *r = w->out;

	if (!w->root_is_object)
		return NW_REJ_TYPE;
	for (int f = 0; f < R__N; f++)
		if (w->root_rej[f] != NW_REJ_OK)
			return w->root_rej[f];
	if (w->nservers > NW_REPORT_MAX_SERVERS)
		return NW_REJ_TOO_MANY_SERVERS;
	if (w->first_server_rej != NW_REJ_OK)
		return w->first_server_rej;
	r->nservers = (uint32_t)w->nservers;
	if (w->cap > r->nservers && r->nservers) {
		/* kept by the DC until the next report: no slack per rack */
		struct nw_report_server *p = realloc(r->servers, r->nservers * sizeof(*r->servers));

		if (p)
			r->servers = p;
	}
	if (r->nservers >= 2) {
		/* the DC gets the servers in id order (and can bsearch them) */
		for (uint32_t i = 1; i < r->nservers; i++)
			if (r->servers[i].id <= r->servers[i - 1].id) {
				qsort(r->servers, r->nservers, sizeof(*r->servers), cmp_server);
				break;
			}
		for (uint32_t i = 1; i < r->nservers; i++)
			if (r->servers[i].id == r->servers[i - 1].id)
				return NW_REJ_RANGE;
	}
	return paths_verdict(w);
}

static enum nw_report_reject walk_payload(const uint8_t *p, size_t n, struct nw_report *out)
{
	struct walk *w = malloc(sizeof(*w));
	enum nw_report_reject rej;
	yajl_handle h;
	yajl_status st;

	if (!w)
		return NW_REJ_TOO_LARGE;
	memset(w, 0, offsetof(struct walk, obj_id));
	memset(&w->pending, 0, sizeof(*w) - offsetof(struct walk, pending));
	w->pending = -1;
	w->out = out;
	for (int f = 0; f < R__N; f++)
		w->root_rej[f] = (ROOT_OPTIONAL >> f) & 1U ? NW_REJ_OK : NW_REJ_TYPE;
	h = yajl_alloc(&callbacks, NULL, w);
	if (!h) {
		free(w);
		return NW_REJ_TOO_LARGE;
	}
	st = yajl_parse(h, p, n);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (w->fatal != NW_REJ_OK)
		rej = w->fatal;
	else if (st != yajl_status_ok)
		rej = NW_REJ_JSON;
	else
		rej = verdict(w);
	yajl_free(h);
	free(w->unknown);
	free(w);
	return rej;
}

/* ------------------------------------------------------------ the frame */

enum nw_report_reject nw_report_parse(const uint8_t *frame, size_t len, const struct nw_keys *keys,
				      struct nw_report *out)
{
	enum nw_report_reject rej;
	size_t frame_len, plen, mac_len;

	memset(out, 0, sizeof(*out));
	if (len < NW_REPORT_HDR_LEN)
		return NW_REJ_TRUNCATED;
	rej = nw_report_frame_header(frame, &frame_len);
	if (rej != NW_REJ_OK)
		return rej;
	if (len != frame_len)
		return NW_REJ_TRUNCATED;
	mac_len = nw_report_mac_len(frame[4]);
	plen = frame_len - NW_REPORT_HDR_LEN - mac_len;
	/* Authenticate before parsing: without the key nobody gets the parser
	 * to look at a byte of the payload. */
	if (keys && keys->present) {
		if (!mac_len || !nw_report_mac_verify(frame[4], frame, NW_REPORT_HDR_LEN + plen,
						      frame + NW_REPORT_HDR_LEN + plen, keys))
			return NW_REJ_AUTH;
		out->authenticated = 1;
	}
	rej = prescan(frame + NW_REPORT_HDR_LEN, plen);
	if (rej == NW_REJ_OK)
		rej = walk_payload(frame + NW_REPORT_HDR_LEN, plen, out);
	if (rej != NW_REJ_OK) {
		int auth = out->authenticated;

		nw_report_free(out);
		out->authenticated = auth;
	}
	return rej;
}
