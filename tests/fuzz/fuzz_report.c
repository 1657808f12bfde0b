// SPDX-License-Identifier: MIT
/*
 * libFuzzer over the rack -> DC report codec (report.h). Each input is tried
 * three ways:
 *   1. as a whole frame, without a key and with a fixed key;
 *   2. as a payload, framed and MAC'ed here with the fixed key, so the
 *      JSON checks behind the MAC are reached (the fuzzer cannot forge one);
 *      XChaCha20-Poly1305, keyed BLAKE2b or HMAC-SHA-256 (the old racks'
 *      kinds) by the input's length, so every verifier sees every kind of
 *      payload;
 * and every accepted report is checked against its ranges, then encoded
 * again and parsed back: whatever the DC accepts, a rack could have sent,
 * and the second reading says the same. Every frame is also read by the
 * jansson DOM reference (tests/lib/report_ref.c): the streaming parser must
 * accept exactly what it accepts, with the same values to the bit, and
 * refuse for the same reason (a syntax-level NW_REJ_JSON may stand in for
 * another reason: the pre-scan finds bad UTF-8 and escapes before yajl
 * reaches an earlier error). Two refusals the reference does not have:
 * TOO_LARGE for over NW_REPORT_MAX_UNKNOWN_KEYS keys, and JSON for a raw
 * NUL byte, which jansson skips.
 *
 * Seeds: tests/fuzz/seeds/fuzz_report/, written by
 *   NW_FUZZ_WRITE_SEEDS=tests/fuzz/seeds/fuzz_report build/fuzz/fuzz_report -runs=0
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed.h"
#include "report.h"
#include "report_frame.h"
#include "report_ref.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct nw_keys g_key; /* fixed for the run: set once in LLVMFuzzerInitialize */

static int same(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	/* 9 significant digits on the wire */
	return fabs(a - b) <= 1e-8 * fabs(a) + 1e-300;
}

static void check_ranges(const struct nw_report *r)
{
	CHECK(r->rack_id <= NW_REPORT_MAX_RACK);
	CHECK(r->seq >= 1 && r->seq <= INT64_MAX);
	CHECK(r->boot_ns <= INT64_MAX && r->time_ns <= INT64_MAX);
	CHECK(r->interval_s > 0 && r->interval_s <= NW_REPORT_MAX_INTERVAL_S);
	CHECK(r->rack_score >= 0 && r->rack_score <= 1);
	CHECK(r->nservers <= NW_REPORT_MAX_SERVERS);
	CHECK((r->nservers == 0) == (r->servers == NULL));
	for (uint32_t i = 0; i < r->nservers; i++) {
		const struct nw_report_server *s = &r->servers[i];

		CHECK(i == 0 || s->id > r->servers[i - 1].id); /* sorted, unique */
		CHECK((unsigned)s->cls < NW_HEALTH__COUNT);
		CHECK(isnan(s->error) || (s->error >= 0 && s->error <= 1));
		CHECK(isnan(s->snr_db) || fabs(s->snr_db) <= NW_REPORT_SNR_LIMIT_DB);
		CHECK(s->loss_ratio >= 0 && s->loss_ratio <= 1);
		CHECK(s->jitter_s >= 0 && s->jitter_s <= 3600);
		CHECK(s->up == 0 || s->up == 1);
	}
}

/* An accepted report must encode, and read back as itself. */
static void check_round_trip(const struct nw_report *r, const struct nw_keys *keys)
{
	struct nw_buf buf = { 0 };
	struct nw_report b;

	CHECK(nw_report_encode(r, keys, &buf) == 0);
	CHECK(nw_report_parse((const uint8_t *)buf.p, buf.len, keys, &b) == NW_REJ_OK);
	CHECK(b.authenticated == (keys && keys->present));
	CHECK(b.rack_id == r->rack_id && b.boot_ns == r->boot_ns && b.seq == r->seq &&
	      b.time_ns == r->time_ns && b.nservers == r->nservers);
	CHECK(same(b.interval_s, r->interval_s) && same(b.rack_score, r->rack_score));
	for (uint32_t i = 0; i < r->nservers; i++) {
		const struct nw_report_server *x = &r->servers[i], *y = &b.servers[i];

		CHECK(x->id == y->id && x->cls == y->cls && x->up == y->up);
		CHECK(same(x->error, y->error) && same(x->snr_db, y->snr_db));
		CHECK(same(x->loss_ratio, y->loss_ratio) && same(x->jitter_s, y->jitter_s));
	}
	nw_report_free(&b);
	nw_buf_free(&buf);
}

static int same_bits(double a, double b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof(a)) == 0;
}

static int payload_has_nul(const uint8_t *f, size_t len)
{
	size_t flen;

	if (len < NW_REPORT_HDR_LEN || nw_report_frame_header(f, &flen) != NW_REJ_OK || flen != len)
		return 0;
	return memchr(f + NW_REPORT_HDR_LEN, 0,
		      len - NW_REPORT_HDR_LEN - nw_report_mac_len(f[4])) != NULL;
}

/* The streaming parser against the DOM reference, on the same frame. */
static void check_against_reference(const uint8_t *f, size_t len, const struct nw_keys *keys,
				    enum nw_report_reject rej, const struct nw_report *r)
{
	struct nw_report ref;
	enum nw_report_reject want = nw_report_parse_ref(f, len, keys, &ref);

	if ((rej == NW_REJ_TOO_LARGE && want != NW_REJ_TOO_LARGE) ||
	    (rej == NW_REJ_JSON && payload_has_nul(f, len))) {
		/* the unknown-key limit: the reference has none; and jansson skips
		 * raw NUL bytes in its input (its stream reader takes a 0 byte for
		 * the end of its look-ahead buffer), which JSON does not allow and
		 * the streaming parser refuses */
		nw_report_free(&ref);
		return;
	}
	if (want != rej) {
		if (!((want == NW_REJ_JSON || rej == NW_REJ_JSON) && want != NW_REJ_OK &&
		      rej != NW_REJ_OK))
			fprintf(stderr, "streaming %s, reference %s\n", nw_report_reject_name(rej),
				nw_report_reject_name(want));
		CHECK((want == NW_REJ_JSON || rej == NW_REJ_JSON) && want != NW_REJ_OK &&
		      rej != NW_REJ_OK);
	}
	CHECK(ref.authenticated == r->authenticated);
	if (rej == NW_REJ_OK) {
		CHECK(ref.rack_id == r->rack_id && ref.boot_ns == r->boot_ns && ref.seq == r->seq &&
		      ref.time_ns == r->time_ns && ref.nservers == r->nservers);
		CHECK(same_bits(ref.interval_s, r->interval_s) &&
		      same_bits(ref.rack_score, r->rack_score));
		for (uint32_t i = 0; i < r->nservers; i++) {
			const struct nw_report_server *x = &ref.servers[i], *y = &r->servers[i];

			CHECK(x->id == y->id && x->cls == y->cls && x->up == y->up);
			CHECK(same_bits(x->error, y->error) && same_bits(x->snr_db, y->snr_db));
			CHECK(same_bits(x->loss_ratio, y->loss_ratio) &&
			      same_bits(x->jitter_s, y->jitter_s));
		}
	}
	nw_report_free(&ref);
}

static void parse_one(const uint8_t *f, size_t len, const struct nw_keys *keys)
{
	struct nw_report r;
	enum nw_report_reject rej = nw_report_parse(f, len, keys, &r);

	check_against_reference(f, len, keys, rej, &r);

	CHECK((unsigned)rej < NW_REJ__COUNT);
	/* the codec never decides replay or rack ownership: the DC does */
	CHECK(rej != NW_REJ_REPLAY && rej != NW_REJ_RACK_CLAIMED);
	if (rej == NW_REJ_OK) {
		size_t flen;

		CHECK(len >= NW_REPORT_HDR_LEN);
		CHECK(nw_report_frame_header(f, &flen) == NW_REJ_OK && flen == len);
		CHECK(r.authenticated == (keys && keys->present));
		check_ranges(&r);
		check_round_trip(&r, keys);
	} else {
		CHECK(r.servers == NULL && r.nservers == 0);
	}
	nw_report_free(&r);
}

static void write_seeds(const char *dir)
{
	struct nw_report_server s[3] = {
		{ .id = 12,
		  .cls = NW_HEALTH_HEALTHY,
		  .error = 0.013,
		  .snr_db = 18.9,
		  .loss_ratio = 0,
		  .jitter_s = 0.00012,
		  .up = 1 },
		{ .id = 7,
		  .cls = NW_HEALTH_DOWN,
		  .error = NAN,
		  .snr_db = NAN,
		  .loss_ratio = 1,
		  .jitter_s = 0,
		  .up = 0 },
		{ .id = 4294967295u,
		  .cls = NW_HEALTH_CRITICAL,
		  .error = 1,
		  .snr_db = -400,
		  .loss_ratio = 0.5,
		  .jitter_s = 3600,
		  .up = 1 },
	};
	struct nw_report r = { .rack_id = 3,
			       .boot_ns = 1764000000123456789ULL,
			       .seq = 42,
			       .time_ns = 1764000042123456789ULL,
			       .interval_s = 1.0,
			       .rack_score = 0.97,
			       .nservers = 3,
			       .servers = s };
	struct nw_report_path paths[2] = {
		{ .src_rack = 1,
		  .cls = NW_HEALTH_WARNING,
		  .error = 0.31,
		  .loss_ratio = 0.3,
		  .latency_p50_s = 0.00021,
		  .latency_p99_s = 0.0009,
		  .period_s = 2.5,
		  .mesh_epoch = 41,
		  .since_ns = 1764000040000000000ULL },
		{ .src_rack = 7,
		  .cls = NW_HEALTH_HEALTHY,
		  .error = NAN,
		  .latency_p50_s = NAN,
		  .latency_p99_s = NAN,
		  .period_s = NAN },
	};
	struct nw_buf buf = { 0 };
	static const char dup[] = "{\"v\":1,\"v\":1}";
	size_t len;
	uint8_t *f;

	CHECK(nw_report_encode(&r, NULL, &buf) == 0);
	write_seed(dir, "three-servers", (const uint8_t *)buf.p, buf.len);
	/* the same payload alone: path 2 frames and MACs it */
	write_seed(dir, "three-servers-payload", (const uint8_t *)buf.p + NW_REPORT_HDR_LEN,
		   buf.len - NW_REPORT_HDR_LEN);
	CHECK(nw_report_encode(&r, &g_key, &buf) == 0);
	write_seed(dir, "three-servers-mac", (const uint8_t *)buf.p, buf.len);
	/* issue 16: a degraded server's onset and period, and paths_in rows */
	s[2].since_ns = 1764000040000000000ULL;
	s[2].period_s = 2.5;
	r.paths = paths;
	r.npaths = 2;
	CHECK(nw_report_encode(&r, NULL, &buf) == 0);
	write_seed(dir, "paths-in", (const uint8_t *)buf.p, buf.len);
	write_seed(dir, "paths-in-payload", (const uint8_t *)buf.p + NW_REPORT_HDR_LEN,
		   buf.len - NW_REPORT_HDR_LEN);
	r.npaths = 0;
	r.nservers = 0;
	CHECK(nw_report_encode(&r, NULL, &buf) == 0);
	write_seed(dir, "no-servers", (const uint8_t *)buf.p, buf.len);
	f = nw_test_frame((const uint8_t *)dup, sizeof(dup) - 1, NULL, 0, &len);
	CHECK(f);
	write_seed(dir, "duplicate-key", f, len);
	free(f);
	/* a rack from before BLAKE2b: the same report under HMAC-SHA-256 */
	r.nservers = 3;
	CHECK(nw_report_encode(&r, NULL, &buf) == 0);
	f = nw_test_frame((const uint8_t *)buf.p + NW_REPORT_HDR_LEN, buf.len - NW_REPORT_HDR_LEN,
			  &g_key, NW_REPORT_FLAG_MAC, &len);
	CHECK(f);
	write_seed(dir, "three-servers-hmac", f, len);
	free(f);
	/* and under keyed BLAKE2b, what racks sent before XChaCha20-Poly1305 */
	f = nw_test_frame((const uint8_t *)buf.p + NW_REPORT_HDR_LEN, buf.len - NW_REPORT_HDR_LEN,
			  &g_key, NW_REPORT_FLAG_MAC_BLAKE2B, &len);
	CHECK(f);
	write_seed(dir, "three-servers-blake2b", f, len);
	free(f);
	nw_buf_free(&buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t master[NW_KEY_MASTER_LEN];
	const char *dir = getenv("NW_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	memset(master, 0x5a, sizeof(master));
	CHECK(nw_keys_derive(&g_key, master) == 0);
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_keys none = { 0 };

	/* 1. a frame as it came off the wire */
	if (size >= NW_REPORT_HDR_LEN) {
		size_t flen;

		if (nw_report_frame_header(data, &flen) == NW_REJ_OK)
			CHECK(flen >= NW_REPORT_HDR_LEN + 2 &&
			      flen <= NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD +
					      NW_REPORT_MAC_LEN);
	}
	parse_one(data, size, &none);
	parse_one(data, size, &g_key);

	/* 2. a payload behind a valid MAC */
	if (size >= 2 && size <= NW_REPORT_MAX_PAYLOAD) {
		size_t len;
		static const uint8_t kinds[] = { NW_REPORT_FLAG_MAC_XCHACHA, NW_REPORT_FLAG_MAC,
						 NW_REPORT_FLAG_MAC_BLAKE2B };
		uint8_t kind = kinds[size % 3];
		uint8_t *f = nw_test_frame(data, size, &g_key, kind, &len);
		struct nw_report r;
		enum nw_report_reject rej;

		if (!f)
			return 0;
		rej = nw_report_parse(f, len, &g_key, &r);
		CHECK(rej != NW_REJ_AUTH && rej != NW_REJ_BAD_FRAME && rej != NW_REJ_TRUNCATED);
		CHECK(r.authenticated == 1); /* kept on a content reject */
		nw_report_free(&r);
		parse_one(f, len, &g_key);
		free(f);
	}
	return 0;
}
