// SPDX-License-Identifier: MIT
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "collector.skel.h"
#include "collector.h"
#include "pins.h"

/* The pinned size of map `name`, 0 when not pinned, -errno when unreadable. */
static long pinned_max_entries(const char *rack_dir, const char *name)
{
	char path[NW_PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, ret;

	if (nw_pins_path(path, sizeof(path), rack_dir, name))
		return -ENAMETOOLONG;
	if (nw_pins_exists(path) != 1)
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	ret = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (ret)
		return -errno;
	return info.max_entries;
}

static uint32_t size_map(const struct nw_log *log, const struct nw_load_cfg *cfg,
			 struct bpf_map *map, const char *name)
{
	long pinned = pinned_max_entries(cfg->rack_dir, name);
	uint32_t size = cfg->max_servers;

	if (pinned > 0 && (uint32_t)pinned != cfg->max_servers) {
		nw_warn(log,
			"pinned map has another size than --max-servers: keeping the pinned size",
			"map=%s pinned=%ld wanted=%u", name, pinned, cfg->max_servers);
		size = (uint32_t)pinned;
	} else if (pinned < 0) {
		/* libbpf will report the real problem when it tries to reuse it. */
		nw_warn(log, "cannot inspect pinned map", "map=%s err=%s", name,
			strerror((int)-pinned));
	}
	bpf_map__set_max_entries(map, size);
	return size;
}

struct collector *nw_loader_open(const struct nw_log *log, const struct nw_load_cfg *cfg, int *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = cfg->rack_dir);
	struct collector *skel = collector__open_opts(&oopts);

	if (!skel) {
		*err = -errno;
		nw_error(log, "cannot open BPF collector", "err=%s", strerror(errno));
	}
	return skel;
}

void nw_loader_configure(const struct nw_log *log, const struct nw_load_cfg *cfg,
			 struct collector *skel, uint32_t *max_slots)
{
	uint32_t s_state, s_index, s_rings;

	skel->rodata->nw_port = cfg->port;
	skel->rodata->nw_rack_id = cfg->rack_id;
	skel->rodata->nw_discovery_per_sec = cfg->discovery_per_sec;

	s_state = size_map(log, cfg, skel->maps.nw_state, NW_MAP_STATE);
	s_index = size_map(log, cfg, skel->maps.nw_index, NW_MAP_INDEX);
	s_rings = size_map(log, cfg, skel->maps.nw_rings, NW_MAP_RINGS);
	/* Indexed by server id, not slot: ids below its size take the fast path,
	 * larger ones the hash, so its size never limits the slots. */
	size_map(log, cfg, skel->maps.nw_direct, NW_MAP_DIRECT);
	*max_slots = s_state < s_rings ? s_state : s_rings;
	if (s_index < *max_slots)
		*max_slots = s_index;
}

int nw_loader_load(const struct nw_log *log, struct collector *skel)
{
	int err = collector__load(skel);

	if (err)
		nw_error(log,
			 "cannot load BPF collector (pinned maps from another build? remove them with --unpin)",
			 "err=%s", strerror(-err));
	return err;
}
