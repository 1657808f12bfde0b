/* SPDX-License-Identifier: MIT */
/*
 * The daemons' one event loop (netwatch-rack, netwatch-dc): an epoll over
 * every fd a daemon waits on, each registered with a tag of the caller's
 * choosing. Timers (timerfd) and the stop signals (signalfd) are fds like
 * the others; the loop reads them itself, so a timer is reported once per
 * expiry and a signal once per delivery, never as a busy fd.
 *
 * The loop dispatches nothing: nw_evloop_wait hands back the tags that fired
 * and the daemon acts on them in its own order (the order of work within a
 * wake-up is part of each daemon's behaviour).
 *
 * One thread. No allocation: the struct holds everything. Calls:
 * nw_evloop_init, then nw_evloop_add_* (and nw_evloop_del for fds that
 * close early), nw_evloop_wait in a loop, nw_evloop_close, which closes the
 * timers the loop created but none of the fds it was given.
 */
#ifndef NW_EVLOOP_H
#define NW_EVLOOP_H

#include <stdint.h>

#define NW_EVLOOP_TIMERS 4
#define NW_EVLOOP_BATCH 64 /* events per wait, at most */
/* Tags are the caller's below this; the loop uses the bits above. */
#define NW_EVLOOP_TAG_MAX ((1ULL << 62) - 1)

struct nw_event {
	uint64_t tag;
	uint32_t signo; /* for the signal fd's tag: the signal delivered; else 0 */
};

struct nw_evloop {
	int epfd;
	struct {
		int fd;
		uint64_t tag;
	} timer[NW_EVLOOP_TIMERS];
	unsigned ntimers;
	int signal_fd; /* the caller's */
	uint64_t signal_tag;
};

/* 0 or -errno. */
int nw_evloop_init(struct nw_evloop *l);
void nw_evloop_close(struct nw_evloop *l);

/* Reports `tag` while fd is readable (level-triggered). 0 or -errno. */
int nw_evloop_add_fd(struct nw_evloop *l, int fd, uint64_t tag);
int nw_evloop_del_fd(struct nw_evloop *l, int fd);

/* A timer first firing after first_s, then every every_s (0: once). A zero
 * first_s fires at once rather than never. 0 or -errno. */
int nw_evloop_add_timer(struct nw_evloop *l, double first_s, double every_s, uint64_t tag);

/* Reports `tag` with the signal's number for each signal read from
 * signal_fd (a signalfd the caller made and keeps). 0 or -errno. */
int nw_evloop_add_signals(struct nw_evloop *l, int signal_fd, uint64_t tag);

/* The sooner of two wait timeouts in ms, -1 meaning no limit. */
int nw_evloop_sooner(int a_ms, int b_ms);

/* Waits up to timeout_ms (-1: no limit) and fills out[0..max) with what
 * fired. Returns how many (0 on a timeout or EINTR), or -errno. */
int nw_evloop_wait(struct nw_evloop *l, struct nw_event *out, int max, int timeout_ms);

#endif
