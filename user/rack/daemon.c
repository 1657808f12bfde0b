// SPDX-License-Identifier: MIT
/*
 * netwatch-rack's daemon, once for both packet sources (source.h): open ->
 * configure -> attach -> serve -> listen -> drop privileges -> loop ->
 * shut down -> detach -> close, each step below under one comment, and
 * `goto` to the cleanup its failure needs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "pins.h"
#include "rack.h"
#include "snapshot.h"
#include "source.h"

static void add_to_view(void *arg, uint32_t slot, const struct nw_server_state *st,
			const struct nw_server_rx *rx)
{
	rack_serve_set_server(arg, slot, st, rx);
}

/* The view the HTTP handlers render, once per interval. */
static void refresh(struct rack_source *src, struct rack_serve *sv)
{
	struct nw_stats stats;
	uint64_t rejected = 0;

	memset(&stats, 0, sizeof(stats));
	src->ops->stats(src, &stats, &rejected);
	nw_rack_view_begin(&sv->view, nw_now_tai_ns(), &stats, rejected, 1);
	src->ops->each_server(src, add_to_view, sv);
	/* The spectral analysis writes sv->view.slots[slot]'s analysis fields here. */
	rack_serve_publish(sv);
}

struct dump_list {
	struct nw_dump_server *srv;
	size_t n, max;
};

static void add_to_dump(void *arg, uint32_t slot, const struct nw_server_state *st,
			const struct nw_server_rx *rx)
{
	struct dump_list *l = arg;

	(void)slot;
	if (l->n < l->max) {
		l->srv[l->n].st = *st;
		l->srv[l->n++].rx = rx;
	}
}

static void dump(struct rack_source *src)
{
	struct nw_dump_info info = {
		.rack = src->o->rack,
		.hook = src->hook,
		.iface = src->iface,
		.port = src->o->port,
		.time_ns = nw_now_tai_ns(),
	};
	struct dump_list l = { .srv = calloc(src->max_slots + 1, sizeof(*l.srv)),
			       .max = src->max_slots };
	struct nw_stats stats;

	if (!l.srv)
		return;
	memset(&stats, 0, sizeof(stats));
	src->ops->stats(src, &stats, &info.discovery_rejected);
	src->ops->each_server(src, add_to_dump, &l);
	rack_print_dump(src->log, &info, &stats, l.srv, l.n);
	free(l.srv);
}

/* The source's fd, the interval, the sub-second tick, the --duration
 * deadline, the stop signals and the serving side's fds, all tagged with
 * their rack_event. */
static int loop_init(struct nw_evloop *loop, struct rack_source *src, struct rack_serve *sv,
		     int signal_fd)
{
	const struct rack_opts *o = src->o;
	int err = nw_evloop_init(loop);

	if (!err)
		err = nw_evloop_add_timer(loop, o->interval, o->interval, RACK_EV_TICK);
	if (!err)
		err = nw_evloop_add_timer(loop, NW_RACK_TICK_MS / 1000.0, NW_RACK_TICK_MS / 1000.0,
					  RACK_EV_FAST_TICK);
	if (!err && o->duration > 0)
		err = nw_evloop_add_timer(loop, o->duration, 0, RACK_EV_STOP);
	if (!err)
		err = nw_evloop_add_signals(loop, signal_fd, RACK_EV_STOP);
	if (!err)
		err = nw_evloop_add_fd(loop, src->fd, RACK_EV_SOURCE);
	if (!err)
		err = rack_serve_add_to_loop(sv, loop);
	return err;
}

/* Blocks until something happens or timeout_ms passes: a rack_event mask,
 * 0 on a timeout, STOP when the loop itself fails. */
static int wait_events(struct nw_evloop *loop, int timeout_ms)
{
	struct nw_event ev[8];
	int n = nw_evloop_wait(loop, ev, 8, timeout_ms), mask = 0;

	if (n < 0)
		return RACK_EV_STOP;
	for (int i = 0; i < n; i++)
		mask |= (int)ev[i].tag;
	return mask;
}

/* 1 when this run is the one that will create the rack's pinned set (the
 * kernel hooks only; the socket hook pins nothing). */
static int fresh_pin_set(const struct rack_opts *o)
{
	char dir[NW_PATH_MAX];

	if (o->hook == NW_HOOK_SOCKET || nw_pins_rack_dir(dir, sizeof(dir), o->pin_dir, o->rack))
		return 0;
	return nw_pins_exists(dir) == 0;
}

/* The rack's pin dir (kernel hooks), or NULL. */
static const char *rack_pin_dir(const struct rack_opts *o, char *buf, size_t size)
{
	if (o->hook == NW_HOOK_SOCKET || nw_pins_rack_dir(buf, size, o->pin_dir, o->rack) ||
	    nw_pins_exists(buf) != 1)
		return NULL;
	return buf;
}

static void remove_fresh_pins(const struct nw_log *log, const struct rack_opts *o)
{
	char dir[NW_PATH_MAX], q[NW_PATH_MAX + 64];

	if (nw_pins_rack_dir(dir, sizeof(dir), o->pin_dir, o->rack) || nw_pins_exists(dir) != 1)
		return;
	if (nw_pins_remove_all(log, dir))
		nw_warn(log, "start failed; could not remove its pins", "path=%s",
			nw_log_quote(q, sizeof(q), dir));
	else
		nw_info(log, "start failed; removed the pins it made", "path=%s",
			nw_log_quote(q, sizeof(q), dir));
}

int rack_daemon_run(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink)
{
	struct rack_source src = {
		.ops = o->hook == NW_HOOK_SOCKET ? &rack_socket_source : &rack_kernel_source,
		.log = log,
		.o = o,
		.fd = -1,
	};
	struct nw_evloop loop = { .epfd = -1 };
	struct rack_serve sv = { .http = NULL };
	int err, rc = 1, attached = 0, serving = 0, started = 0;
	int fresh_pins = fresh_pin_set(o);
	char pin_dir[NW_PATH_MAX];

	/* Open: the source's resources (the skeleton, against the pinned maps). */
	if (src.ops->open(&src))
		goto cleanup;
	/* Configure: what the source is built with, its size first (a pinned
	 * size wins over --max-servers). */
	if (src.ops->configure && src.ops->configure(&src))
		goto cleanup;
	/* Every drained record, of any slot, goes to the sink. */
	if (nw_drain_init(&src.drain, src.max_slots, rack_on_record, sink))
		goto cleanup;
	/* Load: programs and maps in the kernel, then the sample key and the
	 * servers expected, before any packet counts. */
	if (src.ops->load && src.ops->load(&src))
		goto cleanup;
	/* Attach: from here on records arrive. */
	if (src.ops->attach(&src))
		goto cleanup;
	attached = 1;

	/* Serve: the view, its analysis and the reporter, refreshed once
	 * before the first request can come. */
	if (rack_serve_init(&sv, log, o, src.max_slots))
		goto detach;
	serving = 1;
	/* Reset to NULL on every way out below, before sv goes out of scope. */
	// cppcheck-suppress autoVariables
	sink->live = &sv.live;
	// cppcheck-suppress autoVariables
	sink->analysis = &sv.analysis;
	nw_rack_view_set_hook(&sv.view, src.hook, src.iface);
	refresh(&src, &sv);
	/* Listen: --metrics binds while we may still bind anywhere. */
	if (rack_serve_listen(&sv, log, o))
		goto detach;
	/* Drop privileges: become --user, keeping only the capabilities the
	 * source needs to run and detach; the pin dir goes to that user so the
	 * XDP link pin can be removed at shutdown. */
	nw_caps_drop(log, &o->run_as, rack_pin_dir(o, pin_dir, sizeof(pin_dir)), src.ops->keep_caps,
		     src.ops->nkeep_caps);

	/* Loop: receive on every wake-up; liveness and the fast classes per
	 * tick; refresh, dump and flush per interval; serve HTTP and the
	 * reporter after every wake-up; stop on a signal or at --duration. */
	err = loop_init(&loop, &src, &sv, signal_fd);
	if (err) {
		nw_error(log, "cannot set up event loop", "err=%s", strerror(-err));
		goto detach;
	}
	started = 1;
	for (;;) {
		int ev = wait_events(&loop, nw_evloop_sooner(rack_serve_timeout_ms(&sv),
							     src.ops->wake_ms));

		/* A tick takes all the source holds, as if its fd had woken us:
		 * liveness must judge the newest records, not the last drain's. */
		src.ops->receive(&src, ev & RACK_EV_FAST_TICK ? ev | RACK_EV_SOURCE : ev);
		if (ev & RACK_EV_FAST_TICK)
			rack_serve_tick(&sv, nw_now_tai_ns());
		if (ev & RACK_EV_TICK) {
			refresh(&src, &sv);
			if (o->dump)
				dump(&src);
			rack_sink_flush(log, sink);
		}
		/* Every wake-up: MHD's sockets or its timeouts. */
		rack_serve_run(&sv);
		if (ev & RACK_EV_STOP)
			break;
	}

	/* Shut down: what is still waiting, a last dump, the record log. */
	src.ops->drain(&src);
	if (o->dump)
		dump(&src);
	rack_sink_flush(log, sink);
	nw_info(log, "shutting down", "hook=%s", src.hook);
	rc = 0;
detach:
	if (serving) {
		sink->live = NULL;
		sink->analysis = NULL;
		rack_serve_close(&sv);
	}
	/* Detach: exactly what attach installed. */
	if (attached && src.ops->detach)
		src.ops->detach(&src);
cleanup:
	nw_evloop_close(&loop);
	nw_drain_free(&src.drain);
	src.ops->close(&src);
	/* A start that failed leaves nothing behind it did not find: no maps,
	 * no links, no pinned key. A set an earlier run left is kept. */
	if (!started && fresh_pins)
		remove_fresh_pins(log, o);
	return rc;
}
