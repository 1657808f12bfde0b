/* SPDX-License-Identifier: MIT */
/* Attaching the collector to an interface, and detaching exactly what we own. */
#ifndef NW_ATTACH_H
#define NW_ATTACH_H

#include <net/if.h>
#include <stdint.h>

#include "log.h"
#include "collector.h"
#include "pins.h"

/* Only a request, never stored in nw_meta: the meta holds what we got. */
#define NW_HOOK_AUTO 100U

/* Our tc filter's identity on clsact ingress: a fixed handle ("NW") and an
 * early priority, so a restart replaces exactly our filter and nothing else. */
#define NW_TC_HANDLE 0x4e57U
#define NW_TC_PRIORITY 3U

struct nw_attach {
	uint32_t hook; /* NW_HOOK_* actually attached */
	int ifindex;
	char ifname[IF_NAMESIZE];
	int link_fd; /* XDP: the pinned link, -1 otherwise */
	char link_pin[NW_PATH_MAX];
	int dir_fd;         /* the rack dir (O_PATH), > 0 when open: the link pin is
		     * removed through it once the rack runs as --user, which
		     * may not search the pin dir's parents */
	int created_clsact; /* tc: the qdisc is ours (now or from an earlier run) */
	uint32_t tc_handle, tc_priority;
};

/* Attaches xdp_prog/tc_prog per `want` (NW_HOOK_XDP/XDPGENERIC/TC/AUTO) to
 * `ifname`, reusing a pinned XDP link or our tc filter of an earlier run
 * (`prev` is that run's nw_meta, zeroed when there was none), and removes
 * an earlier run's attachment that the new one supersedes. */
int nw_attach_start(const struct nw_log *log, struct nw_attach *a, uint32_t want,
		    const char *ifname, const char *rack_dir, int xdp_prog_fd, int tc_prog_fd,
		    const struct nw_meta *prev);

/* Clean shutdown: XDP link unpinned and closed; our tc filter removed and
 * the clsact qdisc with it only when we created it and no filter of anyone's
 * is left on it (user/common/tc_hook.h's rule). */
void nw_attach_stop(const struct nw_log *log, struct nw_attach *a);

/* At start, when this run attached elsewhere: removes the tc filter (and
 * our qdisc) an earlier run recorded in its nw_meta, only when the filter
 * there runs a program sharing a map with prog_fd's (ours: the pinned
 * maps); a stranger's filter at that place is left alone. XDP links go
 * with their pins. --unpin has its own search (unpin.c). */
void nw_attach_remove_recorded_tc(const struct nw_log *log, const struct nw_meta *prev,
				  int prog_fd);

#endif
