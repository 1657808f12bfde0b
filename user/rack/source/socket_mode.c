// SPDX-License-Identifier: MIT
/* The socket hook: no BPF; counters in a mapped state file under --state-dir. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "meta.h"
#include "pins.h"
#include "rack.h"
#include "snapshot.h"
#include "socket_rx.h"

static void dump(const struct rack_opts *o, const struct nw_log *log, struct nw_socket_rx *s,
		 struct nw_drain *d)
{
	struct nw_dump_info info = {
		.rack = o->rack, .hook = "socket", .iface = NULL, .port = o->port,
		.time_ns = nw_now_tai_ns(), .discovery_rejected = s->p->discovery_rejected,
	};
	struct nw_dump_server *srv = calloc(s->p->count + 1, sizeof(*srv));

	if (!srv)
		return;
	for (uint32_t i = 0; i < s->p->count; i++) {
		srv[i].st = s->p->state[i];
		srv[i].rx = &d->servers[i];
	}
	rack_print_dump(log, &info, &s->p->stats, srv, s->p->count);
	free(srv);
}

static void refresh(struct nw_socket_rx *s, struct nw_drain *d, struct rack_serve *sv)
{
	nw_rack_view_begin(&sv->view, nw_now_tai_ns(), &s->p->stats, s->p->discovery_rejected, 1);
	for (uint32_t i = 0; i < s->p->count; i++)
		nw_rack_view_set_server(&sv->view, i, &s->p->state[i], &d->servers[i]);
	/* The spectral analysis writes sv->view.slots[slot]'s analysis fields here. */
	rack_serve_publish(sv);
}

int rack_run_socket(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink)
{
	struct rack_loop loop = { .epfd = -1, .timer_fd = -1, .deadline_fd = -1 };
	struct nw_socket_rx s = { .fd = -1 };
	struct nw_drain d;
	struct rack_serve sv = { .http = NULL };
	int err, rc = 1, have_view = 0;

	struct nw_socket_store_map store;
	uint32_t max_slots = o->max_servers;
	char path[NW_PATH_MAX];

	if (nw_socket_store_path(path, sizeof(path), o->state_dir, o->rack) ||
	    nw_mkdir_p(o->state_dir, 0700)) {
		nw_error(log, "cannot prepare the state directory", "dir=%s", o->state_dir);
		return 1;
	}
	err = nw_socket_store_open(log, path, o->rack, &max_slots, &store);
	if (err) {
		nw_error(log, "cannot open the socket state file", "file=%s err=%s", path,
			 strerror(-err));
		return 1;
	}
	err = nw_drain_init(&d, max_slots, rack_on_record, sink);
	if (err) {
		nw_socket_store_close(&store);
		return 1;
	}
	err = nw_socket_rx_open(&s, log, &d, o->listen, o->port, o->rack, o->discover, &store);
	if (err) {
		nw_error(log, "cannot open socket hook", "port=%u err=%s", o->port, strerror(-err));
		goto out;
	}
	if (o->keys.present) {
		nw_socket_rx_set_key(&s, o->keys.sample);
		nw_info(log, "sample authentication on: untagged or badly tagged samples are dropped",
			"reason=auth_failed");
	} else {
		nw_info(log, "sample authentication off: tags are not checked", "key_file=%s", "none");
	}
	for (size_t i = 0; i < o->nservers; i++) {
		uint32_t slot;

		/* Cannot fail: --servers was checked against --max-servers. */
		nw_socket_rx_add(&s, o->servers[i], 0, &slot);
	}
	nw_info(log, "collector listening", "hook=socket listen=%s rack=%u servers=%zu", s.bound,
		o->rack, o->nservers);
	if (rack_serve_init(&sv, log, o, max_slots))
		goto out;
	have_view = 1;
	sink->analysis = &sv.analysis;
	nw_rack_view_set_hook(&sv.view, "socket", NULL);
	refresh(&s, &d, &sv);
	if (rack_serve_listen(&sv, log, o))
		goto out;
	/* The sockets are bound: nothing privileged is left to do. */
	nw_caps_keep_only(log, NULL, 0);

	err = rack_loop_init(&loop, o->interval, o->duration, signal_fd);
	if (!err)
		err = rack_loop_add_source(&loop, s.fd);
	if (!err)
		err = rack_serve_add_to_loop(&sv, &loop);
	if (err) {
		nw_error(log, "cannot set up event loop", "err=%s", strerror(-err));
		goto out;
	}
	for (;;) {
		int ev = rack_loop_wait(&loop, rack_serve_timeout_ms(&sv));

		if (ev & RACK_EV_SOURCE) {
			err = nw_socket_rx_poll(&s);
			if (err < 0)
				nw_warn(log, "socket receive failed", "err=%s", strerror(-err));
		}
		if (ev & RACK_EV_TICK) {
			refresh(&s, &d, &sv);
			if (o->dump)
				dump(o, log, &s, &d);
			rack_sink_flush(log, sink);
		}
		/* Every wake-up: MHD's sockets or its timeouts. */
		rack_serve_run(&sv);
		if (ev & RACK_EV_STOP)
			break;
	}
	nw_socket_rx_poll(&s);
	if (o->dump)
		dump(o, log, &s, &d);
	rack_sink_flush(log, sink);
	nw_info(log, "shutting down", "hook=socket");
	rc = 0;
out:
	if (have_view) {
		sink->analysis = NULL;
		rack_serve_close(&sv);
	}
	rack_loop_close(&loop);
	nw_socket_rx_close(&s);
	nw_drain_free(&d);
	return rc;
}
