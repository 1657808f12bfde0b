/* SPDX-License-Identifier: MIT */
/*
 * netwatch-chaos's command line and NETWATCH_* environment: a verb (apply,
 * clear, list) and options, declared in one table (cli.h). The flags that
 * came before the verbs stay as aliases: "--rack 0 --loss 20" is apply,
 * --clear is clear, --list is list; both spellings give the same request.
 */
#ifndef NW_CHAOS_OPTIONS_H
#define NW_CHAOS_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "chaos_faults.h"
#include "cli.h"

enum nw_chaos_backend { NW_BACKEND_AUTO = 0, NW_BACKEND_NETEM, NW_BACKEND_BPF, NW_BACKEND_AGENT };

#define NW_CHAOS_PIN_ROOT "/sys/fs/bpf/netwatch-chaos"
#define NW_CHAOS_STATE_DIR "/run/netwatch-chaos"

enum chaos_cmd { CHAOS_APPLY = 0, CHAOS_CLEAR, CHAOS_LIST };

struct chaos_opts {
	enum chaos_cmd cmd;
	int have_rack;
	uint32_t rack;
	uint32_t *servers; /* --server list; NULL = every server of the rack */
	size_t nservers;
	int uplink;    /* --uplink: the rack's uplink instead of its servers */
	int have_path; /* --path A,B: the fabric between racks A and B */
	uint32_t path[2];
	struct nw_chaos_faults faults;
	int clear; /* --clear / NETWATCH_CLEAR, or the verb clear */
	int list;  /* --list / NETWATCH_LIST, or the verb list */
	enum nw_chaos_backend backend;
	const char *topology;
	const char *pin_dir;
	const char *state_dir; /* notes of what each agent was asked for */
	uint16_t port;         /* UDP port of NetWatch samples (corruption) */
	int verbose;
};

/* Environment first, then argv (a flag wins). BAD has printed one line on
 * stderr; DONE has printed --help or --version. */
enum nw_cli_result chaos_opts_parse(int argc, char **argv, struct chaos_opts *o);
void chaos_opts_free(struct chaos_opts *o);

const char *nw_chaos_backend_name(enum nw_chaos_backend b);
/* "apply", "clear", "list". */
const char *chaos_cmd_name(enum chaos_cmd cmd);

#endif
