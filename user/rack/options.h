/* SPDX-License-Identifier: MIT */
/* netwatch-rack's command line (and NETWATCH_* environment). */
#ifndef RACK_OPTIONS_H
#define RACK_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "caps.h"
#include "cli.h"
#include "keyfile.h"

#define NW_RACK_DEFAULT_USER "nobody"
#define NW_RACK_FABRIC_PEERS_MAX_DEFAULT 64U

struct rack_opts {
	uint32_t rack;
	const char *iface;
	uint32_t hook; /* NW_HOOK_* or NW_HOOK_AUTO */
	uint16_t port;
	const char *listen; /* NULL: :: dual-stack, falling back to 0.0.0.0 */
	uint32_t *servers;  /* sorted, unique */
	size_t nservers;
	int discover;
	uint32_t max_servers;
	const char *fabric_peers;  /* --fabric-peers FILE: the paths expected in; NULL: none */
	uint32_t fabric_peers_max; /* slots for paths on top of max_servers */
	uint32_t ring_bytes;
	const char *pin_dir;
	const char *state_dir; /* socket hook's counters */
	double interval;
	uint32_t window;                  /* analysis window, slots */
	double horizon;                   /* periodicity/skew history, s */
	uint32_t down_after;              /* sample periods of silence that make a server down */
	uint32_t scope_hold, scope_clear; /* intervals: the rack's own faults (scope.h) */
	double duration;                  /* 0: run until a signal */
	int dump;
	const char *record_log;
	int unpin;
	int verbose;
	const char *metrics; /* --metrics ADDR:PORT as given; NULL: off */
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len;
	const char *dc; /* --dc HOST[:PORT] as given; NULL: no reporting */
	const char *key_file;
	struct nw_keys keys;     /* derived from --key-file; keys.present 0 without */
	const char *user;        /* --user as given */
	struct nw_run_as run_as; /* resolved: who the rack becomes once attached */
};

/* On NW_CLI_BAD the one-line reason is already on stderr (exit 2);
 * NW_CLI_DONE means --help or --version was served (exit 0). */
enum nw_cli_result rack_opts_parse(int argc, char **argv, struct rack_opts *o);
void rack_opts_free(struct rack_opts *o);

#endif
