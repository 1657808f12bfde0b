/* SPDX-License-Identifier: MIT */
/* The --dump document: one JSON object per line, built with jansson. */
#ifndef NW_DUMP_H
#define NW_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "drain.h"
#include "collector.h"

struct nw_dump_info {
	uint32_t rack;
	const char *hook;  /* "xdp", "xdpgeneric", "tc", "socket" */
	const char *iface; /* NULL in socket mode */
	uint16_t port;
	uint64_t time_ns; /* CLOCK_TAI, like the records */
	uint64_t discovery_rejected;
};

struct nw_dump_server {
	struct nw_server_state st;     /* a consistent copy */
	const struct nw_server_rx *rx; /* userspace drain bookkeeping */
};

/* The document as one line without a newline (malloc'ed, caller frees);
 * sorts `servers` by server id. NULL on allocation failure. */
char *nw_dump_json(const struct nw_dump_info *info, const struct nw_stats *stats,
		   struct nw_dump_server *servers, size_t n);

#endif
