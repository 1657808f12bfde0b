/* SPDX-License-Identifier: MIT */
/*
 * The agent's loop: tick k of every simulated server on the absolute schedule,
 * impairment, the pending queue, batched sends, and the goodbyes at the end.
 */
#ifndef NW_AGENT_RUN_H
#define NW_AGENT_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control.h"
#include "fabric_peers.h"
#include "impair.h"
#include "options.h"
#include "pending.h"
#include "schedule.h"
#include "sender.h"
#include "stats.h"

#define NW_GOODBYE_REPEAT 3        /* a lost goodbye would look like an outage */
#define NW_GOODBYE_GAP_NS 5000000U /* spread the copies past a momentary burst loss */
#define NW_PENDING_MIN 1024U
#define NW_PENDING_MAX (1U << 21) /* 48 MiB of queue at most */
#define NW_REPORT_MAX_LISTED 1000U
#define NW_SLEEP_SLICE_NS 100000000ULL

struct nw_agent {
	const struct nw_opts *o;
	int fd;
	uint32_t n;                  /* simulated servers */
	struct nw_server_stats *st;  /* [n] */
	struct nw_wire_sample *tmpl; /* [n] constant parts, encoded once */
	uint64_t *ikey;              /* [n] impairment keys */
	struct nw_batch *b;
	struct nw_pq pq;
	int impaired; /* loss, dup or delay in effect */
	int delayed;  /* samples go through pq */
	int keyed;    /* every message carries a SipHash-2-4 tag */
	uint64_t seed;
	struct nw_impair imp;  /* in effect: --impair, then the control socket's */
	struct nw_control ctl; /* --control; fd -1 without */
	struct nw_sched sched; /* due times from tick k0 on (rebased on a skew change) */
	uint64_t k0;
	uint64_t tx0_ns;             /* tx_ns of tick 0: tx_ns never jumps, whatever the skew */
	uint64_t next_tick;          /* the next tick to generate, for a rebase */
	int running;                 /* the schedule exists */
	char peer[NW_HOST_MAX + 16]; /* for logs */
	uint64_t nonce;              /* this start's, in every template */
	/* --fabric (docs/fabric.md): stream i is the path to rack dst[i]. */
	int fabric;
	struct nw_wire_fabric *fab;  /* [n] each stream's block */
	struct nw_endpoint *dest;    /* [n] each stream's destination */
	uint64_t *start_k;           /* [n] the tick of the stream's seq 0 */
	int family;                  /* of the socket and every destination */
	struct nw_fabric_peers mesh; /* a rotating peers file (k > 0), else empty */
	uint64_t epoch_cur;          /* the mesh's epoch the streams belong to */
};

enum nw_open_result {
	NW_OPEN_OK = 0,
	NW_OPEN_BAD_INPUT, /* exit 2: the operator's input cannot work */
	NW_OPEN_FAILED,    /* exit 1: out of memory, no sockets */
};

enum nw_open_result nw_agent_open(struct nw_agent *a, const struct nw_opts *o, char *err,
				  size_t errlen);
/* Runs until --count/--duration or *stop, then says goodbye. */
void nw_agent_run(struct nw_agent *a, volatile sig_atomic_t *stop);
/* Replaces the impairment from now on (the control socket's request). Samples
 * already held back keep their due times. 0, or -1 with a reason in err. */
int nw_agent_set_impair(struct nw_agent *a, const struct nw_impair *imp, char *err, size_t errlen);
/* --fabric: replaces the peers from FILE (the control socket's request).
 * Streams to racks still listed go on; a dropped one says goodbye; a new
 * one starts at seq 0. Held-back samples are dropped (their stream indexes
 * change). 0, or -1 with a reason in err (nothing changed). */
int nw_agent_set_peers(struct nw_agent *a, const char *path, char *err, size_t errlen);
/* A rotating mesh (a peers file with k): at wall-clock second now_s, moves
 * the streams to that epoch's peers if the epoch changed, as
 * nw_agent_set_peers does. 1 switched, 0 nothing to do, -1 with a reason in
 * err (the old streams go on; tried again at the next epoch). */
int nw_agent_rotate(struct nw_agent *a, uint64_t now_s, char *err, size_t errlen);
void nw_agent_report(const struct nw_agent *a, FILE *f);
void nw_agent_close(struct nw_agent *a);

#endif /* NW_AGENT_RUN_H */
