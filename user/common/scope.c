// SPDX-License-Identifier: MIT
/*
 * Fault scope (scope.h, docs/fabric.md section 6). Per interval the
 * entities are sorted by key once (servers by rack then id, paths by
 * destination then source), so a rack's servers and its incoming paths are
 * contiguous; the outgoing side is counted in one pass. Coherence (a common
 * cause) is "2/3 of the group share the median onset within share_s, or
 * share the dominant period": periods are compared as log-frequencies in a
 * sliding window, O(n log n), so a DC-wide group of thousands costs little.
 * The reports carry no frequency-bin width, so "within one bin" is a
 * relative frequency tolerance (period_tol, 10 %: a 256-sample window's bin
 * at a 1 s period and 20 Hz is 0.078 Hz, 8 % of 1 Hz).
 */
#include "scope.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double nw_scope_bucket_le[NW_SCOPE_BUCKETS] = { 1, 2, 3, 5, 10, 20, 30, 60 };

const char *nw_scope_name(enum nw_scope s)
{
	static const char *const names[NW_SCOPE__COUNT] = { "server", "path", "rack", "dc" };

	return (unsigned)s < NW_SCOPE__COUNT ? names[s] : "unknown";
}

const char *nw_scope_cause_name(enum nw_scope_cause c)
{
	static const char *const names[] = { "", "servers", "uplink", "tor", "controller" };

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "";
}

void nw_scope_cfg_default(struct nw_scope_cfg *c)
{
	*c = (struct nw_scope_cfg){ .theta_rack = 0.5,
				    .theta_path_bg = 0.2,
				    .theta_dc = 0.5,
				    .share_s = 3.0,
				    .period_tol = 0.1,
				    .hold = NW_SCOPE_HOLD_DEFAULT,
				    .hold_path = NW_SCOPE_HOLD_PATH_DEFAULT,
				    .clear = NW_SCOPE_CLEAR_DEFAULT,
				    .min_paths = 4 };
}

static unsigned hold_of(const struct nw_scope_state *st, const struct nw_scope_fault *f)
{
	return f->scope == NW_SCOPE_PATH ? st->cfg.hold_path : st->cfg.hold;
}

static int is_path(uint64_t key)
{
	return (key & NW_SCOPE_PATH_BIT) != 0;
}

static int is_controller(uint64_t key)
{
	return !is_path(key) && (uint32_t)key == NW_SCOPE_CONTROLLER_ID;
}

/* server: its rack; path: its destination */
static uint32_t key_rack(uint64_t key)
{
	return (uint32_t)((key & ~NW_SCOPE_PATH_BIT) >> 32);
}

/* server: its id; path: its source */
static uint32_t key_low(uint64_t key)
{
	return (uint32_t)key;
}

void nw_scope_fault_name(const struct nw_scope_fault *f, char *buf, size_t len)
{
	switch (f->scope) {
	case NW_SCOPE_SERVER:
		snprintf(buf, len, "server:%u/%u", f->rack_id, f->server_id);
		break;
	case NW_SCOPE_PATH:
		snprintf(buf, len, "path:%u%c%u", f->src_rack, f->both_directions ? '-' : '>',
			 f->dst_rack);
		break;
	case NW_SCOPE_RACK:
		snprintf(buf, len, "rack:%u", f->rack_id);
		break;
	default:
		snprintf(buf, len, "dc");
		break;
	}
}

/* ------------------------------------------------------------ lists */

static void fault_free(struct nw_scope_fault *f)
{
	free(f->members);
	f->members = NULL;
	f->nmembers = 0;
}

void nw_scope_list_free(struct nw_scope_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		fault_free(&l->f[i]);
	free(l->f);
	memset(l, 0, sizeof(*l));
}

static struct nw_scope_fault *list_push(struct nw_scope_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct nw_scope_fault *p = realloc(l->f, cap * sizeof(*p));

		if (!p)
			return NULL;
		l->f = p;
		l->cap = cap;
	}
	memset(&l->f[l->n], 0, sizeof(l->f[0]));
	return &l->f[l->n++];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int has_member(const struct nw_scope_fault *f, uint64_t key)
{
	return f->nmembers && bsearch(&key, f->members, f->nmembers, sizeof(key), cmp_u64);
}

static int overlaps(const struct nw_scope_fault *f, const struct nw_scope_fault *c)
{
	for (size_t m = 0; m < c->nmembers; m++)
		if (has_member(f, c->members[m]))
			return 1;
	return 0;
}

/* dst := dst ∪ src (both sorted). 0 or -1. */
static int members_union(struct nw_scope_fault *dst, const uint64_t *src, size_t n)
{
	uint64_t *m = malloc((dst->nmembers + n) * sizeof(*m) + 1);
	size_t i = 0, j = 0, k = 0;

	if (!m)
		return -1;
	while (i < dst->nmembers || j < n) {
		uint64_t x;

		if (j == n || (i < dst->nmembers && dst->members[i] < src[j]))
			x = dst->members[i++];
		else if (i == dst->nmembers || src[j] < dst->members[i])
			x = src[j++];
		else
			x = dst->members[i++], j++;
		m[k++] = x;
	}
	free(dst->members);
	dst->members = m;
	dst->nmembers = k;
	return 0;
}

/* ------------------------------------------------------------ decide */

struct rack_stat {
	uint32_t rack_id;
	size_t srv_first, nsrv, nsrv_deg; /* servers: a range of the sorted entities */
	size_t npath, npath_deg;          /* paths in and out */
	int rule1, rule2, fault, qualifies;
};

struct work {
	const struct nw_scope_cfg *cfg;
	const struct nw_scope_snapshot *s;
	const struct nw_scope_entity *e; /* sorted by key: the snapshot's or `own` */
	struct nw_scope_entity *own;     /* a sorted copy, if the snapshot was not */
	size_t n, first_path;
	struct rack_stat *r; /* one per snapshot rack */
	size_t nr;
	size_t paths, paths_deg;
	unsigned char *absorbed;
	uint32_t *dead; /* racks whose controller is dead (rule 0), sorted */
	size_t ndead;
	size_t *grp; /* scratch: entity indices of a group */
	double *tmp; /* scratch: onsets or log-frequencies */
};

static int cmp_entity(const void *a, const void *b)
{
	return cmp_u64(&((const struct nw_scope_entity *)a)->key,
		       &((const struct nw_scope_entity *)b)->key);
}

static struct rack_stat *rack_of(struct work *w, uint32_t rack_id)
{
	size_t lo = 0, hi = w->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->r[mid].rack_id < rack_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nr && w->r[lo].rack_id == rack_id ? &w->r[lo] : NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int is_dead(const struct work *w, uint32_t rack_id)
{
	return w->ndead && bsearch(&rack_id, w->dead, w->ndead, sizeof(*w->dead), cmp_u32);
}

/* A path from or to a dead controller's rack: that rack's evidence only. */
static int dead_path(const struct work *w, uint64_t key)
{
	return is_path(key) && w->ndead && (is_dead(w, key_rack(key)) || is_dead(w, key_low(key)));
}

static double onset_s(const struct work *w, const struct nw_scope_entity *e)
{
	return (double)(e->since_ns ? e->since_ns : w->s->now_ns) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The most members whose periods agree, and that common period (NAN when
 * no member has one). */
static size_t dominant_period(struct work *w, const size_t *g, size_t n, double *period)
{
	double tol = log1p(w->cfg->period_tol);
	size_t m = 0, best = 0, lo = 0;

	*period = NAN;
	for (size_t i = 0; i < n; i++) {
		double p = w->e[g[i]].period_s;

		if (isfinite(p) && p > 0)
			w->tmp[m++] = log(p);
	}
	qsort(w->tmp, m, sizeof(double), cmp_double);
	for (size_t hi = 0; hi < m; hi++) {
		while (w->tmp[hi] - w->tmp[lo] > tol)
			lo++;
		if (hi - lo + 1 > best) {
			best = hi - lo + 1;
			*period = exp(w->tmp[lo + (hi - lo) / 2]);
		}
	}
	return best;
}

/* 2/3 of the group share the median onset, or the dominant period. */
static int coherent(struct work *w, const size_t *g, size_t n, double *period)
{
	size_t share = 0;
	double med;

	if (dominant_period(w, g, n, period) * 3 >= 2 * n && n)
		return 1;
	if (n < 2)
		return 1;
	for (size_t i = 0; i < n; i++)
		w->tmp[i] = onset_s(w, &w->e[g[i]]);
	qsort(w->tmp, n, sizeof(double), cmp_double);
	med = w->tmp[n / 2];
	for (size_t i = 0; i < n; i++)
		share += fabs(w->tmp[i] - med) <= w->cfg->share_s;
	return share * 3 >= 2 * n;
}

/* A rack's degraded servers (with_servers) and degraded paths in and out
 * (with_paths) into w->grp from index `n` on; returns the new count. */
static size_t rack_group(struct work *w, const struct rack_stat *r, int with_servers,
			 int with_paths, size_t n)
{
	if (with_servers)
		for (size_t i = r->srv_first; i < r->srv_first + r->nsrv; i++)
			if (w->e[i].degraded)
				w->grp[n++] = i;
	if (with_paths)
		for (size_t i = w->first_path; i < w->n; i++)
			if (w->e[i].degraded &&
			    (key_rack(w->e[i].key) == r->rack_id ||
			     key_low(w->e[i].key) == r->rack_id) &&
			    !dead_path(w, w->e[i].key))
				w->grp[n++] = i;
	return n;
}

/* The candidate made of the group w->grp[0..n): members, onset, loss,
 * period; absorbs them. */
static struct nw_scope_fault *emit(struct work *w, struct nw_scope_list *out, size_t n,
				   enum nw_scope scope, double period)
{
	struct nw_scope_fault *f;
	double loss = 0;
	size_t k = 0;

	f = list_push(out);
	if (!f)
		return NULL;
	f->members = malloc(n * sizeof(*f->members) + 1);
	if (!f->members)
		return NULL;
	f->scope = scope;
	f->period_s = period;
	f->since_ns = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct nw_scope_entity *e = &w->e[w->grp[i]];

		if (w->absorbed[w->grp[i]])
			continue;
		w->absorbed[w->grp[i]] = 1;
		f->members[k++] = e->key;
		loss += e->loss_ratio;
		if ((e->since_ns ? e->since_ns : w->s->now_ns) < f->since_ns)
			f->since_ns = e->since_ns ? e->since_ns : w->s->now_ns;
	}
	f->nmembers = k;
	f->loss_ratio = k ? loss / (double)k : 0;
	qsort(f->members, k, sizeof(uint64_t), cmp_u64);
	f->id = k ? f->members[0] : 0;
	return f;
}

static size_t unabsorbed(const struct work *w, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += !w->absorbed[w->grp[i]];
	return k;
}

static int rack_stats(struct work *w)
{
	const struct nw_scope_snapshot *s = w->s;
	struct rack_stat *a = NULL, *b;

	for (size_t i = 0; i < s->nracks; i++)
		w->r[i] = (struct rack_stat){ .rack_id = s->racks[i] };
	w->nr = s->nracks;
	for (size_t i = 0; i < w->n; i++) {
		const struct nw_scope_entity *e = &w->e[i];

		/* in key order a rack's entities come together: one search each */
		if (!a || a->rack_id != key_rack(e->key))
			a = rack_of(w, key_rack(e->key));

		if (is_controller(e->key))
			continue; /* not a server; its paths count for rule 0 only */
		if (!is_path(e->key)) {
			if (!a)
				continue;
			if (!a->nsrv)
				a->srv_first = i;
			a->nsrv++;
			a->nsrv_deg += e->degraded != 0;
			continue;
		}
		if (dead_path(w, e->key))
			continue;
		w->paths++;
		w->paths_deg += e->degraded != 0;
		b = rack_of(w, key_low(e->key));
		if (a) {
			a->npath++;
			a->npath_deg += e->degraded != 0;
		}
		if (b && b != a) {
			b->npath++;
			b->npath_deg += e->degraded != 0;
		}
	}
	return 0;
}

/* Rules 1 and 2 for one rack. */
static void rack_rules(struct work *w, struct rack_stat *r)
{
	const struct nw_scope_cfg *c = w->cfg;
	double period;
	size_t n;

	if (r->nsrv && r->nsrv_deg >= 2 && (double)r->nsrv_deg >= c->theta_rack * (double)r->nsrv) {
		n = rack_group(w, r, 1, 0, 0);
		r->rule1 = coherent(w, w->grp, n, &period);
	}
	if (r->npath >= c->min_paths && (double)r->npath_deg >= c->theta_rack * (double)r->npath) {
		size_t bg = w->paths - r->npath, bg_deg = w->paths_deg - r->npath_deg;

		n = rack_group(w, r, 0, 1, 0);
		r->rule2 = coherent(w, w->grp, n, &period) &&
			   (bg == 0 || (double)bg_deg < c->theta_path_bg * (double)bg);
	}
	r->fault = r->rule1 || r->rule2;
	r->qualifies = r->fault ||
		       (r->nsrv && (double)r->nsrv_deg >= c->theta_rack * (double)r->nsrv &&
			r->nsrv_deg > 0);
}

static int decide_dc(struct work *w, struct nw_scope_list *out)
{
	size_t q = 0, n = 0;
	double period;

	for (size_t i = 0; i < w->nr; i++)
		q += w->r[i].qualifies != 0;
	if (q < 2 || (double)q < w->cfg->theta_dc * (double)w->nr)
		return 0;
	for (size_t i = 0; i < w->nr; i++)
		if (w->r[i].qualifies)
			n = rack_group(w, &w->r[i], 1, w->r[i].rule2, n);
	/* a path between two qualifying racks is listed twice: coherence only */
	if (!coherent(w, w->grp, n, &period))
		return 0;
	n = 0;
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].degraded && !w->absorbed[i])
			w->grp[n++] = i;
	return n && !emit(w, out, n, NW_SCOPE_DC, period) ? -1 : 0;
}

/* Rule 0: a dead controller is one rack fault with every degraded path
 * from or to its rack (its tones stop, so its peers see its paths go down;
 * the paths it measured are not reported any more). */
static int decide_dead(struct work *w, struct nw_scope_list *out)
{
	for (size_t i = 0; i < w->first_path; i++) {
		struct nw_scope_fault *f;
		uint32_t rack;
		size_t n = 0;

		if (!is_controller(w->e[i].key) || !w->e[i].degraded || w->absorbed[i])
			continue;
		rack = key_rack(w->e[i].key);
		w->grp[n++] = i;
		for (size_t j = w->first_path; j < w->n; j++)
			if (w->e[j].degraded && !w->absorbed[j] &&
			    (key_rack(w->e[j].key) == rack || key_low(w->e[j].key) == rack))
				w->grp[n++] = j;
		f = emit(w, out, n, NW_SCOPE_RACK, NAN);
		if (!f)
			return -1;
		f->rack_id = rack;
		f->cause = NW_CAUSE_CONTROLLER;
	}
	return 0;
}

static int decide_racks(struct work *w, struct nw_scope_list *out)
{
	for (size_t i = 0; i < w->nr; i++) {
		struct rack_stat *r = &w->r[i];
		struct nw_scope_fault *f;
		double period;
		size_t n;

		if (!r->fault)
			continue;
		n = rack_group(w, r, r->rule1, r->rule2, 0);
		if (!unabsorbed(w, n))
			continue; /* all in the dc fault */
		coherent(w, w->grp, n, &period);
		f = emit(w, out, n, NW_SCOPE_RACK, period);
		if (!f)
			return -1;
		f->rack_id = r->rack_id;
		/* paths in and out bad: the uplink if the servers are fine, the
		 * ToR itself if they are not */
		if (!r->rule2)
			f->cause = NW_CAUSE_SERVERS;
		else if (r->nsrv_deg && (double)r->nsrv_deg >= w->cfg->theta_rack * (double)r->nsrv)
			f->cause = NW_CAUSE_TOR;
		else
			f->cause = NW_CAUSE_UPLINK;
	}
	return 0;
}

static const struct nw_scope_entity *find_entity(struct work *w, uint64_t key, size_t *at)
{
	struct nw_scope_entity k = { .key = key };
	const struct nw_scope_entity *e;

	e = bsearch(&k, w->e, w->n, sizeof(k), cmp_entity);
	if (e)
		*at = (size_t)(e - w->e);
	return e;
}

/* Rules 4 and 5: what is left, one path (both directions together) or one
 * server each. */
static int decide_rest(struct work *w, struct nw_scope_list *out)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct nw_scope_entity *e = &w->e[i];
		struct nw_scope_fault *f;
		size_t n = 0, j;

		if (!e->degraded || w->absorbed[i])
			continue;
		w->grp[n++] = i;
		if (is_path(e->key)) {
			uint32_t src = key_low(e->key), dst = key_rack(e->key);
			const struct nw_scope_entity *rev = find_entity(w,
									nw_scope_path_key(dst, src),
									&j);

			if (rev && rev->degraded && !w->absorbed[j])
				w->grp[n++] = j;
			f = emit(w, out, n, NW_SCOPE_PATH, n == 1 ? e->period_s : NAN);
			if (!f)
				return -1;
			f->both_directions = n == 2;
			/* a-b: the lower rack first; a>b: as measured */
			f->src_rack = n == 2 && dst < src ? dst : src;
			f->dst_rack = n == 2 && dst < src ? src : dst;
			if (n == 2)
				coherent(w, w->grp, n, &f->period_s);
		} else {
			f = emit(w, out, n, NW_SCOPE_SERVER, e->period_s);
			if (!f)
				return -1;
			f->rack_id = key_rack(e->key);
			f->server_id = key_low(e->key);
		}
	}
	return 0;
}

static void work_free(struct work *w)
{
	free(w->own);
	free(w->r);
	free(w->absorbed);
	free(w->dead);
	free(w->grp);
	free(w->tmp);
}

/* The sorted entities and per-rack counts (rules 1, 2) of a snapshot. */
static int work_init(struct work *w, const struct nw_scope_cfg *cfg,
		     const struct nw_scope_snapshot *s)
{
	memset(w, 0, sizeof(*w)); /* work_free is safe from here on */
	w->cfg = cfg;
	w->s = s;
	w->n = s->n;
	w->e = s->e;
	w->r = malloc(s->nracks * sizeof(*w->r) + 1);
	w->absorbed = calloc(s->n + 1, 1);
	w->dead = malloc(s->n * sizeof(*w->dead) + 1);
	/* a group lists a path at most twice (dc: both its racks) */
	w->grp = malloc(2 * s->n * sizeof(*w->grp) + 1);
	w->tmp = malloc(2 * s->n * sizeof(*w->tmp) + 1);
	if (!w->r || !w->absorbed || !w->dead || !w->grp || !w->tmp)
		return -1;
	/* The DC's snapshot comes in key order (dc_fabric_snapshot): read in
	 * place. Copying and sorting 400,000 entities a second was a quarter of
	 * the DC's CPU at 10,000 racks x 40 servers (docs/benchmarks.md). */
	for (size_t i = 1; i < s->n && w->e == s->e; i++)
		if (s->e[i - 1].key > s->e[i].key) {
			w->own = malloc(s->n * sizeof(*w->own));
			if (!w->own)
				return -1;
			memcpy(w->own, s->e, s->n * sizeof(*w->own));
			qsort(w->own, w->n, sizeof(*w->own), cmp_entity);
			w->e = w->own;
		}
	w->first_path = w->n;
	for (size_t i = 0; i < w->n; i++) {
		if (is_path(w->e[i].key)) {
			w->first_path = i;
			break;
		}
		/* sorted by key, so by rack: dead stays sorted */
		if (is_controller(w->e[i].key) && w->e[i].degraded)
			w->dead[w->ndead++] = key_rack(w->e[i].key);
	}
	rack_stats(w);
	for (size_t i = 0; i < w->nr; i++)
		rack_rules(w, &w->r[i]);
	return 0;
}

int nw_scope_decide(const struct nw_scope_cfg *cfg, const struct nw_scope_snapshot *s,
		    struct nw_scope_list *out)
{
	struct work w;
	int rc;

	nw_scope_list_free(out);
	rc = work_init(&w, cfg, s);
	if (!rc)
		rc = decide_dead(&w, out);
	if (!rc)
		rc = decide_dc(&w, out);
	if (!rc)
		rc = decide_racks(&w, out);
	if (!rc)
		rc = decide_rest(&w, out);
	work_free(&w);
	if (rc)
		nw_scope_list_free(out);
	return rc;
}

/* ------------------------------------------------------------ stability */

void nw_scope_init(struct nw_scope_state *st, const struct nw_scope_cfg *cfg)
{
	memset(st, 0, sizeof(*st));
	st->cfg = *cfg;
}

void nw_scope_free(struct nw_scope_state *st)
{
	nw_scope_list_free(&st->faults);
}

size_t nw_scope_reported(const struct nw_scope_state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->faults.n; i++)
		n += st->faults.f[i].reported != 0;
	return n;
}

static void observe(struct nw_scope_state *st, const struct nw_scope_fault *f, uint64_t now_ns)
{
	struct nw_scope_hist *h = &st->hist[f->scope];
	double s = now_ns > f->since_ns ? (double)(now_ns - f->since_ns) / 1e9 : 0.0;

	for (int i = 0; i < NW_SCOPE_BUCKETS; i++)
		if (s <= nw_scope_bucket_le[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum += s;
}

/* Still enough of a wide fault's members degraded to keep its scope while
 * the evidence says narrower? (never narrow; end below theta/2) */
static int still_wide(const struct nw_scope_state *st, const struct nw_scope_fault *f,
		      const struct work *w)
{
	double half = st->cfg.theta_rack / 2;
	size_t q = 0;

	if (f->scope == NW_SCOPE_DC) {
		for (size_t i = 0; i < w->nr; i++)
			q += w->r[i].nsrv_deg || w->r[i].npath_deg;
		return (double)q >= st->cfg.theta_dc / 2 * (double)w->nr;
	}
	if (f->scope == NW_SCOPE_RACK) {
		const struct rack_stat *r = rack_of((struct work *)w, f->rack_id);

		/* a controller back (its rack reports again): what remains is
		 * narrower */
		if (!r || f->cause == NW_CAUSE_CONTROLLER)
			return 0;
		if (f->cause == NW_CAUSE_UPLINK)
			return r->npath && (double)r->npath_deg >= half * (double)r->npath;
		return r->nsrv && (double)r->nsrv_deg >= half * (double)r->nsrv;
	}
	return 1;
}

/* Takes the candidate's scope and subject (a wider or equal scope). */
static void adopt(struct nw_scope_fault *f, const struct nw_scope_fault *c)
{
	f->scope = c->scope;
	f->cause = c->cause;
	f->rack_id = c->rack_id;
	f->server_id = c->server_id;
	f->src_rack = c->src_rack;
	f->dst_rack = c->dst_rack;
	f->both_directions = c->both_directions;
}

enum { T_UNTOUCHED = 0, T_KEPT, T_MERGED, T_ENDED };

/* One candidate against the tracked faults: continues the widest one it
 * overlaps (merging the others into it), or starts a pending fault. */
static int follow(struct nw_scope_state *st, const struct work *w, struct nw_scope_fault *c,
		  struct nw_scope_list *next, unsigned char *fate, size_t *into)
{
	struct nw_scope_list *old = &st->faults;
	size_t best = SIZE_MAX;
	struct nw_scope_fault *f;

	/* a fault already carried into `next` this interval is looked at there
	 * (its members moved) */
#define CUR(i) (fate[i] == T_UNTOUCHED ? &old->f[i] : &next->f[into[i]])
	for (size_t i = 0; i < old->n; i++) {
		if (fate[i] == T_ENDED || !overlaps(CUR(i), c))
			continue;
		if (fate[i] == T_UNTOUCHED && old->f[i].scope > c->scope &&
		    !still_wide(st, &old->f[i], w)) {
			fate[i] = T_ENDED; /* too few left: the rest start again, narrower */
			st->ended += old->f[i].reported != 0;
			continue;
		}
		if (best == SIZE_MAX || CUR(i)->scope > CUR(best)->scope)
			best = i;
	}
	if (best == SIZE_MAX) {
		f = list_push(next);
		if (!f)
			return -1;
		*f = *c;
		c->members = NULL; /* moved */
		c->nmembers = 0;
		f->seen = 1;
		if (f->seen >= hold_of(st, f)) {
			f->reported = 1;
			f->reported_ns = w->s->now_ns;
			observe(st, f, w->s->now_ns);
		}
		return 0;
	}
	if (fate[best] == T_UNTOUCHED) {
		f = list_push(next);
		if (!f)
			return -1;
		*f = old->f[best];
		old->f[best].members = NULL; /* moved */
		old->f[best].nmembers = 0;
		fate[best] = T_KEPT;
		into[best] = next->n - 1;
		f->seen++;
		f->healthy = 0;
	} else {
		f = &next->f[into[best]];
	}
	if (c->scope > f->scope) {
		adopt(f, c);
		f->scope_changes++;
		if (f->reported)
			observe(st, f, w->s->now_ns);
	} else if (c->scope == f->scope && fate[best] == T_KEPT && f->seen > 0) {
		adopt(f, c); /* a rack's cause may change (servers -> tor) */
	}
	if (c->since_ns < f->since_ns)
		f->since_ns = c->since_ns;
	if (c->scope >= f->scope) {
		f->loss_ratio = c->loss_ratio;
		f->period_s = c->period_s;
	}
	if (members_union(f, c->members, c->nmembers))
		return -1;
	/* the other faults it overlaps are the same fault now */
	for (size_t i = 0; i < old->n; i++) {
		if (i == best || fate[i] != T_UNTOUCHED || !overlaps(&old->f[i], c))
			continue;
		if (members_union(f, old->f[i].members, old->f[i].nmembers))
			return -1;
		f->reported |= old->f[i].reported;
		fate[i] = T_MERGED;
		into[i] = into[best];
	}
#undef CUR
	if (!f->reported && f->seen >= hold_of(st, f)) {
		f->reported = 1;
		f->reported_ns = w->s->now_ns;
		observe(st, f, w->s->now_ns);
	}
	return 0;
}

int nw_scope_update(struct nw_scope_state *st, const struct nw_scope_snapshot *s)
{
	struct nw_scope_list cand = { 0 }, next = { 0 };
	struct nw_scope_list *old = &st->faults;
	unsigned char *fate = calloc(old->n + 1, 1);
	size_t *into = malloc((old->n + 1) * sizeof(*into));
	struct work w;
	int rc = -1;

	if (work_init(&w, &st->cfg, s) || !fate || !into)
		goto out;
	if (decide_dead(&w, &cand) || decide_dc(&w, &cand) || decide_racks(&w, &cand) ||
	    decide_rest(&w, &cand))
		goto out;
	for (size_t i = 0; i < cand.n; i++)
		if (follow(st, &w, &cand.f[i], &next, fate, into))
			goto out;
	/* faults without evidence this interval: every member is healthy */
	for (size_t i = 0; i < old->n; i++) {
		struct nw_scope_fault *f;

		if (fate[i] != T_UNTOUCHED || !old->f[i].reported)
			continue; /* pending without evidence: dropped, never reported */
		if (++old->f[i].healthy >= st->cfg.clear) {
			st->ended++;
			continue;
		}
		f = list_push(&next);
		if (!f)
			goto out;
		*f = old->f[i];
		old->f[i].members = NULL;
		old->f[i].nmembers = 0;
	}
	nw_scope_list_free(old);
	*old = next;
	memset(&next, 0, sizeof(next));
	rc = 0;
out:
	nw_scope_list_free(&cand);
	nw_scope_list_free(&next);
	work_free(&w);
	free(fate);
	free(into);
	return rc;
}
