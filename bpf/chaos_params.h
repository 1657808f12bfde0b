/* SPDX-License-Identifier: MIT */
/*
 * What netwatch-chaos's tc BPF program (bpf/chaos.bpf.c) reads and counts:
 * the layouts of its maps, shared by the program and the tool so they cannot
 * drift. Compiles against vmlinux.h (BPF) and the UAPI headers (userspace).
 *
 * Probabilities are fractions of 2^32: an event happens when
 * bpf_get_prandom_u32() < p, so p = 0 never and NW_CHAOS_ALWAYS always.
 */
#ifndef NW_CHAOS_PARAMS_H
#define NW_CHAOS_PARAMS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NW_CHAOS_ALWAYS 0xFFFFFFFFU /* treated as certainty, not 1 - 2^-32 */

/* Loss follows a Gilbert-Elliott chain: in state good a packet is lost with
 * loss_good, in state bad with loss_bad; after each packet the chain moves
 * good->bad with p_gb and bad->good with p_bg. Independent loss is the
 * degenerate chain that never leaves good (p_gb = 0, loss_good = rate). */
struct nw_chaos_params {
	__u32 enabled; /* 0: pass everything (the program stays attached) */
	__u32 loss_good;
	__u32 loss_bad;
	__u32 p_gb;
	__u32 p_bg;
	__u32 duplicate;   /* one extra copy of a packet that was not lost */
	__u32 corrupt;     /* flip one bit of a NetWatch sample's magic */
	__u16 sample_port; /* UDP destination port of NetWatch samples (host order) */
	__u16 owner;       /* NW_CHAOS_OWN_*: the tool's bookkeeping, unread by the program */
	/* Periodic outage: everything is dropped while
	 * bpf_ktime_get_ns() % outage_period_ns < outage_len_ns (0: none). */
	__u64 outage_period_ns;
	__u64 outage_len_ns;
	/* Only part of the traffic (NW_CHAOS_F_MATCH, a fabric path): IPv4
	 * packets with (saddr & src_mask) == src_net and (daddr & dst_mask) ==
	 * dst_net (network byte order; mask 0 matches any). Everything else, and
	 * a matched packet the program lets through, goes on to the interface's
	 * next filter (TC_ACT_UNSPEC), so several paths and a link fault can
	 * share one interface. Without the flag every frame is judged and a
	 * passed one ends the chain (TC_ACT_OK), as for a server. */
	__u32 flags;
	__u32 src_net;
	__u32 src_mask;
	__u32 dst_net;
	__u32 dst_mask;
	__u32 pad2;
};

#define NW_CHAOS_F_MATCH 0x0001U

/* The tool created the clsact qdisc (none was there): --clear may remove it
 * once no filter of anyone's is left on it. */
#define NW_CHAOS_OWN_CLSACT 0x0001U

/* Per-CPU chain state (BPF_MAP_TYPE_PERCPU_ARRAY, key 0). */
struct nw_chaos_state {
	__u32 bad;
	__u32 pad;
};

/* Per-CPU counters (BPF_MAP_TYPE_PERCPU_ARRAY, key 0). */
struct nw_chaos_stats {
	__u64 packets; /* frames the program judged (its own clones excluded) */
	__u64 dropped;
	__u64 duplicated; /* clones sent */
	__u64 dup_failed; /* bpf_clone_redirect refused */
	__u64 corrupted;
	__u64 corrupt_failed; /* sample could not be rewritten */
	__u64 bad_entries;    /* good->bad transitions: the number of loss bursts begun */
	__u64 outage_dropped; /* of `dropped`, those inside an outage window */
	__u64 unmatched;      /* NW_CHAOS_F_MATCH: frames left to the next filter */
};

/* skb->mark on the program's own duplicates while they pass egress again, so
 * a copy is never judged (or copied) twice. */
#define NW_CHAOS_CLONE_MARK 0x4E57C10EU

/* The tc filter the tool owns on clsact egress; the collector uses handle
 * 0x4e57 prio 3 on ingress. */
#define NW_CHAOS_TC_HANDLE 0x4E5CU
#define NW_CHAOS_TC_PRIO 7U
/* A fabric path's filters: before the link's (prio 6 < 7), one handle per
 * source rack on the same priority, so every path into a rack and the
 * rack's uplink fault can sit on the same interface at once. */
#define NW_CHAOS_PATH_HANDLE_BASE 0x4E5D0000U
#define NW_CHAOS_PATH_PRIO 6U

#endif /* NW_CHAOS_PARAMS_H */
