// SPDX-License-Identifier: MIT
/* Rack -> DC report codec: round trips, and every refused frame with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "report.h"
#include "report_frame.h"
#include "report_ref.h"

static void keys_for_test(struct nw_keys *k, uint8_t fill)
{
	uint8_t master[NW_KEY_MASTER_LEN];

	memset(master, fill, sizeof(master));
	assert_int_equal(nw_keys_derive(k, master), 0);
}

static void fill_report(struct nw_report *r, struct nw_report_server *s, uint32_t n)
{
	memset(r, 0, sizeof(*r));
	r->rack_id = 3;
	r->boot_ns = 1764000000123456789ULL;
	r->seq = 42;
	r->time_ns = 1764000042123456789ULL;
	r->interval_s = 1.0;
	r->rack_score = 0.97;
	r->nservers = n;
	r->servers = s;
	for (uint32_t i = 0; i < n; i++) {
		s[i] = (struct nw_report_server){
			.id = n - i + 100000u, /* descending: the parser hands them back sorted */
			.cls = (enum nw_health)(i % NW_HEALTH__COUNT),
			.error = i % 7 ? 0.013 * (i % 50) / 50.0 : NAN,
			.snr_db = i % 7 ? -399.5 + (double)(i % 800) : NAN,
			.loss_ratio = (i % 101) / 100.0,
			.jitter_s = 0.00012 * (i % 13),
			.up = (int)(i & 1),
			.since_ns = i % 3 ? 0 : 1764000000000000000ULL + i,
			.period_s = i % 5 ? NAN : 0.5 + (double)(i % 10),
		};
	}
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = ((const struct nw_report_server *)a)->id,
		 y = ((const struct nw_report_server *)b)->id;

	return (x > y) - (x < y);
}

static void assert_close(double a, double b)
{
	if (isnan(a) || isnan(b)) {
		assert_true(isnan(a) && isnan(b));
		return;
	}
	assert_true(fabs(a - b) <= 1e-8 * fmax(1.0, fabs(a)));
}

static void round_trip(uint32_t n, int with_key)
{
	struct nw_report_server *s = calloc(n ? n : 1, sizeof(*s));
	struct nw_report r, got;
	struct nw_keys keys = { 0 };
	struct nw_buf buf = { 0 };

	assert_non_null(s);
	if (with_key)
		keys_for_test(&keys, 7);
	fill_report(&r, s, n);
	assert_int_equal(nw_report_encode(&r, &keys, &buf), 0);
	assert_int_equal(nw_report_parse((const uint8_t *)buf.p, buf.len, &keys, &got), NW_REJ_OK);
	assert_int_equal(got.authenticated, with_key);
	assert_int_equal(got.rack_id, r.rack_id);
	assert_true(got.boot_ns == r.boot_ns && got.seq == r.seq && got.time_ns == r.time_ns);
	assert_close(got.interval_s, r.interval_s);
	assert_close(got.rack_score, r.rack_score);
	assert_int_equal(got.nservers, n);
	qsort(s, n, sizeof(*s), cmp_id);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(got.servers[i].id, s[i].id);
		assert_int_equal(got.servers[i].cls, s[i].cls);
		assert_close(got.servers[i].error, s[i].error);
		assert_close(got.servers[i].snr_db, s[i].snr_db);
		assert_close(got.servers[i].loss_ratio, s[i].loss_ratio);
		assert_close(got.servers[i].jitter_s, s[i].jitter_s);
		assert_int_equal(got.servers[i].up, s[i].up);
		assert_true(got.servers[i].since_ns == s[i].since_ns);
		assert_close(got.servers[i].period_s, s[i].period_s);
	}
	assert_int_equal(got.npaths, 0);
	assert_null(got.paths);
	nw_report_free(&got);
	assert_null(got.servers);
	nw_buf_free(&buf);
	free(s);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(0, 0);
	round_trip(0, 1);
	round_trip(5, 0);
	round_trip(5, 1);
	round_trip(NW_REPORT_MAX_SERVERS, 0);
	round_trip(NW_REPORT_MAX_SERVERS, 1);
}

/* paths_in rows (issue 16) come back as written, sorted by src_rack,
 * nulls as NAN, latency in seconds (ms on the wire). */
static void test_paths_round_trip(void **state)
{
	uint32_t n = NW_REPORT_MAX_PATHS;
	struct nw_report_server srv[2];
	struct nw_report_path *p = calloc(n, sizeof(*p));
	struct nw_report r, got;
	struct nw_buf buf = { 0 };

	(void)state;
	assert_non_null(p);
	fill_report(&r, srv, 2);
	r.rack_id = 4000; /* not one of the sources below */
	for (uint32_t i = 0; i < n; i++)
		p[i] = (struct nw_report_path){
			.src_rack = i * 16 + 1, /* 1..65521, ascending as report.h asks */
			.cls = (enum nw_health)(i % NW_HEALTH__COUNT),
			.error = i % 4 ? 0.3 * (i % 3) : NAN,
			.loss_ratio = (i % 11) / 10.0,
			.latency_p50_s = i % 6 ? 0.00021 * (i % 5) : NAN,
			.latency_p99_s = i % 6 ? 0.0009 : NAN,
			.period_s = i % 2 ? 2.5 : NAN,
			.mesh_epoch = i % 65536,
			.since_ns = i % 2 ? 1764000000000000000ULL + i : 0,
		};
	r.paths = p;
	r.npaths = n;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), 0);
	assert_int_equal(nw_report_parse((const uint8_t *)buf.p, buf.len, NULL, &got), NW_REJ_OK);
	assert_int_equal(got.npaths, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct nw_report_path *a = &got.paths[i], *b = &p[i];

		assert_int_equal(a->src_rack, b->src_rack);
		assert_int_equal(a->cls, b->cls);
		assert_close(a->error, b->error);
		assert_close(a->loss_ratio, b->loss_ratio);
		assert_close(a->latency_p50_s, b->latency_p50_s);
		assert_close(a->latency_p99_s, b->latency_p99_s);
		assert_close(a->period_s, b->period_s);
		assert_int_equal(a->mesh_epoch, b->mesh_epoch);
		assert_true(a->since_ns == b->since_ns);
	}
	nw_report_free(&got);
	assert_null(got.paths);
	/* what the parser would refuse is not written */
	p[1].src_rack = p[0].src_rack;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), -1);
	p[1].src_rack = r.rack_id;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), -1);
	p[1].src_rack = 17;
	p[1].latency_p99_s = -1e-3;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), -1);
	p[1].latency_p99_s = 0.0;
	p[1].mesh_epoch = 65536;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), -1);
	p[1].mesh_epoch = 0;
	r.npaths = NW_REPORT_MAX_PATHS + 1;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), -1);
	nw_buf_free(&buf);
	free(p);
}

/* ------------------------------------------------------------ frames */

/* A frame around `payload` (`n` bytes), MAC'ed with `keys` when given:
 * `kind` one of the MAC kinds (report_mac.h). */
static uint8_t *frame_kind(const char *payload, size_t n, const struct nw_keys *keys, uint8_t kind,
			   size_t *len)
{
	uint8_t *f = nw_test_frame((const uint8_t *)payload, n, keys, kind, len);

	assert_non_null(f);
	return f;
}

static uint8_t *frame_of(const char *payload, size_t n, const struct nw_keys *keys, size_t *len)
{
	return frame_kind(payload, n, keys, NW_REPORT_MAC_WRITTEN, len);
}

/* Parses a frame and checks that a reject leaves nothing to free. */
static enum nw_report_reject parse_frame(const uint8_t *f, size_t len, const struct nw_keys *keys,
					 struct nw_report *out)
{
	enum nw_report_reject rej = nw_report_parse(f, len, keys, out);

	if (rej != NW_REJ_OK) {
		assert_null(out->servers);
		assert_int_equal(out->nservers, 0);
	}
	return rej;
}

static enum nw_report_reject parse_payload_n(const char *payload, size_t n)
{
	struct nw_keys none = { 0 };
	struct nw_report r;
	size_t len;
	uint8_t *f = frame_of(payload, n, NULL, &len);
	enum nw_report_reject rej = parse_frame(f, len, &none, &r);

	nw_report_free(&r);
	free(f);
	return rej;
}

static enum nw_report_reject parse_payload(const char *payload)
{
	return parse_payload_n(payload, strlen(payload));
}

/* ------------------------------------------------------------ the table */

/* ..B: the members without braces, so a case can add a key in front. */
#define TOPB(v, rack, boot, seq, t, iv, score, servers)                                        \
	"\"v\":" v ",\"rack_id\":" rack ",\"boot_ns\":" boot ",\"seq\":" seq ",\"time_ns\":" t \
	",\"interval_s\":" iv ",\"rack_score\":" score ",\"servers\":" servers
#define TOP(v, rack, boot, seq, t, iv, score, servers) \
	"{" TOPB(v, rack, boot, seq, t, iv, score, servers) "}"
#define TOPS(servers) TOP("1", "3", "1000", "1", "2000", "1.0", "0.97", servers)
#define SRVB(id, cls, err, snr, loss, jit, up)                              \
	"\"id\":" id ",\"class\":" cls ",\"error\":" err ",\"snr_db\":" snr \
	",\"loss_ratio\":" loss ",\"jitter_s\":" jit ",\"up\":" up
#define SRV(id, cls, err, snr, loss, jit, up) "{" SRVB(id, cls, err, snr, loss, jit, up) "}"
#define S1(id, cls, err, snr, loss, jit, up) TOPS("[" SRV(id, cls, err, snr, loss, jit, up) "]")
#define OKSRV SRV("12", "\"healthy\"", "0.013", "18.9", "0.0", "0.00012", "true")

/* A report with servers [] and paths_in `paths` (rack 3). */
#define TOPP(paths) TOP("1", "3", "1000", "1", "2000", "1.0", "0.97", "[],\"paths_in\":" paths)
#define PATH(src, cls, err, loss, lat, period, epoch, since)                             \
	"{\"src_rack\":" src ",\"class\":" cls ",\"error\":" err ",\"loss_ratio\":" loss \
	",\"latency_ms\":" lat ",\"period_s\":" period ",\"mesh_epoch\":" epoch          \
	",\"since_ns\":" since "}"
/* A report with one paths_in row. */
#define P1(...) TOPP("[" PATH(__VA_ARGS__) "]")
#define OKPATH                                                                             \
	PATH("1", "\"warning\"", "0.31", "0.3", "{\"p50\":0.21,\"p99\":0.9}", "2.5", "41", \
	     "1764000000000000000")

struct bad_case {
	const char *name, *payload;
	enum nw_report_reject want;
};

static const struct bad_case cases[] = {
	/* accepted edges: the table must not just refuse everything */
	{ "valid", TOPS("[" OKSRV "]"), NW_REJ_OK },
	{ "valid no servers", TOPS("[]"), NW_REJ_OK },
	{ "integer interval", TOP("1", "3", "1000", "1", "2000", "1", "1", "[]"), NW_REJ_OK },
	{ "limits",
	  TOP("1", "65535", "0", "9223372036854775807", "9223372036854775807", "3600", "0",
	      "[" SRV("4294967295", "\"left\"", "1", "-400", "1", "3600",
		      "false") "," SRV("0", "\"down\"", "0", "400", "0", "0", "true") "]"),
	  NW_REJ_OK },
	{ "nulls", S1("1", "\"critical\"", "null", "null", "0.5", "0", "false"), NW_REJ_OK },
	{ "unknown keys ignored",
	  "{\"extra\":{\"a\":[1,2]},\"v\":1,\"rack_id\":3,\"boot_ns\":1,\"seq\":1,\"time_ns\":1,"
	  "\"interval_s\":1,\"rack_score\":1,\"servers\":[{\"note\":\"x\",\"id\":1,\"class\":\"warning\","
	  "\"error\":0.3,\"snr_db\":1,\"loss_ratio\":0,\"jitter_s\":0,\"up\":true}]}",
	  NW_REJ_OK },

	/* not JSON */
	{ "garbage", "hello, DC", NW_REJ_JSON },
	{ "whitespace", "  ", NW_REJ_JSON },
	{ "bare number", "12", NW_REJ_JSON },
	{ "unterminated", "{\"v\":1", NW_REJ_JSON },
	{ "trailing garbage", TOPS("[]") "x", NW_REJ_JSON },
	{ "two objects", TOPS("[]") TOPS("[]"), NW_REJ_JSON },
	{ "NaN literal", S1("1", "\"healthy\"", "NaN", "1", "0", "0", "true"), NW_REJ_JSON },
	{ "Infinity literal", S1("1", "\"healthy\"", "0", "Infinity", "0", "0", "true"),
	  NW_REJ_JSON },
	{ "-Infinity literal", S1("1", "\"healthy\"", "0", "-Infinity", "0", "0", "true"),
	  NW_REJ_JSON },
	{ "NUL escape in class", S1("1", "\"healthy\\u0000x\"", "0", "1", "0", "0", "true"),
	  NW_REJ_JSON },
	{ "invalid UTF-8", S1("1", "\"he\xff\xfe\"", "0", "1", "0", "0", "true"), NW_REJ_JSON },
	{ "single quotes", "{'v':1}", NW_REJ_JSON },

	/* duplicate keys */
	{ "duplicate top key",
	  "{\"v\":1," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_DUPLICATE_KEY },
	{ "duplicate top key, other value",
	  "{" TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") ",\"seq\":99}",
	  NW_REJ_DUPLICATE_KEY },
	{ "duplicate server key",
	  TOPS("[{" SRVB("1", "\"healthy\"", "0", "1", "0", "0", "true") ",\"up\":false}]"),
	  NW_REJ_DUPLICATE_KEY },

	/* wrong types, every field */
	{ "top is array", "[]", NW_REJ_TYPE },
	{ "v string", TOP("\"1\"", "3", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "v real", TOP("1.0", "3", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "v missing",
	  "{\"rack_id\":3,\"boot_ns\":1,\"seq\":1,\"time_ns\":1,\"interval_s\":1,"
	  "\"rack_score\":1,\"servers\":[]}",
	  NW_REJ_TYPE },
	{ "rack_id string", TOP("1", "\"3\"", "1000", "1", "2000", "1.0", "0.97", "[]"),
	  NW_REJ_TYPE },
	{ "rack_id real", TOP("1", "3.0", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "rack_id null", TOP("1", "null", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "boot_ns real", TOP("1", "3", "1e3", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "boot_ns bool", TOP("1", "3", "true", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "seq string", TOP("1", "3", "1000", "\"1\"", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "seq real", TOP("1", "3", "1000", "1.5", "2000", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "time_ns array", TOP("1", "3", "1000", "1", "[2000]", "1.0", "0.97", "[]"), NW_REJ_TYPE },
	{ "interval_s string", TOP("1", "3", "1000", "1", "2000", "\"1\"", "0.97", "[]"),
	  NW_REJ_TYPE },
	{ "interval_s null", TOP("1", "3", "1000", "1", "2000", "null", "0.97", "[]"),
	  NW_REJ_TYPE },
	{ "rack_score bool", TOP("1", "3", "1000", "1", "2000", "1.0", "false", "[]"),
	  NW_REJ_TYPE },
	{ "rack_score null", TOP("1", "3", "1000", "1", "2000", "1.0", "null", "[]"), NW_REJ_TYPE },
	{ "servers object", TOPS("{}"), NW_REJ_TYPE },
	{ "servers null", TOPS("null"), NW_REJ_TYPE },
	{ "servers missing",
	  "{\"v\":1,\"rack_id\":3,\"boot_ns\":1,\"seq\":1,\"time_ns\":1,"
	  "\"interval_s\":1,\"rack_score\":1}",
	  NW_REJ_TYPE },
	{ "server a number", TOPS("[5]"), NW_REJ_TYPE },
	{ "server an array", TOPS("[[]]"), NW_REJ_TYPE },
	{ "server empty", TOPS("[{}]"), NW_REJ_TYPE },
	{ "id string", S1("\"1\"", "\"healthy\"", "0", "1", "0", "0", "true"), NW_REJ_TYPE },
	{ "id real", S1("1.0", "\"healthy\"", "0", "1", "0", "0", "true"), NW_REJ_TYPE },
	{ "class number", S1("1", "0", "0", "1", "0", "0", "true"), NW_REJ_TYPE },
	{ "class null", S1("1", "null", "0", "1", "0", "0", "true"), NW_REJ_TYPE },
	{ "error string", S1("1", "\"healthy\"", "\"0\"", "1", "0", "0", "true"), NW_REJ_TYPE },
	{ "error bool", S1("1", "\"healthy\"", "false", "1", "0", "0", "true"), NW_REJ_TYPE },
	{ "snr_db string", S1("1", "\"healthy\"", "0", "\"1\"", "0", "0", "true"), NW_REJ_TYPE },
	{ "snr_db object", S1("1", "\"healthy\"", "0", "{}", "0", "0", "true"), NW_REJ_TYPE },
	{ "loss_ratio null", S1("1", "\"healthy\"", "0", "1", "null", "0", "true"), NW_REJ_TYPE },
	{ "loss_ratio string", S1("1", "\"healthy\"", "0", "1", "\"0\"", "0", "true"),
	  NW_REJ_TYPE },
	{ "jitter_s null", S1("1", "\"healthy\"", "0", "1", "0", "null", "true"), NW_REJ_TYPE },
	{ "jitter_s bool", S1("1", "\"healthy\"", "0", "1", "0", "true", "true"), NW_REJ_TYPE },
	{ "up 1", S1("1", "\"healthy\"", "0", "1", "0", "0", "1"), NW_REJ_TYPE },
	{ "up string", S1("1", "\"healthy\"", "0", "1", "0", "0", "\"true\""), NW_REJ_TYPE },
	{ "up null", S1("1", "\"healthy\"", "0", "1", "0", "0", "null"), NW_REJ_TYPE },
	{ "server field missing",
	  TOPS("[{\"id\":1,\"class\":\"healthy\",\"error\":0,\"snr_db\":1,"
	       "\"loss_ratio\":0,\"jitter_s\":0}]"),
	  NW_REJ_TYPE },

	/* ranges */
	{ "v 2", TOP("2", "3", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "v 0", TOP("0", "3", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "rack_id 65536", TOP("1", "65536", "1000", "1", "2000", "1.0", "0.97", "[]"),
	  NW_REJ_RANGE },
	{ "rack_id -1", TOP("1", "-1", "1000", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "boot_ns -1", TOP("1", "3", "-1", "1", "2000", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "boot_ns 2^63", TOP("1", "3", "9223372036854775808", "1", "2000", "1.0", "0.97", "[]"),
	  NW_REJ_RANGE },
	{ "seq 0", TOP("1", "3", "1000", "0", "2000", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "seq -5", TOP("1", "3", "1000", "-5", "2000", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "time_ns -1", TOP("1", "3", "1000", "1", "-1", "1.0", "0.97", "[]"), NW_REJ_RANGE },
	{ "time_ns 2^70", TOP("1", "3", "1000", "1", "1180591620717411303424", "1.0", "0.97", "[]"),
	  NW_REJ_RANGE },
	{ "interval 0", TOP("1", "3", "1000", "1", "2000", "0", "0.97", "[]"), NW_REJ_RANGE },
	{ "interval negative", TOP("1", "3", "1000", "1", "2000", "-1.0", "0.97", "[]"),
	  NW_REJ_RANGE },
	{ "interval over an hour", TOP("1", "3", "1000", "1", "2000", "3600.001", "0.97", "[]"),
	  NW_REJ_RANGE },
	{ "interval 1e999", TOP("1", "3", "1000", "1", "2000", "1e999", "0.97", "[]"),
	  NW_REJ_RANGE },
	{ "rack_score 1.0001", TOP("1", "3", "1000", "1", "2000", "1.0", "1.0001", "[]"),
	  NW_REJ_RANGE },
	{ "rack_score -0.01", TOP("1", "3", "1000", "1", "2000", "1.0", "-0.01", "[]"),
	  NW_REJ_RANGE },
	{ "rack_score -1e999", TOP("1", "3", "1000", "1", "2000", "1.0", "-1e999", "[]"),
	  NW_REJ_RANGE },
	{ "id -1", S1("-1", "\"healthy\"", "0", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "id 2^32", S1("4294967296", "\"healthy\"", "0", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "id 2^70", S1("1180591620717411303424", "\"healthy\"", "0", "1", "0", "0", "true"),
	  NW_REJ_RANGE },
	{ "class unknown", S1("1", "\"unknown\"", "0", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "class case", S1("1", "\"Healthy\"", "0", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "class empty", S1("1", "\"\"", "0", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "error 1.5", S1("1", "\"healthy\"", "1.5", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "error negative", S1("1", "\"healthy\"", "-0.1", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "error 1e999", S1("1", "\"healthy\"", "1e999", "1", "0", "0", "true"), NW_REJ_RANGE },
	{ "snr_db 400.5", S1("1", "\"healthy\"", "0", "400.5", "0", "0", "true"), NW_REJ_RANGE },
	{ "snr_db -401", S1("1", "\"healthy\"", "0", "-401", "0", "0", "true"), NW_REJ_RANGE },
	{ "loss_ratio 1.1", S1("1", "\"healthy\"", "0", "1", "1.1", "0", "true"), NW_REJ_RANGE },
	{ "loss_ratio -1", S1("1", "\"healthy\"", "0", "1", "-1", "0", "true"), NW_REJ_RANGE },
	{ "jitter_s negative", S1("1", "\"healthy\"", "0", "1", "0", "-1e-9", "true"),
	  NW_REJ_RANGE },
	{ "jitter_s 3600.5", S1("1", "\"healthy\"", "0", "1", "0", "3600.5", "true"),
	  NW_REJ_RANGE },
	{ "duplicate server id",
	  TOPS("[" OKSRV "," SRV("5", "\"down\"", "null", "null", "1", "0", "false") "," OKSRV "]"),
	  NW_REJ_RANGE },
	/* where yajl alone is laxer than jansson: the pre-scan (report_parse.c) */
	{ "lone high surrogate in an ignored key",
	  "{\"x\\ud800\":1," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_JSON },
	{ "lone low surrogate in an ignored value",
	  "{\"x\":\"\\udc00\"," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_JSON },
	{ "high surrogate then no low",
	  "{\"x\":\"\\ud800\\u0041\"," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_JSON },
	{ "escaped NUL",
	  "{\"x\":\"a\\u0000\"," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_JSON },
	{ "overlong UTF-8",
	  "{\"x\":\"\xc0\x80\"," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_JSON },
	{ "UTF-8 surrogate",
	  "{\"x\":\"\xed\xa0\x80\"," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_JSON },
	{ "top-level scalar", "55", NW_REJ_JSON },
	{ "vertical tab as whitespace",
	  "{\"v\":\v1," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}", NW_REJ_JSON },
	{ "form feed as whitespace",
	  "{\f" TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}", NW_REJ_JSON },
	{ "top-level array", "[1,2]", NW_REJ_TYPE },
	{ "duplicate key in an ignored nested object",
	  "{\"x\":{\"a\":1,\"a\":2}," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_DUPLICATE_KEY },
	{ "same ignored key in two objects",
	  "{\"x\":{\"a\":1},\"y\":{\"a\":2}," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97",
						   "[]") "}",
	  NW_REJ_OK },
	{ "escaped key is the known one",
	  "{\"v\":1,\"\\u0076\":1," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_DUPLICATE_KEY },
	{ "valid surrogate pair",
	  "{\"x\":\"\\ud83d\\ude00\"," TOPB("1", "3", "1000", "1", "2000", "1.0", "0.97", "[]") "}",
	  NW_REJ_OK },
	{ "servers object", TOPS("{}"), NW_REJ_TYPE },
	{ "server is an array", TOPS("[[1]]"), NW_REJ_TYPE },
	{ "rack_id nested", TOP("1", "{\"a\":1}", "1000", "1", "2000", "1.0", "0.97", "[]"),
	  NW_REJ_TYPE },
	/* issue 16: the optional per-server keys and paths_in rows */
	{ "server since and period",
	  S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"since_ns\":5,\"period_s\":2.5"),
	  NW_REJ_OK },
	{ "server period null",
	  S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"period_s\":null"), NW_REJ_OK },
	{ "server since real",
	  S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"since_ns\":5.0"), NW_REJ_TYPE },
	{ "server since -1", S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"since_ns\":-1"),
	  NW_REJ_RANGE },
	{ "server period 0", S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"period_s\":0"),
	  NW_REJ_RANGE },
	{ "server period string",
	  S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"period_s\":\"2\""), NW_REJ_TYPE },
	{ "server since twice",
	  S1("1", "\"warning\"", "0.3", "1", "0", "0", "true,\"since_ns\":5,\"since_ns\":5"),
	  NW_REJ_DUPLICATE_KEY },
	{ "paths valid",
	  TOPP("[" OKPATH
	       "," PATH("7", "\"critical\"", "null", "1", "null", "null", "65535", "0") "]"),
	  NW_REJ_OK },
	{ "paths empty", TOPP("[]"), NW_REJ_OK },
	{ "paths object", TOPP("{}"), NW_REJ_TYPE },
	{ "paths null", TOPP("null"), NW_REJ_TYPE },
	{ "paths type after servers type",
	  TOP("1", "3", "1000", "1", "2000", "1.0", "0.97", "5,\"paths_in\":5"), NW_REJ_TYPE },
	{ "paths type before a server's range",
	  TOP("1", "3", "1000", "1", "2000", "1.0", "0.97",
	      "[" SRV("-1", "\"healthy\"", "0", "1", "0", "0", "true") "],\"paths_in\":5"),
	  NW_REJ_TYPE },
	{ "server range before a path's type",
	  TOP("1", "3", "1000", "1", "2000", "1.0", "0.97",
	      "[" SRV("-1", "\"healthy\"", "0", "1", "0", "0", "true") "],\"paths_in\":[5]"),
	  NW_REJ_RANGE },
	{ "path a number", TOPP("[5]"), NW_REJ_TYPE },
	{ "path an array", TOPP("[[]]"), NW_REJ_TYPE },
	{ "path empty", TOPP("[{}]"), NW_REJ_TYPE },
	{ "path src string", P1("\"1\"", "\"healthy\"", "0", "0", "null", "null", "0", "0"),
	  NW_REJ_TYPE },
	{ "path src 65536", P1("65536", "\"healthy\"", "0", "0", "null", "null", "0", "0"),
	  NW_REJ_RANGE },
	{ "path class unknown", P1("1", "\"bad\"", "0", "0", "null", "null", "0", "0"),
	  NW_REJ_RANGE },
	{ "path error 2", P1("1", "\"healthy\"", "2", "0", "null", "null", "0", "0"),
	  NW_REJ_RANGE },
	{ "path loss null", P1("1", "\"healthy\"", "0", "null", "null", "null", "0", "0"),
	  NW_REJ_TYPE },
	{ "path latency number", P1("1", "\"healthy\"", "0", "0", "5", "null", "0", "0"),
	  NW_REJ_TYPE },
	{ "path latency array", P1("1", "\"healthy\"", "0", "0", "[]", "null", "0", "0"),
	  NW_REJ_TYPE },
	{ "path latency p99 missing",
	  P1("1", "\"healthy\"", "0", "0", "{\"p50\":1}", "null", "0", "0"), NW_REJ_TYPE },
	{ "path latency negative",
	  P1("1", "\"healthy\"", "0", "0", "{\"p50\":-1,\"p99\":1}", "null", "0", "0"),
	  NW_REJ_RANGE },
	{ "path latency nulls",
	  P1("1", "\"healthy\"", "0", "0", "{\"p50\":null,\"p99\":null,\"x\":{}}", "null", "0",
	     "0"),
	  NW_REJ_OK },
	{ "path latency p50 twice",
	  P1("1", "\"healthy\"", "0", "0", "{\"p50\":1,\"p50\":1,\"p99\":1}", "null", "0", "0"),
	  NW_REJ_DUPLICATE_KEY },
	{ "path latency type before period range",
	  P1("1", "\"healthy\"", "0", "0", "{\"p50\":\"1\",\"p99\":1}", "-1", "0", "0"),
	  NW_REJ_TYPE },
	{ "path period -1", P1("1", "\"healthy\"", "0", "0", "null", "-1", "0", "0"),
	  NW_REJ_RANGE },
	{ "path epoch 65536", P1("1", "\"healthy\"", "0", "0", "null", "null", "65536", "0"),
	  NW_REJ_RANGE },
	{ "path epoch missing",
	  TOPP("[{\"src_rack\":1,\"class\":\"healthy\",\"error\":0,\"loss_ratio\":0,\"latency_ms\":null,\"period_s\":null,\"since_ns\":0}]"),
	  NW_REJ_TYPE },
	{ "path since real", P1("1", "\"healthy\"", "0", "0", "null", "null", "0", "1.5"),
	  NW_REJ_TYPE },
	{ "path duplicate src",
	  TOPP("[" OKPATH
	       "," PATH("7", "\"healthy\"", "0", "0", "null", "null", "0", "0") "," OKPATH "]"),
	  NW_REJ_RANGE },
	{ "path from the reporting rack",
	  P1("3", "\"healthy\"", "0", "0", "null", "null", "0", "0"), NW_REJ_RANGE },
	{ "path row type before duplicate", TOPP("[" OKPATH "," OKPATH ",5]"), NW_REJ_TYPE },
	{ "paths twice",
	  TOP("1", "3", "1000", "1", "2000", "1.0", "0.97", "[],\"paths_in\":[],\"paths_in\":[]"),
	  NW_REJ_DUPLICATE_KEY },
	{ "long real",
	  TOP("1", "3", "1000", "1", "2000",
	      "0.100000000000000000000000000000000000000000000000000000000000000000000001", "0.97",
	      "[]"),
	  NW_REJ_OK },
};

static void test_reject_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum nw_report_reject got = parse_payload(cases[i].payload);

		/* the streaming parser and the DOM reference agree on every case */
		{
			struct nw_keys none = { 0 };
			struct nw_report r;
			size_t len;
			uint8_t *f = frame_of(cases[i].payload, strlen(cases[i].payload), NULL,
					      &len);

			if (nw_report_parse_ref(f, len, &none, &r) != cases[i].want)
				fail_msg("case \"%s\": the reference disagrees", cases[i].name);
			nw_report_free(&r);
			free(f);
		}
		if (got != cases[i].want)
			fail_msg("case \"%s\": got %s, want %s\n  payload %s", cases[i].name,
				 nw_report_reject_name(got), nw_report_reject_name(cases[i].want),
				 cases[i].payload);
	}
}

/* A parsed valid report is what was written, including null -> NAN. */
static void test_values_read(void **state)
{
	static const char payload[] = TOP("1", "65535", "0", "9223372036854775807", "77", "2",
					  "0.5",
					  "[" SRV("4294967295", "\"left\"", "null", "-400", "1",
						  "3600", "false") "," SRV("7", "\"warning\"",
									   "0.25", "null", "0.125",
									   "0.5", "true") "]");
	struct nw_keys none = { 0 };
	struct nw_report r;
	size_t len;
	uint8_t *f = frame_of(payload, strlen(payload), NULL, &len);

	(void)state;
	assert_int_equal(parse_frame(f, len, &none, &r), NW_REJ_OK);
	assert_int_equal(r.rack_id, 65535);
	assert_true(r.boot_ns == 0 && r.seq == INT64_MAX && r.time_ns == 77);
	assert_true(r.interval_s == 2.0 && r.rack_score == 0.5);
	assert_int_equal(r.nservers, 2);
	/* sorted by id */
	assert_int_equal(r.servers[0].id, 7);
	assert_int_equal(r.servers[0].cls, NW_HEALTH_WARNING);
	assert_true(r.servers[0].error == 0.25 && isnan(r.servers[0].snr_db));
	assert_true(r.servers[0].loss_ratio == 0.125 && r.servers[0].jitter_s == 0.5 &&
		    r.servers[0].up == 1);
	assert_int_equal(r.servers[1].id, 4294967295u);
	assert_int_equal(r.servers[1].cls, NW_HEALTH_LEFT);
	assert_true(isnan(r.servers[1].error) && r.servers[1].snr_db == -400.0);
	assert_true(r.servers[1].up == 0 && r.authenticated == 0);
	nw_report_free(&r);
	free(f);
}

/* "servers":[e,e,...,e] with `n` entries `e`, built in one allocation. */
static char *servers_payload(size_t n, const char *e, size_t *len)
{
	static const char head[] = "{\"v\":1,\"rack_id\":3,\"boot_ns\":1,\"seq\":1,\"time_ns\":1,"
				   "\"interval_s\":1,\"rack_score\":1,\"servers\":[";
	size_t el = strlen(e), cap = sizeof(head) + n * (el + 1) + 4, o = sizeof(head) - 1;
	char *p = malloc(cap);

	assert_non_null(p);
	memcpy(p, head, o);
	for (size_t i = 0; i < n; i++) {
		memcpy(p + o, e, el);
		o += el;
		p[o++] = ',';
	}
	if (n)
		o--;
	memcpy(p + o, "]}", 2);
	*len = o + 2;
	return p;
}

static void test_server_counts(void **state)
{
	size_t n;
	char *p;

	(void)state;
	/* MAX + 1 tiny entries: jansson may read them, the count refuses them */
	p = servers_payload(NW_REPORT_MAX_SERVERS + 1, "0", &n);
	assert_int_equal(parse_payload_n(p, n), NW_REJ_TOO_MANY_SERVERS);
	free(p);
	p = servers_payload(NW_REPORT_MAX_SERVERS + 1, "{}", &n);
	assert_int_equal(parse_payload_n(p, n), NW_REJ_TOO_MANY_SERVERS);
	free(p);
	/* exactly MAX empty objects: counted fine, then each lacks its fields */
	p = servers_payload(NW_REPORT_MAX_SERVERS, "{}", &n);
	assert_int_equal(parse_payload_n(p, n), NW_REJ_TYPE);
	free(p);
	/* 10^6 servers claimed in 2-4 MB: over the byte budget, jansson never runs */
	p = servers_payload(1000000, "0", &n);
	assert_true(n <= NW_REPORT_MAX_PAYLOAD);
	assert_int_equal(parse_payload_n(p, n), NW_REJ_TOO_LARGE);
	free(p);
	p = servers_payload(1000000, "{}", &n);
	assert_true(n <= NW_REPORT_MAX_PAYLOAD);
	assert_int_equal(parse_payload_n(p, n), NW_REJ_TOO_LARGE);
	free(p);
	/* 3000 nested arrays: within the byte budget, past jansson's depth limit (2048) */
	p = malloc(6000);
	assert_non_null(p);
	memset(p, '[', 3000);
	memset(p + 3000, ']', 3000);
	assert_int_equal(parse_payload_n(p, 6000), NW_REJ_JSON);
	free(p);
	/* the largest payload allowed, padded with spaces: size fine, then TYPE */
	p = malloc(NW_REPORT_MAX_PAYLOAD);
	assert_non_null(p);
	memset(p, ' ', NW_REPORT_MAX_PAYLOAD);
	memcpy(p, "{}", 2);
	assert_int_equal(parse_payload_n(p, NW_REPORT_MAX_PAYLOAD), NW_REJ_TYPE);
	free(p);
}

static void put_len(uint8_t *f, uint32_t n)
{
	f[8] = (uint8_t)(n >> 24);
	f[9] = (uint8_t)(n >> 16);
	f[10] = (uint8_t)(n >> 8);
	f[11] = (uint8_t)n;
}

static void test_frame_header(void **state)
{
	static const char payload[] = TOPS("[" OKSRV "]");
	struct nw_keys none = { 0 };
	struct nw_report r;
	size_t len, flen = 0;
	uint8_t *f = frame_of(payload, strlen(payload), NULL, &len);
	uint8_t h[NW_REPORT_HDR_LEN];

	(void)state;
	assert_int_equal(nw_report_frame_header(f, &flen), NW_REJ_OK);
	assert_int_equal(flen, len);
	assert_int_equal(parse_frame(f, len, &none, &r), NW_REJ_OK);
	nw_report_free(&r);

	/* truncated: short of the claim, one byte over it, shorter than a header */
	assert_int_equal(parse_frame(f, len - 1, &none, &r), NW_REJ_TRUNCATED);
	assert_int_equal(parse_frame(f, NW_REPORT_HDR_LEN, &none, &r), NW_REJ_TRUNCATED);
	assert_int_equal(parse_frame(f, NW_REPORT_HDR_LEN - 1, &none, &r), NW_REJ_TRUNCATED);
	assert_int_equal(parse_frame(f, 0, &none, &r), NW_REJ_TRUNCATED);
	{
		uint8_t *g = malloc(len + 1);

		assert_non_null(g);
		memcpy(g, f, len);
		g[len] = ' ';
		assert_int_equal(parse_frame(g, len + 1, &none, &r), NW_REJ_TRUNCATED);
		free(g);
	}
	/* MAC flagged (any kind) but no room for it */
	f[4] = NW_REPORT_FLAG_MAC;
	assert_int_equal(parse_frame(f, len, &none, &r), NW_REJ_TRUNCATED);
	f[4] = NW_REPORT_FLAG_MAC_BLAKE2B;
	assert_int_equal(parse_frame(f, len, &none, &r), NW_REJ_TRUNCATED);
	f[4] = NW_REPORT_FLAG_MAC_XCHACHA;
	assert_int_equal(parse_frame(f, len, &none, &r), NW_REJ_TRUNCATED);
	f[4] = 0;

	/* each header byte that must be exact */
	struct {
		size_t at;
		uint8_t v;
		enum nw_report_reject want;
	} bad[] = {
		{ 0, 'X', NW_REJ_BAD_FRAME },
		{ 1, 'w', NW_REJ_BAD_FRAME },
		{ 2, 0, NW_REJ_BAD_FRAME },
		{ 3, 0, NW_REJ_BAD_FRAME },
		{ 3, 2, NW_REJ_BAD_FRAME },
		{ 4, 0x08, NW_REJ_BAD_FRAME },
		{ 4, 0x81, NW_REJ_BAD_FRAME },
		{ 4, 0x82, NW_REJ_BAD_FRAME },
		{ 4, 0x84, NW_REJ_BAD_FRAME },
		/* two MAC kinds at once: which would the trailer be? */
		{ 4, NW_REPORT_FLAG_MAC | NW_REPORT_FLAG_MAC_BLAKE2B, NW_REJ_BAD_FRAME },
		{ 4, NW_REPORT_FLAG_MAC | NW_REPORT_FLAG_MAC_XCHACHA, NW_REJ_BAD_FRAME },
		{ 4, NW_REPORT_FLAG_MAC_BLAKE2B | NW_REPORT_FLAG_MAC_XCHACHA, NW_REJ_BAD_FRAME },
		{ 4, NW_REPORT_MAC_FLAGS, NW_REJ_BAD_FRAME },
		{ 5, 1, NW_REJ_BAD_FRAME },
		{ 6, 0x80, NW_REJ_BAD_FRAME },
		{ 7, 1, NW_REJ_BAD_FRAME },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(h, f, sizeof(h));
		h[bad[i].at] = bad[i].v;
		assert_int_equal(nw_report_frame_header(h, &flen), bad[i].want);
		memcpy(f, h, sizeof(h));
		assert_int_equal(parse_frame(f, len, &none, &r), bad[i].want);
	}
	free(f);

	/* claimed lengths: 0, 1, the limit, one over, 5 MiB, 2^32-1 */
	memset(h, 0, sizeof(h));
	memcpy(h, "NWR\x01", 4);
	put_len(h, 0);
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_TOO_LARGE);
	put_len(h, 1);
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_TOO_LARGE);
	put_len(h, 2);
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_OK);
	assert_int_equal(flen, NW_REPORT_HDR_LEN + 2);
	put_len(h, NW_REPORT_MAX_PAYLOAD);
	h[4] = NW_REPORT_FLAG_MAC;
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_OK);
	assert_int_equal(flen, NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + 32);
	h[4] = NW_REPORT_FLAG_MAC_BLAKE2B;
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_OK);
	assert_int_equal(flen, NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + 32);
	h[4] = NW_REPORT_FLAG_MAC_XCHACHA; /* 24-byte nonce, 16-byte tag */
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_OK);
	assert_int_equal(flen, NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + 40);
	assert_int_equal(NW_REPORT_MAC_LEN, 40); /* the longest trailer */
	put_len(h, NW_REPORT_MAX_PAYLOAD + 1);
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_TOO_LARGE);
	put_len(h, 5U << 20);
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_TOO_LARGE);
	/* parse trusts the header, not `len`: a 5 MiB claim in 12 bytes */
	assert_int_equal(parse_frame(h, sizeof(h), &none, &r), NW_REJ_TOO_LARGE);
	put_len(h, 0xFFFFFFFFU);
	assert_int_equal(nw_report_frame_header(h, &flen), NW_REJ_TOO_LARGE);
	/* a short payload under a header: 2 bytes "{}" is a frame, then TYPE */
	assert_int_equal(parse_payload("{}"), NW_REJ_TYPE);
}

/* ------------------------------------------------------------ MAC */

/* One MAC kind: accepted with the key, read unauthenticated without one,
 * refused (auth) with another key, a flipped bit anywhere it covers or in the
 * trailer (nonce and tag alike), another kind's flag; a cut trailer is
 * truncated. */
static void check_mac_kind(uint8_t kind)
{
	static const char payload[] = TOPS("[" OKSRV "]");
	struct nw_keys key, other, none = { 0 };
	struct nw_report r;
	size_t len, plain_len;
	uint8_t *f, *plain;

	keys_for_test(&key, 1);
	keys_for_test(&other, 2);
	f = frame_kind(payload, strlen(payload), &key, kind, &len);
	plain = frame_of(payload, strlen(payload), NULL, &plain_len);

	assert_int_equal(parse_frame(f, len, &key, &r), NW_REJ_OK);
	assert_int_equal(r.authenticated, 1);
	nw_report_free(&r);
	/* a MAC without a key of our own: read, but not authenticated */
	assert_int_equal(parse_frame(f, len, &none, &r), NW_REJ_OK);
	assert_int_equal(r.authenticated, 0);
	nw_report_free(&r);
	assert_int_equal(parse_frame(f, len, NULL, &r), NW_REJ_OK);
	assert_int_equal(r.authenticated, 0);
	nw_report_free(&r);
	/* another key */
	assert_int_equal(parse_frame(f, len, &other, &r), NW_REJ_AUTH);
	assert_int_equal(r.authenticated, 0);
	/* missing MAC while we have a key */
	assert_int_equal(parse_frame(plain, plain_len, &key, &r), NW_REJ_AUTH);
	/* a right trailer under another kind's flag: the flag is MAC-covered,
	 * and a trailer of another length makes the frame's length wrong */
	for (uint8_t k = NW_REPORT_FLAG_MAC; k <= NW_REPORT_FLAG_MAC_XCHACHA; k <<= 1) {
		if (k == kind)
			continue;
		f[4] = k;
		assert_int_equal(parse_frame(f, len, &key, &r),
				 nw_report_mac_len(k) == nw_report_mac_len(kind)
					 ? NW_REJ_AUTH
					 : NW_REJ_TRUNCATED);
	}
	f[4] = kind;
	/* the trailer cut short, by one byte up to all of it */
	for (size_t cut = 1; cut <= nw_report_mac_len(kind); cut++)
		assert_int_equal(parse_frame(f, len - cut, &key, &r), NW_REJ_TRUNCATED);
	/* every single-bit change of the MAC, payload or header's MAC-covered bytes */
	for (size_t i = 0; i < len; i++) {
		enum nw_report_reject got;

		f[i] ^= 0x01;
		got = parse_frame(f, len, &key, &r);
		f[i] ^= 0x01;
		if (i == 4 && kind != NW_REPORT_FLAG_MAC) /* two kinds flagged */
			assert_int_equal(got, NW_REJ_BAD_FRAME);
		else if ((i >= 8 && i < NW_REPORT_HDR_LEN) || i == 4) /* length, MAC flag cleared */
			assert_true(got == NW_REJ_TRUNCATED || got == NW_REJ_TOO_LARGE);
		else if (i < 8)
			assert_int_equal(got, NW_REJ_BAD_FRAME);
		else
			assert_int_equal(got, NW_REJ_AUTH);
		nw_report_free(&r);
	}
	/* a valid MAC over a bad payload: authenticated, then refused for the content */
	{
		static const char bad[] = TOP("1", "70000", "1", "1", "1", "1", "1", "[]");
		size_t blen;
		uint8_t *b = frame_kind(bad, strlen(bad), &key, kind, &blen);

		assert_int_equal(parse_frame(b, blen, &key, &r), NW_REJ_RANGE);
		assert_int_equal(r.authenticated, 1);
		free(b);
	}
	free(f);
	free(plain);
}

/* The old kinds' trailers are the libsodium calls docs/report-protocol.md
 * names, with their own subkeys: what racks not yet upgraded write. */
static void old_mac_kinds(void)
{
	static const uint8_t msg[] = "NWR\x01 any bytes";
	struct nw_keys key;
	uint8_t got[NW_REPORT_MAC_LEN], want[NW_REPORT_MAC_TAG32_LEN];

	keys_for_test(&key, 6);
	assert_int_equal(nw_report_mac_sign(NW_REPORT_FLAG_MAC, msg, sizeof(msg), &key, got), 0);
	crypto_auth_hmacsha256(want, msg, sizeof(msg), key.report);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(nw_report_mac_sign(NW_REPORT_FLAG_MAC_BLAKE2B, msg, sizeof(msg), &key,
					    got),
			 0);
	assert_int_equal(crypto_generichash(want, sizeof(want), msg, sizeof(msg), key.report_mac,
					    NW_KEY_REPORT_LEN),
			 0);
	assert_memory_equal(got, want, sizeof(want));
	/* one subkey per algorithm */
	assert_memory_not_equal(key.report, key.report_mac, NW_KEY_REPORT_LEN);
	assert_memory_not_equal(key.report_mac, key.report_aead, NW_KEY_REPORT_LEN);
	assert_memory_not_equal(key.report, key.report_aead, NW_KEY_REPORT_LEN);
	/* no kind, or two: nothing is signed, nothing verifies */
	assert_int_equal(nw_report_mac_sign(0, msg, sizeof(msg), &key, got), -1);
	assert_int_equal(nw_report_mac_sign(NW_REPORT_MAC_FLAGS, msg, sizeof(msg), &key, got), -1);
	assert_int_equal(nw_report_mac_verify(0, msg, sizeof(msg), got, &key), 0);
}

static void test_mac(void **state)
{
	(void)state;
	check_mac_kind(NW_REPORT_FLAG_MAC_XCHACHA);
	check_mac_kind(NW_REPORT_FLAG_MAC_BLAKE2B); /* racks not yet upgraded */
	check_mac_kind(NW_REPORT_FLAG_MAC);
	old_mac_kinds();
}

/* The encoder writes XChaCha20-Poly1305: the flag, a 24-byte nonce and a
 * 16-byte tag that libsodium's AEAD accepts for an empty message with the
 * header and payload as additional data under subkey 4 - the definition
 * docs/report-protocol.md and the Python tests use. The nonce is fresh per
 * frame. */
static void test_encode_mac_kind(void **state)
{
	struct nw_report_server s = { .id = 12, .cls = NW_HEALTH_HEALTHY, .loss_ratio = 0 };
	struct nw_report r = { .rack_id = 3,
			       .seq = 1,
			       .interval_s = 1.0,
			       .rack_score = 1,
			       .nservers = 1,
			       .servers = &s };
	struct nw_keys key;
	struct nw_buf buf = { 0 }, again = { 0 };
	const uint8_t *nonce, *tag;
	static const uint8_t empty[1]; /* an empty ciphertext */
	size_t body;

	(void)state;
	s.error = s.snr_db = NAN;
	keys_for_test(&key, 5);
	assert_int_equal(nw_report_encode(&r, &key, &buf), 0);
	assert_int_equal((uint8_t)buf.p[4], NW_REPORT_FLAG_MAC_XCHACHA);
	body = buf.len - 40;
	nonce = (const uint8_t *)buf.p + body;
	tag = nonce + 24;
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt_detached(NULL, NULL, empty, 0,
									     tag,
									     (const uint8_t *)buf.p,
									     body, nonce,
									     key.report_aead),
			 0);
	/* not under the BLAKE2b subkey: one algorithm per subkey */
	assert_int_not_equal(crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
				     NULL, NULL, empty, 0, tag, (const uint8_t *)buf.p, body, nonce,
				     key.report_mac),
			     0);
	/* the same report again: the same body, another nonce and tag */
	assert_int_equal(nw_report_encode(&r, &key, &again), 0);
	assert_int_equal(again.len, buf.len);
	assert_memory_equal(again.p, buf.p, body);
	assert_memory_not_equal(again.p + body, nonce, 24);
	nw_buf_free(&again);
	nw_buf_free(&buf);
}

/* ------------------------------------------------------------ encoder */

static void test_encode_refuses(void **state)
{
	struct nw_report_server s[2];
	struct nw_report r;
	struct nw_buf buf = { 0 };

	(void)state;
#define REFUSED(mutate)                                                 \
	do {                                                            \
		fill_report(&r, s, 2);                                  \
		mutate;                                                 \
		assert_int_equal(nw_report_encode(&r, NULL, &buf), -1); \
	} while (0)
	fill_report(&r, s, 2);
	assert_int_equal(nw_report_encode(&r, NULL, &buf), 0);
	REFUSED(r.rack_id = NW_REPORT_MAX_RACK + 1);
	REFUSED(r.seq = 0);
	REFUSED(r.seq = (uint64_t)INT64_MAX + 1);
	REFUSED(r.boot_ns = UINT64_MAX);
	REFUSED(r.time_ns = (uint64_t)INT64_MAX + 1);
	REFUSED(r.interval_s = 0);
	REFUSED(r.interval_s = NAN);
	REFUSED(r.interval_s = 3601);
	REFUSED(r.rack_score = NAN);
	REFUSED(r.rack_score = 1.5);
	REFUSED(r.rack_score = -INFINITY);
	REFUSED(r.nservers = NW_REPORT_MAX_SERVERS + 1);
	REFUSED(r.servers = NULL);
	REFUSED(s[1].id = s[0].id);
	REFUSED(s[0].cls = NW_HEALTH__COUNT);
	REFUSED(s[0].error = 1.01);
	REFUSED(s[0].snr_db = -400.01);
	REFUSED(s[0].loss_ratio = NAN);
	REFUSED(s[0].loss_ratio = -0.5);
	REFUSED(s[0].jitter_s = INFINITY);
	REFUSED(s[0].jitter_s = -1);
	assert_int_equal(buf.len, 0);

	/* non-finite error / SNR are "not analysed yet": written as null */
	fill_report(&r, s, 2);
	s[0].error = INFINITY;
	s[0].snr_db = -INFINITY;
	s[1].error = NAN;
	assert_int_equal(nw_report_encode(&r, NULL, &buf), 0);
	assert_non_null(strstr(buf.p + NW_REPORT_HDR_LEN, "\"error\":null,\"snr_db\":null"));
	assert_null(strstr(buf.p + NW_REPORT_HDR_LEN, "NaN"));
	assert_null(strstr(buf.p + NW_REPORT_HDR_LEN, "nf"));
	nw_buf_free(&buf);
#undef REFUSED
}

/* The longest values in every field of a full report still fit the limits. */
static void test_worst_case_size(void **state)
{
	struct nw_report_server *s = calloc(NW_REPORT_MAX_SERVERS, sizeof(*s));
	struct nw_report_path *p = calloc(NW_REPORT_MAX_PATHS, sizeof(*p));
	struct nw_keys key;
	struct nw_report r, got;
	struct nw_buf buf = { 0 };

	(void)state;
	assert_non_null(s);
	assert_non_null(p);
	keys_for_test(&key, 3);
	fill_report(&r, s, NW_REPORT_MAX_SERVERS);
	r.boot_ns = r.time_ns = r.seq = INT64_MAX;
	r.interval_s = 1.23456789e-300;
	r.rack_score = 0.123456789;
	for (uint32_t i = 0; i < NW_REPORT_MAX_SERVERS; i++) {
		s[i].id = UINT32_MAX - i;
		s[i].cls = NW_HEALTH_CRITICAL;
		s[i].error = 1.23456789e-300;
		s[i].snr_db = -1.23456789e-300;
		s[i].loss_ratio = 1.23456789e-300;
		s[i].jitter_s = 1.23456789e-300;
		s[i].up = 0;
		s[i].since_ns = INT64_MAX;
		s[i].period_s = 1.23456789e-300;
	}
	assert_int_equal(nw_report_encode(&r, &key, &buf), 0);
	print_message("worst-case 16384-server frame: %zu bytes (limit %u)\n", buf.len,
		      NW_REPORT_MAX_PAYLOAD);
	assert_true(buf.len <= NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + NW_REPORT_MAC_LEN);
	assert_int_equal(nw_report_parse((const uint8_t *)buf.p, buf.len, &key, &got), NW_REJ_OK);
	assert_int_equal(got.nservers, NW_REPORT_MAX_SERVERS);
	nw_report_free(&got);
	/* All 4096 path rows at their longest fit beside 8192 such servers
	 * (both at their maxima would not: 4.6 MB; the encoder refuses it). */
	r.rack_id = 0;
	r.nservers = NW_REPORT_MAX_SERVERS / 2;
	r.npaths = NW_REPORT_MAX_PATHS;
	r.paths = p;
	for (uint32_t i = 0; i < NW_REPORT_MAX_PATHS; i++)
		p[i] = (struct nw_report_path){ .src_rack = 65535 - NW_REPORT_MAX_PATHS + 1 + i,
						.cls = NW_HEALTH_CRITICAL,
						.error = 1.23456789e-300,
						.loss_ratio = 1.23456789e-300,
						.latency_p50_s = 1.23456789e-300,
						.latency_p99_s = 1.23456789e-300,
						.period_s = 1.23456789e-300,
						.mesh_epoch = 65535,
						.since_ns = INT64_MAX };
	assert_int_equal(nw_report_encode(&r, &key, &buf), 0);
	print_message("worst-case 8192-server, 4096-path frame: %zu bytes\n", buf.len);
	assert_true(buf.len <= NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + NW_REPORT_MAC_LEN);
	assert_int_equal(nw_report_parse((const uint8_t *)buf.p, buf.len, &key, &got), NW_REJ_OK);
	assert_int_equal(got.npaths, NW_REPORT_MAX_PATHS);
	nw_report_free(&got);
	nw_buf_free(&buf);
	free(p);
	free(s);
}

/* ------------------------------------------------------------ misc */

static void test_is_newer(void **state)
{
	(void)state;
	assert_true(nw_report_is_newer(0, 0, 0, 1));
	assert_true(nw_report_is_newer(100, 5, 100, 6));
	assert_false(nw_report_is_newer(100, 5, 100, 5)); /* replay */
	assert_false(nw_report_is_newer(100, 5, 100, 4));
	assert_true(nw_report_is_newer(100, 5, 101, 1));       /* rack restarted */
	assert_false(nw_report_is_newer(100, 5, 99, 1000000)); /* an older boot */
	assert_false(nw_report_is_newer(UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX));
	assert_true(nw_report_is_newer(UINT64_MAX, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX));
}

static void test_reject_names(void **state)
{
	(void)state;
	assert_string_equal(nw_report_reject_name(NW_REJ_BAD_FRAME), "bad_frame");
	assert_string_equal(nw_report_reject_name(NW_REJ_TOO_MANY_SERVERS), "too_many_servers");
	assert_string_equal(nw_report_reject_name(NW_REJ_RACK_CLAIMED), "rack_claimed");
	assert_string_equal(nw_report_reject_name(NW_REJ__COUNT), "unknown");
	for (int i = 0; i < NW_REJ__COUNT; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(nw_report_reject_name(i), nw_report_reject_name(j));
}

/* The example in docs/report-protocol.md, byte for byte. */
static void test_doc_example(void **state)
{
	static const uint8_t hdr[NW_REPORT_HDR_LEN] = { 0x4E, 0x57, 0x52, 0x01, 0, 0,
							0,    0,    0,    0,    0, 0xEC };
	static const char payload[] =
		"{\"v\":1,\"rack_id\":3,\"boot_ns\":1764000000000000000,\"seq\":1,"
		"\"time_ns\":1764000001000000000,\"interval_s\":1.0,\"rack_score\":0.97,"
		"\"servers\":[{\"id\":12,\"class\":\"healthy\",\"error\":0.013,\"snr_db\":18.9,"
		"\"loss_ratio\":0.0,\"jitter_s\":0.00012,\"up\":true}]}";
	struct nw_report_server s = { .id = 12,
				      .cls = NW_HEALTH_HEALTHY,
				      .error = 0.013,
				      .snr_db = 18.9,
				      .loss_ratio = 0,
				      .jitter_s = 0.00012,
				      .up = 1 };
	struct nw_report r = { .rack_id = 3,
			       .boot_ns = 1764000000000000000ULL,
			       .seq = 1,
			       .time_ns = 1764000001000000000ULL,
			       .interval_s = 1,
			       .rack_score = 0.97,
			       .nservers = 1,
			       .servers = &s };
	struct nw_buf buf = { 0 };

	(void)state;
	assert_int_equal(sizeof(payload) - 1, 0xEC);
	assert_int_equal(nw_report_encode(&r, NULL, &buf), 0);
	assert_int_equal(buf.len, NW_REPORT_HDR_LEN + sizeof(payload) - 1);
	assert_memory_equal(buf.p, hdr, sizeof(hdr));
	assert_memory_equal(buf.p + NW_REPORT_HDR_LEN, payload, sizeof(payload) - 1);
	nw_buf_free(&buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_paths_round_trip),
		cmocka_unit_test(test_reject_table),
		cmocka_unit_test(test_values_read),
		cmocka_unit_test(test_server_counts),
		cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_encode_mac_kind),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_worst_case_size),
		cmocka_unit_test(test_is_newer),
		cmocka_unit_test(test_reject_names),
		cmocka_unit_test(test_doc_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
