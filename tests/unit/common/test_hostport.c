/* SPDX-License-Identifier: MIT */
/*
 * user/common/hostport.c, the one HOST[:PORT] syntax: the split every
 * program's address option goes through (rack --dc, the agent's
 * --controller), the numeric ADDR:PORT of --listen/--metrics and the
 * address literal of the rack's socket hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "hostport.h"

static void split_ok(const char *s, const char *host, const char *port, int bracketed)
{
	struct nw_hostport_parts p;
	char h[NW_HOSTPORT_HOST_MAX];

	if (nw_hostport_split(s, &p) != NW_HOSTPORT_OK)
		fail_msg("split refused %s", s);
	assert_int_equal(nw_hostport_copy_host(&p, h, sizeof(h)), 0);
	assert_string_equal(h, host);
	if (port)
		assert_string_equal(p.port, port);
	else
		assert_null(p.port);
	assert_int_equal(p.bracketed, bracketed);
}

static void test_split(void **state)
{
	struct nw_hostport_parts p;
	char h[NW_HOSTPORT_HOST_MAX], longer[NW_HOSTPORT_HOST_MAX + 8];

	(void)state;
	split_ok("1.2.3.4:9999", "1.2.3.4", "9999", 0);
	split_ok("1.2.3.4", "1.2.3.4", NULL, 0);
	split_ok("[::1]:8000", "::1", "8000", 1);
	split_ok("[::1]", "::1", NULL, 1);
	split_ok("[fe80::1%lo]", "fe80::1%lo", NULL, 1);
	/* Two colons and more without brackets: a bare IPv6 address, the last
	 * group never a port. */
	split_ok("2001:db8::9999", "2001:db8::9999", NULL, 0);
	split_ok("rack1.dc:5000", "rack1.dc", "5000", 0);
	split_ok("dc", "dc", NULL, 0);
	split_ok("dc:", "dc", "", 0); /* the caller's port check refuses "" */

	assert_int_equal(nw_hostport_split("[::1", &p), NW_HOSTPORT_UNCLOSED);
	assert_int_equal(nw_hostport_split("[::1]x", &p), NW_HOSTPORT_TRAILING);
	assert_int_equal(p.bracketed, 1); /* the host is known even so */
	assert_int_equal(p.host_len, 3);
	assert_int_equal(nw_hostport_split("[]:1", &p), NW_HOSTPORT_OK);
	assert_int_equal(nw_hostport_copy_host(&p, h, sizeof(h)), -1);
	assert_int_equal(nw_hostport_split(":9", &p), NW_HOSTPORT_OK);
	assert_int_equal(nw_hostport_copy_host(&p, h, sizeof(h)), -1);
	assert_int_equal(nw_hostport_split("", &p), NW_HOSTPORT_OK);
	assert_int_equal(nw_hostport_copy_host(&p, h, sizeof(h)), -1);

	/* Over-long: 256 bytes of host do not fit 255 and the terminator. */
	memset(longer, 'a', NW_HOSTPORT_HOST_MAX);
	strcpy(longer + NW_HOSTPORT_HOST_MAX, ":80");
	assert_int_equal(nw_hostport_split(longer, &p), NW_HOSTPORT_OK);
	assert_int_equal(nw_hostport_copy_host(&p, h, sizeof(h)), -2);
	longer[NW_HOSTPORT_HOST_MAX - 1] = ':';
	longer[NW_HOSTPORT_HOST_MAX] = '8';
	longer[NW_HOSTPORT_HOST_MAX + 1] = '\0';
	assert_int_equal(nw_hostport_split(longer, &p), NW_HOSTPORT_OK);
	assert_int_equal(nw_hostport_copy_host(&p, h, sizeof(h)), 0);
	assert_int_equal(strlen(h), NW_HOSTPORT_HOST_MAX - 1);
}

static void test_port(void **state)
{
	static const char *const bad[] = { "",   "0",    "65536",
					   "+1", "-1",   " 1",
					   "1x", "0x10", "99999999999999999999" };
	uint16_t port = 7;

	(void)state;
	assert_int_equal(nw_port_parse("1", &port), 0);
	assert_int_equal(port, 1);
	assert_int_equal(nw_port_parse("65535", &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(nw_port_parse("0080", &port), 0);
	assert_int_equal(port, 80);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 7;
		if (nw_port_parse(bad[i], &port) == 0)
			fail_msg("accepted port '%s'", bad[i]);
		assert_int_equal(port, 7);
	}
}

static void test_numeric(void **state)
{
	static const char *const bad[] = {
		"",
		"1.2.3.4",
		"1.2.3.4:",
		"1.2.3.4:0",
		"1.2.3.4:65536",
		"1.2.3.4:+80",
		"::1:80",
		"[::1]",
		"[::1]:",
		"[::1]x",
		"[::1",
		"[1.2.3.4]:80",
		"[]:80",
		":80",
		"localhost:80",
		"1.2.3:80",
		"[fe80::1%lo]:80",
	};
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(nw_hostport_parse("127.0.0.1:8000", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8000);
	assert_int_equal(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(nw_hostport_parse("[::1]:9990", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9990);
	assert_true(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr));
	assert_int_equal(nw_hostport_parse(NULL, &ss, &len), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nw_hostport_parse(bad[i], &ss, &len) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_addr(void **state)
{
	static const char *const bad[] = {
		"",     "[]",         "x",         "::1:",
		"[::1", "1.2.3.4:80", "localhost", "[0000:0000:0000:0000:0000:0000:0000:0000:0000]"
	};
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(nw_addr_parse("::", 9999, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9999);
	assert_int_equal(nw_addr_parse("0.0.0.0", 1, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(nw_addr_parse("[::1]", 1, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(nw_addr_parse("[10.0.0.1]", 1, &ss, &len),
			 0); /* as --listen always took it */
	assert_int_equal(ss.ss_family, AF_INET);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (nw_addr_parse(bad[i], 1, &ss, &len) == 0)
			fail_msg("accepted '%s'", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_numeric),
		cmocka_unit_test(test_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
