// SPDX-License-Identifier: MIT
/*
 * The DC's /metrics cardinality (issue 20): with more racks than
 * --rack-detail-max the per-rack detail families leave the page, while
 * what the rules, alerts and shard sums read stays: every rack's score and
 * stale flag, the DC score, its numerator and the rack counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dc_metrics.h"

#define S 1000000000ULL
#define WALL (1764000000ULL * S)

/* Three expected racks; racks 0 and 1 reported at 1 s, rack 2 never did. */
static void fill(struct dc_state *st)
{
	struct dc_cfg cfg = { .racks_expected = 3,
			      .max_racks = 16,
			      .stale_s = 5,
			      .max_skew_s = 300,
			      .forget_s = 60,
			      .max_servers_total = 1000 };

	assert_int_equal(dc_state_init(st, &cfg), 0);
	for (uint32_t rack = 0; rack < 2; rack++) {
		struct nw_report r = { .rack_id = rack,
				       .boot_ns = 1,
				       .seq = 1,
				       .time_ns = WALL,
				       .interval_s = 1,
				       .rack_score = 0.5 };
		uint32_t conn_rack = DC_NO_RACK;
		uint64_t ev = 0;

		assert_int_equal(dc_state_offer(st, &r, rack + 1, &conn_rack, WALL, 1 * S, &ev),
				 NW_REJ_OK);
	}
}

static char *page(const struct dc_state *st, uint32_t detail_max)
{
	struct dc_view v = { .dc_id = "fra1", .state = st, .rack_detail_max = detail_max };
	struct nw_buf out = { 0 };

	assert_int_equal(dc_metrics_render(&v, 2 * S, &out), 0);
	nw_buf_put(&out, "", 1);
	assert_false(out.failed);
	return out.p;
}

static const char *const kept[] = {
	"netwatch_dc_health_score{dc_id=\"fra1\"} 0.333333333333",
	"netwatch_dc_score_numerator{dc_id=\"fra1\"} 1\n",
	"netwatch_dc_racks_known{dc_id=\"fra1\"} 3\n",
	"netwatch_dc_racks{dc_id=\"fra1\",state=\"never\"} 1\n",
	"netwatch_dc_rack_health_score{dc_id=\"fra1\",rack_id=\"1\"} 0.5\n",
	"netwatch_dc_rack_stale{dc_id=\"fra1\",rack_id=\"2\"} 1\n",
};

static const char *const detail[] = {
	"netwatch_dc_rack_report_age_seconds{",
	"netwatch_dc_rack_state{",
	"netwatch_dc_rack_servers{",
	"netwatch_dc_rack_reports_accepted_total{",
	"# TYPE netwatch_dc_rack_state gauge",
};

static void test_detail_up_to_the_limit(void **state)
{
	struct dc_state st;
	char *full, *lean;

	(void)state;
	fill(&st);
	full = page(&st, 3); /* 3 racks known: at the limit, every family */
	lean = page(&st, 2);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		assert_non_null(strstr(full, kept[i]));
		assert_non_null(strstr(lean, kept[i]));
	}
	for (size_t i = 0; i < sizeof(detail) / sizeof(detail[0]); i++) {
		assert_non_null(strstr(full, detail[i]));
		assert_null(strstr(lean, detail[i]));
	}
	assert_non_null(strstr(full, "netwatch_dc_rack_state{dc_id=\"fra1\",rack_id=\"2\","
				     "state=\"never\"} 1\n"));
	assert_true(strlen(lean) < strlen(full));
	free(full);
	free(lean);
	dc_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detail_up_to_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
