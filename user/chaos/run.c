// SPDX-License-Identifier: MIT
/*
 * Routes each asked-for fault to a backend and says which applied what.
 * An apply replaces what the tool put on the target's netem and BPF
 * backends; the agent is only spoken to when faults go there or on --clear
 * (docs/chaos.md).
 */
#include "chaos.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chaos_agent.h"
#include "chaos_netem.h"

void chaos_target_label(const struct nw_chaos_target *t, char *out, size_t size)
{
	const char *ns = t->netns[0] ? t->netns : "host";

	if (t->kind == NW_TARGET_UPLINK)
		snprintf(out, size, "rack %u uplink, %s end (%s/%s)", t->rack_id,
			 t->peer ? "fabric" : "rack", ns, t->iface);
	else if (t->kind == NW_TARGET_PATH)
		snprintf(out, size, "path rack %u -> rack %u (%s/%s)", t->peer, t->rack_id, ns,
			 t->iface);
	else
		snprintf(out, size, "rack %u server %u (%s/%s)", t->rack_id, t->server_id, ns,
			 t->iface);
}

static int fail(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const char *label, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netwatch-chaos: %s: ", label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int is_missing_qdisc(int r)
{
	return r == -ENOENT || r == -EOPNOTSUPP;
}

/* Why the netem backend is unusable, in words that name what is missing. */
static void netem_reason(int r, const char *kernel, char *out, size_t size)
{
	if (is_missing_qdisc(r))
		snprintf(out, size,
			 "this kernel has no sch_netem (the netem qdisc kind is unknown%s%s)",
			 kernel[0] ? "; kernel: " : "", kernel);
	else
		snprintf(out, size, "%s%s%s", strerror(-r), kernel[0] ? "; kernel: " : "", kernel);
}

/* A link end or a path direction: the tc program only (options checked
 * that the faults are its own). */
static int apply_fabric(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex,
			const char *label, const char *pin_dir)
{
	const struct chaos_opts *o = c->o;
	struct nw_chaos_params p;
	char what[256], err[256];

	nw_chaos_bpf_params(&o->faults, o->port, &p);
	if (t->kind == NW_TARGET_PATH) {
		p.flags |= NW_CHAOS_F_MATCH;
		p.src_net = t->src_net;
		p.src_mask = t->src_mask;
		p.dst_net = t->dst_net;
		p.dst_mask = t->dst_mask;
	}
	nw_chaos_describe(&o->faults, o->faults.set, what, sizeof(what));
	if (chaos_bpf_apply(pin_dir, t, ifindex, &p, c->log, err, sizeof(err)))
		return fail(label, "backend bpf cannot apply %s: %s", what, err);
	printf("%s: bpf: %s\n", label, what);
	return 0;
}

int chaos_apply_target(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex)
{
	const struct chaos_opts *o = c->o;
	const struct nw_chaos_faults *f = &o->faults;
	unsigned want = f->set, to_netem = 0, to_bpf = 0, to_agent = 0;
	char label[160], what[256], err[256], why[384], pin_dir[512];
	int r;

	chaos_target_label(t, label, sizeof(label));
	if (ifindex <= 0)
		return fail(label, "no interface %s in its namespace", t->iface);
	if (chaos_bpf_pin_dir(o->pin_dir, t, pin_dir, sizeof(pin_dir)))
		return fail(label, "pin directory name too long");
	if (t->kind != NW_TARGET_SERVER)
		return apply_fabric(c, t, ifindex, label, pin_dir);

	switch (o->backend) {
	case NW_BACKEND_NETEM:
		if (want & ~NW_FAULTS_NETEM) {
			nw_chaos_describe(f, want & ~NW_FAULTS_NETEM, what, sizeof(what));
			return fail(label,
				    "backend netem cannot apply %s (outage: bpf; skew: agent)",
				    what);
		}
		to_netem = want;
		break;
	case NW_BACKEND_BPF:
		if (want & ~NW_FAULTS_BPF) {
			nw_chaos_describe(f, want & ~NW_FAULTS_BPF, what, sizeof(what));
			return fail(label,
				    "backend bpf cannot apply %s: a tc program drops, copies "
				    "and changes packets but cannot hold them or change the sender's "
				    "clock (use netem or agent)",
				    what);
		}
		to_bpf = want;
		break;
	case NW_BACKEND_AGENT:
		if (want & ~NW_FAULTS_AGENT || f->burst > 1.0) {
			nw_chaos_describe(f,
					  (want & ~NW_FAULTS_AGENT) |
						  (f->burst > 1.0 ? NW_FAULT_LOSS : 0),
					  what, sizeof(what));
			return fail(
				label,
				"backend agent cannot apply %s: the agent delays, jitters, "
				"drops and duplicates its own samples independently and skews its "
				"clock (bursts, corruption, outages: bpf or netem)",
				what);
		}
		if (!t->control[0])
			return fail(label, "backend agent: the topology gives no control socket");
		to_agent = want;
		break;
	case NW_BACKEND_AUTO:
		/* Checked before anything changes: a server gets all or nothing. */
		if ((want & NW_FAULT_SKEW) && !t->control[0]) {
			nw_chaos_describe(f, NW_FAULT_SKEW, what, sizeof(what));
			return fail(label,
				    "no backend can apply %s: netem and bpf cannot change the "
				    "sender's clock; agent: the topology gives no control socket",
				    what);
		}
		to_agent = want & NW_FAULT_SKEW;
		to_bpf = want & NW_FAULT_OUTAGE; /* only the program keeps a schedule */
		if (!(want & NW_FAULTS_NETEM))
			break;
		/* netem first: it impairs the real path and does the rest. */
		r = nw_netem_apply(ifindex, f, want & NW_FAULTS_NETEM, err, sizeof(err));
		if (r == 0) {
			to_netem = want & NW_FAULTS_NETEM;
			nw_chaos_describe(f, to_netem, what, sizeof(what));
			printf("%s: netem: %s\n", label, what);
			break;
		}
		netem_reason(r, err, why, sizeof(why));
		if (!is_missing_qdisc(r)) {
			nw_chaos_describe(f, want & NW_FAULTS_NETEM, what, sizeof(what));
			return fail(label, "backend netem (auto) cannot apply %s: %s", what, why);
		}
		to_bpf |= want & NW_FAULTS_PACKET;
		if (want & NW_FAULTS_TIMING) {
			if (!t->control[0]) {
				nw_chaos_describe(f, want & NW_FAULTS_TIMING, what, sizeof(what));
				fprintf(stderr,
					"netwatch-chaos: %s: no backend can apply %s: netem: %s; bpf: "
					"cannot delay packets; agent: the topology gives no control "
					"socket\n",
					label, what, why);
				return 1;
			}
			to_agent |= want & NW_FAULTS_TIMING;
		}
		printf("%s: netem: not used: %s\n", label, why);
		break;
	}

	if (to_netem && o->backend != NW_BACKEND_AUTO) {
		nw_chaos_describe(f, to_netem, what, sizeof(what));
		r = nw_netem_apply(ifindex, f, to_netem, err, sizeof(err));
		if (r) {
			netem_reason(r, err, why, sizeof(why));
			return fail(label, "backend netem cannot apply %s: %s", what, why);
		}
		printf("%s: netem: %s\n", label, what);
	}
	if (!to_netem) {
		/* Replace, not add: an earlier netem of ours goes. */
		r = nw_netem_clear(ifindex, err, sizeof(err));
		if (r > 0)
			printf("%s: netem: removed the earlier impairment\n", label);
	}
	if (to_bpf) {
		struct nw_chaos_faults mine = *f;
		struct nw_chaos_params p;

		mine.set &= to_bpf; /* what went to netem must not be done twice */
		nw_chaos_bpf_params(&mine, o->port, &p);
		nw_chaos_describe(f, to_bpf, what, sizeof(what));
		if (c->batch && c->batch->n < c->batch->cap) {
			/* attached with the others (main.c), said then */
			struct chaos_staged_target *s = &c->batch->v[c->batch->n];

			if (chaos_bpf_prepare(pin_dir, t, ifindex, &p, &s->bpf, err, sizeof(err)))
				return fail(label, "backend bpf cannot apply %s: %s", what, err);
			s->t = t;
			snprintf(s->label, sizeof(s->label), "%s", label);
			snprintf(s->what, sizeof(s->what), "%s", what);
			c->batch->n++;
		} else {
			if (chaos_bpf_apply(pin_dir, t, ifindex, &p, c->log, err, sizeof(err)))
				return fail(label, "backend bpf cannot apply %s: %s", what, err);
			printf("%s: bpf: %s\n", label, what);
		}
	} else if (chaos_bpf_clear(pin_dir, t, ifindex, err, sizeof(err)) > 0) {
		printf("%s: bpf: removed the earlier impairment\n", label);
	}
	if (to_agent) {
		char spec[160];

		nw_chaos_describe(f, to_agent, what, sizeof(what));
		if (nw_chaos_agent_spec(f, to_agent, spec, sizeof(spec)))
			return fail(label, "agent: cannot express %s", what);
		if (nw_chaos_agent_send(t->control, spec, NW_CHAOS_AGENT_TIMEOUT_MS, err,
					sizeof(err)))
			return fail(label, "backend agent cannot apply %s: %s%s", what, err,
				    to_bpf ? " (the bpf part is applied; --clear removes it)" : "");
		if (chaos_agent_note_write(o->state_dir, t, spec))
			fprintf(stderr,
				"netwatch-chaos: %s: warning: cannot note the agent's impairment "
				"in %s: --clear will not reset it\n",
				label, o->state_dir);
		printf("%s: agent %s: %s\n", label, t->control, what);
	}
	return 0;
}

int chaos_clear_target(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex)
{
	char label[160], err[256], pin_dir[512], done[128] = "", spec[256];
	int failed = 0, r;

	chaos_target_label(t, label, sizeof(label));
	if (chaos_bpf_pin_dir(c->o->pin_dir, t, pin_dir, sizeof(pin_dir)))
		return fail(label, "pin directory name too long");
	if (ifindex > 0 && t->kind == NW_TARGET_SERVER) {
		r = nw_netem_clear(ifindex, err, sizeof(err));
		if (r < 0)
			failed = fail(label, "netem: %s", strerror(-r));
		else if (r > 0)
			strcat(done, " netem");
	}
	r = chaos_bpf_clear(pin_dir, t, ifindex, err, sizeof(err));
	if (r < 0)
		failed = fail(label, "bpf: %s", err);
	else if (r > 0)
		strcat(done, " bpf");
	/* Only an agent the tool impaired is reset: "" clears its whole run-time
	 * impairment, including one it was started with. */
	if (t->control[0] && chaos_agent_note_read(c->o->state_dir, t, spec, sizeof(spec))) {
		r = ifindex > 0 ? nw_chaos_agent_send(t->control, "", NW_CHAOS_AGENT_TIMEOUT_MS,
						      err, sizeof(err))
				: -2;
		if (r == -1) {
			failed = fail(label, "agent: %s", err);
		} else {
			/* -2: no agent listening (or no namespace): nothing of it to clear. */
			chaos_agent_note_remove(c->o->state_dir, t);
			if (r == 0)
				strcat(done, " agent");
		}
	}
	printf("%s: cleared:%s\n", label, done[0] ? done : " nothing was applied");
	return failed;
}

int chaos_list_target(const struct chaos_ctx *c, const struct nw_chaos_target *t, int ifindex)
{
	char label[160], err[256], pin_dir[512], what[256];
	struct nw_netem_seen seen;
	struct chaos_bpf_info info;
	int r;

	chaos_target_label(t, label, sizeof(label));
	printf("%s:\n", label);
	if (ifindex <= 0) {
		printf("  (interface %s not found in its namespace)\n", t->iface);
		return 1;
	}
	r = t->kind == NW_TARGET_SERVER ? nw_netem_query(ifindex, &seen, err, sizeof(err)) : 0;
	if (t->kind != NW_TARGET_SERVER) {
		/* the tc program is a link's or a path's only backend */
	} else if (r < 0) {
		printf("  netem: cannot read the qdiscs: %s\n", strerror(-r));
	} else if (r == 0) {
		printf("  netem: none\n");
	} else {
		nw_chaos_describe(&seen.faults, seen.faults.set, what, sizeof(what));
		printf("  netem: %s\n", what);
	}
	if (chaos_bpf_pin_dir(c->o->pin_dir, t, pin_dir, sizeof(pin_dir)) ||
	    chaos_bpf_query(pin_dir, t, ifindex, &info, err, sizeof(err))) {
		printf("  bpf: cannot read: %s\n", err);
	} else if (!info.pinned && !info.prog_id) {
		printf("  bpf: none\n");
	} else {
		struct nw_chaos_faults f;

		nw_chaos_params_faults(&info.params, &f);
		nw_chaos_describe(&f, f.set, what, sizeof(what));
		printf("  bpf: %s (filter %s", what, info.prog_id ? "attached" : "NOT attached");
		if (info.prog_id)
			printf(", prog id %u", info.prog_id);
		printf("; packets %llu dropped %llu duplicated %llu corrupted %llu; maps %s)\n",
		       (unsigned long long)info.stats.packets,
		       (unsigned long long)info.stats.dropped,
		       (unsigned long long)info.stats.duplicated,
		       (unsigned long long)info.stats.corrupted,
		       info.pinned ? pin_dir : "not pinned");
		if (info.params.flags & NW_CHAOS_F_MATCH)
			printf("  bpf: only packets between the two racks' subnets (%llu others "
			       "passed on)\n",
			       (unsigned long long)info.stats.unmatched);
	}
	if (t->kind != NW_TARGET_SERVER) {
		/* no agent sends a link's or a path's traffic */
	} else if (!t->control[0]) {
		printf("  agent: no control socket\n");
	} else {
		char spec[256];

		if (chaos_agent_note_read(c->o->state_dir, t, spec, sizeof(spec)))
			printf("  agent: %s (asked by netwatch-chaos; control %s)\n", spec,
			       t->control);
		else
			printf("  agent: nothing asked by netwatch-chaos (control %s)\n",
			       t->control);
	}
	return 0;
}
