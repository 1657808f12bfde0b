/* SPDX-License-Identifier: MIT */
/*
 * The limited mesh's schedule (docs/fabric.md section 4): which racks a rack
 * probes in an epoch, and which probe it. The one home of the schedule: the
 * agent (what to send) and the rack (what to expect) both call it.
 *
 * Racks are positions 0..n-1 (the mesh members sorted by rack id). Full mesh
 * when k >= n - 1. Otherwise the circulant mesh: rack i in epoch e probes
 * (i + o_j(e)) mod n for j = 1..k with
 *
 *   o_j(e) = 1 + ((e * k + j - 1) mod (n - 1))
 *
 * so every rack sends k streams and receives exactly k in every epoch, and
 * any ceil((n - 1) / k) consecutive epochs cover every ordered pair. When k
 * does not divide n - 1 an epoch wraps around to offsets probed one epoch
 * before: still k distinct peers, some pairs probed twice per cycle.
 *
 * The epoch is floor(CLOCK_REALTIME / epoch_s): every rack agrees without
 * talking to the others, given NTP.
 */
#ifndef NW_FABRIC_MESH_H
#define NW_FABRIC_MESH_H

#include <stdint.h>

#define NW_FABRIC_EPOCH_S_DEFAULT 600U /* 10 min: docs/fabric.md section 4 */

/* The offsets o_j(epoch) of n racks probing k each, distinct, in j order,
 * into off[min(k, n - 1)]. Returns min(k, n - 1) (0 when n < 2 or k == 0). */
uint32_t nw_fabric_mesh_offsets(uint32_t n, uint32_t k, uint64_t epoch, uint32_t *off);
/* Does position `from` probe position `to` in `epoch` (n racks, k each)?
 * The offsets' inverse, O(1): what the DC checks a reported pair against. */
int nw_fabric_mesh_probes(uint32_t n, uint32_t k, uint64_t epoch, uint32_t from, uint32_t to);
/* Epochs until every ordered pair has been probed once. */
uint64_t nw_fabric_mesh_epochs(uint32_t n, uint32_t k);
/* The epoch at wall-clock second now_s (epoch_s > 0). */
static inline uint64_t nw_fabric_mesh_epoch_at(uint64_t now_s, uint32_t epoch_s)
{
	return now_s / epoch_s;
}

#endif
