// SPDX-License-Identifier: MIT
/* The paths a rack expects (user/rack/source/fabric_expect.h), driven by a
 * controlled wall clock: a fixed file's racks always; a rotating mesh's
 * probers of this epoch and the last, switching at the boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fabric_expect.h"

static void load(const char *json, struct nw_fabric_peers *p)
{
	char err[200];

	assert_int_equal(nw_fabric_peers_parse(json, strlen(json), p, err, sizeof(err)), 0);
}

static void test_rotating(void **state)
{
	/* Members [0, 1, 2, 3], self 0, k = 1: in epoch e rack 0 is probed by
	 * the rack at offset -(1 + e mod 3), i.e. 3, 2, 1, 3, ... */
	struct nw_fabric_peers p;
	struct nw_fabric_expect x;

	(void)state;
	load("{\"self\": 0, \"k\": 1, \"epoch_s\": 20, \"racks\": ["
	     "{\"rack_id\": 1, \"addr\": \"a\"}, {\"rack_id\": 2, \"addr\": \"b\"},"
	     "{\"rack_id\": 3, \"addr\": \"c\"}]}",
	     &p);
	assert_int_equal(nw_fabric_expect_init(&x, &p, 19), 0); /* epoch 0 */
	assert_int_equal(x.epoch, 0);
	assert_int_equal(x.cur.n, 1);
	assert_int_equal(x.cur.peer[0].rack_id, 3);
	assert_int_equal(x.prev.n, 0);
	assert_true(nw_fabric_expect_has(&x, 3));
	assert_false(nw_fabric_expect_has(&x, 2));
	assert_int_equal(nw_fabric_expect_tick(&x, 19), 0);
	/* Boundary: 2 probes now, 3 still expected (its goodbyes, late clocks). */
	assert_int_equal(nw_fabric_expect_tick(&x, 20), 1);
	assert_int_equal(x.cur.peer[0].rack_id, 2);
	assert_true(nw_fabric_expect_has(&x, 2) && nw_fabric_expect_has(&x, 3));
	assert_false(nw_fabric_expect_has(&x, 1));
	/* Next boundary: 3 is probed by nobody's schedule now: forgotten. */
	assert_int_equal(nw_fabric_expect_tick(&x, 45), 1);
	assert_int_equal(x.epoch, 2);
	assert_true(nw_fabric_expect_has(&x, 1) && nw_fabric_expect_has(&x, 2));
	assert_false(nw_fabric_expect_has(&x, 3));
	/* A jump of several epochs (a stalled collector): straight to it. */
	assert_int_equal(nw_fabric_expect_tick(&x, 20 * 9 + 1), 1);
	assert_int_equal(x.cur.peer[0].rack_id, 3); /* 9 mod 3 = 0 */
	assert_int_equal(x.prev.peer[0].rack_id, 1);
	nw_fabric_expect_free(&x);
	nw_fabric_peers_free(&p);
}

static void test_fixed(void **state)
{
	struct nw_fabric_peers p;
	struct nw_fabric_expect x;

	(void)state;
	load("{\"self\": 0, \"epoch\": 5, \"racks\": [{\"rack_id\": 1, \"addr\": \"a\"},"
	     "{\"rack_id\": 2, \"addr\": \"b\"}]}",
	     &p);
	assert_int_equal(nw_fabric_expect_init(&x, &p, 1000), 0);
	assert_int_equal(x.cur.n, 2);
	assert_true(nw_fabric_expect_has(&x, 1) && nw_fabric_expect_has(&x, 2));
	assert_int_equal(nw_fabric_expect_tick(&x, 999999), 0);
	assert_int_equal(x.cur.n, 2);
	nw_fabric_expect_free(&x);
	nw_fabric_peers_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotating),
		cmocka_unit_test(test_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
