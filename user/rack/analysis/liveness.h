/* SPDX-License-Identifier: MIT */
/*
 * Liveness from the sample cadence: the one definition of a server being
 * down, and the count of its outages. docs/analysis.md, "Liveness".
 *
 * The rule: a server is down once no sample has arrived for more than
 * down_after of its own sample periods (its rate from its counters):
 * silence > limit, limit = down_after / rate (nw_live_limit_ns, tested by
 * nw_live_silent). It is up again with the first sample back. A goodbye
 * makes it left: neither up nor down, and its silence is no outage. A
 * registered server never heard from is down, with no outage (no sample
 * began a silence).
 *
 * Outages: every silence longer than the limit is one. It is counted when
 * the tick declares the server down, or, when a sample ends a silence that
 * no tick saw pass the limit, by that sample: the count does not depend on
 * the tick's phase. Its seconds run from the last sample before the
 * silence to the first after it; an ongoing one counts up to `now`.
 * Counted since this tracker began (a controller restart starts at 0).
 *
 * Cost: a record is O(1): its slot is unlinked and relinked in a hashed
 * timing wheel by its deadline (last rx + limit; Varghese & Lauck). A tick
 * looks at the wheel buckets its time step covers (~6 per 100 ms) and at
 * the slots in them: those whose deadline passed (they go down) and at most
 * one bucket's worth that is not due yet. A server that keeps sending is
 * never looked at by a tick, so the tick costs nothing per idle (healthy)
 * server. `work` counts what the ticks did, for tests and benchmarks.
 *
 * Memory: the slot array and the wheel, allocated once by nw_live_init; no
 * allocation after. One thread. Times are CLOCK_TAI ns: the records' rx
 * stamps and the caller's now.
 *
 * Calls: nw_live_init; per drained record nw_live_record; per refresh, for
 * each registered slot, nw_live_set_rate (the rate from its counters; until
 * it is known a heard server stays up: no false outage for a slow agent);
 * every tick nw_live_tick(now); read with nw_live_get(now); nw_live_free.
 */
#ifndef NW_LIVENESS_H
#define NW_LIVENESS_H

#include <stdbool.h>
#include <stdint.h>

#include "collector.h"

#define NW_LIVE_DOWN_AFTER_DEFAULT 10U /* sample periods: 0.5 s at 20 Hz */
#define NW_LIVE_DOWN_AFTER_MIN 2U
#define NW_LIVE_DOWN_AFTER_MAX 1000U

/* The wheel: 4096 buckets of 2^24 ns (16.8 ms), so one turn is 68.7 s,
 * longer than any limit at >= 0.15 Hz and the default 10 periods. A longer
 * limit still works: its slot is looked at once per turn. */
#define NW_LIVE_WHEEL_BITS 12U
#define NW_LIVE_BUCKET_SHIFT 24U

enum nw_live_state {
	NW_LIVE_UNHEARD = 0, /* no record since the tracker began */
	NW_LIVE_UP,
	NW_LIVE_DOWN,
	NW_LIVE_LEFT, /* its last record was a goodbye */
};

struct nw_live_slot {
	uint64_t last_rx_ns;  /* newest record's rx (a goodbye included) */
	uint64_t deadline_ns; /* last_rx_ns + limit_ns, while in the wheel */
	uint64_t limit_ns;    /* 0: its rate is not known yet */
	uint64_t outages;     /* completed and ongoing */
	uint64_t outage_ns;   /* completed outages' silence */
	uint32_t prev, next;  /* in its wheel bucket; NW_LIVE_NIL at either end */
	uint32_t bucket;      /* the wheel bucket it is in, while in_wheel */
	uint32_t server_id;
	uint32_t rate_uhz;
	uint8_t state; /* enum nw_live_state */
	uint8_t used;  /* has served a server */
	uint8_t in_wheel;
};

/* What the ticks did: a test counts the work instead of timing it. */
struct nw_live_work {
	uint64_t ticks;
	uint64_t buckets; /* wheel buckets looked at */
	uint64_t visited; /* slots looked at */
	uint64_t downs;   /* slots declared down */
};

struct nw_live {
	uint32_t down_after;
	uint32_t max_slots;
	struct nw_live_slot *slot; /* [max_slots] */
	uint32_t *wheel;           /* [1 << NW_LIVE_WHEEL_BITS]: first slot of each bucket */
	uint64_t cursor;           /* absolute bucket the next tick starts at */
	bool ticked;
	struct nw_live_work work;
};

/* One server's liveness at a time `now`. */
struct nw_live_info {
	bool heard; /* a record since the tracker began */
	bool up;    /* heard, not silent past its limit, not left */
	bool left;
	uint64_t last_rx_ns;
	uint64_t outages;
	double outage_s; /* completed outages plus the ongoing one up to now */
};

/* How long a server at rate_uhz may stay silent and still be up:
 * down_after sample periods, in ns; 0 while the rate is not known. */
uint64_t nw_live_limit_ns(uint32_t down_after, uint32_t rate_uhz);

/* The rule: silent past the limit at now_ns since the record stamped
 * last_rx_ns. A stamp ahead of now is not silence; limit 0 (rate not known)
 * never is. Callers test "never heard" and "left" themselves. */
bool nw_live_silent(uint64_t last_rx_ns, uint64_t now_ns, uint64_t limit_ns);

/* 0, -EINVAL (no slots, down_after out of range) or -ENOMEM. */
int nw_live_init(struct nw_live *l, uint32_t max_slots, uint32_t down_after);
void nw_live_free(struct nw_live *l);

/* One drained record of `slot` (serving server_id; a slot that now serves
 * another server starts afresh). A record older than the newest one known
 * says nothing about the silence since and is ignored. */
void nw_live_record(struct nw_live *l, uint32_t slot, uint32_t server_id,
		    const struct nw_record *rec);

/* The rate from the slot's counters (0: unknown). Sets its limit; a heard
 * server whose rate is first known now starts being timed from its last
 * record. */
void nw_live_set_rate(struct nw_live *l, uint32_t slot, uint32_t server_id, uint32_t rate_uhz);

/* Declares down every up server whose silence passed its limit at now_ns.
 * Returns how many went down. */
uint32_t nw_live_tick(struct nw_live *l, uint64_t now_ns);

/* The liveness of `slot` at now_ns, if it serves server_id (else: unheard). */
void nw_live_get(const struct nw_live *l, uint32_t slot, uint32_t server_id, uint64_t now_ns,
		 struct nw_live_info *out);

#endif
