// SPDX-License-Identifier: MIT
#include "options.h"

#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "attach.h"
#include "cli.h"
#include "hostport.h"
#include "rack_http.h"
#include "collector.h"
#include "argnum.h"
#include "report_client.h"
#include "socket_rx.h"

/* getopt values start above every character, so optopt tells an option
 * that lacks its value (>= OPT_BASE) from an unknown one (0). */
#define OPT_BASE 256
#define L(name, arg, id) { name, arg, NULL, OPT_BASE + (id) }

enum opt_id {
	O_RACK, O_IFACE, O_HOOK, O_PORT, O_LISTEN, O_SERVERS, O_DISCOVER, O_MAX_SERVERS,
	O_RING_BYTES, O_PIN_DIR, O_STATE_DIR, O_INTERVAL, O_DUMP, O_RECORD_LOG, O_DURATION, O_UNPIN,
	O_VERBOSE, O_METRICS, O_WINDOW, O_HORIZON, O_DC, O_KEY_FILE, O__VALUED, /* below: no environment variable */
	O_HELP = O__VALUED, O_VERSION, O__COUNT
};

static const struct option long_opts[] = {
	L("rack", required_argument, O_RACK),
	L("iface", required_argument, O_IFACE),
	L("hook", required_argument, O_HOOK),
	L("port", required_argument, O_PORT),
	L("listen", required_argument, O_LISTEN),
	L("servers", required_argument, O_SERVERS),
	L("discover", required_argument, O_DISCOVER),
	L("max-servers", required_argument, O_MAX_SERVERS),
	L("ring-bytes", required_argument, O_RING_BYTES),
	L("pin-dir", required_argument, O_PIN_DIR),
	L("state-dir", required_argument, O_STATE_DIR),
	L("interval", required_argument, O_INTERVAL),
	L("dump", no_argument, O_DUMP),
	L("record-log", required_argument, O_RECORD_LOG),
	L("duration", required_argument, O_DURATION),
	L("unpin", no_argument, O_UNPIN),
	L("verbose", no_argument, O_VERBOSE),
	L("metrics", required_argument, O_METRICS),
	L("window", required_argument, O_WINDOW),
	L("horizon", required_argument, O_HORIZON),
	L("dc", required_argument, O_DC),
	L("key-file", required_argument, O_KEY_FILE),
	L("help", no_argument, O_HELP),
	L("version", no_argument, O_VERSION),
	{ NULL, 0, NULL, 0 },
};

static const char *const env_names[O__VALUED] = {
	"NETWATCH_RACK", "NETWATCH_IFACE", "NETWATCH_HOOK", "NETWATCH_PORT", "NETWATCH_LISTEN",
	"NETWATCH_SERVERS", "NETWATCH_DISCOVER", "NETWATCH_MAX_SERVERS", "NETWATCH_RING_BYTES",
	"NETWATCH_PIN_DIR", "NETWATCH_STATE_DIR", "NETWATCH_INTERVAL", "NETWATCH_DUMP", "NETWATCH_RECORD_LOG",
	"NETWATCH_DURATION", "NETWATCH_UNPIN", "NETWATCH_VERBOSE", "NETWATCH_METRICS",
	"NETWATCH_WINDOW", "NETWATCH_HORIZON", "NETWATCH_DC", "NETWATCH_KEY_FILE",
};

static const char usage[] =
	"Usage: netwatch-rack [OPTION]...\n"
	"Rack controller: collects NetWatch tone samples with eBPF (or a UDP socket)\n"
	"into per-server counters and records, kept in pinned maps across restarts.\n"
	"\n"
	"  --rack N            rack id, 0..65535 (default 0)\n"
	"  --iface IFNAME      interface to attach to (required unless --hook socket)\n"
	"  --hook HOOK         auto|xdp|xdpgeneric|tc|socket (default auto: xdp, then\n"
	"                      xdpgeneric, then tc)\n"
	"  --port P            UDP port of the samples (default 9999)\n"
	"  --listen ADDR       socket hook bind address (default :: dual-stack, else 0.0.0.0)\n"
	"  --servers LIST      register these server ids, e.g. 0-7,12\n"
	"  --discover on|off   register unknown senders as they appear (default on)\n"
	"  --max-servers N     server slots, 1..65536 (default 1024; pinned maps keep theirs)\n"
	"  --ring-bytes N      per-server ring size, power of two >= 4096 (default 16384)\n"
	"  --pin-dir DIR       bpffs directory; maps live in DIR/rack<N>/ (default\n"
	"                      /sys/fs/bpf/netwatch)\n"
	"  --state-dir DIR     where the socket hook keeps its counters across restarts\n"
	"                      (default /run/netwatch; file rack<N>.socket-state)\n"
	"  --interval S        dump / flush interval in seconds (default 1)\n"
	"  --window N          analysis window in slots, a power of two 64..4096\n"
	"                      (default 256: 12.8 s at 20 Hz; docs/analysis.md)\n"
	"  --horizon S         history for disturbance periods and clock skew,\n"
	"                      seconds 20..3600 (default 60)\n"
	"  --dump              print per-server counters as one JSON line every interval\n"
	"                      and once more at exit\n"
	"  --record-log FILE   append '<server_id> <seq> <tx_ns> <rx_ns> <flags>' per record\n"
	"  --metrics ADDR:PORT serve /metrics, /healthz and /api/v1/ over HTTP here\n"
	"                      (default 0.0.0.0:8000; [::1]:8000 for IPv6; off disables)\n"
	"  --dc HOST[:PORT]    send a report every interval to this DC controller\n"
	"                      (default port 9990; docs/report-protocol.md)\n"
	"  --key-file FILE     shared key (64 hex digits, mode 600): HMAC on reports,\n"
	"                      samples without a valid SipHash tag are refused\n"
	"  --duration S        exit cleanly after S seconds\n"
	"  --unpin             remove this rack's pinned maps and links, then exit\n"
	"                      and the socket hook's state file (only with --rack,\n"
	"                      --pin-dir, --state-dir, -v)\n"
	"  -v, --verbose       debug logging, libbpf's messages included\n"
	"  --help              this text\n"
	"  --version           print the version\n"
	"\n"
	"Every option can also be set as NETWATCH_<NAME> (e.g. NETWATCH_RING_BYTES);\n"
	"a command-line flag wins. Exit status: 0 ok, 1 runtime failure, 2 bad usage.\n";

static int bad(const char *src, const char *problem)
{
	fprintf(stderr, "netwatch-rack: %s: %s\n", src, problem);
	return -1;
}

static int parse_hook(const char *v, uint32_t *out)
{
	static const struct { const char *name; uint32_t hook; } hooks[] = {
		{ "auto", NW_HOOK_AUTO }, { "xdp", NW_HOOK_XDP }, { "xdpgeneric", NW_HOOK_XDPGENERIC },
		{ "tc", NW_HOOK_TC },     { "socket", NW_HOOK_SOCKET },
	};

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (!strcmp(v, hooks[i].name)) {
			*out = hooks[i].hook;
			return 0;
		}
	return -1;
}

/* Applies one option's value; `src` names where it came from for errors. */
static int apply(struct rack_opts *o, int id, const char *v, const char *src)
{
	uint64_t n;
	const char *why;

	switch (id) {
	case O_RACK:
		if (nw_parse_u64(v, 0, 65535, &n))
			return bad(src, "rack must be an integer 0..65535");
		o->rack = (uint32_t)n;
		return 0;
	case O_IFACE:
		if (!*v || strlen(v) >= IF_NAMESIZE || strchr(v, '/') || strchr(v, ' '))
			return bad(src, "not a valid interface name");
		o->iface = v;
		return 0;
	case O_HOOK:
		if (parse_hook(v, &o->hook))
			return bad(src, "hook must be auto, xdp, xdpgeneric, tc or socket");
		return 0;
	case O_PORT:
		if (nw_parse_u64(v, 1, 65535, &n))
			return bad(src, "port must be an integer 1..65535");
		o->port = (uint16_t)n;
		return 0;
	case O_LISTEN: {
		struct sockaddr_storage ss;
		socklen_t len;

		if (nw_addr_parse(v, 1, &ss, &len))
			return bad(src, "not an IPv4 or IPv6 address");
		o->listen = v;
		return 0;
	}
	case O_SERVERS:
		free(o->servers);
		o->servers = NULL;
		/* Checked against --max-servers once every option is known. */
		if (nw_parse_id_list(v, NW_MAX_SLOTS_LIMIT, &o->servers, &o->nservers, &why))
			return bad(src, why);
		return 0;
	case O_DISCOVER:
		if (strcmp(v, "on") && strcmp(v, "off"))
			return bad(src, "discover must be on or off");
		o->discover = !strcmp(v, "on");
		return 0;
	case O_MAX_SERVERS:
		if (nw_parse_u64(v, 1, NW_MAX_SLOTS_LIMIT, &n))
			return bad(src, "max-servers must be an integer 1..65536");
		o->max_servers = (uint32_t)n;
		return 0;
	case O_RING_BYTES:
		if (nw_parse_u64(v, 4096, 1U << 30, &n) || (n & (n - 1)))
			return bad(src, "ring-bytes must be a power of two, 4096..1073741824");
		o->ring_bytes = (uint32_t)n;
		return 0;
	case O_PIN_DIR:
		if (v[0] != '/' || strlen(v) > 3000)
			return bad(src, "pin-dir must be an absolute path");
		o->pin_dir = v;
		return 0;
	case O_STATE_DIR:
		if (v[0] != '/' || strlen(v) > 3000)
			return bad(src, "state-dir must be an absolute path");
		o->state_dir = v;
		return 0;
	case O_INTERVAL:
		if (nw_parse_seconds(v, 3600, &o->interval) || o->interval < 0.001)
			return bad(src, "interval must be seconds, 0.001..3600");
		return 0;
	case O_DURATION:
		if (nw_parse_seconds(v, 1e9, &o->duration))
			return bad(src, "duration must be a positive number of seconds");
		return 0;
	case O_RECORD_LOG:
		if (!*v)
			return bad(src, "record-log needs a file name");
		o->record_log = v;
		return 0;
	case O_WINDOW:
		if (nw_parse_u64(v, 64, 4096, &n) || (n & (n - 1)))
			return bad(src, "window must be a power of two, 64..4096");
		o->window = (uint32_t)n;
		return 0;
	case O_HORIZON:
		if (nw_parse_seconds(v, 3600, &o->horizon) || o->horizon < 20)
			return bad(src, "horizon must be seconds, 20..3600");
		return 0;
	case O_METRICS:
		if (!strcmp(v, "off")) {
			o->metrics = NULL;
			return 0;
		}
		if (nw_hostport_parse(v, &o->metrics_addr, &o->metrics_len))
			return bad(src, "metrics must be ADDR:PORT (IPv6 in brackets) or off");
		o->metrics = v;
		return 0;
	case O_DC: {
		char host[NW_DC_HOST_MAX];
		uint16_t dc_port;

		if (!*v || strlen(v) > 260 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") != strlen(v))
			return bad(src, "dc must be HOST[:PORT] (IPv6 in brackets)");
		if (nw_report_dc_parse(v, host, &dc_port, &why))
			return bad(src, why);
		o->dc = v;
		return 0;
	}
	case O_KEY_FILE:
		nw_keys_wipe(&o->keys);
		if (nw_keys_load(&o->keys, v, &why))
			return bad(src, why);
		o->key_file = v;
		return 0;
	case O_DUMP:
	case O_UNPIN:
	case O_VERBOSE: {
		int b = 1;

		if (v && nw_cli_parse_bool(v, &b))
			return bad(src, "expects on/off, 1/0, true/false or yes/no");
		if (id == O_DUMP)
			o->dump = b;
		else if (id == O_UNPIN)
			o->unpin = b;
		else
			o->verbose = b;
		return 0;
	}
	}
	return bad(src, "unknown option");
}

static void defaults(struct rack_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hook = NW_HOOK_AUTO;
	o->port = NW_DEFAULT_PORT;
	o->discover = 1;
	o->max_servers = NW_MAX_SLOTS_DEFAULT;
	o->ring_bytes = NW_RING_BYTES_DEFAULT;
	o->pin_dir = NW_PIN_ROOT;
	o->state_dir = "/run/netwatch";
	o->interval = 1.0;
	o->window = NW_ANALYSIS_WINDOW_DEFAULT;
	o->horizon = NW_ANALYSIS_HORIZON_DEFAULT;
	o->metrics = NW_HTTP_DEFAULT;
	nw_hostport_parse(o->metrics, &o->metrics_addr, &o->metrics_len);
}

static int check_combination(const struct rack_opts *o, const int *on_cmdline)
{
	if (o->unpin) {
		for (int id = 0; id < O__VALUED; id++)
			if (on_cmdline[id] && id != O_RACK && id != O_PIN_DIR && id != O_STATE_DIR &&
			    id != O_UNPIN &&
			    id != O_VERBOSE)
				return bad("--unpin", "only --rack, --pin-dir, --state-dir and -v go with it");
		return 0;
	}
	if (o->hook != NW_HOOK_SOCKET && !o->iface)
		return bad("--iface", "required unless --hook socket");
	if (o->nservers > o->max_servers)
		return bad("--servers", "more servers than --max-servers");
	return 0;
}

static int apply_cb(void *ctx, int id, const char *v, const char *src)
{
	return apply(ctx, id, v, src);
}

static const struct nw_cli_spec cli_spec = {
	.tool = "netwatch-rack", .usage = usage, .opts = long_opts, .env_names = env_names,
	.base = OPT_BASE, .count = O__COUNT, .valued = O__VALUED,
	.o_help = O_HELP, .o_version = O_VERSION, .o_verbose = O_VERBOSE, .apply = apply_cb,
};

enum rack_opts_result rack_opts_parse(int argc, char **argv, struct rack_opts *o)
{
	int on_cmdline[O__COUNT] = { 0 };

	defaults(o);
	switch (nw_cli_parse(&cli_spec, o, argc, argv, on_cmdline)) {
	case NW_CLI_RUN:
		break;
	case NW_CLI_DONE:
		rack_opts_free(o);
		return RACK_OPTS_DONE;
	case NW_CLI_BAD:
		goto fail;
	}
	if (check_combination(o, on_cmdline))
		goto fail;
	return RACK_OPTS_RUN;
fail:
	rack_opts_free(o);
	return RACK_OPTS_BAD;
}

void rack_opts_free(struct rack_opts *o)
{
	nw_keys_wipe(&o->keys);
	free(o->servers);
	o->servers = NULL;
	o->nservers = 0;
}
