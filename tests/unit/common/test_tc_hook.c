/* SPDX-License-Identifier: MIT */
/*
 * user/common/tc_hook.c's ownership rule as the rack and netwatch-chaos use
 * it, without root: who owns a clsact qdisc and when its owner may remove
 * it. The kernel side (create, attach, detach, count, release on a real
 * interface) is tests/bpf/test_tc_hook.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tc_hook.h"

/* Created now, or already there and created by our own earlier run. */
static void test_owned(void **state)
{
	(void)state;
	assert_true(nw_tc_clsact_owned(1, 0));
	assert_true(nw_tc_clsact_owned(1, 1));
	assert_true(nw_tc_clsact_owned(0, 1));
	assert_false(nw_tc_clsact_owned(0, 0));      /* someone else's */
	assert_false(nw_tc_clsact_owned(-EPERM, 1)); /* not even there */
}

/* Only the owner, only when nobody's filter is left; a failed count is
 * "someone is there". */
static void test_removable(void **state)
{
	(void)state;
	assert_true(nw_tc_clsact_removable(1, 0));
	assert_false(nw_tc_clsact_removable(1, 1));
	assert_false(nw_tc_clsact_removable(1, 5));
	assert_false(nw_tc_clsact_removable(1, -EPERM));
	assert_false(nw_tc_clsact_removable(0, 0));
}

/* A release that is not ours never reaches the kernel: nothing to remove,
 * whatever the interface. */
static void test_release_not_owned(void **state)
{
	(void)state;
	assert_int_equal(nw_tc_clsact_release(1, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned),
		cmocka_unit_test(test_removable),
		cmocka_unit_test(test_release_not_owned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
