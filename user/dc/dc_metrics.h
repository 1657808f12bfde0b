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

struct dc_view {
	const char *dc_id;
	const struct dc_state *state;
	int auth_required; /* --key-file given: unauthenticated reports are refused */
	uint64_t conns_open, conns_accepted;
	uint64_t conn_rejected[DC_CONN__COUNT];
	uint64_t buffered_bytes;
};

/* Appends the page to `out`. 0, or -1 (out of memory). */
int dc_metrics_render(const struct dc_view *v, uint64_t mono_ns, struct nw_buf *out);

/* The /api/v1/dc document, malloc'ed; NULL when out of memory. */
char *dc_api_json(const struct dc_view *v, uint64_t mono_ns);

#endif
