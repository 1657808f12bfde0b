// SPDX-License-Identifier: MIT
/*
 * The frame reassembler's shedding (issue 20): of the whole frames one read
 * brings on a connection that reports a rack, only the newest reaches the
 * callback; the older ones are counted shed. A frame split across reads is never shed, and a complete frame
 * followed by a partial one is parsed (the partial one may never finish).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dc_conn.h"

struct seen {
	unsigned frames;
	uint64_t last_seq;
};

static int on_frame(void *ctx, struct dc_conn *c, const uint8_t *f, size_t len)
{
	struct seen *s = ctx;
	struct nw_report r;

	(void)c;
	assert_int_equal(nw_report_parse(f, len, NULL, &r), NW_REJ_OK);
	s->frames++;
	s->last_seq = r.seq;
	nw_report_free(&r);
	return 0;
}

/* Frames of seq 1..n, back to back. */
static void frames(struct nw_buf *out, unsigned n)
{
	struct nw_buf one = { 0 };

	for (unsigned i = 1; i <= n; i++) {
		struct nw_report r = { .rack_id = 1,
				       .boot_ns = 5,
				       .seq = i,
				       .time_ns = 6,
				       .interval_s = 1,
				       .rack_score = 1 };

		assert_int_equal(nw_report_encode(&r, NULL, &one), 0);
		nw_buf_put(out, one.p, one.len);
	}
	nw_buf_free(&one);
}

static void test_only_the_newest_of_one_read(void **state)
{
	struct dc_budget b = { .max = 1 << 20 };
	struct dc_conn c;
	struct nw_buf in = { 0 };
	struct seen seen = { 0 };
	enum nw_report_reject why;
	uint64_t shed = 0;

	(void)state;
	frames(&in, 3);
	/* not reporting a rack yet: every frame is read */
	dc_conn_init(&c, -1, 1, 1);
	assert_int_equal(dc_conn_feed(&c, &b, (const uint8_t *)in.p, in.len, 1, on_frame, &seen,
				      &why, &shed),
			 DC_FEED_OK);
	assert_int_equal(seen.frames, 3);
	assert_int_equal(shed, 0);
	/* reporting rack 1: only the newest */
	seen.frames = 0;
	c.rack = 1;
	assert_int_equal(dc_conn_feed(&c, &b, (const uint8_t *)in.p, in.len, 1, on_frame, &seen,
				      &why, &shed),
			 DC_FEED_OK);
	assert_int_equal(seen.frames, 1);
	assert_int_equal(seen.last_seq, 3);
	assert_int_equal(shed, 2);
	assert_false(dc_conn_in_frame(&c));
	dc_conn_clear(&c, &b);
	assert_int_equal(b.used, 0);
	nw_buf_free(&in);
}

static void test_split_and_partial_frames_are_not_shed(void **state)
{
	struct dc_budget b = { .max = 1 << 20 };
	struct dc_conn c;
	struct nw_buf in = { 0 };
	struct seen seen = { 0 };
	enum nw_report_reject why;
	uint64_t shed = 0;
	size_t one;

	(void)state;
	frames(&in, 2);
	one = in.len / 2;
	dc_conn_init(&c, -1, 1, 1);
	c.rack = 1;
	/* the first frame whole plus half of the second: the first is parsed */
	assert_int_equal(dc_conn_feed(&c, &b, (const uint8_t *)in.p, one + 10, 1, on_frame, &seen,
				      &why, &shed),
			 DC_FEED_OK);
	assert_int_equal(seen.frames, 1);
	assert_true(dc_conn_in_frame(&c));
	/* the rest, byte by byte */
	for (size_t i = one + 10; i < in.len; i++)
		assert_int_equal(dc_conn_feed(&c, &b, (const uint8_t *)in.p + i, 1, 2, on_frame,
					      &seen, &why, &shed),
				 DC_FEED_OK);
	assert_int_equal(seen.frames, 2);
	assert_int_equal(seen.last_seq, 2);
	assert_int_equal(shed, 0);
	/* no buffer is kept between frames */
	assert_null(c.buf);
	assert_int_equal(b.used, 0);
	dc_conn_clear(&c, &b);
	nw_buf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_the_newest_of_one_read),
		cmocka_unit_test(test_split_and_partial_frames_are_not_shed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
