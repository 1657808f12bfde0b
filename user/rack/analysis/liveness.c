// SPDX-License-Identifier: MIT
/* Liveness from the sample cadence and outage counting. See liveness.h. */
#include "liveness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NW_LIVE_NIL UINT32_MAX
#define WHEEL_SIZE (1U << NW_LIVE_WHEEL_BITS)
#define WHEEL_MASK (WHEEL_SIZE - 1U)

uint64_t nw_live_limit_ns(uint32_t down_after, uint32_t rate_uhz)
{
	/* One period is 1e15 / rate_uhz ns; the product first keeps it exact
	 * for every rate that divides it (20 Hz: 10 x 50 ms = 500 ms). */
	return rate_uhz ? (uint64_t)down_after * 1000000000000000ULL / rate_uhz : 0;
}

bool nw_live_silent(uint64_t last_rx_ns, uint64_t now_ns, uint64_t limit_ns)
{
	return limit_ns && now_ns > last_rx_ns && now_ns - last_rx_ns > limit_ns;
}

int nw_live_init(struct nw_live *l, uint32_t max_slots, uint32_t down_after)
{
	memset(l, 0, sizeof(*l));
	if (!max_slots || down_after < NW_LIVE_DOWN_AFTER_MIN ||
	    down_after > NW_LIVE_DOWN_AFTER_MAX)
		return -EINVAL;
	l->slot = calloc(max_slots, sizeof(*l->slot));
	l->wheel = malloc(WHEEL_SIZE * sizeof(*l->wheel));
	if (!l->slot || !l->wheel) {
		nw_live_free(l);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < WHEEL_SIZE; i++)
		l->wheel[i] = NW_LIVE_NIL;
	l->max_slots = max_slots;
	l->down_after = down_after;
	return 0;
}

void nw_live_free(struct nw_live *l)
{
	free(l->slot);
	free(l->wheel);
	l->slot = NULL;
	l->wheel = NULL;
	l->max_slots = 0;
}

static void unlink_slot(struct nw_live *l, uint32_t i)
{
	struct nw_live_slot *s = &l->slot[i];

	if (!s->in_wheel)
		return;
	if (s->prev != NW_LIVE_NIL)
		l->slot[s->prev].next = s->next;
	else
		l->wheel[s->bucket] = s->next;
	if (s->next != NW_LIVE_NIL)
		l->slot[s->next].prev = s->prev;
	s->in_wheel = 0;
	s->prev = s->next = NW_LIVE_NIL;
}

/* Timed from its last record: into the bucket of its deadline, or the
 * cursor's when that lies behind the cursor (a record drained late), so
 * the next tick still looks at it. */
static void link_slot(struct nw_live *l, uint32_t i)
{
	struct nw_live_slot *s = &l->slot[i];
	uint64_t b;

	s->deadline_ns = s->last_rx_ns + s->limit_ns;
	b = s->deadline_ns >> NW_LIVE_BUCKET_SHIFT;
	if (b < l->cursor)
		b = l->cursor;
	s->bucket = (uint32_t)(b & WHEEL_MASK);
	s->prev = NW_LIVE_NIL;
	s->next = l->wheel[s->bucket];
	if (s->next != NW_LIVE_NIL)
		l->slot[s->next].prev = i;
	l->wheel[s->bucket] = i;
	s->in_wheel = 1;
}

/* The slot for server_id: a slot that now serves another server starts
 * afresh (its outages were the other server's). NULL for a bad slot. */
static struct nw_live_slot *claim(struct nw_live *l, uint32_t slot, uint32_t server_id)
{
	struct nw_live_slot *s;

	if (slot >= l->max_slots)
		return NULL;
	s = &l->slot[slot];
	if (!s->used || s->server_id != server_id) {
		unlink_slot(l, slot);
		memset(s, 0, sizeof(*s));
		s->prev = s->next = NW_LIVE_NIL;
		s->used = 1;
		s->server_id = server_id;
	}
	return s;
}

void nw_live_record(struct nw_live *l, uint32_t slot, uint32_t server_id,
		    const struct nw_record *rec)
{
	struct nw_live_slot *s = claim(l, slot, server_id);
	uint64_t rx = rec->rx_ns;

	if (!s)
		return;
	if (s->state != NW_LIVE_UNHEARD && rx < s->last_rx_ns)
		return; /* older than what we know: no news about the silence since */
	if (s->state == NW_LIVE_DOWN) {
		s->outage_ns += rx - s->last_rx_ns; /* the outage ends here */
	} else if (s->state == NW_LIVE_UP && nw_live_silent(s->last_rx_ns, rx, s->limit_ns)) {
		/* A silence past the limit that no tick saw: still an outage. */
		s->outages++;
		s->outage_ns += rx - s->last_rx_ns;
	}
	s->last_rx_ns = rx;
	unlink_slot(l, slot);
	if (rec->flags & NW_REC_GOODBYE) {
		s->state = NW_LIVE_LEFT; /* out of the expected set: not timed */
		return;
	}
	s->state = NW_LIVE_UP;
	if (s->limit_ns)
		link_slot(l, slot);
}

void nw_live_set_rate(struct nw_live *l, uint32_t slot, uint32_t server_id, uint32_t rate_uhz)
{
	struct nw_live_slot *s = claim(l, slot, server_id);

	if (!s || s->rate_uhz == rate_uhz)
		return;
	s->rate_uhz = rate_uhz;
	s->limit_ns = nw_live_limit_ns(l->down_after, rate_uhz);
	if (s->state != NW_LIVE_UP)
		return;
	unlink_slot(l, slot);
	if (s->limit_ns)
		link_slot(l, slot);
}

uint32_t nw_live_tick(struct nw_live *l, uint64_t now_ns)
{
	uint64_t end = now_ns >> NW_LIVE_BUCKET_SHIFT, b = l->cursor;
	uint32_t downs = 0;

	/* First tick, a long stall or the clock stepped: every bucket once. */
	if (!l->ticked || end - b >= WHEEL_SIZE || end < b)
		b = end >= WHEEL_SIZE - 1 ? end - (WHEEL_SIZE - 1) : 0;
	for (; b <= end; b++) {
		uint32_t i = l->wheel[b & WHEEL_MASK];

		l->work.buckets++;
		while (i != NW_LIVE_NIL) {
			struct nw_live_slot *s = &l->slot[i];
			uint32_t next = s->next;

			l->work.visited++;
			/* A bucket also holds deadlines of later turns, and the
			 * current one deadlines later in it: each is tested. */
			if (nw_live_silent(s->last_rx_ns, now_ns, s->limit_ns)) {
				unlink_slot(l, i);
				s->state = NW_LIVE_DOWN;
				s->outages++;
				downs++;
			}
			i = next;
		}
	}
	/* The current bucket again next time: it may hold deadlines after now. */
	l->cursor = end;
	l->ticked = true;
	l->work.ticks++;
	l->work.downs += downs;
	return downs;
}

void nw_live_get(const struct nw_live *l, uint32_t slot, uint32_t server_id, uint64_t now_ns,
		 struct nw_live_info *out)
{
	const struct nw_live_slot *s;

	memset(out, 0, sizeof(*out));
	if (slot >= l->max_slots)
		return;
	s = &l->slot[slot];
	if (!s->used || s->server_id != server_id || s->state == NW_LIVE_UNHEARD)
		return;
	out->heard = true;
	out->up = s->state == NW_LIVE_UP;
	out->left = s->state == NW_LIVE_LEFT;
	out->last_rx_ns = s->last_rx_ns;
	out->outages = s->outages;
	out->outage_s = (double)s->outage_ns / 1e9;
	if (s->state == NW_LIVE_DOWN && now_ns > s->last_rx_ns)
		out->outage_s += (double)(now_ns - s->last_rx_ns) / 1e9;
}
