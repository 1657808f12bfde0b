/* SPDX-License-Identifier: MIT */
/* netwatch-dc's command line (and NETWATCH_* environment). */
#ifndef DC_OPTIONS_H
#define DC_OPTIONS_H

#include <stdint.h>
#include <sys/socket.h>

#include "cli.h"
#include "keyfile.h"

#define DC_ID_MAX 128

struct dc_opts {
	const char *listen; /* as given, for the log */
	struct sockaddr_storage listen_addr;
	socklen_t listen_len;
	const char *dc_id;
	uint32_t racks; /* expected: first_rack..first_rack+racks-1 */
	uint32_t first_rack;
	uint32_t max_racks;
	uint32_t rack_detail_max; /* /metrics: per-rack detail up to this many racks */
	double stale_s;
	double max_skew_s;    /* 0: off */
	double forget_s;      /* 0: never */
	double debug_delay_s; /* per parsed report: a slower core (tests) */
	const char *metrics;  /* NULL: off */
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len;
	const char *key_file;
	struct nw_keys keys;
	uint32_t max_conns;
	double idle_timeout_s;
	double frame_timeout_s;
	uint64_t max_buffer;
	double duration_s; /* 0: until a signal */
	int verbose;
	uint32_t fabric_pair_series_max; /* docs/fabric.md section 5 */
	const char *fabric_mesh;         /* rotating peers file: admit scheduled rows only */
	uint32_t scope_hold, scope_hold_path,
		scope_clear; /* intervals (docs/fabric.md section 6) */
	double scope_theta_rack, scope_theta_path_bg, scope_theta_dc, scope_share_s;
};

/* On NW_CLI_BAD the one-line reason is already on stderr (exit 2);
 * NW_CLI_DONE means --help or --version was served (exit 0). */
enum nw_cli_result dc_opts_parse(int argc, char **argv, struct dc_opts *o);
void dc_opts_free(struct dc_opts *o);

#endif
