/* SPDX-License-Identifier: MIT */
/*
 * Command line and environment: every long option NAME can also come from
 * NETWATCH_<NAME> (dashes as underscores), for containers. The flag wins over
 * the environment; an empty variable counts as unset.
 */
#ifndef NW_AGENT_OPTIONS_H
#define NW_AGENT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "endpoint.h"
#include "impair.h"

#define NW_MAX_SERVERS 100000U
#define NW_MAX_DURATION_S 3153600000.0 /* a century */

struct nw_opts {
	char host[NW_HOST_MAX];
	uint16_t port;
	char source[NW_HOST_MAX]; /* empty: let the kernel choose */
	uint16_t rack;
	uint32_t server;  /* first simulated server id */
	uint32_t servers; /* ids server .. server+servers-1 */
	uint64_t rate_uhz;
	int has_freq;
	uint64_t freq_uhz; /* --freq for every server; else the seed plan */
	double amplitude;
	uint64_t count;       /* 0: no limit */
	uint64_t duration_ns; /* 0: no limit */
	struct nw_impair impair;
	int verbosity;       /* -1 quiet, 0 normal, 1 verbose */
	char key_file[4096]; /* empty: samples go untagged */
	char control[108];   /* empty: no control socket; sizeof(sun_path) */
	/* --fabric (docs/fabric.md): on a rack controller's host, one tone per
	 * peer rack of fabric_peers, at rate_uhz/freq_uhz (--fabric-rate,
	 * --fabric-freq); rack = the file's self. */
	int fabric;
	char fabric_peers[4096];
	/* Filled by main from key_file (the parser does no file I/O): */
	int keyed;
	uint8_t sample_key[16]; /* keyfile.h's sample key: SipHash-2-4 */
	int has_rack;           /* --rack given: in fabric mode it must be the file's self */
};

#define NW_FABRIC_RATE_HZ_DEFAULT 10
#define NW_FABRIC_FREQ_UHZ_DEFAULT 1000000ULL

enum nw_opts_result {
	NW_OPTS_RUN = 0,
	NW_OPTS_HELP,
	NW_OPTS_VERSION,
	NW_OPTS_ERROR, /* err holds one line, without the program name */
};

/* Parses argv and the NETWATCH_* environment. Re-entrant across calls (resets getopt). */
enum nw_opts_result nw_opts_parse(int argc, char **argv, struct nw_opts *o, char *err,
				  size_t errlen);

/* The tone of the i-th simulated server. */
uint64_t nw_opts_tone_uhz(const struct nw_opts *o, uint32_t i);

void nw_opts_usage(FILE *f);

#endif /* NW_AGENT_OPTIONS_H */
