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

/* What a target is: a server's interface (from racks[].servers[]), or one
 * end of a rack's uplink or one direction of a rack pair's path (built
 * from racks[].subnet and racks[].fabric_uplink by chaos_fabric.c). */
enum nw_chaos_kind { NW_TARGET_SERVER = 0, NW_TARGET_UPLINK, NW_TARGET_PATH };

struct nw_chaos_target {
	uint32_t rack_id;
	uint32_t server_id;
	char netns[NW_NETNS_NAME_MAX]; /* "" = the caller's namespace */
	char iface[NW_IFNAME_MAX];
	char control[NW_CONTROL_PATH_MAX]; /* "" = none */
	/* Fabric targets only (all 0 for a server). */
	enum nw_chaos_kind kind;
	uint32_t peer;      /* uplink: 0 the rack's end, 1 the fabric's; path: source rack */
	uint32_t tc_handle; /* 0: the tool's usual handle and priority */
	uint32_t tc_prio;
	uint32_t src_net; /* path: which packets (network byte order) */
	uint32_t src_mask;
	uint32_t dst_net;
	uint32_t dst_mask;
};

/* One end of a link: an interface in a namespace. */
struct nw_chaos_end {
	char netns[NW_NETNS_NAME_MAX];
	char iface[NW_IFNAME_MAX]; /* "" = not given */
};

/* A rack's place in the fabric (both optional in the file). */
struct nw_chaos_rack {
	uint32_t rack_id;
	uint32_t net, mask;             /* racks[].subnet, network order; mask 0: none */
	struct nw_chaos_end rack_end;   /* the ToR side of the uplink */
	struct nw_chaos_end fabric_end; /* the fabric (core) side */
};

struct nw_chaos_topology {
	struct nw_chaos_target *targets; /* in file order */
	size_t count;
	struct nw_chaos_rack *racks; /* in file order, one per racks[] entry */
	size_t nracks;
};

/* Loads a topology file (size-limited, every field checked). 0, or -1 with
 * a one-line reason in err. */
int nw_chaos_topology_load(const char *path, struct nw_chaos_topology *t, char *err, size_t errlen);
/* The same from a buffer (no NUL needed). */
int nw_chaos_topology_parse(const char *json, size_t len, struct nw_chaos_topology *t, char *err,
			    size_t errlen);
void nw_chaos_topology_free(struct nw_chaos_topology *t);

#endif
