// SPDX-License-Identifier: MIT
/*
 * The DC's rack table against states one report could make permanent
 * (issue 15 item 9): a forged (boot_ns, seq) holds a rack out at most
 * --stale; made-up rack ids leave after --forget; an unauthenticated claim
 * lapses with staleness. And ages count from arrival (issue 20). A
 * controlled clock: every time is an argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "dc_state.h"

#define S 1000000000ULL
#define WALL (1764000000ULL * S) /* the DC's CLOCK_REALTIME in these tests */

static struct nw_report rep(uint32_t rack, uint64_t boot, uint64_t seq, double score)
{
	struct nw_report r = { .rack_id = rack,
			       .boot_ns = boot,
			       .seq = seq,
			       .time_ns = WALL,
			       .interval_s = 1,
			       .rack_score = score };

	return r;
}

static enum nw_report_reject offer(struct dc_state *st, struct nw_report r, uint64_t conn,
				   uint64_t mono, uint64_t *evicted)
{
	uint32_t conn_rack = DC_NO_RACK;
	uint64_t ev = 0;
	enum nw_report_reject rej = dc_state_offer(st, &r, conn, &conn_rack, WALL, mono, &ev);

	if (evicted)
		*evicted = ev;
	return rej;
}

static void init(struct dc_state *st, uint32_t expected, uint32_t max_racks, double skew)
{
	struct dc_cfg cfg = { .racks_expected = expected,
			      .max_racks = max_racks,
			      .stale_s = 5,
			      .max_skew_s = skew,
			      .forget_s = 60,
			      .max_servers_total = 1000 };

	assert_int_equal(dc_state_init(st, &cfg), 0);
}

/* boot_ns = seq = 2^63-1 without a key: refused when the skew check is on
 * (a rack did not start in the future); with it off, it holds the real rack
 * out only while fresh. */
static void test_forged_order_is_not_permanent(void **state)
{
	struct dc_state st;
	uint64_t boot = WALL - 10 * S, big = (uint64_t)INT64_MAX;

	(void)state;
	init(&st, 1, 16, 300);
	assert_int_equal(offer(&st, rep(0, boot, 1, 0.9), 1, 1 * S, NULL), NW_REJ_OK);
	dc_state_release(&st, 0, 1);
	assert_int_equal(offer(&st, rep(0, big, big, 0.1), 2, 2 * S, NULL), NW_REJ_REPLAY);
	dc_state_free(&st);

	init(&st, 1, 16, 0);
	assert_int_equal(offer(&st, rep(0, boot, 1, 0.9), 1, 1 * S, NULL), NW_REJ_OK);
	dc_state_release(&st, 0, 1);
	assert_int_equal(offer(&st, rep(0, big, big, 0.1), 2, 2 * S, NULL), NW_REJ_OK);
	dc_state_release(&st, 0, 2);
	/* the real rack: a replay while the forged report is fresh ... */
	assert_int_equal(offer(&st, rep(0, boot, 2, 0.9), 3, 3 * S, NULL), NW_REJ_REPLAY);
	/* ... and accepted once it is stale: nothing was permanent */
	assert_int_equal(offer(&st, rep(0, boot, 3, 0.9), 3, 8 * S, NULL), NW_REJ_OK);
	assert_true(fabs(dc_state_score(&st, 8 * S) - 0.9) < 1e-12);
	dc_state_free(&st);
}

/* An authenticated rack's order never lapses: a captured report replayed
 * after the rack went stale is still a replay. */
static void test_authenticated_order_holds(void **state)
{
	struct dc_state st;
	struct nw_report r = rep(0, WALL - 10 * S, 5, 0.9);

	(void)state;
	init(&st, 1, 16, 0);
	r.authenticated = 1;
	assert_int_equal(offer(&st, r, 1, 1 * S, NULL), NW_REJ_OK);
	dc_state_release(&st, 0, 1);
	r = rep(0, WALL - 10 * S, 4, 0.9);
	r.authenticated = 1;
	assert_int_equal(offer(&st, r, 2, 100 * S, NULL), NW_REJ_REPLAY);
	dc_state_free(&st);
}

/* 4100 made-up racks (over --max-racks 4096) keep a new genuine rack out
 * and the score down only until they are stale for --forget. */
static void test_fake_racks_are_forgotten(void **state)
{
	struct dc_state st;

	(void)state;
	init(&st, 2, 4096, 300);
	assert_int_equal(offer(&st, rep(0, WALL - S, 1, 1.0), 1, 1 * S, NULL), NW_REJ_OK);
	assert_int_equal(offer(&st, rep(1, WALL - S, 1, 1.0), 2, 1 * S, NULL), NW_REJ_OK);
	for (uint32_t id = 100; id < 4200; id++) {
		enum nw_report_reject rej = offer(&st, rep(id, WALL - S, 1, 0.0), 10 + id, 1 * S,
						  NULL);

		assert_int_equal(rej, id < 100 + 4094 ? NW_REJ_OK : NW_REJ_RANGE);
		dc_state_release(&st, id, 10 + id);
	}
	assert_int_equal(st.n, 4096);
	assert_int_equal(offer(&st, rep(50000, WALL - S, 1, 1.0), 3, 2 * S, NULL), NW_REJ_RANGE);
	/* the real racks go on reporting; the fakes stop */
	for (uint64_t t = 2; t <= 70; t++) {
		assert_int_equal(offer(&st, rep(0, WALL - S, t, 1.0), 1, t * S, NULL), NW_REJ_OK);
		assert_int_equal(offer(&st, rep(1, WALL - S, t, 1.0), 2, t * S, NULL), NW_REJ_OK);
		dc_state_forget(&st, t * S);
	}
	assert_int_equal(st.n, 2);
	assert_int_equal(st.forgotten, 4094);
	assert_true(fabs(dc_state_score(&st, 70 * S) - 1.0) < 1e-12);
	assert_int_equal(offer(&st, rep(50000, WALL - S, 1, 1.0), 3, 70 * S, NULL), NW_REJ_OK);
	/* expected racks are never forgotten; a rack without a connection is */
	dc_state_release(&st, 50000, 3);
	assert_int_equal(dc_state_forget(&st, 1000 * S), 1);
	assert_int_equal(st.n, 2);
	dc_state_free(&st);
}

/* Without a key, a connection's claim lapses when the rack is stale. */
static void test_unauthenticated_claim_lapses(void **state)
{
	struct dc_state st;
	uint64_t ev = 0;

	(void)state;
	init(&st, 1, 16, 300);
	assert_int_equal(offer(&st, rep(0, WALL - S, 1, 1.0), 1, 1 * S, NULL), NW_REJ_OK);
	assert_int_equal(offer(&st, rep(0, WALL - S, 2, 1.0), 2, 2 * S, NULL), NW_REJ_RACK_CLAIMED);
	assert_int_equal(offer(&st, rep(0, WALL - S, 3, 1.0), 2, 7 * S, &ev), NW_REJ_OK);
	assert_int_equal(ev, 1); /* the old holder: the server closes it */
	dc_state_free(&st);
}

/* Ages count from arrival; unread bytes from the owner keep a rack fresh. */
static void test_age_from_arrival_and_heard(void **state)
{
	struct dc_state st;
	struct nw_report r = rep(0, WALL - S, 1, 0.8);
	uint32_t conn_rack = DC_NO_RACK;
	uint64_t ev;
	const struct dc_rack *k;

	(void)state;
	init(&st, 1, 16, 300);
	/* arrived at 1 s, processed at 4 s (the DC was behind) */
	assert_int_equal(dc_state_offer_at(&st, &r, 1, &conn_rack, WALL, 4 * S, 1 * S, &ev),
			 NW_REJ_OK);
	k = dc_state_find(&st, 0);
	assert_true(fabs(dc_rack_age_s(k, 5 * S) - 4.0) < 1e-9);
	assert_int_equal(dc_rack_state(&st, k, 7 * S), DC_RACK_STALE);
	/* its connection holds bytes that arrived at 6.5 s */
	dc_state_heard(&st, 0, 1, 6500000000ULL);
	assert_int_equal(dc_rack_state(&st, k, 7 * S), DC_RACK_OK);
	/* another connection's bytes do not count */
	dc_state_heard(&st, 0, 2, 20 * S);
	assert_int_equal(dc_rack_state(&st, k, 12 * S), DC_RACK_STALE);
	dc_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forged_order_is_not_permanent),
		cmocka_unit_test(test_authenticated_order_holds),
		cmocka_unit_test(test_fake_racks_are_forgotten),
		cmocka_unit_test(test_unauthenticated_claim_lapses),
		cmocka_unit_test(test_age_from_arrival_and_heard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
