/* SPDX-License-Identifier: MIT */
#include "options.h"

#include "plan.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nw_wire.h"

enum {
	O_CONTROLLER,
	O_RACK,
	O_SERVER,
	O_SERVERS,
	O_RATE,
	O_FREQ,
	O_AMPLITUDE,
	O_COUNT,
	O_DURATION,
	O_IMPAIR,
	O_SOURCE,
	O_QUIET,
	O_VERBOSE,
	O_KEY_FILE,
	O_CONTROL,
	O_FABRIC,
	O_FABRIC_PEERS,
	O_FABRIC_RATE,
	O_FABRIC_FREQ,
	O_FABRIC_PORT,
	O__N,
	O_HELP = 0x100,
	O_VERSION,
};

/* The one declaration of the agent's options: entry i is option id i (its
 * value's slot) for i < O__N; val is what getopt_long returns for it. */
static const struct opt_spec {
	const char *name;
	const char *env; /* NULL: command line only */
	int has_arg;
	int val;
} specs[] = {
	{ "controller", "NETWATCH_CONTROLLER", required_argument, O_CONTROLLER },
	{ "rack", "NETWATCH_RACK", required_argument, O_RACK },
	{ "server", "NETWATCH_SERVER", required_argument, O_SERVER },
	{ "servers", "NETWATCH_SERVERS", required_argument, O_SERVERS },
	{ "rate", "NETWATCH_RATE", required_argument, O_RATE },
	{ "freq", "NETWATCH_FREQ", required_argument, O_FREQ },
	{ "amplitude", "NETWATCH_AMPLITUDE", required_argument, O_AMPLITUDE },
	{ "count", "NETWATCH_COUNT", required_argument, O_COUNT },
	{ "duration", "NETWATCH_DURATION", required_argument, O_DURATION },
	{ "impair", "NETWATCH_IMPAIR", required_argument, O_IMPAIR },
	{ "source", "NETWATCH_SOURCE", required_argument, O_SOURCE },
	{ "quiet", "NETWATCH_QUIET", no_argument, 'q' },
	{ "verbose", "NETWATCH_VERBOSE", no_argument, 'v' },
	{ "key-file", "NETWATCH_KEY_FILE", required_argument, O_KEY_FILE },
	{ "control", "NETWATCH_CONTROL", required_argument, O_CONTROL },
	{ "fabric", "NETWATCH_FABRIC", no_argument, O_FABRIC },
	{ "fabric-peers", "NETWATCH_FABRIC_PEERS", required_argument, O_FABRIC_PEERS },
	{ "fabric-rate", "NETWATCH_FABRIC_RATE", required_argument, O_FABRIC_RATE },
	{ "fabric-freq", "NETWATCH_FABRIC_FREQ", required_argument, O_FABRIC_FREQ },
	{ "fabric-port", "NETWATCH_FABRIC_PORT", required_argument, O_FABRIC_PORT },
	{ "help", NULL, no_argument, 'h' },
	{ "version", NULL, no_argument, O_VERSION },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* A raw value and where it came from, so an error can name the right source. */
struct raw {
	const char *val[O__N];
	char from[O__N][32];
};

void nw_opts_usage(FILE *f)
{
	fputs("Usage: netwatch-agent --controller HOST[:PORT] [options]\n"
	      "Sends a pure tone as UDP samples (NetWatch wire v1) for one or many servers.\n"
	      "\n"
	      "  --controller HOST[:PORT]  collector address; IPv4, [IPv6]:PORT, bare IPv6 or a\n"
	      "                            hostname; port defaults to 9999 (required)\n"
	      "  --rack R                  rack id, 0..65535 (default 0)\n"
	      "  --server S                first server id (default 0)\n"
	      "  --servers N               simulate servers S..S+N-1, N in 1..100000 (default 1)\n"
	      "  --rate HZ                 samples per second per server (default 20, at most\n"
	      "                            4294.967295: the wire carries micro-hertz in 32 bits)\n"
	      "  --freq HZ                 tone of every server; default: the seed plan\n"
	      "                            1.0 + rack + 0.05*server Hz (servers 0..19 only).\n"
	      "                            Must be below rate/2\n"
	      "  --amplitude A             tone amplitude (default 1.0)\n"
	      "  --count N                 stop after N samples per server\n"
	      "  --duration SECONDS        stop after this long\n"
	      "  --impair SPEC             loss=P,dup=P,delay=MS,jitter=MS,skew=PPM,seed=N\n"
	      "                            P as 10% or 0.1; applied to what goes on the wire\n"
	      "  --source ADDR             bind to this local address\n"
	      "  --key-file FILE           shared key (64 hex digits, mode 0600): every sample\n"
	      "                            and goodbye carries a SipHash-2-4 tag the rack\n"
	      "                            controller checks (docs/wire-format.md)\n"
	      "  --control PATH            unix datagram socket taking {\"impair\": \"SPEC\"} to\n"
	      "                            replace the impairment at run time (\"\" clears it)\n"
	      "  --fabric                  inter-rack tones (docs/fabric.md): run on a rack\n"
	      "                            controller's host, one tone to each rack of\n"
	      "                            --fabric-peers; no --controller/--server/--servers/\n"
	      "                            --rate/--freq; --control also takes\n"
	      "                            {\"fabric_peers\": \"FILE\"} to change the peers\n"
	      "  --fabric-peers FILE       the peers file {\"self\": R, \"racks\": [{\"rack_id\":\n"
	      "                            N, \"addr\": \"HOST\"}, ...]}; self is the source rack;\n"
	      "                            with \"k\": K, \"epoch_s\": S it lists every rack and\n"
	      "                            the agent probes K of them, rotating every S s\n"
	      "                            (epoch = wall clock / S; docs/fabric.md section 4)\n"
	      "  --fabric-rate HZ          samples per second per path (default 10)\n"
	      "  --fabric-freq HZ          tone of every path (default 1), below rate/2\n"
	      "  --fabric-port PORT        the rack controllers' UDP port (default 9999)\n"
	      "  -q, --quiet               only errors on stderr\n"
	      "  -v, --verbose             more detail on stderr\n"
	      "  -h, --help                this text\n"
	      "      --version             print the version\n"
	      "\n"
	      "Every option NAME may also be set as NETWATCH_<NAME> (e.g. NETWATCH_CONTROLLER,\n"
	      "NETWATCH_RACK); the command line wins. Without --count or --duration the agent\n"
	      "runs until SIGINT/SIGTERM, then sends a goodbye per server and prints one JSON\n"
	      "line of counters on stdout.\n",
	      f);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1; /* strtoull would take "-1" and " 1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_num(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0' || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return NW_OPTS_ERROR;               \
	} while (0)

static enum nw_opts_result validate(const struct raw *r, struct nw_opts *o, char *err,
				    size_t errlen)
{
	uint64_t v;
	double d;
	int b;

	if (r->val[O_FABRIC]) {
		if (parse_bool(r->val[O_FABRIC], &b) < 0)
			FAIL("%s '%s': want 1/0, true/false, yes/no or on/off", r->from[O_FABRIC],
			     r->val[O_FABRIC]);
		o->fabric = b;
	}
	if (o->fabric) {
		static const int not_with_fabric[] = { O_CONTROLLER, O_SERVER, O_SERVERS, O_RATE,
						       O_FREQ };

		for (size_t i = 0; i < sizeof(not_with_fabric) / sizeof(not_with_fabric[0]); i++)
			if (r->val[not_with_fabric[i]])
				FAIL("%s does not go with --fabric (the peers file says where, "
				     "--fabric-rate/--fabric-freq the tone)",
				     r->from[not_with_fabric[i]]);
		if (!r->val[O_FABRIC_PEERS])
			FAIL("--fabric needs --fabric-peers FILE");
		if (strlen(r->val[O_FABRIC_PEERS]) >= sizeof(o->fabric_peers))
			FAIL("%s: path too long", r->from[O_FABRIC_PEERS]);
		strcpy(o->fabric_peers, r->val[O_FABRIC_PEERS]);
		o->rate_uhz = (uint64_t)NW_FABRIC_RATE_HZ_DEFAULT * 1000000U;
		o->has_freq = 1;
		o->freq_uhz = NW_FABRIC_FREQ_UHZ_DEFAULT;
		if (r->val[O_FABRIC_RATE]) {
			if (parse_num(r->val[O_FABRIC_RATE], &d) < 0 || d <= 0 ||
			    nw_hz_to_uhz(d, &v) < 0 || v == 0 || v > UINT32_MAX)
				FAIL("%s '%s': want a rate in Hz, 0 < rate <= 4294.967295",
				     r->from[O_FABRIC_RATE], r->val[O_FABRIC_RATE]);
			o->rate_uhz = v;
		}
		if (r->val[O_FABRIC_FREQ]) {
			if (parse_num(r->val[O_FABRIC_FREQ], &d) < 0 || d <= 0 ||
			    nw_hz_to_uhz(d, &v) < 0 || v == 0)
				FAIL("%s '%s': want a tone in Hz above 0", r->from[O_FABRIC_FREQ],
				     r->val[O_FABRIC_FREQ]);
			o->freq_uhz = v;
		}
		/* Every peer listens where its netwatch-rack --port says; one
		 * port for the mesh, as one --port for a rack's servers. */
		if (r->val[O_FABRIC_PORT]) {
			if (parse_u64(r->val[O_FABRIC_PORT], UINT16_MAX, &v) < 0 || v == 0)
				FAIL("%s '%s': want a port in 1..65535", r->from[O_FABRIC_PORT],
				     r->val[O_FABRIC_PORT]);
			o->port = (uint16_t)v;
		}
	} else {
		for (int i = O_FABRIC_PEERS; i <= O_FABRIC_PORT; i++)
			if (r->val[i])
				FAIL("%s needs --fabric", r->from[i]);
		if (!r->val[O_CONTROLLER])
			FAIL("--controller HOST[:PORT] is required (or NETWATCH_CONTROLLER)");
		if (nw_split_hostport(r->val[O_CONTROLLER], NW_DEFAULT_PORT, o->host,
				      sizeof(o->host), &o->port, err, errlen) < 0)
			return NW_OPTS_ERROR;
	}

	if (r->val[O_RACK]) {
		if (parse_u64(r->val[O_RACK], UINT16_MAX, &v) < 0)
			FAIL("%s '%s': want a rack id in 0..65535", r->from[O_RACK],
			     r->val[O_RACK]);
		o->rack = (uint16_t)v;
		o->has_rack = 1;
	}
	if (r->val[O_SERVER]) {
		if (parse_u64(r->val[O_SERVER], UINT32_MAX, &v) < 0)
			FAIL("%s '%s': want a server id in 0..4294967295", r->from[O_SERVER],
			     r->val[O_SERVER]);
		o->server = (uint32_t)v;
	}
	if (r->val[O_SERVERS]) {
		if (parse_u64(r->val[O_SERVERS], NW_MAX_SERVERS, &v) < 0 || v == 0)
			FAIL("%s '%s': want a count in 1..%u", r->from[O_SERVERS],
			     r->val[O_SERVERS], NW_MAX_SERVERS);
		o->servers = (uint32_t)v;
	}
	/* The last id names inter-rack paths on the wire (NW_SERVER_FABRIC). */
	if ((uint64_t)o->server + o->servers - 1 >= NW_SERVER_FABRIC)
		FAIL("--server %u with --servers %u reaches server id 4294967295, reserved for "
		     "inter-rack tones (--fabric)",
		     o->server, o->servers);

	if (r->val[O_RATE]) {
		if (parse_num(r->val[O_RATE], &d) < 0 || d <= 0 || nw_hz_to_uhz(d, &v) < 0 ||
		    v == 0 || v > UINT32_MAX)
			FAIL("%s '%s': want a rate in Hz, 0 < rate <= 4294.967295", r->from[O_RATE],
			     r->val[O_RATE]);
		o->rate_uhz = v;
	}
	if (r->val[O_FREQ]) {
		if (parse_num(r->val[O_FREQ], &d) < 0 || d <= 0 || nw_hz_to_uhz(d, &v) < 0 ||
		    v == 0)
			FAIL("%s '%s': want a tone in Hz above 0", r->from[O_FREQ], r->val[O_FREQ]);
		o->has_freq = 1;
		o->freq_uhz = v;
	}
	if (r->val[O_AMPLITUDE]) {
		if (parse_num(r->val[O_AMPLITUDE], &d) < 0 || d <= 0 || d > 3.4e38)
			FAIL("%s '%s': want an amplitude above 0 that fits a float",
			     r->from[O_AMPLITUDE], r->val[O_AMPLITUDE]);
		o->amplitude = d;
	}
	if (r->val[O_COUNT]) {
		if (parse_u64(r->val[O_COUNT], UINT64_MAX, &v) < 0 || v == 0)
			FAIL("%s '%s': want a sample count of at least 1", r->from[O_COUNT],
			     r->val[O_COUNT]);
		o->count = v;
	}
	if (r->val[O_DURATION]) {
		if (parse_num(r->val[O_DURATION], &d) < 0 || d <= 0 || d > NW_MAX_DURATION_S ||
		    llround(d * 1e9) <= 0)
			FAIL("%s '%s': want seconds above 0", r->from[O_DURATION],
			     r->val[O_DURATION]);
		o->duration_ns = (uint64_t)llround(d * 1e9);
	}
	if (r->val[O_IMPAIR] && nw_impair_parse(r->val[O_IMPAIR], &o->impair, err, errlen) < 0)
		return NW_OPTS_ERROR;
	if (r->val[O_SOURCE]) {
		if (strlen(r->val[O_SOURCE]) >= sizeof(o->source))
			FAIL("%s: address too long", r->from[O_SOURCE]);
		strcpy(o->source, r->val[O_SOURCE]);
	}
	if (r->val[O_KEY_FILE]) {
		if (strlen(r->val[O_KEY_FILE]) >= sizeof(o->key_file))
			FAIL("%s: path too long", r->from[O_KEY_FILE]);
		strcpy(o->key_file, r->val[O_KEY_FILE]);
	}
	if (r->val[O_CONTROL]) {
		if (strlen(r->val[O_CONTROL]) >= sizeof(o->control))
			FAIL("%s: path longer than %zu characters (a unix socket's limit)",
			     r->from[O_CONTROL], sizeof(o->control) - 1);
		strcpy(o->control, r->val[O_CONTROL]);
	}
	if (r->val[O_QUIET]) {
		if (parse_bool(r->val[O_QUIET], &b) < 0)
			FAIL("%s '%s': want 1/0, true/false, yes/no or on/off", r->from[O_QUIET],
			     r->val[O_QUIET]);
		if (b)
			o->verbosity = -1;
	}
	if (r->val[O_VERBOSE]) {
		if (parse_bool(r->val[O_VERBOSE], &b) < 0)
			FAIL("%s '%s': want 1/0, true/false, yes/no or on/off", r->from[O_VERBOSE],
			     r->val[O_VERBOSE]);
		if (b)
			o->verbosity = 1;
	}

	/* Every server's tone must be carried and sampled correctly: the plan's
	 * tones grow with the server id, so the last server is the one to check. */
	if (!o->has_freq && !o->fabric) {
		uint32_t last = o->server + o->servers - 1;

		if (nw_plan_tone_uhz(o->rack, last, &v) < 0)
			FAIL("server %u is outside the seed frequency plan (server ids 0..%u per rack); "
			     "give --freq",
			     last, NW_PLAN_SERVERS - 1);
		if (nw_tone_check(v, o->rate_uhz, err, errlen) < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", err);
			FAIL("seed plan for rack %u server %u: %s", (unsigned)o->rack, last, why);
		}
	} else if (nw_tone_check(o->freq_uhz, o->rate_uhz, err, errlen) < 0) {
		return NW_OPTS_ERROR;
	}
	return NW_OPTS_RUN;
}

enum nw_opts_result nw_opts_parse(int argc, char **argv, struct nw_opts *o, char *err,
				  size_t errlen)
{
	struct option longopts[NSPECS + 1];
	struct raw r;
	int c, idx;

	memset(o, 0, sizeof(*o));
	o->port = NW_DEFAULT_PORT;
	o->servers = 1;
	o->rate_uhz = (uint64_t)NW_DEFAULT_RATE_HZ * 1000000U;
	o->amplitude = 1.0;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < NSPECS; i++)
		longopts[i] = (struct option){ specs[i].name, specs[i].has_arg, NULL,
					       specs[i].val };
	longopts[NSPECS] = (struct option){ 0 };
	for (int i = 0; i < O__N; i++) {
		const char *e = getenv(specs[i].env);

		if (e && *e) {
			r.val[i] = e;
			snprintf(r.from[i], sizeof(r.from[i]), "%s", specs[i].env);
		}
	}

	optind = 0; /* glibc: full re-initialisation, so tests may parse repeatedly */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qvh", longopts, &idx)) != -1) {
		switch (c) {
		case 'h':
			return NW_OPTS_HELP;
		case O_VERSION:
			return NW_OPTS_VERSION;
		case 'q':
			r.val[O_QUIET] = "1";
			r.val[O_VERBOSE] = NULL; /* the last of -q/-v on the line wins */
			snprintf(r.from[O_QUIET], sizeof(r.from[O_QUIET]), "--quiet");
			break;
		case O_FABRIC:
			r.val[O_FABRIC] = "1";
			snprintf(r.from[O_FABRIC], sizeof(r.from[O_FABRIC]), "--fabric");
			break;
		case 'v':
			r.val[O_VERBOSE] = "1";
			r.val[O_QUIET] = NULL;
			snprintf(r.from[O_VERBOSE], sizeof(r.from[O_VERBOSE]), "--verbose");
			break;
		case ':':
			FAIL("option %s needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				FAIL("unknown option '-%c' (see --help)", optopt);
			FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
		default:
			if (c >= 0 && c < O__N) {
				r.val[c] = optarg;
				snprintf(r.from[c], sizeof(r.from[c]), "--%s", specs[c].name);
			}
			break;
		}
	}
	if (optind < argc)
		FAIL("unexpected argument '%s' (see --help)", argv[optind]);
	return validate(&r, o, err, errlen);
}

uint64_t nw_opts_tone_uhz(const struct nw_opts *o, uint32_t i)
{
	uint64_t v = o->freq_uhz;

	if (!o->has_freq)
		(void)nw_plan_tone_uhz(o->rack, o->server + i, &v);
	return v;
}
