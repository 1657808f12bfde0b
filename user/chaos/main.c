// SPDX-License-Identifier: MIT
/* netwatch-chaos: fault injection on the lab's (or real nodes') agent-side
 * interfaces, resolved from a topology file. The verb (apply, clear, list:
 * chaos_options.h) picks what is done to each selected target (run.c). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos.h"

static int selected(const struct chaos_opts *o, const struct nw_chaos_target *t)
{
	if (o->uplink || o->have_path)
		return t->kind != NW_TARGET_SERVER; /* the fabric list holds only those */
	if (o->have_rack && t->rack_id != o->rack)
		return 0;
	if (!o->servers)
		return 1;
	for (size_t i = 0; i < o->nservers; i++)
		if (o->servers[i] == t->server_id)
			return 1;
	return 0;
}

/* Every asked-for server must exist: a typo must not be a silent no-op. */
static int check_selection(const struct chaos_opts *o, const struct nw_chaos_topology *topo,
			   size_t *count)
{
	*count = 0;
	for (size_t i = 0; i < topo->count; i++)
		*count += (size_t)selected(o, &topo->targets[i]);
	for (size_t s = 0; o->servers && s < o->nservers; s++) {
		int found = 0;

		for (size_t i = 0; i < topo->count && !found; i++)
			found = topo->targets[i].rack_id == o->rack &&
				topo->targets[i].server_id == o->servers[s];
		if (!found) {
			fprintf(stderr,
				"netwatch-chaos: --server: rack %u has no server %u in %s\n",
				o->rack, o->servers[s], o->topology);
			return -1;
		}
	}
	if (*count == 0 && o->have_rack) {
		fprintf(stderr, "netwatch-chaos: --rack: no rack %u in %s\n", o->rack, o->topology);
		return -1;
	}
	return 0;
}

static int same_iface(const struct nw_chaos_target *a, const struct nw_chaos_target *b)
{
	return !strcmp(a->netns, b->netns) && !strcmp(a->iface, b->iface);
}

/* Faults go on an interface: a server that shares one with a selected
 * server is impaired too, which the user must hear about. */
static void warn_shared(const struct chaos_opts *o, const struct nw_chaos_topology *topo)
{
	for (size_t i = 0; i < topo->count; i++) {
		const struct nw_chaos_target *u = &topo->targets[i];
		char lu[160], ls[160];

		if (selected(o, u))
			continue;
		for (size_t j = 0; j < topo->count; j++) {
			const struct nw_chaos_target *s = &topo->targets[j];

			if (!selected(o, s) || !same_iface(s, u))
				continue;
			chaos_target_label(u, lu, sizeof(lu));
			chaos_target_label(s, ls, sizeof(ls));
			fprintf(stderr,
				"netwatch-chaos: warning: %s shares its interface with %s and "
				"is impaired too\n",
				lu, ls);
			break;
		}
	}
}

/* An earlier selected server with the same interface and agent: the work
 * for this one was done there. */
static const struct nw_chaos_target *done_before(const struct chaos_opts *o,
						 const struct nw_chaos_topology *topo, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (selected(o, &topo->targets[j]) &&
		    same_iface(&topo->targets[j], &topo->targets[i]) &&
		    !strcmp(topo->targets[j].control, topo->targets[i].control))
			return &topo->targets[j];
	return NULL;
}

/* What each verb does to one selected target, in that target's namespace
 * (ifindex 0 when the namespace is gone). */
static int (*const per_target[])(const struct chaos_ctx *c, const struct nw_chaos_target *t,
				 int ifindex) = {
	[CHAOS_APPLY] = chaos_apply_target,
	[CHAOS_CLEAR] = chaos_clear_target,
	[CHAOS_LIST] = chaos_list_target,
};

/* The apply's staged BPF programs, attached one right after the other, each
 * in its target's namespace (chaos.h, chaos_bpf_prepare). 0, or 1 when one
 * failed (said). */
static int commit_batch(const struct chaos_ctx *c)
{
	struct chaos_batch *b = c->batch;
	char err[512];
	int failed = 0;
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct chaos_staged_target *s = &b->v[i];

		if (chaos_netns_enter(s->t->netns, err, sizeof(err))) {
			fprintf(stderr, "netwatch-chaos: %s: %s\n", s->label, err);
			chaos_bpf_discard(&s->bpf);
			failed = 1;
			continue;
		}
		s->attached = chaos_bpf_commit(&s->bpf, c->log, err, sizeof(err)) == 0;
		if (!s->attached) {
			fprintf(stderr, "netwatch-chaos: %s: backend bpf cannot apply %s: %s\n",
				s->label, s->what, err);
			failed = 1;
		}
		if (s->t->netns[0] && chaos_netns_home(c->home_ns)) {
			fprintf(stderr, "netwatch-chaos: returning to the home namespace: %s\n",
				strerror(errno));
			for (i++; i < b->n; i++)
				chaos_bpf_discard(&b->v[i].bpf);
			return 1;
		}
	}
	/* Said once all are on: the lines cost no time between two attaches. */
	for (i = 0; i < b->n; i++)
		if (b->v[i].attached)
			printf("%s: bpf: %s\n", b->v[i].label, b->v[i].what);
	return failed;
}

/* The verb on every selected target. 0 done, 1 something failed (said). */
static int run_targets(const struct chaos_ctx *c, const struct nw_chaos_topology *topo)
{
	const struct chaos_opts *o = c->o;
	char err[512];
	int failed = 0;

	if (o->cmd == CHAOS_APPLY)
		warn_shared(o, topo);
	for (size_t i = 0; i < topo->count; i++) {
		const struct nw_chaos_target *t = &topo->targets[i], *before;
		int ifindex = 0, entered;

		if (!selected(o, t))
			continue;
		before = o->cmd == CHAOS_APPLY ? done_before(o, topo, i) : NULL;
		if (before) {
			char l1[160], l2[160];

			chaos_target_label(t, l1, sizeof(l1));
			chaos_target_label(before, l2, sizeof(l2));
			printf("%s: same interface and agent as %s: applied there\n", l1, l2);
			continue;
		}
		entered = chaos_netns_enter(t->netns, err, sizeof(err)) == 0;
		if (entered)
			ifindex = (int)if_nametoindex(t->iface);
		/* A namespace that is gone leaves only pins to clear. */
		if (!entered && o->cmd != CHAOS_CLEAR) {
			char label[160];

			chaos_target_label(t, label, sizeof(label));
			fprintf(stderr, "netwatch-chaos: %s: %s\n", label, err);
			failed = 1;
			continue;
		}
		failed |= per_target[o->cmd](c, t, ifindex);
		if (entered && t->netns[0] && chaos_netns_home(c->home_ns)) {
			fprintf(stderr, "netwatch-chaos: returning to the home namespace: %s\n",
				strerror(errno));
			return 1;
		}
	}
	return failed;
}

int main(int argc, char **argv)
{
	struct nw_log log = { .min_level = NW_LOG_INFO };
	struct chaos_opts o;
	struct nw_chaos_topology topo;
	struct chaos_ctx c = { .o = &o, .log = &log, .home_ns = -1 };
	struct chaos_batch batch = { 0 };
	enum nw_cli_result parsed;
	char err[512];
	size_t count;
	int rc = 2;

	/* libbpf (1.1) reads the kernel's BTF (5.5 MB) into fresh memory for
	 * every object it loads and frees it after: above glibc's mmap
	 * threshold each time is a new mapping, ~1,400 page faults to fill,
	 * and on this project's VMs those faults were most of an apply (perf:
	 * 0.6 s of CPU for a rack of 8, 75 ms a server). Kept in the heap, the
	 * freed memory is reused: 0.14 s for the 8 (docs/chaos.md). */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);

	/* The verb and its options; --help and --version end here. */
	parsed = chaos_opts_parse(argc, argv, &o);
	if (parsed != NW_CLI_RUN)
		return nw_cli_exit_status(parsed);
	if (o.verbose)
		log.min_level = NW_LOG_DEBUG;
	nw_log_route_libbpf(o.verbose);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The targets: the topology file, and the selection checked against it. */
	if (nw_chaos_topology_load(o.topology, &topo, err, sizeof(err))) {
		fprintf(stderr, "netwatch-chaos: topology: %s\n", err);
		goto out_opts;
	}
	if (o.uplink || o.have_path) {
		/* The link's ends or the path's directions instead of servers. */
		struct nw_chaos_target *fabric;
		size_t n;

		if (chaos_fabric_targets(&o, &topo, &fabric, &n, err, sizeof(err))) {
			fprintf(stderr, "netwatch-chaos: %s: %s\n",
				o.uplink ? "--uplink" : "--path", err);
			goto out_topo;
		}
		free(topo.targets);
		topo.targets = fabric;
		topo.count = count = n;
	} else if (check_selection(&o, &topo, &count)) {
		goto out_topo;
	}

	/* Each target in its own namespace, then home again. */
	c.home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (c.home_ns < 0) {
		fprintf(stderr, "netwatch-chaos: /proc/self/ns/net: %s\n", strerror(errno));
		rc = 1;
		goto out_topo;
	}
	if (o.cmd == CHAOS_APPLY && count) {
		batch.v = calloc(count, sizeof(*batch.v));
		batch.cap = batch.v ? count : 0; /* no memory: each attached at once */
		c.batch = &batch;
	}
	rc = run_targets(&c, &topo) ? 1 : 0;
	if (c.batch && commit_batch(&c))
		rc = 1;
	free(batch.v);
	if (!count)
		printf("no servers in %s\n", o.topology);
	close(c.home_ns);
out_topo:
	nw_chaos_topology_free(&topo);
out_opts:
	chaos_opts_free(&o);
	return rc;
}
