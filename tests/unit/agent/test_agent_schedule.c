/* SPDX-License-Identifier: MIT */
/* netwatch-agent: absolute schedule without drift, and the skew arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rng.h"
#include "schedule.h"

#define MONO0 5000000000ULL
#define TAI0 1700000000000000000ULL

static void test_no_drift(void **state)
{
	struct nw_sched s;

	(void)state;
	nw_sched_init(&s, MONO0, TAI0, 20000000, 0);
	assert_int_equal(nw_sched_due(&s, 0), MONO0);
	assert_int_equal(nw_sched_due(&s, 1), MONO0 + 50000000);
	assert_int_equal(nw_sched_due(&s, 72000000),
			 MONO0 + 72000000ULL * 50000000ULL); /* 41 days */
	assert_int_equal(nw_sched_tx_ns(&s, 20), TAI0 + 1000000000ULL);

	/* 3 Hz: T is not a whole number of ns, yet every third tick is exactly a second. */
	nw_sched_init(&s, MONO0, TAI0, 3000000, 0);
	assert_int_equal(nw_sched_agent_off(&s, 1), 333333333);
	assert_int_equal(nw_sched_agent_off(&s, 2), 666666666);
	assert_int_equal(nw_sched_agent_off(&s, 3), 1000000000);
	assert_int_equal(nw_sched_agent_off(&s, 3000000000ULL), 1000000000ULL * 1000000000ULL);
}

static void test_skew(void **state)
{
	struct nw_sched s;

	(void)state;
	/* +100 ppm: the agent's clock is fast, so its ticks come early in real time. */
	nw_sched_init(&s, MONO0, TAI0, 20000000, 100);
	/* tick 20000 is 1000 s of agent time = 1000/1.0001 s real */
	assert_int_equal(nw_sched_tx_ns(&s, 20000), TAI0 + 1000000000000ULL);
	assert_int_equal(nw_sched_due(&s, 20000), MONO0 + 999900009999ULL);
	/* and agent time at that real instant is the tick's tx_ns, to the ns */
	uint64_t a = nw_sched_agent_now(&s, nw_sched_due(&s, 20000));
	assert_true(a - (TAI0 + 1000000000000ULL) + 1 <= 2);

	/* -50 ppm: slow clock, ticks late in real time. */
	nw_sched_init(&s, MONO0, TAI0, 1000000000, -50);
	assert_int_equal(nw_sched_due(&s, 1000000), MONO0 + 1000050002500ULL);
	assert_true(nw_sched_due(&s, 1000000) > MONO0 + nw_sched_agent_off(&s, 1000000));
}

static void test_tick_at(void **state)
{
	const double ppms[] = { 0, 100, -100, 99999, -99999 };
	const uint64_t rates[] = { 20000000, 3000000, 1000000000, 4294967295ULL, 1000 };
	uint64_t x = 7;

	(void)state;
	for (unsigned p = 0; p < 5; p++)
		for (unsigned r = 0; r < 5; r++) {
			struct nw_sched s;

			nw_sched_init(&s, MONO0, TAI0, rates[r], ppms[p]);
			assert_int_equal(nw_sched_tick_at(&s, MONO0 - 1), 0);
			for (unsigned i = 0; i < 2000; i++) {
				uint64_t now, k;

				x = nw_mix64(x + NW_GOLDEN64);
				now = MONO0 + x % (1000000ULL * 1000000000ULL);
				k = nw_sched_tick_at(&s, now);
				assert_true(nw_sched_due(&s, k) <= now);
				assert_true(nw_sched_due(&s, k + 1) > now);
				/* exact hits land on their own tick */
				assert_int_equal(nw_sched_tick_at(&s, nw_sched_due(&s, k)), k);
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_drift),
		cmocka_unit_test(test_skew),
		cmocka_unit_test(test_tick_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
