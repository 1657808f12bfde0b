/* SPDX-License-Identifier: MIT */
/* Opens the collector skeleton against a rack's pin dir and loads it. */
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

/* Loads the collector. Sizes of maps already pinned win over max_servers
 * (a restart must never fail or reset counters because a flag changed);
 * the number of usable slots lands in *max_slots. NULL on failure, *err set. */
struct collector *nw_loader_load(const struct nw_log *log, const struct nw_load_cfg *cfg,
				 uint32_t *max_slots, int *err);

#endif
