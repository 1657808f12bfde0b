/* SPDX-License-Identifier: MIT */
/*
 * Draining per-server records into one callback, whichever hook produced
 * them. The ring path (one BPF ringbuf per server, plus the discovery ring)
 * and the socket path both end in nw_drain_deliver(), so a consumer (the
 * record log today, the spectral analysis later) sees one stream of
 * (server, record) pairs and the same per-server bookkeeping.
 */
#ifndef NW_DRAIN_H
#define NW_DRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"

struct ring_buffer;
struct nw_drain;

/* Userspace view of one server slot. */
struct nw_server_rx {
	uint32_t slot;
	uint32_t server_id;
	int registered;
	int probation;     /* discovered, not yet earned its place (probation.h) */
	uint64_t since_ns; /* CLOCK_TAI: on probation since */
	uint64_t records_drained;
	uint64_t records_out_of_order; /* seq went down outside a reorder or stream start */
	int have_last;
	struct nw_record last;
	struct nw_drain *drain; /* lets a ring callback find its way back */
};

/* Called for every drained record, in ring order per server. */
typedef void (*nw_record_fn)(void *user, const struct nw_server_rx *srv,
			     const struct nw_record *rec);

#define NW_DRAIN_PENDING_MAX 256U

struct nw_drain {
	struct nw_server_rx *servers; /* indexed by slot */
	uint32_t max_slots;
	nw_record_fn on_record;
	void *user;
	struct ring_buffer *rb; /* NULL until nw_drain_open_rings (socket mode: never) */
	/* Discoveries wait here: registering from inside a ring callback would
	 * grow libbpf's ring array under its own feet. */
	struct nw_discovery pending[NW_DRAIN_PENDING_MAX];
	uint32_t npending;
	uint64_t discovery_dropped; /* queue full; the kernel reports the sender again */
	uint64_t bad_records;       /* ring entries of an unexpected size */
};

int nw_drain_init(struct nw_drain *d, uint32_t max_slots, nw_record_fn on_record, void *user);
void nw_drain_free(struct nw_drain *d);

/* Marks `slot` as serving `server_id` (idempotent). */
void nw_drain_register(struct nw_drain *d, uint32_t slot, uint32_t server_id);

/* Forgets `slot`'s server and its bookkeeping (an evicted server). */
void nw_drain_unregister(struct nw_drain *d, uint32_t slot);

/* Counts one record of `slot` and hands it to the callback. */
void nw_drain_deliver(struct nw_drain *d, uint32_t slot, const struct nw_record *rec);

/* Ring path: the discovery ring first (it always exists), then one ring per server. */
int nw_drain_open_rings(struct nw_drain *d, int discovery_fd);
int nw_drain_add_ring(struct nw_drain *d, uint32_t slot, int ring_fd);
/* Drains a ring once, outside the epoll set (a ring being replaced). */
int nw_drain_flush_ring(struct nw_drain *d, uint32_t slot, int ring_fd);
int nw_drain_epoll_fd(const struct nw_drain *d);
/* Consumes everything, ready or not: the periodic drain (records do not
 * wake the rack controller, see NW_DRAIN_PERIOD_MS) and shutdown. */
int nw_drain_consume(struct nw_drain *d);

/* Moves up to `max` queued discoveries into `out`; returns how many. */
size_t nw_drain_take_discoveries(struct nw_drain *d, struct nw_discovery *out, size_t max);

#endif
