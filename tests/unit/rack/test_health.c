// SPDX-License-Identifier: MIT
/* Health classes at their boundaries, up/down/left, the rack score. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "health.h"
#include "test_spectrum_gen.h"

/* error < 0.2 healthy; 0.2 <= error <= 0.5 warning; > 0.5 critical. */
static void test_class_boundaries(void **state)
{
	(void)state;
	assert_int_equal(nw_health_class_of(0.0), NW_CLASS_HEALTHY);
	assert_int_equal(nw_health_class_of(0.19), NW_CLASS_HEALTHY);
	assert_int_equal(nw_health_class_of(0.19999999), NW_CLASS_HEALTHY);
	assert_int_equal(nw_health_class_of(0.2), NW_CLASS_WARNING);
	assert_int_equal(nw_health_class_of(0.35), NW_CLASS_WARNING);
	assert_int_equal(nw_health_class_of(0.5), NW_CLASS_WARNING);
	assert_int_equal(nw_health_class_of(0.50000001), NW_CLASS_CRITICAL);
	assert_int_equal(nw_health_class_of(0.51), NW_CLASS_CRITICAL);
	assert_int_equal(nw_health_class_of(1.0), NW_CLASS_CRITICAL);
	assert_int_equal(nw_health_class_of(NAN), NW_CLASS_CRITICAL);
	assert_string_equal(nw_health_class_name(NW_CLASS_WARNING), "warning");
	assert_string_equal(nw_live_state_name(NW_LIVE_LEFT), "left");
}

static void feed(struct nw_signal *sig, uint64_t k, uint16_t flags)
{
	struct nw_record r = { .seq = k, .tx_ns = GEN_T0_NS + k * GEN_T_NS,
			       .rx_ns = GEN_T0_NS + k * GEN_T_NS + 1000000ULL, .flags = flags };

	nw_signal_add(sig, &r);
}

/* Down after K = 3 silent intervals (at exactly 3 s), error then 1.0 whatever
 * the spectrum says; a goodbye makes it "left", and a new stream brings it back. */
static void test_liveness(void **state)
{
	struct nw_health_params p;
	struct nw_signal sig;
	struct nw_spec_result res = { .spectral_error = 0.1 };
	struct nw_server_health h;

	(void)state;
	nw_health_params_default(&p);
	assert_true(p.interval_ns == 1000000000ULL && p.missed == 3);
	assert_int_equal(nw_signal_init(&sig, 256, GEN_RATE, 1.0), 0);
	nw_health_eval(&p, &sig, &res, GEN_T0_NS, &h);
	assert_int_equal(h.state, NW_LIVE_DOWN); /* expected, never heard */

	for (uint64_t k = 0; k < 40; k++)
		feed(&sig, k, k ? 0 : NW_REC_STREAM_START);
	uint64_t last = sig.last_rx_ns;

	nw_health_eval(&p, &sig, &res, last + 500000000ULL, &h);
	assert_int_equal(h.state, NW_LIVE_UP);
	assert_true(h.error == 0.1);
	assert_int_equal(h.cls, NW_CLASS_HEALTHY);
	nw_health_eval(&p, &sig, &res, last + 2999999999ULL, &h);
	assert_int_equal(h.state, NW_LIVE_UP);
	nw_health_eval(&p, &sig, &res, last + 3000000000ULL, &h);
	assert_int_equal(h.state, NW_LIVE_DOWN);
	assert_true(h.error == 1.0);
	assert_int_equal(h.cls, NW_CLASS_CRITICAL);

	feed(&sig, 40, NW_REC_GOODBYE);
	nw_health_eval(&p, &sig, &res, sig.last_rx_ns + 60000000000ULL, &h);
	assert_int_equal(h.state, NW_LIVE_LEFT); /* not down, however long */

	feed(&sig, 1000, NW_REC_STREAM_START | NW_REC_RESTART);
	nw_health_eval(&p, &sig, &res, sig.last_rx_ns, &h);
	assert_int_equal(h.state, NW_LIVE_UP);
	nw_health_eval(&p, &sig, NULL, sig.last_rx_ns, &h);
	assert_true(h.error == 1.0); /* up but not analysed yet: not "healthy" by default */
	nw_signal_free(&sig);
}

static void test_rack_score(void **state)
{
	const struct nw_server_health mixed[] = {
		{ .state = NW_LIVE_UP, .error = 0.1 },
		{ .state = NW_LIVE_UP, .error = 0.3 },
		{ .state = NW_LIVE_DOWN, .error = 0.0 }, /* down counts 1.0 whatever is stored */
		{ .state = NW_LIVE_LEFT, .error = 1.0 }, /* left is not expected */
	};
	const struct nw_server_health gone[] = {
		{ .state = NW_LIVE_LEFT, .error = 1.0 },
		{ .state = NW_LIVE_LEFT, .error = 0.7 },
	};
	const struct nw_server_health odd[] = {
		{ .state = NW_LIVE_UP, .error = NAN },
		{ .state = NW_LIVE_UP, .error = 0.0 },
	};

	(void)state;
	assert_float_equal(nw_rack_score(mixed, 4), 1.0 - (0.1 + 0.3 + 1.0) / 3.0, 1e-12);
	assert_float_equal(nw_rack_score(gone, 2), 1.0, 0);
	assert_float_equal(nw_rack_score(NULL, 0), 1.0, 0);
	assert_float_equal(nw_rack_score(odd, 2), 0.5, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_boundaries),
		cmocka_unit_test(test_liveness),
		cmocka_unit_test(test_rack_score),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
