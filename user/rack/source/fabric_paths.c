// SPDX-License-Identifier: MIT
#include "fabric_paths.h"

#include <errno.h>
#include <string.h>

#include "collector.h"

uint32_t nw_fabric_paths_slots(const struct rack_opts *o)
{
	return o->max_servers + (o->fabric_peers ? o->fabric_peers_max : 0);
}

int nw_fabric_paths_load(struct nw_fabric_paths *p, const struct nw_log *log,
			 const struct rack_opts *o, uint64_t now_s)
{
	char err[200];

	memset(p, 0, sizeof(*p));
	p->log = log;
	if (!o->fabric_peers)
		return 0;
	if (nw_fabric_peers_load(o->fabric_peers, &p->peers, err, sizeof(err))) {
		nw_error(log, "cannot read the fabric peers", "file=%s err=%s", o->fabric_peers,
			 err);
		return -EINVAL;
	}
	if (nw_fabric_expect_init(&p->expect, &p->peers, now_s)) {
		nw_fabric_peers_free(&p->peers);
		return -ENOMEM;
	}
	p->on = 1;
	if (p->peers.k)
		nw_info(log, "fabric mesh rotates", "racks=%zu k=%u epoch_s=%u epoch=%llu",
			p->peers.n, p->peers.k, p->peers.epoch_s,
			(unsigned long long)p->expect.epoch);
	return 0;
}

void nw_fabric_paths_free(struct nw_fabric_paths *p)
{
	if (p->on) {
		nw_fabric_expect_free(&p->expect);
		nw_fabric_peers_free(&p->peers);
	}
	p->on = 0;
}

int nw_fabric_paths_is_static(const struct nw_fabric_paths *p, const struct rack_opts *o,
			      uint32_t rack_id, uint32_t server_id)
{
	if (server_id == NW_SERVER_FABRIC)
		return p->on && rack_id <= 0xFFFFU &&
		       nw_fabric_expect_has(&p->expect, (uint16_t)rack_id);
	if (rack_id != o->rack)
		return 0;
	for (size_t i = 0; i < o->nservers; i++)
		if (o->servers[i] == server_id)
			return 1;
	return 0;
}

int nw_fabric_paths_register(struct nw_fabric_paths *p, const struct nw_fabric_slots *s)
{
	if (!p->on)
		return 0;
	for (size_t i = 0; i < p->expect.cur.n; i++) {
		uint32_t rack = p->expect.cur.peer[i].rack_id, slot;
		int created = 0, e;

		e = s->add(s->ctx, rack, &slot, &created);
		if (e) {
			nw_error(p->log, "cannot register fabric path", "src_rack=%u err=%s", rack,
				 strerror(-e));
			if (e == -ENOSPC)
				continue;
			return e;
		}
		if (created)
			nw_info(p->log, "registered fabric path", "src_rack=%u slot=%u", rack,
				slot);
	}
	return 0;
}

void nw_fabric_paths_rotate(struct nw_fabric_paths *p, const struct nw_drain *drain,
			    const struct nw_fabric_slots *s, uint64_t now_tai_ns, uint64_t now_s)
{
	int r;

	if (!p->on || !p->peers.k || now_tai_ns < p->last_epoch_check_ns + 1000000000ULL)
		return;
	p->last_epoch_check_ns = now_tai_ns;
	r = nw_fabric_expect_tick(&p->expect, now_s);
	if (r <= 0) {
		if (r < 0)
			nw_warn(p->log, "fabric epoch change: out of memory", "epoch=%llu",
				(unsigned long long)p->expect.epoch);
		return;
	}
	for (uint32_t slot = 0; slot < drain->max_slots; slot++) {
		const struct nw_server_rx *rx = &drain->servers[slot];
		uint32_t rack;

		/* A discovered path on probation earns or loses its place there. */
		if (!rx->registered || rx->probation || rx->server_id != NW_SERVER_FABRIC)
			continue;
		rack = s->src_rack(s->ctx, slot);
		if (rack <= 0xFFFFU && nw_fabric_expect_has(&p->expect, (uint16_t)rack))
			continue;
		if (s->forget(s->ctx, slot) == 0) {
			p->retired++;
			nw_info(p->log, "fabric path no longer probed", "src_rack=%u slot=%u", rack,
				slot);
		}
	}
	nw_info(p->log, "fabric epoch", "epoch=%llu paths=%zu", (unsigned long long)p->expect.epoch,
		p->expect.cur.n);
	if (nw_fabric_paths_register(p, s))
		nw_warn(p->log, "fabric epoch change: cannot register every path", "epoch=%llu",
			(unsigned long long)p->expect.epoch);
}
