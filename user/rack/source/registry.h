/* SPDX-License-Identifier: MIT */
/*
 * Server slots in the pinned maps: nw_index (who owns which slot, survives
 * restarts), nw_state (counters) and nw_rings (one ringbuf per slot).
 */
#ifndef NW_REGISTRY_H
#define NW_REGISTRY_H

#include <stdint.h>

#include "log.h"

struct nw_registry {
	const struct nw_log *log;
	int state_fd, index_fd, rings_fd;
	int direct_fd;       /* nw_direct, -1 when not set */
	uint32_t direct_max; /* its max_entries */
	uint32_t rack_id;
	uint32_t max_slots;
	uint32_t ring_bytes;
	uint32_t count;      /* registered slots */
	uint32_t *server_of; /* per slot */
	uint32_t *rack_of;   /* per slot: r->rack_id, or a path's source rack */
	uint8_t *used;       /* per slot */
	int *ring_fd;        /* per slot, -1 when none */
	int *stale_fd;       /* per slot: a replaced ring still to drain, -1 when none */
};

int nw_registry_init(struct nw_registry *r, const struct nw_log *log, int state_fd, int index_fd,
		     int rings_fd, uint32_t rack_id, uint32_t max_slots, uint32_t ring_bytes);
void nw_registry_free(struct nw_registry *r);

/* Also keeps nw_direct (server_id -> slot + 1, the collector's fast path)
 * up to date from now on; call before nw_registry_adopt so adopted slots are
 * written too. The fd stays the caller's. Without it the collector uses
 * nw_index only (same counts, a hash lookup per sample). */
int nw_registry_set_direct(struct nw_registry *r, int direct_fd);

/* Adopts every slot an earlier run registered: opens its ring, or replaces
 * it when it is missing or of another size than ring_bytes. */
int nw_registry_adopt(struct nw_registry *r);

/* Finds or creates `server_id`'s slot. A new slot starts fresh (its first
 * sample opens the stream) or, with `midstream`, as joined mid-stream.
 * *created tells whether a new slot (and ring) was made. -ENOSPC when full. */
int nw_registry_add(struct nw_registry *r, uint32_t server_id, int midstream, uint32_t *slot,
		    int *created);

/* The same for any key: a path into this rack is (source rack,
 * NW_SERVER_FABRIC) (docs/fabric.md). */
int nw_registry_add_key(struct nw_registry *r, uint32_t rack_id, uint32_t server_id, int midstream,
			uint32_t *slot, int *created);

/* Creates rings for the next `n` free slots and inserts them with one
 * batch update (a single map-in-map update waits for an RCU grace period,
 * so registering 10k servers one by one takes minutes); nw_registry_add
 * then uses them. Best effort: 0, or -errno after preparing what it could. */
int nw_registry_prepare_rings(struct nw_registry *r, uint32_t n);

/* Frees `slot` (an evicted server): its index and direct entries go first,
 * so the collector stops counting it, then its state is cleared. The ring
 * stays, for the next server of the slot (no map-in-map update, which
 * waits for an RCU grace period). 0 or -errno. */
int nw_registry_remove(struct nw_registry *r, uint32_t slot);

/* Whether server_id has a slot; its slot in *slot when it has. */
int nw_registry_lookup(const struct nw_registry *r, uint32_t server_id, uint32_t *slot);
/* The same for any key (a path: source rack, NW_SERVER_FABRIC). */
int nw_registry_lookup_key(const struct nw_registry *r, uint32_t rack_id, uint32_t server_id,
			   uint32_t *slot);

#endif
