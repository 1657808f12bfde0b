// SPDX-License-Identifier: MIT
/* The eBPF source: pinned maps, per-server rings, an attached collector. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "collector.skel.h"
#include "fabric_paths.h"
#include "loader.h"
#include "meta.h"
#include "pins.h"
#include "probation.h"
#include "registry.h"
#include "snapshot.h"
#include "source.h"

struct kernel_source {
	char dir[NW_PATH_MAX]; /* this rack's pins */
	struct collector *skel;
	struct nw_registry reg;
	struct nw_attach att;
	uint64_t discovery_rejected;
	uint64_t promoted, evicted; /* discovered servers, probation.h */
	uint32_t quota, on_probation;
	uint64_t last_review_ns;
	uint8_t *in_drain;   /* per slot: its ring is in the drain's epoll set */
	struct nw_meta prev; /* the previous run's nw_meta, zeroed when none */
	struct nw_meta meta; /* as written after attaching */
	uint64_t last_drain_ms;
	struct nw_fabric_paths paths; /* --fabric-peers */
};

/* A slot is ready for the drain once its ring is in the epoll set. */
static int start_draining(struct rack_source *src, uint32_t slot)
{
	struct kernel_source *k = src->priv;
	int err;

	nw_drain_register(&src->drain, slot, k->reg.server_of[slot]);
	if (k->in_drain[slot])
		return 0; /* a freed slot's ring, reused: already drained */
	if (k->reg.stale_fd[slot] >= 0) {
		nw_drain_flush_ring(&src->drain, slot, k->reg.stale_fd[slot]);
		close(k->reg.stale_fd[slot]);
		k->reg.stale_fd[slot] = -1;
	}
	err = nw_drain_add_ring(&src->drain, slot, k->reg.ring_fd[slot]);
	if (err)
		nw_error(src->log, "cannot drain server ring", "server=%u slot=%u err=%s",
			 k->reg.server_of[slot], slot, strerror(-err));
	else
		k->in_drain[slot] = 1;
	return err;
}

/* Registered from the command line (--servers, or a path of --fabric-peers):
 * never on probation. */
static int is_static(const struct rack_source *src, uint32_t slot)
{
	const struct kernel_source *k = src->priv;

	return nw_fabric_paths_is_static(&k->paths, src->o, k->reg.rack_of[slot],
					 k->reg.server_of[slot]);
}

static void put_on_probation(struct rack_source *src, uint32_t slot, uint64_t now)
{
	struct kernel_source *k = src->priv;

	src->drain.servers[slot].probation = 1;
	src->drain.servers[slot].since_ns = now;
	k->on_probation++;
}

/* Frees a probation slot: the collector stops counting it first, then its
 * last records are drained under its own name, then it is forgotten. */
static int forget(struct rack_source *src, uint32_t slot)
{
	struct kernel_source *k = src->priv;
	int err = nw_registry_remove(&k->reg, slot);

	if (err)
		return err;
	nw_drain_consume(&src->drain);
	if (src->drain.servers[slot].probation)
		k->on_probation--;
	nw_drain_unregister(&src->drain, slot);
	return 0;
}

static void evict(struct rack_source *src, uint32_t slot, const char *why)
{
	struct kernel_source *k = src->priv;
	uint32_t server = k->reg.server_of[slot];
	int err = forget(src, slot);

	if (err) {
		nw_warn(src->log, "cannot evict server", "server=%u slot=%u err=%s", server, slot,
			strerror(-err));
		return;
	}
	k->evicted++;
	nw_debug(src->log, "evicted discovered server", "server=%u slot=%u reason=%s", server, slot,
		 why);
}

/* Promotes or evicts the servers on probation (at most once a second). */
static void review_probation(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	int state_fd = bpf_map__fd(k->skel->maps.nw_state);
	uint64_t now = nw_now_tai_ns();
	struct nw_server_state st;

	if (!k->on_probation || now < k->last_review_ns + 1000000000ULL)
		return;
	k->last_review_ns = now;
	for (uint32_t s = 0; s < src->drain.max_slots; s++) {
		struct nw_server_rx *rx = &src->drain.servers[s];

		if (!rx->registered || !rx->probation || nw_snapshot_state(state_fd, s, &st))
			continue;
		switch (nw_probation_judge(&st, rx->since_ns, now)) {
		case NW_PROBATION_PROMOTE:
			rx->probation = 0;
			k->on_probation--;
			k->promoted++;
			nw_info(src->log, "discovered server earned its place", "server=%u slot=%u",
				rx->server_id, s);
			break;
		case NW_PROBATION_EVICT:
			evict(src, s, "no sustained tone");
			break;
		default:
			break;
		}
	}
}

/* Room for one more server on probation: evicts the one with the fewest
 * samples when the quota is used up and that one has too few to matter. */
static int make_probation_room(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	int state_fd = bpf_map__fd(k->skel->maps.nw_state);
	uint32_t victim = UINT32_MAX;
	uint64_t fewest = UINT64_MAX;
	struct nw_server_state st;

	if (k->on_probation < k->quota)
		return 1;
	for (uint32_t s = 0; s < src->drain.max_slots; s++) {
		const struct nw_server_rx *rx = &src->drain.servers[s];

		if (rx->registered && rx->probation && !nw_snapshot_state(state_fd, s, &st) &&
		    st.received < fewest) {
			fewest = st.received;
			victim = s;
		}
	}
	if (victim == UINT32_MAX || fewest >= NW_PROBATION_MIN_SAMPLES)
		return 0;
	evict(src, victim, "replaced");
	return 1;
}

static int register_static(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	const struct rack_opts *o = src->o;
	uint32_t fresh = 0, slot;
	int err;

	for (size_t i = 0; i < o->nservers; i++)
		fresh += !nw_registry_lookup(&k->reg, o->servers[i], &slot);
	err = nw_registry_prepare_rings(&k->reg, fresh);
	if (err)
		nw_warn(src->log, "cannot prepare server rings in one batch", "servers=%u err=%s",
			fresh, strerror(-err));
	for (size_t i = 0; i < o->nservers; i++) {
		int created;

		err = nw_registry_add(&k->reg, o->servers[i], 0, &slot, &created);
		if (err == -ENOSPC) {
			/* Pinned maps smaller than the list (their size wins on a
			 * restart): collect what fits rather than nothing. */
			nw_error(src->log, "no free slot: server not registered",
				 "server=%u max_servers=%u", o->servers[i], k->reg.max_slots);
			continue;
		}
		if (err) {
			nw_error(src->log, "cannot register server", "server=%u err=%s",
				 o->servers[i], strerror(-err));
			return err;
		}
		if (created) {
			nw_info(src->log, "registered server", "server=%u slot=%u", o->servers[i],
				slot);
			if (start_draining(src, slot))
				return -EIO;
		}
	}
	return 0;
}

/* A path of --fabric-peers (docs/fabric.md section 3): the slot of
 * (source rack, NW_SERVER_FABRIC), drained like a server's. */
static int path_add(void *ctx, uint32_t src_rack, uint32_t *slot, int *created)
{
	struct rack_source *src = ctx;
	struct kernel_source *k = src->priv;
	int err = nw_registry_add_key(&k->reg, src_rack, NW_SERVER_FABRIC, 0, slot, created);

	if (err || !*created)
		return err;
	return start_draining(src, *slot) ? -EIO : 0;
}

static uint32_t path_src_rack(void *ctx, uint32_t slot)
{
	struct rack_source *src = ctx;
	struct kernel_source *k = src->priv;

	return k->reg.rack_of[slot];
}

static int path_forget(void *ctx, uint32_t slot)
{
	return forget(ctx, slot);
}

static struct nw_fabric_slots path_slots(struct rack_source *src)
{
	return (struct nw_fabric_slots){
		.ctx = src, .add = path_add, .src_rack = path_src_rack, .forget = path_forget
	};
}

static void rotate_paths(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	struct nw_fabric_slots ps = path_slots(src);

	nw_fabric_paths_rotate(&k->paths, &src->drain, &ps, nw_now_tai_ns(),
			       nw_now_realtime_ns() / 1000000000ULL);
}

static void handle_discoveries(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	struct nw_discovery ev[64];
	size_t n;

	while ((n = nw_drain_take_discoveries(&src->drain, ev, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			uint32_t slot;
			int created, err;

			/* The kernel only reports our rack's servers and paths into
			 * it, but the ring is not proof. */
			if (!src->o->discover ||
			    (ev[i].rack_id != src->o->rack && ev[i].server_id != NW_SERVER_FABRIC))
				continue;
			if (nw_registry_lookup_key(&k->reg, ev[i].rack_id, ev[i].server_id, &slot))
				continue; /* reported again before its first sample counted */
			if (!make_probation_room(src)) {
				/* Every probation slot holds a sender with samples. */
				if (k->discovery_rejected++ == 0)
					nw_warn(src->log,
						"probation slots full: not registering new senders",
						"server=%u quota=%u", ev[i].server_id, k->quota);
				continue;
			}
			err = nw_registry_add_key(&k->reg, ev[i].rack_id, ev[i].server_id, 1, &slot,
						  &created);
			if (err == -ENOSPC) {
				if (k->discovery_rejected++ == 0)
					nw_warn(src->log,
						"server table full: not registering new senders",
						"server=%u max_servers=%u", ev[i].server_id,
						k->reg.max_slots);
				continue;
			}
			if (err) {
				nw_warn(src->log, "cannot register discovered server",
					"server=%u err=%s", ev[i].server_id, strerror(-err));
				continue;
			}
			if (created && !start_draining(src, slot)) {
				put_on_probation(src, slot, nw_now_tai_ns());
				nw_debug(src->log, "discovered server on probation",
					 "server=%u slot=%u", ev[i].server_id, slot);
			}
		}
	}
}

/* Before the program is attached, every start: a pinned nw_key from a run
 * with another key (or none) must never be what the new run enforces. */
static int write_key(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	struct nw_key v;
	__u32 zero = 0;
	int err = 0;

	memset(&v, 0, sizeof(v));
	if (src->o->keys.present) {
		v.enabled = 1;
		memcpy(v.key, src->o->keys.sample, sizeof(v.key));
	}
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.nw_key), &zero, &v, BPF_ANY))
		err = -errno;
	explicit_bzero(&v, sizeof(v));
	if (err) {
		/* Fail closed: a keyed rack that cannot enforce its key does not run. */
		nw_error(src->log, "cannot write the sample key", "err=%s", strerror(-err));
		return err;
	}
	if (src->o->keys.present)
		nw_info(src->log,
			"sample authentication on: untagged or badly tagged samples are dropped",
			"reason=auth_failed");
	else
		nw_info(src->log, "sample authentication off: tags are not checked", "key_file=%s",
			"none");
	return 0;
}

static int write_meta(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	struct nw_meta m = {
		.hook = k->att.hook,
		.ifindex = (__u32)k->att.ifindex,
		.created_clsact = (__u32)k->att.created_clsact,
		.tc_handle = k->att.tc_handle,
		.tc_priority = k->att.tc_priority,
		.port = src->o->port,
		.rack_id = src->o->rack,
		.ring_bytes = src->o->ring_bytes,
		.started_ns = k->prev.started_ns ? k->prev.started_ns : nw_now_realtime_ns(),
		.restarts = k->prev.started_ns ? k->prev.restarts + 1 : 0,
	};

	k->meta = m;
	return nw_meta_write(bpf_map__fd(k->skel->maps.nw_meta), &m);
}

/* After a clean detach nothing is attached any more: the next start must
 * not go looking for a filter of ours to remove. */
static void clear_meta_attachment(struct kernel_source *k)
{
	struct nw_meta m = k->meta;

	m.hook = NW_HOOK_NONE;
	m.ifindex = 0;
	m.created_clsact = 0;
	m.tc_handle = 0;
	m.tc_priority = 0;
	nw_meta_write(bpf_map__fd(k->skel->maps.nw_meta), &m);
}

static struct nw_load_cfg load_cfg(const struct rack_source *src, const char *rack_dir)
{
	return (struct nw_load_cfg){
		.rack_dir = rack_dir,
		.rack_id = src->o->rack,
		.port = src->o->port,
		/* Paths have slots of their own on top of the servers'. */
		.max_servers = nw_fabric_paths_slots(src->o),
		/* With discovery off the kernel need not report anyone. */
		.discovery_per_sec = src->o->discover ? NW_DISCOVERY_PER_SEC_DEFAULT : 0,
	};
}

static int kernel_open(struct rack_source *src)
{
	struct kernel_source *k = calloc(1, sizeof(*k));
	struct nw_load_cfg cfg;
	int err;

	if (!k)
		return -ENOMEM;
	k->att.link_fd = -1;
	src->priv = k;
	if (nw_pins_rack_dir(k->dir, sizeof(k->dir), src->o->pin_dir, src->o->rack))
		return -ENAMETOOLONG;
	err = nw_pins_prepare(src->log, k->dir);
	if (err)
		return err;
	cfg = load_cfg(src, k->dir);
	k->skel = nw_loader_open(src->log, &cfg, &err);
	return k->skel ? 0 : err;
}

static int kernel_configure(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	struct nw_load_cfg cfg = load_cfg(src, k->dir);

	nw_loader_configure(src->log, &cfg, k->skel, &src->max_slots);
	return 0;
}

static int kernel_load(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	int err;

	err = nw_loader_load(src->log, k->skel);
	if (err)
		return err;
	err = write_key(src);
	if (err)
		return err;
	nw_meta_read(bpf_map__fd(k->skel->maps.nw_meta), &k->prev);

	/* Before adoption: an adopted path of the file is static, not on
	 * probation. */
	err = nw_fabric_paths_load(&k->paths, src->log, src->o,
				   nw_now_realtime_ns() / 1000000000ULL);
	if (err)
		return err;
	err = nw_drain_open_rings(&src->drain, bpf_map__fd(k->skel->maps.nw_discovery));
	if (!err)
		err = nw_registry_init(&k->reg, src->log, bpf_map__fd(k->skel->maps.nw_state),
				       bpf_map__fd(k->skel->maps.nw_index),
				       bpf_map__fd(k->skel->maps.nw_rings), src->o->rack,
				       src->max_slots, src->o->ring_bytes);
	if (err)
		return err;
	nw_registry_set_direct(&k->reg, bpf_map__fd(k->skel->maps.nw_direct));
	err = nw_registry_adopt(&k->reg);
	if (err) {
		nw_error(src->log, "cannot adopt registered servers", "err=%s", strerror(-err));
		return err;
	}
	k->quota = nw_probation_quota(src->max_slots);
	k->in_drain = calloc(src->max_slots ? src->max_slots : 1, 1);
	if (!k->in_drain)
		return -ENOMEM;
	for (uint32_t s = 0; s < src->max_slots; s++) {
		struct nw_server_state st;

		if (!k->reg.used[s])
			continue;
		if (start_draining(src, s))
			return -EIO;
		/* A server an earlier run discovered keeps its place only if
		 * its counters show it earned it; a pinned phantom does not. */
		if (!is_static(src, s) &&
		    !nw_snapshot_state(bpf_map__fd(k->skel->maps.nw_state), s, &st) &&
		    !nw_probation_earned(&st))
			put_on_probation(src, s, nw_now_tai_ns());
	}
	if (k->reg.count)
		nw_info(src->log, "adopted registered servers", "count=%u restarts=%llu",
			k->reg.count,
			(unsigned long long)k->prev.restarts + (k->prev.started_ns ? 1 : 0));
	err = register_static(src);
	if (!err) {
		struct nw_fabric_slots ps = path_slots(src);

		err = nw_fabric_paths_register(&k->paths, &ps);
	}
	return err;
}

static int kernel_attach(struct rack_source *src)
{
	struct kernel_source *k = src->priv;
	const struct rack_opts *o = src->o;
	char q[64];
	int err;

	err = nw_attach_start(src->log, &k->att, o->hook, o->iface, k->dir,
			      bpf_program__fd(k->skel->progs.nw_xdp),
			      bpf_program__fd(k->skel->progs.nw_tc), &k->prev);
	if (err) {
		nw_error(src->log, "cannot attach collector", "iface=%s hook=%s err=%s",
			 nw_log_quote(q, sizeof(q), o->iface),
			 o->hook == NW_HOOK_AUTO ? "auto" : nw_hook_name(o->hook), strerror(-err));
		return err;
	}
	nw_info(src->log, "collector attached", "hook=%s iface=%s ifindex=%d port=%u rack=%u",
		nw_hook_name(k->att.hook), nw_log_quote(q, sizeof(q), k->att.ifname),
		k->att.ifindex, o->port, o->rack);
	err = write_meta(src);
	if (err)
		nw_warn(src->log, "cannot record attach state in nw_meta", "err=%s",
			strerror(-err));
	src->fd = nw_drain_epoll_fd(&src->drain);
	src->hook = nw_hook_name(k->att.hook);
	src->iface = k->att.ifname;
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000U + (uint64_t)ts.tv_nsec / 1000000U;
}

static void kernel_receive(struct rack_source *src, int ev)
{
	struct kernel_source *k = src->priv;
	uint64_t now = mono_ms();
	int err;

	/* Records do not wake us (collector.bpf.c): drain on a short period. */
	if (!(ev & (RACK_EV_SOURCE | RACK_EV_TICK | RACK_EV_STOP)) &&
	    now - k->last_drain_ms < NW_DRAIN_PERIOD_MS)
		return;
	k->last_drain_ms = now;
	/* Every ring, not only those epoll saw woken. */
	err = nw_drain_consume(&src->drain);
	if (err < 0)
		nw_warn(src->log, "ring poll failed", "err=%s", strerror(-err));
	handle_discoveries(src);
	review_probation(src);
	rotate_paths(src);
}

static void kernel_drain(struct rack_source *src)
{
	nw_drain_consume(&src->drain);
}

static void kernel_stats(struct rack_source *src, struct nw_stats *stats,
			 uint64_t *discovery_rejected)
{
	struct kernel_source *k = src->priv;

	nw_snapshot_stats(bpf_map__fd(k->skel->maps.nw_stats), stats);
	stats->discovery_promoted = k->promoted;
	stats->discovery_evicted = k->evicted;
	stats->discovery_probation = k->on_probation;
	*discovery_rejected = k->discovery_rejected;
}

static void kernel_each_server(struct rack_source *src, rack_server_fn fn, void *arg)
{
	struct kernel_source *k = src->priv;
	int state_fd = bpf_map__fd(k->skel->maps.nw_state);
	struct nw_server_state st;

	for (uint32_t s = 0; s < src->drain.max_slots; s++) {
		/* Servers on probation are counted, not shown: they have not
		 * earned a place in the scores, the metrics or the dump. */
		if (!src->drain.servers[s].registered || src->drain.servers[s].probation ||
		    nw_snapshot_state(state_fd, s, &st))
			continue;
		fn(arg, s, &st, &src->drain.servers[s]);
	}
}

static void kernel_detach(struct rack_source *src)
{
	struct kernel_source *k = src->priv;

	nw_attach_stop(src->log, &k->att);
	clear_meta_attachment(k);
}

static void kernel_close(struct rack_source *src)
{
	struct kernel_source *k = src->priv;

	if (!k)
		return;
	nw_registry_free(&k->reg);
	nw_fabric_paths_free(&k->paths);
	free(k->in_drain);
	collector__destroy(k->skel);
	free(k);
	src->priv = NULL;
}

/* Still needed once attached: CAP_BPF to create rings for discovered
 * servers, CAP_NET_ADMIN to remove our tc filter/qdisc at shutdown. */
static const int kernel_caps[] = { CAP_BPF, CAP_NET_ADMIN };

const struct rack_source_ops rack_kernel_source = {
	.open = kernel_open,
	.configure = kernel_configure,
	.load = kernel_load,
	.attach = kernel_attach,
	.receive = kernel_receive,
	.drain = kernel_drain,
	.stats = kernel_stats,
	.each_server = kernel_each_server,
	.detach = kernel_detach,
	.close = kernel_close,
	.keep_caps = kernel_caps,
	.nkeep_caps = sizeof(kernel_caps) / sizeof(kernel_caps[0]),
	.wake_ms = (int)NW_DRAIN_PERIOD_MS,
};
