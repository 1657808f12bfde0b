/* SPDX-License-Identifier: MIT */
/*
 * The agent's control socket (--control): strict request parsing, answers to
 * bound senders only, oversized and hostile datagrams refused with a reason,
 * stale-socket takeover without stealing a live one, removal at close, and
 * run-time impairment changes (delay queue growth, skew rebase without a jump,
 * a request queued before the run applying from tick 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "nw_parse.h"
#include "run.h"

struct fixture {
	char dir[64];
	char path[108];   /* the agent's socket */
	char client[108]; /* a sender's bound address */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/nwctl-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/agent.sock", f->dir);
	snprintf(f->client, sizeof(f->client), "%s/client.sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	unlink(f->client);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct sockaddr_un addr_of(const char *path)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	return sa;
}

/* A sender; bound to `bind_path` when given, so it can be answered. */
static int client_open(const char *bind_path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 2 };

	assert_true(fd >= 0);
	if (bind_path) {
		struct sockaddr_un sa = addr_of(bind_path);

		unlink(bind_path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_to(int fd, const char *path, const void *buf, size_t len)
{
	struct sockaddr_un sa = addr_of(path);

	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
}

static void recv_answer(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, 0);

	assert_true(n > 0);
	buf[n] = '\0';
}

/* An apply callback that records what it was given and can refuse. */
struct applied {
	int calls;
	int refuse;
	struct nw_impair last;
};

static int apply_stub(void *ctx, const struct nw_impair *imp, char *err, size_t errlen)
{
	struct applied *ap = ctx;

	ap->calls++;
	if (ap->refuse) {
		snprintf(err, errlen, "refused by the agent");
		return -1;
	}
	ap->last = *imp;
	return 0;
}

static void test_parse_accepts_a_spec_and_the_empty_clear(void **state)
{
	struct nw_impair imp;
	char err[256];
	const char *req = "{\"impair\": \"loss=20%,delay=200,jitter=25\"}";

	(void)state;
	assert_int_equal(nw_control_parse(req, strlen(req), &imp, err, sizeof(err)), 0);
	assert_true(imp.loss > 0.199 && imp.loss < 0.201);
	assert_true(imp.delay_ms == 200.0 && imp.jitter_ms == 25.0);

	req = "{\"impair\":\"\"}";
	assert_int_equal(nw_control_parse(req, strlen(req), &imp, err, sizeof(err)), 0);
	assert_false(nw_impair_active(&imp));
	assert_true(imp.skew_ppm == 0.0);
}

static void test_parse_refuses_anything_else_with_a_reason(void **state)
{
	static const struct {
		const char *req;
		const char *why; /* a word the reason must contain */
	} bad[] = {
		{ "", "JSON" },
		{ "impair=loss=1%", "JSON" },
		{ "[\"impair\", \"loss=1%\"]", "object" },
		{ "{}", "one key" },
		{ "{\"impair\": \"loss=1%\", \"extra\": 1}", "one key" },
		{ "{\"impairs\": \"loss=1%\"}", "one key" },
		{ "{\"impair\": \"loss=1%\", \"impair\": \"\"}", "JSON" }, /* duplicate key */
		{ "{\"impair\": 5}", "string" },
		{ "{\"impair\": null}", "string" },
		{ "{\"impair\": \"loss=200%\"}", "probability" },
		{ "{\"impair\": \"colour=red\"}", "unknown key" },
		{ "{\"impair\": \"loss=1%\\u0000delay=5\"}", "JSON" }, /* NUL: jansson refuses */
		{ "{\"impair\": \"loss=1%\"} trailing", "JSON" },
	};
	struct nw_impair imp;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (nw_control_parse(bad[i].req, strlen(bad[i].req), &imp, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].req);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", bad[i].req, err, bad[i].why);
	}
}

static void test_answers_bound_senders_and_applies(void **state)
{
	struct fixture *f = *state;
	struct nw_control c;
	struct applied ap = { 0 };
	char err[256], buf[512];
	const char *ok = "{\"impair\": \"dup=3%\"}";
	const char *bad = "{\"impair\": \"dup=3\"}";
	int cl, anon;

	assert_int_equal(nw_control_open(&c, f->path, err, sizeof(err)), 0);
	cl = client_open(f->client);
	anon = client_open(NULL);

	assert_int_equal(nw_control_poll(&c, apply_stub, &ap), 0); /* nothing waiting: no block */

	send_to(cl, f->path, ok, strlen(ok));
	assert_int_equal(nw_control_poll(&c, apply_stub, &ap), 1);
	assert_int_equal(ap.calls, 1);
	assert_true(ap.last.dup > 0.029 && ap.last.dup < 0.031);
	recv_answer(cl, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true}");

	send_to(cl, f->path, bad, strlen(bad));
	assert_int_equal(nw_control_poll(&c, apply_stub, &ap), 1);
	assert_int_equal(ap.calls, 1); /* a bad spec never reaches the agent */
	recv_answer(cl, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"ok\":false"));
	assert_non_null(strstr(buf, "probability"));

	ap.refuse = 1;
	send_to(cl, f->path, ok, strlen(ok));
	assert_int_equal(nw_control_poll(&c, apply_stub, &ap), 1);
	recv_answer(cl, buf, sizeof(buf));
	assert_non_null(strstr(buf, "refused by the agent"));
	ap.refuse = 0;

	/* An unbound sender is served but cannot be answered; nothing breaks. */
	send_to(anon, f->path, ok, strlen(ok));
	assert_int_equal(nw_control_poll(&c, apply_stub, &ap), 1);
	assert_int_equal(ap.calls, 3);
	assert_int_equal(c.accepted, 2);
	assert_int_equal(c.rejected, 2);

	close(cl);
	close(anon);
	nw_control_close(&c);
}

static void test_oversized_and_floods_are_bounded(void **state)
{
	struct fixture *f = *state;
	struct nw_control c;
	struct applied ap = { 0 };
	char err[256], buf[512];
	char *big = malloc(4 * NW_CONTROL_MAX_DGRAM);
	int cl;

	assert_non_null(big);
	assert_int_equal(nw_control_open(&c, f->path, err, sizeof(err)), 0);
	cl = client_open(f->client);

	/* Valid JSON past the limit: refused as too long, never half-parsed. */
	memset(big, ' ', 4 * NW_CONTROL_MAX_DGRAM);
	memcpy(big, "{\"impair\": \"\"}", 14);
	send_to(cl, f->path, big, 4 * NW_CONTROL_MAX_DGRAM);
	assert_int_equal(nw_control_poll(&c, apply_stub, &ap), 1);
	assert_int_equal(ap.calls, 0);
	recv_answer(cl, buf, sizeof(buf));
	assert_non_null(strstr(buf, "longer than"));

	/* A flood is handled a batch at a time: the send loop is never held.
	 * The kernel queues only net.unix.max_dgram_qlen datagrams per socket
	 * (10 by default), so the sender sends until it would block. */
	{
		int sent = 0, handled = 0, n;
		struct sockaddr_un sa = addr_of(f->path);

		while (sent < 4 * NW_CONTROL_BATCH &&
		       sendto(cl, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) == 1)
			sent++;
		assert_true(sent > 0);
		n = nw_control_poll(&c, apply_stub, &ap);
		assert_int_equal(n, sent < NW_CONTROL_BATCH ? sent : NW_CONTROL_BATCH);
		handled += n;
		while ((n = nw_control_poll(&c, apply_stub, &ap)) > 0) {
			assert_true(n <= NW_CONTROL_BATCH);
			handled += n;
		}
		assert_int_equal(handled, sent);
		assert_int_equal(c.rejected, 1 + (uint64_t)sent);
	}

	free(big);
	close(cl);
	nw_control_close(&c);
}

static void test_socket_file_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct nw_control c, c2;
	char err[256];
	struct stat st;
	int fd;

	/* A stale socket (nobody bound) is replaced. */
	fd = client_open(f->path);
	close(fd);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(nw_control_open(&c, f->path, err, sizeof(err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A live one is not stolen. */
	assert_int_equal(nw_control_open(&c2, f->path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another process"));
	assert_int_equal(c2.fd, -1);

	nw_control_close(&c);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	nw_control_close(&c); /* twice is harmless */

	/* Not a socket: refused, left alone. */
	fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(nw_control_open(&c, f->path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(f->path, &st), 0);
	unlink(f->path);

	assert_int_equal(nw_control_open(&c, "", err, sizeof(err)), -1);
}

/* A UDP sink on loopback for a real agent. */
static int sink_open(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return fd;
}

static void agent_opts(struct nw_opts *o, uint16_t port, const char *control)
{
	char controller[64], *argv[12];
	char err[256];
	int argc = 0;

	snprintf(controller, sizeof(controller), "127.0.0.1:%u", (unsigned)port);
	argv[argc++] = "netwatch-agent";
	argv[argc++] = "--controller";
	argv[argc++] = controller;
	argv[argc++] = "--rate";
	argv[argc++] = "200";
	argv[argc++] = "--count";
	argv[argc++] = "40";
	argv[argc++] = "--control";
	argv[argc++] = (char *)control;
	argv[argc++] = "-q";
	argv[argc] = NULL;
	assert_int_equal(nw_opts_parse(argc, argv, o, err, sizeof(err)), NW_OPTS_RUN);
	assert_string_equal(o->control, control);
}

static void test_request_queued_before_the_run_applies_from_tick_0(void **state)
{
	struct fixture *f = *state;
	struct nw_opts o;
	struct nw_agent a;
	volatile sig_atomic_t stop = 0;
	char err[256], buf[512];
	const char *req = "{\"impair\": \"loss=100%\"}";
	uint16_t port;
	int sink = sink_open(&port), cl;
	struct stat st;
	unsigned samples = 0;
	uint8_t pkt[256];

	agent_opts(&o, port, f->path);
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_OK);
	assert_int_equal(stat(f->path, &st), 0);
	cl = client_open(f->client);
	send_to(cl, f->path, req, strlen(req));

	nw_agent_run(&a, &stop);
	recv_answer(cl, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true}");
	for (unsigned i = 0; i < a.n; i++) {
		assert_int_equal(a.st[i].c.generated, 40);
		assert_int_equal(a.st[i].c.dropped, 40);
	}
	/* Only goodbyes reached the wire (they are 3 per server, never impaired). */
	while (recv(sink, pkt, sizeof(pkt), MSG_DONTWAIT) > 0)
		samples++;
	assert_int_equal(samples, 3);

	nw_agent_close(&a);
	assert_int_equal(stat(f->path, &st), -1); /* removed at exit */
	close(cl);
	close(sink);
}

static void test_set_impair_grows_the_queue_and_rebases_skew(void **state)
{
	struct fixture *f = *state;
	struct nw_opts o;
	struct nw_agent a;
	struct nw_impair imp;
	char err[256];
	uint16_t port;
	int sink = sink_open(&port);
	uint64_t k = 1000, due_before, due_after, next_before, next_after, tx_off;

	agent_opts(&o, port, f->path);
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_OK);
	assert_int_equal(a.pq.cap, 0); /* no delay at start: no queue */

	assert_int_equal(nw_impair_parse("delay=2000,jitter=100", &imp, err, sizeof(err)), 0);
	assert_int_equal(nw_agent_set_impair(&a, &imp, err, sizeof(err)), 0);
	assert_true(a.delayed && a.impaired);
	/* 200 Hz x (2 s + 6 x 0.1 s) in flight must fit. */
	assert_true(a.pq.cap >= 520);

	/* A skew change at tick k: tick k stays where it was due, later ticks
	 * follow the new rate, tx_ns keeps counting whole periods. */
	nw_sched_init(&a.sched, 1000000000ULL, 5000000000ULL, o.rate_uhz, 0.0);
	a.tx0_ns = 5000000000ULL;
	a.running = 1;
	a.next_tick = k;
	due_before = nw_sched_due(&a.sched, k - a.k0);
	next_before = nw_sched_due(&a.sched, k + 200 - a.k0);
	tx_off = nw_sched_agent_off(&a.sched, k + 200);
	assert_int_equal(nw_impair_parse("skew=1000", &imp, err, sizeof(err)), 0);
	assert_int_equal(nw_agent_set_impair(&a, &imp, err, sizeof(err)), 0);
	assert_int_equal(a.k0, k);
	due_after = nw_sched_due(&a.sched, k - a.k0);
	next_after = nw_sched_due(&a.sched, k + 200 - a.k0);
	assert_int_equal(due_after, due_before);
	/* 1 s later in agent time comes 1 ms sooner in real time at +1000 ppm. */
	assert_true(next_before - next_after > 990000 && next_before - next_after < 1010000);
	assert_int_equal(nw_sched_agent_off(&a.sched, k + 200), tx_off);
	assert_int_equal(nw_sched_agent_now(&a.sched, due_after),
			 a.tx0_ns + nw_sched_agent_off(&a.sched, k));

	/* Clearing keeps the queue (samples held back still go out) but stops delaying. */
	assert_int_equal(nw_impair_parse("", &imp, err, sizeof(err)), 0);
	assert_int_equal(nw_agent_set_impair(&a, &imp, err, sizeof(err)), 0);
	assert_false(a.delayed || a.impaired);
	assert_true(a.pq.cap >= 520);

	nw_agent_close(&a);
	close(sink);
}

struct run_ctx {
	struct nw_agent *a;
	volatile sig_atomic_t stop;
};

static void *run_thread(void *p)
{
	struct run_ctx *ctx = p;

	nw_agent_run(ctx->a, &ctx->stop);
	return NULL;
}

#define MID_COUNT 600 /* 3 s at 200 Hz: room for the requests below */

/* Receives one datagram (waiting up to 2 s); marks a sample's seq, counts a goodbye. */
static int sink_take(int fd, uint8_t *seen, unsigned *samples, unsigned *goodbyes, int flags)
{
	uint8_t buf[128];
	struct nw_sample smp = { 0 };
	ssize_t n = recv(fd, buf, sizeof(buf), flags);

	if (n < 0)
		return -1;
	assert_int_equal(nw_parse_sample(buf, buf + n, (__u32)n, &smp), NW_OK);
	if (smp.flags & NW_FLAG_GOODBYE) {
		(*goodbyes)++;
		return 0;
	}
	assert_true(smp.seq < MID_COUNT);
	assert_int_equal(seen[smp.seq], 0);
	seen[smp.seq] = 1;
	(*samples)++;
	return 0;
}

static void test_requests_during_the_run_apply_from_the_next_tick(void **state)
{
	struct fixture *f = *state;
	struct nw_opts o;
	struct nw_agent a;
	struct run_ctx ctx = { .a = &a };
	pthread_t th;
	char err[256], buf[512], controller[64];
	char *argv[] = {
		"netwatch-agent", "--controller", controller, "--rate", "200", "--count", "600",
		"--control",      f->path,        "-q",       NULL
	};
	uint8_t seen[MID_COUNT] = { 0 };
	unsigned samples = 0, goodbyes = 0, runs = 0, first_gap = 0, resumed = 0;
	struct timeval tv = { .tv_sec = 2 };
	struct timespec gap = { .tv_nsec = 200000000 };
	int big = 4 << 20, cl;
	uint16_t port;
	int sink = sink_open(&port);

	setsockopt(sink, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(sink, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(controller, sizeof(controller), "127.0.0.1:%u", (unsigned)port);
	assert_int_equal(nw_opts_parse(10, argv, &o, err, sizeof(err)), NW_OPTS_RUN);
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_OK);
	cl = client_open(f->client);
	assert_int_equal(pthread_create(&th, NULL, run_thread, &ctx), 0);

	/* 50 samples on the wire, then a blackout, a deliberate gap, a clear. */
	while (samples < 50)
		assert_int_equal(sink_take(sink, seen, &samples, &goodbyes, 0), 0);
	send_to(cl, f->path, "{\"impair\": \"loss=100%\"}", 23);
	recv_answer(cl, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true}");
	nanosleep(&gap, NULL);
	send_to(cl, f->path, "{\"impair\": \"\"}", 14);
	recv_answer(cl, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true}");

	pthread_join(th, NULL);
	while (sink_take(sink, seen, &samples, &goodbyes, MSG_DONTWAIT) == 0)
		;
	assert_int_equal(goodbyes, NW_GOODBYE_REPEAT);

	/* What arrived is [0, first_gap) and [resumed, MID_COUNT): whole ticks
	 * switched, none half-applied, and the schedule went on through both. */
	for (unsigned i = 0; i < MID_COUNT; i++) {
		if (seen[i] && (i == 0 || !seen[i - 1])) {
			runs++;
			if (i)
				resumed = i;
		}
		if (!seen[i] && i && seen[i - 1] && !first_gap)
			first_gap = i;
	}
	assert_int_equal(runs, 2);
	assert_true(first_gap >= 50 && resumed > first_gap && resumed < MID_COUNT);
	assert_int_equal(a.st[0].c.generated, MID_COUNT);
	assert_int_equal(a.st[0].c.dropped, resumed - first_gap);
	assert_int_equal(samples, MID_COUNT - (resumed - first_gap));

	nw_agent_close(&a);
	close(cl);
	close(sink);
}

/* {"fabric_peers": "FILE"} (--fabric): recognised, or left to the impair
 * parser, or refused with a reason. */
static void test_parse_peers(void **state)
{
	char path[64], err[256];
	static const char *not_ours[] = { "{\"impair\": \"\"}", "[1]", "not json" };

	(void)state;
	assert_int_equal(nw_control_parse_peers("{\"fabric_peers\": \"/p.json\"}", 27, path,
						sizeof(path), err, sizeof(err)),
			 1);
	assert_string_equal(path, "/p.json");
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++)
		assert_int_equal(nw_control_parse_peers(not_ours[i], strlen(not_ours[i]), path,
							sizeof(path), err, sizeof(err)),
				 0);
	assert_int_equal(nw_control_parse_peers("{\"fabric_peers\": 1}", 19, path, sizeof(path),
						err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "must be a file name"));
	assert_int_equal(nw_control_parse_peers("{\"fabric_peers\": \"a\", \"impair\": \"\"}", 35,
						path, sizeof(path), err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "exactly one key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_peers),
		cmocka_unit_test(test_parse_accepts_a_spec_and_the_empty_clear),
		cmocka_unit_test(test_parse_refuses_anything_else_with_a_reason),
		cmocka_unit_test_setup_teardown(test_answers_bound_senders_and_applies, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oversized_and_floods_are_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_socket_file_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_request_queued_before_the_run_applies_from_tick_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_impair_grows_the_queue_and_rebases_skew,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_requests_during_the_run_apply_from_the_next_tick, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
