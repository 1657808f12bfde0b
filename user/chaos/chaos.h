/* SPDX-License-Identifier: MIT */
/* netwatch-chaos's pieces: namespaces, the BPF backend, and the per-target
 * apply / clear / list that route faults to backends. */
#ifndef NW_CHAOS_TOOL_H
#define NW_CHAOS_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "chaos_options.h"
#include "chaos_params.h"
#include "chaos_topology.h"
#include "log.h"
#include "tc_hook.h"

struct chaos;       /* chaos.skel.h */
struct chaos_batch; /* below */

struct chaos_ctx {
	const struct chaos_opts *o;
	const struct nw_log *log;
	int home_ns; /* the namespace the tool started in */
	/* apply: servers' BPF programs staged here, attached together (NULL:
	 * each attached at once) */
	struct chaos_batch *batch;
};

/* netns.c: enters /run/netns/NAME ("" stays home). 0, or -1 with err. */
int chaos_netns_enter(const char *name, char *err, size_t errlen);
/* Back to home_ns; failing that the process cannot go on safely. */
int chaos_netns_home(int home_ns);

/* bpf_backend.c */
struct chaos_bpf_info {
	int pinned;       /* the parameter map is pinned */
	uint32_t prog_id; /* 0: no filter with our handle/prio */
	struct nw_chaos_params params;
	struct nw_chaos_stats stats; /* summed over CPUs */
};

/* <root>/<netns or "host">-<iface>: where one target's maps are pinned. */
int chaos_bpf_pin_dir(const char *root, const struct nw_chaos_target *t, char *out, size_t size);
/* A target's program loaded and its maps pinned, not yet attached. */
struct chaos_bpf_staged {
	struct chaos *skel;
	struct nw_tc_filter filter;
	uint32_t owner; /* NW_CHAOS_OWN_* */
	char pin_dir[512];
};
/* An apply in two steps. prepare loads (the verifier: tens of ms on a busy
 * host) and pins, in the target's namespace; commit, in the same namespace,
 * replaces our filter with it in one request. A rack's servers are all
 * prepared first and then committed one right after the other, so a
 * rack-wide fault starts on all of them within a few ms instead of ~50 ms
 * apart (docs/chaos.md). 0, or -1 with err and nothing of ours left. */
int chaos_bpf_prepare(const char *pin_dir, const struct nw_chaos_target *t, int ifindex,
		      const struct nw_chaos_params *p, struct chaos_bpf_staged *out, char *err,
		      size_t errlen);
int chaos_bpf_commit(struct chaos_bpf_staged *s, const struct nw_log *log, char *err,
		     size_t errlen);
/* A staged program never committed (its namespace is gone): unpinned. */
void chaos_bpf_discard(struct chaos_bpf_staged *s);

/* One staged server of an apply, and the apply's batch of them. */
struct chaos_staged_target {
	const struct nw_chaos_target *t;
	struct chaos_bpf_staged bpf;
	char label[160], what[256];
	int attached;
};
struct chaos_batch {
	struct chaos_staged_target *v;
	size_t n, cap;
};

/* Replaces the target's program and maps with fresh ones carrying p. */
int chaos_bpf_apply(const char *pin_dir, const struct nw_chaos_target *t, int ifindex,
		    const struct nw_chaos_params *p, const struct nw_log *log, char *err,
		    size_t errlen);
/* Detaches our filter (ifindex > 0), unpins, and removes clsact when the tool
 * made it and nobody's filter is left on it. 1 something removed, 0 nothing,
 * -1 error. */
int chaos_bpf_clear(const char *pin_dir, const struct nw_chaos_target *t, int ifindex, char *err,
		    size_t errlen);
/* 0 (info filled, possibly empty) or -1. */
int chaos_bpf_query(const char *pin_dir, const struct nw_chaos_target *t, int ifindex,
		    struct chaos_bpf_info *out, char *err, size_t errlen);

/* chaos_fabric.c: the targets --uplink (both ends of the rack's uplink) or
 * --path A,B (one filter per direction, on the fabric's port toward the
 * destination rack) name, from racks[].subnet and racks[].fabric_uplink.
 * 0 with *out (free()) and *n, or -1 with a one-line reason. */
int chaos_fabric_targets(const struct chaos_opts *o, const struct nw_chaos_topology *topo,
			 struct nw_chaos_target **out, size_t *n, char *err, size_t errlen);

/* agent_state.c: the note of what the tool asked a server's agent for.
 * read: 1 with the SPEC when there is a note for this control socket. */
int chaos_agent_note_write(const char *dir, const struct nw_chaos_target *t, const char *spec);
int chaos_agent_note_read(const char *dir, const struct nw_chaos_target *t, char *spec,
			  size_t size);
void chaos_agent_note_remove(const char *dir, const struct nw_chaos_target *t);

/* run.c: one target each; 0 done, 1 failed (message printed). Called in the
 * target's namespace (ifindex resolved there, 0 when the netns is gone). */
int chaos_apply_target(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex);
int chaos_clear_target(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex);
int chaos_list_target(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex);

/* "rack 0 server 3 (nwlab-r0s3/eth0)", "rack 2 uplink, rack end (nwlab-t2/core)",
 * "path rack 1 -> rack 2 (nwlab-core/r2)" */
void chaos_target_label(const struct nw_chaos_target *t, char *out, size_t size);

#endif
