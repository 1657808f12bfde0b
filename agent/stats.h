/* SPDX-License-Identifier: MIT */
/*
 * What happened to the samples, per simulated server. The invariant the
 * report promises: generated == sent + dropped + send_failed, per server and
 * in total. `sent` counts first copies on the wire, `duplicated` the extra
 * copies actually sent; goodbyes are counted apart.
 */
#ifndef NW_AGENT_STATS_H
#define NW_AGENT_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "sender.h"

struct nw_counters {
	uint64_t generated;
	uint64_t sent;
	uint64_t dropped; /* impaired away, pending queue full, discarded on stop, late_skipped */
	uint64_t duplicated;
	uint64_t send_failed;
	uint64_t late_skipped; /* part of dropped: ticks missed while the agent was stalled */
	uint64_t goodbyes;     /* goodbye datagrams the kernel took */
};

/* One simulated server's identity and counters. */
struct nw_server_stats {
	uint16_t rack;
	uint32_t server;
	uint64_t freq_uhz;
	struct nw_counters c;
};

/*
 * Counts the outcome of a sent batch (owner = index into st). A DUP whose
 * FIRST failed but which itself went out stands in for it (counted sent, not
 * duplicated), so the receiver sees exactly sent + duplicated samples.
 */
void nw_stats_account(struct nw_server_stats *st, const struct nw_batch *b);

void nw_counters_add(struct nw_counters *sum, const struct nw_counters *c);

/*
 * The exit report: one JSON line. Servers are listed when there are at most
 * max_listed of them; otherwise "servers_omitted":true. has_seed: print the
 * impairment seed so a run can be replayed.
 */
void nw_report_json(FILE *f, const struct nw_server_stats *st, uint32_t n, uint32_t max_listed,
		    int has_seed, uint64_t seed);

#endif /* NW_AGENT_STATS_H */
