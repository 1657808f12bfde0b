// SPDX-License-Identifier: MIT
/* The eBPF path: pinned maps, per-server rings, an attached collector. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "caps.h"
#include "collector.skel.h"
#include "loader.h"
#include "meta.h"
#include "pins.h"
#include "rack.h"
#include "registry.h"
#include "snapshot.h"

struct kernel_run {
	const struct nw_log *log;
	const struct rack_opts *o;
	struct collector *skel;
	struct nw_registry reg;
	struct nw_drain drain;
	struct nw_attach att;
	uint64_t discovery_rejected;
	struct nw_meta meta; /* as written after attaching */
};

/* A slot is ready for the drain once its ring is in the epoll set. */
static int start_draining(struct kernel_run *k, uint32_t slot)
{
	int err;

	nw_drain_register(&k->drain, slot, k->reg.server_of[slot]);
	if (k->reg.stale_fd[slot] >= 0) {
		nw_drain_flush_ring(&k->drain, slot, k->reg.stale_fd[slot]);
		close(k->reg.stale_fd[slot]);
		k->reg.stale_fd[slot] = -1;
	}
	err = nw_drain_add_ring(&k->drain, slot, k->reg.ring_fd[slot]);
	if (err)
		nw_error(k->log, "cannot drain server ring", "server=%u slot=%u err=%s",
			 k->reg.server_of[slot], slot, strerror(-err));
	return err;
}

static int register_static(struct kernel_run *k)
{
	uint32_t fresh = 0, slot;
	int err;

	for (size_t i = 0; i < k->o->nservers; i++)
		fresh += !nw_registry_lookup(&k->reg, k->o->servers[i], &slot);
	err = nw_registry_prepare_rings(&k->reg, fresh);
	if (err)
		nw_warn(k->log, "cannot prepare server rings in one batch", "servers=%u err=%s",
			fresh, strerror(-err));
	for (size_t i = 0; i < k->o->nservers; i++) {
		uint32_t slot;
		int created, err;

		err = nw_registry_add(&k->reg, k->o->servers[i], 0, &slot, &created);
		if (err == -ENOSPC) {
			/* Pinned maps smaller than the list (their size wins on a
			 * restart): collect what fits rather than nothing. */
			nw_error(k->log, "no free slot: server not registered", "server=%u max_servers=%u",
				 k->o->servers[i], k->reg.max_slots);
			continue;
		}
		if (err) {
			nw_error(k->log, "cannot register server", "server=%u err=%s",
				 k->o->servers[i], strerror(-err));
			return err;
		}
		if (created) {
			nw_info(k->log, "registered server", "server=%u slot=%u", k->o->servers[i], slot);
			if (start_draining(k, slot))
				return -EIO;
		}
	}
	return 0;
}

static void handle_discoveries(struct kernel_run *k)
{
	struct nw_discovery ev[64];
	size_t n;

	while ((n = nw_drain_take_discoveries(&k->drain, ev, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			uint32_t slot;
			int created, err;

			/* The kernel only reports our rack, but the ring is not proof. */
			if (!k->o->discover || ev[i].rack_id != k->o->rack)
				continue;
			err = nw_registry_add(&k->reg, ev[i].server_id, 1, &slot, &created);
			if (err == -ENOSPC) {
				if (k->discovery_rejected++ == 0)
					nw_warn(k->log, "server table full: not registering new senders",
						"server=%u max_servers=%u", ev[i].server_id, k->reg.max_slots);
				continue;
			}
			if (err) {
				nw_warn(k->log, "cannot register discovered server", "server=%u err=%s",
					ev[i].server_id, strerror(-err));
				continue;
			}
			if (created) {
				nw_info(k->log, "registered discovered server", "server=%u slot=%u",
					ev[i].server_id, slot);
				start_draining(k, slot);
			}
		}
	}
}

static void dump(struct kernel_run *k)
{
	struct nw_dump_info info = {
		.rack = k->o->rack, .hook = nw_hook_name(k->att.hook), .iface = k->att.ifname,
		.port = k->o->port, .time_ns = nw_now_tai_ns(),
		.discovery_rejected = k->discovery_rejected,
	};
	struct nw_dump_server *srv = calloc(k->reg.count + 1, sizeof(*srv));
	struct nw_stats stats;
	size_t n = 0;

	if (!srv)
		return;
	nw_snapshot_stats(bpf_map__fd(k->skel->maps.nw_stats), &stats);
	for (uint32_t s = 0; s < k->drain.max_slots && n < k->reg.count; s++) {
		if (!k->drain.servers[s].registered)
			continue;
		if (nw_snapshot_state(bpf_map__fd(k->skel->maps.nw_state), s, &srv[n].st))
			continue;
		srv[n++].rx = &k->drain.servers[s];
	}
	rack_print_dump(k->log, &info, &stats, srv, n);
	free(srv);
}

/* The view the HTTP handlers render, once per interval. */
static void refresh(struct kernel_run *k, struct rack_serve *sv, int attached)
{
	struct nw_stats stats;
	struct nw_server_state st;
	int state_fd = bpf_map__fd(k->skel->maps.nw_state);

	memset(&stats, 0, sizeof(stats));
	nw_snapshot_stats(bpf_map__fd(k->skel->maps.nw_stats), &stats);
	nw_rack_view_begin(&sv->view, nw_now_tai_ns(), &stats, k->discovery_rejected, attached);
	for (uint32_t s = 0; s < k->drain.max_slots; s++) {
		if (!k->drain.servers[s].registered || nw_snapshot_state(state_fd, s, &st))
			continue;
		nw_rack_view_set_server(&sv->view, s, &st, &k->drain.servers[s]);
	}
	/* The spectral analysis writes sv->view.slots[slot]'s analysis fields here. */
	rack_serve_publish(sv);
}

static int write_meta(struct kernel_run *k, const struct nw_meta *prev)
{
	struct nw_meta m = {
		.hook = k->att.hook,
		.ifindex = (__u32)k->att.ifindex,
		.created_clsact = (__u32)k->att.created_clsact,
		.tc_handle = k->att.tc_handle,
		.tc_priority = k->att.tc_priority,
		.port = k->o->port,
		.rack_id = k->o->rack,
		.ring_bytes = k->o->ring_bytes,
		.started_ns = prev->started_ns ? prev->started_ns : nw_now_realtime_ns(),
		.restarts = prev->started_ns ? prev->restarts + 1 : 0,
	};

	k->meta = m;
	return nw_meta_write(bpf_map__fd(k->skel->maps.nw_meta), &m);
}

/* After a clean detach nothing is attached any more: the next start must
 * not go looking for a filter of ours to remove. */
static void clear_meta_attachment(struct kernel_run *k)
{
	struct nw_meta m = k->meta;

	m.hook = NW_HOOK_NONE;
	m.ifindex = 0;
	m.created_clsact = 0;
	m.tc_handle = 0;
	m.tc_priority = 0;
	nw_meta_write(bpf_map__fd(k->skel->maps.nw_meta), &m);
}

/* Before the program is attached, every start: a pinned nw_key from a run
 * with another key (or none) must never be what the new run enforces. */
static int write_key(struct kernel_run *k)
{
	struct nw_key v;
	__u32 zero = 0;
	int err = 0;

	memset(&v, 0, sizeof(v));
	if (k->o->keys.present) {
		v.enabled = 1;
		memcpy(v.key, k->o->keys.sample, sizeof(v.key));
	}
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.nw_key), &zero, &v, BPF_ANY))
		err = -errno;
	explicit_bzero(&v, sizeof(v));
	if (err) {
		/* Fail closed: a keyed rack that cannot enforce its key does not run. */
		nw_error(k->log, "cannot write the sample key", "err=%s", strerror(-err));
		return err;
	}
	if (k->o->keys.present)
		nw_info(k->log, "sample authentication on: untagged or badly tagged samples are dropped",
			"reason=auth_failed");
	else
		nw_info(k->log, "sample authentication off: tags are not checked", "key_file=%s", "none");
	return 0;
}

static int setup(struct kernel_run *k, struct rack_sink *sink, struct nw_meta *prev)
{
	struct nw_load_cfg cfg = {
		.rack_id = k->o->rack, .port = k->o->port, .max_servers = k->o->max_servers,
		/* With discovery off the kernel need not report anyone. */
		.discovery_per_sec = k->o->discover ? NW_DISCOVERY_PER_SEC_DEFAULT : 0,
	};
	char dir[NW_PATH_MAX];
	uint32_t max_slots;
	int err;

	if (nw_pins_rack_dir(dir, sizeof(dir), k->o->pin_dir, k->o->rack))
		return -ENAMETOOLONG;
	err = nw_pins_prepare(k->log, dir);
	if (err)
		return err;
	cfg.rack_dir = dir;
	k->skel = nw_loader_load(k->log, &cfg, &max_slots, &err);
	if (!k->skel)
		return err;
	err = write_key(k);
	if (err)
		return err;
	memset(prev, 0, sizeof(*prev));
	nw_meta_read(bpf_map__fd(k->skel->maps.nw_meta), prev);

	err = nw_drain_init(&k->drain, max_slots, rack_on_record, sink);
	if (!err)
		err = nw_drain_open_rings(&k->drain, bpf_map__fd(k->skel->maps.nw_discovery));
	if (!err)
		err = nw_registry_init(&k->reg, k->log, bpf_map__fd(k->skel->maps.nw_state),
				       bpf_map__fd(k->skel->maps.nw_index),
				       bpf_map__fd(k->skel->maps.nw_rings), k->o->rack, max_slots,
				       k->o->ring_bytes);
	if (err)
		return err;
	nw_registry_set_direct(&k->reg, bpf_map__fd(k->skel->maps.nw_direct));
	err = nw_registry_adopt(&k->reg);
	if (err) {
		nw_error(k->log, "cannot adopt registered servers", "err=%s", strerror(-err));
		return err;
	}
	for (uint32_t s = 0; s < max_slots; s++)
		if (k->reg.used[s] && start_draining(k, s))
			return -EIO;
	if (k->reg.count)
		nw_info(k->log, "adopted registered servers", "count=%u restarts=%llu", k->reg.count,
			(unsigned long long)prev->restarts + (prev->started_ns ? 1 : 0));
	err = register_static(k);
	if (err)
		return err;

	err = nw_attach_start(k->log, &k->att, k->o->hook, k->o->iface, dir,
			      bpf_program__fd(k->skel->progs.nw_xdp),
			      bpf_program__fd(k->skel->progs.nw_tc), prev);
	if (err) {
		char q[64];

		nw_error(k->log, "cannot attach collector", "iface=%s hook=%s err=%s",
			 nw_log_quote(q, sizeof(q), k->o->iface),
			 k->o->hook == NW_HOOK_AUTO ? "auto" : nw_hook_name(k->o->hook),
			 strerror(-err));
		return err;
	}
	{
		char q[64];

		nw_info(k->log, "collector attached", "hook=%s iface=%s ifindex=%d port=%u rack=%u",
			nw_hook_name(k->att.hook), nw_log_quote(q, sizeof(q), k->att.ifname),
			k->att.ifindex, k->o->port, k->o->rack);
	}
	err = write_meta(k, prev);
	if (err)
		nw_warn(k->log, "cannot record attach state in nw_meta", "err=%s", strerror(-err));
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

int rack_run_kernel(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink)
{
	/* Still needed after setup: CAP_BPF to create rings for discovered
	 * servers, CAP_NET_ADMIN to remove our tc filter/qdisc at shutdown. */
	static const int keep[] = { CAP_BPF, CAP_NET_ADMIN };
	struct kernel_run k = { .log = log, .o = o };
	struct rack_loop loop = { .epfd = -1, .timer_fd = -1, .deadline_fd = -1 };
	struct rack_serve sv = { .http = NULL };
	struct nw_meta prev;
	uint64_t last_drain_ms = 0;
	int err, rc = 1, have_view = 0;

	k.att.link_fd = -1;
	err = setup(&k, sink, &prev);
	if (err)
		goto out;
	if (rack_serve_init(&sv, log, o, k.drain.max_slots))
		goto detach;
	have_view = 1;
	sink->analysis = &sv.analysis;
	nw_rack_view_set_hook(&sv.view, nw_hook_name(k.att.hook), k.att.ifname);
	refresh(&k, &sv, 1);
	if (rack_serve_listen(&sv, log, o))
		goto detach;
	nw_caps_keep_only(log, keep, sizeof(keep) / sizeof(keep[0]));

	err = rack_loop_init(&loop, o->interval, o->duration, signal_fd);
	if (!err)
		err = rack_loop_add_source(&loop, nw_drain_epoll_fd(&k.drain));
	if (!err)
		err = rack_serve_add_to_loop(&sv, &loop);
	if (err) {
		nw_error(log, "cannot set up event loop", "err=%s", strerror(-err));
		goto detach;
	}
	for (;;) {
		int timeout = rack_serve_timeout_ms(&sv), ev;
		uint64_t now;

		/* Records do not wake us (collector.bpf.c): drain on a short period. */
		if (timeout < 0 || timeout > (int)NW_DRAIN_PERIOD_MS)
			timeout = (int)NW_DRAIN_PERIOD_MS;
		ev = rack_loop_wait(&loop, timeout);
		now = mono_ms();
		if ((ev & (RACK_EV_SOURCE | RACK_EV_TICK | RACK_EV_STOP)) ||
		    now - last_drain_ms >= NW_DRAIN_PERIOD_MS) {
			last_drain_ms = now;
			/* Every ring, not only those epoll saw woken. */
			err = nw_drain_consume(&k.drain);
			if (err < 0)
				nw_warn(log, "ring poll failed", "err=%s", strerror(-err));
			handle_discoveries(&k);
		}
		if (ev & RACK_EV_TICK) {
			refresh(&k, &sv, 1);
			if (o->dump)
				dump(&k);
			rack_sink_flush(log, sink);
		}
		/* Every wake-up: MHD's sockets or its timeouts. */
		rack_serve_run(&sv);
		if (ev & RACK_EV_STOP)
			break;
	}
	rc = 0;
	nw_drain_consume(&k.drain);
	if (o->dump)
		dump(&k);
	rack_sink_flush(log, sink);
	nw_info(log, "shutting down", "hook=%s", nw_hook_name(k.att.hook));
detach:
	if (have_view) {
		sink->analysis = NULL;
		rack_serve_close(&sv);
	}
	nw_attach_stop(log, &k.att);
	clear_meta_attachment(&k);
out:
	rack_loop_close(&loop);
	nw_registry_free(&k.reg);
	nw_drain_free(&k.drain);
	collector__destroy(k.skel);
	return rc;
}
