/* SPDX-License-Identifier: MIT */
/* netwatch-chaos: command line (verbs and the flags before them) and
 * environment, fault values, the topology file, the agent's control
 * messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaos_agent.h"
#include "chaos_options.h"
#include "chaos_topology.h"

#include "chaos_cli_rig.h"

/* Each row an argv (after the program's name) that must be refused. */
static void assert_all_refused(const char *const (*cases)[6], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *argv[8] = { (char *)"netwatch-chaos" };
		struct chaos_opts o;
		int argc = 1;

		for (int j = 0; j < 6 && cases[i][j]; j++)
			argv[argc++] = (char *)cases[i][j];
		argv[argc] = NULL;
		if (chaos_opts_parse(argc, argv, &o) != NW_CLI_BAD)
			fail_msg("case %zu (%s %s ...) accepted", i, cases[i][0],
				 cases[i][1] ? cases[i][1] : "");
	}
}

static void test_seed_interface(void **state)
{
	struct chaos_opts o;

	(void)state;
	assert_int_equal(parse(&o, "--rack", "0", "--delay", "200ms", "--loss", "20", NULL),
			 NW_CLI_RUN);
	assert_true(o.have_rack);
	assert_int_equal(o.rack, 0);
	assert_null(o.servers);
	assert_int_equal(o.faults.set, NW_FAULT_DELAY | NW_FAULT_LOSS);
	assert_int_equal(o.faults.delay_ns, 200000000ULL);
	assert_float_equal(o.faults.loss, 0.2, 1e-12);
	assert_int_equal(o.backend, NW_BACKEND_AUTO);
	assert_string_equal(o.topology, NW_TOPOLOGY_DEFAULT);
	assert_string_equal(o.pin_dir, NW_CHAOS_PIN_ROOT);
	assert_string_equal(o.state_dir, NW_CHAOS_STATE_DIR);
	assert_int_equal(o.port, 9999);
	chaos_opts_free(&o);

	assert_int_equal(parse(&o, "--rack", "3", "--server", "0-2,7", "--jitter", "25ms",
			       "--delay", "1.5s", "--duplicate", "2%", "--corrupt", "0.5", "--loss",
			       "10", "--burst", "4", "--backend", "bpf", "--topology",
			       "/tmp/t.json", "--port", "7000", "-v", NULL),
			 NW_CLI_RUN);
	assert_int_equal(o.rack, 3);
	assert_int_equal(o.nservers, 4);
	assert_int_equal(o.servers[3], 7);
	assert_int_equal(o.faults.jitter_ns, 25000000ULL);
	assert_int_equal(o.faults.delay_ns, 1500000000ULL);
	assert_float_equal(o.faults.duplicate, 0.02, 1e-12);
	assert_float_equal(o.faults.corrupt, 0.005, 1e-12);
	assert_float_equal(o.faults.burst, 4.0, 1e-12);
	assert_int_equal(o.backend, NW_BACKEND_BPF);
	assert_string_equal(o.topology, "/tmp/t.json");
	assert_int_equal(o.port, 7000);
	assert_true(o.verbose);
	chaos_opts_free(&o);

	assert_int_equal(parse(&o, "--rack", "1", "--outage", "500ms/5s", "--skew", "-200", NULL),
			 NW_CLI_RUN);
	assert_int_equal(o.faults.set, NW_FAULT_OUTAGE | NW_FAULT_SKEW);
	assert_int_equal(o.faults.outage_len_ns, 500000000ULL);
	assert_int_equal(o.faults.outage_period_ns, 5000000000ULL);
	assert_float_equal(o.faults.skew_ppm, -200.0, 1e-12);
	chaos_opts_free(&o);

	assert_int_equal(parse(&o, "--rack", "0", "--clear", NULL), NW_CLI_RUN);
	assert_true(o.clear);
	chaos_opts_free(&o);
	assert_int_equal(parse(&o, "--list", NULL), NW_CLI_RUN);
	assert_true(o.list);
	assert_false(o.have_rack);
	chaos_opts_free(&o);
	assert_int_equal(parse(&o, "--clear", NULL), NW_CLI_RUN);
	chaos_opts_free(&o);
}

static void test_help_version(void **state)
{
	struct chaos_opts o;

	(void)state;
	assert_int_equal(parse(&o, "--help", NULL), NW_CLI_DONE);
	assert_int_equal(parse(&o, "--version", NULL), NW_CLI_DONE);
}

static void test_bad_input(void **state)
{
	static const char *const cases[][6] = {
		{ "--rack", "65536", "--loss", "1" },
		{ "--rack", "-1", "--loss", "1" },
		{ "--rack", "0", "--loss", "101" },
		{ "--rack", "0", "--loss", "-5" },
		{ "--rack", "0", "--loss", "abc" },
		{ "--rack", "0", "--loss", "1e1" },
		{ "--rack", "0", "--loss", "nan" },
		{ "--rack", "0", "--loss", "" },
		{ "--rack", "0", "--delay", "200 ms" },
		{ "--rack", "0", "--delay", "2h" },
		{ "--rack", "0", "--delay", "3601s" },
		{ "--rack", "0", "--delay", "inf" },
		{ "--rack", "0", "--jitter", "-1ms" },
		{ "--rack", "0", "--duplicate", "0x10" },
		{ "--rack", "0", "--burst", "5" },                 /* burst without loss */
		{ "--rack", "0", "--loss", "80", "--burst", "2" }, /* needs burst >= 4 */
		{ "--rack", "0", "--loss", "5", "--burst", "0.5" },
		{ "--rack", "0", "--backend", "tc" },
		{ "--rack", "0", "--outage", "5s/5s" },
		{ "--rack", "0", "--outage", "0/5s" },
		{ "--rack", "0", "--outage", "500ms" },
		{ "--rack", "0", "--outage", "1s/2h" },
		{ "--rack", "0", "--skew", "100001" },
		{ "--rack", "0", "--skew", "--5" },
		{ "--rack", "0", "--skew", "20%" },
		{ "--rack", "0", "--clear", "--loss", "5" },
		{ "--rack", "0", "--clear", "--list" },
		{ "--rack", "0" },             /* nothing to do */
		{ "--loss", "5" },             /* no rack */
		{ "--server", "1", "--list" }, /* server without rack */
		{ "--rack", "0", "--server", "x", "--loss", "5" },
		{ "--rack", "0", "--port", "0", "--loss", "5" },
		{ "--rack", "0", "--pin-dir", "relative", "--loss", "5" },
		{ "--rack", "0", "--state-dir", "relative", "--loss", "5" },
		{ "--rack", "0", "--loss", "5", "extra" },
		{ "--rack", "0", "--loss" },
		{ "--rack", "0", "--bogus" },
		{ "--rack", "0", "--clear=yes" },
	};

	(void)state;
	assert_all_refused(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Everything a parse decides, compared field by field. */
static void assert_same_request(const struct chaos_opts *a, const struct chaos_opts *b)
{
	assert_int_equal(a->cmd, b->cmd);
	assert_int_equal(a->clear, b->clear);
	assert_int_equal(a->list, b->list);
	assert_int_equal(a->have_rack, b->have_rack);
	assert_int_equal(a->rack, b->rack);
	assert_int_equal(a->nservers, b->nservers);
	if (a->nservers)
		assert_memory_equal(a->servers, b->servers, a->nservers * sizeof(*a->servers));
	assert_memory_equal(&a->faults, &b->faults, sizeof(a->faults));
	assert_int_equal(a->backend, b->backend);
	assert_string_equal(a->topology, b->topology);
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->verbose, b->verbose);
}

static void test_verbs_and_their_flags(void **state)
{
	struct chaos_opts v, f;

	(void)state;
	assert_int_equal(parse(&v, "apply", "--rack", "0", "--server", "1-2", "--delay", "200ms",
			       "--loss", "20", NULL),
			 NW_CLI_RUN);
	assert_int_equal(parse(&f, "--rack", "0", "--server", "1-2", "--delay", "200ms", "--loss",
			       "20", NULL),
			 NW_CLI_RUN);
	assert_int_equal(v.cmd, CHAOS_APPLY);
	assert_same_request(&v, &f);
	assert_string_equal(chaos_cmd_name(v.cmd), "apply");
	chaos_opts_free(&v);
	chaos_opts_free(&f);

	assert_int_equal(parse(&v, "clear", "--rack", "3", NULL), NW_CLI_RUN);
	assert_int_equal(parse(&f, "--rack", "3", "--clear", NULL), NW_CLI_RUN);
	assert_int_equal(v.cmd, CHAOS_CLEAR);
	assert_true(v.clear);
	assert_same_request(&v, &f);
	chaos_opts_free(&v);
	chaos_opts_free(&f);

	assert_int_equal(parse(&v, "list", NULL), NW_CLI_RUN);
	assert_int_equal(parse(&f, "--list", NULL), NW_CLI_RUN);
	assert_int_equal(v.cmd, CHAOS_LIST);
	assert_true(v.list);
	assert_false(v.have_rack);
	assert_same_request(&v, &f);
	chaos_opts_free(&v);
	chaos_opts_free(&f);

	/* The environment's spelling is the flag's. */
	setenv("NETWATCH_CLEAR", "1", 1);
	assert_int_equal(parse(&f, NULL), NW_CLI_RUN);
	unsetenv("NETWATCH_CLEAR");
	assert_int_equal(parse(&v, "clear", NULL), NW_CLI_RUN);
	assert_int_equal(f.cmd, CHAOS_CLEAR);
	assert_same_request(&v, &f);
	chaos_opts_free(&v);
	chaos_opts_free(&f);

	/* A verb and the same flag agree; --help still answers after a verb. */
	assert_int_equal(parse(&v, "list", "--list", NULL), NW_CLI_RUN);
	chaos_opts_free(&v);
	assert_int_equal(parse(&v, "clear", "--help", NULL), NW_CLI_DONE);
}

static void test_verbs_refused(void **state)
{
	static const char *const cases[][6] = {
		{ "apply" }, /* apply needs a fault */
		{ "apply", "--rack", "0" },
		{ "apply", "--rack", "0", "--loss", "5", "--clear" },
		{ "apply", "--rack", "0", "--loss", "5", "--list" },
		{ "clear", "--rack", "0", "--loss", "5" }, /* clear takes no fault */
		{ "clear", "--list" },
		{ "list", "--clear" },
		{ "list", "--server", "1" },               /* server without rack */
		{ "--rack", "0", "--loss", "5", "apply" }, /* the verb comes first */
		{ "apply", "apply", "--rack", "0", "--loss", "5" },
		{ "remove", "--rack", "0" }, /* no such verb */
		{ "Clear" },
	};

	(void)state;
	assert_all_refused(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_env_fallback(void **state)
{
	struct chaos_opts o;

	(void)state;
	setenv("NETWATCH_RACK", "2", 1);
	setenv("NETWATCH_LOSS", "5", 1);
	setenv("NETWATCH_BACKEND", "netem", 1);
	setenv("NETWATCH_TOPOLOGY", "/x/t.json", 1);
	assert_int_equal(parse(&o, "--loss", "7", NULL), NW_CLI_RUN);
	assert_int_equal(o.rack, 2);
	assert_float_equal(o.faults.loss, 0.07, 1e-12); /* the flag wins */
	assert_int_equal(o.backend, NW_BACKEND_NETEM);
	assert_string_equal(o.topology, "/x/t.json");
	chaos_opts_free(&o);

	setenv("NETWATCH_CLEAR", "maybe", 1);
	assert_int_equal(parse(&o, NULL), NW_CLI_BAD);
	unsetenv("NETWATCH_CLEAR");
	setenv("NETWATCH_LOSS", "200", 1);
	assert_int_equal(parse(&o, NULL), NW_CLI_BAD);
}

static void test_values(void **state)
{
	uint64_t ns;
	double f, p_gb, p_bg;
	const char *why;

	(void)state;
	assert_int_equal(nw_chaos_parse_duration("200", &ns), 0);
	assert_int_equal(ns, 200000000ULL);
	assert_int_equal(nw_chaos_parse_duration("250us", &ns), 0);
	assert_int_equal(ns, 250000ULL);
	assert_int_equal(nw_chaos_parse_duration("0.5s", &ns), 0);
	assert_int_equal(ns, 500000000ULL);
	assert_int_equal(nw_chaos_parse_duration("0", &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(nw_chaos_parse_duration("ms", &ns), -1);
	assert_int_equal(nw_chaos_parse_percent("0.5%", &f), 0);
	assert_float_equal(f, 0.005, 1e-15);
	assert_int_equal(nw_chaos_parse_percent("100", &f), 0);
	assert_int_equal(nw_chaos_parse_percent("50%%", &f), -1);

	assert_int_equal(nw_chaos_prob(0.0), 0);
	assert_int_equal(nw_chaos_prob(1.0), NW_CHAOS_ALWAYS);
	assert_int_equal(nw_chaos_prob(0.5), 2147483648U);
	assert_int_equal(nw_chaos_prob(1e-12), 1); /* asked for, never silently none */
	assert_int_equal(nw_chaos_prob(0.9999999999), NW_CHAOS_ALWAYS - 1U);

	assert_int_equal(nw_chaos_gilbert(0.2, 5.0, &p_gb, &p_bg, &why), 0);
	assert_float_equal(p_bg, 0.2, 1e-12);
	assert_float_equal(p_gb, 0.05, 1e-12);
	assert_float_equal(p_gb / (p_gb + p_bg), 0.2, 1e-12);
	assert_int_equal(nw_chaos_gilbert(0.8, 4.0, &p_gb, &p_bg, &why), 0);
	assert_float_equal(p_gb, 1.0, 1e-12);
	assert_int_equal(nw_chaos_gilbert(0.8, 3.9, &p_gb, &p_bg, &why), -1);
}

static void test_bpf_params(void **state)
{
	struct nw_chaos_faults f = { .set = NW_FAULT_LOSS | NW_FAULT_DELAY, .loss = 0.2 };
	struct nw_chaos_params p;

	(void)state;
	nw_chaos_bpf_params(&f, 9999, &p);
	assert_int_equal(p.enabled, 1);
	assert_int_equal(p.loss_good, 858993459U);
	assert_int_equal(p.p_gb, 0);
	assert_int_equal(p.sample_port, 9999);
	f.burst = 5.0;
	nw_chaos_bpf_params(&f, 9999, &p);
	assert_int_equal(p.loss_good, 0);
	assert_int_equal(p.loss_bad, NW_CHAOS_ALWAYS);
	assert_int_equal(p.p_bg, 858993459U);
	assert_int_equal(p.p_gb, 214748365U);
	{
		struct nw_chaos_faults back;

		f.set |= NW_FAULT_DUPLICATE | NW_FAULT_CORRUPT;
		f.duplicate = 0.01;
		f.corrupt = 0.5;
		nw_chaos_bpf_params(&f, 9999, &p);
		nw_chaos_params_faults(&p, &back);
		assert_int_equal(back.set, NW_FAULTS_PACKET);
		assert_float_equal(back.loss, 0.2, 1e-6);
		assert_float_equal(back.burst, 5.0, 1e-6);
		assert_float_equal(back.duplicate, 0.01, 1e-6);
		assert_float_equal(back.corrupt, 0.5, 1e-6);
		f.set = NW_FAULT_LOSS;
		f.burst = 0;
		f.loss = 1.0;
		nw_chaos_bpf_params(&f, 9999, &p);
		nw_chaos_params_faults(&p, &back);
		assert_float_equal(back.loss, 1.0, 1e-9);
	}
	f.set = NW_FAULT_OUTAGE;
	f.outage_len_ns = 500000000ULL;
	f.outage_period_ns = 5000000000ULL;
	nw_chaos_bpf_params(&f, 9999, &p);
	assert_int_equal(p.enabled, 1);
	assert_int_equal(p.outage_len_ns, 500000000ULL);
	assert_int_equal(p.outage_period_ns, 5000000000ULL);
	assert_int_equal(p.loss_good, 0);
	f.set = NW_FAULT_DELAY | NW_FAULT_SKEW; /* nothing for the BPF program */
	nw_chaos_bpf_params(&f, 9999, &p);
	assert_int_equal(p.enabled, 0);
}

static void test_agent_messages(void **state)
{
	struct nw_chaos_faults f = { .set = NW_FAULT_DELAY | NW_FAULT_JITTER,
				     .delay_ns = 200000000ULL,
				     .jitter_ns = 25000000ULL };
	char spec[64], err[256];
	char *req;

	(void)state;
	assert_int_equal(nw_chaos_agent_spec(&f, f.set, spec, sizeof(spec)), 0);
	assert_string_equal(spec, "delay=200,jitter=25");
	f.set = NW_FAULT_JITTER;
	f.jitter_ns = 2500000ULL;
	assert_int_equal(nw_chaos_agent_spec(&f, f.set, spec, sizeof(spec)), 0);
	assert_string_equal(spec, "delay=0,jitter=2.5");
	f.set |= NW_FAULT_LOSS | NW_FAULT_DUPLICATE | NW_FAULT_CORRUPT;
	f.loss = 0.2;
	f.duplicate = 0.005;
	/* Only what is routed to the agent; corruption never is. */
	assert_int_equal(nw_chaos_agent_spec(&f, NW_FAULTS_AGENT, spec, sizeof(spec)), 0);
	assert_string_equal(spec, "delay=0,jitter=2.5,loss=20%,dup=0.5%");
	assert_int_equal(nw_chaos_agent_spec(&f, NW_FAULT_JITTER, spec, sizeof(spec)), 0);
	assert_string_equal(spec, "delay=0,jitter=2.5");
	assert_int_equal(nw_chaos_agent_spec(&f, NW_FAULT_JITTER, spec, 8), -1);
	f.set = NW_FAULT_SKEW;
	f.skew_ppm = -200;
	assert_int_equal(nw_chaos_agent_spec(&f, NW_FAULTS_AGENT, spec, sizeof(spec)), 0);
	assert_string_equal(spec, "delay=0,jitter=0,skew=-200");
	req = nw_chaos_agent_request("delay=200,jitter=25");
	assert_string_equal(req, "{\"impair\":\"delay=200,jitter=25\"}");
	free(req);
	assert_int_equal(nw_chaos_agent_answer("{\"ok\": true}", 12, err, sizeof(err)), 0);
	assert_int_equal(nw_chaos_agent_answer("{\"ok\":false,\"error\":\"bad\"}", 26, err,
					       sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "bad"));
	assert_int_equal(nw_chaos_agent_answer("{\"ok\":1}", 8, err, sizeof(err)), -1);
	assert_int_equal(nw_chaos_agent_answer("\xff", 1, err, sizeof(err)), -1);
}

static const char topo[] =
	"{\"version\":1,\"lab\":\"nwlab\",\"racks\":["
	"{\"rack_id\":0,\"netns\":\"nwlab-r0\",\"uplink\":\"up0\",\"servers\":["
	"{\"server_id\":0,\"netns\":\"nwlab-r0s0\",\"iface\":\"eth0\","
	"\"control\":\"/run/netwatch-lab/agent-r0s0.sock\",\"pid\":12},"
	"{\"server_id\":1,\"netns\":null,\"iface\":\"eth1\",\"control\":null}]},"
	"{\"rack_id\":1,\"netns\":\"nwlab-r1\",\"servers\":[{\"server_id\":0,\"iface\":\"eth0\"}]}]}";

static void test_topology(void **state)
{
	struct nw_chaos_topology t;
	char err[256];

	(void)state;
	assert_int_equal(nw_chaos_topology_parse(topo, strlen(topo), &t, err, sizeof(err)), 0);
	assert_int_equal(t.count, 3);
	assert_string_equal(t.targets[0].netns, "nwlab-r0s0");
	assert_string_equal(t.targets[0].iface, "eth0");
	assert_string_equal(t.targets[0].control, "/run/netwatch-lab/agent-r0s0.sock");
	assert_string_equal(t.targets[1].netns, ""); /* null: the host's namespace */
	assert_string_equal(t.targets[1].control, "");
	assert_int_equal(t.targets[2].rack_id, 1);
	assert_string_equal(t.targets[2].netns, "nwlab-r1"); /* absent: the rack's */
	nw_chaos_topology_free(&t);
}

static void test_topology_hostile(void **state)
{
	static const char *const bad_docs[] = {
		"",
		"[]",
		"{\"racks\":{}}",
		"{\"racks\":[{\"rack_id\":0}]}",
		"{\"racks\":[{\"rack_id\":70000,\"servers\":[]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"iface\":\"eth0\"}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0,\"iface\":\"../x\"}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0,\"iface\":\"averyveryverylongname\"}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0,\"iface\":\"e\",\"netns\":\"..\"}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0,\"iface\":\"e\",\"netns\":\"a/b\"}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0,\"iface\":\"e\",\"control\":\"rel\"}]}]}",
		"{\"racks\":[{\"rack_id\":0,\"servers\":[{\"server_id\":0,\"iface\":\"e\"},"
		"{\"server_id\":0,\"iface\":\"f\"}]}]}",
		"{\"racks\":[],\"racks\":[]}",
		"{\"version\":2,\"racks\":[]}",
		"{\"version\":\"1\",\"racks\":[]}",
	};
	struct nw_chaos_topology t;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		err[0] = '\0';
		if (nw_chaos_topology_parse(bad_docs[i], strlen(bad_docs[i]), &t, err,
					    sizeof(err)) != -1)
			fail_msg("document %zu accepted", i);
		assert_true(err[0] != '\0');
		assert_null(t.targets);
	}
	assert_int_equal(nw_chaos_topology_load("/nonexistent/topology.json", &t, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/topology.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_seed_interface, clear_env),
		cmocka_unit_test_setup(test_help_version, clear_env),
		cmocka_unit_test_setup(test_bad_input, clear_env),
		cmocka_unit_test_setup(test_env_fallback, clear_env),
		cmocka_unit_test_setup(test_verbs_and_their_flags, clear_env),
		cmocka_unit_test_setup(test_verbs_refused, clear_env),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bpf_params),
		cmocka_unit_test(test_agent_messages),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_topology_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
