/* SPDX-License-Identifier: MIT */
/*
 * The rack's reporter (report_client.h) against TCP listeners on 127.0.0.1:
 * the --dc address forms, the backoff's bounds and spread, newest-only
 * replacement (a partly written frame completes first, never cut), peer
 * close and reconnection, and a name resolved without blocking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "report_client.h"

static const struct nw_log quiet = { .min_level = NW_LOG_ERROR + 1, .out = NULL };

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A listening socket on 127.0.0.1, an ephemeral port unless `port` is set. */
static int listener(uint16_t *port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nobody listens on: bound, then closed. */
static uint16_t dead_port(void)
{
	uint16_t port = 0;

	close(listener(&port, 0));
	return port;
}

static void cfg_fast(struct nw_report_client_cfg *cfg)
{
	nw_report_client_default_cfg(cfg);
	cfg->backoff_base_s = 0.02;
	cfg->backoff_cap_s = 0.1;
	cfg->connect_timeout_s = 2;
	cfg->seed = 42;
}

static void open_client(struct nw_report_client *c, const char *host, uint16_t port)
{
	struct nw_report_client_cfg cfg;
	char dc[300];

	cfg_fast(&cfg);
	snprintf(dc, sizeof(dc), "%s:%u", host, port);
	assert_int_equal(nw_report_client_init(c, &quiet, &cfg, dc, NULL), 0);
}

/* Drives the client the way the daemon does (wait on its fd, bounded by its
 * timeout, then run) until `done` holds; fails after 5 s. */
static void pump_until(struct nw_report_client *c, int (*done)(struct nw_report_client *, void *),
		       void *arg)
{
	double end = mono_s() + 5;

	while (!done(c, arg)) {
		struct pollfd p = { .fd = nw_report_client_fd(c), .events = POLLIN };
		int t = nw_report_client_timeout_ms(c);

		assert_true(mono_s() < end);
		poll(&p, 1, t < 0 || t > 20 ? 20 : t);
		nw_report_client_run(c);
	}
}

static int is_connected(struct nw_report_client *c, void *arg)
{
	(void)arg;
	return c->state == NW_DC_CONNECTED;
}

static int accept_nb(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 5000), 1);
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* ---------------------------------------------------------------- parse */

static void test_dc_parse(void **state)
{
	static const struct {
		const char *in;
		const char *host;
		uint16_t port;
	} good[] = {
		{ "127.0.0.1", "127.0.0.1", 9990 },
		{ "10.0.0.1:1234", "10.0.0.1", 1234 },
		{ "[::1]", "::1", 9990 },
		{ "[::1]:7", "::1", 7 },
		{ "::1", "::1", 9990 },
		{ "fd00::2", "fd00::2", 9990 },
		{ "dc", "dc", 9990 },
		{ "dc.prod.svc:65535", "dc.prod.svc", 65535 },
	};
	static const char *const bad[] = {
		"",   ":9",     "dc:",       "dc:0",   "dc:65536", "dc:+1",  "dc:1x", "[::1",
		"[]", "[::1]x", "[1.2.3.4]", "[dc]:9", "a:b:",     "[::1]:", "dc:-1",
	};
	char host[NW_DC_HOST_MAX];
	const char *why;
	uint16_t port;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(nw_report_dc_parse(good[i].in, host, &port, &why), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (nw_report_dc_parse(bad[i], host, &port, &why) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(why);
	}
}

/* --------------------------------------------------------------- backoff */

static void test_backoff_bounds_and_spread(void **state)
{
	const double base = 0.5, cap = 30;
	uint64_t rng = 7;

	(void)state;
	for (unsigned attempt = 0; attempt < 80; attempt++) {
		double hi = fmin(cap, base * pow(2, fmin(attempt, 60))), lo = 1e9, top = 0;

		for (int i = 0; i < 2000; i++) {
			double d = nw_report_backoff_s(&rng, attempt, base, cap);

			assert_true(d >= base / 10 && d <= hi);
			lo = fmin(lo, d);
			top = fmax(top, d);
		}
		/* Full jitter: the draws fill the range, not a corner of it. */
		assert_true(lo < base / 10 + 0.1 * (hi - base / 10));
		assert_true(top > base / 10 + 0.9 * (hi - base / 10));
	}
	/* A cap below the base still bounds. */
	for (int i = 0; i < 100; i++)
		assert_true(nw_report_backoff_s(&rng, 3, 10, 2) <= 2);
}

static int has_retry(struct nw_report_client *c, void *arg)
{
	return c->attempt >= *(unsigned *)arg;
}

static int sent_at_least(struct nw_report_client *c, void *arg)
{
	return c->st.sent >= *(uint64_t *)arg;
}

/* Refused attempts grow the backoff; a delivered report resets it. */
static void test_backoff_grows_then_resets(void **state)
{
	struct nw_report_client c;
	uint16_t port = dead_port();
	unsigned want = 4;
	uint64_t one = 1;
	int lfd, peer;

	(void)state;
	open_client(&c, "127.0.0.1", port);
	pump_until(&c, has_retry, &want);
	assert_int_equal(c.state, NW_DC_DISCONNECTED);
	assert_int_equal(c.st.connects, 0);
	/* Each wait is at most the cap (0.1 s) after the first attempts. */
	assert_true(nw_report_client_timeout_ms(&c) <= 100);

	lfd = listener(&port, 0);
	nw_report_client_submit_frame(&c, "NWRx", 4);
	pump_until(&c, sent_at_least, &one);
	assert_int_equal(c.attempt, 0);
	assert_int_equal(c.st.connects, 1);
	peer = accept_nb(lfd);
	assert_true(peer >= 0);
	close(peer);
	close(lfd);
	nw_report_client_close(&c);
}

/* -------------------------------------------------------- newest only */

static void test_replaced_while_not_connected(void **state)
{
	struct nw_report_client c;

	(void)state;
	open_client(&c, "127.0.0.1", dead_port());
	nw_report_client_submit_frame(&c, "AAAA", 4);
	nw_report_client_submit_frame(&c, "BBBB", 4);
	nw_report_client_submit_frame(&c, "CCCC", 4);
	assert_int_equal(c.st.failed[NW_DC_FAIL_NOT_CONNECTED], 2);
	assert_int_equal(c.st.failed[NW_DC_FAIL_REPLACED], 0);
	assert_int_equal(c.cur.len, 4);
	assert_memory_equal(c.cur.p, "CCCC", 4);
	assert_int_equal(c.next.len, 0);
	nw_report_client_close(&c);
}

struct drain {
	int fd;
	char *got;
	size_t len, cap;
};

static int drained(struct nw_report_client *c, void *arg)
{
	struct drain *d = arg;

	(void)c;
	for (;;) {
		ssize_t n = recv(d->fd, d->got + d->len, d->cap - d->len, 0);

		if (n <= 0)
			break;
		d->len += (size_t)n;
	}
	return d->len == d->cap;
}

/* Frame A cannot fit the socket buffers: while it is partly written, B
 * waits behind it and C replaces B. The peer then reads exactly A then C. */
static void test_partial_frame_completes_then_newest(void **state)
{
	const size_t big = 4U << 20;
	struct nw_report_client c;
	struct drain d = { 0 };
	uint16_t port = 0;
	char *a = malloc(big);
	int lfd = listener(&port, 4096), small = 4096;

	(void)state;
	assert_non_null(a);
	for (size_t i = 0; i < big; i++)
		a[i] = (char)('a' + i % 26);
	open_client(&c, "127.0.0.1", port);
	pump_until(&c, is_connected, NULL);
	d.fd = accept_nb(lfd);
	assert_true(d.fd >= 0);
	setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));

	nw_report_client_submit_frame(&c, a, big);
	assert_true(c.cur_off > 0 && c.cur_off < big); /* partly on the wire */
	nw_report_client_submit_frame(&c, "BBBB", 4);
	nw_report_client_submit_frame(&c, "CCCCCC", 6);
	assert_int_equal(c.st.failed[NW_DC_FAIL_REPLACED], 1);
	assert_int_equal(c.st.sent, 0);

	d.cap = big + 6;
	d.got = malloc(d.cap);
	assert_non_null(d.got);
	pump_until(&c, drained, &d);
	assert_memory_equal(d.got, a, big);
	assert_memory_equal(d.got + big, "CCCCCC", 6);
	assert_int_equal(c.st.sent, 2);
	assert_int_equal(c.st.failed[NW_DC_FAIL_SEND_ERROR], 0);
	/* Nothing left to write: no EPOLLOUT interest. */
	assert_false(c.fd_events & EPOLLOUT);

	free(d.got);
	free(a);
	close(d.fd);
	close(lfd);
	nw_report_client_close(&c);
}

/* ------------------------------------------------------- peer close */

static int disconnected(struct nw_report_client *c, void *arg)
{
	(void)arg;
	return c->state != NW_DC_CONNECTED;
}

static int connects_at_least(struct nw_report_client *c, void *arg)
{
	return c->state == NW_DC_CONNECTED && c->st.connects >= *(uint64_t *)arg;
}

static void test_peer_close_reconnects_after_backoff(void **state)
{
	struct nw_report_client c;
	uint16_t port = 0;
	uint64_t two = 2, one = 1;
	int lfd = listener(&port, 0), peer;
	int t;

	(void)state;
	open_client(&c, "127.0.0.1", port);
	nw_report_client_submit_frame(&c, "NWR1", 4);
	pump_until(&c, sent_at_least, &one);
	peer = accept_nb(lfd);
	assert_true(peer >= 0);
	close(peer); /* the DC goes away */
	pump_until(&c, disconnected, NULL);
	assert_int_equal(c.state, NW_DC_DISCONNECTED);
	t = nw_report_client_timeout_ms(&c);
	assert_true(t >= 0 && t <= 100); /* within the cap */
	pump_until(&c, connects_at_least, &two);
	peer = accept_nb(lfd);
	assert_true(peer >= 0);
	nw_report_client_submit_frame(&c, "NWR2", 4);
	{
		struct drain d = { .fd = peer, .cap = 4 };
		char buf[4];

		d.got = buf;
		pump_until(&c, drained, &d);
		assert_memory_equal(buf, "NWR2", 4);
	}
	close(peer);
	close(lfd);
	nw_report_client_close(&c);
}

/* The DC never sends. One that streams bytes back (an impostor) loses the
 * connection instead of keeping the rack's loop busy reading them, and each
 * such connection lengthens the backoff even though it took a report. */
static void test_dc_that_sends_is_dropped(void **state)
{
	struct nw_report_client c;
	uint16_t port = 0;
	uint64_t one = 1, two = 2;
	int lfd = listener(&port, 0), peer;
	char noise[4096], tail[16];
	unsigned first;

	(void)state;
	memset(noise, 'x', sizeof(noise));
	open_client(&c, "127.0.0.1", port);
	nw_report_client_submit_frame(&c, "NWR1", 4);
	pump_until(&c, sent_at_least, &one);
	peer = accept_nb(lfd);
	assert_true(peer >= 0);
	assert_true(send(peer, noise, sizeof(noise), MSG_NOSIGNAL) > 0);
	pump_until(&c, disconnected, NULL);
	assert_int_equal(c.st.protocol_errors, 1);
	first = c.attempt;
	assert_true(first >= 1);
	/* The rack closed its end: after the report, EOF. */
	{
		struct pollfd p = { .fd = peer, .events = POLLIN };
		ssize_t n;

		assert_int_equal(read(peer, tail, 4), 4);
		assert_int_equal(poll(&p, 1, 5000), 1);
		n = recv(peer, tail, sizeof(tail), MSG_DONTWAIT);
		assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	}
	close(peer);
	/* Again, after a delivered report: the backoff does not start over. */
	nw_report_client_submit_frame(&c, "NWR2", 4);
	pump_until(&c, connects_at_least, &two);
	peer = accept_nb(lfd);
	assert_true(peer >= 0);
	pump_until(&c, sent_at_least, &two);
	assert_true(send(peer, noise, 1, MSG_NOSIGNAL) == 1);
	pump_until(&c, disconnected, NULL);
	assert_int_equal(c.st.protocol_errors, 2);
	assert_true(c.attempt > first);
	close(peer);
	close(lfd);
	nw_report_client_close(&c);
}

/* A partly written frame is lost with its connection and counted. */
static void test_break_inside_frame_is_send_error(void **state)
{
	const size_t big = 4U << 20;
	struct nw_report_client c;
	uint16_t port = 0;
	char *a = calloc(1, big);
	int lfd = listener(&port, 4096), small = 4096, peer;

	(void)state;
	assert_non_null(a);
	open_client(&c, "127.0.0.1", port);
	pump_until(&c, is_connected, NULL);
	peer = accept_nb(lfd);
	setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	nw_report_client_submit_frame(&c, a, big);
	assert_true(c.cur_off > 0);
	nw_report_client_submit_frame(&c, "NEXT", 4);
	close(peer);
	pump_until(&c, disconnected, NULL);
	assert_int_equal(c.st.failed[NW_DC_FAIL_SEND_ERROR], 1);
	/* The next frame is kept for the next connection, from its start. */
	assert_int_equal(c.cur_off, 0);
	assert_int_equal(c.cur.len, 4);
	assert_memory_equal(c.cur.p, "NEXT", 4);
	free(a);
	close(lfd);
	nw_report_client_close(&c);
}

/* "localhost" goes through getaddrinfo_a; with only 127.0.0.1 listening a
 * ::1 answer is refused and the next address is tried. */
static void test_name_resolved_without_blocking(void **state)
{
	struct nw_report_client c;
	uint16_t port = 0;
	uint64_t one = 1;
	int lfd = listener(&port, 0);

	(void)state;
	open_client(&c, "localhost", port);
	assert_false(c.numeric);
	nw_report_client_run(&c);
	nw_report_client_submit_frame(&c, "NWRn", 4);
	pump_until(&c, sent_at_least, &one);
	assert_int_equal(c.st.connects, 1);
	close(lfd);
	nw_report_client_close(&c);
}

/* Closing in the middle of a lookup neither blocks long nor leaks. */
static void test_close_while_resolving(void **state)
{
	struct nw_report_client c;
	double t0;

	(void)state;
	open_client(&c, "localhost", 9);
	nw_report_client_run(&c); /* starts the lookup */
	t0 = mono_s();
	nw_report_client_close(&c);
	assert_true(mono_s() - t0 < 1.0);
	nw_report_client_close(&c); /* twice is fine */
}

/* ------------------------------------------------------------ report */

static void test_report_from_view(void **state)
{
	struct nw_rack_view v;
	struct nw_report r;
	struct nw_report_server s[4];
	struct nw_server_state st = { 0 };

	(void)state;
	assert_int_equal(nw_rack_view_init(&v, 4, 5, 0.5), 0);
	nw_rack_view_begin(&v, 1000, &(struct nw_stats){ 0 }, 0, 1);
	st.server_id = 20;
	nw_rack_view_set_server(&v, 0, &st, NULL);
	st.server_id = 10;
	nw_rack_view_set_server(&v, 1, &st, NULL)->analysed = 1;
	v.slots[1].spectral_error = 0.25;
	v.slots[1].snr_db = INFINITY; /* a perfect tone */
	nw_rack_view_finish(&v);
	nw_report_from_view(&v, &r, s, 4);
	assert_int_equal(r.rack_id, 5);
	assert_true(r.interval_s == 0.5);
	assert_int_equal(r.nservers, 2);
	assert_int_equal(s[0].id, 10); /* id order */
	assert_true(s[0].error == 0.25);
	assert_true(s[0].snr_db == NW_REPORT_SNR_LIMIT_DB); /* clamped, not refused */
	assert_int_equal(s[1].id, 20);
	assert_true(isnan(s[1].error) && isnan(s[1].snr_db));
	/* At most `max` servers. */
	nw_report_from_view(&v, &r, s, 1);
	assert_int_equal(r.nservers, 1);
	/* No paths: none reported (the key stays optional). */
	nw_report_paths_from_view(&v, &r, NULL, 0);
	assert_int_equal(r.npaths, 0);
	assert_null(r.paths);
	nw_rack_view_free(&v);
}

/* Issue 16's fields: the onset and period of a server, and the inter-rack
 * paths into the rack (docs/fabric.md), apart from the servers. */
static void test_report_paths_from_view(void **state)
{
	struct nw_rack_view v;
	struct nw_report r;
	struct nw_report_server s[4];
	struct nw_report_path p[4];
	struct nw_server_state st = { .server_id = 3 };
	struct nw_server_view *e;

	(void)state;
	assert_int_equal(nw_rack_view_init(&v, 4, 5, 1.0), 0);
	nw_rack_view_begin(&v, 1000, &(struct nw_stats){ 0 }, 0, 1);
	e = nw_rack_view_set_server(&v, 0, &st, NULL);
	e->analysed = 1;
	e->delay_period = (struct nw_period){ .found = 1, .period_s = 5.0 };
	st.server_id = NW_SERVER_FABRIC;
	st.rack_id = 2;
	st.mesh_epoch = 41;
	st.received = 70;
	st.lost = 30;
	st.latency_hist[4] = 100; /* 1 ms */
	e = nw_rack_view_set_server(&v, 1, &st, NULL);
	e->up = 1;
	e->analysed = 1;
	e->spectral_error = 0.4;
	e->analysis_class = NW_HEALTH_CRITICAL;
	nw_rack_view_finish(&v);
	nw_report_from_view(&v, &r, s, 4);
	assert_int_equal(r.nservers, 1); /* the path is not a server */
	assert_int_equal(s[0].id, 3);
	assert_true(s[0].period_s == 5.0);
	assert_true(s[0].since_ns > 0); /* never heard: down, so degraded */
	nw_report_paths_from_view(&v, &r, p, 4);
	assert_int_equal(r.npaths, 1);
	assert_ptr_equal(r.paths, p);
	assert_int_equal(p[0].src_rack, 2);
	assert_int_equal(p[0].cls, NW_HEALTH_CRITICAL);
	assert_true(p[0].error == 0.4);
	assert_true(p[0].loss_ratio == 0.3);
	assert_true(p[0].latency_p50_s == 1e-3 && p[0].latency_p99_s == 1e-3);
	assert_true(isnan(p[0].period_s));
	assert_int_equal(p[0].mesh_epoch, 41);
	assert_true(p[0].since_ns > 0);
	nw_rack_view_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dc_parse),
		cmocka_unit_test(test_report_paths_from_view),
		cmocka_unit_test(test_backoff_bounds_and_spread),
		cmocka_unit_test(test_backoff_grows_then_resets),
		cmocka_unit_test(test_replaced_while_not_connected),
		cmocka_unit_test(test_partial_frame_completes_then_newest),
		cmocka_unit_test(test_peer_close_reconnects_after_backoff),
		cmocka_unit_test(test_dc_that_sends_is_dropped),
		cmocka_unit_test(test_break_inside_frame_is_send_error),
		cmocka_unit_test(test_name_resolved_without_blocking),
		cmocka_unit_test(test_close_while_resolving),
		cmocka_unit_test(test_report_from_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
