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

#include "report.h"

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
		};
	}
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = ((const struct nw_report_server *)a)->id, y = ((const struct nw_report_server *)b)->id;

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
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
