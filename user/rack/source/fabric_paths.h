/* SPDX-License-Identifier: MIT */
/*
 * The inter-rack paths a source collects (docs/fabric.md sections 3 and 4),
 * whichever hook it is: both keep a path as the slot of the key (source
 * rack, NW_SERVER_FABRIC) next to their servers' slots, and this is the one
 * place that decides which paths --fabric-peers expects, registers them,
 * follows a rotating mesh's epochs and tells a listed sender (never on
 * probation) from a discovered one. A source supplies how it makes and
 * frees a slot (struct nw_fabric_slots).
 */
#ifndef NW_FABRIC_PATHS_H
#define NW_FABRIC_PATHS_H

#include <stdint.h>

#include "drain.h"
#include "fabric_expect.h"
#include "fabric_peers.h"
#include "log.h"
#include "options.h"

struct nw_fabric_paths {
	const struct nw_log *log;
	int on;                         /* --fabric-peers given and read */
	struct nw_fabric_peers peers;   /* the file (maybe a rotating mesh) */
	struct nw_fabric_expect expect; /* the paths expected in now */
	uint64_t last_epoch_check_ns;
	uint64_t retired; /* no longer probed: forgotten at an epoch change */
};

/* How a source makes and frees a path's slot. */
struct nw_fabric_slots {
	void *ctx;
	/* Finds or makes the slot of the path from src_rack, not on probation,
	 * ready to count; *created when it is new. 0, or -errno (-ENOSPC: full). */
	int (*add)(void *ctx, uint32_t src_rack, uint32_t *slot, int *created);
	/* The source rack of a path's slot. */
	uint32_t (*src_rack)(void *ctx, uint32_t slot);
	/* Stops counting the slot and forgets it. 0 or -errno. */
	int (*forget)(void *ctx, uint32_t slot);
};

/* Slots a source needs: its servers', plus the paths' with --fabric-peers. */
uint32_t nw_fabric_paths_slots(const struct rack_opts *o);

/* Reads --fabric-peers (nothing when not given) at wall-clock second
 * now_s. 0, or -errno logged. */
int nw_fabric_paths_load(struct nw_fabric_paths *p, const struct nw_log *log,
			 const struct rack_opts *o, uint64_t now_s);
void nw_fabric_paths_free(struct nw_fabric_paths *p);

/* Listed on the command line: a --servers id of this rack, or a path of
 * --fabric-peers expected now. Such a slot is never on probation. */
int nw_fabric_paths_is_static(const struct nw_fabric_paths *p, const struct rack_opts *o,
			      uint32_t rack_id, uint32_t server_id);

/* Registers every path expected in the current epoch. A full table is
 * logged and skipped (what fits is collected); other errors return. */
int nw_fabric_paths_register(struct nw_fabric_paths *p, const struct nw_fabric_slots *s);

/* A rotating mesh's epoch boundary, checked at most once a second of
 * now_tai_ns (the epoch is the wall clock's, now_s, as every agent's): the
 * new epoch's paths are registered, and the paths of `drain` probed in
 * neither this epoch nor the previous one are forgotten (they leave
 * paths_in). */
void nw_fabric_paths_rotate(struct nw_fabric_paths *p, const struct nw_drain *drain,
			    const struct nw_fabric_slots *s, uint64_t now_tai_ns, uint64_t now_s);

#endif
