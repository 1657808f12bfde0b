// SPDX-License-Identifier: MIT
/* netwatch-rack's options: one table (cli.h) and the checks across options. */
#include "options.h"

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "attach.h"
#include "caps.h"
#include "cli.h"
#include "hostport.h"
#include "rack_http.h"
#include "collector.h"
#include "fabric_peers.h"
#include "report_client.h"
#include "scope.h"

#define F(field) NW_OPT_FIELD(struct rack_opts, field)

static int parse_iface(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	(void)opt;
	(void)why;
	if (!*v || strlen(v) >= IF_NAMESIZE || strchr(v, '/') || strchr(v, ' '))
		return -1;
	((struct rack_opts *)opts)->iface = v;
	return 0;
}

static int parse_listen(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)opt;
	(void)why;
	if (nw_addr_parse(v, 1, &ss, &len))
		return -1;
	((struct rack_opts *)opts)->listen = v;
	return 0;
}

static int parse_dc(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	char host[NW_DC_HOST_MAX];
	uint16_t dc_port;

	(void)opt;
	/* Names go to the resolver and the log: only the characters of one. */
	if (!*v || strlen(v) > 260 ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") != strlen(v))
		return -1;
	if (nw_report_dc_parse(v, host, &dc_port, why))
		return -1;
	((struct rack_opts *)opts)->dc = v;
	return 0;
}

static int parse_user(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	struct rack_opts *o = opts;

	(void)opt;
	if (!*v || strlen(v) >= sizeof(o->run_as.name))
		return -1;
	if (nw_run_as_resolve(v, &o->run_as, why))
		return -1;
	o->user = v;
	return 0;
}

static const struct nw_opt_choice hooks[] = {
	{ "auto", NW_HOOK_AUTO },
	{ "xdp", NW_HOOK_XDP },
	{ "xdpgeneric", NW_HOOK_XDPGENERIC },
	{ "tc", NW_HOOK_TC },
	{ "socket", NW_HOOK_SOCKET },
	{ NULL, 0 },
};
static const struct nw_opt_choice on_off[] = { { "on", 1 }, { "off", 0 }, { NULL, 0 } };

static const char bool_problem[] = "expects on/off, 1/0, true/false or yes/no";

/* Indexes of the table, for the checks across options. */
enum {
	O_RACK,
	O_IFACE,
	O_HOOK,
	O_PORT,
	O_LISTEN,
	O_SERVERS,
	O_DISCOVER,
	O_MAX_SERVERS,
	O_FABRIC_PEERS,
	O_FABRIC_PEERS_MAX,
	O_RING_BYTES,
	O_PIN_DIR,
	O_STATE_DIR,
	O_INTERVAL,
	O_WINDOW,
	O_HORIZON,
	O_DOWN_AFTER,
	O_SCOPE_HOLD,
	O_SCOPE_CLEAR,
	O_DUMP,
	O_RECORD_LOG,
	O_METRICS,
	O_DC,
	O_KEY_FILE,
	O_USER,
	O_DURATION,
	O_UNPIN,
	O_VERBOSE,
	O_HELP,
	O_VERSION,
	O__COUNT
};

static const struct nw_opt opts[O__COUNT] = {
	[O_RACK] = { "rack", 0, "NETWATCH_RACK", NW_OPT_U64, F(rack), .max = 65535,
		     .problem = "rack must be an integer 0..65535", .arg = "N",
		     .help = "rack id, 0..65535 (default 0)" },
	[O_IFACE] = { "iface", 0, "NETWATCH_IFACE", NW_OPT_CUSTOM, .parse = parse_iface,
		      .problem = "not a valid interface name", .arg = "IFNAME",
		      .help = "interface to attach to (required unless --hook socket)" },
	[O_HOOK] = { "hook", 0, "NETWATCH_HOOK", NW_OPT_CHOICE, F(hook), .choices = hooks,
		     .def_u = NW_HOOK_AUTO,
		     .problem = "hook must be auto, xdp, xdpgeneric, tc or socket", .arg = "HOOK",
		     .help = "auto|xdp|xdpgeneric|tc|socket (default auto: xdp, then\n"
			     "xdpgeneric, then tc)" },
	[O_PORT] = { "port", 0, "NETWATCH_PORT", NW_OPT_U64, F(port), .min = 1, .max = 65535,
		     .def_u = NW_DEFAULT_PORT, .problem = "port must be an integer 1..65535",
		     .arg = "P", .help = "UDP port of the samples (default 9999)" },
	[O_LISTEN] = { "listen", 0, "NETWATCH_LISTEN", NW_OPT_CUSTOM, .parse = parse_listen,
		       .problem = "not an IPv4 or IPv6 address", .arg = "ADDR",
		       .help = "socket hook bind address (default :: dual-stack, else 0.0.0.0)" },
	/* Checked against --max-servers once every option is known. */
	[O_SERVERS] = { "servers", 0, "NETWATCH_SERVERS", NW_OPT_ID_LIST, F(servers),
			.off2 = offsetof(struct rack_opts, nservers), .max = NW_MAX_SLOTS_LIMIT,
			.arg = "LIST", .help = "register these server ids, e.g. 0-7,12" },
	[O_DISCOVER] = { "discover", 0, "NETWATCH_DISCOVER", NW_OPT_CHOICE, F(discover), .def_u = 1,
			 .choices = on_off, .problem = "discover must be on or off",
			 .arg = "on|off",
			 .help = "register unknown senders as they appear (default on)" },
	[O_MAX_SERVERS] = { "max-servers", 0, "NETWATCH_MAX_SERVERS", NW_OPT_U64, F(max_servers),
			    .def_u = NW_MAX_SLOTS_DEFAULT, .min = 1, .max = NW_MAX_SLOTS_LIMIT,
			    .problem = "max-servers must be an integer 1..65536", .arg = "N",
			    .help = "server slots, 1..65536 (default 1024; pinned maps keep theirs)" },
	[O_FABRIC_PEERS] = { "fabric-peers", 0, "NETWATCH_FABRIC_PEERS", NW_OPT_STRING,
			     F(fabric_peers), .min = 1, .max = 4095,
			     .problem = "fabric-peers needs a file name", .arg = "FILE",
			     .help = "expect inter-rack tones from these racks (JSON,\n"
				     "docs/fabric.md); self must be --rack" },
	[O_FABRIC_PEERS_MAX] = { "fabric-peers-max", 0, "NETWATCH_FABRIC_PEERS_MAX", NW_OPT_U64,
				 F(fabric_peers_max), .def_u = NW_RACK_FABRIC_PEERS_MAX_DEFAULT,
				 .max = NW_FABRIC_PEERS_MAX,
				 .problem = "fabric-peers-max must be an integer 0..4096",
				 .arg = "N",
				 .help = "path slots on top of --max-servers with --fabric-peers\n"
					 "(default 64)" },
	[O_RING_BYTES] = { "ring-bytes", 0, "NETWATCH_RING_BYTES", NW_OPT_U64, NW_OPT_POW2,
			   .def_u = NW_RING_BYTES_DEFAULT, F(ring_bytes), .min = 4096,
			   .max = 1U << 30,
			   .problem = "ring-bytes must be a power of two, 4096..1073741824",
			   .arg = "N",
			   .help = "per-server ring size, power of two >= 4096 (default 16384)" },
	[O_PIN_DIR] = { "pin-dir", 0, "NETWATCH_PIN_DIR", NW_OPT_PATH, F(pin_dir), .max = 3000,
			.def_s = NW_PIN_ROOT, .problem = "pin-dir must be an absolute path",
			.arg = "DIR",
			.help = "bpffs directory; maps live in DIR/rack<N>/ (default\n"
				"/sys/fs/bpf/netwatch)" },
	[O_STATE_DIR] = { "state-dir", 0, "NETWATCH_STATE_DIR", NW_OPT_PATH, F(state_dir),
			  .def_s = "/run/netwatch", .max = 3000,
			  .problem = "state-dir must be an absolute path", .arg = "DIR",
			  .help = "where the socket hook keeps its counters across restarts\n"
				  "(default /run/netwatch; file rack<N>.socket-state)" },
	[O_INTERVAL] = { "interval", 0, "NETWATCH_INTERVAL", NW_OPT_SECONDS, F(interval),
			 .def_d = 1.0, .dmin = 0.001, .dmax = 3600,
			 .problem = "interval must be seconds, 0.001..3600", .arg = "S",
			 .help = "dump / flush interval in seconds (default 1)" },
	[O_WINDOW] = { "window", 0, "NETWATCH_WINDOW", NW_OPT_U64, NW_OPT_POW2, F(window),
		       .def_u = NW_ANALYSIS_WINDOW_DEFAULT, .min = 64, .max = 4096,
		       .problem = "window must be a power of two, 64..4096", .arg = "N",
		       .help = "analysis window in slots, a power of two 64..4096\n"
			       "(default 256: 12.8 s at 20 Hz; docs/analysis.md)" },
	[O_HORIZON] = { "horizon", 0, "NETWATCH_HORIZON", NW_OPT_SECONDS, F(horizon), .dmin = 20,
			.def_d = NW_ANALYSIS_HORIZON_DEFAULT, .dmax = 3600,
			.problem = "horizon must be seconds, 20..3600", .arg = "S",
			.help = "history for disturbance periods and clock skew,\n"
				"seconds 20..3600 (default 60)" },
	[O_DOWN_AFTER] = { "down-after", 0, "NETWATCH_DOWN_AFTER", NW_OPT_U64, F(down_after),
			   .def_u = NW_LIVE_DOWN_AFTER_DEFAULT, .min = NW_LIVE_DOWN_AFTER_MIN,
			   .max = NW_LIVE_DOWN_AFTER_MAX,
			   .problem = "down-after must be an integer 2..1000", .arg = "PERIODS",
			   .help = "a server is down once silent for more than this many of\n"
				   "its sample periods (default 10: 0.5 s at 20 Hz)" },
	[O_SCOPE_HOLD] = { "scope-hold", 0, "NETWATCH_SCOPE_HOLD", NW_OPT_U64, F(scope_hold),
			   .min = 1, .max = 60, .def_u = NW_SCOPE_HOLD_DEFAULT,
			   .problem = "scope-hold must be an integer 1..60", .arg = "N",
			   .help = "a fault in the rack's own faults is reported after N\n"
				   "intervals of evidence (default " NW_SCOPE_STR(
					   NW_SCOPE_HOLD_DEFAULT) ", as netwatch-dc's)" },
	[O_SCOPE_CLEAR] = { "scope-clear", 0, "NETWATCH_SCOPE_CLEAR", NW_OPT_U64, F(scope_clear),
			    .min = 1, .max = 3600, .def_u = NW_SCOPE_CLEAR_DEFAULT,
			    .problem = "scope-clear must be an integer 1..3600", .arg = "N",
			    .help = "a fault ends after N intervals with all its members\n"
				    "healthy (default " NW_SCOPE_STR(
					    NW_SCOPE_CLEAR_DEFAULT) ", as netwatch-dc's)" },
	[O_DUMP] = { "dump", 0, "NETWATCH_DUMP", NW_OPT_BOOL, F(dump), .problem = bool_problem,
		     .help = "print per-server counters as one JSON line every interval\n"
			     "and once more at exit" },
	[O_RECORD_LOG] = { "record-log", 0, "NETWATCH_RECORD_LOG", NW_OPT_STRING, F(record_log),
			   .min = 1, .max = SIZE_MAX, .problem = "record-log needs a file name",
			   .arg = "FILE",
			   .help = "append '<server_id> <seq> <tx_ns> <rx_ns> <flags>' per record" },
	[O_METRICS] = { "metrics", 0, "NETWATCH_METRICS", NW_OPT_ADDR, NW_OPT_OFF, F(metrics),
			.def_s = NW_HTTP_DEFAULT, .off2 = offsetof(struct rack_opts, metrics_addr),
			.off3 = offsetof(struct rack_opts, metrics_len),
			.problem = "metrics must be ADDR:PORT (IPv6 in brackets) or off",
			.arg = "ADDR:PORT",
			.help = "serve /metrics, /healthz and /api/v1/ over HTTP here\n"
				"(default 0.0.0.0:8000; [::1]:8000 for IPv6; off disables)" },
	[O_DC] = { "dc", 0, "NETWATCH_DC", NW_OPT_CUSTOM, .parse = parse_dc,
		   .problem = "dc must be HOST[:PORT] (IPv6 in brackets)", .arg = "HOST[:PORT]",
		   .help = "send a report every interval to this DC controller\n"
			   "(default port 9990; docs/report-protocol.md)" },
	[O_KEY_FILE] = { "key-file", 0, "NETWATCH_KEY_FILE", NW_OPT_KEY_FILE, F(key_file),
			 .off2 = offsetof(struct rack_opts, keys), .arg = "FILE",
			 .help = "shared key (64 hex digits, mode 600): HMAC on reports,\n"
				 "samples without a valid SipHash tag are refused" },
	[O_USER] = { "user", 0, "NETWATCH_USER", NW_OPT_CUSTOM, F(user), .parse = parse_user,
		     .def_s = NW_RACK_DEFAULT_USER, .arg = "USER",
		     .problem = "user must be a name from /etc/passwd or a numeric uid",
		     .help = "once attached, run as USER with only the capabilities\n"
			     "the hook needs (default nobody; root keeps uid 0)" },
	[O_DURATION] = { "duration", 0, "NETWATCH_DURATION", NW_OPT_SECONDS, F(duration),
			 .dmax = 1e9, .problem = "duration must be a positive number of seconds",
			 .arg = "S", .help = "exit cleanly after S seconds" },
	[O_UNPIN] = { "unpin", 0, "NETWATCH_UNPIN", NW_OPT_BOOL, F(unpin), .problem = bool_problem,
		      .help = "remove this rack's pinned maps and links, then exit\n"
			      "and the socket hook's state file (only with --rack,\n"
			      "--pin-dir, --state-dir, -v)" },
	[O_VERBOSE] = { "verbose", 'v', "NETWATCH_VERBOSE", NW_OPT_BOOL, F(verbose),
			.problem = bool_problem, .flag = "-v, --verbose",
			.help = "debug logging, libbpf's messages included" },
	[O_HELP] = { "help", 0, NULL, NW_OPT_HELP, .help = "this text" },
	[O_VERSION] = { "version", 0, NULL, NW_OPT_VERSION, .help = "print the version" },
};

static const struct nw_cli_spec cli_spec;

/* Read once here so a bad file stops the start with its reason; the
 * source reads it again when it registers the paths. */
static int check_fabric_peers(const struct rack_opts *o)
{
	struct nw_fabric_peers p;
	char err[200], line[300];
	size_t paths;
	int rc = 0;

	if (nw_fabric_peers_load(o->fabric_peers, &p, err, sizeof(err))) {
		snprintf(line, sizeof(line), "%.80s: %s", o->fabric_peers, err);
		return nw_cli_bad(&cli_spec, "--fabric-peers", line);
	}
	/* A rotating mesh: at most k paths of this epoch and k of the last. */
	paths = p.k && 2 * (size_t)p.k < p.n ? 2 * (size_t)p.k : p.n;
	if (p.self != o->rack)
		rc = nw_cli_bad(&cli_spec, "--fabric-peers", "the file's self is not --rack");
	else if (paths > o->fabric_peers_max)
		rc = nw_cli_bad(&cli_spec, "--fabric-peers", "more peers than --fabric-peers-max");
	nw_fabric_peers_free(&p);
	return rc;
}

static int check_combination(void *opts, const int *on_cmdline)
{
	const struct rack_opts *o = opts;

	if (o->unpin) {
		for (int id = 0; id < O__COUNT; id++)
			if (on_cmdline[id] && id != O_RACK && id != O_PIN_DIR &&
			    id != O_STATE_DIR && id != O_UNPIN && id != O_VERBOSE)
				return nw_cli_bad(
					&cli_spec, "--unpin",
					"only --rack, --pin-dir, --state-dir and -v go with it");
		return 0;
	}
	/* The default user, unlike a --user given, may be missing (a minimal
	 * image): then the uid stays and only capabilities are dropped. */
	if (!o->run_as.name[0] && o->user) {
		const char *why;
		struct rack_opts *w = opts;

		if (nw_run_as_resolve(o->user, &w->run_as, &why))
			memset(&w->run_as, 0, sizeof(w->run_as));
	}
	if (o->hook != NW_HOOK_SOCKET && !o->iface)
		return nw_cli_bad(&cli_spec, "--iface", "required unless --hook socket");
	if (o->nservers > o->max_servers)
		return nw_cli_bad(&cli_spec, "--servers", "more servers than --max-servers");
	if (o->fabric_peers)
		return check_fabric_peers(o);
	return 0;
}

static const struct nw_cli_spec cli_spec = {
	.tool = "netwatch-rack",
	NW_CLI_TABLE(opts),
	.help_column = 22,
	.usage_head = "Usage: netwatch-rack [OPTION]...\n"
		      "Rack controller: collects NetWatch tone samples with eBPF (or a UDP socket)\n"
		      "into per-server counters and records, kept in pinned maps across restarts.\n"
		      "\n",
	.env_example = "NETWATCH_RING_BYTES",
	.exit_status = "0 ok, 1 runtime failure, 2 bad usage.",
	.check = check_combination,
};

NW_CLI_DEFINE(rack, struct rack_opts, cli_spec)
