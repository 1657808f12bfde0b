// SPDX-License-Identifier: MIT
#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <string.h>
#include <unistd.h>

#include "meta.h"
#include "tc_hook.h"

static int xdp_mode_flags(uint32_t hook)
{
	return hook == NW_HOOK_XDP ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/* fd of the pinned link when it still drives XDP on `ifindex`, else -1. */
static int open_pinned_link(const char *path, int ifindex)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd;

	if (nw_pins_exists(path) != 1)
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_XDP ||
	    (int)info.xdp.ifindex != ifindex) {
		close(fd);
		return -1;
	}
	return fd;
}

static int xdp_attach(const struct nw_log *log, struct nw_attach *a, uint32_t hook, int prog_fd,
		      const struct nw_meta *prev)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = (__u32)xdp_mode_flags(hook));
	int fd, err;

	fd = open_pinned_link(a->link_pin, a->ifindex);
	if (fd >= 0 && prev->hook == hook) {
		/* The old program kept counting while we were away; swapping the
		 * program in place leaves no gap and no double count. */
		if (bpf_link_update(fd, prog_fd, NULL) == 0) {
			a->link_fd = fd;
			a->hook = hook;
			char q[64];

			nw_info(log, "reused pinned XDP link", "hook=%s iface=%s",
				nw_hook_name(hook), nw_log_quote(q, sizeof(q), a->ifname));
			return 0;
		}
		nw_warn(log, "cannot update pinned XDP link: attaching anew", "err=%s",
			strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (nw_pins_exists(a->link_pin) == 1) {
		/* Stale (other mode, or its interface is gone): the pin is the only
		 * reference keeping it, dropping it detaches it. */
		char q[64];

		unlink(a->link_pin);
		nw_info(log, "dropped stale pinned XDP link", "iface=%s",
			nw_log_quote(q, sizeof(q), a->ifname));
	}
	fd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, a->link_pin)) {
		err = -errno;
		close(fd);
		nw_error(log, "cannot pin XDP link", "err=%s", strerror(-err));
		return err;
	}
	a->link_fd = fd;
	a->hook = hook;
	return 0;
}

/* Our filter (handle 0 when none was attached) and, by tc_hook's rule, the
 * clsact qdisc when `owned` and nobody else's filter is left on it. */
static void tc_remove(const struct nw_log *log, int ifindex, uint32_t handle, uint32_t prio,
		      int owned)
{
	struct nw_tc_filter f = { .ifindex = ifindex, .handle = handle, .priority = prio };
	int err;

	err = handle ? nw_tc_filter_detach(&f) : 1;
	if (err == 0)
		nw_debug(log, "tc filter already gone", "ifindex=%d", ifindex);
	else if (err < 0)
		nw_warn(log, "cannot detach tc filter", "ifindex=%d err=%s", ifindex,
			strerror(-err));
	err = nw_tc_clsact_release(ifindex, owned);
	if (err < 0)
		nw_warn(log, "cannot remove clsact qdisc", "ifindex=%d err=%s", ifindex,
			strerror(-err));
}

/* Map ids of the program behind fd (at most max), 0 when unknown. */
static uint32_t prog_maps(int fd, uint32_t *ids, uint32_t max)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = max;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.nr_map_ids < max ? info.nr_map_ids : max;
}

#define NW_OWN_MAX_MAPS 32U

/* Whether filter f runs a program of this rack's: one that shares a map
 * with prog_fd's (the maps are pinned, and this run's programs reuse
 * them). An ifindex and a handle name a filter only within one network
 * namespace; the recorded place may hold a stranger's filter here
 * (docs/security.md, "--unpin touches only what NetWatch owns"). *id gets
 * its program id. */
static int filter_is_ours(const struct nw_tc_filter *f, int prog_fd, uint32_t *id)
{
	uint32_t mine[NW_OWN_MAX_MAPS] = { 0 }, theirs[NW_OWN_MAX_MAPS] = { 0 };
	uint32_t nmine, ntheirs;
	int fd, ours = 0;

	*id = 0;
	if (prog_fd < 0 || nw_tc_filter_query(f, id) <= 0 || !*id)
		return 0;
	nmine = prog_maps(prog_fd, mine, NW_OWN_MAX_MAPS);
	fd = bpf_prog_get_fd_by_id(*id);
	if (fd < 0)
		return 0;
	ntheirs = prog_maps(fd, theirs, NW_OWN_MAX_MAPS);
	close(fd);
	for (uint32_t i = 0; i < nmine && !ours; i++)
		for (uint32_t j = 0; j < ntheirs && !ours; j++)
			ours = mine[i] == theirs[j];
	return ours;
}

static int tc_attach(const struct nw_log *log, struct nw_attach *a, int prog_fd,
		     const struct nw_meta *prev)
{
	struct nw_tc_filter f = { .ifindex = a->ifindex,
				  .handle = NW_TC_HANDLE,
				  .priority = NW_TC_PRIORITY };
	int ours_before = prev->hook == NW_HOOK_TC && (int)prev->ifindex == a->ifindex;
	uint32_t there;
	int ensured, err;

	ensured = nw_tc_clsact_ensure(a->ifindex);
	if (ensured < 0) {
		nw_debug(log, "cannot create clsact qdisc", "err=%s", strerror(-ensured));
		return ensured;
	}
	/* Already there: either another tool's qdisc, or the one our earlier run made. */
	a->created_clsact = nw_tc_clsact_owned(ensured, ours_before && prev->created_clsact);
	/* Replace only a filter we know is ours (recorded here, and running a
	 * program on our maps); otherwise fail on a stranger. */
	err = nw_tc_filter_attach(&f, prog_fd, ours_before && filter_is_ours(&f, prog_fd, &there),
				  NULL);
	if (err) {
		nw_debug(log, "cannot attach tc filter", "err=%s", strerror(-err));
		if (a->created_clsact && !ours_before)
			tc_remove(log, a->ifindex, 0, 0, 1);
		return err;
	}
	a->hook = NW_HOOK_TC;
	a->tc_handle = f.handle;
	a->tc_priority = f.priority;
	return 0;
}

/* Another run's XDP links in this rack dir, other than the one in use. */
static void drop_other_links(const struct nw_log *log, const struct nw_attach *a,
			     const char *rack_dir)
{
	char path[NW_PATH_MAX], q[300];
	struct dirent *de;
	DIR *d = opendir(rack_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "link_xdp_", 9) != 0 ||
		    nw_pins_path(path, sizeof(path), rack_dir, de->d_name) ||
		    (a->link_fd >= 0 && strcmp(path, a->link_pin) == 0))
			continue;
		if (unlink(path) == 0)
			nw_info(log, "removed XDP link of an earlier run", "pin=%s",
				nw_log_quote(q, sizeof(q), de->d_name));
	}
	closedir(d);
}

int nw_attach_start(const struct nw_log *log, struct nw_attach *a, uint32_t want,
		    const char *ifname, const char *rack_dir, int xdp_prog_fd, int tc_prog_fd,
		    const struct nw_meta *prev)
{
	uint32_t order[4] = { 0 };
	size_t n = 0;
	int err = -EINVAL;
	char name[IF_NAMESIZE + 16];

	memset(a, 0, sizeof(*a));
	a->link_fd = -1;
	if (strlen(ifname) >= IF_NAMESIZE)
		return -ENAMETOOLONG;
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	a->ifindex = (int)if_nametoindex(ifname);
	if (!a->ifindex)
		return -ENODEV;
	snprintf(name, sizeof(name), "link_xdp_%s", ifname);
	if (nw_pins_path(a->link_pin, sizeof(a->link_pin), rack_dir, name))
		return -ENAMETOOLONG;
	a->dir_fd = open(rack_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (want == NW_HOOK_AUTO) {
		/* Prefer what an earlier run on this interface got: its link can
		 * be updated in place. */
		if ((prev->hook == NW_HOOK_XDP || prev->hook == NW_HOOK_XDPGENERIC) &&
		    (int)prev->ifindex == a->ifindex)
			order[n++] = prev->hook;
		if (n == 0 || order[0] != NW_HOOK_XDP)
			order[n++] = NW_HOOK_XDP;
		if (order[0] != NW_HOOK_XDPGENERIC)
			order[n++] = NW_HOOK_XDPGENERIC;
		order[n++] = NW_HOOK_TC;
	} else {
		order[n++] = want;
	}
	for (size_t i = 0; i < n; i++) {
		if (order[i] == NW_HOOK_TC)
			err = tc_attach(log, a, tc_prog_fd, prev);
		else
			err = xdp_attach(log, a, order[i], xdp_prog_fd, prev);
		if (err == 0)
			break;
		nw_debug(log, "hook not available", "hook=%s err=%s", nw_hook_name(order[i]),
			 strerror(-err));
	}
	if (err) {
		if (a->dir_fd > 0)
			close(a->dir_fd);
		a->dir_fd = -1;
		return err;
	}
	drop_other_links(log, a, rack_dir);
	if (prev->hook == NW_HOOK_TC &&
	    !(a->hook == NW_HOOK_TC && (int)prev->ifindex == a->ifindex))
		nw_attach_remove_recorded_tc(log, prev, tc_prog_fd);
	return 0;
}

void nw_attach_stop(const struct nw_log *log, struct nw_attach *a)
{
	if (a->link_fd >= 0) {
		const char *name = strrchr(a->link_pin, '/');

		if ((a->dir_fd > 0 ? unlinkat(a->dir_fd, name ? name + 1 : a->link_pin, 0)
				   : unlink(a->link_pin)) &&
		    errno != ENOENT)
			nw_warn(log, "cannot unpin XDP link", "err=%s", strerror(errno));
		close(a->link_fd);
		a->link_fd = -1;
	} else if (a->hook == NW_HOOK_TC) {
		tc_remove(log, a->ifindex, a->tc_handle, a->tc_priority, a->created_clsact);
	}
	if (a->dir_fd > 0)
		close(a->dir_fd);
	a->dir_fd = -1;
	a->hook = NW_HOOK_NONE;
}

void nw_attach_remove_recorded_tc(const struct nw_log *log, const struct nw_meta *prev, int prog_fd)
{
	struct nw_tc_filter f = { .ifindex = (int)prev->ifindex,
				  .handle = prev->tc_handle,
				  .priority = prev->tc_priority };
	uint32_t id;
	int err;

	if (prev->hook != NW_HOOK_TC || !prev->ifindex || !prev->tc_handle)
		return;
	if (!filter_is_ours(&f, prog_fd, &id)) {
		if (id)
			nw_warn(log, "left the tc filter at the recorded place: not ours",
				"ifindex=%u prog_id=%u", prev->ifindex, id);
		return;
	}
	err = nw_tc_filter_detach_if(&f, id);
	if (err < 0)
		nw_warn(log, "cannot detach tc filter", "ifindex=%u err=%s", prev->ifindex,
			strerror(-err));
	err = nw_tc_clsact_release((int)prev->ifindex, (int)prev->created_clsact);
	if (err < 0)
		nw_warn(log, "cannot remove clsact qdisc", "ifindex=%u err=%s", prev->ifindex,
			strerror(-err));
	nw_info(log, "removed tc filter of an earlier run", "ifindex=%u", prev->ifindex);
}
