/* SPDX-License-Identifier: MIT */
#include "run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fabric_mesh.h"
#include "fabric_peers.h"
#include "impair.h"
#include "rng.h"
#include "wire.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t mono_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(mono_ns / 1000000000ULL),
		.tv_nsec = (long)(mono_ns % 1000000000ULL),
	};

	/* EINTR returns to the loop, which looks at the stop flag first. */
	(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static size_t pending_capacity(const struct nw_opts *o, const struct nw_impair *imp, uint32_t n)
{
	/* Room for every sample in flight: (delay + 6 sigma) of ticks, plus slack. */
	double hz = (double)o->rate_uhz / 1e6;
	double ticks = ceil(hz * (imp->delay_ms + 6.0 * imp->jitter_ms) / 1000.0) + 2.0;
	double cap = ticks * (double)n;

	if (cap < NW_PENDING_MIN)
		return NW_PENDING_MIN;
	if (cap > NW_PENDING_MAX)
		return NW_PENDING_MAX;
	return (size_t)cap;
}

/* Random, new at every start. getrandom(2) only blocks before the kernel's
 * pool is ready at boot; should it fail, time and pid still differ. */
static uint64_t start_nonce(void)
{
	uint64_t n = 0;
	struct timespec ts;

	if (getrandom(&n, sizeof(n), 0) == (ssize_t)sizeof(n) && n)
		return n;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
}

static int control_peers(void *ctx, const char *path, char *err, size_t errlen);
static void flush(struct nw_agent *a);
static void discard_pending(struct nw_agent *a);

/* The impairment key of stream i: a server's (rack, id), or for a path
 * (source rack, a value no server id below NW_SERVER_FABRIC can have). */
static uint64_t stream_ikey(const struct nw_agent *a, uint32_t i)
{
	if (a->fabric)
		return nw_impair_server_key(a->seed, a->st[i].rack, 0xFFFF0000U | a->st[i].server);
	return nw_impair_server_key(a->seed, a->o->rack, a->o->server + i);
}

/* Reads a peers file and checks its self against --rack. *out is the
 * caller's to free on success. */
static enum nw_open_result read_peers(const struct nw_opts *o, const char *path,
				      struct nw_fabric_peers *out, char *err, size_t errlen)
{
	char why[256];

	if (nw_fabric_peers_load(path, out, why, sizeof(why))) {
		snprintf(err, errlen, "--fabric-peers %.200s: %s", path, why);
		return NW_OPEN_BAD_INPUT;
	}
	if (o->has_rack && out->self != o->rack) {
		snprintf(err, errlen, "--fabric-peers %.200s: self is rack %u, not --rack %u", path,
			 (unsigned)out->self, (unsigned)o->rack);
		nw_fabric_peers_free(out);
		return NW_OPEN_BAD_INPUT;
	}
	return NW_OPEN_OK;
}

static uint64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/* The peers of `file` in `epoch` (a rotating mesh narrowed to it, a fixed
 * file as it is), every address resolved to o->port, all of one family.
 * *out and *dest are the caller's to free on success. */
static enum nw_open_result pick_peers(const struct nw_opts *o, const struct nw_fabric_peers *file,
				      uint64_t epoch, struct nw_fabric_peers *out,
				      struct nw_endpoint **dest, int *family, char *err,
				      size_t errlen)
{
	char why[256];

	if (nw_fabric_peers_at(file, epoch, 0, out) < 0) {
		snprintf(err, errlen, "out of memory for %zu peers", file->n);
		return NW_OPEN_FAILED;
	}
	if (!out->n) {
		snprintf(err, errlen, "--fabric-peers: no rack to send to");
		nw_fabric_peers_free(out);
		return NW_OPEN_BAD_INPUT;
	}
	*dest = calloc(out->n, sizeof(**dest));
	if (!*dest) {
		snprintf(err, errlen, "out of memory for %zu peers", out->n);
		nw_fabric_peers_free(out);
		return NW_OPEN_FAILED;
	}
	for (size_t i = 0; i < out->n; i++) {
		if (nw_resolve(out->peer[i].addr, o->port, *family, &(*dest)[i], why, sizeof(why)) <
		    0) {
			snprintf(err, errlen, "--fabric-peers: rack %u: %s",
				 (unsigned)out->peer[i].rack_id, why);
			free(*dest);
			*dest = NULL;
			nw_fabric_peers_free(out);
			return NW_OPEN_BAD_INPUT;
		}
		*family = (*dest)[i].addr.ss_family; /* the first one's, for all */
	}
	return NW_OPEN_OK;
}

/* Stream i of a fabric agent: the path to peer p. */
static void fabric_stream(struct nw_agent *a, uint32_t i, const struct nw_fabric_peers *p,
			  size_t peer)
{
	const struct nw_opts *o = a->o;

	a->st[i].rack = p->self;
	a->st[i].server = p->peer[peer].rack_id; /* the report's "server": the dst rack */
	a->st[i].freq_uhz = o->freq_uhz;
	nw_wire_fabric_template(&a->tmpl[i], &a->fab[i], p->self, p->peer[peer].rack_id, p->epoch,
				(uint32_t)o->freq_uhz, (uint32_t)o->rate_uhz);
	nw_wire_set_nonce(&a->tmpl[i], a->nonce);
}

static enum nw_open_result fabric_open(struct nw_agent *a, const struct nw_opts *o,
				       struct nw_fabric_peers *p, char *err, size_t errlen)
{
	struct nw_endpoint src;
	enum nw_open_result r;

	err[0] = 0;
	a->family = AF_UNSPEC;
	r = read_peers(o, o->fabric_peers, &a->mesh, err, errlen);
	if (r != NW_OPEN_OK)
		return r;
	if (a->mesh.k)
		a->epoch_cur = nw_fabric_mesh_epoch_at(wall_s(), a->mesh.epoch_s);
	r = pick_peers(o, &a->mesh, a->epoch_cur, p, &a->dest, &a->family, err, errlen);
	if (!a->mesh.k) /* exactly these peers: nothing to keep */
		nw_fabric_peers_free(&a->mesh);
	if (r != NW_OPEN_OK)
		return r;
	if (o->source[0] && nw_resolve(o->source, 0, a->family, &src, err, errlen) < 0)
		return NW_OPEN_BAD_INPUT;
	a->fd = nw_sender_open_unconnected(a->family, o->source[0] ? &src : NULL, err, errlen);
	if (a->fd < 0)
		return NW_OPEN_BAD_INPUT;
	a->n = (uint32_t)p->n;
	snprintf(a->peer, sizeof(a->peer), "%zu racks (fabric, from rack %u)", p->n,
		 (unsigned)p->self);
	return NW_OPEN_OK;
}

enum nw_open_result nw_agent_open(struct nw_agent *a, const struct nw_opts *o, char *err,
				  size_t errlen)
{
	struct nw_endpoint dst, src;
	struct nw_fabric_peers peers = { 0 };
	enum nw_open_result r;
	uint64_t nonce;

	memset(a, 0, sizeof(*a));
	a->o = o;
	a->fd = -1;
	a->ctl.fd = -1;
	a->n = o->servers;
	a->imp = o->impair;
	a->impaired = nw_impair_active(&a->imp);
	a->delayed = nw_impair_delays(&a->imp);
	a->seed = a->imp.has_seed ? a->imp.seed : nw_seed_from_clock();

	if (o->fabric) {
		a->fabric = 1;
		r = fabric_open(a, o, &peers, err, errlen);
		if (r != NW_OPEN_OK) {
			nw_agent_close(a);
			return r;
		}
		goto streams;
	}
	if (nw_resolve(o->host, o->port, AF_UNSPEC, &dst, err, errlen) < 0)
		return NW_OPEN_BAD_INPUT;
	if (o->source[0] && nw_resolve(o->source, 0, dst.addr.ss_family, &src, err, errlen) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "--source: %s (the controller is %s)", why,
			 dst.addr.ss_family == AF_INET6 ? "IPv6" : "IPv4");
		return NW_OPEN_BAD_INPUT;
	}
	a->fd = nw_sender_open(&dst, o->source[0] ? &src : NULL, err, errlen);
	if (a->fd < 0)
		return NW_OPEN_BAD_INPUT;
	snprintf(a->peer, sizeof(a->peer), dst.addr.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 o->host, (unsigned)o->port);

streams:
	a->st = calloc(a->n, sizeof(*a->st));
	a->tmpl = calloc(a->n, sizeof(*a->tmpl));
	a->ikey = calloc(a->n, sizeof(*a->ikey));
	a->b = nw_batch_new();
	if (a->fabric) {
		a->fab = calloc(a->n, sizeof(*a->fab));
		a->start_k = calloc(a->n, sizeof(*a->start_k));
	}
	if (!a->st || !a->tmpl || !a->ikey || !a->b || (a->fabric && (!a->fab || !a->start_k)) ||
	    ((a->delayed || a->fabric) &&
	     nw_pq_init(&a->pq, pending_capacity(o, &a->imp, a->n)) < 0)) {
		snprintf(err, errlen, "out of memory for %u servers", a->n);
		nw_fabric_peers_free(&peers);
		nw_agent_close(a);
		return NW_OPEN_FAILED;
	}
	if (o->keyed) {
		nw_batch_set_key(a->b, o->sample_key);
		a->keyed = 1;
	}
	/* One nonce per start for all our servers: what binds a tagged
	 * sample to this lifetime (docs/wire-format.md). */
	nonce = start_nonce();
	a->nonce = nonce;
	if (a->fabric) {
		for (uint32_t i = 0; i < a->n; i++) {
			fabric_stream(a, i, &peers, i);
			a->ikey[i] = stream_ikey(a, i);
		}
		nw_batch_set_fabric(a->b, a->fab, a->dest);
		nw_fabric_peers_free(&peers);
	}
	for (uint32_t i = 0; i < a->n && !a->fabric; i++) {
		uint32_t id = o->server + i;

		a->st[i].rack = o->rack;
		a->st[i].server = id;
		a->st[i].freq_uhz = nw_opts_tone_uhz(o, i);
		nw_wire_template(&a->tmpl[i], o->rack, id, (uint32_t)a->st[i].freq_uhz,
				 (uint32_t)o->rate_uhz);
		nw_wire_set_nonce(&a->tmpl[i], nonce);
		a->ikey[i] = nw_impair_server_key(a->seed, o->rack, id);
	}
	if (o->control[0] && nw_control_open(&a->ctl, o->control, err, errlen) < 0) {
		nw_agent_close(a);
		return NW_OPEN_BAD_INPUT;
	}
	if (a->fabric)
		a->ctl.peers = control_peers;
	return NW_OPEN_OK;
}

/* Grows the queue to hold cap samples, keeping what it holds. */
static int pq_reserve(struct nw_pq *q, size_t cap)
{
	struct nw_pq bigger;
	struct nw_pending e;

	if (q->cap >= cap)
		return 0;
	if (nw_pq_init(&bigger, cap) < 0)
		return -1;
	while (nw_pq_pop(q, &e) == 0)
		(void)nw_pq_push(&bigger, &e); /* cannot fail: bigger holds more */
	nw_pq_free(q);
	*q = bigger;
	return 0;
}

int nw_agent_set_impair(struct nw_agent *a, const struct nw_impair *imp, char *err, size_t errlen)
{
	const struct nw_opts *o = a->o;

	if (nw_impair_delays(imp) && pq_reserve(&a->pq, pending_capacity(o, imp, a->n)) < 0) {
		snprintf(err, errlen, "out of memory for the delay queue");
		return -1;
	}
	if (imp->has_seed && imp->seed != a->seed) {
		a->seed = imp->seed;
		for (uint32_t i = 0; i < a->n; i++)
			a->ikey[i] = stream_ikey(a, i);
	}
	/* A new skew bends the schedule from the next tick on: due times continue
	 * from where they are, tx_ns keeps counting whole periods, so the
	 * collector sees the clock's rate change, not a jump. */
	if (a->running && imp->skew_ppm != a->imp.skew_ppm) {
		uint64_t k = a->next_tick;
		uint64_t mono = nw_sched_due(&a->sched, k - a->k0);

		nw_sched_init(&a->sched, mono, a->tx0_ns + nw_sched_agent_off(&a->sched, k),
			      o->rate_uhz, imp->skew_ppm);
		a->k0 = k;
	}
	a->imp = *imp;
	a->impaired = nw_impair_active(imp);
	a->delayed = nw_impair_delays(imp);
	return 0;
}

static int control_apply(void *ctx, const struct nw_impair *imp, char *err, size_t errlen)
{
	struct nw_agent *a = ctx;

	if (nw_agent_set_impair(a, imp, err, errlen) < 0)
		return -1;
	if (a->o->verbosity >= 0)
		fprintf(stderr,
			"netwatch-agent: control: impair loss=%g dup=%g delay=%gms jitter=%gms skew=%gppm\n",
			imp->loss, imp->dup, imp->delay_ms, imp->jitter_ms, imp->skew_ppm);
	return 0;
}

/* Goodbyes (NW_GOODBYE_REPEAT copies, back to back: the control request
 * must not stall the ticks) for the streams of `gone` [n] that sent. */
static void goodbye_now(struct nw_agent *a, const uint8_t *gone)
{
	uint64_t tx = nw_sched_agent_now(&a->sched, clock_ns(CLOCK_MONOTONIC));

	flush(a);
	for (int round = 0; round < NW_GOODBYE_REPEAT; round++) {
		for (uint32_t i = 0; i < a->n; i++) {
			if (!gone[i] || !a->st[i].c.generated)
				continue;
			if (!nw_batch_room(a->b))
				flush(a);
			nw_wire_goodbye(nw_batch_add(a->b, i, NW_MSG_GOODBYE), &a->tmpl[i],
					a->st[i].c.generated - 1, tx);
		}
		flush(a);
	}
}

static int same_racks(const struct nw_agent *a, const struct nw_fabric_peers *p)
{
	if (p->n != a->n)
		return 0;
	for (uint32_t j = 0; j < a->n; j++)
		if (a->st[j].server != p->peer[j].rack_id)
			return 0;
	return 1;
}

/* Switches the streams to the peers of `file` in `epoch`: kept streams go
 * on, dropped ones say goodbye, new ones start at seq 0. */
static int apply_peers(struct nw_agent *a, const struct nw_fabric_peers *file, uint64_t epoch,
		       char *err, size_t errlen)
{
	struct nw_fabric_peers p;
	struct nw_endpoint *dest = NULL;
	struct nw_server_stats *st;
	struct nw_wire_sample *tmpl;
	struct nw_wire_fabric *fab;
	uint64_t *ikey, *start_k;
	uint8_t *gone;
	int family = a->family;
	uint32_t m;

	if (pick_peers(a->o, file, epoch, &p, &dest, &family, err, errlen) != NW_OPEN_OK)
		return -1;
	if (family != a->family) {
		snprintf(err, errlen,
			 "--fabric-peers: another address family than the agent's socket");
		free(dest);
		nw_fabric_peers_free(&p);
		return -1;
	}
	if (same_racks(a, &p)) {
		/* A full mesh's epoch change: only mesh_epoch moves; held-back
		 * samples still go out (they take the template when they leave). */
		for (uint32_t j = 0; j < a->n; j++)
			fabric_stream(a, j, &p, j);
		free(dest);
		nw_fabric_peers_free(&p);
		return 0;
	}
	m = (uint32_t)p.n;
	st = calloc(m, sizeof(*st));
	tmpl = calloc(m, sizeof(*tmpl));
	fab = calloc(m, sizeof(*fab));
	ikey = calloc(m, sizeof(*ikey));
	start_k = calloc(m, sizeof(*start_k));
	gone = calloc(a->n, 1);
	if (!st || !tmpl || !fab || !ikey || !start_k || !gone) {
		snprintf(err, errlen, "out of memory for %u peers", m);
		free(st), free(tmpl), free(fab), free(ikey), free(start_k), free(gone);
		free(dest);
		nw_fabric_peers_free(&p);
		return -1;
	}
	/* Held-back samples name old indexes: they never go out. */
	discard_pending(a);
	if (pq_reserve(&a->pq, pending_capacity(a->o, &a->imp, m)) < 0) {
		snprintf(err, errlen, "out of memory for the send queue of %u peers", m);
		free(st), free(tmpl), free(fab), free(ikey), free(start_k), free(gone);
		free(dest);
		nw_fabric_peers_free(&p);
		return -1;
	}
	memset(gone, 1, a->n);
	for (uint32_t j = 0; j < m; j++) {
		uint32_t i;

		for (i = 0; i < a->n && a->st[i].server != p.peer[j].rack_id; i++)
			;
		if (i < a->n) { /* still a peer: its stream goes on */
			gone[i] = 0;
			st[j] = a->st[i];
			start_k[j] = a->start_k[i];
		} else {
			start_k[j] = a->next_tick;
		}
	}
	goodbye_now(a, gone);
	free(gone);
	free(a->st), free(a->tmpl), free(a->fab), free(a->ikey), free(a->start_k), free(a->dest);
	a->st = st, a->tmpl = tmpl, a->fab = fab, a->ikey = ikey, a->start_k = start_k;
	a->dest = dest;
	a->n = m;
	for (uint32_t j = 0; j < m; j++) {
		struct nw_counters c = st[j].c;

		fabric_stream(a, j, &p, j); /* the new epoch too */
		st[j].c = c;
		ikey[j] = stream_ikey(a, j);
	}
	nw_batch_set_fabric(a->b, a->fab, a->dest);
	snprintf(a->peer, sizeof(a->peer), "%zu racks (fabric, from rack %u)", p.n,
		 (unsigned)p.self);
	nw_fabric_peers_free(&p);
	return 0;
}

int nw_agent_set_peers(struct nw_agent *a, const char *path, char *err, size_t errlen)
{
	struct nw_fabric_peers file;
	uint64_t epoch = 0;

	err[0] = 0;
	if (!a->fabric) {
		snprintf(err, errlen, "fabric_peers needs --fabric");
		return -1;
	}
	if (read_peers(a->o, path, &file, err, errlen) != NW_OPEN_OK)
		return -1;
	if (file.self != a->st[0].rack) {
		snprintf(err, errlen, "--fabric-peers %.200s: self is rack %u, not %u", path,
			 (unsigned)file.self, (unsigned)a->st[0].rack);
		nw_fabric_peers_free(&file);
		return -1;
	}
	if (file.k)
		epoch = nw_fabric_mesh_epoch_at(wall_s(), file.epoch_s);
	if (apply_peers(a, &file, epoch, err, errlen) < 0) {
		nw_fabric_peers_free(&file);
		return -1;
	}
	nw_fabric_peers_free(&a->mesh);
	if (file.k) { /* rotating from now on */
		a->mesh = file;
		a->epoch_cur = epoch;
	} else {
		nw_fabric_peers_free(&file);
	}
	return 0;
}

int nw_agent_rotate(struct nw_agent *a, uint64_t now_s, char *err, size_t errlen)
{
	uint64_t epoch;

	err[0] = 0;
	if (!a->mesh.k)
		return 0;
	epoch = nw_fabric_mesh_epoch_at(now_s, a->mesh.epoch_s);
	if (epoch == a->epoch_cur)
		return 0;
	/* Tried once per epoch: a failure keeps the old streams until the next. */
	a->epoch_cur = epoch;
	return apply_peers(a, &a->mesh, epoch, err, errlen) < 0 ? -1 : 1;
}

static int control_peers(void *ctx, const char *path, char *err, size_t errlen)
{
	struct nw_agent *a = ctx;

	if (nw_agent_set_peers(a, path, err, errlen) < 0)
		return -1;
	if (a->o->verbosity >= 0)
		fprintf(stderr, "netwatch-agent: control: fabric peers from %s: %u racks\n", path,
			a->n);
	return 0;
}

void nw_agent_close(struct nw_agent *a)
{
	nw_control_close(&a->ctl);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	free(a->st);
	free(a->tmpl);
	free(a->ikey);
	free(a->fab);
	free(a->dest);
	free(a->start_k);
	nw_fabric_peers_free(&a->mesh);
	nw_batch_free(a->b);
	nw_pq_free(&a->pq);
	a->st = NULL;
	a->tmpl = NULL;
	a->ikey = NULL;
	a->fab = NULL;
	a->dest = NULL;
	a->start_k = NULL;
	a->b = NULL;
}

static void flush(struct nw_agent *a)
{
	if (!a->b->n)
		return;
	nw_batch_send(a->fd, a->b);
	nw_stats_account(a->st, a->b);
	a->b->n = 0;
}

/* A fabric stream's place in the period: stream i of n leaves i/n of a
 * period after the tick, so n paths are n sends spread evenly, not a burst
 * (docs/fabric.md section 1). Its tx_ns says when it really leaves. */
static uint64_t spread_ns(const struct nw_agent *a, uint32_t i)
{
	if (!a->fabric || a->n < 2)
		return 0;
	return (uint64_t)((unsigned __int128)i * (1000000000000000ULL / a->o->rate_uhz) / a->n);
}

/* Puts tick k's sample of server i (and its duplicate) into the batch. Its
 * seq is k, or for a path that joined later (nw_agent_set_peers) the ticks
 * since it joined: every stream's seq starts at 0. */
static void emit(struct nw_agent *a, uint32_t i, uint64_t k, int dup)
{
	struct nw_wire_sample *m;
	uint64_t seq = a->start_k ? k - a->start_k[i] : k;

	if (nw_batch_room(a->b) < 2)
		flush(a); /* a DUP must share its FIRST's batch to be accounted against it */
	m = nw_batch_add(a->b, i, NW_MSG_FIRST);
	nw_wire_sample(m, &a->tmpl[i], seq,
		       a->tx0_ns + nw_sched_agent_off(&a->sched, k) + spread_ns(a, i),
		       nw_tone_value(a->o->amplitude, (uint32_t)a->st[i].freq_uhz,
				     (uint32_t)a->o->rate_uhz, seq));
	if (dup)
		*nw_batch_add(a->b, i, NW_MSG_DUP) = *m;
}

static void generate_tick(struct nw_agent *a, uint64_t k, uint64_t due)
{
	struct nw_decision d = { 0 };

	for (uint32_t i = 0; i < a->n; i++) {
		struct nw_counters *c = &a->st[i].c;

		c->generated++;
		if (a->impaired) {
			nw_impair_decide(&a->imp, a->ikey[i], k, &d);
			if (d.drop) {
				c->dropped++;
				continue;
			}
		}
		if (a->delayed || spread_ns(a, i)) {
			struct nw_pending e = {
				.due_ns = due + d.delay_ns + spread_ns(a, i),
				.seq = k,
				.server = i,
				.dup = (uint32_t)d.dup,
			};

			if (nw_pq_push(&a->pq, &e) < 0)
				c->dropped++; /* a full queue drops, as a router's would */
			continue;
		}
		emit(a, i, k, d.dup);
	}
}

static void release_due(struct nw_agent *a, uint64_t now)
{
	const struct nw_pending *p;
	struct nw_pending e;

	while ((p = nw_pq_peek(&a->pq)) && p->due_ns <= now) {
		nw_pq_pop(&a->pq, &e);
		emit(a, e.server, e.seq, (int)e.dup);
	}
}

/*
 * Ticks [from, to) were missed while the agent was stalled (SIGSTOP, an
 * overloaded host). Sending them all at once would be a burst no real sender
 * makes, so they are generated-and-dropped ("late_skipped", part of dropped):
 * seq stays the tick index, and the collector sees the stall as the loss it is.
 */
static void skip_ticks(struct nw_agent *a, uint64_t from, uint64_t to)
{
	uint64_t n = to - from;

	for (uint32_t i = 0; i < a->n; i++) {
		a->st[i].c.generated += n;
		a->st[i].c.dropped += n;
		a->st[i].c.late_skipped += n;
	}
}

static void discard_pending(struct nw_agent *a)
{
	struct nw_pending e;

	while (nw_pq_pop(&a->pq, &e) == 0)
		a->st[e.server].c.dropped++;
}

static void say_goodbye(struct nw_agent *a)
{
	for (int round = 0; round < NW_GOODBYE_REPEAT; round++) {
		uint64_t tx;

		if (round)
			sleep_until(clock_ns(CLOCK_MONOTONIC) + NW_GOODBYE_GAP_NS);
		/* Agent time, like the samples' tx_ns: with skew, real time could be behind them. */
		tx = nw_sched_agent_now(&a->sched, clock_ns(CLOCK_MONOTONIC));
		for (uint32_t i = 0; i < a->n; i++) {
			if (!a->st[i].c.generated)
				continue; /* nothing to close at the collector */
			if (!nw_batch_room(a->b))
				flush(a);
			nw_wire_goodbye(nw_batch_add(a->b, i, NW_MSG_GOODBYE), &a->tmpl[i],
					a->st[i].c.generated - 1, tx);
		}
		flush(a);
	}
}

static void rotate_now(struct nw_agent *a)
{
	char err[512];
	int r = nw_agent_rotate(a, wall_s(), err, sizeof(err));

	if (r < 0)
		fprintf(stderr, "netwatch-agent: fabric epoch %llu: %s (old peers kept)\n",
			(unsigned long long)a->epoch_cur, err);
	else if (r > 0 && a->o->verbosity >= 0)
		fprintf(stderr, "netwatch-agent: fabric epoch %llu: %u racks\n",
			(unsigned long long)a->epoch_cur, a->n);
}

void nw_agent_run(struct nw_agent *a, volatile sig_atomic_t *stop)
{
	const struct nw_opts *o = a->o;
	uint64_t period_ns = 1000000000000000ULL / o->rate_uhz;
	uint64_t late_tol = 4 * period_ns > 100000000ULL ? 4 * period_ns : 100000000ULL;
	uint64_t mono0, tai0, end_mono = UINT64_MAX, last_tick = UINT64_MAX, k = 0, next_poll = 0,
			      next_epoch_check = 0;

	mono0 = clock_ns(CLOCK_MONOTONIC);
	tai0 = clock_ns(CLOCK_TAI);
	if (!tai0)
		tai0 = clock_ns(
			CLOCK_REALTIME); /* kernels without CLOCK_TAI: TAI = UTC + 0 anyway */
	nw_sched_init(&a->sched, mono0, tai0, o->rate_uhz, a->imp.skew_ppm);
	a->k0 = 0;
	a->tx0_ns = tai0;
	a->running = 1;
	if (o->count)
		last_tick = o->count - 1;
	if (o->duration_ns) {
		uint64_t t;

		end_mono = mono0 + o->duration_ns;
		t = nw_sched_tick_at(&a->sched, end_mono - 1); /* tick 0 is due at mono0 < end */
		last_tick = t < last_tick ? t : last_tick;
	}

	while (!*stop) {
		int ticks_left;
		uint64_t due, wake, now = clock_ns(CLOCK_MONOTONIC);
		const struct nw_pending *p;

		if (a->ctl.fd >= 0 && now >= next_poll) {
			/* Between batches, never inside one: a request changes what the
			 * next tick does. At most one non-blocking recv per poll period,
			 * so a high sample rate does not pay a syscall per tick. */
			a->next_tick = k;
			nw_control_poll(&a->ctl, control_apply, a);
			next_poll = now + NW_CONTROL_POLL_NS;
		}
		if (a->mesh.k && now >= next_epoch_check) {
			/* The wall clock, not the schedule: every rack's agent and
			 * collector agree on the epoch through NTP alone. */
			a->next_tick = k;
			rotate_now(a);
			next_epoch_check = now + NW_CONTROL_POLL_NS;
		}
		ticks_left = k <= last_tick;
		due = ticks_left ? nw_sched_due(&a->sched, k - a->k0) : UINT64_MAX;
		/* Not a->delayed: samples held back before a delay was cleared still go out. */
		p = nw_pq_peek(&a->pq);
		wake = due;

		if (!ticks_left && !p)
			break; /* done, and the queue has drained */
		if (p && p->due_ns < wake)
			wake = p->due_ns;
		if (now < wake) {
			/* In slices: a signal landing between the stop check and the sleep
			 * is then noticed within 100 ms even at a rate of one per hour. */
			sleep_until(wake - now > NW_SLEEP_SLICE_NS ? now + NW_SLEEP_SLICE_NS
								   : wake);
			continue;
		}
		release_due(a, now);
		if (ticks_left && due <= now) {
			if (now - due > late_tol) {
				uint64_t j = a->k0 + nw_sched_tick_at(&a->sched, now);

				j = j < last_tick ? j : last_tick;
				if (j > k) {
					skip_ticks(a, k, j);
					k = j;
					due = nw_sched_due(&a->sched, k - a->k0);
				}
			}
			generate_tick(a, k, due);
			k++;
		}
		flush(a);
	}
	flush(a);
	/* Stopped by a signal: what is still held back never goes out. After
	 * --count/--duration the loop above has already drained the queue. */
	discard_pending(a);
	say_goodbye(a);
}

void nw_agent_report(const struct nw_agent *a, FILE *f)
{
	nw_report_json(f, a->st, a->n, NW_REPORT_MAX_LISTED,
		       a->impaired || a->imp.has_seed || a->ctl.accepted, a->seed);
	fflush(f);
}
