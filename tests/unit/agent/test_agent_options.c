/* SPDX-License-Identifier: MIT */
/* netwatch-agent: command line, environment fallback, controller address forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "endpoint.h"
#include "options.h"

static const char *const env_names[] = {
	"NETWATCH_CONTROLLER", "NETWATCH_RACK",   "NETWATCH_SERVER",    "NETWATCH_SERVERS",
	"NETWATCH_RATE",       "NETWATCH_FREQ",   "NETWATCH_AMPLITUDE", "NETWATCH_COUNT",
	"NETWATCH_DURATION",   "NETWATCH_IMPAIR", "NETWATCH_SOURCE",    "NETWATCH_QUIET",
	"NETWATCH_VERBOSE",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

/* Parses a NULL-terminated list of arguments after the program name. */
static enum nw_opts_result parse(struct nw_opts *o, char *err, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"netwatch-agent";
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return nw_opts_parse(argc, argv, o, err, 512);
}

static void test_defaults(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	assert_int_equal(parse(&o, err, "--controller", "10.0.0.1", NULL), NW_OPTS_RUN);
	assert_string_equal(o.host, "10.0.0.1");
	assert_int_equal(o.port, 9999);
	assert_int_equal(o.rack, 0);
	assert_int_equal(o.server, 0);
	assert_int_equal(o.servers, 1);
	assert_int_equal(o.rate_uhz, 20000000);
	assert_false(o.has_freq);
	assert_int_equal(nw_opts_tone_uhz(&o, 0), 1000000);
	assert_true(o.amplitude == 1.0);
	assert_int_equal(o.count, 0);
	assert_int_equal(o.duration_ns, 0);
	assert_int_equal(o.verbosity, 0);
	assert_false(nw_impair_active(&o.impair));
}

static void test_all_options(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	assert_int_equal(parse(&o, err, "--controller=[::1]:7000", "--rack", "3", "--server", "5",
			       "--servers", "4", "--rate", "50.5", "--amplitude", "2.5", "--count",
			       "123", "--duration", "1.5", "--impair", "loss=10%,delay=1.5",
			       "--source", "::1", "-v", NULL),
			 NW_OPTS_RUN);
	assert_string_equal(o.host, "::1");
	assert_int_equal(o.port, 7000);
	assert_int_equal(o.rack, 3);
	assert_int_equal(o.server, 5);
	assert_int_equal(o.servers, 4);
	assert_int_equal(o.rate_uhz, 50500000);
	assert_true(o.amplitude == 2.5);
	assert_int_equal(o.count, 123);
	assert_int_equal(o.duration_ns, 1500000000ULL);
	assert_true(o.impair.loss == 0.1);
	assert_true(o.impair.delay_ms == 1.5);
	assert_string_equal(o.source, "::1");
	assert_int_equal(o.verbosity, 1);
	/* The plan gives each simulated server its own tone. */
	assert_int_equal(nw_opts_tone_uhz(&o, 0), 4250000);
	assert_int_equal(nw_opts_tone_uhz(&o, 3), 4400000);
}

static void test_help_version(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	assert_int_equal(parse(&o, err, "--help", NULL), NW_OPTS_HELP);
	assert_int_equal(parse(&o, err, "-h", NULL), NW_OPTS_HELP);
	assert_int_equal(parse(&o, err, "--version", NULL), NW_OPTS_VERSION);
}

static void expect_error(const char *needle, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;
	struct nw_opts o;
	char err[512] = "";

	argv[argc++] = (char *)"netwatch-agent";
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(nw_opts_parse(argc, argv, &o, err, sizeof(err)), NW_OPTS_ERROR);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_null(strchr(err, '\n')); /* one line */
}

static void test_bad_input(void **state)
{
	(void)state;
	expect_error("--controller", NULL);
	expect_error("needs a value", "--controller", NULL);
	expect_error("unknown option", "--controller", "h", "--bogus", NULL);
	expect_error("unexpected argument", "--controller", "h", "stray", NULL);
	expect_error("--rack", "--controller", "h", "--rack", "65536", NULL);
	expect_error("--rack", "--controller", "h", "--rack", "-1", NULL);
	expect_error("--server", "--controller", "h", "--server", "x", NULL);
	expect_error("--servers", "--controller", "h", "--servers", "0", "--freq", "1", NULL);
	expect_error("--servers", "--controller", "h", "--servers", "100001", "--freq", "1", NULL);
	expect_error("--rate", "--controller", "h", "--rate", "0", NULL);
	expect_error("--rate", "--controller", "h", "--rate", "-5", NULL);
	expect_error("--rate", "--controller", "h", "--rate", "nan", NULL);
	expect_error("--rate", "--controller", "h", "--rate", "20Hz", NULL);
	expect_error("--rate", "--controller", "h", "--rate", "100000",
		     NULL); /* beyond 32-bit uHz */
	expect_error("--freq", "--controller", "h", "--freq", "0", NULL);
	expect_error("--amplitude", "--controller", "h", "--amplitude", "0", NULL);
	expect_error("--count", "--controller", "h", "--count", "0", NULL);
	expect_error("--duration", "--controller", "h", "--duration", "-1", NULL);
	expect_error("port", "--controller", "h:0", NULL);
	expect_error("port", "--controller", "h:65536", NULL);
	expect_error("port", "--controller", "h:", NULL);
	expect_error("']'", "--controller", "[::1", NULL);
	expect_error("empty host", "--controller", ":9999", NULL);
	expect_error("reserved for inter-rack", "--controller", "h", "--server", "4294967295",
		     "--servers", "2", "--freq", "1", NULL);
	/* NW_SERVER_FABRIC names paths: no server may take it. */
	expect_error("reserved for inter-rack", "--controller", "h", "--server", "4294967295",
		     "--freq", "1", NULL);
	expect_error("reserved for inter-rack", "--controller", "h", "--server", "4294967290",
		     "--servers", "6", "--freq", "1", NULL);
}

/* --fabric (docs/fabric.md section 1): the peers file says where, its own
 * rate and tone; the server options do not go with it. */
static void test_fabric_options(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	assert_int_equal(parse(&o, err, "--fabric", "--fabric-peers", "/p.json", NULL),
			 NW_OPTS_RUN);
	assert_true(o.fabric);
	assert_string_equal(o.fabric_peers, "/p.json");
	assert_int_equal(o.rate_uhz, 10000000);
	assert_true(o.has_freq);
	assert_int_equal(o.freq_uhz, 1000000);
	assert_false(o.has_rack);
	assert_int_equal(o.port, 9999);
	assert_int_equal(parse(&o, err, "--fabric", "--fabric-peers", "/p.json", "--fabric-rate",
			       "10", "--fabric-freq", "2.5", "--rack", "4", "--fabric-port", "4242",
			       NULL),
			 NW_OPTS_RUN);
	assert_int_equal(o.port, 4242);
	assert_int_equal(o.rate_uhz, 10000000);
	assert_int_equal(o.freq_uhz, 2500000);
	assert_true(o.has_rack);
	assert_int_equal(o.rack, 4);
	expect_error("needs --fabric-peers", "--fabric", NULL);
	expect_error("does not go with --fabric", "--fabric", "--fabric-peers", "/p",
		     "--controller", "h", NULL);
	expect_error("does not go with --fabric", "--fabric", "--fabric-peers", "/p", "--server",
		     "1", NULL);
	expect_error("does not go with --fabric", "--fabric", "--fabric-peers", "/p", "--rate", "5",
		     NULL);
	expect_error("needs --fabric", "--controller", "h", "--fabric-peers", "/p", NULL);
	expect_error("needs --fabric", "--controller", "h", "--fabric-rate", "5", NULL);
	expect_error("needs --fabric", "--controller", "h", "--fabric-port", "5", NULL);
	expect_error("--fabric-port", "--fabric", "--fabric-peers", "/p", "--fabric-port", "0",
		     NULL);
	expect_error("--fabric-port", "--fabric", "--fabric-peers", "/p", "--fabric-port", "65536",
		     NULL);
	expect_error("--fabric-rate", "--fabric", "--fabric-peers", "/p", "--fabric-rate", "0",
		     NULL);
	/* The tone must be below half the rate, as for a server. */
	expect_error("rate", "--fabric", "--fabric-peers", "/p", "--fabric-freq", "5", NULL);
}

static void test_nyquist(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	expect_error("Nyquist", "--controller", "h", "--freq", "10", NULL);
	expect_error("Nyquist", "--controller", "h", "--freq", "3", "--rate", "5", NULL);
	assert_int_equal(parse(&o, err, "--controller", "h", "--freq", "9.999999", NULL),
			 NW_OPTS_RUN);
	assert_int_equal(o.freq_uhz, 9999999);
	/* The plan itself: rack 9 server 0 is 10 Hz, which 20 Hz cannot carry. */
	expect_error("Nyquist", "--controller", "h", "--rack", "9", NULL);
	assert_int_equal(parse(&o, err, "--controller", "h", "--rack", "8", "--server", "19", NULL),
			 NW_OPTS_RUN);
	assert_int_equal(nw_opts_tone_uhz(&o, 0), 9950000);
	assert_int_equal(parse(&o, err, "--controller", "h", "--rack", "9", "--rate", "40", NULL),
			 NW_OPTS_RUN);
}

static void test_plan_refusal(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	expect_error("seed frequency plan", "--controller", "h", "--server", "20", NULL);
	/* The last of several simulated servers counts too. */
	expect_error("server 20", "--controller", "h", "--server", "18", "--servers", "3", NULL);
	assert_int_equal(parse(&o, err, "--controller", "h", "--server", "20", "--freq", "2", NULL),
			 NW_OPTS_RUN);
	assert_int_equal(nw_opts_tone_uhz(&o, 0), 2000000);
	assert_int_equal(parse(&o, err, "--controller", "h", "--server", "0", "--servers", "20",
			       NULL),
			 NW_OPTS_RUN);
	assert_int_equal(nw_opts_tone_uhz(&o, 19), 1950000);
}

static void test_env_fallback(void **state)
{
	struct nw_opts o;
	char err[512];

	(void)state;
	setenv("NETWATCH_CONTROLLER", "192.0.2.7:1234", 1);
	setenv("NETWATCH_RACK", "2", 1);
	setenv("NETWATCH_SERVERS", "3", 1);
	setenv("NETWATCH_IMPAIR", "dup=0.02,seed=9", 1);
	setenv("NETWATCH_QUIET", "yes", 1);
	assert_int_equal(parse(&o, err, NULL), NW_OPTS_RUN);
	assert_string_equal(o.host, "192.0.2.7");
	assert_int_equal(o.port, 1234);
	assert_int_equal(o.rack, 2);
	assert_int_equal(o.servers, 3);
	assert_true(o.impair.dup == 0.02);
	assert_true(o.impair.has_seed);
	assert_int_equal(o.impair.seed, 9);
	assert_int_equal(o.verbosity, -1);

	/* The flag wins over the environment. */
	assert_int_equal(parse(&o, err, "--rack", "5", "--controller", "h", "-v", NULL),
			 NW_OPTS_RUN);
	assert_int_equal(o.rack, 5);
	assert_string_equal(o.host, "h");
	assert_int_equal(o.verbosity, 1);

	/* An empty variable is unset, not an error. */
	setenv("NETWATCH_RACK", "", 1);
	assert_int_equal(parse(&o, err, NULL), NW_OPTS_RUN);
	assert_int_equal(o.rack, 0);

	/* A bad value names the variable it came from. */
	setenv("NETWATCH_RATE", "fast", 1);
	assert_int_equal(parse(&o, err, NULL), NW_OPTS_ERROR);
	assert_non_null(strstr(err, "NETWATCH_RATE"));
	/* ...unless the flag overrides it. */
	assert_int_equal(parse(&o, err, "--rate", "30", NULL), NW_OPTS_RUN);
	assert_int_equal(o.rate_uhz, 30000000);
	setenv("NETWATCH_QUIET", "maybe", 1);
	assert_int_equal(parse(&o, err, "--rate", "30", NULL), NW_OPTS_ERROR);
	assert_non_null(strstr(err, "NETWATCH_QUIET"));
	clear_env(NULL);
}

static void test_impair_spec(void **state)
{
	struct nw_opts o;
	struct nw_impair imp;
	char err[512];

	(void)state;
	assert_int_equal(nw_impair_parse("loss=10%", &imp, err, sizeof(err)), 0);
	assert_true(imp.loss == 0.1);
	assert_int_equal(nw_impair_parse("loss=0.1", &imp, err, sizeof(err)), 0);
	assert_true(imp.loss == 0.1);
	assert_int_equal(nw_impair_parse("loss=1,dup=2.5%,delay=20,jitter=0.5,skew=-50,seed=0x10",
					 &imp, err, sizeof(err)),
			 0);
	assert_true(imp.loss == 1.0);
	assert_true(imp.dup == 0.025);
	assert_true(imp.delay_ms == 20.0);
	assert_true(imp.jitter_ms == 0.5);
	assert_true(imp.skew_ppm == -50.0);
	assert_int_equal(imp.seed, 16);
	assert_true(imp.has_seed);
	assert_int_equal(nw_impair_parse("", &imp, err, sizeof(err)), 0);
	assert_false(nw_impair_active(&imp));
	assert_false(imp.has_seed);

	static const char *const bad[] = {
		"lose=10%",   "loss",        "loss=",           "=1",        "loss=101%",
		"loss=-1%",   "loss=1.5",    "loss=abc",        "delay=-1",  "delay=5ms",
		"jitter=inf", "skew=200000", "seed=-1",         "seed=x",    "loss=1%,loss=2%",
		"loss=1%,",   ",loss=1%",    "loss=1%,,dup=1%", "loss=10%%",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nw_impair_parse(bad[i], &imp, err, sizeof(err)) != -1)
			fail_msg("impair spec '%s' was accepted", bad[i]);
	assert_int_equal(nw_impair_parse("jitter=1,color=red", &imp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key 'color'"));
	expect_error("unknown key", "--controller", "h", "--impair", "burst=3", NULL);
	assert_int_equal(parse(&o, err, "--controller", "h", "--impair", "loss=10%", NULL),
			 NW_OPTS_RUN);
	assert_true(o.impair.loss == 0.1);
}

static void test_split_hostport(void **state)
{
	char host[NW_HOST_MAX], err[256];
	uint16_t port;

	(void)state;
	assert_int_equal(nw_split_hostport("1.2.3.4:9999", 1, host, sizeof(host), &port, err, 256),
			 0);
	assert_string_equal(host, "1.2.3.4");
	assert_int_equal(port, 9999);
	assert_int_equal(nw_split_hostport("1.2.3.4", 9999, host, sizeof(host), &port, err, 256),
			 0);
	assert_int_equal(port, 9999);
	assert_int_equal(nw_split_hostport("[::1]:8000", 1, host, sizeof(host), &port, err, 256),
			 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 8000);
	assert_int_equal(nw_split_hostport("[fe80::1%lo]", 9999, host, sizeof(host), &port, err,
					   256),
			 0);
	assert_string_equal(host, "fe80::1%lo");
	assert_int_equal(port, 9999);
	/* Bare IPv6: the last group is part of the address, never a port. */
	assert_int_equal(nw_split_hostport("2001:db8::9999", 7, host, sizeof(host), &port, err,
					   256),
			 0);
	assert_string_equal(host, "2001:db8::9999");
	assert_int_equal(port, 7);
	assert_int_equal(nw_split_hostport("rack1.dc:5000", 1, host, sizeof(host), &port, err, 256),
			 0);
	assert_string_equal(host, "rack1.dc");
	assert_int_equal(port, 5000);
	assert_int_equal(nw_split_hostport("[::1]x", 1, host, sizeof(host), &port, err, 256), -1);
	assert_int_equal(nw_split_hostport("[]:1", 1, host, sizeof(host), &port, err, 256), -1);
	assert_int_equal(nw_split_hostport("h:+5", 1, host, sizeof(host), &port, err, 256), -1);
	assert_int_equal(nw_split_hostport("", 1, host, sizeof(host), &port, err, 256), -1);
}

static void test_resolve(void **state)
{
	struct nw_endpoint ep;
	char err[256];

	(void)state;
	assert_int_equal(nw_resolve("127.0.0.1", 9999, AF_UNSPEC, &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.addr.ss_family, AF_INET);
	assert_int_equal(nw_resolve("::1", 9999, AF_UNSPEC, &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.addr.ss_family, AF_INET6);
	assert_int_equal(nw_resolve("127.0.0.1", 0, AF_INET6, &ep, err, sizeof(err)), -1);
	assert_int_equal(nw_resolve("no-such-host.invalid", 1, AF_UNSPEC, &ep, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "no-such-host.invalid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_all_options, clear_env),
		cmocka_unit_test_setup(test_help_version, clear_env),
		cmocka_unit_test_setup(test_bad_input, clear_env),
		cmocka_unit_test_setup(test_nyquist, clear_env),
		cmocka_unit_test_setup(test_plan_refusal, clear_env),
		cmocka_unit_test_setup(test_env_fallback, clear_env),
		cmocka_unit_test_setup(test_fabric_options, clear_env),
		cmocka_unit_test_setup(test_impair_spec, clear_env),
		cmocka_unit_test_setup(test_split_hostport, clear_env),
		cmocka_unit_test_setup(test_resolve, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
