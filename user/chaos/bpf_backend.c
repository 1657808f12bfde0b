// SPDX-License-Identifier: MIT
/*
 * The BPF backend: bpf/chaos.bpf.c on clsact egress with the tool's own
 * handle and priority. The tool exits right away, so the tc filter keeps the
 * program alive and the maps are pinned per target for later --list/--clear.
 */
#include "chaos.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "chaos.skel.h"
#include "chaos_faults.h"
#include "tc_hook.h"

static const char *const map_names[] = { "chaos_params", "chaos_stats", "chaos_state" };

int chaos_bpf_pin_dir(const char *root, const struct nw_chaos_target *t, char *out, size_t size)
{
	/* A path's filter shares its interface with the link's and other
	 * paths': one directory per source rack. */
	int n = t->kind == NW_TARGET_PATH
			? snprintf(out, size, "%s/%s-%s-from-%u", root,
				   t->netns[0] ? t->netns : "host", t->iface, t->peer)
			: snprintf(out, size, "%s/%s-%s", root, t->netns[0] ? t->netns : "host",
				   t->iface);

	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

static int pin_path(const char *dir, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

static int read_params(const char *dir, struct nw_chaos_params *p)
{
	char path[512];
	__u32 zero = 0;
	int fd, r;

	if (pin_path(dir, "chaos_params", path, sizeof(path)))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	r = bpf_map_lookup_elem(fd, &zero, p);
	close(fd);
	return r;
}

static int read_stats(const char *dir, struct nw_chaos_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus(), fd, r;
	struct nw_chaos_stats *per;
	char path[512];
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0 || pin_path(dir, "chaos_stats", path, sizeof(path)))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	per = calloc((size_t)ncpu, sizeof(*per));
	r = per ? bpf_map_lookup_elem(fd, &zero, per) : -1;
	if (r == 0)
		nw_chaos_stats_sum(sum, per, ncpu);
	free(per);
	close(fd);
	return r;
}

/* 1 when any pin was there. */
static int unpin(const char *dir)
{
	char path[512];
	int any = 0;

	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++)
		if (!pin_path(dir, map_names[i], path, sizeof(path)) && unlink(path) == 0)
			any = 1;
	rmdir(dir);
	return any;
}

/* The tool's own filter on clsact egress (a path's: its own handle). */
static struct nw_tc_filter our_filter(const struct nw_chaos_target *t, int ifindex)
{
	struct nw_tc_filter f = { .ifindex = ifindex,
				  .egress = 1,
				  .handle = t->tc_handle ? t->tc_handle : NW_CHAOS_TC_HANDLE,
				  .priority = t->tc_handle ? t->tc_prio : NW_CHAOS_TC_PRIO };

	return f;
}

/* Our filter only: 1 removed, 0 none, -errno. */
static int detach(const struct nw_chaos_target *t, int ifindex)
{
	struct nw_tc_filter f = our_filter(t, ifindex);

	return nw_tc_filter_detach(&f);
}

/* Everything but the attach: the earlier filter of ours (if any) keeps
 * working until chaos_bpf_commit replaces it, so the fault changes in one
 * step. On failure nothing of ours is left on the target. */
int chaos_bpf_prepare(const char *pin_dir, const struct nw_chaos_target *t, int ifindex,
		      const struct nw_chaos_params *want, struct chaos_bpf_staged *out, char *err,
		      size_t errlen)
{
	struct nw_chaos_params p = *want, old;
	struct chaos *skel = NULL;
	char path[512];
	__u32 zero = 0;
	int r, made_before;

	memset(out, 0, sizeof(*out));
	out->filter = our_filter(t, ifindex);
	snprintf(out->pin_dir, sizeof(out->pin_dir), "%s", pin_dir);
	/* A clsact the tool made earlier stays the tool's to remove. */
	made_before = read_params(pin_dir, &old) == 0 && (old.owner & NW_CHAOS_OWN_CLSACT);
	/* The earlier maps: the attached program holds its own until replaced. */
	unpin(pin_dir);

	skel = chaos__open_and_load();
	if (!skel) {
		snprintf(err, errlen, "loading the BPF program: %s", strerror(errno));
		goto fail;
	}
	r = nw_tc_clsact_ensure(ifindex);
	if (r < 0) {
		snprintf(err, errlen, "creating clsact: %s", strerror(-r));
		goto fail;
	}
	if (nw_tc_clsact_owned(r, made_before))
		p.owner |= NW_CHAOS_OWN_CLSACT;
	if (bpf_map__update_elem(skel->maps.chaos_params, &zero, sizeof(zero), &p, sizeof(p),
				 BPF_ANY)) {
		snprintf(err, errlen, "writing the parameters: %s", strerror(errno));
		goto fail;
	}
	{
		char root[512];
		const char *slash;

		snprintf(root, sizeof(root), "%s", pin_dir);
		slash = strrchr(root, '/');
		if (slash && slash != root)
			root[slash - root] = '\0';
		if ((mkdir(root, 0700) && errno != EEXIST) ||
		    (mkdir(pin_dir, 0700) && errno != EEXIST)) {
			snprintf(err, errlen, "%s: %s (is bpffs mounted?)", pin_dir,
				 strerror(errno));
			goto fail;
		}
	}
	{
		struct bpf_map *maps[] = { skel->maps.chaos_params, skel->maps.chaos_stats,
					   skel->maps.chaos_state };

		for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
			if (pin_path(pin_dir, map_names[i], path, sizeof(path)) ||
			    bpf_map__pin(maps[i], path)) {
				snprintf(err, errlen, "pinning %s: %s", path, strerror(errno));
				goto fail;
			}
		}
	}
	out->skel = skel;
	out->owner = p.owner;
	return 0;
fail:
	chaos__destroy(skel);
	unpin(pin_dir);
	detach(t, ifindex);
	nw_tc_clsact_release(ifindex, p.owner & NW_CHAOS_OWN_CLSACT);
	return -1;
}

int chaos_bpf_commit(struct chaos_bpf_staged *s, const struct nw_log *log, char *err, size_t errlen)
{
	__u32 prog_id = 0;
	/* Our handle and priority on egress are the tool's by definition:
	 * replaced in one netlink request, no moment without a filter. */
	int r = nw_tc_filter_attach(&s->filter, bpf_program__fd(s->skel->progs.nw_chaos), 1,
				    &prog_id);

	if (r) {
		snprintf(err, errlen, "attaching to clsact egress: %s", strerror(-r));
		unpin(s->pin_dir);
		nw_tc_filter_detach(&s->filter);
		nw_tc_clsact_release(s->filter.ifindex, s->owner & NW_CHAOS_OWN_CLSACT);
	} else {
		nw_debug(log, "bpf attached", "ifindex=%d prog_id=%u pin_dir=%s", s->filter.ifindex,
			 prog_id, s->pin_dir);
	}
	chaos__destroy(s->skel); /* the filter and the pins keep what is needed */
	s->skel = NULL;
	return r ? -1 : 0;
}

void chaos_bpf_discard(struct chaos_bpf_staged *s)
{
	if (!s->skel)
		return;
	chaos__destroy(s->skel);
	s->skel = NULL;
	unpin(s->pin_dir);
}

int chaos_bpf_apply(const char *pin_dir, const struct nw_chaos_target *t, int ifindex,
		    const struct nw_chaos_params *want, const struct nw_log *log, char *err,
		    size_t errlen)
{
	struct chaos_bpf_staged s;

	if (chaos_bpf_prepare(pin_dir, t, ifindex, want, &s, err, errlen))
		return -1;
	return chaos_bpf_commit(&s, log, err, errlen);
}

int chaos_bpf_clear(const char *pin_dir, const struct nw_chaos_target *t, int ifindex, char *err,
		    size_t errlen)
{
	struct nw_chaos_params p;
	int owned = read_params(pin_dir, &p) == 0 && (p.owner & NW_CHAOS_OWN_CLSACT);
	int removed = 0, r;

	if (ifindex > 0) {
		r = detach(t, ifindex);
		if (r < 0) {
			snprintf(err, errlen, "detaching the filter: %s", strerror(-r));
			return -1;
		}
		removed |= r;
	}
	removed |= unpin(pin_dir);
	if (ifindex > 0)
		removed |= nw_tc_clsact_release(ifindex, owned) == 1;
	return removed;
}

int chaos_bpf_query(const char *pin_dir, const struct nw_chaos_target *t, int ifindex,
		    struct chaos_bpf_info *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->pinned = read_params(pin_dir, &out->params) == 0;
	if (out->pinned)
		read_stats(pin_dir, &out->stats);
	if (ifindex > 0) {
		struct nw_tc_filter f = our_filter(t, ifindex);
		int r = nw_tc_filter_query(&f, &out->prog_id);

		if (r < 0) {
			snprintf(err, errlen, "querying the filter: %s", strerror(-r));
			return -1;
		}
	}
	return 0;
}
