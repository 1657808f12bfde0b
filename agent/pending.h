/* SPDX-License-Identifier: MIT */
/*
 * Samples held back by delay/jitter: a bounded binary min-heap ordered by due
 * time. Allocated once; a full queue refuses, and the caller counts the sample
 * dropped (what a router's full queue would do) instead of growing memory.
 */
#ifndef NW_AGENT_PENDING_H
#define NW_AGENT_PENDING_H

#include <stddef.h>
#include <stdint.h>

struct nw_pending {
	uint64_t due_ns; /* CLOCK_MONOTONIC */
	uint64_t seq;
	uint32_t server; /* index into the agent's servers */
	uint32_t dup;    /* send an extra copy right after it */
};

struct nw_pq {
	struct nw_pending *v;
	size_t len;
	size_t cap;
};

int nw_pq_init(struct nw_pq *q, size_t cap);
void nw_pq_free(struct nw_pq *q);
/* 0, or -1 when full (nothing changes). */
int nw_pq_push(struct nw_pq *q, const struct nw_pending *e);
/* The earliest entry, or NULL when empty. */
const struct nw_pending *nw_pq_peek(const struct nw_pq *q);
/* Removes the earliest entry into *out; -1 when empty. */
int nw_pq_pop(struct nw_pq *q, struct nw_pending *out);

#endif /* NW_AGENT_PENDING_H */
