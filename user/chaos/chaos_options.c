// SPDX-License-Identifier: MIT
#include "chaos_options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_topology.h"
#include "cli.h"
#include "nw_wire.h"
#include "argnum.h"

/* getopt values start above every character, so optopt tells an option
 * that lacks its value (>= OPT_BASE) from an unknown one (0). */
#define OPT_BASE 256
#define L(name, arg, id) { name, arg, NULL, OPT_BASE + (id) }

enum opt_id {
	O_RACK, O_SERVER, O_DELAY, O_JITTER, O_LOSS, O_BURST, O_CORRUPT, O_DUPLICATE, O_OUTAGE,
	O_SKEW, O_CLEAR,
	O_LIST, O_BACKEND, O_TOPOLOGY, O_PIN_DIR, O_STATE_DIR, O_PORT, O_VERBOSE, O__VALUED,
	O_HELP = O__VALUED, O_VERSION, O__COUNT
};

static const struct option long_opts[] = {
	L("rack", required_argument, O_RACK),
	L("server", required_argument, O_SERVER),
	L("delay", required_argument, O_DELAY),
	L("jitter", required_argument, O_JITTER),
	L("loss", required_argument, O_LOSS),
	L("burst", required_argument, O_BURST),
	L("corrupt", required_argument, O_CORRUPT),
	L("duplicate", required_argument, O_DUPLICATE),
	L("outage", required_argument, O_OUTAGE),
	L("skew", required_argument, O_SKEW),
	L("clear", no_argument, O_CLEAR),
	L("list", no_argument, O_LIST),
	L("backend", required_argument, O_BACKEND),
	L("topology", required_argument, O_TOPOLOGY),
	L("pin-dir", required_argument, O_PIN_DIR),
	L("state-dir", required_argument, O_STATE_DIR),
	L("port", required_argument, O_PORT),
	L("verbose", no_argument, O_VERBOSE),
	L("help", no_argument, O_HELP),
	L("version", no_argument, O_VERSION),
	{ NULL, 0, NULL, 0 },
};

static const char *const env_names[O__VALUED] = {
	"NETWATCH_RACK", "NETWATCH_SERVER", "NETWATCH_DELAY", "NETWATCH_JITTER", "NETWATCH_LOSS",
	"NETWATCH_BURST", "NETWATCH_CORRUPT", "NETWATCH_DUPLICATE", "NETWATCH_OUTAGE", "NETWATCH_SKEW",
	"NETWATCH_CLEAR", "NETWATCH_LIST",
	"NETWATCH_BACKEND", "NETWATCH_TOPOLOGY", "NETWATCH_PIN_DIR", "NETWATCH_STATE_DIR", "NETWATCH_PORT",
	"NETWATCH_VERBOSE",
};

static const char usage[] =
	"Usage: netwatch-chaos --rack R [--server LIST] FAULT...   apply (replaces)\n"
	"       netwatch-chaos [--rack R [--server LIST]] --clear  remove what it applied\n"
	"       netwatch-chaos [--rack R [--server LIST]] --list   show what is applied\n"
	"Injects network faults on the egress of the servers' interfaces named by the\n"
	"lab's topology file, so the rack collectors see an impaired tone.\n"
	"\n"
	"Faults:\n"
	"  --delay T           added one-way delay: 200ms, 1.5s, 250us (bare number: ms)\n"
	"  --jitter T          random variation of the delay (netem/agent: around --delay)\n"
	"  --loss P            lose P percent of the packets (0..100, '%' optional)\n"
	"  --burst N           lose them in bursts of N packets on average (Gilbert-Elliott;\n"
	"                      needs --loss; N >= loss/(100-loss))\n"
	"  --duplicate P       send an extra copy of P percent of the packets\n"
	"  --corrupt P         damage P percent of the samples (one bit of the magic)\n"
	"  --outage LEN/PERIOD lose everything for LEN of every PERIOD (500ms/5s; bpf)\n"
	"  --skew PPM          the sender's clock runs PPM fast (<0: slow; agent only)\n"
	"Targets and backends:\n"
	"  --rack R            rack id 0..65535 (required to apply)\n"
	"  --server LIST       only these servers of the rack, e.g. 3 or 0-3,7\n"
	"  --backend B         auto|netem|bpf|agent (default auto: netem where the kernel\n"
	"                      has sch_netem; else bpf for loss/duplicate/corrupt and the\n"
	"                      agent's control socket for delay/jitter)\n"
	"  --topology FILE     default " NW_TOPOLOGY_DEFAULT "\n"
	"  --pin-dir DIR       bpffs directory of the bpf backend's maps (default\n"
	"                      " NW_CHAOS_PIN_ROOT ")\n"
	"  --state-dir DIR     where it notes what it asked each agent for, so --clear\n"
	"                      and --list touch only that (default " NW_CHAOS_STATE_DIR ")\n"
	"  --port P            UDP port of the samples --corrupt damages (default 9999)\n"
	"  -v, --verbose       debug logging, libbpf's messages included\n"
	"  --help, --version\n"
	"\n"
	"Every option can also be set as NETWATCH_<NAME> (e.g. NETWATCH_LOSS=20);\n"
	"a command-line flag wins. Exit status: 0 done, 1 a fault could not be applied\n"
	"(or cleared), 2 bad usage. Details: docs/chaos.md.\n";

static int bad(const char *src, const char *problem)
{
	fprintf(stderr, "netwatch-chaos: %s: %s\n", src, problem);
	return -1;
}

const char *nw_chaos_backend_name(enum nw_chaos_backend b)
{
	switch (b) {
	case NW_BACKEND_AUTO: return "auto";
	case NW_BACKEND_NETEM: return "netem";
	case NW_BACKEND_BPF: return "bpf";
	case NW_BACKEND_AGENT: return "agent";
	}
	return "?";
}

static int set_percent(struct chaos_opts *o, const char *v, const char *src, unsigned bit,
		       double *dst)
{
	if (nw_chaos_parse_percent(v, dst))
		return bad(src, "want a percentage 0..100 (e.g. 20 or 0.5%)");
	o->faults.set |= bit;
	return 0;
}

static int apply(struct chaos_opts *o, int id, const char *v, const char *src)
{
	uint64_t n;
	const char *why;

	switch (id) {
	case O_RACK:
		if (nw_parse_u64(v, 0, 65535, &n))
			return bad(src, "rack must be an integer 0..65535");
		o->rack = (uint32_t)n;
		o->have_rack = 1;
		return 0;
	case O_SERVER:
		free(o->servers);
		o->servers = NULL;
		if (nw_parse_id_list(v, NW_TOPOLOGY_MAX_TARGETS, &o->servers, &o->nservers, &why))
			return bad(src, why);
		return 0;
	case O_DELAY:
	case O_JITTER: {
		uint64_t ns;

		if (nw_chaos_parse_duration(v, &ns))
			return bad(src, "want a duration up to 1 hour: 200ms, 1.5s, 250us or ms");
		if (id == O_DELAY)
			o->faults.delay_ns = ns;
		else
			o->faults.jitter_ns = ns;
		o->faults.set |= id == O_DELAY ? NW_FAULT_DELAY : NW_FAULT_JITTER;
		return 0;
	}
	case O_LOSS:
		return set_percent(o, v, src, NW_FAULT_LOSS, &o->faults.loss);
	case O_DUPLICATE:
		return set_percent(o, v, src, NW_FAULT_DUPLICATE, &o->faults.duplicate);
	case O_CORRUPT:
		return set_percent(o, v, src, NW_FAULT_CORRUPT, &o->faults.corrupt);
	case O_OUTAGE:
		if (nw_chaos_parse_outage(v, &o->faults.outage_len_ns, &o->faults.outage_period_ns))
			return bad(src, "want LEN/PERIOD with 0 < LEN < PERIOD <= 1 hour, e.g. 500ms/5s");
		o->faults.set |= NW_FAULT_OUTAGE;
		return 0;
	case O_SKEW:
		if (nw_chaos_parse_ppm(v, &o->faults.skew_ppm))
			return bad(src, "want parts per million within -100000..100000, e.g. 200");
		o->faults.set |= NW_FAULT_SKEW;
		return 0;
	case O_BURST: {
		char *end;
		double b = strtod(v, &end);

		if (!*v || *end || !(b >= 1.0) || b > NW_CHAOS_MAX_BURST || strspn(v, "0123456789.") != strlen(v))
			return bad(src, "burst must be a mean length of 1..1000000 packets");
		o->faults.burst = b;
		return 0;
	}
	case O_BACKEND:
		if (!strcmp(v, "auto"))
			o->backend = NW_BACKEND_AUTO;
		else if (!strcmp(v, "netem"))
			o->backend = NW_BACKEND_NETEM;
		else if (!strcmp(v, "bpf"))
			o->backend = NW_BACKEND_BPF;
		else if (!strcmp(v, "agent"))
			o->backend = NW_BACKEND_AGENT;
		else
			return bad(src, "backend must be auto, netem, bpf or agent");
		return 0;
	case O_TOPOLOGY:
		if (!*v || strlen(v) > 4096)
			return bad(src, "want a file name");
		o->topology = v;
		return 0;
	case O_PIN_DIR:
		if (v[0] != '/' || strlen(v) > 200)
			return bad(src, "want an absolute directory of at most 200 characters");
		o->pin_dir = v;
		return 0;
	case O_STATE_DIR:
		if (v[0] != '/' || strlen(v) > 200)
			return bad(src, "want an absolute directory of at most 200 characters");
		o->state_dir = v;
		return 0;
	case O_PORT:
		if (nw_parse_u64(v, 1, 65535, &n))
			return bad(src, "port must be an integer 1..65535");
		o->port = (uint16_t)n;
		return 0;
	case O_CLEAR:
	case O_LIST:
	case O_VERBOSE: {
		int b = 1;

		if (v && nw_cli_parse_bool(v, &b))
			return bad(src, "expects on/off, 1/0, true/false or yes/no");
		if (id == O_CLEAR)
			o->clear = b;
		else if (id == O_LIST)
			o->list = b;
		else
			o->verbose = b;
		return 0;
	}
	}
	return bad(src, "unknown option");
}

static void defaults(struct chaos_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->backend = NW_BACKEND_AUTO;
	o->topology = NW_TOPOLOGY_DEFAULT;
	o->pin_dir = NW_CHAOS_PIN_ROOT;
	o->state_dir = NW_CHAOS_STATE_DIR;
	o->port = NW_DEFAULT_PORT;
}

static int check_combination(const struct chaos_opts *o)
{
	const char *why;

	if (o->clear && o->list)
		return bad("--clear", "does not go with --list");
	if ((o->clear || o->list) && o->faults.set)
		return bad(o->clear ? "--clear" : "--list", "does not go with a fault");
	if (!o->clear && !o->list && !o->faults.set)
		return bad("usage", "nothing to do: give a fault, --clear or --list (--help)");
	if (o->servers && !o->have_rack)
		return bad("--server", "needs --rack (server ids are per rack)");
	if (o->faults.set && !o->have_rack)
		return bad("--rack", "required to apply a fault");
	if (nw_chaos_faults_check(&o->faults, &why))
		return bad("--burst", why); /* the only combination it judges */
	return 0;
}

static int apply_cb(void *ctx, int id, const char *v, const char *src)
{
	return apply(ctx, id, v, src);
}

static const struct nw_cli_spec cli_spec = {
	.tool = "netwatch-chaos", .usage = usage, .opts = long_opts, .env_names = env_names,
	.base = OPT_BASE, .count = O__COUNT, .valued = O__VALUED,
	.o_help = O_HELP, .o_version = O_VERSION, .o_verbose = O_VERBOSE, .apply = apply_cb,
};

enum chaos_opts_result chaos_opts_parse(int argc, char **argv, struct chaos_opts *o)
{

	defaults(o);
	switch (nw_cli_parse(&cli_spec, o, argc, argv, NULL)) {
	case NW_CLI_RUN:
		break;
	case NW_CLI_DONE:
		chaos_opts_free(o);
		return CHAOS_OPTS_DONE;
	case NW_CLI_BAD:
		goto fail;
	}
	if (check_combination(o))
		goto fail;
	return CHAOS_OPTS_RUN;
fail:
	chaos_opts_free(o);
	return CHAOS_OPTS_BAD;
}

void chaos_opts_free(struct chaos_opts *o)
{
	free(o->servers);
	o->servers = NULL;
	o->nservers = 0;
}
