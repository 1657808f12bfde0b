/* SPDX-License-Identifier: MIT */
/* netwatch-chaos's fabric targets: --uplink and --path on the command line,
 * racks[].subnet and racks[].fabric_uplink in the topology file, and the
 * filters (where, which handle, which prefixes) a link or a path becomes. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaos.h"

#include "chaos_cli_rig.h"

static void test_options(void **state)
{
	struct chaos_opts o;

	(void)state;
	assert_int_equal(parse(&o, "apply", "--rack", "2", "--uplink", "--loss", "30", NULL),
			 NW_CLI_RUN);
	assert_true(o.uplink);
	assert_false(o.have_path);
	assert_int_equal(o.rack, 2);
	assert_int_equal(o.faults.set, NW_FAULT_LOSS);
	chaos_opts_free(&o);

	assert_int_equal(parse(&o, "apply", "--path", "1,2", "--outage", "1s/5s", NULL),
			 NW_CLI_RUN);
	assert_true(o.have_path);
	assert_false(o.have_rack);
	assert_int_equal(o.path[0], 1);
	assert_int_equal(o.path[1], 2);
	chaos_opts_free(&o);

	assert_int_equal(parse(&o, "clear", "--path", "7,0", NULL), NW_CLI_RUN);
	assert_int_equal(o.cmd, CHAOS_CLEAR);
	assert_int_equal(o.path[0], 7);
	chaos_opts_free(&o);
	assert_int_equal(parse(&o, "list", "--rack", "0", "--uplink", "--backend", "bpf", NULL),
			 NW_CLI_RUN);
	chaos_opts_free(&o);

	setenv("NETWATCH_PATH", "3,4", 1);
	setenv("NETWATCH_LOSS", "5", 1);
	assert_int_equal(parse(&o, NULL), NW_CLI_RUN);
	assert_int_equal(o.path[1], 4);
	chaos_opts_free(&o);
}

static void test_options_refused(void **state)
{
	static const char *const cases[][8] = {
		{ "apply", "--uplink", "--loss", "30" }, /* whose uplink */
		{ "apply", "--rack", "1", "--server", "0", "--uplink", "--loss", "3" },
		{ "apply", "--rack", "1", "--uplink", "--delay", "10ms" }, /* not bpf */
		{ "apply", "--rack", "1", "--uplink", "--skew", "100" },
		{ "apply", "--rack", "1", "--uplink", "--loss", "3", "--backend", "netem" },
		{ "apply", "--path", "1,2", "--backend", "agent", "--loss", "3" },
		{ "apply", "--path", "1,2", "--rack", "1", "--loss", "3" },
		{ "apply", "--path", "1,1", "--loss", "3" }, /* one rack is no path */
		{ "apply", "--path", "1", "--loss", "3" },
		{ "apply", "--path", "1,", "--loss", "3" },
		{ "apply", "--path", ",2", "--loss", "3" },
		{ "apply", "--path", "1,2,3", "--loss", "3" },
		{ "apply", "--path", "1,65536", "--loss", "3" },
		{ "apply", "--path", "-1,2", "--loss", "3" },
		{ "apply", "--path", "123456789,2", "--loss", "3" },
		{ "apply", "--path", "1,2" }, /* no fault */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { (char *)"netwatch-chaos" };
		struct chaos_opts o;
		int argc = 1;

		for (int j = 0; j < 8 && cases[i][j]; j++)
			argv[argc++] = (char *)cases[i][j];
		argv[argc] = NULL;
		if (chaos_opts_parse(argc, argv, &o) != NW_CLI_BAD)
			fail_msg("case %zu (%s %s %s ...) accepted", i, cases[i][0], cases[i][1],
				 cases[i][2]);
	}
}

static const char fabric_doc[] =
	"{\"version\": 1, \"racks\": ["
	" {\"rack_id\": 1, \"netns\": \"x-r1\", \"uplink\": \"up0\", \"subnet\": \"198.19.2.0/24\","
	"  \"fabric_uplink\": {\"rack_end\": {\"netns\": \"x-t1\", \"iface\": \"core\"},"
	"                      \"fabric_end\": {\"netns\": \"x-core\", \"iface\": \"r1\"}},"
	"  \"servers\": [{\"server_id\": 0, \"netns\": \"x-r1s0\", \"iface\": \"eth0\"}]},"
	" {\"rack_id\": 2, \"subnet\": \"10.2.0.0/16\","
	"  \"fabric_uplink\": {\"rack_end\": {\"netns\": null, \"iface\": \"tor2\"},"
	"                      \"fabric_end\": {\"netns\": \"x-core\", \"iface\": \"r2\"}},"
	"  \"servers\": []},"
	" {\"rack_id\": 3, \"servers\": []}"
	"]}";

static void load(struct nw_chaos_topology *t)
{
	char err[256];

	assert_int_equal(nw_chaos_topology_parse(fabric_doc, strlen(fabric_doc), t, err,
						 sizeof(err)),
			 0);
}

static void test_topology_fabric(void **state)
{
	struct nw_chaos_topology t;

	(void)state;
	load(&t);
	assert_int_equal(t.count, 1); /* servers as before */
	assert_int_equal(t.nracks, 3);
	assert_int_equal(t.racks[0].net, inet_addr("198.19.2.0"));
	assert_int_equal(t.racks[0].mask, inet_addr("255.255.255.0"));
	assert_string_equal(t.racks[0].rack_end.netns, "x-t1");
	assert_string_equal(t.racks[0].fabric_end.iface, "r1");
	assert_int_equal(t.racks[1].mask, inet_addr("255.255.0.0"));
	assert_string_equal(t.racks[1].rack_end.netns, "");
	assert_int_equal(t.racks[2].mask, 0);
	assert_string_equal(t.racks[2].fabric_end.iface, "");
	nw_chaos_topology_free(&t);
}

static void test_topology_fabric_hostile(void **state)
{
	static const char *const bad[] = {
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"10.0.0.1/24\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"10.0.0.0/33\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"10.0.0.0/0\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"10.0.0.0\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"10.0.0.0/\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"10.0.0.0/+8\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": \"fd00::/64\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"subnet\": 10, \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"fabric_uplink\": {}, \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"fabric_uplink\": {\"rack_end\": {\"iface\": \"a\"}},"
		" \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"fabric_uplink\": {\"rack_end\": {\"iface\": \"a\"},"
		" \"fabric_end\": {\"iface\": \"../x\"}}, \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"fabric_uplink\": {\"rack_end\": {\"iface\": \"a\"},"
		" \"fabric_end\": {\"netns\": \"n\"}}, \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"fabric_uplink\": \"r0\", \"servers\": []}]}",
		"{\"racks\": [{\"rack_id\": 0, \"servers\": []}, {\"rack_id\": 0, \"servers\": []}]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nw_chaos_topology t;
		char err[256] = "";

		if (nw_chaos_topology_parse(bad[i], strlen(bad[i]), &t, err, sizeof(err)) == 0)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		assert_true(err[0]);
	}
}

static void test_uplink_targets(void **state)
{
	struct nw_chaos_topology t;
	struct nw_chaos_target *f;
	struct chaos_opts o = { .uplink = 1, .have_rack = 1, .rack = 2, .topology = "t.json" };
	char err[256], label[160];
	size_t n;

	(void)state;
	load(&t);
	assert_int_equal(chaos_fabric_targets(&o, &t, &f, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].kind, NW_TARGET_UPLINK);
	assert_string_equal(f[0].netns, "");
	assert_string_equal(f[0].iface, "tor2");
	assert_string_equal(f[1].netns, "x-core");
	assert_string_equal(f[1].iface, "r2");
	assert_int_equal(f[0].tc_handle, 0); /* the tool's usual filter */
	chaos_target_label(&f[1], label, sizeof(label));
	assert_string_equal(label, "rack 2 uplink, fabric end (x-core/r2)");
	free(f);

	o.rack = 3; /* no fabric_uplink */
	assert_int_equal(chaos_fabric_targets(&o, &t, &f, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no fabric_uplink"));
	o.rack = 9;
	assert_int_equal(chaos_fabric_targets(&o, &t, &f, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no rack 9"));
	nw_chaos_topology_free(&t);
}

static void test_path_targets(void **state)
{
	struct nw_chaos_topology t;
	struct nw_chaos_target *f;
	struct chaos_opts o = { .have_path = 1, .path = { 1, 2 }, .topology = "t.json" };
	char err[256], label[160], pin[256];
	size_t n;

	(void)state;
	load(&t);
	assert_int_equal(chaos_fabric_targets(&o, &t, &f, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	/* 1 -> 2: on the fabric's port toward rack 2, packets from rack 1's subnet. */
	assert_int_equal(f[0].kind, NW_TARGET_PATH);
	assert_string_equal(f[0].iface, "r2");
	assert_int_equal(f[0].src_net, inet_addr("198.19.2.0"));
	assert_int_equal(f[0].dst_net, inet_addr("10.2.0.0"));
	assert_int_equal(f[0].dst_mask, inet_addr("255.255.0.0"));
	assert_int_equal(f[0].tc_handle, NW_CHAOS_PATH_HANDLE_BASE | 1);
	assert_int_equal(f[0].tc_prio, NW_CHAOS_PATH_PRIO);
	assert_true(NW_CHAOS_PATH_PRIO < NW_CHAOS_TC_PRIO); /* before a link's filter */
	/* 2 -> 1, on rack 1's port. */
	assert_string_equal(f[1].iface, "r1");
	assert_int_equal(f[1].src_net, inet_addr("10.2.0.0"));
	assert_int_equal(f[1].tc_handle, NW_CHAOS_PATH_HANDLE_BASE | 2);
	chaos_target_label(&f[0], label, sizeof(label));
	assert_string_equal(label, "path rack 1 -> rack 2 (x-core/r2)");
	/* Its own pins, next to the link's on the same port. */
	assert_int_equal(chaos_bpf_pin_dir("/p", &f[0], pin, sizeof(pin)), 0);
	assert_string_equal(pin, "/p/x-core-r2-from-1");
	assert_int_equal(chaos_bpf_pin_dir("/p", &f[1], pin, sizeof(pin)), 0);
	assert_string_equal(pin, "/p/x-core-r1-from-2");
	free(f);

	o.path[1] = 3; /* neither subnet nor uplink */
	assert_int_equal(chaos_fabric_targets(&o, &t, &f, &n, err, sizeof(err)), -1);
	nw_chaos_topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_options, clear_env),
		cmocka_unit_test_setup(test_options_refused, clear_env),
		cmocka_unit_test(test_topology_fabric),
		cmocka_unit_test(test_topology_fabric_hostile),
		cmocka_unit_test(test_uplink_targets),
		cmocka_unit_test(test_path_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
