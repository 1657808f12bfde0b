/* SPDX-License-Identifier: MIT */
/*
 * The collector's skeleton through libbpf's three steps, one call each so
 * the daemon reads as they happen: open (against the rack's pin dir, so
 * pinned maps are reused), configure (rodata and map sizes), load (verify
 * and create or reuse the maps). On failure each logs why and the caller
 * destroys the skeleton (collector__destroy(NULL) is a no-op).
 */
#ifndef NW_LOADER_H
#define NW_LOADER_H

#include <stdint.h>

#include "log.h"

struct collector;

struct nw_load_cfg {
	const char *rack_dir; /* pin_root_path: maps are reused from here */
	uint32_t rack_id;
	uint16_t port;
	uint32_t max_servers; /* wanted size of nw_state/nw_index/nw_rings */
	uint32_t discovery_per_sec;
};

/* The skeleton, opened with the rack's pin dir as pin root. NULL, *err set. */
struct collector *nw_loader_open(const struct nw_log *log, const struct nw_load_cfg *cfg, int *err);
/* Port, rack and discovery rate into rodata, and the per-server maps sized.
 * Sizes of maps already pinned win over max_servers (a restart must never
 * fail or reset counters because a flag changed); the number of usable
 * slots lands in *max_slots. */
void nw_loader_configure(const struct nw_log *log, const struct nw_load_cfg *cfg,
			 struct collector *skel, uint32_t *max_slots);
/* Verifies the programs and creates (or reuses the pinned) maps. 0 or -errno. */
int nw_loader_load(const struct nw_log *log, struct collector *skel);

#endif
