// SPDX-License-Identifier: MIT
/* The rack x rack matrix and the scope snapshot (dc_fabric.h). */
#include "dc_fabric.h"
#include "fabric_mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dc_class_degraded(enum nw_health c)
{
	return c == NW_HEALTH_WARNING || c == NW_HEALTH_CRITICAL || c == NW_HEALTH_DOWN;
}

/* b after a in serial-number order mod 65536 (RFC 1982)? */
static int epoch_after(uint32_t b, uint32_t a)
{
	uint32_t d = (b - a) & 0xFFFFU;

	return d != 0 && d < 0x8000U;
}

int dc_mesh_init(struct dc_mesh *m, const struct nw_fabric_peers *file)
{
	memset(m, 0, sizeof(*m));
	if (!file->k || !file->epoch_s)
		return -1;
	m->ids = malloc((file->n + 1) * sizeof(*m->ids));
	if (!m->ids)
		return -1;
	m->n = (uint32_t)nw_fabric_peers_members(file, m->ids);
	m->k = file->k;
	m->epoch_s = file->epoch_s;
	return 0;
}

void dc_mesh_free(struct dc_mesh *m)
{
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

/* The position of rack `id`, or -1 when it is not a member. */
static long mesh_pos(const struct dc_mesh *m, uint32_t id)
{
	uint16_t key = (uint16_t)id;
	const uint16_t *at;

	if (id > UINT16_MAX || !m->n)
		return -1;
	at = bsearch(&key, m->ids, m->n, sizeof(*m->ids), cmp_u16);
	return at ? (long)(at - m->ids) : -1;
}

static int scheduled(const struct dc_mesh *m, uint32_t from, uint32_t to, uint64_t e)
{
	uint64_t first = e > DC_MESH_EPOCHS_BEFORE ? e - DC_MESH_EPOCHS_BEFORE : 0;

	for (uint64_t x = first; x <= e + DC_MESH_EPOCHS_AFTER; x++)
		if (nw_fabric_mesh_probes(m->n, m->k, x, from, to))
			return 1;
	return 0;
}

uint32_t dc_mesh_admit(const struct dc_mesh *m, struct nw_report *r, uint64_t wall_ns)
{
	long dst = mesh_pos(m, r->rack_id);
	uint64_t e = wall_ns / 1000000000ULL / m->epoch_s;
	uint32_t kept = 0, dropped;

	for (uint32_t i = 0; i < r->npaths; i++) {
		long src = mesh_pos(m, r->paths[i].src_rack);

		if (dst < 0 || src < 0 || !scheduled(m, (uint32_t)src, (uint32_t)dst, e))
			continue;
		r->paths[kept++] = r->paths[i];
	}
	dropped = r->npaths - kept;
	r->npaths = kept;
	return dropped;
}

void dc_fabric_free(struct dc_fabric *f)
{
	free(f->paths);
	memset(f, 0, sizeof(*f));
	f->score = NAN;
}

const char *dc_fabric_mode(const struct dc_fabric *f, const struct dc_state *st)
{
	if (!f->k)
		return "none";
	return st->n && f->k >= st->n - 1 ? "full" : "limited";
}

int dc_fabric_build(struct dc_fabric *f, const struct dc_state *st, uint64_t mono_ns)
{
	size_t total = 0, scored = 0;
	int have_epoch = 0;
	double err = 0;

	memset(f, 0, sizeof(*f));
	f->score = NAN;
	f->pairs_total = st->n ? (uint64_t)st->n * (st->n - 1) : 0;
	/* the current epoch: the newest any fresh rack reports */
	for (size_t i = 0; i < st->n; i++) {
		const struct dc_rack *r = &st->racks[i];

		if (!r->have || !r->last.npaths)
			continue;
		total += r->last.npaths;
		if (dc_rack_state(st, r, mono_ns) != DC_RACK_OK)
			continue;
		if (r->last.npaths > f->k)
			f->k = r->last.npaths;
		for (uint32_t j = 0; j < r->last.npaths; j++) {
			uint32_t e = r->last.paths[j].mesh_epoch;

			if (!have_epoch || epoch_after(e, f->epoch))
				f->epoch = e;
			have_epoch = 1;
		}
	}
	f->paths = malloc(total * sizeof(*f->paths) + 1);
	if (!f->paths)
		return -1;
	for (size_t i = 0; i < st->n; i++) {
		const struct dc_rack *r = &st->racks[i];
		int stale;
		double age;

		if (!r->have || !r->last.npaths)
			continue;
		stale = dc_rack_state(st, r, mono_ns) != DC_RACK_OK;
		age = dc_rack_age_s(r, mono_ns);
		for (uint32_t j = 0; j < r->last.npaths; j++) {
			const struct nw_report_path *p = &r->last.paths[j];

			/* a row of the epoch before still counts: racks switch
			 * epochs a report apart, not at one instant */
			if (!stale && p->mesh_epoch != f->epoch &&
			    ((f->epoch - p->mesh_epoch) & 0xFFFFU) != 1)
				continue;
			f->paths[f->n++] = (struct dc_path){ .src = p->src_rack,
							     .dst = r->rack_id,
							     .row = p,
							     .age_s = age,
							     .stale = stale };
			if (stale)
				continue;
			f->probed++;
			if (isfinite(p->error)) {
				err += p->error;
				scored++;
			}
		}
	}
	if (scored)
		f->score = 1.0 - err / (double)scored;
	return 0;
}

double dc_fabric_dc_score(const struct dc_fabric *f, const struct dc_state *st, uint64_t mono_ns)
{
	double racks = dc_state_score(st, mono_ns);

	return isfinite(f->score) && f->score < racks ? f->score : racks;
}

static long rack_index(const struct dc_state *st, uint32_t rack_id)
{
	const struct dc_rack *r = dc_state_find(st, rack_id);

	return r ? (long)(r - st->racks) : -1;
}

int dc_fabric_rack_errors(const struct dc_fabric *f, const struct dc_state *st, double *in,
			  double *out)
{
	size_t *nin = calloc(st->n + 1, sizeof(*nin)), *nout = calloc(st->n + 1, sizeof(*nout));

	if (!nin || !nout) {
		free(nin);
		free(nout);
		return -1;
	}
	for (size_t i = 0; i < st->n; i++)
		in[i] = out[i] = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct dc_path *p = &f->paths[i];
		long a, b;

		if (p->stale || !isfinite(p->row->error))
			continue;
		a = rack_index(st, p->dst);
		b = rack_index(st, p->src);
		if (a >= 0) {
			in[a] += p->row->error;
			nin[a]++;
		}
		if (b >= 0) {
			out[b] += p->row->error;
			nout[b]++;
		}
	}
	for (size_t i = 0; i < st->n; i++) {
		in[i] = nin[i] ? in[i] / (double)nin[i] : NAN;
		out[i] = nout[i] ? out[i] / (double)nout[i] : NAN;
	}
	free(nin);
	free(nout);
	return 0;
}

int dc_fabric_snapshot(const struct dc_fabric *f, const struct dc_state *st, uint64_t mono_ns,
		       uint64_t wall_ns, struct nw_scope_entity **ents, uint32_t **racks,
		       struct nw_scope_snapshot *snap)
{
	size_t n = 0, nr = 0;

	memset(snap, 0, sizeof(*snap));
	*racks = malloc(st->n * sizeof(**racks) + 1);
	*ents = malloc((st->servers_total + f->probed + st->n) * sizeof(**ents) + 1);
	if (!*racks || !*ents) {
		free(*racks);
		free(*ents);
		*racks = NULL;
		*ents = NULL;
		return -1;
	}
	for (size_t i = 0; i < st->n; i++) {
		const struct dc_rack *r = &st->racks[i];

		if (!r->have)
			continue;
		if (dc_rack_state(st, r, mono_ns) != DC_RACK_OK) {
			/* reported, then stopped: its controller is the fault
			 * (rule 0), not each path its peers lose */
			(*ents)[n++] = (struct nw_scope_entity){
				.key = nw_scope_controller_key(r->rack_id),
				.degraded = 1,
				.loss_ratio = 1.0,
				.period_s = NAN,
				.since_ns = r->last.time_ns,
			};
			continue;
		}
		(*racks)[nr++] = r->rack_id;
		for (uint32_t j = 0; j < r->last.nservers; j++) {
			const struct nw_report_server *s = &r->last.servers[j];

			if (s->cls == NW_HEALTH_LEFT)
				continue; /* gone on purpose: not part of the rack now */
			(*ents)[n++] = (struct nw_scope_entity){
				.key = nw_scope_server_key(r->rack_id, s->id),
				.degraded = dc_class_degraded(s->cls),
				.loss_ratio = s->loss_ratio,
				.period_s = s->period_s,
				.since_ns = s->since_ns,
			};
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct dc_path *p = &f->paths[i];

		if (p->stale)
			continue;
		(*ents)[n++] = (struct nw_scope_entity){
			.key = nw_scope_path_key(p->src, p->dst),
			.degraded = dc_class_degraded(p->row->cls),
			.loss_ratio = p->row->loss_ratio,
			.period_s = p->row->period_s,
			.since_ns = p->row->since_ns,
		};
	}
	*snap = (struct nw_scope_snapshot){
		.now_ns = wall_ns, .e = *ents, .n = n, .racks = *racks, .nracks = nr
	};
	return 0;
}
