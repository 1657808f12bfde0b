/* SPDX-License-Identifier: MIT */
/*
 * Fault scope (docs/fabric.md section 6): every degraded server and every
 * degraded inter-rack path is placed in exactly one fault, the widest scope
 * its evidence supports: dc > rack > path > server. One implementation for
 * both programs: netwatch-dc runs every rule over its whole view,
 * netwatch-rack runs the same code over its own servers only (no paths:
 * rules 2 to 4 find nothing, so it decides rack-by-servers or server).
 *
 * Two layers, both without clocks of their own (the caller passes the
 * interval's time, so tests drive them with a controlled clock):
 *  - nw_scope_decide(): pure; one snapshot -> the candidate faults of this
 *    interval (rules 0..5, in that order; rule 0: a dead controller);
 *  - nw_scope_update(): the stability rules over intervals: a fault is
 *    pending for `hold` intervals before it is reported, widens (server ->
 *    rack -> dc, path -> rack) keeping its id, never narrows while active
 *    (a rack fault ends when fewer than theta_rack/2 of its members remain
 *    degraded; the rest then start again as narrower faults), and ends
 *    after `clear` intervals with every member healthy.
 */
#ifndef NW_SCOPE_H
#define NW_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Ordered by width: a wider scope compares greater. */
enum nw_scope { NW_SCOPE_SERVER = 0, NW_SCOPE_PATH, NW_SCOPE_RACK, NW_SCOPE_DC, NW_SCOPE__COUNT };
/* Why a rack fault is a rack fault; NONE for the other scopes. CONTROLLER:
 * the rack's controller reports no more (rule 0). */
enum nw_scope_cause {
	NW_CAUSE_NONE = 0,
	NW_CAUSE_SERVERS,
	NW_CAUSE_UPLINK,
	NW_CAUSE_TOR,
	NW_CAUSE_CONTROLLER
};

/* "server", "path", "rack", "dc". */
const char *nw_scope_name(enum nw_scope s);
/* "", "servers", "uplink", "tor", "controller". */
const char *nw_scope_cause_name(enum nw_scope_cause c);

/* The defaults of the intervals below: one home for the DC's and the rack's
 * flags (--scope-hold, --scope-hold-path, --scope-clear). */
#define NW_SCOPE_HOLD_DEFAULT 2
#define NW_SCOPE_HOLD_PATH_DEFAULT 3
#define NW_SCOPE_CLEAR_DEFAULT 5
/* A default in a flag's --help text: "(default " NW_SCOPE_STR(...) ")". */
#define NW_SCOPE_STR_(x) #x
#define NW_SCOPE_STR(x) NW_SCOPE_STR_(x)

/* Thresholds (netwatch-dc flags, the hold and clear netwatch-rack's too;
 * defaults from nw_scope_cfg_default). */
struct nw_scope_cfg {
	double theta_rack;    /* 0.5: degraded fraction of a rack's servers / paths */
	double theta_path_bg; /* 0.2: paths not touching the rack, degraded fraction below */
	double theta_dc;      /* 0.5: fraction of the reporting racks */
	double share_s;       /* 3: onsets within this share timing */
	double period_tol;    /* 0.1: periods agree within this relative frequency difference */
	unsigned hold;        /* 2: intervals pending before reported */
	/* 4: the same for a path fault. A rack's uplink degrades its paths in
	 * and out one after the other (each path is its own 10 Hz tone), so the
	 * first to cross is no evidence yet that the fault is the pair alone. */
	unsigned hold_path;
	unsigned clear;     /* 5: healthy intervals of all members before the fault ends */
	uint32_t min_paths; /* 4: measured paths in and out of a rack for rule 2 */
};
void nw_scope_cfg_default(struct nw_scope_cfg *c);

/* A member key: a server (rack, server id) or a path (src rack -> dst rack). */
#define NW_SCOPE_PATH_BIT (1ULL << 63)
static inline uint64_t nw_scope_server_key(uint32_t rack_id, uint32_t server_id)
{
	return (uint64_t)rack_id << 32 | server_id;
}
static inline uint64_t nw_scope_path_key(uint32_t src, uint32_t dst)
{
	return NW_SCOPE_PATH_BIT | (uint64_t)dst << 32 | src;
}
/* A rack's controller, as a member: the server id no server can have (the
 * wire's NW_SERVER_FABRIC). Degraded in a snapshot, it says the rack's
 * controller is dead (stale at the DC): rule 0 places one `rack` fault,
 * cause `controller`, on it and on every degraded path from or to that rack,
 * and those paths count nowhere else (no path or dc fault of their own).
 * Its rack is not among the snapshot's reporting racks. */
#define NW_SCOPE_CONTROLLER_ID UINT32_MAX
static inline uint64_t nw_scope_controller_key(uint32_t rack_id)
{
	return nw_scope_server_key(rack_id, NW_SCOPE_CONTROLLER_ID);
}

/* One entity of the snapshot, healthy or not. */
struct nw_scope_entity {
	uint64_t key;      /* nw_scope_server_key / nw_scope_path_key */
	int degraded;      /* class not healthy (down included) */
	double loss_ratio; /* 0..1 */
	double period_s;   /* strongest significant period; NAN: none */
	uint64_t since_ns; /* left healthy (wall clock); 0: unknown, taken as now */
};

struct nw_scope_snapshot {
	uint64_t now_ns;                 /* this interval, on the clock of since_ns */
	const struct nw_scope_entity *e; /* servers and measured paths, any order;
					  * in key order they are read in place */
	size_t n;
	const uint32_t *racks; /* the reporting racks, sorted */
	size_t nracks;
};

/* One fault: a candidate of this interval, or a tracked one. */
struct nw_scope_fault {
	uint64_t id; /* the first member's key: stays while the fault widens */
	enum nw_scope scope;
	enum nw_scope_cause cause;
	uint32_t rack_id;            /* scope rack, server */
	uint32_t server_id;          /* scope server */
	uint32_t src_rack, dst_rack; /* scope path */
	int both_directions;         /* scope path: a-b (1) or a>b (0) */
	uint64_t since_ns;           /* earliest member onset */
	double loss_ratio;           /* mean over the degraded members */
	double period_s;             /* the members' common period; NAN: none */
	uint64_t *members;           /* sorted keys */
	size_t nmembers;
	/* tracking (nw_scope_update) */
	unsigned seen;    /* consecutive intervals with evidence while pending */
	unsigned healthy; /* consecutive intervals with no member degraded */
	int reported;     /* past the hold */
	uint64_t reported_ns;
	uint32_t scope_changes;
};

struct nw_scope_list {
	struct nw_scope_fault *f;
	size_t n, cap;
};
void nw_scope_list_free(struct nw_scope_list *l);

/* Rules 0..5 over one snapshot into `out` (cleared first). 0, or -1 out of
 * memory (out is then empty). */
int nw_scope_decide(const struct nw_scope_cfg *cfg, const struct nw_scope_snapshot *s,
		    struct nw_scope_list *out);

/* Scope-decision latency histogram (onset -> reported), per scope. */
#define NW_SCOPE_BUCKETS 8
extern const double nw_scope_bucket_le[NW_SCOPE_BUCKETS];
struct nw_scope_hist {
	uint64_t bucket[NW_SCOPE_BUCKETS]; /* cumulative at render, not here */
	uint64_t count;
	double sum;
};

struct nw_scope_state {
	struct nw_scope_cfg cfg;
	struct nw_scope_list faults; /* pending and reported */
	struct nw_scope_hist hist[NW_SCOPE__COUNT];
	uint64_t ended; /* faults that ended after being reported */
};

void nw_scope_init(struct nw_scope_state *st, const struct nw_scope_cfg *cfg);
void nw_scope_free(struct nw_scope_state *st);
/* One interval: decide over `s` and move the tracked faults on. 0 or -1
 * (out of memory: faults may have been lost; the next interval finds
 * them again, pending). */
int nw_scope_update(struct nw_scope_state *st, const struct nw_scope_snapshot *s);
/* Faults past their hold. */
size_t nw_scope_reported(const struct nw_scope_state *st);
/* "server:3/12", "rack:2", "path:1-2", "path:1>2", "dc" into buf. */
void nw_scope_fault_name(const struct nw_scope_fault *f, char *buf, size_t len);

/* The fault as a JSON object appended to b (scope_json.c): id, name, scope,
 * subject, cause, since, reported_ns, members (at most
 * NW_SCOPE_JSON_MEMBERS names), members_total, loss_ratio, period_s,
 * scope_changes. */
#define NW_SCOPE_JSON_MEMBERS 64U
void nw_scope_fault_json(const struct nw_scope_fault *f, struct nw_buf *b);
/* The faults of st past their hold, as a JSON array appended to b (the
 * DC's fabric.faults and the rack's faults); st NULL: []. */
void nw_scope_reported_json(const struct nw_scope_state *st, struct nw_buf *b);

#endif
