// SPDX-License-Identifier: MIT
/*
 * netwatch-rack --unpin: removes this rack's pinned set, its socket state,
 * and the tc filter a controller killed with -9 left behind.
 *
 * The pinned set is global (one bpffs for every network namespace), the tc
 * filter is not: nw_meta's ifindex and handle name a filter only inside the
 * namespace the controller ran in, and the same numbers elsewhere belong to
 * someone else. So the filter is identified by its program, the SCHED_CLS
 * program that uses this pinned set's maps, and searched for in this
 * namespace, then in every named one (/run/netns) and the init process's.
 * Only a filter running that program is removed, and the clsact qdisc only
 * where it was found (and only when ours and empty, tc_hook's rule). Not
 * found anywhere: nothing on any interface is touched.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socket_store.h"
#include "tc_hook.h"

#include "meta.h"
#include "pins.h"
#include "rack.h"

#define MAX_MAPS_PER_PROG 64U

#define MAX_PINNED_MAPS 32U

/* The ids of the maps pinned in `dir` (every nw_* pin is a map). */
static size_t pinned_map_ids(const char *dir, uint32_t *ids, size_t max)
{
	char path[NW_PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	while (d && n < max && (de = readdir(d))) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		int fd;

		if (strncmp(de->d_name, "nw_", 3) ||
		    nw_pins_path(path, sizeof(path), dir, de->d_name))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.id)
			ids[n++] = info.id;
		close(fd);
	}
	if (d)
		closedir(d);
	return n;
}

/* The id of a tc (SCHED_CLS) program that uses one of this pinned set's
 * maps, 0 when none is loaded: that program is ours and nobody else's. */
static uint32_t our_tc_prog(const char *dir)
{
	uint32_t mine[MAX_PINNED_MAPS], id = 0, found = 0;
	size_t nmine = pinned_map_ids(dir, mine, MAX_PINNED_MAPS);

	while (nmine && !found && !bpf_prog_get_next_id(id, &id)) {
		uint32_t maps[MAX_MAPS_PER_PROG] = { 0 };
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		info.nr_map_ids = MAX_MAPS_PER_PROG;
		info.map_ids = (uint64_t)(uintptr_t)maps;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_PROG_TYPE_SCHED_CLS) {
			for (uint32_t i = 0; i < info.nr_map_ids && i < MAX_MAPS_PER_PROG; i++)
				for (size_t j = 0; j < nmine; j++)
					if (maps[i] == mine[j])
						found = id;
		}
		close(fd);
	}
	return found;
}

/* Our filter in the current namespace: removes it (and clsact by the rule)
 * when it runs prog_id. 1 removed, 0 not here, -errno. */
static int remove_here(const struct nw_meta *m, uint32_t prog_id)
{
	struct nw_tc_filter f = { .ifindex = (int)m->ifindex,
				  .handle = m->tc_handle,
				  .priority = m->tc_priority };
	int err = nw_tc_filter_detach_if(&f, prog_id);

	if (err == 1)
		nw_tc_clsact_release(f.ifindex, (int)m->created_clsact);
	return err;
}

/* setns() into `path`'s network namespace and try there; *back is where
 * we return to. 1 removed, 0 not there (or cannot enter), -errno. */
static int try_in(const char *path, int back, const struct nw_meta *m, uint32_t prog_id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return 0;
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return 0;
	}
	close(fd);
	err = remove_here(m, prog_id);
	if (setns(back, CLONE_NEWNET))
		return -errno; /* stranded in another namespace: the caller stops */
	return err;
}

/* Looks for our filter here, then in /run/netns/<name> and in init's
 * namespace. 1 removed, 0 found nowhere, -errno. */
static int remove_recorded_tc(const struct nw_log *log, const struct nw_meta *m, uint32_t prog_id)
{
	char path[NW_PATH_MAX], q[NW_PATH_MAX + 64];
	struct dirent *de;
	int back, err;
	DIR *d;

	err = remove_here(m, prog_id);
	if (err) {
		if (err == 1)
			nw_info(log, "removed tc filter of an earlier run", "ifindex=%u prog_id=%u",
				m->ifindex, prog_id);
		return err;
	}
	back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (back < 0)
		return -errno;
	d = opendir("/run/netns");
	while (d && !err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (size_t)snprintf(path, sizeof(path), "/run/netns/%s",
							     de->d_name) >= sizeof(path))
			continue;
		err = try_in(path, back, m, prog_id);
	}
	if (d)
		closedir(d);
	if (!err) {
		snprintf(path, sizeof(path), "/proc/1/ns/net");
		err = try_in(path, back, m, prog_id);
	}
	close(back);
	if (err == 1)
		nw_info(log, "removed tc filter of an earlier run",
			"ifindex=%u prog_id=%u netns=%s", m->ifindex, prog_id,
			nw_log_quote(q, sizeof(q), path));
	return err;
}

/* The tc filter of a controller that died without detaching, if any. */
static void remove_leftover_tc(const struct nw_log *log, const char *dir)
{
	char path[NW_PATH_MAX];
	struct nw_meta meta = { 0 };
	uint32_t prog_id;
	int fd, err;

	if (nw_pins_path(path, sizeof(path), dir, NW_MAP_META) || nw_pins_exists(path) != 1)
		return;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	err = nw_meta_read(fd, &meta);
	close(fd);
	if (err || meta.hook != NW_HOOK_TC || !meta.tc_handle)
		return;
	prog_id = our_tc_prog(dir);
	if (!prog_id) {
		nw_debug(log, "no tc program of this rack is loaded", "ifindex=%u", meta.ifindex);
		return;
	}
	err = remove_recorded_tc(log, &meta, prog_id);
	if (err == 0)
		nw_warn(log, "tc filter of this rack not found in any known namespace; left alone",
			"ifindex=%u prog_id=%u", meta.ifindex, prog_id);
	else if (err < 0)
		nw_warn(log, "cannot remove tc filter", "ifindex=%u err=%s", meta.ifindex,
			strerror(-err));
}

int rack_unpin(const struct nw_log *log, const struct rack_opts *o)
{
	char dir[NW_PATH_MAX], path[NW_PATH_MAX], q[NW_PATH_MAX + 64];

	if (nw_pins_rack_dir(dir, sizeof(dir), o->pin_dir, o->rack)) {
		nw_error(log, "pin dir path too long", NULL);
		return 1;
	}
	if (!nw_socket_store_path(path, sizeof(path), o->state_dir, o->rack) && !unlink(path))
		nw_info(log, "removed socket state", "file=%s", nw_log_quote(q, sizeof(q), path));
	if (nw_pins_exists(dir) != 1) {
		nw_info(log, "nothing pinned", "path=%s", nw_log_quote(q, sizeof(q), dir));
		return 0;
	}
	/* Before the pins go: the map that names our program goes with them.
	 * XDP links go with their pins. */
	remove_leftover_tc(log, dir);
	if (nw_pins_remove_all(log, dir)) {
		nw_error(log, "could not remove every pin", "path=%s",
			 nw_log_quote(q, sizeof(q), dir));
		return 1;
	}
	nw_info(log, "unpinned rack", "rack=%u path=%s", o->rack, nw_log_quote(q, sizeof(q), dir));
	return 0;
}
