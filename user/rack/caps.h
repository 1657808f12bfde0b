/* SPDX-License-Identifier: MIT */
/*
 * Dropping privileges once loading and attaching are done.
 *
 * Capabilities alone are not enough: a process that keeps uid 0 still owns
 * every root-owned file (it could read /etc/shadow, overwrite a root 0644
 * file) whatever its capability sets say. So the rack also becomes an
 * unprivileged user (--user, default "nobody") and keeps only the
 * capabilities its packet source needs (the eBPF source: CAP_BPF for the
 * rings of discovered servers, CAP_NET_ADMIN to detach at shutdown).
 *
 * Order, because each step needs what the next one takes away: shrink the
 * bounding set (needs CAP_SETPCAP), give the pin dir to the user (needs
 * CAP_CHOWN; the XDP link pin must be removable at shutdown), switch
 * gid/groups/uid with PR_SET_KEEPCAPS (the permitted set survives), then
 * set permitted = effective = what is kept; inheritable and ambient empty.
 */
#ifndef NW_CAPS_H
#define NW_CAPS_H

#include <stddef.h>
#include <sys/types.h>

#include "log.h"

/* The user to become: resolved before anything is dropped. */
struct nw_run_as {
	int change; /* 0: keep the uid (already unprivileged, or --user root) */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Resolves --user (a name, or a numeric uid whose gid is the same number
 * when no passwd entry has it). "root" and "0", or a process that is not
 * root, mean no change. 0, or -1 with a static reason in *why. */
int nw_run_as_resolve(const char *user, struct nw_run_as *out, const char **why);

/* Keeps only the capabilities in `keep` (CAP_* numbers) in the effective
 * and permitted sets, and empties the inheritable, ambient and bounding
 * sets, so no later exec can regain anything. With `as` changing, also
 * becomes that user first, after chown()ing `own_dir` (may be NULL) to it.
 * 0, or -errno (logged) with whatever could be dropped dropped. */
int nw_caps_drop(const struct nw_log *log, const struct nw_run_as *as, const char *own_dir,
		 const int *keep, size_t n);

/* nw_caps_drop without a user change. */
int nw_caps_keep_only(const struct nw_log *log, const int *keep, size_t n);

#endif
