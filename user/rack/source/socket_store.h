/* SPDX-License-Identifier: MIT */
/*
 * Where the socket hook keeps its counters: a file mapped MAP_SHARED, so they
 * survive a restart (kill -9 included) the way the BPF hooks' pinned maps do.
 * The layout is the kernel's nw_server_state array behind a small header.
 */
#ifndef NW_SOCKET_STORE_H
#define NW_SOCKET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "collector.h"

#define NW_SOCKET_STORE_MAGIC "NWSOCK1"

struct nw_socket_store {
	char magic[8];
	uint32_t rack_id;
	uint32_t max_slots;
	uint32_t count; /* slots in use, 0..count-1 */
	uint32_t reserved;
	uint64_t discovery_rejected;
	uint64_t restarts; /* opens that reused the file */
	struct nw_stats stats;
	struct nw_server_state state[];
};

struct nw_socket_store_map {
	struct nw_socket_store *store;
	size_t len;
	int mapped; /* 1: a file mapping; 0: process memory */
};

/* Opens (or creates) `path`; NULL keeps the counters in memory only. An
 * existing file of this rack is reused with its own size, and *max_slots is
 * set to it; a damaged or foreign file is moved aside to `path`.bad. */
int nw_socket_store_open(const struct nw_log *log, const char *path, uint32_t rack_id,
			 uint32_t *max_slots, struct nw_socket_store_map *m);
void nw_socket_store_close(struct nw_socket_store_map *m);

/* "<dir>/rack<N>.socket-state"; 0 or -1 when it does not fit. */
int nw_socket_store_path(char *buf, size_t len, const char *dir, uint32_t rack_id);

#endif
