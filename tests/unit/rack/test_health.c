// SPDX-License-Identifier: MIT
/* health.h, the one home of class, shown state and rack score, at its
 * boundaries (liveness: test_liveness.c). test_rack_view.c checks the view
 * applies both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "health.h"

/* error < 0.2 healthy; 0.2 <= error <= 0.5 warning; > 0.5 critical. */
static void test_class_boundaries(void **state)
{
	(void)state;
	assert_int_equal(nw_health_class_of(0.0), NW_HEALTH_HEALTHY);
	assert_int_equal(nw_health_class_of(0.19), NW_HEALTH_HEALTHY);
	assert_int_equal(nw_health_class_of(0.19999999), NW_HEALTH_HEALTHY);
	assert_int_equal(nw_health_class_of(0.2), NW_HEALTH_WARNING);
	assert_int_equal(nw_health_class_of(0.35), NW_HEALTH_WARNING);
	assert_int_equal(nw_health_class_of(0.5), NW_HEALTH_WARNING);
	assert_int_equal(nw_health_class_of(0.50000001), NW_HEALTH_CRITICAL);
	assert_int_equal(nw_health_class_of(0.51), NW_HEALTH_CRITICAL);
	assert_int_equal(nw_health_class_of(1.0), NW_HEALTH_CRITICAL);
	assert_int_equal(nw_health_class_of(NAN), NW_HEALTH_CRITICAL);
	assert_string_equal(nw_health_name(nw_health_class_of(0.3)), "warning");
}

/* Left wins over everything; down over any analysis; the analysis class
 * once measured; warming while up and not measured yet (never a presumed
 * healthy). */
static void test_state_of(void **state)
{
	(void)state;
	assert_int_equal(nw_health_state_of(true, true, true, NW_HEALTH_CRITICAL), NW_HEALTH_LEFT);
	assert_int_equal(nw_health_state_of(true, false, false, NW_HEALTH_HEALTHY), NW_HEALTH_LEFT);
	assert_int_equal(nw_health_state_of(false, false, true, NW_HEALTH_HEALTHY), NW_HEALTH_DOWN);
	assert_int_equal(nw_health_state_of(false, true, true, NW_HEALTH_WARNING),
			 NW_HEALTH_WARNING);
	assert_int_equal(nw_health_state_of(false, true, true, NW_HEALTH_CRITICAL),
			 NW_HEALTH_CRITICAL);
	assert_int_equal(nw_health_state_of(false, true, false, NW_HEALTH_CRITICAL),
			 NW_HEALTH_WARMING);
	assert_int_equal(nw_health_state_of(false, true, false, NW_HEALTH_HEALTHY),
			 NW_HEALTH_WARMING);
	/* The analysis says warming itself while its scales start over. */
	assert_int_equal(nw_health_state_of(false, true, true, NW_HEALTH_WARMING),
			 NW_HEALTH_WARMING);
	/* An analysis class that is not a class is not shown. */
	assert_int_equal(nw_health_state_of(false, true, true, NW_HEALTH_DOWN), NW_HEALTH_WARMING);
	assert_string_equal(nw_health_name(NW_HEALTH_WARMING), "warming");
}

static void test_rack_score(void **state)
{
	struct nw_rack_score mixed = { 0 }, gone = { 0 }, empty = { 0 }, odd = { 0 };

	(void)state;
	nw_rack_score_add(&mixed, NW_HEALTH_HEALTHY, 0.1);
	nw_rack_score_add(&mixed, NW_HEALTH_WARNING, 0.3);
	nw_rack_score_add(&mixed, NW_HEALTH_DOWN, 0.0);    /* down counts 0 whatever is stored */
	nw_rack_score_add(&mixed, NW_HEALTH_LEFT, 1.0);    /* left is not expected */
	nw_rack_score_add(&mixed, NW_HEALTH_WARMING, 0.9); /* nothing measured: left out */
	nw_rack_score_add(&mixed, NW_HEALTH_WARMING, NAN);
	assert_int_equal(mixed.servers, 3);
	assert_float_equal(nw_rack_score_value(&mixed), (0.9 + 0.7 + 0.0) / 3.0, 1e-12);

	nw_rack_score_add(&gone, NW_HEALTH_LEFT, 1.0);
	nw_rack_score_add(&gone, NW_HEALTH_LEFT, 0.7);
	nw_rack_score_add(&gone, NW_HEALTH_WARMING, 0.7);
	assert_float_equal(nw_rack_score_value(&gone), 1.0, 0);
	assert_float_equal(nw_rack_score_value(&empty), 1.0, 0);

	/* Out-of-range errors are clamped: 1 - 1.5 counts 0, 1 - (-0.5) counts 1;
	 * a class without a figure (NaN) counts 0, never NaN. */
	nw_rack_score_add(&odd, NW_HEALTH_CRITICAL, 1.5);
	nw_rack_score_add(&odd, NW_HEALTH_HEALTHY, -0.5);
	nw_rack_score_add(&odd, NW_HEALTH_CRITICAL, NAN);
	assert_float_equal(nw_rack_score_value(&odd), 1.0 / 3.0, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_boundaries),
		cmocka_unit_test(test_state_of),
		cmocka_unit_test(test_rack_score),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
