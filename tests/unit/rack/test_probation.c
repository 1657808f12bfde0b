// SPDX-License-Identifier: MIT
/*
 * When a discovered server has earned its place, and when a probation slot
 * is given up (user/rack/source/probation.h), on counters as nw_account
 * leaves them: a controlled clock, no sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probation.h"

#define S 1000000000ULL
#define T0 (1800000000ULL * S)

/* A sender at 20 Hz heard from t0 for `secs`, `received` samples. */
static struct nw_server_state heard(uint64_t secs, uint64_t received)
{
	struct nw_server_state st;

	memset(&st, 0, sizeof(st));
	st.rate_uhz = 20000000;
	st.received = received;
	st.first_rx_ns = received ? T0 : 0;
	st.last_rx_ns = received ? T0 + secs * S : 0;
	return st;
}

static void test_quota(void **state)
{
	(void)state;
	assert_int_equal(nw_probation_quota(1), 1);
	assert_int_equal(nw_probation_quota(64), 8);
	assert_int_equal(nw_probation_quota(1024), NW_PROBATION_QUOTA_MAX);
	assert_int_equal(nw_probation_quota(65536), NW_PROBATION_QUOTA_MAX);
}

static void test_sustained_tone_is_promoted(void **state)
{
	(void)state;
	struct nw_server_state st = heard(6, 120);

	assert_true(nw_probation_earned(&st));
	assert_int_equal(nw_probation_judge(&st, T0, T0 + 6 * S), NW_PROBATION_PROMOTE);
	/* Half the announced rate is enough (a lossy but real sender)... */
	st = heard(6, 60);
	assert_true(nw_probation_earned(&st));
	/* ...less is not, nor a span under NW_PROBATION_NS. */
	st = heard(6, 50);
	assert_false(nw_probation_earned(&st));
	st = heard(4, 80);
	assert_false(nw_probation_earned(&st));
	assert_int_equal(nw_probation_judge(&st, T0, T0 + 4 * S), NW_PROBATION_KEEP);
	/* A sender that claims a slow rate to be promoted on few samples is
	 * not: below 1 Hz nothing is promoted. */
	st = heard(6, NW_PROBATION_MIN_SAMPLES);
	st.rate_uhz = NW_PROBATION_MIN_RATE_UHZ - 1;
	assert_false(nw_probation_earned(&st));
	st.rate_uhz = NW_PROBATION_MIN_RATE_UHZ;
	assert_true(nw_probation_earned(&st));
}

static void test_phantoms_are_evicted(void **state)
{
	(void)state;
	/* One sample, then silence: evicted after NW_PROBATION_IDLE_NS. */
	struct nw_server_state st = heard(0, 1);

	assert_int_equal(nw_probation_judge(&st, T0, T0 + 9 * S), NW_PROBATION_KEEP);
	assert_int_equal(nw_probation_judge(&st, T0, T0 + 11 * S), NW_PROBATION_EVICT);
	/* Never counted at all: idle from its registration. */
	st = heard(0, 0);
	assert_int_equal(nw_probation_judge(&st, T0, T0 + 11 * S), NW_PROBATION_EVICT);
	/* A trickle that never reaches half its rate: out after NW_PROBATION_MAX_NS. */
	st = heard(59, 100);
	assert_int_equal(nw_probation_judge(&st, T0, T0 + 59 * S), NW_PROBATION_KEEP);
	st = heard(61, 100);
	assert_int_equal(nw_probation_judge(&st, T0, T0 + 61 * S), NW_PROBATION_EVICT);
	/* Extremes are computed without wrapping: a few samples never cover
	 * a span of 2^64 ns at 4 kHz, 2^64 of them do. */
	st = heard(0, NW_PROBATION_MIN_SAMPLES);
	st.first_rx_ns = 1;
	st.last_rx_ns = ~0ULL;
	st.rate_uhz = 0xFFFFFFFFU;
	assert_false(nw_probation_earned(&st));
	st.received = ~0ULL;
	assert_true(nw_probation_earned(&st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_sustained_tone_is_promoted),
		cmocka_unit_test(test_phantoms_are_evicted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
