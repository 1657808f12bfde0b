/* SPDX-License-Identifier: MIT */
/*
 * Where netwatch-rack's records come from: a packet source behind one small
 * table of functions (as chrony's refclock drivers are), so that one daemon
 * (daemon.c) serves, listens, drops privileges, loops and shuts down around
 * either of the two:
 *  - rack_kernel_source (kernel.c): the eBPF collector, its maps pinned per
 *    rack, one ring per server, attached by XDP or tc;
 *  - rack_socket_source (socket.c): the socket hook, a UDP socket and a
 *    mapped state file; no BPF.
 *
 * Order of calls (a NULL step is skipped):
 *     open -> configure -> [the daemon sets up src->drain] -> load -> attach
 *     -> per wake-up: receive; per interval: stats, each_server
 *     -> drain (shutdown) -> detach (only after attach succeeded)
 *     -> close (always, once open was called, whatever failed).
 * Steps that can fail log why and return 0 or -errno. One thread.
 */
#ifndef RACK_SOURCE_H
#define RACK_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "drain.h"
#include "log.h"
#include "options.h"

/* What woke the daemon's loop, as a bitmask; sources act on the first three. */
enum rack_event {
	RACK_EV_SOURCE = 1,
	RACK_EV_TICK = 2,
	RACK_EV_STOP = 4,
	RACK_EV_HTTP = 8,
	RACK_EV_DC = 16
};

struct rack_source;

/* One registered server: its counters (a consistent copy) and its drain
 * bookkeeping, indexed by slot. */
typedef void (*rack_server_fn)(void *arg, uint32_t slot, const struct nw_server_state *st,
			       const struct nw_server_rx *rx);

struct rack_source_ops {
	/* Its resources: kernel: the pin dir and the collector's skeleton
	 * opened against it; socket: the state file (and src->max_slots). */
	int (*open)(struct rack_source *src);
	/* Before anything is created: kernel: rodata and map sizes, and
	 * src->max_slots (a pinned size wins over --max-servers). */
	int (*configure)(struct rack_source *src);
	/* What it enforces and whom it expects, before any packet counts:
	 * kernel: the programs loaded and the maps created or reused, then the
	 * sample key, the rings, servers adopted from the pins and --servers. */
	int (*load)(struct rack_source *src);
	/* Starts receiving and sets fd, hook and iface: kernel: the XDP or tc
	 * hook; socket: binds, with its key and --servers. */
	int (*attach)(struct rack_source *src);
	/* Takes what arrived; `ev` is this wake-up's rack_event mask. */
	void (*receive)(struct rack_source *src, int ev);
	/* Takes everything still waiting, at shutdown. */
	void (*drain)(struct rack_source *src);
	/* Rack-wide counters, and every registered server in slot order. */
	void (*stats)(struct rack_source *src, struct nw_stats *stats,
		      uint64_t *discovery_rejected);
	void (*each_server)(struct rack_source *src, rack_server_fn fn, void *arg);
	/* Stops receiving: removes exactly what attach installed. */
	void (*detach)(struct rack_source *src);
	void (*close)(struct rack_source *src);

	/* Capabilities it still needs once attached (the rest are dropped). */
	const int *keep_caps;
	size_t nkeep_caps;
	/* Records that do not wake the loop must be fetched at least this often
	 * (ms); -1: its fd wakes the loop for every record. */
	int wake_ms;
};

struct rack_source {
	const struct rack_source_ops *ops;
	const struct nw_log *log;
	const struct rack_opts *o;
	struct nw_drain drain; /* set up by the daemon after open, for max_slots */
	/* Set by the source. */
	uint32_t max_slots; /* by open or configure: may differ from --max-servers */
	int fd;             /* by attach: the loop waits on it */
	const char *hook;   /* by attach: "xdp", "xdpgeneric", "tc" or "socket" */
	const char *iface;  /* by attach: NULL in socket mode */
	void *priv;         /* the source's own state */
};

extern const struct rack_source_ops rack_kernel_source;
extern const struct rack_source_ops rack_socket_source;

#endif
