/* SPDX-License-Identifier: MIT */
/* Lower-envelope clock-skew fit (Moon et al. 1999); see skew.h. */
#include "skew.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nw_skew_scratch_fit(struct nw_skew_scratch *sc, size_t capacity)
{
	if (capacity <= sc->capacity)
		return 0;
	struct nw_skew_pt *p = realloc(sc->pts, capacity * sizeof(*p));

	if (!p)
		return -1;
	sc->pts = p;
	p = realloc(sc->hull, capacity * sizeof(*p));
	if (!p)
		return -1;
	sc->hull = p;
	sc->capacity = capacity;
	return 0;
}

void nw_skew_scratch_free(struct nw_skew_scratch *sc)
{
	free(sc->pts);
	free(sc->hull);
	memset(sc, 0, sizeof(*sc));
}

int nw_skew_init_shared(struct nw_skew *s, size_t capacity)
{
	memset(s, 0, sizeof(*s));
	if (capacity < 2)
		return -1;
	s->t = calloc(capacity, sizeof(*s->t));
	s->d = calloc(capacity, sizeof(*s->d));
	if (!s->t || !s->d) {
		nw_skew_free(s);
		return -1;
	}
	s->capacity = capacity;
	s->min_points = NW_SKEW_DEFAULT_MIN_POINTS;
	s->min_span_s = NW_SKEW_DEFAULT_MIN_SPAN_S;
	return 0;
}

int nw_skew_init(struct nw_skew *s, size_t capacity)
{
	if (nw_skew_init_shared(s, capacity))
		return -1;
	if (nw_skew_scratch_fit(&s->own, capacity)) {
		nw_skew_free(s);
		return -1;
	}
	return 0;
}

void nw_skew_free(struct nw_skew *s)
{
	free(s->t);
	free(s->d);
	nw_skew_scratch_free(&s->own);
	memset(s, 0, sizeof(*s));
}

void nw_skew_add(struct nw_skew *s, double t_s, double d_s)
{
	if (!s->t)
		return;
	if (!isfinite(t_s) || !isfinite(d_s)) {
		s->rejected++;
		return;
	}
	if (!s->have_t0) {
		s->t0 = t_s;
		s->d_ref = d_s;
		s->have_t0 = true;
	}
	s->t[s->head] = t_s - s->t0;
	s->d[s->head] = (float)(d_s - s->d_ref);
	if (++s->head == s->capacity) /* no division per sample */
		s->head = 0;
	if (s->count < s->capacity)
		s->count++;
}

static int by_t_then_d(const void *a, const void *b)
{
	const struct nw_skew_pt *p = a, *q = b;

	if (p->t != q->t)
		return p->t < q->t ? -1 : 1;
	if (p->d != q->d)
		return p->d < q->d ? -1 : 1;
	return 0;
}

/* > 0 when o -> a -> b turns left (counter-clockwise). */
static double cross(struct nw_skew_pt o, struct nw_skew_pt a, struct nw_skew_pt b)
{
	return (a.t - o.t) * (b.d - o.d) - (a.d - o.d) * (b.t - o.t);
}

/* The line under all points (sorted by t, more than one distinct t) that
 * minimises the summed distance to them (tbar: their mean time, taken over
 * every point even when p holds only the candidates for the hull): false
 * when there is none. */
static bool envelope(const struct nw_skew_pt *p, size_t n, double tbar, struct nw_skew_pt *h,
		     double *a, double *b)
{
	size_t m = 0, k = 0;
	/* Andrew's monotone chain, lower half. Equal t: only the lowest d can be
	 * on the lower hull, and skipping the rest keeps every edge non-vertical. */
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && p[i].t == p[i - 1].t)
			continue;
		while (m >= 2 && cross(h[m - 2], h[m - 1], p[i]) <= 0)
			m--;
		h[m++] = p[i];
	}
	if (m < 2)
		return false;
	/* The line below all points minimising the summed distance to them is
	 * the hull edge over the mean time (the LP optimum is at a vertex of the
	 * feasible set, and its gradient condition is t̄ in the edge's span). */
	while (k + 2 < m && h[k + 1].t <= tbar)
		k++;
	*b = (h[k + 1].d - h[k].d) / (h[k + 1].t - h[k].t);
	*a = h[k].d - *b * h[k].t;
	return true;
}

/* Slopes within NW_SKEW_LINEAR_PPM of each other, or a quarter of the larger:
 * the envelope of a real drift under queueing noise stays well inside that. */
static bool close_slopes(double x, double y)
{
	double tol = fmax(NW_SKEW_LINEAR_PPM * 1e-6, 0.25 * fmax(fabs(x), fabs(y)));

	return fabs(x - y) <= tol;
}

/* The halves: p[0..m1) and p[m1..m) (hull candidates), tbar1 and tbar2 their
 * points' mean times, n1 and n2 how many points each half had. */
static bool consistent_halves(const struct nw_skew_pt *p, size_t m, size_t m1, size_t n1, size_t n2,
			      double tbar1, double tbar2, struct nw_skew_pt *h, double b)
{
	double a1, b1, a2, b2;

	/* Too few points in a half to fit it: nothing to contradict the whole. */
	if (n1 < 8 || n2 < 8)
		return true;
	if (!envelope(p, m1, tbar1, h, &a1, &b1) || !envelope(p + m1, m - m1, tbar2, h, &a2, &b2))
		return true;
	return close_slopes(b1, b) && close_slopes(b2, b) && close_slopes(b1, b2);
}

void nw_skew_eval(struct nw_skew *s, double t_now_s, struct nw_skew_result *out)
{
	nw_skew_eval_with(s, &s->own, t_now_s, out);
}

void nw_skew_eval_with(struct nw_skew *s, struct nw_skew_scratch *sc, double t_now_s,
		       struct nw_skew_result *out)
{
	struct nw_skew_series ser = { .t = s->t,
				      .d = s->d,
				      .n = s->count,
				      .t0 = s->t0,
				      .d_ref = s->d_ref,
				      .min_points = s->min_points,
				      .min_span_s = s->min_span_s };

	nw_skew_eval_series(&ser, sc, t_now_s, out);
}

void nw_skew_eval_series(const struct nw_skew_series *ser, struct nw_skew_scratch *sc,
			 double t_now_s, struct nw_skew_result *out)
{
	struct nw_skew_pt *p = sc->pts, *h = sc->hull;
	size_t n = ser->n;
	double tref, a, b, excess = 0;

	memset(out, 0, sizeof(*out));
	if (!ser->t || !ser->d || n < 2 || sc->capacity < n)
		return;
	/* The monotone chain needs the points sorted by (t, d). A ring in
	 * insertion order is sorted from its oldest point on: copy it from
	 * there (O(n)). Points out of tx order (reordering, sender restarts):
	 * qsort, O(n log n) whatever the input. */
	size_t descents = 0, from = 0;

	for (size_t i = 1; i < n; i++)
		if (ser->t[i] < ser->t[i - 1] ||
		    (ser->t[i] == ser->t[i - 1] && ser->d[i] < ser->d[i - 1])) {
			descents++;
			from = i;
		}
	if (descents == 1 && (ser->t[n - 1] < ser->t[0] ||
			      (ser->t[n - 1] == ser->t[0] && ser->d[n - 1] <= ser->d[0])))
		descents = 0; /* a rotated sorted ring */
	else
		from = 0;
	for (size_t i = 0, j = from; i < n; i++, j = j + 1 == n ? 0 : j + 1)
		p[i] = (struct nw_skew_pt){ .t = ser->t[j], .d = (double)ser->d[j] };
	if (descents)
		qsort(p, n, sizeof(*p), by_t_then_d);
	/* Re-reference to the oldest point held, so the intercept is computed
	 * near the data (t0 may be days old). */
	tref = p[0].t;
	for (size_t i = 0; i < n; i++)
		p[i].t -= tref;
	out->n = n;
	out->span_s = p[n - 1].t;
	if (n < ser->min_points || out->span_s < ser->min_span_s || !(out->span_s > 0))
		return;

	/* One pass: the means the fits need (whole and halves, split at half
	 * the time covered), then only the hull candidates are kept: a point
	 * strictly above the chord of its two neighbours is on no lower hull
	 * of a set holding them (about half the points of a noisy series), so
	 * the three hulls below see fewer points and come out the same. */
	double mid = p[n - 1].t / 2, st = 0, sd = 0, st1 = 0;
	size_t n1 = 0, m = 1, m1 = 0;

	for (size_t i = 0; i < n; i++) {
		st += p[i].t;
		sd += p[i].d;
		if (p[i].t < mid) {
			st1 += p[i].t;
			n1++;
		}
	}
	struct nw_skew_pt prev = p[0];

	for (size_t i = 1; i + 1 < n; i++) {
		struct nw_skew_pt cur = p[i];

		/* written always, kept by the count: no branch to mispredict
		 * on noise */
		p[m] = cur;
		m += (i + 1 == n1) | (i == n1) | (cur.t == prev.t) | (cur.t == p[i + 1].t) |
		     (cross(prev, cur, p[i + 1]) > 0);
		prev = cur;
	}
	if (n > 1)
		p[m++] = p[n - 1];
	while (m1 < m && p[m1].t < mid)
		m1++;
	if (!envelope(p, m, st / (double)n, h, &a, &b))
		return;
	/* A clock drifts along one line; a delay step or a route change is a line
	 * that bends. The envelope under a step tilts to climb it (a 200 ms step
	 * reads as thousands of ppm), so the fit must hold in each half of the
	 * span too, or the result is "not a skew" rather than a wrong number. */
	if (!consistent_halves(p, m, m1, n1, n - n1, n1 ? st1 / (double)n1 : 0,
			       n > n1 ? (st - st1) / (double)(n - n1) : 0, h, b)) {
		out->nonlinear = true;
		return;
	}
	excess = sd - (double)n * a - b * st;
	out->valid = true;
	out->ppm = b * 1e6;
	out->delay_s = ser->d_ref + a + b * ((t_now_s - ser->t0) - tref);
	out->excess_s = excess / (double)n;
}
