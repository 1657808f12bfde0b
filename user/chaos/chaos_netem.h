/* SPDX-License-Identifier: MIT */
/*
 * netwatch-chaos's netem backend: RTM_NEWQDISC/RTM_DELQDISC/RTM_GETQDISC
 * built with libmnl and spoken over rtnetlink in the caller's network
 * namespace. Builders write into a caller's buffer without sending, so the
 * messages are unit-tested as the kernel would receive them.
 */
#ifndef NW_CHAOS_NETEM_H
#define NW_CHAOS_NETEM_H

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "chaos_faults.h"

#define NW_NETEM_MSG_SIZE 512U                     /* room for any message below */
#define NW_NETEM_HANDLE (NW_CHAOS_TC_HANDLE << 16) /* 4e5c: on the root */
#define NW_NETEM_LIMIT 1000U                       /* packets netem may hold, tc's default */

/* A root netem qdisc with the faults in `which` (& f->set). NULL when
 * size < NW_NETEM_MSG_SIZE. Replaces whatever root qdisc is there. */
struct nlmsghdr *nw_netem_msg_add(void *buf, size_t size, int ifindex,
				  const struct nw_chaos_faults *f, unsigned which, uint32_t seq);
/* Deletes the root qdisc if its handle is ours. */
struct nlmsghdr *nw_netem_msg_del(void *buf, size_t size, int ifindex, uint32_t seq);
/* Dumps every qdisc of the namespace (filtered by ifindex on receipt). */
struct nlmsghdr *nw_netem_msg_dump(void *buf, size_t size, uint32_t seq);

struct nw_netem_seen {
	int ifindex;
	uint32_t handle;
	uint32_t parent;
	int is_netem;
	struct nw_chaos_faults faults; /* decoded back into the tool's terms */
};

/* Decodes an RTM_NEWQDISC message. 0, or -1 when it is not one or is malformed. */
int nw_netem_decode(const struct nlmsghdr *nlh, struct nw_netem_seen *out);

/* Installs netem on ifindex. 0, or -errno with the kernel's words in err;
 * -ENOENT means this kernel has no sch_netem. */
int nw_netem_apply(int ifindex, const struct nw_chaos_faults *f, unsigned which, char *err,
		   size_t errlen);

/* The root qdisc of ifindex when it is our netem: 1 found, 0 none, -errno. */
int nw_netem_query(int ifindex, struct nw_netem_seen *out, char *err, size_t errlen);

/* Removes our netem root qdisc, nothing else: 1 removed, 0 none, -errno. */
int nw_netem_clear(int ifindex, char *err, size_t errlen);

#endif
