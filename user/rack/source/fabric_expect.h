/* SPDX-License-Identifier: MIT */
/*
 * Which inter-rack paths this rack expects (docs/fabric.md sections 3 and
 * 4). A fixed peers file: exactly its racks, always. A rotating mesh (the
 * file has k): the racks probing this one in the current epoch, from the
 * same schedule the agents send by (fabric_mesh.h), plus those of the
 * previous epoch while their last samples and goodbyes come in (clocks are
 * NTP-close, not equal). A path in neither is no longer probed: the
 * collector forgets it, so the DC's matrix holds probed pairs only.
 */
#ifndef NW_FABRIC_EXPECT_H
#define NW_FABRIC_EXPECT_H

#include <stdint.h>

#include "fabric_peers.h"

struct nw_fabric_expect {
	const struct nw_fabric_peers *file; /* not owned */
	uint64_t epoch;                     /* of cur (rotating) */
	struct nw_fabric_peers cur;         /* the paths in this epoch */
	struct nw_fabric_peers prev;        /* those of epoch - 1 (rotating) */
};

/* For `file` at wall-clock second now_s. 0, or -1 when out of memory. */
int nw_fabric_expect_init(struct nw_fabric_expect *x, const struct nw_fabric_peers *file,
			  uint64_t now_s);
/* At wall-clock second now_s: 1 when the epoch changed (cur and prev
 * recomputed), 0 when not (or a fixed file), -1 when out of memory (the
 * old sets kept). */
int nw_fabric_expect_tick(struct nw_fabric_expect *x, uint64_t now_s);
/* The path from src_rack is expected: in cur or prev. */
int nw_fabric_expect_has(const struct nw_fabric_expect *x, uint16_t src_rack);
void nw_fabric_expect_free(struct nw_fabric_expect *x);

#endif
