/* SPDX-License-Identifier: MIT */
/*
 * The lab's topology file (written by `netwatch-lab up`, or by hand for real
 * nodes; docs/chaos.md): which interface in which namespace carries each
 * server's samples, and where its agent listens for run-time changes.
 */
#ifndef NW_CHAOS_TOPOLOGY_H
#define NW_CHAOS_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

#define NW_TOPOLOGY_DEFAULT "/run/netwatch-lab/topology.json"
#define NW_TOPOLOGY_MAX_BYTES (4U << 20)
#define NW_TOPOLOGY_MAX_TARGETS 65536U
#define NW_NETNS_NAME_MAX 64U    /* a file name under /run/netns */
#define NW_IFNAME_MAX 16U        /* IF_NAMESIZE */
#define NW_CONTROL_PATH_MAX 108U /* sun_path */

struct nw_chaos_target {
	uint32_t rack_id;
	uint32_t server_id;
	char netns[NW_NETNS_NAME_MAX]; /* "" = the caller's namespace */
	char iface[NW_IFNAME_MAX];
	char control[NW_CONTROL_PATH_MAX]; /* "" = none */
};

struct nw_chaos_topology {
	struct nw_chaos_target *targets; /* in file order */
	size_t count;
};

/* Loads a topology file (size-limited, every field checked). 0, or -1 with
 * a one-line reason in err. */
int nw_chaos_topology_load(const char *path, struct nw_chaos_topology *t, char *err, size_t errlen);
/* The same from a buffer (no NUL needed). */
int nw_chaos_topology_parse(const char *json, size_t len, struct nw_chaos_topology *t, char *err,
			    size_t errlen);
void nw_chaos_topology_free(struct nw_chaos_topology *t);

#endif
