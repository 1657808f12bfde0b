/* SPDX-License-Identifier: MIT */
/* netwatch-agent: impairment decisions are seeded, reproducible and have the asked rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "impair.h"

#define N 100000

static void test_rates(void **state)
{
	struct nw_impair imp;
	struct nw_decision d;
	char err[256];
	uint64_t key;
	unsigned drops = 0, dups = 0, kept = 0;

	(void)state;
	assert_int_equal(nw_impair_parse("loss=10%,dup=2%,seed=1", &imp, err, sizeof(err)), 0);
	key = nw_impair_server_key(imp.seed, 0, 0);
	for (uint64_t k = 0; k < N; k++) {
		nw_impair_decide(&imp, key, k, &d);
		assert_int_equal(d.delay_ns, 0);
		if (d.drop) {
			drops++;
			assert_false(d.dup); /* a lost sample has no copy */
			continue;
		}
		kept++;
		dups += (unsigned)d.dup;
	}
	assert_true(fabs((double)drops / N - 0.10) < 0.01);
	assert_true(fabs((double)dups / kept - 0.02) < 0.005);
}

static void test_reproducible(void **state)
{
	struct nw_impair imp;
	struct nw_decision a, b;
	char err[256];
	uint64_t k1, k2, k3, k4;
	unsigned same_other_seed = 0, same_other_server = 0;

	(void)state;
	assert_int_equal(nw_impair_parse("loss=30%,dup=20%,jitter=5,seed=42", &imp, err,
					 sizeof(err)),
			 0);
	k1 = nw_impair_server_key(42, 1, 7);
	k2 = nw_impair_server_key(42, 1, 7);
	k3 = nw_impair_server_key(43, 1, 7);
	k4 = nw_impair_server_key(42, 1, 8);
	assert_int_equal(k1, k2);
	for (uint64_t k = 0; k < N; k++) {
		nw_impair_decide(&imp, k1, k, &a);
		nw_impair_decide(&imp, k2, k, &b);
		assert_memory_equal(&a, &b, sizeof(a));
		nw_impair_decide(&imp, k3, k, &b);
		same_other_seed += a.drop == b.drop && a.dup == b.dup && a.delay_ns == b.delay_ns;
		nw_impair_decide(&imp, k4, k, &b);
		same_other_server += a.drop == b.drop && a.dup == b.dup && a.delay_ns == b.delay_ns;
	}
	/* Another seed, or another server, is another stream (only drops agree, by chance). */
	assert_true(same_other_seed < N / 2);
	assert_true(same_other_server < N / 2);
}

static void test_loss_independent_of_dup(void **state)
{
	struct nw_impair a, b;
	struct nw_decision da, db;
	char err[256];
	uint64_t key = nw_impair_server_key(5, 0, 0);

	(void)state;
	assert_int_equal(nw_impair_parse("loss=10%,seed=5", &a, err, sizeof(err)), 0);
	assert_int_equal(nw_impair_parse("loss=10%,dup=50%,seed=5", &b, err, sizeof(err)), 0);
	for (uint64_t k = 0; k < 10000; k++) {
		nw_impair_decide(&a, key, k, &da);
		nw_impair_decide(&b, key, k, &db);
		assert_int_equal(da.drop, db.drop);
	}
}

static void test_delay_jitter(void **state)
{
	struct nw_impair imp;
	struct nw_decision d;
	char err[256];
	uint64_t key = nw_impair_server_key(3, 0, 0);
	double sum = 0, sum2 = 0;
	unsigned zero = 0;

	(void)state;
	assert_int_equal(nw_impair_parse("delay=20,jitter=2,seed=3", &imp, err, sizeof(err)), 0);
	assert_true(nw_impair_delays(&imp));
	for (uint64_t k = 0; k < N; k++) {
		nw_impair_decide(&imp, key, k, &d);
		assert_false(d.drop);
		sum += (double)d.delay_ns;
		sum2 += (double)d.delay_ns * (double)d.delay_ns;
	}
	double mean = sum / N, sd = sqrt(sum2 / N - mean * mean);
	assert_true(fabs(mean - 20e6) < 0.05e6);
	assert_true(fabs(sd - 2e6) < 0.05e6);

	/* Jitter around zero delay is clamped at 0: about half the samples. */
	assert_int_equal(nw_impair_parse("jitter=5,seed=3", &imp, err, sizeof(err)), 0);
	for (uint64_t k = 0; k < N; k++) {
		nw_impair_decide(&imp, key, k, &d);
		zero += d.delay_ns == 0;
	}
	assert_true(fabs((double)zero / N - 0.5) < 0.01);

	/* A constant delay is exact. */
	assert_int_equal(nw_impair_parse("delay=1.5", &imp, err, sizeof(err)), 0);
	nw_impair_decide(&imp, key, 0, &d);
	assert_int_equal(d.delay_ns, 1500000);
}

static void test_no_impairment(void **state)
{
	struct nw_impair imp;
	char err[256];

	(void)state;
	assert_int_equal(nw_impair_parse("skew=100,seed=1", &imp, err, sizeof(err)), 0);
	assert_false(nw_impair_active(&imp));
	assert_false(nw_impair_delays(&imp));
	assert_int_equal(nw_impair_parse("loss=100%", &imp, err, sizeof(err)), 0);
	assert_true(nw_impair_active(&imp));
	assert_false(nw_impair_delays(&imp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_loss_independent_of_dup),
		cmocka_unit_test(test_delay_jitter),
		cmocka_unit_test(test_no_impairment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
