// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "rack.h"

static struct timespec to_ts(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)floor(s);
	ts.tv_nsec = (long)((s - floor(s)) * 1e9);
	if (ts.tv_sec == 0 && ts.tv_nsec == 0)
		ts.tv_nsec = 1; /* zero would disarm the timer */
	return ts;
}

static int add(int epfd, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int rack_loop_init(struct rack_loop *l, double interval, double duration, int signal_fd)
{
	struct itimerspec it = { .it_interval = to_ts(interval), .it_value = to_ts(interval) };
	int err;

	l->deadline_fd = -1;
	l->signal_fd = signal_fd;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->epfd < 0 || l->timer_fd < 0 || timerfd_settime(l->timer_fd, 0, &it, NULL))
		goto fail;
	if (duration > 0) {
		struct itimerspec once = { .it_value = to_ts(duration) };

		l->deadline_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (l->deadline_fd < 0 || timerfd_settime(l->deadline_fd, 0, &once, NULL) ||
		    add(l->epfd, l->deadline_fd, RACK_EV_STOP))
			goto fail;
	}
	if (add(l->epfd, l->timer_fd, RACK_EV_TICK) || add(l->epfd, signal_fd, RACK_EV_STOP))
		goto fail;
	return 0;
fail:
	err = -errno;
	rack_loop_close(l);
	return err ? err : -EINVAL;
}

int rack_loop_add_source(struct rack_loop *l, int fd)
{
	return add(l->epfd, fd, RACK_EV_SOURCE);
}

int rack_loop_add_fd(struct rack_loop *l, int fd, int tag)
{
	return add(l->epfd, fd, (uint32_t)tag);
}

int rack_loop_wait(struct rack_loop *l, int timeout_ms)
{
	struct epoll_event evs[8];
	int n, mask = 0;

	n = epoll_wait(l->epfd, evs, 8, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : RACK_EV_STOP;
	for (int i = 0; i < n; i++) {
		uint64_t ticks;

		mask |= (int)evs[i].data.u32;
		if (evs[i].data.u32 == RACK_EV_TICK &&
		    read(l->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			mask |= RACK_EV_STOP;
	}
	return mask;
}

void rack_loop_close(struct rack_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->timer_fd >= 0)
		close(l->timer_fd);
	if (l->deadline_fd >= 0)
		close(l->deadline_fd);
	l->epfd = l->timer_fd = l->deadline_fd = -1;
}
