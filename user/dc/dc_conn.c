// SPDX-License-Identifier: MIT
#include "dc_conn.h"

#include <stdlib.h>
#include <string.h>

#include "dc_state.h"

const char *dc_conn_reject_name(enum dc_conn_reject r)
{
	static const char *const names[DC_CONN__COUNT] = { "limit",  "idle",   "slow",
							   "memory", "errors", "evicted" };

	return (unsigned)r < DC_CONN__COUNT ? names[r] : "unknown";
}

void dc_conn_init(struct dc_conn *c, int fd, uint64_t id, uint64_t now_ns)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->id = id;
	c->rack = DC_NO_RACK;
	c->last_rx_ns = now_ns;
	c->arrival_ns = now_ns;
	c->opened_ns = now_ns;
}

/* What a buffer of `cap` bytes costs the shared budget: the first
 * DC_CONN_FREE_BYTES of every connection are its own, so peers that fill
 * the budget with half-sent large frames cannot lock out a rack whose
 * reports are small. */
static size_t charge(size_t cap)
{
	return cap > DC_CONN_FREE_BYTES ? cap - DC_CONN_FREE_BYTES : 0;
}

static void release(struct dc_conn *c, struct dc_budget *b)
{
	b->used -= charge(c->cap);
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

void dc_conn_clear(struct dc_conn *c, struct dc_budget *b)
{
	release(c, b);
	c->have = c->hdr_have = c->frame_len = 0;
	c->frame_start_ns = 0;
}

int dc_conn_in_frame(const struct dc_conn *c)
{
	return c->hdr_have > 0;
}

/* Room for `need` bytes of the frame: doubling, never past the claimed
 * length, every byte charged to the budget before it is allocated. */
static int reserve(struct dc_conn *c, struct dc_budget *b, size_t need)
{
	size_t cap = c->cap ? c->cap : 4096;
	uint8_t *p;

	if (need <= c->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > c->frame_len)
		cap = c->frame_len;
	if (b->used - charge(c->cap) + charge(cap) > b->max)
		return -1;
	p = realloc(c->buf, cap);
	if (!p)
		return -1;
	b->used = b->used - charge(c->cap) + charge(cap);
	c->buf = p;
	c->cap = cap;
	return 0;
}

/* A whole frame with a sound header starts at p? */
static int complete_frame_at(const uint8_t *p, size_t n)
{
	size_t len;

	return n >= NW_REPORT_HDR_LEN && nw_report_frame_header(p, &len) == NW_REJ_OK && len <= n;
}

enum dc_feed_result dc_conn_feed(struct dc_conn *c, struct dc_budget *b, const uint8_t *p, size_t n,
				 uint64_t now_ns, dc_frame_fn fn, void *ctx,
				 enum nw_report_reject *why, uint64_t *shed)
{
	if (n)
		c->last_rx_ns = now_ns;
	while (n) {
		size_t take;

		/* The usual case: a whole frame inside these bytes is read where it
		 * lies, no copy and no buffer held between reports. */
		if (c->hdr_have == 0 && complete_frame_at(p, n)) {
			size_t len;
			int stop = 0;

			nw_report_frame_header(p, &len);
			if (c->rack != DC_NO_RACK && complete_frame_at(p + len, n - len))
				(*shed)++;
			else
				stop = fn(ctx, c, p, len);
			p += len;
			n -= len;
			if (stop)
				return DC_FEED_STOP;
			continue;
		}

		if (c->hdr_have == 0)
			c->frame_start_ns = now_ns ? now_ns : 1;
		if (c->hdr_have < NW_REPORT_HDR_LEN) {
			take = NW_REPORT_HDR_LEN - c->hdr_have;
			take = take < n ? take : n;
			memcpy(c->hdr + c->hdr_have, p, take);
			c->hdr_have += take;
			p += take;
			n -= take;
			if (c->hdr_have < NW_REPORT_HDR_LEN)
				break;
			*why = nw_report_frame_header(c->hdr, &c->frame_len);
			if (*why != NW_REJ_OK)
				return DC_FEED_FRAMING;
			if (reserve(c, b, c->frame_len < 4096 ? c->frame_len : 4096))
				return DC_FEED_MEMORY;
			memcpy(c->buf, c->hdr, NW_REPORT_HDR_LEN);
			c->have = NW_REPORT_HDR_LEN;
		}
		take = c->frame_len - c->have;
		take = take < n ? take : n;
		if (reserve(c, b, c->have + take))
			return DC_FEED_MEMORY;
		memcpy(c->buf + c->have, p, take);
		c->have += take;
		p += take;
		n -= take;
		if (c->have < c->frame_len)
			break;
		{
			int stop = 0;

			if (c->rack != DC_NO_RACK && complete_frame_at(p, n))
				(*shed)++;
			else
				stop = fn(ctx, c, c->buf, c->frame_len);

			c->hdr_have = c->frame_len = c->have = 0;
			c->frame_start_ns = 0;
			if (c->cap > DC_CONN_KEEP_BYTES)
				release(c, b);
			if (stop)
				return DC_FEED_STOP;
		}
	}
	return DC_FEED_OK;
}
