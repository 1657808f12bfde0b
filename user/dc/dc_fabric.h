/* SPDX-License-Identifier: MIT */
/*
 * The rack x rack path matrix (docs/fabric.md section 5, docs/dc.md
 * "Fabric"), assembled on demand from the racks' newest reports: cell
 * (src, dst) is rack dst's paths_in row for src. Nothing is copied but
 * pointers: the rows stay owned by dc_state (bounded there by
 * DC_MAX_PATHS_TOTAL).
 *
 * A row is listed while its rack's report is fresh and its mesh_epoch is
 * the current epoch or the one before (serial-number order, mod 65536:
 * the limited mesh rotates and an unprobed pair is absent, not healthy);
 * rows of a stale rack are listed with stale = 1 and count nowhere else.
 *
 *   fabric.score = 1 - mean spectral error over the measured pairs
 *                  (fresh, current epoch, error known); NAN when none
 *   DC score     = min(mean rack score, fabric.score) when there is one
 */
#ifndef NW_DC_FABRIC_H
#define NW_DC_FABRIC_H

#include <stddef.h>
#include <stdint.h>

#include "dc_state.h"
#include "fabric_peers.h"
#include "scope.h"

#define DC_FABRIC_DENSE_MAX 1024U /* racks for ?matrix=dense (1 M cells) */
#define DC_FABRIC_WORST 64U       /* pairs exported above --fabric-pair-series-max */

struct dc_path {
	uint32_t src, dst;
	const struct nw_report_path *row; /* in rack dst's last report */
	double age_s;                     /* of that report */
	int stale;                        /* the rack dst is stale: listed, not counted */
};

struct dc_fabric {
	struct dc_path *paths; /* by dst_rack, then src_rack */
	size_t n;
	size_t probed;        /* measured: fresh and of the current epoch */
	uint64_t pairs_total; /* N (N - 1) over the known racks */
	uint32_t epoch;       /* current mesh epoch (0 without paths) */
	uint32_t k;           /* most rows one fresh rack reports (the mesh's in-degree) */
	double score;         /* NAN: no measured pair */
};

/* The mesh the racks probe by (netwatch-dc --fabric-mesh FILE: a rotating
 * peers file, fabric_peers.h), to admit only the rows it schedules. */
struct dc_mesh {
	uint16_t *ids; /* the members sorted: position i is ids[i] */
	uint32_t n, k, epoch_s;
};

/* From a rotating file (k > 0). 0, or -1 (not rotating, out of memory). */
int dc_mesh_init(struct dc_mesh *m, const struct nw_fabric_peers *file);
void dc_mesh_free(struct dc_mesh *m);
/* Keeps in r only the paths_in rows the schedule has src probe r's rack
 * in one of the epochs e - 2 .. e + 1 around the DC's own wall-clock epoch
 * e (the rack keeps the previous epoch's paths, and clocks are NTP-close,
 * not equal); a reporting rack outside the mesh keeps none. Order kept.
 * Returns the rows dropped. */
uint32_t dc_mesh_admit(const struct dc_mesh *m, struct nw_report *r, uint64_t wall_ns);
/* The epochs around e a row may belong to (see dc_mesh_admit). */
#define DC_MESH_EPOCHS_BEFORE 2U
#define DC_MESH_EPOCHS_AFTER 1U

/* "none" (no paths), "full" (k >= N - 1) or "limited". */
const char *dc_fabric_mode(const struct dc_fabric *f, const struct dc_state *st);

/* 0, or -1 out of memory (f is then empty). */
int dc_fabric_build(struct dc_fabric *f, const struct dc_state *st, uint64_t mono_ns);
void dc_fabric_free(struct dc_fabric *f);

/* The DC score: min(mean rack score, fabric score) when the fabric has one. */
double dc_fabric_dc_score(const struct dc_fabric *f, const struct dc_state *st, uint64_t mono_ns);

/* Mean error of the measured paths into (in[i]) and out of (out[i]) rack
 * st->racks[i]; NAN when it has none. Both arrays hold st->n. 0 or -1. */
int dc_fabric_rack_errors(const struct dc_fabric *f, const struct dc_state *st, double *in,
			  double *out);

/* The scope snapshot of this interval: every server of a fresh rack and
 * every measured path, the fresh racks as the reporting ones, and a
 * degraded controller entity (scope.h, rule 0) for each rack that has
 * reported and is stale now, in key order (scope.h's key: racks, then each
 * rack's servers in id order, its controller; then paths by dst, src) so the
 * scope reads it in place. The arrays are malloc'ed into *ents and *racks
 * (free both). 0 or -1. */
int dc_fabric_snapshot(const struct dc_fabric *f, const struct dc_state *st, uint64_t mono_ns,
		       uint64_t wall_ns, struct nw_scope_entity **ents, uint32_t **racks,
		       struct nw_scope_snapshot *snap);

/* A class that counts as degraded for the scope: warning, critical, down
 * (not left: the agent said goodbye; not warming: not analysed yet). */
int dc_class_degraded(enum nw_health c);

#endif
