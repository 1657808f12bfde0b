/* SPDX-License-Identifier: MIT */
/* The rack's "faults" in /api/v1/rack (faults.c, docs/fabric.md section 6). */
#ifndef NW_RACK_FAULTS_H
#define NW_RACK_FAULTS_H

#include <jansson.h>

#include "rack_view.h"
#include "scope.h"

/* One interval of the rack's own fault scope: the view's servers (not
 * its paths) into st, whose hold and clear (scope.h, the DC's defaults)
 * keep a fault from flapping. wall_ns is CLOCK_REALTIME, the clock of the
 * view's since_ns. 0, or -1 out of memory (the faults stay). */
int nw_rack_faults_update(struct nw_scope_state *st, const struct nw_rack_view *v,
			  uint64_t wall_ns);
/* A JSON array of st's reported faults (scope server, or rack with cause
 * servers); [] for st NULL; NULL when out of memory. */
json_t *nw_rack_faults_json(const struct nw_scope_state *st);

#endif
