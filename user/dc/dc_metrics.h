/* SPDX-License-Identifier: MIT */
/* The DC controller's /metrics page (Prometheus text 0.0.4) and
 * /api/v1/dc document, rendered from one snapshot of its state and
 * counters. The families are listed in docs/metrics.md ("netwatch-dc"). */
#ifndef NW_DC_METRICS_H
#define NW_DC_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "dc_conn.h"
#include "dc_state.h"
#include "scope.h"

/* --rack-detail-max's default: a page of ~1 MB and ~5 ms to render */
#define DC_RACK_DETAIL_MAX_DEFAULT 2000U

struct dc_view {
	const char *dc_id;
	const struct dc_state *state;
	int auth_required; /* --key-file given: unauthenticated reports are refused */
	uint64_t conns_open, conns_accepted;
	uint64_t conn_rejected[DC_CONN__COUNT];
	uint64_t buffered_bytes;
	/* overload (server.c): docs/dc.md "Overload" */
	uint64_t shed;         /* reports shed: an older one behind a newer in one read */
	uint64_t racks_behind; /* racks kept fresh only by unread data, last sweep */
	uint64_t forgotten;    /* racks dropped after --forget */
	double lag_s;          /* max seconds from arrival to processing, last 1 s */
	int overloaded;
	/* --rack-detail-max: the per-rack detail families (age, state, servers,
	 * reports accepted) only while the DC knows at most this many racks;
	 * above it /metrics keeps per rack only its score and stale flag
	 * (docs/metrics.md "Cardinality"). */
	uint32_t rack_detail_max;
	/* fabric and fault scope (docs/fabric.md sections 5, 6) */
	const struct nw_scope_state *scope;
	uint32_t pair_series_max;    /* per-pair series while probed pairs <= this */
	uint64_t path_rows_rejected; /* paths_in rows --fabric-mesh does not schedule */
};

/* What GET /api/v1/dc returns: the summary always, and a page of racks.
 * Query string (docs/dc.md): after, limit, state, min_score, max_score,
 * rack, servers. */
#define DC_API_DEFAULT_LIMIT 100U
#define DC_API_MAX_LIMIT 1000U
#define DC_API_MAX_RACK_IDS 256U
#define DC_API_PAGE_BYTES (512U << 10) /* a page stops before this (estimated) */
#define DC_API_WORST 10U

struct dc_api_query {
	int64_t after; /* racks with an id above; -1: from the first */
	uint32_t limit;
	unsigned states;             /* bit per enum dc_rack_state; 0: all */
	double min_score, max_score; /* on the score the rack counts with */
	uint32_t rack_ids[DC_API_MAX_RACK_IDS];
	uint32_t nrack_ids; /* 0: any */
	int servers;        /* include servers[] (default 1) */
	int dense;          /* matrix=dense: fabric.classes as an N x N array */
};

void dc_api_query_default(struct dc_api_query *q);
/* One query parameter; 0, or -1 with *why set (the caller answers 400). */
int dc_api_query_set(struct dc_api_query *q, const char *key, const char *value, const char **why);

/* Appends the page to `out`. 0, or -1 (out of memory). */
int dc_metrics_render(const struct dc_view *v, uint64_t mono_ns, struct nw_buf *out);

/* The fabric and fault families (dc_fabric_metrics.c); `dc` is the
 * escaped dc_id="..." label. 0 or -1. */
int dc_fabric_metrics(const struct dc_view *v, const char *dc, uint64_t mono_ns,
		      struct nw_buf *out);
/* The "fabric" member of /api/v1/dc (dc_fabric_json.c), with its leading
 * comma; sets *score to the DC score (rack mean, capped by the fabric). */
int dc_fabric_json(const struct dc_view *v, const struct dc_api_query *q, uint64_t mono_ns,
		   struct nw_buf *b, double *score);

/* The /api/v1/dc document, malloc'ed; NULL when out of memory. */
char *dc_api_json(const struct dc_view *v, const struct dc_api_query *q, uint64_t mono_ns);

#endif
