/* SPDX-License-Identifier: MIT */
/*
 * user/common/prom.c, the Prometheus text helpers both /metrics pages
 * (netwatch-rack, netwatch-dc) are written with: escaping, numbers, and
 * whole counter, gauge and histogram families as a scraper reads them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "prom.h"

static struct nw_buf b;

static int reset(void **state)
{
	(void)state;
	nw_buf_reset(&b);
	return 0;
}

static int release(void **state)
{
	(void)state;
	nw_buf_free(&b);
	return 0;
}

static void test_label_value(void **state)
{
	(void)state;
	nw_prom_label_value(&b, "a\\b\"c\nd'e{f}=g");
	assert_false(b.failed);
	assert_string_equal(b.p, "a\\\\b\\\"c\\nd'e{f}=g");
	nw_buf_reset(&b);
	nw_prom_label_value(&b, NULL); /* an unknown value is an empty one */
	nw_prom_label_value(&b, "");
	assert_int_equal(b.len, 0);
}

static void test_help(void **state)
{
	(void)state;
	/* HELP escapes backslash and newline only; a quote stays. */
	nw_prom_family(&b, "x_total", "counter", "a \"q\" \\ b\nc");
	assert_string_equal(b.p, "# HELP x_total a \"q\" \\\\ b\\nc\n# TYPE x_total counter\n");
	nw_buf_reset(&b);
	nw_prom_family(&b, "y", "gauge", "");
	assert_string_equal(b.p, "# HELP y \n# TYPE y gauge\n");
}

static void number_is(double x, const char *want)
{
	nw_buf_reset(&b);
	nw_prom_number(&b, x);
	assert_string_equal(b.p, want);
}

static void test_number(void **state)
{
	(void)state;
	number_is(NAN, "NaN");
	number_is(-NAN, "NaN");
	number_is(INFINITY, "+Inf");
	number_is(-INFINITY, "-Inf");
	number_is(0.0, "0");
	number_is(-0.0, "-0");
	number_is(1.0, "1");
	number_is(0.05, "0.05");                     /* shortest that reads back, not %.17g */
	number_is(0.1 + 0.2, "0.30000000000000004"); /* needs all 17 digits */
	number_is(1e300, "1e+300");
	number_is(1.7976931348623157e308, "1.7976931348623157e+308"); /* finite */
	number_is(-200.5, "-200.5");
	number_is(123456789012.0, "123456789012");
}

static void test_families(void **state)
{
	static const char want[] = "# HELP nw_rx_total Samples received\n"
				   "# TYPE nw_rx_total counter\n"
				   "nw_rx_total{rack_id=\"3\",server_id=\"7\"} 18446744073709551615\n"
				   "nw_rx_total{rack_id=\"3\",reason=\"magic\"} 0\n"
				   "# HELP nw_score Score, 0..1\n"
				   "# TYPE nw_score gauge\n"
				   "nw_score{dc_id=\"a\\\"b\"} 0.25\n"
				   "nw_score{dc_id=\"a\\\"b\",rack_id=\"1\"} NaN\n"
				   "# HELP nw_lat_ms Latency\n"
				   "# TYPE nw_lat_ms histogram\n"
				   "nw_lat_ms_bucket{rack_id=\"3\",le=\"0.5\"} 1\n"
				   "nw_lat_ms_bucket{rack_id=\"3\",le=\"1\"} 3\n"
				   "nw_lat_ms_bucket{rack_id=\"3\",le=\"+Inf\"} 4\n"
				   "nw_lat_ms_sum{rack_id=\"3\"} 7.25\n"
				   "nw_lat_ms_count{rack_id=\"3\"} 4\n";
	static const double bounds[] = { 0.5, 1.0, INFINITY };
	static const uint64_t per_bucket[] = { 1, 2, 1 };
	struct nw_buf dc = { 0 };
	uint64_t cum = 0;

	(void)state;
	nw_prom_family(&b, "nw_rx_total", "counter", "Samples received");
	nw_prom_sample_u64(&b, "nw_rx_total", "rack_id=\"3\",server_id=\"7\"", NULL, UINT64_MAX);
	nw_prom_sample_u64(&b, "nw_rx_total", "rack_id=\"3\"", ",reason=\"magic\"", 0);

	nw_buf_put(&dc, "dc_id=\"", 7);
	nw_prom_label_value(&dc, "a\"b");
	nw_buf_put(&dc, "\"", 1);
	nw_prom_family(&b, "nw_score", "gauge", "Score, 0..1");
	nw_prom_sample(&b, "nw_score", dc.p, NULL, 0.25);
	nw_prom_sample(&b, "nw_score", dc.p, ",rack_id=\"1\"", NAN);
	nw_buf_free(&dc);

	nw_prom_family(&b, "nw_lat_ms", "histogram", "Latency");
	for (size_t k = 0; k < 3; k++) {
		cum += per_bucket[k];
		nw_prom_bucket(&b, "nw_lat_ms", "rack_id=\"3\"", bounds[k], cum);
	}
	nw_prom_histogram_end(&b, "nw_lat_ms", "rack_id=\"3\"", 7.25, cum);
	assert_false(b.failed);
	assert_string_equal(b.p, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_label_value, reset),
		cmocka_unit_test_setup(test_help, reset),
		cmocka_unit_test_setup(test_number, reset),
		cmocka_unit_test_setup(test_families, reset),
	};

	return cmocka_run_group_tests(tests, NULL, release);
}
