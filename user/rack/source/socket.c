// SPDX-License-Identifier: MIT
/* The socket source: no BPF; counters in a mapped state file under --state-dir. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fabric_paths.h"
#include "pins.h"
#include "snapshot.h"
#include "socket_rx.h"
#include "socket_store.h"
#include "source.h"

struct socket_source {
	struct nw_socket_store_map store; /* until the socket takes it over */
	struct nw_socket_rx rx;
	int have_rx;                  /* nw_socket_rx_open was called: rx owns the store */
	struct nw_fabric_paths paths; /* --fabric-peers */
};

static int socket_open(struct rack_source *src)
{
	struct socket_source *p = calloc(1, sizeof(*p));
	char path[NW_PATH_MAX];
	int err;

	if (!p)
		return -ENOMEM;
	p->rx.fd = -1;
	src->priv = p;
	/* Paths have slots of their own on top of the servers', as in the
	 * kernel's maps. */
	src->max_slots = nw_fabric_paths_slots(src->o);
	if (nw_socket_store_path(path, sizeof(path), src->o->state_dir, src->o->rack) ||
	    nw_mkdir_p(src->o->state_dir, 0700)) {
		nw_error(src->log, "cannot prepare the state directory", "dir=%s",
			 src->o->state_dir);
		return -EINVAL;
	}
	err = nw_socket_store_open(src->log, path, src->o->rack, &src->max_slots, &p->store);
	if (err)
		nw_error(src->log, "cannot open the socket state file", "file=%s err=%s", path,
			 strerror(-err));
	return err;
}

/* A path of --fabric-peers (docs/fabric.md section 3): the slot of
 * (source rack, NW_SERVER_FABRIC), next to the servers' in the state file. */
static int path_add(void *ctx, uint32_t src_rack, uint32_t *slot, int *created)
{
	struct socket_source *p = ctx;

	*created = !nw_socket_rx_lookup(&p->rx, src_rack, NW_SERVER_FABRIC, slot);
	return nw_socket_rx_add_key(&p->rx, src_rack, NW_SERVER_FABRIC, 0, slot);
}

static uint32_t path_src_rack(void *ctx, uint32_t slot)
{
	struct socket_source *p = ctx;

	return p->rx.p->state[slot].rack_id;
}

static int path_forget(void *ctx, uint32_t slot)
{
	struct socket_source *p = ctx;

	nw_socket_rx_remove(&p->rx, slot);
	return 0;
}

static struct nw_fabric_slots path_slots(struct socket_source *p)
{
	return (struct nw_fabric_slots){
		.ctx = p, .add = path_add, .src_rack = path_src_rack, .forget = path_forget
	};
}

static int is_static(void *arg, uint32_t rack_id, uint32_t server_id)
{
	const struct rack_source *src = arg;
	const struct socket_source *p = src->priv;

	return nw_fabric_paths_is_static(&p->paths, src->o, rack_id, server_id);
}

/* Binding is what starts the counting, so the key, --servers and the paths
 * follow it at once, before the loop reads the first datagram. */
static int socket_attach(struct rack_source *src)
{
	struct socket_source *p = src->priv;
	const struct rack_opts *o = src->o;
	struct nw_fabric_slots ps;
	int err;

	err = nw_fabric_paths_load(&p->paths, src->log, o, nw_now_realtime_ns() / 1000000000ULL);
	if (err)
		return err;
	p->have_rx = 1;
	err = nw_socket_rx_open(&p->rx, src->log, &src->drain, o->listen, o->port, o->rack,
				o->discover, &p->store);
	if (err) {
		nw_error(src->log, "cannot open socket hook", "port=%u err=%s", o->port,
			 strerror(-err));
		return err;
	}
	if (o->keys.present) {
		nw_socket_rx_set_key(&p->rx, o->keys.sample);
		nw_info(src->log,
			"sample authentication on: untagged or badly tagged samples are dropped",
			"reason=auth_failed");
	} else {
		nw_info(src->log, "sample authentication off: tags are not checked", "key_file=%s",
			"none");
	}
	for (size_t i = 0; i < o->nservers; i++) {
		uint32_t slot;

		/* Cannot fail: --servers was checked against --max-servers. */
		nw_socket_rx_add(&p->rx, o->servers[i], 0, &slot);
	}
	ps = path_slots(p);
	err = nw_fabric_paths_register(&p->paths, &ps);
	if (err)
		return err;
	nw_socket_rx_start_probation(&p->rx, is_static, src);
	nw_info(src->log, "collector listening", "hook=socket listen=%s rack=%u servers=%zu",
		p->rx.bound, o->rack, o->nservers);
	src->fd = p->rx.fd;
	src->hook = "socket";
	src->iface = NULL;
	return 0;
}

static void socket_receive(struct rack_source *src, int ev)
{
	struct socket_source *p = src->priv;
	int err;

	if (ev & RACK_EV_TICK) {
		struct nw_fabric_slots ps = path_slots(p);
		uint64_t now = nw_now_tai_ns();

		nw_socket_rx_review(&p->rx, now);
		nw_fabric_paths_rotate(&p->paths, &src->drain, &ps, now,
				       nw_now_realtime_ns() / 1000000000ULL);
	}
	if (!(ev & RACK_EV_SOURCE))
		return;
	err = nw_socket_rx_poll(&p->rx);
	if (err < 0)
		nw_warn(src->log, "socket receive failed", "err=%s", strerror(-err));
}

static void socket_drain(struct rack_source *src)
{
	struct socket_source *p = src->priv;

	nw_socket_rx_poll(&p->rx);
}

static void socket_stats(struct rack_source *src, struct nw_stats *stats,
			 uint64_t *discovery_rejected)
{
	struct socket_source *p = src->priv;

	*stats = p->rx.p->stats;
	stats->discovery_promoted = p->rx.promoted;
	stats->discovery_evicted = p->rx.evicted;
	stats->discovery_probation = p->rx.on_probation;
	*discovery_rejected = p->rx.p->discovery_rejected;
}

static void socket_each_server(struct rack_source *src, rack_server_fn fn, void *arg)
{
	struct socket_source *p = src->priv;

	/* Freed slots and servers on probation are not shown (probation.h). */
	for (uint32_t i = 0; i < p->rx.p->count; i++)
		if (p->rx.p->state[i].rack_id != NW_SOCKET_SLOT_FREE &&
		    !src->drain.servers[i].probation)
			fn(arg, i, &p->rx.p->state[i], &src->drain.servers[i]);
}

static void socket_close(struct rack_source *src)
{
	struct socket_source *p = src->priv;

	if (!p)
		return;
	if (p->have_rx)
		nw_socket_rx_close(&p->rx);
	else
		nw_socket_store_close(&p->store);
	nw_fabric_paths_free(&p->paths);
	free(p);
	src->priv = NULL;
}

/* The socket is bound: nothing privileged is left to do. */
const struct rack_source_ops rack_socket_source = {
	.open = socket_open,
	.attach = socket_attach,
	.receive = socket_receive,
	.drain = socket_drain,
	.stats = socket_stats,
	.each_server = socket_each_server,
	.close = socket_close,
	.keep_caps = NULL,
	.nkeep_caps = 0,
	.wake_ms = -1,
};
