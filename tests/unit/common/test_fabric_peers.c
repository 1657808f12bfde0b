// SPDX-License-Identifier: MIT
/* The fabric peers file (user/common/fabric_peers.h): what is accepted and
 * every refusal with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fabric_peers.h"

static int parse(const char *json, struct nw_fabric_peers *p, char *err)
{
	return nw_fabric_peers_parse(json, strlen(json), p, err, 200);
}

static void test_valid(void **state)
{
	struct nw_fabric_peers p;
	char err[200];

	(void)state;
	assert_int_equal(parse("{\"self\": 1, \"epoch\": 65537, \"racks\": ["
			       "{\"rack_id\": 2, \"addr\": \"198.18.3.1\"},"
			       "{\"rack_id\": 0, \"addr\": \"fabric-r0\"}]}",
			       &p, err),
			 0);
	assert_int_equal(p.self, 1);
	assert_int_equal(p.epoch, 1); /* mod 65536, as on the wire */
	assert_int_equal(p.n, 2);
	assert_int_equal(p.peer[0].rack_id, 2);
	assert_string_equal(p.peer[0].addr, "198.18.3.1");
	assert_int_equal(p.peer[1].rack_id, 0);
	assert_string_equal(p.peer[1].addr, "fabric-r0");
	nw_fabric_peers_free(&p);
	/* No peers (a one-rack DC) is valid; epoch is optional. */
	assert_int_equal(parse("{\"self\": 0, \"racks\": []}", &p, err), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.epoch, 0);
	nw_fabric_peers_free(&p);
}

static void test_refused(void **state)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "[]", "must be a JSON object" },
		{ "{\"self\": 1}", "racks must be an array" },
		{ "{\"racks\": []}", "self must be" },
		{ "{\"self\": 65536, \"racks\": []}", "self must be" },
		{ "{\"self\": 1, \"racks\": [], \"x\": 1}", "unknown key" },
		{ "{\"self\": 1, \"epoch\": -1, \"racks\": []}", "epoch must be" },
		{ "{\"self\": 1, \"racks\": [3]}", "must be an object" },
		{ "{\"self\": 1, \"racks\": [{\"rack_id\": 1, \"addr\": \"a\"}]}", "its own peer" },
		{ "{\"self\": 1, \"racks\": [{\"rack_id\": 2, \"addr\": \"a\"},"
		  "{\"rack_id\": 2, \"addr\": \"b\"}]}",
		  "listed twice" },
		{ "{\"self\": 1, \"racks\": [{\"rack_id\": 2}]}", "addr must be" },
		{ "{\"self\": 1, \"racks\": [{\"rack_id\": 2, \"addr\": \"\"}]}", "addr must be" },
		{ "{\"self\": 1, \"racks\": [{\"rack_id\": 70000, \"addr\": \"a\"}]}",
		  "rack_id must" },
		{ "{\"self\": 1, \"racks\": [{\"rack_id\": 2, \"addr\": \"a\", \"port\": 1}]}",
		  "unknown key" },
		{ "{\"self\": 1, \"self\": 2, \"racks\": []}", "not JSON" },
		{ "{\"self\": 1, \"racks\": [", "not JSON" },
	};
	struct nw_fabric_peers p;
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(bad[i].json, &p, err), -1);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err, bad[i].why);
		assert_null(p.peer); /* nothing to free after a refusal */
	}
}

static void test_load(void **state)
{
	char path[] = "/tmp/nw-fabric-peers-XXXXXX", err[200];
	struct nw_fabric_peers p;
	const char *json = "{\"self\": 3, \"racks\": [{\"rack_id\": 4, \"addr\": \"::1\"}]}";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
	close(fd);
	assert_int_equal(nw_fabric_peers_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.peer[0].addr, "::1");
	nw_fabric_peers_free(&p);
	unlink(path);
	assert_int_equal(nw_fabric_peers_load(path, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
