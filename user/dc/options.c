// SPDX-License-Identifier: MIT
/* netwatch-dc's options: one table (cli.h) and the checks across options. */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dc_conn.h"
#include "dc_metrics.h"
#include "fabric_peers.h"
#include "http_server.h"
#include "report.h"
#include "scope.h"

#define F(field) NW_OPT_FIELD(struct dc_opts, field)

static int parse_dc_id(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	size_t len = strlen(v);

	(void)opt;
	if (len == 0 || len > DC_ID_MAX) {
		*why = "dc-id must be 1..128 characters";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (v[i] < ' ' || v[i] > '~') {
			*why = "dc-id must be printable ASCII";
			return -1;
		}
	((struct dc_opts *)opts)->dc_id = v;
	return 0;
}

static const struct nw_opt opts[] = {
	{ "listen", 0, "NETWATCH_LISTEN", NW_OPT_ADDR, 0, F(listen), .def_s = "0.0.0.0:9990",
	  .off2 = offsetof(struct dc_opts, listen_addr),
	  .off3 = offsetof(struct dc_opts, listen_len),
	  .problem = "listen must be ADDR:PORT (IPv6 in brackets)", .arg = "ADDR:PORT",
	  .help = "where racks connect (default 0.0.0.0:9990; [::]:9990 for IPv6)" },
	{ "dc-id", 0, "NETWATCH_DC_ID", NW_OPT_CUSTOM, F(dc_id), .parse = parse_dc_id, .def_s = "0",
	  .arg = "ID",
	  .help = "datacenter name in metrics and JSON: 1..128 printable\n"
		  "ASCII characters (default \"0\")" },
	{ "racks", 0, "NETWATCH_RACKS", NW_OPT_U64, F(racks), .max = NW_REPORT_MAX_RACK + 1ULL,
	  .problem = "racks must be an integer 0..65536", .arg = "N",
	  .help = "expected racks 0..N-1, 0..65536 (default 0); one that never\n"
		  "reports counts 0 in the DC score" },
	{ "first-rack", 0, "NETWATCH_FIRST_RACK", NW_OPT_U64, F(first_rack),
	  .max = NW_REPORT_MAX_RACK, .problem = "first-rack must be a rack id 0..65535",
	  .arg = "ID",
	  .help = "a shard's expected racks start here: ID..ID+N-1 with\n"
		  "--racks N (default 0; docs/dc.md \"Shards\")" },
	{ "max-racks", 0, "NETWATCH_MAX_RACKS", NW_OPT_U64, F(max_racks), .min = 1,
	  .max = NW_REPORT_MAX_RACK + 1ULL, .def_u = 16384,
	  .problem = "max-racks must be an integer 1..65536", .arg = "N",
	  .help = "racks the DC keeps at most, expected included (default 16384)" },
	{ "rack-detail-max", 0, "NETWATCH_RACK_DETAIL_MAX", NW_OPT_U64, F(rack_detail_max),
	  .max = NW_REPORT_MAX_RACK + 1ULL, .def_u = DC_RACK_DETAIL_MAX_DEFAULT,
	  .problem = "rack-detail-max must be an integer 0..65536", .arg = "N",
	  .help = "/metrics has the per-rack detail families (age, state,\n"
		  "servers, reports) while the DC knows at most N racks; above,\n"
		  "per rack only its score and stale flag (default 2000)" },
	{ "stale", 0, "NETWATCH_STALE", NW_OPT_SECONDS, F(stale_s), .dmin = 0.1, .dmax = 86400,
	  .def_d = 5.0, .problem = "stale must be seconds, 0.1..86400", .arg = "S",
	  .help = "a rack without a report for S seconds is stale and counts 0\n"
		  "(default 5: five missed 1 s rack intervals)" },
	{ "max-skew", 0, "NETWATCH_MAX_SKEW", NW_OPT_SECONDS, NW_OPT_ZERO_OFF, F(max_skew_s),
	  .dmin = 1, .dmax = 1e9, .def_d = 300.0,
	  .problem = "max-skew must be 0 (off) or seconds >= 1", .arg = "S",
	  .help = "refuse reports whose time is more than S seconds away from\n"
		  "this host's clock, 0 = off (default 300)" },
	{ "forget", 0, "NETWATCH_FORGET", NW_OPT_SECONDS, NW_OPT_ZERO_OFF, F(forget_s), .dmin = 1,
	  .dmax = 1e9, .def_d = 300.0, .problem = "forget must be 0 (never) or seconds >= 1",
	  .arg = "S",
	  .help = "a rack that is not expected and has been stale for S\n"
		  "seconds leaves the DC (and its score), 0 = never (default 300)" },
	{ "fabric-pair-series-max", 0, "NETWATCH_FABRIC_PAIR_SERIES_MAX", NW_OPT_U64,
	  F(fabric_pair_series_max), .max = 1U << 20, .def_u = 4096,
	  .problem = "fabric-pair-series-max must be an integer 0..1048576", .arg = "N",
	  .help = "per-pair netwatch_path_* series while at most N pairs are\n"
		  "probed; above, per-rack means and the worst 64 (default 4096)" },
	{ "fabric-mesh", 0, "NETWATCH_FABRIC_MESH", NW_OPT_STRING, F(fabric_mesh), .min = 1,
	  .max = 4095, .problem = "fabric-mesh needs a file name", .arg = "FILE",
	  .help = "the racks' rotating peers file (with k; docs/fabric.md):\n"
		  "paths_in rows of pairs it does not schedule are dropped" },
	{ "scope-hold", 0, "NETWATCH_SCOPE_HOLD", NW_OPT_U64, F(scope_hold), .min = 1, .max = 60,
	  .def_u = NW_SCOPE_HOLD_DEFAULT, .problem = "scope-hold must be an integer 1..60",
	  .arg = "N",
	  .help = "a fault is reported after N intervals of evidence (default " NW_SCOPE_STR(
		  NW_SCOPE_HOLD_DEFAULT) ")" },
	{ "scope-hold-path", 0, "NETWATCH_SCOPE_HOLD_PATH", NW_OPT_U64, F(scope_hold_path),
	  .min = 1, .max = 60, .def_u = NW_SCOPE_HOLD_PATH_DEFAULT,
	  .problem = "scope-hold-path must be an integer 1..60", .arg = "N",
	  .help = "a path fault (one rack pair) is reported after N intervals\n(default " NW_SCOPE_STR(
		  NW_SCOPE_HOLD_PATH_DEFAULT) ")" },
	{ "scope-clear", 0, "NETWATCH_SCOPE_CLEAR", NW_OPT_U64, F(scope_clear), .min = 1,
	  .max = 3600, .def_u = NW_SCOPE_CLEAR_DEFAULT,
	  .problem = "scope-clear must be an integer 1..3600", .arg = "N",
	  .help = "a fault ends after N intervals with all its members healthy\n(default " NW_SCOPE_STR(
		  NW_SCOPE_CLEAR_DEFAULT) ")" },
	/* The ratios go through the seconds parser: a plain decimal, bounded */
	{ "scope-theta-rack", 0, "NETWATCH_SCOPE_THETA_RACK", NW_OPT_SECONDS, F(scope_theta_rack),
	  .dmin = 0.01, .dmax = 1, .def_d = 0.5,
	  .problem = "scope-theta-rack must be a fraction 0.01..1", .arg = "X",
	  .help = "a rack fault needs this fraction of its servers, or of its\n"
		  "paths in and out, degraded together (default 0.5)" },
	{ "scope-theta-path-bg", 0, "NETWATCH_SCOPE_THETA_PATH_BG", NW_OPT_SECONDS,
	  F(scope_theta_path_bg), .dmin = 0.01, .dmax = 1, .def_d = 0.2,
	  .problem = "scope-theta-path-bg must be a fraction 0.01..1", .arg = "X",
	  .help = "an uplink fault needs the paths not touching the rack\n"
		  "degraded below this fraction (default 0.2)" },
	{ "scope-theta-dc", 0, "NETWATCH_SCOPE_THETA_DC", NW_OPT_SECONDS, F(scope_theta_dc),
	  .dmin = 0.01, .dmax = 1, .def_d = 0.5,
	  .problem = "scope-theta-dc must be a fraction 0.01..1", .arg = "X",
	  .help = "a dc fault needs this fraction of the reporting racks\n(default 0.5)" },
	{ "scope-share", 0, "NETWATCH_SCOPE_SHARE", NW_OPT_SECONDS, F(scope_share_s), .dmin = 0.1,
	  .dmax = 600, .def_d = 3.0, .problem = "scope-share must be seconds, 0.1..600", .arg = "S",
	  .help = "onsets within S seconds share timing (default 3)" },
	{ "debug-report-delay", 0, "NETWATCH_DEBUG_REPORT_DELAY", NW_OPT_SECONDS, F(debug_delay_s),
	  .dmax = 1, .problem = "debug-report-delay must be seconds, 0..1", .arg = "S",
	  .help = "testing only: sleep S seconds before each report is parsed,\n"
		  "a DC slower than its load (default 0)" },
	{ "metrics", 0, "NETWATCH_METRICS", NW_OPT_ADDR, NW_OPT_OFF, F(metrics),
	  .def_s = NW_HTTP_DEFAULT, .off2 = offsetof(struct dc_opts, metrics_addr),
	  .off3 = offsetof(struct dc_opts, metrics_len),
	  .problem = "metrics must be ADDR:PORT (IPv6 in brackets) or off", .arg = "ADDR:PORT",
	  .help = "serve /metrics, /healthz and /api/v1/dc here\n"
		  "(default 0.0.0.0:8000; off disables)" },
	{ "key-file", 0, "NETWATCH_KEY_FILE", NW_OPT_KEY_FILE, F(key_file),
	  .off2 = offsetof(struct dc_opts, keys), .arg = "FILE",
	  .help = "shared key (64 hex digits, mode 600): reports without a\n"
		  "valid HMAC are refused" },
	{ "max-conns", 0, "NETWATCH_MAX_CONNS", NW_OPT_U64, F(max_conns), .min = 1, .max = 1000000,
	  .def_u = 16384, .problem = "max-conns must be an integer 1..1000000", .arg = "N",
	  .help = "rack connections open at once, 1..1000000 (default 16384)" },
	{ "idle-timeout", 0, "NETWATCH_IDLE_TIMEOUT", NW_OPT_SECONDS, F(idle_timeout_s),
	  .dmin = 0.1, .dmax = 86400, .def_d = 30.0,
	  .problem = "idle-timeout must be seconds, 0.1..86400", .arg = "S",
	  .help = "close a connection silent for S seconds (default 30)" },
	{ "frame-timeout", 0, "NETWATCH_FRAME_TIMEOUT", NW_OPT_SECONDS, F(frame_timeout_s),
	  .dmin = 0.1, .dmax = 3600, .def_d = 10.0,
	  .problem = "frame-timeout must be seconds, 0.1..3600", .arg = "S",
	  .help = "close a connection whose frame is not complete S seconds\n"
		  "after its first byte (default 10)" },
	{ "max-buffer", 0, "NETWATCH_MAX_BUFFER", NW_OPT_U64, F(max_buffer), .min = 8ULL << 20,
	  .max = 4ULL << 30, .def_u = DC_BUFFER_BUDGET_DEFAULT,
	  .problem = "max-buffer must be bytes, 8388608..4294967296", .arg = "BYTES",
	  .help = "frame buffers over all connections, 8 MiB..4 GiB\n"
		  "(default 67108864)" },
	{ "duration", 0, "NETWATCH_DURATION", NW_OPT_SECONDS, F(duration_s), .dmax = 1e9,
	  .problem = "duration must be a positive number of seconds", .arg = "S",
	  .help = "exit cleanly after S seconds" },
	{ "verbose", 'v', "NETWATCH_VERBOSE", NW_OPT_BOOL, F(verbose),
	  .problem = "expects on/off, 1/0, true/false or yes/no", .flag = "-v, --verbose",
	  .help = "debug logging" },
	{ "help", 0, NULL, NW_OPT_HELP, .help = "this text" },
	{ "version", 0, NULL, NW_OPT_VERSION, .help = "print the version" },
};

static const struct nw_cli_spec cli_spec;

static int check_combination(void *opts, const int *on_cmdline)
{
	const struct dc_opts *o = opts;

	(void)on_cmdline;
	if (o->racks > o->max_racks)
		return nw_cli_bad(&cli_spec, "--racks", "more expected racks than --max-racks");
	if ((uint64_t)o->first_rack + o->racks > NW_REPORT_MAX_RACK + 1ULL)
		return nw_cli_bad(&cli_spec, "--first-rack", "expected racks beyond rack id 65535");
	if (o->max_buffer < NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + NW_REPORT_MAC_LEN)
		return nw_cli_bad(&cli_spec, "--max-buffer", "smaller than one largest frame");
	if (o->fabric_mesh) {
		struct nw_fabric_peers p;
		char err[160], line[256];
		int k;

		if (nw_fabric_peers_load(o->fabric_mesh, &p, err, sizeof(err))) {
			snprintf(line, sizeof(line), "%.80s: %s", o->fabric_mesh, err);
			return nw_cli_bad(&cli_spec, "--fabric-mesh", line);
		}
		k = p.k != 0;
		nw_fabric_peers_free(&p);
		if (!k)
			return nw_cli_bad(&cli_spec, "--fabric-mesh",
					  "not a rotating mesh (the file has no k)");
	}
	return 0;
}

static const struct nw_cli_spec cli_spec = {
	.tool = "netwatch-dc",
	NW_CLI_TABLE(opts),
	.help_column = 24,
	.usage_head = "Usage: netwatch-dc [OPTION]...\n"
		      "Datacenter controller: receives one report per interval from every rack\n"
		      "controller (TCP, docs/report-protocol.md) and serves the DC's health\n"
		      "(docs/dc.md).\n"
		      "\n",
	.env_example = "NETWATCH_DC_ID",
	.exit_status = "0 ok, 1 runtime failure, 2 bad usage.",
	.check = check_combination,
};

NW_CLI_DEFINE(dc, struct dc_opts, cli_spec)
