// SPDX-License-Identifier: MIT
#include "socket_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t store_len(uint32_t max_slots)
{
	return sizeof(struct nw_socket_store) + (size_t)max_slots * sizeof(struct nw_server_state);
}

int nw_socket_store_path(char *buf, size_t len, const char *dir, uint32_t rack_id)
{
	int n = snprintf(buf, len, "%s/rack%u.socket-state", dir, rack_id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A file we did not write, or one cut short, must never be trusted: every
 * count and id in it is checked before the hook uses it. */
static int valid(const struct nw_socket_store *st, size_t file_len, uint32_t rack_id)
{
	if (file_len < sizeof(*st) || memcmp(st->magic, NW_SOCKET_STORE_MAGIC, 8))
		return 0;
	if (st->rack_id != rack_id || st->max_slots == 0 || st->max_slots > NW_MAX_SLOTS_LIMIT)
		return 0;
	if (file_len != store_len(st->max_slots) || st->count > st->max_slots)
		return 0;
	return 1;
}

static int map_file(int fd, size_t len, struct nw_socket_store_map *m)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	m->store = p;
	m->len = len;
	m->mapped = 1;
	return 0;
}

static int open_existing(const struct nw_log *log, const char *path, uint32_t rack_id,
			 uint32_t *max_slots, struct nw_socket_store_map *m)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (size_t)sb.st_size < sizeof(*m->store)) {
		close(fd);
		return -EBADMSG;
	}
	err = map_file(fd, (size_t)sb.st_size, m);
	close(fd);
	if (err)
		return err;
	if (!valid(m->store, m->len, rack_id)) {
		nw_socket_store_close(m);
		return -EBADMSG;
	}
	if (m->store->max_slots != *max_slots)
		nw_warn(log, "socket state keeps its own size", "max_servers=%u requested=%u",
			m->store->max_slots, *max_slots);
	*max_slots = m->store->max_slots;
	m->store->restarts++;
	return 0;
}

static int create_new(const char *path, uint32_t rack_id, uint32_t max_slots,
		      struct nw_socket_store_map *m)
{
	char tmp[4200];
	size_t len = store_len(max_slots);
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len)) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	err = map_file(fd, len, m);
	close(fd);
	if (err) {
		unlink(tmp);
		return err;
	}
	memcpy(m->store->magic, NW_SOCKET_STORE_MAGIC, 8);
	m->store->rack_id = rack_id;
	m->store->max_slots = max_slots;
	/* Renamed only once complete: a crash never leaves a half-made file. */
	if (rename(tmp, path)) {
		err = -errno;
		nw_socket_store_close(m);
		unlink(tmp);
		return err;
	}
	return 0;
}

int nw_socket_store_open(const struct nw_log *log, const char *path, uint32_t rack_id,
			 uint32_t *max_slots, struct nw_socket_store_map *m)
{
	char bad[4200];
	int err;

	memset(m, 0, sizeof(*m));
	if (!path) {
		m->len = store_len(*max_slots);
		m->store = calloc(1, m->len);
		if (!m->store)
			return -ENOMEM;
		m->store->rack_id = rack_id;
		m->store->max_slots = *max_slots;
		return 0;
	}
	err = open_existing(log, path, rack_id, max_slots, m);
	if (!err) {
		nw_info(log, "socket counters continue", "servers=%u", m->store->count);
		return 0;
	}
	if (err == -EBADMSG) {
		snprintf(bad, sizeof(bad), "%s.bad", path);
		nw_warn(log, "socket state file unusable: moved aside, counting afresh", "file=%s",
			bad);
		if (rename(path, bad))
			return -errno;
	} else if (err != -ENOENT) {
		return err;
	}
	return create_new(path, rack_id, *max_slots, m);
}

void nw_socket_store_close(struct nw_socket_store_map *m)
{
	if (!m->store)
		return;
	if (m->mapped)
		munmap(m->store, m->len);
	else
		free(m->store);
	m->store = NULL;
}
