/* SPDX-License-Identifier: MIT */
/*
 * netwatch-agent end to end over loopback: the whole loop (schedule,
 * impairment, pending queue, sendmmsg, goodbyes) against a UDP socket on an
 * ephemeral port, checking that the report and the wire agree exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "nw_account.h"
#include "nw_parse.h"
#include "run.h"
#include "wire.h"

struct rx {
	int fd;
	uint16_t port;
	unsigned datagrams, samples, goodbyes, bad;
	unsigned goodbyes_before_last_sample;
	uint64_t seen[4][64]; /* bitmap of seqs per server, for up to 4096 seqs */
	unsigned dups, reordered;
	uint64_t goodbye_seq[4];
	uint64_t last_seq[4];
	struct nw_server_state acct[4]; /* the collector's own counting, fed what arrived */
};

static int rx_open(struct rx *r, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int big = 4 << 20;

	memset(r, 0, sizeof(*r));
	memset(&ss, 0, sizeof(ss));
	r->fd = socket(family, SOCK_DGRAM, 0);
	if (r->fd < 0)
		return -1;
	setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	if (bind(r->fd, (struct sockaddr *)&ss, len) < 0) {
		close(r->fd);
		return -1;
	}
	len = sizeof(ss);
	getsockname(r->fd, (struct sockaddr *)&ss, &len);
	r->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Loopback delivers synchronously: after the agent returns, all is queued. */
static void rx_drain(struct rx *r, const struct nw_opts *o)
{
	uint8_t buf[128];
	ssize_t n;

	while ((n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		struct nw_sample s;
		uint32_t idx;

		r->datagrams++;
		if (nw_parse_sample(buf, buf + n, (__u32)n, &s) != NW_OK || s.rack_id != o->rack ||
		    s.server_id < o->server || s.server_id - o->server >= 4 || s.seq >= 4096) {
			r->bad++;
			continue;
		}
		idx = s.server_id - o->server;
		{
			struct nw_outcome out;

			nw_account(&r->acct[idx], &s, s.tx_ns + 1000, &out);
		}
		if (s.flags & NW_FLAG_GOODBYE) {
			r->goodbyes++;
			r->goodbye_seq[idx] = s.seq;
			continue;
		}
		if (r->goodbyes)
			r->goodbyes_before_last_sample++;
		r->samples++;
		if (s.seq < r->last_seq[idx])
			r->reordered++;
		r->last_seq[idx] = s.seq;
		if (r->seen[idx][s.seq / 64] & (1ULL << (s.seq % 64)))
			r->dups++;
		r->seen[idx][s.seq / 64] |= 1ULL << (s.seq % 64);
		/* The value is the tone at that seq, the time on the absolute schedule. */
		float v = nw_tone_value(o->amplitude, s.freq_uhz, s.rate_uhz, s.seq);
		uint32_t bits;

		memcpy(&bits, &v, 4);
		if (bits != s.value_bits)
			r->bad++;
	}
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static unsigned rx_unique(const struct rx *r, unsigned server)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 64; i++)
		n += (unsigned)__builtin_popcountll(r->seen[server][i]);
	return n;
}

static volatile sig_atomic_t alarm_stop;
static const struct nw_counters *volatile watched;
static volatile sig_atomic_t alarm_ticks;

/*
 * The stop comes when the agent has done enough, not after a fixed time: a
 * loaded machine can delay the agent's first tick past any fixed alarm. A
 * 10 ms interval timer looks at server 0's count (same thread, so no race on
 * the 64-bit read) and stops at STOP_AFTER_GENERATED, or after 5 s at most.
 */
#define STOP_AFTER_GENERATED 150
static void on_alarm(int sig)
{
	(void)sig;
	if ((watched && watched->generated >= STOP_AFTER_GENERATED) || ++alarm_ticks >= 500)
		alarm_stop = 1;
}

/* sig_before: 1 stopped before start; 2 stopped by SIGALRM once server 0 has
 * generated STOP_AFTER_GENERATED samples. */
static void run_agent(struct nw_agent *a, struct nw_opts *o, int sig_before, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char err[512];
	volatile sig_atomic_t *stop = &alarm_stop;

	argv[argc++] = (char *)"netwatch-agent";
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	if (nw_opts_parse(argc, argv, o, err, sizeof(err)) != NW_OPTS_RUN)
		fail_msg("options: %s", err);
	if (nw_agent_open(a, o, err, sizeof(err)) != NW_OPEN_OK)
		fail_msg("open: %s", err);
	alarm_stop = sig_before == 1;
	watched = NULL;
	alarm_ticks = 0;
	if (sig_before == 2) {
		struct sigaction sa;
		struct itimerval it = { .it_value = { .tv_sec = 0, .tv_usec = 10000 },
					.it_interval = { .tv_sec = 0, .tv_usec = 10000 } };

		watched = &a->st[0].c;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm; /* no SA_RESTART, as in main.c */
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	nw_agent_run(a, stop);
	if (sig_before == 2) {
		struct itimerval off = { 0 };

		setitimer(ITIMER_REAL, &off, NULL);
		watched = NULL;
	}
}

/* What the collector concludes must be what the agent reports it did. */
static void assert_collector_agrees(const struct rx *r, const struct nw_agent *a)
{
	for (uint32_t i = 0; i < a->n; i++) {
		const struct nw_counters *c = &a->st[i].c;
		const struct nw_server_state *st = &r->acct[i];

		assert_int_equal(st->received, c->sent);
		assert_int_equal(st->lost, c->dropped + c->send_failed);
		assert_int_equal(st->duplicates, c->duplicated);
		assert_int_equal(st->late, 0);
		assert_int_equal(st->restarts, 0);
		assert_int_equal(st->goodbyes, 1);
	}
}

static struct nw_counters total(const struct nw_agent *a)
{
	struct nw_counters sum = { 0 };

	for (uint32_t i = 0; i < a->n; i++) {
		const struct nw_counters *c = &a->st[i].c;

		assert_int_equal(c->generated, c->sent + c->dropped + c->send_failed);
		nw_counters_add(&sum, c);
	}
	assert_int_equal(sum.generated, sum.sent + sum.dropped + sum.send_failed);
	return sum;
}

static void test_loss_dup(void **state)
{
	struct rx r;
	struct nw_opts o;
	struct nw_agent a;
	char ctl[64];
	struct nw_counters c;

	(void)state;
	assert_int_equal(rx_open(&r, AF_INET), 0);
	snprintf(ctl, sizeof(ctl), "127.0.0.1:%u", r.port);
	run_agent(&a, &o, 0, "--controller", ctl, "--count", "100", "--rate", "1000", "--impair",
		  "loss=10%,dup=2%,seed=1", "-q", NULL);
	rx_drain(&r, &o);
	c = total(&a);
	assert_int_equal(c.generated, 100);
	assert_int_equal(c.send_failed, 0);
	assert_true(c.dropped > 0 && c.dropped < 30);
	assert_int_equal(c.goodbyes, 3);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.datagrams, c.sent + c.duplicated + 3);
	assert_int_equal(r.samples, c.sent + c.duplicated);
	assert_int_equal(r.dups, c.duplicated);
	assert_int_equal(rx_unique(&r, 0), c.sent);
	assert_int_equal(r.goodbyes, 3);
	assert_int_equal(r.goodbye_seq[0], 99);
	assert_int_equal(r.goodbyes_before_last_sample, 0);
	assert_int_equal(r.reordered, 0); /* no delay: generation order */
	assert_collector_agrees(&r, &a);

	/* The same seed makes the same decisions: the same seqs arrive. */
	struct rx r2;
	struct nw_opts o2;
	struct nw_agent a2;

	assert_int_equal(rx_open(&r2, AF_INET), 0);
	snprintf(ctl, sizeof(ctl), "127.0.0.1:%u", r2.port);
	run_agent(&a2, &o2, 0, "--controller", ctl, "--count", "100", "--rate", "1000", "--impair",
		  "loss=10%,dup=2%,seed=1", "-q", NULL);
	rx_drain(&r2, &o2);
	assert_memory_equal(r.seen, r2.seen, sizeof(r.seen));
	assert_int_equal(a2.st[0].c.duplicated, c.duplicated);
	nw_agent_close(&a);
	nw_agent_close(&a2);
	close(r.fd);
	close(r2.fd);
}

static void test_jitter_reorders_but_counts(void **state)
{
	struct rx r;
	struct nw_opts o;
	struct nw_agent a;
	char ctl[64];
	struct nw_counters c;

	(void)state;
	assert_int_equal(rx_open(&r, AF_INET), 0);
	snprintf(ctl, sizeof(ctl), "127.0.0.1:%u", r.port);
	run_agent(&a, &o, 0, "--controller", ctl, "--count", "300", "--rate", "1000", "--servers",
		  "3", "--server", "4", "--rack", "2", "--impair",
		  "loss=5%,dup=5%,delay=2,jitter=3,skew=200,seed=2", "-q", NULL);
	rx_drain(&r, &o);
	c = total(&a);
	assert_int_equal(c.generated, 900);
	assert_int_equal(c.send_failed, 0);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.datagrams, c.sent + c.duplicated + c.goodbyes);
	assert_int_equal(c.goodbyes, 9);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(rx_unique(&r, i), a.st[i].c.sent);
		assert_int_equal(r.goodbye_seq[i], 299);
	}
	assert_true(r.reordered > 0); /* jitter of 3 periods does reorder on the wire */
	assert_collector_agrees(&r, &a);
	/* After --count the queue drains: the goodbyes come after every sample. */
	assert_int_equal(r.goodbyes_before_last_sample, 0);
	nw_agent_close(&a);
	close(r.fd);
}

static void test_refused_counts_send_failed(void **state)
{
	struct rx r;
	struct nw_opts o;
	struct nw_agent a;
	char ctl[64];
	struct nw_counters c;

	(void)state;
	/* A port nobody listens on: ICMP port unreachable makes sends fail. */
	assert_int_equal(rx_open(&r, AF_INET), 0);
	close(r.fd);
	snprintf(ctl, sizeof(ctl), "127.0.0.1:%u", r.port);
	run_agent(&a, &o, 0, "--controller", ctl, "--count", "50", "--rate", "1000", "-q", NULL);
	c = total(&a);
	assert_int_equal(c.generated, 50);
	assert_true(c.send_failed > 0);
	assert_int_equal(c.dropped, 0);
	nw_agent_close(&a);
}

static void test_stopped_before_start(void **state)
{
	struct rx r;
	struct nw_opts o;
	struct nw_agent a;
	char ctl[64];

	(void)state;
	assert_int_equal(rx_open(&r, AF_INET), 0);
	snprintf(ctl, sizeof(ctl), "127.0.0.1:%u", r.port);
	run_agent(&a, &o, 1, "--controller", ctl, "--rate", "1000", "-q", NULL);
	rx_drain(&r, &o);
	assert_int_equal(a.st[0].c.generated, 0);
	assert_int_equal(a.st[0].c.goodbyes, 0); /* nothing generated: nothing to close */
	assert_int_equal(r.datagrams, 0);
	nw_agent_close(&a);
	close(r.fd);
}

static void test_signal_discards_pending(void **state)
{
	struct rx r;
	struct nw_opts o;
	struct nw_agent a;
	char ctl[64];
	struct nw_counters c;

	(void)state;
	assert_int_equal(rx_open(&r, AF_INET), 0);
	snprintf(ctl, sizeof(ctl), "127.0.0.1:%u", r.port);
	/* 100 ms of delay at 1 kHz holds ~100 samples when the signal comes. */
	run_agent(&a, &o, 2, "--controller", ctl, "--rate", "1000", "--impair", "delay=100,seed=4",
		  "-q", NULL);
	rx_drain(&r, &o);
	c = total(&a);
	assert_true(c.generated >= STOP_AFTER_GENERATED);
	/* Discarded: what was pending (at most 100 ms of ticks), beside any
	 * ticks a stall made it skip, which are dropped on their own count. */
	assert_true(c.dropped >= 50);
	assert_true(c.dropped - c.late_skipped <= 101);
	assert_int_equal(c.goodbyes, 3);
	assert_int_equal(r.datagrams, c.sent + 3);
	assert_int_equal(r.goodbye_seq[0], c.generated - 1);
	assert_collector_agrees(&r, &a);
	nw_agent_close(&a);
	close(r.fd);
}

static void test_ipv6_duration(void **state)
{
	struct rx r;
	struct nw_opts o;
	struct nw_agent a;
	char ctl[64];
	struct nw_counters c;

	(void)state;
	if (rx_open(&r, AF_INET6) < 0)
		skip(); /* no IPv6 loopback in this namespace */
	snprintf(ctl, sizeof(ctl), "[::1]:%u", r.port);
	run_agent(&a, &o, 0, "--controller", ctl, "--duration", "0.05", "--rate", "1000", "-q",
		  NULL);
	rx_drain(&r, &o);
	c = total(&a);
	/* Ticks at 0, 1, ... 49 ms fall inside 50 ms. */
	assert_int_equal(c.generated, 50);
	assert_int_equal(r.datagrams, c.sent + 3);
	assert_int_equal(r.goodbye_seq[0], 49);
	assert_collector_agrees(&r, &a);
	nw_agent_close(&a);
	close(r.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loss_dup),
		cmocka_unit_test(test_jitter_reorders_but_counts),
		cmocka_unit_test(test_refused_counts_send_failed),
		cmocka_unit_test(test_stopped_before_start),
		cmocka_unit_test(test_signal_discards_pending),
		cmocka_unit_test(test_ipv6_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
