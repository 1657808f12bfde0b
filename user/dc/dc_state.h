/* SPDX-License-Identifier: MIT */
/*
 * The DC controller's view of its racks: the newest accepted report per
 * rack, who may report it, and the DC score (docs/dc.md).
 *
 * The racks that make up the DC are the expected ones (--racks N: 0..N-1)
 * and every rack that has had a report accepted since the DC started. Each
 * counts in the DC score with its reported rack score while its newest
 * report is younger than --stale, and 0 otherwise (stale, or expected and
 * never reported):
 *     dc_score = sum(contribution) / |expected ∪ reported|    (0 for no racks)
 *
 * A report is accepted only if it is newer ((boot_ns, seq), per rack, kept
 * across connections so a replay on a new connection is refused too), its
 * time is within max_skew of the DC's clock (bounds replays after a DC
 * restart, when the last (boot_ns, seq) is forgotten), its rack is not
 * claimed by another open connection and the DC's limits on racks and
 * stored servers hold.
 *
 * Nothing one unauthenticated report does is permanent (docs/security.md,
 * "DC and reports"): boot_ns may not lie in the future, and the replay
 * order and the connection's claim of a rack hold only while the rack is
 * fresh unless its last report was authenticated, so a forged
 * (boot_ns, seq) = (2^63-1, 2^63-1) shuts the real rack out for at most
 * --stale. Racks that are not expected and have been stale for --forget
 * leave the table, so a flood of made-up rack ids neither fills it for good
 * nor keeps the DC score down.
 *
 * Ages count from when a report arrived (the kernel's receive timestamp),
 * not when the loop got to it, and a rack whose connection holds unread
 * data (dc_state_heard) is not stale: a DC that is behind says so
 * (overloaded, docs/dc.md) instead of showing healthy racks stale.
 * No threads: one event loop owns it.
 */
#ifndef NW_DC_STATE_H
#define NW_DC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define DC_NO_RACK UINT32_MAX
#define DC_MAX_SERVERS_TOTAL (1U << 20) /* stored summaries over all racks: ~48 MiB */
/* Stored paths_in rows over all racks (64 bytes each: 64 MiB); a report
 * that would pass it is refused as too_large. 1000 racks in full mesh are
 * 999 000 rows, the limited mesh (k = 16) 16 000. */
#define DC_MAX_PATHS_TOTAL (1U << 20)

enum dc_rack_state { DC_RACK_OK = 0, DC_RACK_STALE, DC_RACK_NEVER, DC_RACK__COUNT };

/* "ok", "stale", "never". */
const char *dc_rack_state_name(enum dc_rack_state s);

struct dc_rack {
	uint32_t rack_id;
	int expected;
	int have;              /* a report has been accepted */
	struct nw_report last; /* the newest accepted one; its servers are owned here */
	uint64_t rx_ns;        /* CLOCK_MONOTONIC when `last` arrived */
	uint64_t heard_ns;     /* newest arrival of bytes from its owner, read or not */
	uint64_t accepted;     /* reports accepted for this rack */
	uint64_t owner;        /* id of the open connection that reports it; 0: none */
};

struct dc_cfg {
	uint32_t racks_expected; /* racks first_rack..first_rack+N-1 */
	uint32_t first_rack;     /* a shard's first expected rack (docs/dc.md "Shards") */
	uint32_t max_racks;      /* known racks at most (expected included) */
	double stale_s;
	double max_skew_s; /* 0: time_ns not checked */
	double forget_s;   /* a stale rack that is not expected leaves after this */
	uint32_t max_servers_total;
};

struct dc_state {
	struct dc_cfg cfg;
	struct dc_rack *racks; /* sorted by rack_id */
	size_t n, cap;
	uint64_t servers_total;
	uint64_t paths_total; /* paths_in rows kept, over all racks */
	uint64_t accepted;
	uint64_t rejected[NW_REJ__COUNT];
	uint64_t forgotten; /* racks dropped by dc_state_forget */
};

/* 0, or -1 (out of memory, or more expected racks than max_racks). */
int dc_state_init(struct dc_state *s, const struct dc_cfg *cfg);
void dc_state_free(struct dc_state *s);

const struct dc_rack *dc_state_find(const struct dc_state *s, uint32_t rack_id);

/* Offers a parsed report from connection `conn_id` (non-zero), which so far
 * reports rack *conn_rack (DC_NO_RACK: none yet; one connection reports one
 * rack). NW_REJ_OK: accepted; r->servers now belongs to the state (r is
 * cleared), *conn_rack is set, and *evicted is the connection that held the
 * rack until now (an authenticated newer report took it over: close it) or
 * 0. Otherwise the reason, r untouched (the caller frees it). Counts the
 * outcome either way. */
enum nw_report_reject dc_state_offer(struct dc_state *s, struct nw_report *r, uint64_t conn_id,
				     uint32_t *conn_rack, uint64_t wall_ns, uint64_t mono_ns,
				     uint64_t *evicted);
/* The same, for a report that arrived at `arrival_ns` (<= mono_ns). */
enum nw_report_reject dc_state_offer_at(struct dc_state *s, struct nw_report *r, uint64_t conn_id,
					uint32_t *conn_rack, uint64_t wall_ns, uint64_t mono_ns,
					uint64_t arrival_ns, uint64_t *evicted);
/* Counts a refusal that never reached dc_state_offer (framing, parse). */
void dc_state_count_reject(struct dc_state *s, enum nw_report_reject why);
/* Connection `conn_id` closed: rack `rack_id` may be reported by another one. */
void dc_state_release(struct dc_state *s, uint32_t rack_id, uint64_t conn_id);
/* Bytes from rack `rack_id`'s owner `conn_id` arrived at `arrival_ns`
 * (not read yet, or not a whole report yet): the rack is alive. */
void dc_state_heard(struct dc_state *s, uint32_t rack_id, uint64_t conn_id, uint64_t arrival_ns);
/* Drops the racks that are not expected, have no connection and have been
 * stale for cfg.forget_s. Returns how many. */
size_t dc_state_forget(struct dc_state *s, uint64_t mono_ns);

enum dc_rack_state dc_rack_state(const struct dc_state *s, const struct dc_rack *r,
				 uint64_t mono_ns);
/* Seconds since the newest report arrived or its owner was heard; NAN when
 * none was accepted. */
double dc_rack_age_s(const struct dc_rack *r, uint64_t mono_ns);
/* What the rack adds to the DC score: its score when ok, else 0. */
double dc_rack_contribution(const struct dc_state *s, const struct dc_rack *r, uint64_t mono_ns);
double dc_state_score(const struct dc_state *s, uint64_t mono_ns);
/* Racks with a report younger than --stale. */
size_t dc_state_reporting(const struct dc_state *s, uint64_t mono_ns);

#endif
