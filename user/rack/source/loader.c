// SPDX-License-Identifier: MIT
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
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

/* The BPF capabilities this process lacks, as "CAP_BPF,CAP_PERFMON", or ""
 * when it holds them or CAP_SYS_ADMIN (what kernels < 5.8 and Docker 20.10
 * go by instead). */
static void missing_bpf_caps(char *out, size_t n)
{
	static const struct {
		cap_value_t cap;
		const char *name;
	} need[] = { { CAP_BPF, "CAP_BPF" }, { CAP_PERFMON, "CAP_PERFMON" } };
	cap_t have = cap_get_proc();
	cap_flag_value_t admin = CAP_CLEAR;
	size_t used = 0;

	out[0] = '\0';
	if (!have ||
	    (!cap_get_flag(have, CAP_SYS_ADMIN, CAP_EFFECTIVE, &admin) && admin == CAP_SET)) {
		cap_free(have);
		return;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if ((cap_get_flag(have, need[i].cap, CAP_EFFECTIVE, &v) || v != CAP_SET) &&
		    used < n)
			used += (size_t)snprintf(out + used, n - used, "%s%s", used ? "," : "",
						 need[i].name);
	}
	cap_free(have);
}

/* A map pinned under the rack's dir that the failed load did not reuse:
 * pins left by another build (another layout or size), --unpin's case. */
static const char *unreused_pin(struct collector *skel)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, skel->obj)
	{
		const char *path = bpf_map__pin_path(map);

		if (path && !bpf_map__is_pinned(map) && nw_pins_exists(path) == 1)
			return path;
	}
	return NULL;
}

int nw_loader_load(const struct nw_log *log, struct collector *skel)
{
	int err = collector__load(skel);
	const char *stale;
	char missing[64], q[NW_PATH_MAX + 8];

	if (!err)
		return 0;
	missing_bpf_caps(missing, sizeof(missing));
	/* EPERM from bpf() itself; EACCES from a verifier that, without
	 * CAP_PERFMON, treats the programs as untrusted. A privilege problem,
	 * not a build one: say which (docs/containers.md has the engines). */
	if (missing[0] && (err == -EPERM || err == -EACCES)) {
		nw_error(log,
			 "cannot load BPF collector: missing capabilities (grant CAP_BPF and "
			 "CAP_PERFMON; kernels < 5.8 and Docker 20.10: CAP_SYS_ADMIN)",
			 "missing=%s err=%s", missing, strerror(-err));
	} else if (err == -EPERM) {
		nw_error(log,
			 "cannot load BPF collector: bpf() not permitted although the capabilities "
			 "are held (a seccomp profile? Docker 20.10 allows bpf() only with "
			 "CAP_SYS_ADMIN; kernels < 5.8 need it too)",
			 "err=%s", strerror(-err));
	} else if ((stale = unreused_pin(skel))) {
		nw_error(log,
			 "cannot load BPF collector: a pinned map does not match this build "
			 "(remove the pins with --unpin)",
			 "pin=%s err=%s", nw_log_quote(q, sizeof(q), stale), strerror(-err));
	} else {
		nw_error(log, "cannot load BPF collector", "err=%s", strerror(-err));
	}
	return err;
}
