// SPDX-License-Identifier: MIT
/* liveness.h with a controlled clock: the rule (down only once the silence
 * passes down_after sample periods, up on the first sample back), outage
 * count and seconds, left servers, the rate from the counters, and a tick
 * whose work follows the servers that change, counted rather than timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "liveness.h"

#define S_NS 1000000000ULL
#define MS_NS 1000000ULL
#define RATE_UHZ 20000000U /* 20 Hz: one period is 50 ms */
#define T0 (1700000000ULL * S_NS)

static struct nw_record rec_at(uint64_t rx_ns, uint16_t flags)
{
	struct nw_record r;

	memset(&r, 0, sizeof(r));
	r.rx_ns = rx_ns;
	r.tx_ns = rx_ns - MS_NS;
	r.flags = flags;
	return r;
}

static void sample(struct nw_live *l, uint32_t slot, uint32_t id, uint64_t rx_ns)
{
	struct nw_record r = rec_at(rx_ns, 0);

	nw_live_record(l, slot, id, &r);
}

static struct nw_live_info info(const struct nw_live *l, uint32_t slot, uint32_t id, uint64_t now)
{
	struct nw_live_info li;

	nw_live_get(l, slot, id, now, &li);
	return li;
}

/* down_after periods of the server's own rate; silence must exceed it. */
static void test_rule(void **state)
{
	(void)state;
	assert_true(nw_live_limit_ns(10, RATE_UHZ) == 500 * MS_NS);
	assert_true(nw_live_limit_ns(2, 1000000) == 2 * S_NS);      /* 1 Hz */
	assert_true(nw_live_limit_ns(1000, 5000000) == 200 * S_NS); /* 5 Hz */
	assert_true(nw_live_limit_ns(10, 0) == 0);                  /* rate not known */
	assert_false(nw_live_silent(T0, T0 + 500 * MS_NS, 500 * MS_NS));
	assert_true(nw_live_silent(T0, T0 + 500 * MS_NS + 1, 500 * MS_NS));
	assert_false(nw_live_silent(T0, T0 - S_NS, 500 * MS_NS)); /* stamp ahead of us */
	assert_false(nw_live_silent(T0, T0 + 60 * S_NS, 0));      /* no limit yet */
}

static void test_init_bounds(void **state)
{
	struct nw_live l;

	(void)state;
	assert_int_equal(nw_live_init(&l, 4, 1), -EINVAL);
	assert_int_equal(nw_live_init(&l, 4, 1001), -EINVAL);
	assert_int_equal(nw_live_init(&l, 0, 10), -EINVAL);
	assert_int_equal(nw_live_init(&l, 4, 2), 0);
	nw_live_free(&l);
	assert_int_equal(nw_live_init(&l, 4, 1000), 0);
	nw_live_free(&l);
}

/* Down exactly after the limit, not before; up with the first sample back;
 * one outage, its seconds from the last sample before to the first after,
 * growing while it lasts. */
static void test_down_up_outage(void **state)
{
	struct nw_live l;
	struct nw_live_info li;
	const uint64_t last = T0 + 5 * S_NS;

	(void)state;
	assert_int_equal(nw_live_init(&l, 2, 10), 0);
	nw_live_set_rate(&l, 0, 7, RATE_UHZ);
	for (uint64_t t = T0; t <= last; t += 50 * MS_NS)
		sample(&l, 0, 7, t);
	assert_int_equal(nw_live_tick(&l, last), 0);
	li = info(&l, 0, 7, last);
	assert_true(li.heard && li.up && !li.left);
	assert_true(li.outages == 0 && li.outage_s == 0);

	assert_int_equal(nw_live_tick(&l, last + 500 * MS_NS), 0); /* exactly the limit: up */
	assert_true(info(&l, 0, 7, last + 500 * MS_NS).up);
	assert_int_equal(nw_live_tick(&l, last + 500 * MS_NS + 1), 1); /* one ns past: down */
	li = info(&l, 0, 7, last + 500 * MS_NS + 1);
	assert_false(li.up);
	assert_true(li.outages == 1);
	assert_float_equal(li.outage_s, 0.500000001, 1e-12);

	/* Still down, counted once, its seconds growing. */
	assert_int_equal(nw_live_tick(&l, last + 3 * S_NS), 0);
	li = info(&l, 0, 7, last + 3 * S_NS);
	assert_true(!li.up && li.outages == 1);
	assert_float_equal(li.outage_s, 3.0, 1e-12);

	/* The first sample back: up, the outage closed at 4 s. */
	sample(&l, 0, 7, last + 4 * S_NS);
	li = info(&l, 0, 7, last + 4 * S_NS);
	assert_true(li.up && li.outages == 1);
	assert_float_equal(li.outage_s, 4.0, 1e-12);
	assert_int_equal(nw_live_tick(&l, last + 4 * S_NS + 100 * MS_NS), 0);
	li = info(&l, 0, 7, last + 9 * S_NS);
	assert_true(li.up && li.outages == 1);
	assert_float_equal(li.outage_s, 4.0, 1e-12); /* closed: no longer grows */

	/* A second outage adds to both. */
	assert_int_equal(nw_live_tick(&l, last + 6 * S_NS), 1);
	sample(&l, 0, 7, last + 6 * S_NS + 500 * MS_NS);
	li = info(&l, 0, 7, last + 7 * S_NS);
	assert_true(li.up && li.outages == 2);
	assert_float_equal(li.outage_s, 6.5, 1e-12);
	assert_int_equal(l.work.downs, 2);
	nw_live_free(&l);
}

/* A silence past the limit that no tick saw (a 2 s agent restart between
 * two ticks, or a tick that came late) is still one outage: the count does
 * not depend on the tick's phase. A silence within the limit is none. */
static void test_outage_between_ticks(void **state)
{
	struct nw_live l;
	struct nw_live_info li;

	(void)state;
	assert_int_equal(nw_live_init(&l, 1, 10), 0);
	nw_live_set_rate(&l, 0, 3, RATE_UHZ);
	sample(&l, 0, 3, T0);
	nw_live_tick(&l, T0);
	sample(&l, 0, 3, T0 + 500 * MS_NS); /* exactly the limit: no outage */
	sample(&l, 0, 3, T0 + 2500 * MS_NS);
	li = info(&l, 0, 3, T0 + 2500 * MS_NS);
	assert_true(li.up && li.outages == 1);
	assert_float_equal(li.outage_s, 2.0, 1e-12);
	assert_int_equal(nw_live_tick(&l, T0 + 2600 * MS_NS), 0);
	assert_int_equal(l.work.downs, 0);
	nw_live_free(&l);
}

/* A goodbye makes the server left: never down, no outage however long it
 * stays silent; its next sample makes it up with no outage either. */
static void test_left_is_not_down(void **state)
{
	struct nw_live l;
	struct nw_record bye = rec_at(T0 + 100 * MS_NS, NW_REC_GOODBYE);
	struct nw_live_info li;

	(void)state;
	assert_int_equal(nw_live_init(&l, 1, 10), 0);
	nw_live_set_rate(&l, 0, 4, RATE_UHZ);
	sample(&l, 0, 4, T0);
	nw_live_record(&l, 0, 4, &bye);
	for (uint64_t t = T0; t < T0 + 30 * S_NS; t += 100 * MS_NS)
		assert_int_equal(nw_live_tick(&l, t), 0);
	li = info(&l, 0, 4, T0 + 30 * S_NS);
	assert_true(li.heard && li.left && !li.up);
	assert_true(li.outages == 0 && li.outage_s == 0);
	sample(&l, 0, 4, T0 + 30 * S_NS);
	li = info(&l, 0, 4, T0 + 30 * S_NS);
	assert_true(li.up && !li.left && li.outages == 0);
	/* And it is timed again. */
	assert_int_equal(nw_live_tick(&l, T0 + 31 * S_NS), 1);
	nw_live_free(&l);
}

/* A registered server never heard is down without an outage; a slot that
 * serves another server starts afresh; another id reads as unheard. */
static void test_unheard_and_reuse(void **state)
{
	struct nw_live l;
	struct nw_live_info li;

	(void)state;
	assert_int_equal(nw_live_init(&l, 2, 10), 0);
	nw_live_set_rate(&l, 1, 9, RATE_UHZ);
	assert_int_equal(nw_live_tick(&l, T0), 0);
	li = info(&l, 1, 9, T0);
	assert_true(!li.heard && !li.up && !li.left && li.outages == 0);

	sample(&l, 0, 5, T0);
	nw_live_set_rate(&l, 0, 5, RATE_UHZ);
	assert_int_equal(nw_live_tick(&l, T0 + S_NS), 1);
	assert_true(info(&l, 0, 5, T0 + S_NS).outages == 1);
	assert_false(info(&l, 0, 6, T0 + S_NS).heard); /* not this slot's server */
	sample(&l, 0, 6, T0 + 2 * S_NS);               /* the slot serves 6 now */
	li = info(&l, 0, 6, T0 + 2 * S_NS);
	assert_true(li.up && li.outages == 0 && li.outage_s == 0);
	nw_live_free(&l);
}

/* The limit is the server's own: unknown until its counters show the rate
 * (heard, it stays up: no false outage for a slow agent), then timed from
 * its last sample; a new rate re-times it. A stamp ahead of our clock is
 * up. */
static void test_rate_from_counters(void **state)
{
	struct nw_live l;

	(void)state;
	assert_int_equal(nw_live_init(&l, 1, 10), 0);
	sample(&l, 0, 2, T0);
	assert_int_equal(nw_live_tick(&l, T0 + 5 * S_NS), 0);
	assert_true(info(&l, 0, 2, T0 + 5 * S_NS).up);

	nw_live_set_rate(&l, 0, 2, 1000000); /* 1 Hz: 10 s */
	assert_int_equal(nw_live_tick(&l, T0 + 10 * S_NS), 0);
	assert_int_equal(nw_live_tick(&l, T0 + 10 * S_NS + 1), 1);
	assert_float_equal(info(&l, 0, 2, T0 + 11 * S_NS).outage_s, 11.0, 1e-12);

	sample(&l, 0, 2, T0 + 20 * S_NS);
	nw_live_set_rate(&l, 0, 2, RATE_UHZ); /* restarted at 20 Hz: 0.5 s */
	assert_int_equal(nw_live_tick(&l, T0 + 20 * S_NS + 500 * MS_NS), 0);
	assert_int_equal(nw_live_tick(&l, T0 + 20 * S_NS + 501 * MS_NS), 1);

	sample(&l, 0, 2, T0 + 40 * S_NS); /* ahead of the tick's now */
	assert_int_equal(nw_live_tick(&l, T0 + 39 * S_NS), 0);
	assert_true(info(&l, 0, 2, T0 + 39 * S_NS).up);
	nw_live_free(&l);
}

/* A record drained late (its deadline already behind the tick's cursor)
 * and a limit longer than one turn of the wheel are both still judged. */
static void test_late_record_and_long_limit(void **state)
{
	struct nw_live l;

	(void)state;
	assert_int_equal(nw_live_init(&l, 2, 1000), 0);
	nw_live_set_rate(&l, 0, 1, RATE_UHZ); /* 1000 periods: 50 s */
	nw_live_set_rate(&l, 1, 2, 5000000);  /* 5 Hz: 200 s, longer than a turn */
	sample(&l, 0, 1, T0);
	sample(&l, 1, 2, T0);
	nw_live_tick(&l, T0);
	for (uint64_t t = T0; t <= T0 + 200 * S_NS; t += 100 * MS_NS)
		nw_live_tick(&l, t);
	assert_false(info(&l, 0, 1, T0 + 200 * S_NS).up);
	assert_true(info(&l, 1, 2, T0 + 200 * S_NS).up);
	/* A limit longer than a turn is looked at once per turn (68.7 s), not
	 * per tick: 2001 ticks looked at two servers a handful of times. */
	print_message("  2001 ticks looked at %llu servers\n", (unsigned long long)l.work.visited);
	assert_true(l.work.visited <= 10);
	assert_int_equal(nw_live_tick(&l, T0 + 200 * S_NS + 1), 1);

	/* Drained 60 s after it arrived (its deadline is behind the wheel's
	 * cursor): up with it, and down at the next tick, whose time is past
	 * its limit. */
	sample(&l, 0, 1, T0 + 150 * S_NS);
	assert_true(info(&l, 0, 1, T0 + 210 * S_NS).up);
	assert_int_equal(nw_live_tick(&l, T0 + 210 * S_NS), 1);
	assert_int_equal(info(&l, 0, 1, T0 + 210 * S_NS).outages, 2);
	nw_live_free(&l);
}

/* 10,000 servers at 20 Hz for 10 s, ticks every 100 ms: while every one
 * keeps sending, the ticks look at no server at all (a few empty buckets
 * each); when 7 fall silent, the ticks look at those 7 (each at most twice:
 * once in the bucket before its deadline) and nothing else. */
static void test_tick_work_follows_changes(void **state)
{
	enum { SERVERS = 10000, SILENT = 7 };
	struct nw_live l;
	struct nw_live_work before;
	uint64_t t, next_tick = T0 + 100 * MS_NS;
	uint32_t downs = 0, ticks = 0;

	(void)state;
	assert_int_equal(nw_live_init(&l, SERVERS, 10), 0);
	for (uint32_t s = 0; s < SERVERS; s++)
		nw_live_set_rate(&l, s, s, RATE_UHZ);
	nw_live_tick(&l, T0); /* the first tick looks at every bucket once */
	before = l.work;
	for (t = T0; t < T0 + 20 * S_NS; t += 50 * MS_NS) {
		for (uint32_t s = 0; s < SERVERS; s++) {
			/* Spread over the period; the last SILENT stop at 10 s. */
			if (s >= SERVERS - SILENT && t >= T0 + 10 * S_NS)
				continue;
			sample(&l, s, s, t + (uint64_t)s * 4999);
		}
		while (next_tick <= t + 50 * MS_NS) {
			downs += nw_live_tick(&l, next_tick);
			ticks++;
			next_tick += 100 * MS_NS;
			if (next_tick == T0 + 10 * S_NS) {
				assert_true(l.work.visited == before.visited);
				assert_int_equal(downs, 0);
			}
		}
	}
	print_message("  %u ticks: %llu buckets, %llu servers looked at, %u down\n", ticks,
		      (unsigned long long)(l.work.buckets - before.buckets),
		      (unsigned long long)(l.work.visited - before.visited), downs);
	assert_int_equal(downs, SILENT);
	assert_true(l.work.visited - before.visited <= 2 * SILENT);
	/* 100 ms of buckets (16.8 ms each) per tick, and the current one. */
	assert_true(l.work.buckets - before.buckets <= (uint64_t)ticks * 8);
	for (uint32_t s = 0; s < SERVERS; s++)
		assert_true(info(&l, s, s, t).up == (s < SERVERS - SILENT));
	nw_live_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test(test_down_up_outage),
		cmocka_unit_test(test_outage_between_ticks),
		cmocka_unit_test(test_left_is_not_down),
		cmocka_unit_test(test_unheard_and_reuse),
		cmocka_unit_test(test_rate_from_counters),
		cmocka_unit_test(test_late_record_and_long_limit),
		cmocka_unit_test(test_tick_work_follows_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
