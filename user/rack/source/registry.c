// SPDX-License-Identifier: MIT
#include "registry.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"

int nw_registry_init(struct nw_registry *r, const struct nw_log *log, int state_fd, int index_fd,
		     int rings_fd, uint32_t rack_id, uint32_t max_slots, uint32_t ring_bytes)
{
	memset(r, 0, sizeof(*r));
	r->log = log;
	r->state_fd = state_fd;
	r->index_fd = index_fd;
	r->rings_fd = rings_fd;
	r->direct_fd = -1;
	r->rack_id = rack_id;
	r->max_slots = max_slots;
	r->ring_bytes = ring_bytes;
	r->server_of = calloc(max_slots + 1, sizeof(*r->server_of));
	r->rack_of = calloc(max_slots + 1, sizeof(*r->rack_of));
	r->used = calloc(max_slots + 1, 1);
	r->ring_fd = malloc((max_slots + 1) * sizeof(int));
	r->stale_fd = malloc((max_slots + 1) * sizeof(int));
	if (!r->server_of || !r->rack_of || !r->used || !r->ring_fd || !r->stale_fd) {
		nw_registry_free(r);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= max_slots; i++)
		r->ring_fd[i] = r->stale_fd[i] = -1;
	return 0;
}

void nw_registry_free(struct nw_registry *r)
{
	for (uint32_t i = 0; r->ring_fd && i < r->max_slots; i++) {
		if (r->ring_fd[i] >= 0)
			close(r->ring_fd[i]);
		if (r->stale_fd && r->stale_fd[i] >= 0)
			close(r->stale_fd[i]);
	}
	free(r->server_of);
	free(r->rack_of);
	free(r->used);
	free(r->ring_fd);
	free(r->stale_fd);
	memset(r, 0, sizeof(*r));
}

int nw_registry_set_direct(struct nw_registry *r, int direct_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(direct_fd, &info, &len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != 4 || info.value_size != 4)
		return -EINVAL;
	r->direct_fd = direct_fd;
	r->direct_max = info.max_entries;
	return 0;
}

/* Points nw_direct at slot; written after the index entry. A failure only
 * costs the fast path: the collector falls back to nw_index. */
static void write_direct(struct nw_registry *r, uint32_t server_id, uint32_t slot)
{
	uint32_t v = slot + 1;

	if (r->direct_fd < 0 || server_id >= r->direct_max)
		return;
	if (bpf_map_update_elem(r->direct_fd, &server_id, &v, BPF_ANY))
		nw_warn(r->log, "cannot write the direct slot entry", "server=%u slot=%u err=%s",
			server_id, slot, strerror(errno));
}

/* A new ringbuf for slot, not yet in nw_rings. fd or -errno. */
static int new_ring(const struct nw_registry *r, uint32_t slot)
{
	char name[16];
	int fd;

	snprintf(name, sizeof(name), "nw_ring_%u", slot);
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name, 0, 0, r->ring_bytes, NULL);
	return fd < 0 ? -errno : fd;
}

static int create_ring(struct nw_registry *r, uint32_t slot)
{
	int fd = new_ring(r, slot);

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(r->rings_fd, &slot, &fd, BPF_ANY)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The ring the kernel writes slot's records to, -1 when there is none. */
static int open_inner_ring(struct nw_registry *r, uint32_t slot, uint32_t *size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), id = 0;
	int fd;

	if (bpf_map_lookup_elem(r->rings_fd, &slot, &id) || !id)
		return -1;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -1;
	}
	*size = info.max_entries;
	return fd;
}

static int adopt_slot(struct nw_registry *r, uint32_t slot, uint32_t rack_id, uint32_t server_id)
{
	uint32_t size = 0;
	int fd = open_inner_ring(r, slot, &size);

	if (fd >= 0 && size == r->ring_bytes) {
		r->ring_fd[slot] = fd;
	} else {
		int nfd = create_ring(r, slot);

		if (nfd < 0) {
			if (fd >= 0)
				close(fd);
			return nfd;
		}
		r->ring_fd[slot] = nfd;
		/* The old ring may still hold records of the time we were down. */
		r->stale_fd[slot] = fd;
		if (fd >= 0)
			nw_info(r->log, "replaced server ring of another size",
				"server=%u slot=%u old_bytes=%u ring_bytes=%u", server_id, slot,
				size, r->ring_bytes);
		else
			nw_warn(r->log, "server had no ring: created one", "server=%u slot=%u",
				server_id, slot);
	}
	r->used[slot] = 1;
	r->server_of[slot] = server_id;
	r->rack_of[slot] = rack_id;
	r->count++;
	write_direct(r, server_id, slot);
	return 0;
}

int nw_registry_adopt(struct nw_registry *r)
{
	struct nw_server_key key, next;
	struct nw_server_key *prev = NULL;
	uint32_t slot;
	int err;

	while (bpf_map_get_next_key(r->index_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(r->index_fd, &key, &slot))
			continue;
		/* Another rack's id is only a path's (source rack, fabric id). */
		if ((key.rack_id != r->rack_id && key.server_id != NW_SERVER_FABRIC) ||
		    slot >= r->max_slots || r->used[slot]) {
			nw_warn(r->log, "ignoring inconsistent index entry",
				"rack=%u server=%u slot=%u", key.rack_id, key.server_id, slot);
			continue;
		}
		err = adopt_slot(r, slot, key.rack_id, key.server_id);
		if (err)
			return err;
	}
	return 0;
}

int nw_registry_prepare_rings(struct nw_registry *r, uint32_t n)
{
	uint32_t *slots, got = 0, count;
	int *fds, err = 0;

	if (n == 0)
		return 0;
	slots = calloc(n, sizeof(*slots));
	fds = calloc(n, sizeof(*fds));
	if (!slots || !fds) {
		free(slots);
		free(fds);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < r->max_slots && got < n; s++) {
		int fd;

		if (r->used[s] || r->ring_fd[s] >= 0)
			continue;
		fd = new_ring(r, s);
		if (fd < 0) {
			err = fd;
			break;
		}
		slots[got] = s;
		fds[got++] = fd;
	}
	/* One update for all: each single update of a map-in-map waits for an
	 * RCU grace period (10-25 ms here, 99 s for 10k servers); the batch
	 * waits once. Kernels without batch support get the slow path. */
	count = got;
	if (got && bpf_map_update_batch(r->rings_fd, slots, fds, &count, NULL)) {
		for (uint32_t i = count; i < got; i++)
			if (bpf_map_update_elem(r->rings_fd, &slots[i], &fds[i], BPF_ANY)) {
				err = -errno;
				for (uint32_t j = i; j < got; j++)
					close(fds[j]);
				got = i;
				break;
			}
	}
	for (uint32_t i = 0; i < got; i++)
		r->ring_fd[slots[i]] = fds[i];
	free(slots);
	free(fds);
	return err;
}

int nw_registry_lookup_key(const struct nw_registry *r, uint32_t rack_id, uint32_t server_id,
			   uint32_t *slot)
{
	struct nw_server_key key = { .rack_id = rack_id, .server_id = server_id };

	return bpf_map_lookup_elem(r->index_fd, &key, slot) == 0 && *slot < r->max_slots;
}

int nw_registry_lookup(const struct nw_registry *r, uint32_t server_id, uint32_t *slot)
{
	return nw_registry_lookup_key(r, r->rack_id, server_id, slot);
}

int nw_registry_add(struct nw_registry *r, uint32_t server_id, int midstream, uint32_t *slot,
		    int *created)
{
	return nw_registry_add_key(r, r->rack_id, server_id, midstream, slot, created);
}

int nw_registry_add_key(struct nw_registry *r, uint32_t rack_id, uint32_t server_id, int midstream,
			uint32_t *slot, int *created)
{
	struct nw_server_key key = { .rack_id = rack_id, .server_id = server_id };
	struct nw_server_state st;
	uint32_t s;
	int fd;

	*created = 0;
	if (nw_registry_lookup_key(r, rack_id, server_id, slot))
		return 0;
	for (s = 0; s < r->max_slots && r->used[s]; s++)
		;
	if (s >= r->max_slots)
		return -ENOSPC;

	/* Ring and state before the index entry: the kernel must never see a
	 * server whose slot is not ready (it would count no_ring). A ring
	 * nw_registry_prepare_rings made for this free slot is used as is. */
	fd = r->ring_fd[s] >= 0 ? r->ring_fd[s] : create_ring(r, s);
	if (fd < 0)
		return fd;
	memset(&st, 0, sizeof(st));
	st.rack_id = rack_id;
	st.server_id = server_id;
	st.status = midstream ? NW_ST_MIDSTREAM : 0;
	if (bpf_map_update_elem(r->state_fd, &s, &st, BPF_F_LOCK) ||
	    bpf_map_update_elem(r->index_fd, &key, &s, BPF_NOEXIST)) {
		int err = -errno;

		if (r->ring_fd[s] != fd)
			close(fd);
		return err;
	}
	r->ring_fd[s] = fd;
	r->used[s] = 1;
	r->server_of[s] = server_id;
	r->rack_of[s] = rack_id;
	r->count++;
	write_direct(r, server_id, s);
	*slot = s;
	*created = 1;
	return 0;
}

int nw_registry_remove(struct nw_registry *r, uint32_t slot)
{
	struct nw_server_key key = { .rack_id = r->rack_id };
	struct nw_server_state st;
	uint32_t zero = 0;

	if (slot >= r->max_slots || !r->used[slot])
		return -EINVAL;
	key.rack_id = r->rack_of[slot];
	key.server_id = r->server_of[slot];
	if (bpf_map_delete_elem(r->index_fd, &key) && errno != ENOENT)
		return -errno;
	if (r->direct_fd >= 0 && key.server_id < r->direct_max)
		bpf_map_update_elem(r->direct_fd, &key.server_id, &zero, BPF_ANY);
	memset(&st, 0, sizeof(st));
	st.rack_id = r->rack_id;
	bpf_map_update_elem(r->state_fd, &slot, &st, BPF_F_LOCK);
	r->used[slot] = 0;
	r->server_of[slot] = 0;
	r->rack_of[slot] = 0;
	r->count--;
	return 0;
}
