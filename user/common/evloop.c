// SPDX-License-Identifier: MIT
#include "evloop.h"

#include <errno.h>
#include <math.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* epoll's data word: the caller's tag, or one of ours with its index. */
#define KIND_SHIFT 62
#define KIND_FD 0ULL
#define KIND_TIMER 1ULL
#define KIND_SIGNAL 2ULL

static int watch(struct nw_evloop *l, int fd, uint64_t kind, uint64_t value)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = kind << KIND_SHIFT | value };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static struct timespec to_ts(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)floor(s);
	ts.tv_nsec = (long)((s - floor(s)) * 1e9);
	return ts;
}

int nw_evloop_init(struct nw_evloop *l)
{
	l->ntimers = 0;
	l->signal_fd = -1;
	l->signal_tag = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void nw_evloop_close(struct nw_evloop *l)
{
	for (unsigned i = 0; i < l->ntimers; i++)
		close(l->timer[i].fd);
	l->ntimers = 0;
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int nw_evloop_add_fd(struct nw_evloop *l, int fd, uint64_t tag)
{
	if (tag > NW_EVLOOP_TAG_MAX)
		return -EINVAL;
	return watch(l, fd, KIND_FD, tag);
}

int nw_evloop_del_fd(struct nw_evloop *l, int fd)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
}

int nw_evloop_add_timer(struct nw_evloop *l, double first_s, double every_s, uint64_t tag)
{
	struct itimerspec it = { .it_value = to_ts(first_s) };
	int fd, err;

	if (l->ntimers == NW_EVLOOP_TIMERS || tag > NW_EVLOOP_TAG_MAX)
		return -EINVAL;
	if (it.it_value.tv_sec == 0 && it.it_value.tv_nsec == 0)
		it.it_value.tv_nsec = 1; /* zero would disarm it */
	if (every_s > 0) {
		it.it_interval = to_ts(every_s);
		if (it.it_interval.tv_sec == 0 && it.it_interval.tv_nsec == 0)
			it.it_interval.tv_nsec = 1;
	}
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = timerfd_settime(fd, 0, &it, NULL) ? -errno : 0;
	if (!err)
		err = watch(l, fd, KIND_TIMER, l->ntimers);
	if (err) {
		close(fd);
		return err;
	}
	l->timer[l->ntimers].fd = fd;
	l->timer[l->ntimers].tag = tag;
	l->ntimers++;
	return 0;
}

int nw_evloop_add_signals(struct nw_evloop *l, int signal_fd, uint64_t tag)
{
	int err;

	if (tag > NW_EVLOOP_TAG_MAX)
		return -EINVAL;
	err = watch(l, signal_fd, KIND_SIGNAL, 0);
	if (!err) {
		l->signal_fd = signal_fd;
		l->signal_tag = tag;
	}
	return err;
}

int nw_evloop_sooner(int a_ms, int b_ms)
{
	if (a_ms < 0)
		return b_ms;
	if (b_ms < 0)
		return a_ms;
	return a_ms < b_ms ? a_ms : b_ms;
}

int nw_evloop_wait(struct nw_evloop *l, struct nw_event *out, int max, int timeout_ms)
{
	struct epoll_event evs[NW_EVLOOP_BATCH];
	int n, got = 0;

	if (max > NW_EVLOOP_BATCH)
		max = NW_EVLOOP_BATCH;
	n = epoll_wait(l->epfd, evs, max, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint64_t kind = evs[i].data.u64 >> KIND_SHIFT;
		uint64_t value = evs[i].data.u64 & NW_EVLOOP_TAG_MAX;
		struct nw_event *e = &out[got];

		e->signo = 0;
		if (kind == KIND_TIMER) {
			uint64_t expirations;

			/* Read to re-arm the level; EAGAIN (a race) still counts
			 * as the expiry epoll saw. */
			if (read(l->timer[value].fd, &expirations, sizeof(expirations)) < 0 &&
			    errno != EAGAIN)
				return -errno;
			e->tag = l->timer[value].tag;
		} else if (kind == KIND_SIGNAL) {
			struct signalfd_siginfo si;

			if (read(l->signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			e->tag = l->signal_tag;
			e->signo = si.ssi_signo;
		} else {
			e->tag = value;
		}
		got++;
	}
	return got;
}
