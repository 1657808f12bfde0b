/* SPDX-License-Identifier: MIT */
/*
 * tc_hook: how every NetWatch program shares an interface's clsact qdisc
 * with the others and with foreign tools. One rule, used by the rack's tc
 * collector (user/rack/source/attach.c, ingress) and by netwatch-chaos's
 * BPF backend (user/chaos/bpf_backend.c, egress):
 *
 *  - A program's tc BPF filter has a fixed identity (ifindex, direction,
 *    handle, priority). Attach, query and detach touch that filter only.
 *    Attach replaces a filter with that identity only when the caller says
 *    it knows the filter is its own; otherwise a stranger there is an error.
 *  - clsact is created when missing. Whoever created it owns it; the owner
 *    keeps that fact in its own record across runs (the rack's
 *    nw_meta.created_clsact, chaos's NW_CHAOS_OWN_CLSACT) and
 *    nw_tc_clsact_owned() combines the two.
 *  - The owner removes clsact only when no filter of anyone's is left on
 *    its ingress or egress; a qdisc that was there before is never removed.
 *    A failed count counts as "someone is there": when in doubt, leave it.
 *
 * Every call works in the caller's network namespace, is synchronous (one
 * or two rtnetlink round trips) and keeps no state. Needs CAP_NET_ADMIN,
 * and CAP_BPF for attach. Errors are -errno; nothing is logged here.
 */
#ifndef NW_TC_HOOK_H
#define NW_TC_HOOK_H

#include <stdint.h>

struct nw_tc_filter {
	int ifindex;
	int egress; /* 0: clsact ingress, 1: clsact egress */
	uint32_t handle;
	uint32_t priority;
};

/* Creates clsact on ifindex when there is none: 1 created (by this call),
 * 0 one was already there, -errno. */
int nw_tc_clsact_ensure(int ifindex);

/* Whether clsact is ours: `ensured` is nw_tc_clsact_ensure()'s result, 1
 * when this call created it; when it was already there, it is ours only if
 * our earlier run `recorded` creating it. */
int nw_tc_clsact_owned(int ensured, int recorded);

/* Attaches prog_fd as filter f. replace_ours: a filter with f's identity is
 * ours and may be replaced; 0 makes a stranger there fail the attach
 * (-EEXIST). prog_id (may be NULL) gets the attached program's id. */
int nw_tc_filter_attach(const struct nw_tc_filter *f, int prog_fd, int replace_ours,
			uint32_t *prog_id);

/* Removes filter f and nothing else: 1 removed, 0 none there (no such
 * filter, or no clsact at all), -errno. */
int nw_tc_filter_detach(const struct nw_tc_filter *f);

/* The id of the program behind filter f: 1 found, 0 none there, -errno. */
int nw_tc_filter_query(const struct nw_tc_filter *f, uint32_t *prog_id);

/* Removes filter f only when it runs program prog_id (checked just
 * before, in the caller's namespace): 1 removed, 0 no filter there or
 * someone else's (left in place), -errno. What --unpin uses: an ifindex
 * and a handle name a filter only within one namespace, the program id
 * says whose it is. */
int nw_tc_filter_detach_if(const struct nw_tc_filter *f, uint32_t prog_id);

/* Filters of anyone's on ifindex's clsact, ingress and egress together
 * (0 when there is no clsact), or -errno. */
int nw_tc_filter_count(int ifindex);

/* The removal rule alone: 1 when an owner may remove clsact given the
 * filter count (negative: the count failed). */
int nw_tc_clsact_removable(int owned, int filters);

/* Removes clsact from ifindex when `owned` and no filter is left on it:
 * 1 removed, 0 left in place (not ours, not empty, count failed, or
 * already gone), -errno when the removal itself failed. */
int nw_tc_clsact_release(int ifindex, int owned);

#endif
