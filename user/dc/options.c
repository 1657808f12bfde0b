// SPDX-License-Identifier: MIT
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dc_conn.h"
#include "hostport.h"
#include "http_server.h"
#include "argnum.h"
#include "report.h"

/* getopt values start above every character, so optopt tells an option
 * that lacks its value (>= OPT_BASE) from an unknown one (0). */
#define OPT_BASE 256
#define L(name, arg, id) { name, arg, NULL, OPT_BASE + (id) }

enum opt_id {
	O_LISTEN, O_DC_ID, O_RACKS, O_MAX_RACKS, O_STALE, O_MAX_SKEW, O_METRICS, O_KEY_FILE,
	O_MAX_CONNS, O_IDLE_TIMEOUT, O_FRAME_TIMEOUT, O_MAX_BUFFER, O_DURATION, O_VERBOSE,
	O__VALUED, /* below: no environment variable */
	O_HELP = O__VALUED, O_VERSION, O__COUNT
};

static const struct option long_opts[] = {
	L("listen", required_argument, O_LISTEN),
	L("dc-id", required_argument, O_DC_ID),
	L("racks", required_argument, O_RACKS),
	L("max-racks", required_argument, O_MAX_RACKS),
	L("stale", required_argument, O_STALE),
	L("max-skew", required_argument, O_MAX_SKEW),
	L("metrics", required_argument, O_METRICS),
	L("key-file", required_argument, O_KEY_FILE),
	L("max-conns", required_argument, O_MAX_CONNS),
	L("idle-timeout", required_argument, O_IDLE_TIMEOUT),
	L("frame-timeout", required_argument, O_FRAME_TIMEOUT),
	L("max-buffer", required_argument, O_MAX_BUFFER),
	L("duration", required_argument, O_DURATION),
	L("verbose", no_argument, O_VERBOSE),
	L("help", no_argument, O_HELP),
	L("version", no_argument, O_VERSION),
	{ NULL, 0, NULL, 0 },
};

static const char *const env_names[O__VALUED] = {
	"NETWATCH_LISTEN", "NETWATCH_DC_ID", "NETWATCH_RACKS", "NETWATCH_MAX_RACKS",
	"NETWATCH_STALE", "NETWATCH_MAX_SKEW", "NETWATCH_METRICS", "NETWATCH_KEY_FILE",
	"NETWATCH_MAX_CONNS", "NETWATCH_IDLE_TIMEOUT", "NETWATCH_FRAME_TIMEOUT",
	"NETWATCH_MAX_BUFFER", "NETWATCH_DURATION", "NETWATCH_VERBOSE",
};

static const char usage[] =
	"Usage: netwatch-dc [OPTION]...\n"
	"Datacenter controller: receives one report per interval from every rack\n"
	"controller (TCP, docs/report-protocol.md) and serves the DC's health\n"
	"(docs/dc.md).\n"
	"\n"
	"  --listen ADDR:PORT    where racks connect (default 0.0.0.0:9990; [::]:9990 for IPv6)\n"
	"  --dc-id ID            datacenter name in metrics and JSON: 1..128 printable\n"
	"                        ASCII characters (default \"0\")\n"
	"  --racks N             expected racks 0..N-1, 0..65536 (default 0); one that never\n"
	"                        reports counts 0 in the DC score\n"
	"  --max-racks N         racks the DC keeps at most, expected included (default 4096)\n"
	"  --stale S             a rack without a report for S seconds is stale and counts 0\n"
	"                        (default 5: five missed 1 s rack intervals)\n"
	"  --max-skew S          refuse reports whose time is more than S seconds away from\n"
	"                        this host's clock, 0 = off (default 300)\n"
	"  --metrics ADDR:PORT   serve /metrics, /healthz and /api/v1/dc here\n"
	"                        (default 0.0.0.0:8000; off disables)\n"
	"  --key-file FILE       shared key (64 hex digits, mode 600): reports without a\n"
	"                        valid HMAC are refused\n"
	"  --max-conns N         rack connections open at once, 1..1000000 (default 1024)\n"
	"  --idle-timeout S      close a connection silent for S seconds (default 30)\n"
	"  --frame-timeout S     close a connection whose frame is not complete S seconds\n"
	"                        after its first byte (default 10)\n"
	"  --max-buffer BYTES    frame buffers over all connections, 8 MiB..4 GiB\n"
	"                        (default 67108864)\n"
	"  --duration S          exit cleanly after S seconds\n"
	"  -v, --verbose         debug logging\n"
	"  --help                this text\n"
	"  --version             print the version\n"
	"\n"
	"Every option can also be set as NETWATCH_<NAME> (e.g. NETWATCH_DC_ID);\n"
	"a command-line flag wins. Exit status: 0 ok, 1 runtime failure, 2 bad usage.\n";

static int bad(const char *src, const char *problem)
{
	fprintf(stderr, "netwatch-dc: %s: %s\n", src, problem);
	return -1;
}

static int apply(struct dc_opts *o, int id, const char *v, const char *src)
{
	uint64_t n;
	const char *why;

	switch (id) {
	case O_LISTEN:
		if (nw_hostport_parse(v, &o->listen_addr, &o->listen_len))
			return bad(src, "listen must be ADDR:PORT (IPv6 in brackets)");
		o->listen = v;
		return 0;
	case O_DC_ID: {
		size_t len = strlen(v);

		if (len == 0 || len > DC_ID_MAX)
			return bad(src, "dc-id must be 1..128 characters");
		for (size_t i = 0; i < len; i++)
			if (v[i] < ' ' || v[i] > '~')
				return bad(src, "dc-id must be printable ASCII");
		o->dc_id = v;
		return 0;
	}
	case O_RACKS:
		if (nw_parse_u64(v, 0, NW_REPORT_MAX_RACK + 1ULL, &n))
			return bad(src, "racks must be an integer 0..65536");
		o->racks = (uint32_t)n;
		return 0;
	case O_MAX_RACKS:
		if (nw_parse_u64(v, 1, NW_REPORT_MAX_RACK + 1ULL, &n))
			return bad(src, "max-racks must be an integer 1..65536");
		o->max_racks = (uint32_t)n;
		return 0;
	case O_STALE:
		if (nw_parse_seconds(v, 86400, &o->stale_s) || o->stale_s < 0.1)
			return bad(src, "stale must be seconds, 0.1..86400");
		return 0;
	case O_MAX_SKEW:
		if (!strcmp(v, "0")) {
			o->max_skew_s = 0;
			return 0;
		}
		if (nw_parse_seconds(v, 1e9, &o->max_skew_s) || o->max_skew_s < 1)
			return bad(src, "max-skew must be 0 (off) or seconds >= 1");
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
	case O_KEY_FILE:
		nw_keys_wipe(&o->keys);
		if (nw_keys_load(&o->keys, v, &why))
			return bad(src, why);
		o->key_file = v;
		return 0;
	case O_MAX_CONNS:
		if (nw_parse_u64(v, 1, 1000000, &n))
			return bad(src, "max-conns must be an integer 1..1000000");
		o->max_conns = (uint32_t)n;
		return 0;
	case O_IDLE_TIMEOUT:
		if (nw_parse_seconds(v, 86400, &o->idle_timeout_s) || o->idle_timeout_s < 0.1)
			return bad(src, "idle-timeout must be seconds, 0.1..86400");
		return 0;
	case O_FRAME_TIMEOUT:
		if (nw_parse_seconds(v, 3600, &o->frame_timeout_s) || o->frame_timeout_s < 0.1)
			return bad(src, "frame-timeout must be seconds, 0.1..3600");
		return 0;
	case O_MAX_BUFFER:
		if (nw_parse_u64(v, 8ULL << 20, 4ULL << 30, &n))
			return bad(src, "max-buffer must be bytes, 8388608..4294967296");
		o->max_buffer = n;
		return 0;
	case O_DURATION:
		if (nw_parse_seconds(v, 1e9, &o->duration_s))
			return bad(src, "duration must be a positive number of seconds");
		return 0;
	case O_VERBOSE: {
		int b = 1;

		if (v && nw_cli_parse_bool(v, &b))
			return bad(src, "expects on/off, 1/0, true/false or yes/no");
		o->verbose = b;
		return 0;
	}
	}
	return bad(src, "unknown option");
}

static void defaults(struct dc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen = "0.0.0.0:9990";
	nw_hostport_parse(o->listen, &o->listen_addr, &o->listen_len);
	o->dc_id = "0";
	o->max_racks = 4096;
	o->stale_s = 5.0;
	o->max_skew_s = 300.0;
	o->metrics = NW_HTTP_DEFAULT;
	nw_hostport_parse(o->metrics, &o->metrics_addr, &o->metrics_len);
	o->max_conns = 1024;
	o->idle_timeout_s = 30.0;
	o->frame_timeout_s = 10.0;
	o->max_buffer = DC_BUFFER_BUDGET_DEFAULT;
}

static int apply_cb(void *ctx, int id, const char *v, const char *src)
{
	return apply(ctx, id, v, src);
}

static const struct nw_cli_spec cli_spec = {
	.tool = "netwatch-dc", .usage = usage, .opts = long_opts, .env_names = env_names,
	.base = OPT_BASE, .count = O__COUNT, .valued = O__VALUED,
	.o_help = O_HELP, .o_version = O_VERSION, .o_verbose = O_VERBOSE, .apply = apply_cb,
};

enum dc_opts_result dc_opts_parse(int argc, char **argv, struct dc_opts *o)
{

	defaults(o);
	switch (nw_cli_parse(&cli_spec, o, argc, argv, NULL)) {
	case NW_CLI_RUN:
		break;
	case NW_CLI_DONE:
		dc_opts_free(o);
		return DC_OPTS_DONE;
	case NW_CLI_BAD:
		goto fail;
	}
	if (o->racks > o->max_racks) {
		bad("--racks", "more expected racks than --max-racks");
		goto fail;
	}
	if (o->max_buffer < NW_REPORT_HDR_LEN + NW_REPORT_MAX_PAYLOAD + NW_REPORT_MAC_LEN) {
		bad("--max-buffer", "smaller than one largest frame");
		goto fail;
	}
	return DC_OPTS_RUN;
fail:
	dc_opts_free(o);
	return DC_OPTS_BAD;
}

void dc_opts_free(struct dc_opts *o)
{
	nw_keys_wipe(&o->keys);
}
