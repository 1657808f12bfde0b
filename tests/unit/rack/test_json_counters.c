/* SPDX-License-Identifier: MIT */
/*
 * Counters above 2^63 in the rack's JSON (--dump; /api/v1/rack uses the
 * same helper): never negative, exact below 2^63, and non-decreasing as
 * the counter grows. A forged goodbye can push `lost` there (issue 15).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <cmocka.h>

#include "dump.h"
#include "json_u64.h"

static double num(const json_t *v)
{
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void test_helper_exact_below_and_positive_above(void **state)
{
	static const uint64_t vals[] = {
		0, 1, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, (1ULL << 63) + 12345, UINT64_MAX
	};
	double prev = -1;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		json_t *v = nw_json_u64(vals[i]);
		char *text = json_dumps(v, JSON_ENCODE_ANY);

		assert_non_null(text);
		assert_true(text[0] != '-');
		if (vals[i] <= (uint64_t)INT64_MAX) {
			assert_true(json_is_integer(v));
			assert_true((uint64_t)json_integer_value(v) == vals[i]);
		}
		assert_true(num(v) >= prev);
		assert_true(num(v) >= 9.2e18 || vals[i] < (1ULL << 62));
		prev = num(v);
		free(text);
		json_decref(v);
	}
}

static void test_dump_counters_above_2_63(void **state)
{
	struct nw_dump_info info = { .rack = 1, .hook = "socket", .port = 9999 };
	struct nw_server_rx rx = { .slot = 0, .server_id = 7, .registered = 1 };
	struct nw_dump_server srv;
	struct nw_stats stats;
	json_t *doc, *s;
	char *text;

	(void)state;
	memset(&stats, 0, sizeof(stats));
	memset(&srv, 0, sizeof(srv));
	stats.packets = (1ULL << 63) + 80;
	srv.st.server_id = 7;
	srv.st.lost = 9223372036854775727ULL + (1ULL << 62); /* past 2^63 */
	srv.st.received = 5;
	srv.rx = &rx;
	text = nw_dump_json(&info, &stats, &srv, 1);
	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_true(num(json_object_get(json_object_get(doc, "stats"), "packets")) > 9.2e18);
	s = json_array_get(json_object_get(doc, "servers"), 0);
	assert_non_null(s);
	assert_true(num(json_object_get(s, "lost")) > 9.2e18);
	assert_true(json_integer_value(json_object_get(s, "received")) == 5);
	json_decref(doc);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_exact_below_and_positive_above),
		cmocka_unit_test(test_dump_counters_above_2_63),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
