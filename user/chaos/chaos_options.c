// SPDX-License-Identifier: MIT
#include "chaos_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_topology.h"
#include "cli.h"
#include "argnum.h"
#include "nw_wire.h"

#define F(field) NW_OPT_FIELD(struct chaos_opts, field)

/* The verbs, first on the command line; the flags --clear and --list (and
 * a fault alone, for apply) are the older spelling of the same requests. */
static const struct chaos_verb {
	const char *name;
	enum chaos_cmd cmd;
} verbs[] = {
	{ "apply", CHAOS_APPLY },
	{ "clear", CHAOS_CLEAR },
	{ "list", CHAOS_LIST },
};

const char *nw_chaos_backend_name(enum nw_chaos_backend b)
{
	switch (b) {
	case NW_BACKEND_AUTO:
		return "auto";
	case NW_BACKEND_NETEM:
		return "netem";
	case NW_BACKEND_BPF:
		return "bpf";
	case NW_BACKEND_AGENT:
		return "agent";
	}
	return "?";
}

static struct nw_chaos_faults *faults_of(void *opts)
{
	return &((struct chaos_opts *)opts)->faults;
}

/* The fault parsers: the value into the field at opt->off, and, once it is
 * good, the fault's NW_FAULT_* bit (opt->data) marked as asked for. */
static int asked(void *opts, const struct nw_opt *opt, int parsed)
{
	if (parsed)
		return -1;
	faults_of(opts)->set |= (unsigned)opt->data;
	return 0;
}

#define FIELD_AT(type, opts, opt) ((type *)(void *)((char *)(opts) + (opt)->off))

static int parse_duration(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	(void)why;
	return asked(opts, opt, nw_chaos_parse_duration(v, FIELD_AT(uint64_t, opts, opt)));
}

static int parse_percent(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	(void)why;
	return asked(opts, opt, nw_chaos_parse_percent(v, FIELD_AT(double, opts, opt)));
}

static int parse_ppm(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	(void)why;
	return asked(opts, opt, nw_chaos_parse_ppm(v, FIELD_AT(double, opts, opt)));
}

static int parse_outage(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	struct nw_chaos_faults *f = faults_of(opts);

	(void)why;
	return asked(opts, opt, nw_chaos_parse_outage(v, &f->outage_len_ns, &f->outage_period_ns));
}

static int parse_burst(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	char *end;
	double b = strtod(v, &end);

	(void)opt;
	(void)why;
	if (!*v || *end || !(b >= 1.0) || b > NW_CHAOS_MAX_BURST ||
	    strspn(v, "0123456789.") != strlen(v))
		return -1;
	faults_of(opts)->burst = b;
	return 0;
}

static int parse_rack(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	struct chaos_opts *o = opts;
	uint64_t n;

	(void)opt;
	(void)why;
	if (nw_parse_u64(v, 0, 65535, &n))
		return -1;
	o->rack = (uint32_t)n;
	o->have_rack = 1;
	return 0;
}

/* "A,B": two different racks. */
static int parse_path(void *opts, const struct nw_opt *opt, const char *v, const char **why)
{
	struct chaos_opts *o = opts;
	const char *comma = strchr(v, ',');
	char a[8];
	uint64_t x, y;

	(void)opt;
	(void)why;
	if (!comma || (size_t)(comma - v) >= sizeof(a))
		return -1;
	memcpy(a, v, (size_t)(comma - v));
	a[comma - v] = '\0';
	if (nw_parse_u64(a, 0, 65535, &x) || nw_parse_u64(comma + 1, 0, 65535, &y) || x == y)
		return -1;
	o->path[0] = (uint32_t)x;
	o->path[1] = (uint32_t)y;
	o->have_path = 1;
	return 0;
}

static const struct nw_opt_choice backends[] = {
	{ "auto", NW_BACKEND_AUTO },
	{ "netem", NW_BACKEND_NETEM },
	{ "bpf", NW_BACKEND_BPF },
	{ "agent", NW_BACKEND_AGENT },
	{ NULL, 0 },
};

static const char bool_problem[] = "expects on/off, 1/0, true/false or yes/no";
static const char dir_problem[] = "want an absolute directory of at most 200 characters";
static const char percent_problem[] = "want a percentage 0..100 (e.g. 20 or 0.5%)";
static const char duration_problem[] = "want a duration up to 1 hour: 200ms, 1.5s, 250us or ms";

#define FAULT(name, env, parser, field, bit, problem_, arg_, help_)                             \
	{                                                                                       \
		name, 0, env, NW_OPT_CUSTOM, F(faults.field), .parse = parser, .data = bit,     \
							      .problem = problem_, .arg = arg_, \
							      .help = help_                     \
	}

static const struct nw_opt opts[] = {
	{ .kind = NW_OPT_HEADING, .help = "Faults:" },
	FAULT("delay", "NETWATCH_DELAY", parse_duration, delay_ns, NW_FAULT_DELAY, duration_problem,
	      "T", "added one-way delay: 200ms, 1.5s, 250us (bare number: ms)"),
	FAULT("jitter", "NETWATCH_JITTER", parse_duration, jitter_ns, NW_FAULT_JITTER,
	      duration_problem, "T", "random variation of the delay (netem/agent: around --delay)"),
	FAULT("loss", "NETWATCH_LOSS", parse_percent, loss, NW_FAULT_LOSS, percent_problem, "P",
	      "lose P percent of the packets (0..100, '%' optional)"),
	{ "burst", 0, "NETWATCH_BURST", NW_OPT_CUSTOM, .parse = parse_burst,
	  .problem = "burst must be a mean length of 1..1000000 packets", .arg = "N",
	  .help = "lose them in bursts of N packets on average (Gilbert-Elliott;\n"
		  "needs --loss; N >= loss/(100-loss))" },
	FAULT("duplicate", "NETWATCH_DUPLICATE", parse_percent, duplicate, NW_FAULT_DUPLICATE,
	      percent_problem, "P", "send an extra copy of P percent of the packets"),
	FAULT("corrupt", "NETWATCH_CORRUPT", parse_percent, corrupt, NW_FAULT_CORRUPT,
	      percent_problem, "P", "damage P percent of the samples (one bit of the magic)"),
	FAULT("outage", "NETWATCH_OUTAGE", parse_outage, outage_len_ns, NW_FAULT_OUTAGE,
	      "want LEN/PERIOD with 0 < LEN < PERIOD <= 1 hour, e.g. 500ms/5s", "LEN/PERIOD",
	      "lose everything for LEN of every PERIOD (500ms/5s; bpf)"),
	FAULT("skew", "NETWATCH_SKEW", parse_ppm, skew_ppm, NW_FAULT_SKEW,
	      "want parts per million within -100000..100000, e.g. 200", "PPM",
	      "the sender's clock runs PPM fast (<0: slow; agent only)"),
	{ .kind = NW_OPT_HEADING, .help = "Targets and backends:" },
	{ "rack", 0, "NETWATCH_RACK", NW_OPT_CUSTOM, .parse = parse_rack,
	  .problem = "rack must be an integer 0..65535", .arg = "R",
	  .help = "rack id 0..65535 (required to apply)" },
	{ "server", 0, "NETWATCH_SERVER", NW_OPT_ID_LIST, F(servers),
	  .off2 = offsetof(struct chaos_opts, nservers), .max = NW_TOPOLOGY_MAX_TARGETS,
	  .arg = "LIST", .help = "only these servers of the rack, e.g. 3 or 0-3,7" },
	{ "uplink", 0, "NETWATCH_UPLINK", NW_OPT_BOOL, F(uplink), .problem = bool_problem,
	  .help = "the rack's uplink (both ends' egress) instead of its\n"
		  "servers; with --rack (bpf faults only)" },
	{ "path", 0, "NETWATCH_PATH", NW_OPT_CUSTOM, .parse = parse_path,
	  .problem = "path must be two different rack ids A,B (0..65535)", .arg = "A,B",
	  .help = "only the traffic between racks A and B, both ways\n"
		  "(bpf faults only)" },
	{ "backend", 0, "NETWATCH_BACKEND", NW_OPT_CHOICE, F(backend), .choices = backends,
	  .problem = "backend must be auto, netem, bpf or agent", .arg = "B",
	  .help = "auto|netem|bpf|agent (default auto: netem where the kernel\n"
		  "has sch_netem; else bpf for loss/duplicate/corrupt and the\n"
		  "agent's control socket for delay/jitter)" },
	{ "topology", 0, "NETWATCH_TOPOLOGY", NW_OPT_STRING, F(topology), .min = 1, .max = 4096,
	  .def_s = NW_TOPOLOGY_DEFAULT, .problem = "want a file name", .arg = "FILE",
	  .help = "default " NW_TOPOLOGY_DEFAULT },
	{ "pin-dir", 0, "NETWATCH_PIN_DIR", NW_OPT_PATH, F(pin_dir), .max = 200,
	  .def_s = NW_CHAOS_PIN_ROOT, .problem = dir_problem, .arg = "DIR",
	  .help = "bpffs directory of the bpf backend's maps (default\n" NW_CHAOS_PIN_ROOT ")" },
	{ "state-dir", 0, "NETWATCH_STATE_DIR", NW_OPT_PATH, F(state_dir), .max = 200,
	  .def_s = NW_CHAOS_STATE_DIR, .problem = dir_problem, .arg = "DIR",
	  .help = "where it notes what it asked each agent for, so clear\n"
		  "and list touch only that (default " NW_CHAOS_STATE_DIR ")" },
	{ "port", 0, "NETWATCH_PORT", NW_OPT_U64, F(port), .min = 1, .max = 65535,
	  .def_u = NW_DEFAULT_PORT, .problem = "port must be an integer 1..65535", .arg = "P",
	  .help = "UDP port of the samples --corrupt damages (default 9999)" },
	/* The spelling from before the verbs clear and list. */
	{ "clear", 0, "NETWATCH_CLEAR", NW_OPT_BOOL, F(clear), .problem = bool_problem },
	{ "list", 0, "NETWATCH_LIST", NW_OPT_BOOL, F(list), .problem = bool_problem },
	{ "verbose", 'v', "NETWATCH_VERBOSE", NW_OPT_BOOL, F(verbose), .problem = bool_problem,
	  .flag = "-v, --verbose", .help = "debug logging, libbpf's messages included" },
	{ "help", 0, NULL, NW_OPT_HELP, .flag = "--help, --version", .help = "" },
	{ "version", 0, NULL, NW_OPT_VERSION, .help = NULL }, /* listed with --help */
};

static const struct nw_cli_spec cli_spec = {
	.tool = "netwatch-chaos",
	NW_CLI_TABLE(opts),
	.help_column = 22,
	.usage_head =
		"Usage: netwatch-chaos apply --rack R [--server LIST] FAULT...   (replaces)\n"
		"       netwatch-chaos apply --rack R --uplink FAULT...  (a rack's uplink)\n"
		"       netwatch-chaos apply --path A,B FAULT...         (between two racks)\n"
		"       netwatch-chaos clear [--rack R [--server LIST | --uplink] | --path A,B]\n"
		"       netwatch-chaos list [--rack R [--server LIST | --uplink] | --path A,B]\n"
		"The verb may be left out: FAULT... alone applies, --clear is clear and\n"
		"--list is list (the spelling from before the verbs keeps working).\n"
		"Injects network faults on the egress of the servers' interfaces named by the\n"
		"lab's topology file, so the rack collectors see an impaired tone.\n"
		"\n",
	.env_example = "NETWATCH_LOSS=20",
	.exit_status = "0 done, 1 a fault could not be applied\n"
		       "(or cleared), 2 bad usage. Details: docs/chaos.md.",
};

/* The request: the verb when one was given, else what the flags and the
 * environment ask for (apply unless --clear or --list). The verb clear or
 * list is the same as its flag, so every later check sees one request. */
static int settle_cmd(struct chaos_opts *o, int verb)
{
	if (verb < 0) {
		o->cmd = o->clear ? CHAOS_CLEAR : o->list ? CHAOS_LIST : CHAOS_APPLY;
		return 0;
	}
	o->cmd = verbs[verb].cmd;
	if (o->cmd == CHAOS_APPLY && (o->clear || o->list))
		return nw_cli_bad(&cli_spec, o->clear ? "--clear" : "--list",
				  "does not go with apply");
	if (o->cmd == CHAOS_APPLY && !o->faults.set)
		return nw_cli_bad(&cli_spec, "apply", "needs a fault (--help)");
	if (o->cmd == CHAOS_CLEAR)
		o->clear = 1;
	if (o->cmd == CHAOS_LIST)
		o->list = 1;
	return 0;
}

static int check_combination(const struct chaos_opts *o)
{
	const char *why;

	if (o->clear && o->list)
		return nw_cli_bad(&cli_spec, "--clear", "does not go with --list");
	if ((o->clear || o->list) && o->faults.set)
		return nw_cli_bad(&cli_spec, o->clear ? "--clear" : "--list",
				  "does not go with a fault");
	if (!o->clear && !o->list && !o->faults.set)
		return nw_cli_bad(&cli_spec, "usage",
				  "nothing to do: give a fault, --clear or --list (--help)");
	if (o->servers && !o->have_rack)
		return nw_cli_bad(&cli_spec, "--server", "needs --rack (server ids are per rack)");
	if (o->uplink && !o->have_rack)
		return nw_cli_bad(&cli_spec, "--uplink", "needs --rack (whose uplink)");
	if (o->uplink && o->servers)
		return nw_cli_bad(&cli_spec, "--uplink", "does not go with --server");
	if (o->have_path && o->have_rack)
		return nw_cli_bad(&cli_spec, "--path",
				  "does not go with --rack (it names two racks)");
	if (o->faults.set && !o->have_rack && !o->have_path)
		return nw_cli_bad(&cli_spec, "--rack", "required to apply a fault (or --path A,B)");
	/* A link or a path is impaired by the tc program alone: no netem on
	 * a router's port here, and no agent sends the traffic. */
	if ((o->uplink || o->have_path) && o->faults.set & ~NW_FAULTS_BPF)
		return nw_cli_bad(&cli_spec, o->uplink ? "--uplink" : "--path",
				  "takes loss, burst, duplicate, corrupt and outage only (bpf)");
	if ((o->uplink || o->have_path) && o->backend != NW_BACKEND_AUTO &&
	    o->backend != NW_BACKEND_BPF)
		return nw_cli_bad(&cli_spec, "--backend",
				  "an uplink or a path has the bpf backend only");
	if (nw_chaos_faults_check(&o->faults, &why))
		return nw_cli_bad(&cli_spec, "--burst", why); /* the only combination it judges */
	return 0;
}

enum nw_cli_result chaos_opts_parse(int argc, char **argv, struct chaos_opts *o)
{
	enum nw_cli_result r;
	int verb = -1;

	memset(o, 0, sizeof(*o));
	/* A verb is the first argument; what follows it parses as options, the
	 * verb standing in for the program's name. */
	for (size_t i = 0; argc > 1 && i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			verb = (int)i;
	if (verb >= 0) {
		argv++;
		argc--;
	}
	r = nw_cli_parse(&cli_spec, o, argc, argv);
	if (r != NW_CLI_RUN)
		return r;
	/* After the table, as only the verb is not an option. */
	if (settle_cmd(o, verb) || check_combination(o)) {
		chaos_opts_free(o);
		return NW_CLI_BAD;
	}
	return NW_CLI_RUN;
}

const char *chaos_cmd_name(enum chaos_cmd cmd)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].cmd == cmd)
			return verbs[i].name;
	return "?";
}

void chaos_opts_free(struct chaos_opts *o)
{
	nw_cli_free(&cli_spec, o);
}
