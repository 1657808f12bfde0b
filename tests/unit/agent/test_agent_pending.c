/* SPDX-License-Identifier: MIT */
/* netwatch-agent: the delay queue releases in due order and refuses when full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pending.h"
#include "rng.h"

static void test_order(void **state)
{
	struct nw_pq q;
	struct nw_pending e, prev = { 0 };
	uint64_t x = 12345;

	(void)state;
	assert_int_equal(nw_pq_init(&q, 5000), 0);
	for (unsigned i = 0; i < 5000; i++) {
		x = nw_mix64(x + NW_GOLDEN64);
		e = (struct nw_pending){ .due_ns = x % 1000, .seq = i, .server = i % 7 };
		assert_int_equal(nw_pq_push(&q, &e), 0);
	}
	for (unsigned i = 0; i < 5000; i++) {
		assert_non_null(nw_pq_peek(&q));
		assert_int_equal(nw_pq_peek(&q)->due_ns, nw_pq_peek(&q)->due_ns);
		assert_int_equal(nw_pq_pop(&q, &e), 0);
		if (i) {
			assert_true(e.due_ns >= prev.due_ns);
			if (e.due_ns == prev.due_ns)
				assert_true(e.seq > prev.seq); /* ties keep generation order */
		}
		prev = e;
	}
	assert_null(nw_pq_peek(&q));
	assert_int_equal(nw_pq_pop(&q, &e), -1);
	nw_pq_free(&q);
}

static void test_ties_by_seq_then_server(void **state)
{
	struct nw_pq q;
	struct nw_pending e;

	(void)state;
	assert_int_equal(nw_pq_init(&q, 8), 0);
	/* One tick of 3 servers under a constant delay, pushed out of order. */
	const struct nw_pending in[] = {
		{ .due_ns = 100, .seq = 1, .server = 2 }, { .due_ns = 100, .seq = 0, .server = 1 },
		{ .due_ns = 100, .seq = 1, .server = 0 }, { .due_ns = 100, .seq = 0, .server = 0 },
		{ .due_ns = 50, .seq = 9, .server = 9 },
	};
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(nw_pq_push(&q, &in[i]), 0);
	const unsigned want_seq[] = { 9, 0, 0, 1, 1 }, want_srv[] = { 9, 0, 1, 0, 2 };
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(nw_pq_pop(&q, &e), 0);
		assert_int_equal(e.seq, want_seq[i]);
		assert_int_equal(e.server, want_srv[i]);
	}
	nw_pq_free(&q);
}

static void test_full(void **state)
{
	struct nw_pq q;
	struct nw_pending e = { .due_ns = 10, .dup = 1 };

	(void)state;
	assert_int_equal(nw_pq_init(&q, 3), 0);
	for (unsigned i = 0; i < 3; i++) {
		e.seq = i;
		assert_int_equal(nw_pq_push(&q, &e), 0);
	}
	e.due_ns = 1;
	assert_int_equal(nw_pq_push(&q, &e), -1);
	assert_int_equal(q.len, 3);
	assert_int_equal(nw_pq_pop(&q, &e), 0);
	assert_int_equal(e.due_ns, 10); /* the refused entry did not get in */
	assert_int_equal(e.seq, 0);
	assert_int_equal(e.dup, 1);
	e.due_ns = 1;
	assert_int_equal(nw_pq_push(&q, &e), 0);
	assert_int_equal(nw_pq_pop(&q, &e), 0);
	assert_int_equal(e.due_ns, 1);
	nw_pq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_ties_by_seq_then_server),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
