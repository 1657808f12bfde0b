// SPDX-License-Identifier: MIT
/* The daemons' event loop: an fd, timers and signals, each reported with
 * the caller's tag, and a timer or a signal only once per firing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

enum { TAG_PIPE = 3, TAG_ONCE = 5, TAG_EVERY = 7, TAG_SIG = 9 };

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int has(const struct nw_event *ev, int n, uint64_t tag)
{
	for (int i = 0; i < n; i++)
		if (ev[i].tag == tag)
			return 1;
	return 0;
}

/* Readable while data waits (level), silent once read or removed. */
static void test_fd(void **state)
{
	struct nw_evloop l;
	struct nw_event ev[4];
	int p[2];
	char c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(nw_evloop_init(&l), 0);
	assert_int_equal(nw_evloop_add_fd(&l, p[0], TAG_PIPE), 0);
	assert_int_equal(nw_evloop_add_fd(&l, p[1], NW_EVLOOP_TAG_MAX + 1), -EINVAL);
	assert_int_equal(nw_evloop_wait(&l, ev, 4, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(nw_evloop_wait(&l, ev, 4, 1000), 1);
	assert_true(ev[0].tag == TAG_PIPE && ev[0].signo == 0);
	assert_int_equal(nw_evloop_wait(&l, ev, 4, 0), 1); /* still there */
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(nw_evloop_wait(&l, ev, 4, 0), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(nw_evloop_del_fd(&l, p[0]), 0);
	assert_int_equal(nw_evloop_wait(&l, ev, 4, 0), 0);
	nw_evloop_close(&l);
	close(p[0]);
	close(p[1]);
}

/* A one-shot timer fires once; an interval timer once per expiry, never as
 * a busy fd between expiries. */
static void test_timers(void **state)
{
	struct nw_evloop l;
	struct nw_event ev[4];
	int once = 0, every = 0;
	double t0 = mono_s();

	(void)state;
	assert_int_equal(nw_evloop_init(&l), 0);
	assert_int_equal(nw_evloop_add_timer(&l, 0.05, 0, TAG_ONCE), 0);
	assert_int_equal(nw_evloop_add_timer(&l, 0.02, 0.02, TAG_EVERY), 0);
	while (mono_s() - t0 < 0.3) {
		int n = nw_evloop_wait(&l, ev, 4, 100);

		assert_true(n >= 0);
		once += has(ev, n, TAG_ONCE);
		every += has(ev, n, TAG_EVERY);
	}
	assert_int_equal(once, 1);
	/* At most 15 expiries in 0.3 s; a busy fd would give thousands. */
	assert_in_range(every, 1, 16);
	nw_evloop_close(&l);
}

static void test_sooner(void **state)
{
	(void)state;
	assert_int_equal(nw_evloop_sooner(-1, -1), -1);
	assert_int_equal(nw_evloop_sooner(-1, 50), 50);
	assert_int_equal(nw_evloop_sooner(30, -1), 30);
	assert_int_equal(nw_evloop_sooner(30, 50), 30);
	assert_int_equal(nw_evloop_sooner(0, 50), 0);
}

/* A signal on the signalfd comes back with its number, once. */
static void test_signal(void **state)
{
	struct nw_evloop l;
	struct nw_event ev[4];
	sigset_t set;
	int sfd, n;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	assert_true(sfd >= 0);
	assert_int_equal(nw_evloop_init(&l), 0);
	assert_int_equal(nw_evloop_add_signals(&l, sfd, TAG_SIG), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	n = nw_evloop_wait(&l, ev, 4, 1000);
	assert_int_equal(n, 1);
	assert_true(ev[0].tag == TAG_SIG);
	assert_int_equal(ev[0].signo, SIGUSR1);
	assert_int_equal(nw_evloop_wait(&l, ev, 4, 0), 0);
	nw_evloop_close(&l);
	close(sfd); /* the caller's: the loop did not close it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_sooner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
