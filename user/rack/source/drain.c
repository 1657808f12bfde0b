// SPDX-License-Identifier: MIT
#include "drain.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int nw_drain_init(struct nw_drain *d, uint32_t max_slots, nw_record_fn on_record, void *user)
{
	memset(d, 0, sizeof(*d));
	d->servers = calloc(max_slots ? max_slots : 1, sizeof(*d->servers));
	if (!d->servers)
		return -ENOMEM;
	d->max_slots = max_slots;
	d->on_record = on_record;
	d->user = user;
	for (uint32_t i = 0; i < max_slots; i++) {
		d->servers[i].slot = i;
		d->servers[i].drain = d;
	}
	return 0;
}

void nw_drain_free(struct nw_drain *d)
{
	ring_buffer__free(d->rb);
	d->rb = NULL;
	free(d->servers);
	d->servers = NULL;
}

void nw_drain_register(struct nw_drain *d, uint32_t slot, uint32_t server_id)
{
	if (slot >= d->max_slots)
		return;
	d->servers[slot].registered = 1;
	d->servers[slot].server_id = server_id;
}

void nw_drain_unregister(struct nw_drain *d, uint32_t slot)
{
	struct nw_server_rx *s;

	if (slot >= d->max_slots)
		return;
	s = &d->servers[slot];
	s->registered = 0;
	s->probation = 0;
	s->since_ns = 0;
	s->server_id = 0;
	s->records_drained = 0;
	s->records_out_of_order = 0;
	s->have_last = 0;
}

void nw_drain_deliver(struct nw_drain *d, uint32_t slot, const struct nw_record *rec)
{
	struct nw_server_rx *s;

	if (slot >= d->max_slots)
		return;
	s = &d->servers[slot];
	if (s->have_last && rec->seq < s->last.seq &&
	    !(rec->flags & (NW_REC_REORDERED | NW_REC_STREAM_START)))
		s->records_out_of_order++;
	s->records_drained++;
	s->last = *rec;
	s->have_last = 1;
	if (d->on_record)
		d->on_record(d->user, s, rec);
}

static int on_server_record(void *ctx, void *data, size_t size)
{
	struct nw_server_rx *s = ctx;
	struct nw_record rec;

	if (size != sizeof(rec)) {
		s->drain->bad_records++;
		return 0;
	}
	/* Ring data is only 8-byte aligned and shared with the producer: copy. */
	memcpy(&rec, data, sizeof(rec));
	nw_drain_deliver(s->drain, s->slot, &rec);
	return 0;
}

static int on_discovery(void *ctx, void *data, size_t size)
{
	struct nw_drain *d = ctx;

	if (size != sizeof(struct nw_discovery)) {
		d->bad_records++;
		return 0;
	}
	if (d->npending >= NW_DRAIN_PENDING_MAX) {
		d->discovery_dropped++;
		return 0;
	}
	memcpy(&d->pending[d->npending++], data, sizeof(struct nw_discovery));
	return 0;
}

int nw_drain_open_rings(struct nw_drain *d, int discovery_fd)
{
	d->rb = ring_buffer__new(discovery_fd, on_discovery, d, NULL);
	return d->rb ? 0 : -errno;
}

int nw_drain_add_ring(struct nw_drain *d, uint32_t slot, int ring_fd)
{
	if (!d->rb || slot >= d->max_slots)
		return -EINVAL;
	return ring_buffer__add(d->rb, ring_fd, on_server_record, &d->servers[slot]);
}

int nw_drain_flush_ring(struct nw_drain *d, uint32_t slot, int ring_fd)
{
	struct ring_buffer *rb;
	int n;

	if (slot >= d->max_slots)
		return -EINVAL;
	rb = ring_buffer__new(ring_fd, on_server_record, &d->servers[slot], NULL);
	if (!rb)
		return -errno;
	n = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return n;
}

int nw_drain_epoll_fd(const struct nw_drain *d)
{
	return d->rb ? ring_buffer__epoll_fd(d->rb) : -1;
}

int nw_drain_consume(struct nw_drain *d)
{
	return d->rb ? ring_buffer__consume(d->rb) : 0;
}

size_t nw_drain_take_discoveries(struct nw_drain *d, struct nw_discovery *out, size_t max)
{
	size_t n = d->npending < max ? d->npending : max;

	memcpy(out, d->pending, n * sizeof(*out));
	memmove(d->pending, d->pending + n, (d->npending - n) * sizeof(*out));
	d->npending -= (uint32_t)n;
	return n;
}
