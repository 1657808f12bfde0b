/* SPDX-License-Identifier: MIT */
/* The rack's "faults" in /api/v1/rack (faults.c, docs/fabric.md section 6). */
#ifndef NW_RACK_FAULTS_H
#define NW_RACK_FAULTS_H

#include <jansson.h>

#include "rack_view.h"

/* A JSON array of the faults the rack's own view supports (scope server,
 * or rack with cause servers); NULL when out of memory. */
json_t *nw_rack_faults_json(const struct nw_rack_view *v);

#endif
