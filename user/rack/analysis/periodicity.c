/* SPDX-License-Identifier: MIT */
/* Periodicity of the delay and loss series on the slot grid: FFT periodogram
 * against a fitted red-noise background; see periodicity.h and
 * docs/periodicity.md. */
#include "periodicity.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Windows: the horizon, its last half, its last quarter (longest first). */
#define NW_PER_WINDOWS 3
/* Each half of the window must show the period with at least this
 * single-frequency power (1 % false alarm at one known frequency). */
#define NW_PER_SEG_MIN_POWER 4.6
/* Subharmonics checked when picking the fundamental of a pulse train, and
 * the mean z its n = k - 1 multiples below the peak need: frequencies named
 * by the peak, not searched, so the mean of n Exp(1) passes with ~1e-3. */
static const double sub_min_z[] = { 6.9, 4.6, 3.7, 3.2, 2.9, 2.7, 2.5 };
#define NW_PER_MAX_SUB 8
/* Background fit: bands of bins growing by this fraction (at least one
 * independent bin each), at most this many. */
#define NW_PER_BAND_GROWTH 0.3
#define NW_PER_MAX_BANDS 64
#define NW_PER_BAND_MAX 128
/* A band of at least this many bins is summarised by this quantile. */
#define NW_PER_QUANTILE_MIN 4
#define NW_PER_QUANTILE 0.25
/* A bin this many times the fitted background is a line (or part of one),
 * not background: left out of the next fit (a pure background loses 0.25 %
 * of its bins, and the band means are corrected for it). */
#define NW_PER_CLIP 6.0
#define NW_PER_ROBUST_PASSES 8
/* AR(1) coefficient searched as rho = 1 - 2^-u, u in [0, NW_PER_U_MAX]. */
#define NW_PER_U_MAX 11.0
#define NW_PER_U_GRID 5
#define NW_PER_U_GOLDEN 4
#define NW_PER_Z_CAP 1e9
/* A late sample finds its slot among this many newest loss points. */
#define NW_PER_LATE_SEARCH 256
/* The folded test also sums the candidate's harmonics f, 2f, ... (a 5 %
 * duty outage has nearly all its power in them, its fundamental little):
 * at most NW_PER_HARM_MAX, up to NW_PER_HARM_TOP of the grid's rate (4 Hz
 * at 10 points a second, above f_max: the [1 2 1] filter's gain there is
 * 0.65, and a one-sample outage every second has its harmonics as strong
 * as its fundamental), when the window holds NW_PER_HARM_MIN_CYCLES of
 * it. Each harmonic's background is at least the residual's mean power
 * between it and its neighbours, so a background the smooth fit misses
 * there is not summed as a line. The
 * halves' harmonic check needs NW_PER_HARM_HALF_CYCLES cycles in a half:
 * below that a red noise's lowest frequencies fill a half's harmonics (GE
 * loss at a 120 s horizon read 6.9 s in a 30 s window with 2.2). */
#define NW_PER_HARM_MAX 8
#define NW_PER_HARM_TOP 0.4
#define NW_PER_HARM_MIN_CYCLES 4.5
#define NW_PER_HARM_HALF_CYCLES 2.5
/* Peak refinement: golden-section steps on the DFT at a free frequency. */
#define NW_PER_REFINE_STEPS 14

void nw_periodicity_default_cfg(struct nw_periodicity_cfg *cfg, size_t capacity, double rate_hz)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = capacity;
	cfg->rate_hz = rate_hz;
	cfg->f_max_hz = rate_hz / 2 < 2.0 ? rate_hz / 2 : 2.0;
	cfg->fap_max = 1e-4;
	cfg->min_points = (size_t)(10.0 * rate_hz);
	if (cfg->min_points < 32)
		cfg->min_points = 32;
	if (cfg->min_points > capacity)
		cfg->min_points = capacity;
	cfg->detrend_delay = true;
}

int nw_periodicity_init(struct nw_periodicity *p, size_t capacity, double rate_hz)
{
	struct nw_periodicity_cfg cfg;

	nw_periodicity_default_cfg(&cfg, capacity, rate_hz);
	return nw_periodicity_init_cfg(p, &cfg);
}

static bool cfg_ok(const struct nw_periodicity_cfg *cfg)
{
	return cfg->capacity >= 16 && cfg->capacity <= (1u << 24) && cfg->rate_hz > 0 &&
	       isfinite(cfg->rate_hz) && cfg->f_max_hz > 0 && cfg->f_max_hz <= cfg->rate_hz / 2 &&
	       cfg->fap_max > 0 && cfg->min_points >= 4;
}

/* Slots per grid point. Nothing above f_max is searched, so when f_max is
 * at most an eighth of the rate (2 Hz at 20 Hz) the grid takes every other
 * slot, half the cost: grid point j is the [1 2 1]-weighted mean of slots
 * 2j - 1, 2j, 2j + 1 (from the newest), a filter whose gain is cos^2(pi f /
 * rate): 0.90 at 2 Hz, 0 at the rate's Nyquist, and at most 0.15 on what
 * folds into the searched band (a pattern every 3 slots, 6.7 Hz, lands at
 * 3.3 Hz, outside it). A plain block mean (a boxcar) would fold a
 * deterministic 6.7 Hz loss pattern into 1.7 Hz at a quarter of its size. */
static size_t decim_of(const struct nw_periodicity_cfg *cfg)
{
	return cfg->f_max_hz <= cfg->rate_hz / 8 ? 2 : 1;
}

/* Window w (0 = the horizon) of a configuration: its FFT size. */
static size_t window_size(const struct nw_periodicity_cfg *cfg, int w)
{
	return (cfg->capacity / decim_of(cfg)) >> w;
}

static fftw_plan plan_for(const struct nw_periodicity_scratch *sc, size_t n)
{
	for (size_t i = 0; i < sc->nplans; i++)
		if (sc->plan_n[i] == n)
			return sc->plan[i];
	return NULL;
}

/* Replaces *a with a zeroed fftw_malloc array of n elements of `size`. */
static int grow(void **a, size_t n, size_t size)
{
	void *b = fftw_malloc(n * size);

	if (!b)
		return -1;
	memset(b, 0, n * size);
	fftw_free(*a);
	*a = b;
	return 0;
}

int nw_periodicity_scratch_fit(struct nw_periodicity_scratch *sc,
			       const struct nw_periodicity_cfg *cfg)
{
	size_t cap = cfg->capacity, half = cap / 2 + 1;
	int need = 0;

	if (window_size(cfg, NW_PER_WINDOWS - 1) < 8)
		return -1;

	if (cap > sc->capacity) {
		/* Plans keep working on new arrays: fftw_malloc gives each the
		 * same alignment (fftw_execute_dft_r2c's condition). */
		if (grow((void **)&sc->g, cap, sizeof(double)) ||
		    grow((void **)&sc->x, cap, sizeof(double)) ||
		    grow((void **)&sc->power, half, sizeof(double)) ||
		    grow((void **)&sc->bg, half, sizeof(double)) ||
		    grow((void **)&sc->spec, half, sizeof(fftw_complex)) ||
		    grow((void **)&sc->gf, cap, sizeof(double)) ||
		    grow((void **)&sc->xf, cap, sizeof(double)) ||
		    grow((void **)&sc->pf, half, sizeof(double)) ||
		    grow((void **)&sc->bgf, half, sizeof(double)))
			return -1;
		sc->capacity = cap;
	}
	for (int w = 0; w < NW_PER_WINDOWS; w++)
		need += !plan_for(sc, window_size(cfg, w));
	if (sc->nplans + (size_t)need > NW_PER_MAX_PLANS)
		return -1;
	for (int w = 0; w < NW_PER_WINDOWS; w++) {
		size_t n = window_size(cfg, w);
		fftw_plan pl;

		if (plan_for(sc, n))
			continue;
		double *h = fftw_malloc(n * sizeof(double));

		if (!h)
			return -1;
		pl = fftw_plan_dft_r2c_1d((int)n, sc->x, sc->spec, FFTW_ESTIMATE);
		if (!pl) {
			fftw_free(h);
			return -1;
		}
		for (size_t j = 0; j < n; j++) {
			double v = sin(M_PI * ((double)j + 0.5) / (double)n);

			h[j] = v * v;
		}
		sc->plan_n[sc->nplans] = n;
		sc->hann[sc->nplans] = h;
		sc->plan[sc->nplans++] = pl;
	}
	return 0;
}

void nw_periodicity_scratch_free(struct nw_periodicity_scratch *sc)
{
	for (size_t i = 0; i < sc->nplans; i++) {
		fftw_destroy_plan(sc->plan[i]);
		fftw_free(sc->hann[i]);
	}
	fftw_free(sc->g);
	fftw_free(sc->x);
	fftw_free(sc->power);
	fftw_free(sc->bg);
	fftw_free(sc->spec);
	fftw_free(sc->gf);
	fftw_free(sc->xf);
	fftw_free(sc->pf);
	fftw_free(sc->bgf);
	memset(sc, 0, sizeof(*sc));
}

static int init_rings(struct nw_periodicity *p, const struct nw_periodicity_cfg *cfg)
{
	size_t cap = cfg->capacity;

	memset(p, 0, sizeof(*p));
	if (!cfg_ok(cfg) || window_size(cfg, NW_PER_WINDOWS - 1) < 8)
		return -1;
	p->cfg = *cfg;
	p->horizon_s = (double)cap / cfg->rate_hz;
	p->delay.t = calloc(cap, sizeof(double));
	p->delay.y = calloc(cap, sizeof(float));
	p->hole.t = calloc(cap, sizeof(double));
	p->hole.y = calloc(cap, sizeof(float));
	if (!p->delay.t || !p->delay.y || !p->hole.t || !p->hole.y) {
		nw_periodicity_free(p);
		return -1;
	}
	return 0;
}

int nw_periodicity_init_cfg(struct nw_periodicity *p, const struct nw_periodicity_cfg *cfg)
{
	if (init_rings(p, cfg))
		return -1;
	if (nw_periodicity_scratch_fit(&p->own, cfg)) {
		nw_periodicity_free(p);
		return -1;
	}
	return 0;
}

int nw_periodicity_init_shared(struct nw_periodicity *p, size_t capacity, double rate_hz)
{
	struct nw_periodicity_cfg cfg;

	nw_periodicity_default_cfg(&cfg, capacity, rate_hz);
	return init_rings(p, &cfg);
}

void nw_periodicity_free(struct nw_periodicity *p)
{
	free(p->delay.t);
	free(p->delay.y);
	free(p->hole.t);
	free(p->hole.y);
	nw_periodicity_scratch_free(&p->own);
	memset(p, 0, sizeof(*p));
}

static void ring_add(struct nw_periodicity *p, struct nw_pring *r, double t, double y)
{
	if (!r->t)
		return;
	if (!isfinite(t) || !isfinite(y)) {
		p->rejected++;
		return;
	}
	if (!r->have_ref) {
		r->y_ref = y;
		r->have_ref = true;
		r->u_hint = -1;
	}
	r->t[r->head] = t;
	r->y[r->head] = (float)(y - r->y_ref);
	if (++r->head == p->cfg.capacity) /* no division per sample */
		r->head = 0;
	if (r->count < p->cfg.capacity)
		r->count++;
}

void nw_periodicity_add_delay(struct nw_periodicity *p, double t_s, double delay_s)
{
	ring_add(p, &p->delay, t_s, delay_s);
}

void nw_periodicity_add_slot(struct nw_periodicity *p, double t_s, int hole)
{
	ring_add(p, &p->hole, t_s, hole ? 1.0 : 0.0);
}

void nw_periodicity_slot_arrived(struct nw_periodicity *p, double t_s)
{
	struct nw_pring *r = &p->hole;
	float lost = (float)(1.0 - r->y_ref);
	size_t k = r->head;

	if (!r->t || !isfinite(t_s))
		return;
	for (size_t i = 0; i < r->count && i < NW_PER_LATE_SEARCH; i++) {
		k = k ? k - 1 : p->cfg.capacity - 1;
		if (fabs(r->t[k] - t_s) < 0.25 / p->cfg.rate_hz) {
			if (r->y[k] == lost)
				r->y[k] = (float)(0.0 - r->y_ref);
			return;
		}
	}
}

/* 1 - (1 - e^-z)^M without cancellation for small results, never NaN. */
static double fap_of(double z, double m)
{
	if (!(z > 0))
		return 1.0;
	return -expm1(m * log1p(-exp(-z)));
}

/* ---- The red-noise background ------------------------------------------
 * Background of the tapered periodogram at f: A h(f) + B w(f). h is the
 * AR(1) spectrum per slot, g(c) = (1 - rho^2) / (1 - 2 rho c + rho^2) with
 * c = cos(2 pi f / rate), and w = 1 white noise; on a grid of every other
 * slot both go through the [1 2 1] filter (power ((1 + c) / 2)^2) and fold
 * (f and rate/2 - f land together: c and -c). Both are seen through the
 * Hann window: the tapered DFT is (2 X(f) - X(f - d) - X(f + d)) / 4 of the
 * plain DFT X, whose values a resolution d apart are nearly uncorrelated,
 * so E P(f) ~ (S(f - d) + 4 S(f) + S(f + d)) / 6. Fitted by Whittle's
 * likelihood, sum of m [log E + P / E], on bands of bins. */
struct band {
	size_t k0, k1; /* its bins, [k0, k1) */
	double kc;     /* centre, in bins */
	double p;      /* its background estimate (below) */
	double m;      /* its weight: independent bins, fewer for a quantile */
	double eq;     /* wide band: E of its NW_PER_QUANTILE order statistic */
	double c[3];   /* cos(2 pi f / rate) at f - d, f, f + d */
	bool smooth;   /* near the lowest bins, where the taper's smoothing matters */
	double h, wh;  /* the two regressors (wh does not depend on rho) */
};

struct bgfit {
	double rho, a, b, q; /* q: the likelihood's value (lower is better) */
	double u;            /* rho = 1 - 2^-u */
};

static double ar1(double c, double rho)
{
	return (1.0 - rho * rho) / (1.0 - 2.0 * rho * c + rho * rho);
}

/* h or w (rho < 0) at one c on the grid (dec: every other slot). */
static double shape1(double c, double rho, bool dec)
{
	double hp, hm;

	if (!dec)
		return rho < 0 ? 1.0 : ar1(c, rho);
	hp = 0.25 * (1 + c) * (1 + c);
	hm = 0.25 * (1 - c) * (1 - c);
	if (rho < 0)
		return hp + hm;
	return hp * ar1(c, rho) + hm * ar1(-c, rho);
}

static double shape(const double c[3], bool smooth, double rho, bool dec)
{
	if (!smooth)
		return shape1(c[1], rho, dec);
	return (shape1(c[0], rho, dec) + 4.0 * shape1(c[1], rho, dec) + shape1(c[2], rho, dec)) /
	       6.0;
}

/* log for the likelihood's comparisons, ~1e-7 absolute (the fit compares
 * values that differ by > 1e-3): exponent bits and atanh series, a few
 * times cheaper than libm's. x > 0, finite, normal. */
static double fast_log(double x)
{
	uint64_t u;
	double m, s, s2;
	int e;

	memcpy(&u, &x, sizeof(u));
	e = (int)((u >> 52) & 0x7ff) - 1023;
	u = (u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	memcpy(&m, &u, sizeof(m)); /* [1, 2) */
	if (m > M_SQRT2) {
		m *= 0.5;
		e++;
	}
	s = (m - 1) / (m + 1); /* |s| < 0.172 */
	s2 = s * s;
	return e * M_LN2 + 2 * s * (1 + s2 * (1.0 / 3 + s2 * (0.2 + s2 * (1.0 / 7 + s2 / 9))));
}

static double fit_q(const struct band *bd, size_t nb, double a, double b)
{
	double q = 0;

	for (size_t i = 0; i < nb; i++)
		if (bd[i].m > 0) {
			double e = a * bd[i].h + b * bd[i].wh;

			if (!(e > 1e-300) || !isfinite(e))
				return INFINITY;
			q += bd[i].m * (fast_log(e) + bd[i].p / e);
		}
	return q;
}

/* A and B >= 0 for the bands' h: iteratively reweighted least squares on the
 * Whittle score equations (weights m / E^2), from a start weighted m / P^2,
 * each step projected on A, B >= 0 (the other refitted alone). Returns the
 * likelihood. */
static double fit_ab(const struct band *bd, size_t nb, double *a_out, double *b_out)
{
	double a = 0, b = 0;

	for (int it = 0; it < 3; it++) {
		double shh = 0, shw = 0, sww = 0, shp = 0, swp = 0, det;

		for (size_t i = 0; i < nb; i++) {
			double e = it ? a * bd[i].h + b * bd[i].wh : bd[i].p, u;

			if (!(bd[i].m > 0) || !(e > 0))
				continue;
			u = bd[i].m / (e * e);
			shh += u * bd[i].h * bd[i].h;
			shw += u * bd[i].h * bd[i].wh;
			sww += u * bd[i].wh * bd[i].wh;
			shp += u * bd[i].h * bd[i].p;
			swp += u * bd[i].wh * bd[i].p;
		}
		if (!(shh > 0) || !(sww > 0))
			return INFINITY;
		det = shh * sww - shw * shw;
		if (det > 1e-9 * shh * sww) {
			a = (shp * sww - shw * swp) / det;
			b = (shh * swp - shw * shp) / det;
		} else {
			a = -1; /* h proportional to w (white): B alone */
		}
		if (a < 0) {
			a = 0;
			b = swp / sww;
		} else if (b < 0) {
			b = 0;
			a = shp / shh;
		}
		if (!(a + b > 0))
			return INFINITY;
	}
	*a_out = a;
	*b_out = b;
	return fit_q(bd, nb, a, b);
}

static double try_rho(struct band *bd, size_t nb, double rho, bool dec, struct bgfit *best)
{
	struct bgfit f = { .rho = rho };

	for (size_t i = 0; i < nb; i++)
		bd[i].h = shape(bd[i].c, bd[i].smooth, rho, dec);
	f.q = fit_ab(bd, nb, &f.a, &f.b);
	if (isfinite(f.q) && f.q < best->q)
		*best = f;
	return isfinite(f.q) ? f.q : INFINITY;
}

static double try_u(struct band *bd, size_t nb, double u, bool dec, struct bgfit *best)
{
	double q0 = best->q, q = try_rho(bd, nb, u > 0 ? 1.0 - exp2(-u) : 0.0, dec, best);

	if (best->q < q0)
		best->u = u;
	return q;
}

/* The previous evaluation's u (the background changes slowly): if the
 * likelihood at u is below its values one step either side, a parabola
 * through the three gives the minimum (four fits instead of eleven).
 * False when not bracketed: search the whole range. */
static bool fit_near(struct band *bd, size_t nb, bool dec, struct bgfit *best, double u)
{
	const double h = 1.0;
	double lo = u - h, hi = u + h, ql, qm, qh, den;

	if (!(u >= h && u <= NW_PER_U_MAX - h))
		return false;
	best->q = INFINITY;
	qm = try_u(bd, nb, u, dec, best);
	ql = try_u(bd, nb, lo, dec, best);
	qh = try_u(bd, nb, hi, dec, best);
	if (!(qm <= ql && qm <= qh) || !isfinite(qm))
		return false;
	den = ql - 2 * qm + qh;
	if (den > 0)
		try_u(bd, nb, u + 0.5 * h * (ql - qh) / den, dec, best);
	return true;
}

/* Best (rho, A, B): a coarse grid in u (rho = 1 - 2^-u), then a golden-
 * section search in the bracket around the best grid point. */
static void fit_background(struct band *bd, size_t nb, bool dec, struct bgfit *best, double *u_hint)
{
	const double step = NW_PER_U_MAX / (NW_PER_U_GRID - 1), gr = 0.5 * (sqrt(5.0) - 1.0);
	double qbest = INFINITY, ubest = 0, lo, hi, x1, x2, q1, q2;

	if (*u_hint >= 0 && fit_near(bd, nb, dec, best, *u_hint)) {
		*u_hint = best->u;
		return;
	}
	best->q = INFINITY;
	for (int i = 0; i < NW_PER_U_GRID; i++) {
		double q = try_u(bd, nb, i * step, dec, best);

		if (q < qbest) {
			qbest = q;
			ubest = i * step;
		}
	}
	lo = ubest - step > 0 ? ubest - step : 0;
	hi = ubest + step < NW_PER_U_MAX ? ubest + step : NW_PER_U_MAX;
	x1 = hi - gr * (hi - lo);
	x2 = lo + gr * (hi - lo);
	q1 = try_u(bd, nb, x1, dec, best);
	q2 = try_u(bd, nb, x2, dec, best);
	for (int i = 0; i < NW_PER_U_GOLDEN; i++) {
		if (q1 < q2) {
			hi = x2;
			x2 = x1;
			q2 = q1;
			x1 = hi - gr * (hi - lo);
			q1 = try_u(bd, nb, x1, dec, best);
		} else {
			lo = x1;
			x1 = x2;
			q1 = q2;
			x2 = lo + gr * (hi - lo);
			q2 = try_u(bd, nb, x2, dec, best);
		}
	}
	if (isfinite(best->q))
		*u_hint = best->u;
}

/* ---- One window ----------------------------------------------------------- */

struct win {
	double fs;         /* grid points per second */
	size_t min_n;      /* fewer grid points with data: nothing */
	size_t size;       /* FFT size W */
	size_t start;      /* grid index of its first point with data */
	size_t len;        /* L: slots from start to the newest */
	size_t n;          /* points with data */
	double r;          /* W / L: bins per independent frequency */
	size_t k_lo, k_hi; /* searched bins */
	double m;          /* independent frequencies searched */
	double var;        /* residual variance */
	double slope, mean, imean;
	double ss; /* sum of squares about the mean (before any line) */
	bool ok;
};

/* Which bins a window searches: at least four cycles inside its data (one
 * cycle is a step down and a step up, not a repetition), up to f_max. */
static void window_grid(const struct nw_periodicity *p, struct win *w)
{
	double fs = w->fs, span = (double)w->len / fs;
	double f_lo = 4.0 / span, f_hi = p->cfg.f_max_hz;

	w->r = (double)w->size / (double)w->len;
	w->k_lo = (size_t)ceil(f_lo * (double)w->size / fs);
	w->k_hi = (size_t)floor(f_hi * (double)w->size / fs);
	if (w->k_hi > w->size / 2 - 1)
		w->k_hi = w->size / 2 - 1;
	w->m = w->k_hi >= w->k_lo ? fmax(1.0, (double)(w->k_hi - w->k_lo + 1) / w->r) : 0;
}

/* Mean, line (if detrend) and residual variance of the window's points:
 * two passes (the residual variance of a float-rounded ramp is ~1e-14 of
 * its variance, so the sums are taken about the means). */
static bool window_stats(const double *g, struct win *w, bool detrend)
{
	size_t end = w->start + w->len, n = 0;
	double im = 0, ym = 0, stt = 0, sty = 0, syy = 0, var, scale, y_abs = 0, y0 = NAN;
	bool constant = true;

	for (size_t i = w->start; i < end; i++) {
		double y = g[i];

		if (isnan(y))
			continue;
		im += (double)i;
		ym += y;
		y_abs = fabs(y) > y_abs ? fabs(y) : y_abs;
		if (n == 0)
			y0 = y;
		constant &= y == y0;
		n++;
	}
	w->n = n;
	if (n < w->min_n || constant)
		return false;
	im /= (double)n;
	ym /= (double)n;
	for (size_t i = w->start; i < end; i++) {
		double y = g[i] - ym, di = (double)i - im;

		if (isnan(y))
			continue;
		stt += di * di;
		sty += di * y;
		syy += y * y;
	}
	w->slope = detrend && stt > 0 ? sty / stt : 0;
	w->mean = ym;
	w->ss = syy;
	w->imean = im;
	var = syy - w->slope * sty;
	var = (var > 0 ? var : 0) / (double)(n - 1);
	scale = ym * ym + syy / (double)n;
	w->var = var;
	/* Rounding residue of a constant or exactly linear series is not a
	 * signal, nor is the float storage's quantisation of a ramp (a sawtooth
	 * of ~2^-24 of the stored values: periodic, but not there). */
	return var > 1e-20 * scale && isfinite(var) &&
	       sqrt(var) > 16.0 * y_abs * (double)FLT_EPSILON;
}

/* x[0..L) = the residual, Hann-tapered, x[L..W) = 0. A gap (a lost sample
 * in the delay series, a restart's silence) gets the AR(1) bridge between
 * its neighbours a and b (the conditional mean of an AR(1) of coefficient
 * rho, the lag-1 autocorrelation of the points that have a neighbour):
 * (rho^k (1 - rho^2(m-k)) a + rho^(m-k) (1 - rho^2k) b) / (1 - rho^2m) at k of
 * m. White noise (rho = 0) gets the mean, so a random mask stays white; a
 * wandering delay gets nearly the line between its neighbours, so a periodic
 * outage does not turn the wander into lines at the outage's period. */
/* x[0..L) *= the Hann taper sin^2(pi (j + 1/2) / L): the scratch's table
 * when there is one for L (every full window), else by rotation. */
static void taper(const struct nw_periodicity_scratch *sc, double *x, size_t L)
{
	double c, s, cd, sd;

	for (size_t i = 0; i < sc->nplans; i++)
		if (sc->plan_n[i] == L) {
			const double *h = sc->hann[i];

			for (size_t j = 0; j < L; j++)
				x[j] *= h[j];
			return;
		}
	sincos(M_PI / (double)L, &sd, &cd);
	sincos(0.5 * M_PI / (double)L, &s, &c);
	for (size_t j = 0; j < L; j++) {
		double cn = c * cd - s * sd;

		x[j] *= s * s;
		s = s * cd + c * sd;
		c = cn;
	}
}

static void window_fill(const struct nw_periodicity_scratch *sc, const double *g, double *x,
			const struct win *w)
{
	double c0 = 0, c1 = 0, rho = 0, prev = NAN;
	size_t L = w->len, last = (size_t)-1, gaps = 0;

	for (size_t j = 0; j < L; j++) {
		size_t i = w->start + j;
		double v = g[i] - w->mean - w->slope * ((double)i - w->imean);

		x[j] = v; /* NaN in a gap */
		if (isnan(v)) {
			gaps++;
		} else {
			c0 += v * v;
			if (!isnan(prev))
				c1 += v * prev;
		}
		prev = v;
	}
	if (c0 > 0 && c1 > 0)
		rho = c1 < 0.999 * c0 ? c1 / c0 : 0.999;
	for (size_t j = 0; gaps && j < L; j++) {
		double v = x[j];

		if (isnan(v))
			continue;
		if (last == (size_t)-1) {
			double f = 1;

			for (size_t k = j; k-- > 0;) {
				f *= rho;
				x[k] = f * v;
			}
		} else if (j > last + 1) {
			size_t m = j - last;
			double r2m = pow(rho, 2.0 * (double)m), rk = 1, lastv = x[last];

			for (size_t k = 1; k < m; k++) {
				double rmk, num;

				rk *= rho; /* rho^k */
				rmk = pow(rho, (double)(m - k));
				num = rk * (1 - rmk * rmk) * lastv + rmk * (1 - rk * rk) * v;
				x[last + k] = r2m < 1 ? num / (1 - r2m) : 0;
			}
		}
		last = j;
	}
	taper(sc, x, L);
	for (size_t j = L; j < w->size; j++)
		x[j] = 0;
}

/* Bands of bins from two resolutions up to below Nyquist. */
static size_t make_bands(const struct win *w, double rate, struct band *bd)
{
	size_t k = (size_t)ceil(2.0 * w->r), kmax = w->size / 2, nb = 0;
	double d = w->fs / (double)w->len, fpb = w->fs / (double)w->size, sdd, cdd, sf, cf;
	bool dec = w->fs < rate;

	sincos(2.0 * M_PI * d / rate, &sdd, &cdd);
	if (k < 1)
		k = 1;
	while (k < kmax && nb < NW_PER_MAX_BANDS) {
		size_t width = (size_t)fmax(ceil(w->r), floor(NW_PER_BAND_GROWTH * (double)k));

		if (width > NW_PER_BAND_MAX)
			width = NW_PER_BAND_MAX;
		struct band *b = &bd[nb++];

		if (width < 1)
			width = 1;
		if (k + width > kmax)
			width = kmax - k;
		b->k0 = k;
		b->k1 = k + width;
		b->kc = (double)k + 0.5 * (double)(width - 1);
		sincos(2.0 * M_PI * b->kc * fpb / rate, &sf, &cf);
		b->c[0] = cf * cdd + sf * sdd;
		b->c[1] = cf;
		b->c[2] = cf * cdd - sf * sdd;
		/* Ten resolutions up, the spectrum changes by < 2 % over +-d. */
		b->smooth = (double)k < 10.0 * w->r;
		b->wh = shape(b->c, b->smooth, -1, dec);
		b->eq = 0;
		if (width >= NW_PER_QUANTILE_MIN) {
			/* E of the j-th smallest of n Exp(1): sum 1/(n - i), i < j */
			size_t j = (size_t)(NW_PER_QUANTILE * (double)width + 0.5);

			for (size_t i = 0; i < j; i++)
				b->eq += 1.0 / (double)(width - i);
		}
		k += width;
	}
	return nb;
}

/* The k-th smallest (0-based) of a[0..n): quickselect, a reordered. */
static double kth_smallest(double *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		double pv = a[(lo + hi) / 2];
		size_t i = lo, j = hi;

		while (i <= j) {
			while (a[i] < pv)
				i++;
			while (a[j] > pv)
				j--;
			if (i <= j) {
				double t = a[i];

				a[i++] = a[j];
				a[j] = t;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return a[k];
	}
	return a[k];
}

/* Each band's background estimate. A wide band: its NW_PER_QUANTILE
 * quantile over its expectation for Exp(1) data: the lines of a pulse
 * train (harmonics every few bins, each a few bins wide) fill up to half
 * a band and barely move it, while they dominate its mean. Its weight is a
 * quarter of its bins (the quantile's variance is ~4 times the mean's). A
 * narrow band (the lowest frequencies): the mean of its bins not clipped,
 * over the mean of Exp(1) below the clip level (the bins left out of a
 * pure background are its top tail). */
static void band_means(const double *power, const unsigned char *clip, const struct win *w,
		       struct band *bd, size_t nb)
{
	const double T = NW_PER_CLIP, corr = 1.0 - T * exp(-T) / (1.0 - exp(-T));
	double buf[NW_PER_BAND_MAX];

	for (size_t i = 0; i < nb; i++) {
		size_t width = bd[i].k1 - bd[i].k0, used = 0;
		double sum = 0;

		if (bd[i].eq > 0) {
			size_t j = (size_t)(NW_PER_QUANTILE * (double)width + 0.5);

			memcpy(buf, power + bd[i].k0, width * sizeof(double));
			bd[i].p = kth_smallest(buf, width, j - 1) / bd[i].eq;
			bd[i].m = (double)width / (4.0 * w->r);
			continue;
		}
		for (size_t k = bd[i].k0; k < bd[i].k1; k++)
			if (!clip[k]) {
				sum += power[k];
				used++;
			}
		bd[i].p = used ? sum / (double)used / corr : 0;
		bd[i].m = (double)used / w->r;
	}
}

/* Marks the bins above NW_PER_CLIP times the fit (interpolated between band
 * centres): lines, not background. Returns how many marks changed. */
static size_t clip_bins(const double *power, unsigned char *clip, struct band *bd, size_t nb,
			const struct bgfit *f, bool dec)
{
	size_t changed = 0;

	for (size_t i = 0; i < nb; i++)
		bd[i].h = f->a * shape(bd[i].c, bd[i].smooth, f->rho, dec) + f->b * bd[i].wh;
	for (size_t i = 0; i < nb; i++)
		for (size_t k = bd[i].k0; bd[i].eq == 0 && k < bd[i].k1; k++) {
			size_t o = (double)k < bd[i].kc || i + 1 == nb ? (i ? i - 1 : 0) : i + 1;
			double e = bd[i].h, x;
			unsigned char c;

			if (o != i && bd[o].kc != bd[i].kc) {
				x = ((double)k - bd[i].kc) / (bd[o].kc - bd[i].kc);
				e += x * (bd[o].h - bd[i].h);
			}
			c = power[k] > NW_PER_CLIP * e;
			changed += c != clip[k];
			clip[k] = c;
		}
	return changed;
}

/* Fitted background at bins k_lo..k_hi into bg[k]. */
static void background_at(const struct win *w, double rate, const struct bgfit *f, double *bg)
{
	double fpb = w->fs / (double)w->size, d = w->fs / (double)w->len, sdd, cdd;
	bool dec = w->fs < rate;

	double sk, ck, sf, cf;

	sincos(2.0 * M_PI * d / rate, &sdd, &cdd);
	sincos(2.0 * M_PI * fpb / rate, &sk, &ck);
	sincos(2.0 * M_PI * (double)w->k_lo * fpb / rate, &sf, &cf);
	for (size_t k = w->k_lo; k <= w->k_hi; k++) {
		double c[3] = { cf * cdd + sf * sdd, cf, cf * cdd - sf * sdd }, cn;

		bg[k] = f->a * shape(c, true, f->rho, dec) + f->b * shape(c, true, -1, dec);
		cn = cf * ck - sf * sk; /* next bin by rotation */
		sf = sf * ck + cf * sk;
		cf = cn;
	}
}

/* |DFT|^2 of x[0..L) at frequency f (cycles per slot): by rotation. */
static double dft_power(const double *x, size_t L, double f)
{
	double c = 1, s = 0, cd, sd, re = 0, im = 0;

	sincos(2.0 * M_PI * f, &sd, &cd);
	for (size_t j = 0; j < L; j++) {
		double cn = c * cd - s * sd;

		re += x[j] * c;
		im -= x[j] * s;
		s = s * cd + c * sd;
		c = cn;
	}
	return re * re + im * im;
}

/* The summed DFT power of x at f, 2f, ... Hf (cycles per point). */
static double harm_power(const double *x, size_t L, double f, int H)
{
	double s = 0;

	for (int h = 1; h <= H; h++)
		s += dft_power(x, L, h * f);
	return s;
}

/* Golden section for the maximum of harm_power(H) in [lo, hi] (cycles per
 * point), `steps` steps; the middle of the last bracket. */
static double golden_max(const double *x, size_t L, int H, double lo, double hi, int steps)
{
	const double gr = 0.5 * (sqrt(5.0) - 1.0);
	double x1 = hi - gr * (hi - lo), x2 = lo + gr * (hi - lo);
	double p1 = harm_power(x, L, x1, H), p2 = harm_power(x, L, x2, H);

	for (int i = 0; i < steps; i++) {
		if (p1 > p2) {
			hi = x2;
			x2 = x1;
			p2 = p1;
			x1 = hi - gr * (hi - lo);
			p1 = harm_power(x, L, x1, H);
		} else {
			lo = x1;
			x1 = x2;
			p1 = p2;
			x2 = lo + gr * (hi - lo);
			p2 = harm_power(x, L, x2, H);
		}
	}
	return 0.5 * (lo + hi);
}

/* The peak's frequency (Hz) between bins j - 1 and j + 1: golden section on
 * the tapered series' DFT (a parabola through three bins is biased by up
 * to a few hundredths of a bin, 2 % of a 15 s period seen in 60 s). */
static double refine(const double *x, const struct win *w, long j, double fs)
{
	const double W = (double)w->size;

	return golden_max(x, w->len, 1, ((double)j - 1.0) / W, ((double)j + 1.0) / W,
			  NW_PER_REFINE_STEPS) *
	       fs;
}

/* A sparse pulse train's fundamental is weak and its position noisy in a
 * short window; its harmonics together pin it: the frequency within +-1
 * bin of f (Hz) that maximises the summed DFT power at f, 2f, ... (up to
 * f_max, at most NW_PER_HARM_MAX): a grid of a quarter of the H-th
 * harmonic's resolution, then golden section around its best point. */
static double refine_harmonics(const double *x, const struct win *w, double f_hz, double fs,
			       double f_max)
{
	const double W = (double)w->size;
	double f = f_hz / fs, step, best = f, pbest = -1;
	int H = 0;

	while (H < NW_PER_HARM_MAX && (H + 1) * f_hz <= f_max)
		H++;
	if (H < 2)
		return f_hz;
	step = 1.0 / (W * 4.0 * H);
	for (double g = f - 1.0 / W; g <= f + 1.0 / W; g += step) {
		double pw = harm_power(x, w->len, g, H);

		if (pw > pbest) {
			pbest = pw;
			best = g;
		}
	}
	return golden_max(x, w->len, H, best - step, best + step, 8) * fs;
}

/* Highest z (power / background) within +-half bins of position x (in
 * bins) inside [lo, hi] (raw power would lean towards a red background). */
static long local_max(const double *power, const double *bg, size_t lo, size_t hi, double x,
		      long half)
{
	long a = (long)floor(x) - half, b = (long)ceil(x) + half, best = -1;

	if (a < (long)lo)
		a = (long)lo;
	if (b > (long)hi)
		b = (long)hi;
	for (long j = a; j <= b; j++)
		if (best < 0 || power[j] / bg[j] > power[best] / bg[best])
			best = j;
	return best;
}

/* Lomb-Scargle power at one frequency f (Hz) over the grid points with data
 * in [i0, i1), with that range's own mean and least-squares line removed and
 * normalised by its own residual variance: what is left of a step
 * elsewhere is a ramp here, and a ramp is no cycle. */
static double range_ls_power(const double *g, size_t i0, size_t i1, double fs, double f)
{
	double om = 2.0 * M_PI * f / fs, s2 = 0, c2 = 0, tau, yc = 0, ys = 0, cc = 0, ss = 0;
	double im = 0, ym = 0, stt = 0, sty = 0, slope = 0, var = 0, pw = 0;
	size_t n = 0;

	for (size_t i = i0; i < i1; i++)
		if (!isnan(g[i])) {
			im += (double)i;
			ym += g[i];
			n++;
		}
	if (n < 16)
		return 0;
	im /= (double)n;
	ym /= (double)n;
	for (size_t i = i0; i < i1; i++)
		if (!isnan(g[i])) {
			stt += ((double)i - im) * ((double)i - im);
			sty += ((double)i - im) * (g[i] - ym);
		}
	if (stt > 0)
		slope = sty / stt;
#define RES(i) (g[i] - ym - slope * ((double)(i)-im))
	for (size_t i = i0; i < i1; i++)
		if (!isnan(g[i])) {
			double sn, cs;

			var += RES(i) * RES(i);
			sincos(2.0 * om * (double)i, &sn, &cs);
			s2 += sn;
			c2 += cs;
		}
	var /= (double)(n - 1);
	if (!(var > 0))
		return 0;
	tau = atan2(s2, c2) / (2.0 * om);
	for (size_t i = i0; i < i1; i++)
		if (!isnan(g[i])) {
			double c, sn;

			sincos(om * ((double)i - tau), &sn, &c);
			yc += RES(i) * c;
			ys += RES(i) * sn;
			cc += c * c;
			ss += sn * sn;
		}
#undef RES
	if (cc > 1e-9 * (double)n)
		pw += yc * yc / cc;
	if (ss > 1e-9 * (double)n)
		pw += ys * ys / ss;
	return pw / (2.0 * var);
}

/* Transform, fit the background (rho < 0: rho too), find the highest z in
 * the searched bins. Returns its bin (or -1); *z its value. */
static long window_peak(struct nw_periodicity_scratch *sc, const double *g, double *x,
			double *power, double *bg, const struct win *w, double rate, double rho,
			double *u_hint, struct bgfit *fit, double *z, double *nu)
{
	struct band bd[NW_PER_MAX_BANDS];
	unsigned char *clip = (unsigned char *)bg; /* until background_at */
	size_t nb, half = w->size / 2;
	bool dec = w->fs < rate;
	long jp = -1;
	int pass;

	window_fill(sc, g, x, w);
	fftw_execute_dft_r2c(plan_for(sc, w->size), x, sc->spec);
	for (size_t k = 0; k <= half; k++)
		power[k] = sc->spec[k][0] * sc->spec[k][0] + sc->spec[k][1] * sc->spec[k][1];
	nb = make_bands(w, rate, bd);
	if (nb < 3)
		return -1;
	memset(clip, 0, half + 1);
	/* Lines (the fault, its harmonics) are not background: fit, leave out
	 * the bins far above the fit, fit again until none changes. A shorter
	 * window keeps the longest's rho (the same background, mostly from
	 * before a fault that began recently) and fits only A and B. */
	fit->rho = rho;
	for (pass = 0; pass < NW_PER_ROBUST_PASSES; pass++) {
		if (pass > 0 && !clip_bins(power, clip, bd, nb, fit, dec))
			break;
		band_means(power, clip, w, bd, nb);
		if (rho < 0 && pass < 2) {
			fit_background(bd, nb, dec, fit, u_hint);
		} else {
			/* later passes (and shorter windows) keep rho: A and B */
			double r = fit->rho;

			fit->q = INFINITY;
			try_rho(bd, nb, r, dec, fit);
		}
		if (!isfinite(fit->q))
			return -1;
	}
	if (rho < 0 && pass > 2)
		fit_background(bd, nb, dec, fit, u_hint); /* rho again, on the bins left */
	if (!isfinite(fit->q) || !(fit->a + fit->b > 0))
		return -1;
	background_at(w, rate, fit, bg);
	if (nu) {
		double m = 0;

		for (size_t i = 0; i < nb; i++)
			m += bd[i].m;
		*nu = m / (rho < 0 ? 3.0 : 2.0);
	}
	*z = 0;
	for (size_t k = w->k_lo; k <= w->k_hi; k++) {
		double zk = power[k] / bg[k];

		if (zk > *z) {
			*z = zk;
			jp = (long)k;
		}
	}
	return jp;
}

/* The z of an Exp(1) with the tail of P / E-hat at z, where E-hat is the
 * fitted background: with nu degrees of freedom in the fit's level (the
 * bands' weights over the parameters fitted), P / E-hat has the tail
 * (1 + z / nu)^-nu of an F(2, 2 nu), not e^-z (Vaughan 2005 for the same
 * point in log space). */
static double z_of_fitted(double z, double nu)
{
	return nu > 0 ? nu * log1p(z / nu) : z;
}

/* ---- The folded residual ---------------------------------------------------
 * A pulse train's lines (harmonics falling as 1/k^2, each widened by the
 * taper) look like red noise to the background fit, so while a fault is new
 * its own lines lift the background under it. Subtracting the series' mean
 * profile folded at a candidate period removes that period's lines and
 * their leakage (every harmonic at once); the residual's background is the
 * noise alone. A red noise folded at any period keeps its redness. */
#define NW_PER_FOLD_MAX 64
/* Candidate subharmonics of the peak (largest first, as for the fundamental). */
#define NW_PER_FOLD_SUB 4
/* The fold's search (a window's peak fails) tries more: the strongest
 * line of a 5 % duty outage may be any of its first ~20 harmonics, and a
 * 15 s outage in 60 s has its fundamental at the search's lowest bin
 * (f/4 missed it in 3 of 72 evaluations, f/8 in none). */
#define NW_PER_FOLD_SEARCH_SUB 8
/* A fold is transformed only when its profile takes at least this fraction
 * of the window's variance: noise alone gives it ~nph / n (a quarter with
 * four cycles), a fault that stands out of its noise most of it. */
#define NW_PER_FOLD_GATE 0.5
/* The folded test must pass fap_max / this: Bonferroni over its extra looks
 * (two candidates, eight subharmonics, three windows: 48), with margin for
 * the degrees of freedom the profile takes from the noise near the
 * candidate's harmonics (with four subharmonics, 24 looks, a bound of 24
 * let one random walk through in 25,296 evaluations, 50 and 200 none; 400
 * keeps that margin for 48; docs/periodicity.md). */
#define NW_PER_FOLD_FAP_DIV 400.0
/* When neither the halves nor the newest half's quarters show the period,
 * the halves' folded profiles may: their correlation as a z (halves_agree)
 * at least this (4 let 3 more false periods through in 6,960 evaluations
 * of the 120 s null cases; 6 none, docs/periodicity.md). */
#define NW_PER_HALVES_AGREE_Z 6.0
/* Folds are tried only when the window's highest z reaches this, in a
 * shorter window the second: a new fault's lines lift the background there
 * until its highest z is 3-4.5 (a 5 s bump 18-22 s in, in the 30 s
 * window). The gates run on most evaluations of noise (4.5 an evaluation
 * of a white series, 3.1 with 5 everywhere, 6.4 with 4 everywhere), so the
 * horizon's, the dearest, keeps 5. */
#define NW_PER_FOLD_MIN_Z 5.0
#define NW_PER_FOLD_MIN_Z_SHORT 4.0

/* The phase advance a grid point of a period of `per` points, in 2^-32
 * turns: the phase wraps by itself and the phase bin is one multiply
 * ((ph nph) >> 32), no compare-and-subtract chain per point (the gate runs
 * on most evaluations). Off by < 2^-32 a turn a point: nothing in a
 * window. */
static uint32_t phase_step(double per)
{
	double t = 4294967296.0 / per;

	return t >= 4294967295.0 ? 4294967295u : (uint32_t)llround(t);
}

/* The mean profile of g over the window folded at a period of `per` grid
 * points in `nph` phase bins: sum[] and cnt[] per bin. Returns the fraction
 * of the window's sum of squares (about its mean, from window_stats) the
 * profile takes. */
static double fold_profile(const double *g, const struct win *w, double per, size_t nph,
			   double *sum, double *cnt)
{
	uint32_t ph = 0, step = phase_step(per);
	double se = 0, s = w->mean * (double)w->n;
	size_t end = w->start + w->len;

	memset(sum, 0, nph * sizeof(double));
	memset(cnt, 0, nph * sizeof(double));
	for (size_t i = w->start; i < end; i++, ph += step) {
		size_t b = (size_t)(((uint64_t)ph * nph) >> 32);

		if (isnan(g[i]))
			continue;
		sum[b] += g[i];
		cnt[b] += 1;
	}
	if (w->n < 2)
		return 0;
	for (size_t b = 0; b < nph; b++)
		if (cnt[b] > 0)
			se += sum[b] * sum[b] / cnt[b];
	se -= s * s / (double)w->n;
	return w->ss > 0 ? se / w->ss : 0;
}

/* log P(Gamma(H, 1) > s) = -s + log sum_{i<H} s^i / i!: the tail of a sum
 * of H independent Exp(1) (z at H harmonics under the background). */
static double log_gamma_tail(int H, double s)
{
	double term = 1, acc = 1;

	if (!(s > 0))
		return 0;
	for (int i = 1; i < H; i++) {
		term *= s / i;
		acc += term;
	}
	return -s + log(acc);
}

/* gf[start..end) = g minus the profile (NaN stays NaN). */
static void fold_residual(const double *g, double *gf, const struct win *w, double per, size_t nph,
			  const double *sum, const double *cnt)
{
	uint32_t ph = 0, step = phase_step(per);
	size_t end = w->start + w->len;

	for (size_t i = w->start; i < end; i++, ph += step) {
		size_t b = (size_t)(((uint64_t)ph * nph) >> 32);

		gf[i] = isnan(g[i]) ? NAN : g[i] - sum[b] / cnt[b];
	}
}

/* The folded test's harmonic sum: the original periodogram at the
 * candidate's harmonics h x (the nearest bin; for a subharmonic x of a
 * peak, sub > 1, only the h that are not multiples of sub, so the peak's
 * own lines do not count for it) over the residual's background, summed and
 * turned into the z of an Exp(1) with the same tail (Gamma(H) for H
 * harmonics; halved for the second test on the same fold). */
static double harmonic_z(struct nw_periodicity_scratch *sc, const struct win *w,
			 const struct win *y, double rate, const struct bgfit *fit, double x,
			 int sub, double corr)
{
	struct win yh = *y;
	/* the residual's own power between the harmonics, two bins or more
	 * from each (the fold took the bins at them): five cycles or more in
	 * the window leave such bins, fewer leave the fit only depleted bins
	 * (GE loss folded at 8.2 s over 30 s summed to z = 97) */
	size_t reach = (size_t)floor(x / 2);
	double s = 0;
	int H = 0;

	if (x / y->r < NW_PER_HARM_MIN_CYCLES || reach < 2)
		return 0;
	yh.k_hi = (size_t)floor(NW_PER_HARM_TOP * (double)w->size);
	if (yh.k_hi > w->size / 2 - 1)
		yh.k_hi = w->size / 2 - 1;
	if (yh.k_hi > w->k_hi)
		background_at(&yh, rate, fit, sc->bgf);
	for (int h = 1; h <= NW_PER_HARM_MAX; h++) {
		double xh = x * h, loc = 0;
		size_t k = (size_t)lround(xh), l0, l1, nloc = 0;

		if (xh > (double)yh.k_hi || k < w->k_lo || k > yh.k_hi)
			break;
		if (sub > 1 && h % sub == 0)
			continue;
		l0 = k >= reach ? k - reach : 0;
		l1 = k + reach <= w->size / 2 ? k + reach : w->size / 2;
		for (size_t i = l0; i <= l1; i++)
			if (i + 2 <= k || i >= k + 2) {
				loc += sc->pf[i];
				nloc++;
			}
		loc /= nloc > 0 ? (double)nloc : 1.0;
		s += sc->power[k] / fmax(sc->bgf[k] * corr, loc);
		H++;
	}
	if (H < 2)
		return 0;
	return -log_gamma_tail(H, s) - M_LN2;
}

/* z of the original periodogram at bin near x (in bins) against the
 * background of the residual folded at that frequency's period, or 0 when
 * the fold takes too little of the variance to be worth a transform. */
static double fold_z(struct nw_periodicity_scratch *sc, const struct win *w, double rate,
		     bool detrend, double x, int sub, long *jout, bool *harm)
{
	double per = (double)w->size / x; /* grid points a period */
	size_t nph = (size_t)lround(per);
	struct win y = *w;
	struct bgfit fit;
	double u = -1, z, zh, take, corr, sum[NW_PER_FOLD_MAX], cnt[NW_PER_FOLD_MAX];
	long j;

	*harm = false;
	nph = nph < 4 ? 4 : nph > NW_PER_FOLD_MAX ? NW_PER_FOLD_MAX : nph;
	if (x < (double)w->k_lo - 0.5 || x > (double)w->k_hi + 0.5 || w->n < 4 * nph)
		return 0;
	take = fold_profile(sc->g, w, per, nph, sum, cnt);
	/* noise alone gives the profile ~nph / n of the variance */
	if (take < NW_PER_FOLD_GATE)
		return 0;
	fold_residual(sc->g, sc->gf, w, per, nph, sum, cnt);
	if (!window_stats(sc->gf, &y, detrend))
		return 0;
	if (window_peak(sc, sc->gf, sc->xf, sc->pf, sc->bgf, &y, rate, -1, &u, &fit, &z, NULL) < 0)
		return 0;
	j = local_max(sc->power, sc->bgf, w->k_lo, w->k_hi, x, 1);
	if (j < 0)
		return 0;
	/* the profile took nph of the n degrees of freedom from the noise */
	corr = (double)w->n / (double)(w->n - nph);
	*jout = j;
	z = sc->power[j] / (sc->bgf[j] * corr);
	zh = harmonic_z(sc, w, &y, rate, &fit, x, sub, corr);
	if (zh > z) {
		z = zh;
		*harm = true;
	}
	return z;
}

/* The peak's position in bins: a parabola through the log power of its bin
 * and its neighbours (exact for a Gaussian peak, near it for the Hann
 * taper's main lobe; close enough for a fold, which refine() then sharpens
 * for the report at 16 DFTs of the window, too dear for every candidate). */
static double log_parabola(const double *power, const struct win *w, long j)
{
	double a, b, c, den;

	if (j <= 0 || (size_t)j + 1 > w->size / 2 || !(power[j - 1] > 0) || !(power[j] > 0) ||
	    !(power[j + 1] > 0))
		return (double)j;
	a = log(power[j - 1]);
	b = log(power[j]);
	c = log(power[j + 1]);
	den = a - 2.0 * b + c;
	if (!(den < 0))
		return (double)j;
	return (double)j + 0.5 * (a - c) / den;
}

/* The fundamental the folded residual confirms: candidates the highest z
 * and the highest power, each with its subharmonics (largest first).
 * Returns its bin or -1; *zf its z. */
static long fold_search(struct nw_periodicity_scratch *sc, const struct win *w, double rate,
			bool detrend, long jz, double m_total, double fap_max, double *zf,
			bool *harm)
{
	long jpow = (long)w->k_lo, cand[2];

	for (size_t k = w->k_lo; k <= w->k_hi; k++)
		if (sc->power[k] > sc->power[jpow])
			jpow = (long)k;
	cand[0] = jpow;
	cand[1] = jz;
	for (int c = 0; c < 2; c++) {
		double kp;

		if (c == 1 && cand[1] == cand[0])
			break;
		kp = log_parabola(sc->power, w, cand[c]);
		for (int k = NW_PER_FOLD_SEARCH_SUB; k >= 1; k--) {
			long j = -1;
			bool hk;
			double z = fold_z(sc, w, rate, detrend, kp / k, k, &j, &hk);

			if (j >= 0 && fap_of(z, m_total) < fap_max / NW_PER_FOLD_FAP_DIV) {
				*zf = z;
				*harm = hk;
				return j;
			}
		}
	}
	return -1;
}

/* Whether the two halves of the window hold the same cycle: each half's
 * residual folded at `per` grid points into phase bins, and the
 * correlation of the two profiles over the bins both fill, as a z
 * (r sqrt(bins - 1), ~N(0, 1) for independent white halves). A sparse
 * pulse train (an outage of 5 % duty) has little power at its fundamental
 * in a half, but its profile repeats; a step or one burst has no profile
 * in the half that does not hold it. */
static double halves_agree(const double *g, const struct win *w, double per)
{
	size_t nph = (size_t)lround(per), mid = w->start + w->len / 2, end = w->start + w->len;
	double sum[2][NW_PER_FOLD_MAX] = { { 0 } }, cnt[2][NW_PER_FOLD_MAX] = { { 0 } };
	double m[2] = { 0, 0 }, n[2] = { 0, 0 }, sab = 0, saa = 0, sbb = 0, step, ph = 0;
	size_t used = 0;

	nph = nph < 4 ? 4 : nph > NW_PER_FOLD_MAX ? NW_PER_FOLD_MAX : nph;
	step = (double)nph / per;
	for (size_t i = w->start; i < end; i++, ph += step) {
		int h = i >= mid;
		size_t b;
		double v;

		if (ph >= (double)nph)
			ph -= (double)nph;
		if (isnan(g[i]))
			continue;
		b = (size_t)ph < nph ? (size_t)ph : nph - 1;
		v = g[i] - w->slope * ((double)i - w->imean);
		sum[h][b] += v;
		cnt[h][b] += 1;
		m[h] += v;
		n[h] += 1;
	}
	if (!(n[0] > 0 && n[1] > 0))
		return 0;
	m[0] /= n[0];
	m[1] /= n[1];
	for (size_t b = 0; b < nph; b++) {
		double a, c;

		if (!(cnt[0][b] > 0 && cnt[1][b] > 0))
			continue;
		a = sum[0][b] / cnt[0][b] - m[0];
		c = sum[1][b] / cnt[1][b] - m[1];
		sab += a * c;
		saa += a * a;
		sbb += c * c;
		used++;
	}
	if (used < 4 || !(saa > 0 && sbb > 0))
		return 0;
	return sab / sqrt(saa * sbb) * sqrt((double)(used - 1));
}

/* Upper 1 % points of Gamma(H, 1), H = 1 .. 8: a sum of H independent
 * single-frequency powers of noise. */
static const double harm_q99[] = { 4.61, 6.64, 8.41, 10.05, 11.60, 13.11, 14.57, 16.00 };

/* Whether each half of the window shows the period's harmonics: the sum of
 * its single-frequency powers at f, 2f, ... (up to f_max, at most
 * NW_PER_HARM_MAX) at least the 1 % point of Gamma(H) and a quarter of
 * the whole window's sum. A sparse pulse train spreads its power over many
 * harmonics, so its fundamental alone is weak in half a window. */
static bool halves_harmonics(const double *g, const struct win *w, double fs, double f,
			     double f_max)
{
	size_t mid = w->start + w->len / 2, end = w->start + w->len;
	double s0 = 0, s1 = 0, sw = 0;
	int H = 0;

	if (f * (double)(w->len / 2) / fs < NW_PER_HARM_HALF_CYCLES)
		return false;
	for (int h = 1; h <= NW_PER_HARM_MAX && h * f <= f_max; h++, H++) {
		s0 += range_ls_power(g, w->start, mid, fs, h * f);
		s1 += range_ls_power(g, mid, end, fs, h * f);
		sw += range_ls_power(g, w->start, end, fs, h * f);
	}
	if (H < 1)
		return false;
	return s0 >= harm_q99[H - 1] && s1 >= harm_q99[H - 1] && s0 >= sw / 4 && s1 >= sw / 4;
}

static void eval_one(struct nw_periodicity *p, struct nw_periodicity_scratch *sc,
		     struct nw_pring *r, bool detrend, struct nw_period_result *out)
{
	const size_t D = decim_of(&p->cfg), F = p->cfg.capacity / D;
	const double fs = p->cfg.rate_hz / (double)D, rate = p->cfg.rate_hz;
	const size_t min_n = (p->cfg.min_points + D - 1) / D;
	struct win win[NW_PER_WINDOWS];
	double t_new = -INFINITY, m_total = 0, rho = -1, *g, *cnt;
	size_t first = F, n = 0, slots = p->cfg.capacity;
	int nwin = 0;

	memset(out, 0, sizeof(*out));
	out->fap = 1.0;
	if (!r->t || r->count == 0 || !sc->g || sc->capacity < p->cfg.capacity)
		return;
	for (int w = 0; w < NW_PER_WINDOWS; w++)
		if (!plan_for(sc, window_size(&p->cfg, w)))
			return;
	g = sc->g;
	cnt = sc->x;
	/* The newest point: among the last few added (a reordered sample may
	 * come after a newer one, not after a few dozen). */
	for (size_t i = 0, k = r->head; i < r->count && i < 32; i++) {
		k = k ? k - 1 : p->cfg.capacity - 1;
		t_new = r->t[k] > t_new ? r->t[k] : t_new;
	}
	/* On the slot grid, counted back from the newest point's slot, only
	 * the horizon before it (the delay ring holds the last `capacity`
	 * received samples, which reach further back when samples are
	 * missing); with D = 2, the weighted means above. */
	memset(g, 0, F * sizeof(double));
	memset(cnt, 0, F * sizeof(double));
	if (D == 1) {
		for (size_t i = 0; i < r->count; i++) {
			long back = (long)((t_new - r->t[i]) * rate + 0.5);

			if (back < 0 || back >= (long)slots)
				continue;
			g[F - 1 - back] += (double)r->y[i];
			cnt[F - 1 - back] += 1;
			n++;
		}
	} else {
		/* Point j back from the newest goes to index F - j for now, so
		 * the oldest slot's spill (j = F) has index 0 and the loop needs
		 * no branch (F + 1 <= capacity); shifted down after. */
		g[F] = cnt[F] = 0;
		for (size_t i = 0; i < r->count; i++) {
			long back = (long)((t_new - r->t[i]) * rate + 0.5), j = back >> 1;
			double odd = (double)(back & 1), y = (double)r->y[i];

			if (back < 0 || back >= (long)slots)
				continue;
			/* slot 2j: weight 2 on point j; slot 2j + 1: 1 on j and j + 1 */
			g[F - j] += (2.0 - odd) * y;
			cnt[F - j] += 2.0 - odd;
			g[F - 1 - j] += odd * y;
			cnt[F - 1 - j] += odd;
			n++;
		}
		memmove(g, g + 1, F * sizeof(double));
		memmove(cnt, cnt + 1, F * sizeof(double));
	}
	for (size_t k = 0; k < F; k++) {
		if (cnt[k] > 0) {
			g[k] /= cnt[k];
			if (k < first)
				first = k;
		} else {
			g[k] = NAN;
		}
	}
	out->n = n;
	if (n < p->cfg.min_points)
		return;
	/* The windows with data of their own (early on, a shorter one may hold
	 * (nearly) everything there is: then it replaces the longer). */
	for (int w = 0; w < NW_PER_WINDOWS; w++) {
		struct win x = { .fs = fs, .min_n = min_n, .size = window_size(&p->cfg, w) };

		x.start = F - x.size > first ? F - x.size : first;
		x.len = F - x.start;
		if (nwin > 0 && (double)win[nwin - 1].len < 1.1 * (double)x.len) {
			win[nwin - 1] = x;
			continue;
		}
		if (x.len < min_n || x.len < 8)
			break;
		win[nwin++] = x;
	}
	for (int w = 0; w < nwin; w++) {
		window_grid(p, &win[w]);
		win[w].ok = win[w].m > 0 && window_stats(g, &win[w], detrend);
		if (win[w].ok)
			m_total += win[w].m;
	}
	out->nfreq = (size_t)llround(m_total);
	/* Longest window first: the finest resolution; a shorter one reports a
	 * fault that began too recently to stand out in the longer. */
	for (int w = 0; w < nwin; w++) {
		const struct win *x = &win[w];
		struct bgfit fit;
		double z = 0, nu = 0, fap, f_peak;
		long jp, jbest;

		if (!x->ok)
			continue;
		jp = window_peak(sc, sc->g, sc->x, sc->power, sc->bg, x, rate, rho, &r->u_hint,
				 &fit, &z, &nu);
		if (jp < 0)
			continue;
		if (rho < 0)
			rho = fit.rho;
		fap = fap_of(z_of_fitted(z, nu), m_total);
		if (w > 0 && fap < p->cfg.fap_max) {
			/* A shorter window keeps the horizon's rho, which fits
			 * the horizon: a peak that passes against it must pass
			 * against the window's own background too (GE loss, 5 %
			 * in bursts of 20, read 0.98 s at z = 16.5 in the 60 s
			 * window of a 120 s horizon with the horizon's rho
			 * 0.963). Only when it passes: no cost in noise. */
			double u = -1, z2 = 0, nu2 = 0;
			struct bgfit f2;
			long j2 = window_peak(sc, sc->g, sc->x, sc->power, sc->bg, x, rate, -1, &u,
					      &f2, &z2, &nu2);

			if (j2 >= 0 && z_of_fitted(z2, nu2) < z_of_fitted(z, nu)) {
				jp = j2;
				z = z2;
				nu = nu2;
				fit = f2;
				fap = fap_of(z_of_fitted(z, nu), m_total);
			}
		}
		if (z > out->power || w == 0) {
			out->power = z;
			out->fap = fap;
			out->rho = fit.rho;
			out->window_s = (double)x->len / fs;
		}
		bool folded = false, harm = false;
		double zf = 0;

		if (!(fap < p->cfg.fap_max)) {
			long jf = z >= (w ? NW_PER_FOLD_MIN_Z_SHORT : NW_PER_FOLD_MIN_Z)
					  ? fold_search(sc, x, rate, detrend, jp, m_total,
							p->cfg.fap_max, &zf, &harm)
					  : -1;

			if (jf < 0)
				continue;
			jp = jf;
			folded = true;
		}
		/* A short pulse train (0.5 s outage every 5 s) has harmonics as
		 * strong as its fundamental, and against a red background the
		 * highest z is often a harmonic. f/k is the fundamental when its
		 * multiples below f (h f / k, h < k) show too: their mean z at
		 * least NW_PER_SUB_MIN_Z and f/k itself at least 3. Largest k
		 * first: the lowest such frequency. */
		jbest = jp;
		/* multiples of the refined peak's subharmonic land within half a
		 * bin of their bins: look at those two (more when zero-padded) */
		double kp = refine(sc->x, x, jp, fs) * (double)x->size / fs;

		for (int k = NW_PER_MAX_SUB; k >= 2 && jbest == jp && !folded; k--) {
			double xk = kp / k, zsum = 0, z1 = 0;
			long half = (long)(x->r / 2);

			if (xk < (double)x->k_lo - 0.5)
				continue;
			for (int h = 1; h < k; h++) {
				long jh = local_max(sc->power, sc->bg, x->k_lo, x->k_hi, xk * h,
						    half);
				double zh = jh >= 0 ? sc->power[jh] / sc->bg[jh] : 0;

				zsum += zh;
				if (h == 1) {
					z1 = zh;
					jbest = jh >= 0 && jh != jp ? jh : jp;
				}
			}
			if (!(z1 >= 3.0 && zsum / (k - 1) >= sub_min_z[k - 2]))
				jbest = jp;
		}
		/* A fundamental in the red low bins may stay below the
		 * multiples' test (a 0.5 s outage every 10 s read as 5 s in 13
		 * of 72 evaluations): against the background of the residual
		 * folded at it, a true fundamental stands out; a subharmonic
		 * that is not one holds no line there. */
		double kb = jbest == jp ? kp : log_parabola(sc->power, x, jbest);

		for (int k = NW_PER_FOLD_SUB; k >= 2 && !folded; k--) {
			long j = -1;
			bool hk;
			double zk = fold_z(sc, x, rate, detrend, kb / k, k, &j, &hk);

			if (j >= 0 && fap_of(zk, m_total) < p->cfg.fap_max / NW_PER_FOLD_FAP_DIV) {
				jbest = j;
				zf = zk;
				folded = true;
				harm = hk;
			}
		}
		f_peak = refine(sc->x, x, jbest, fs);
		if (harm)
			f_peak = refine_harmonics(sc->x, x, f_peak, fs, NW_PER_HARM_TOP * fs);
		out->power = folded ? zf : sc->power[jbest] / sc->bg[jbest];
		out->fap = fap_of(folded ? zf : z_of_fitted(out->power, nu), m_total);
		out->rho = fit.rho;
		out->window_s = (double)x->len / fs;
		if (!(f_peak > 0) || !isfinite(f_peak))
			return;
		/* A fundamental below the window's grid may make the strongest
		 * peak inside it a harmonic (a 5 s outage seen over 15 s reads as
		 * 2.5 s). If a subharmonic below the grid is as strong, the period
		 * cannot be told in this window. Power in Lomb-Scargle units; the
		 * Hann taper keeps 2/3 of a sinusoid's. */
		double p_ls = 1.5 * sc->power[jbest] / (0.375 * (double)x->len * x->var);
		bool below = false;

		for (int k = 2; k <= NW_PER_MAX_SUB && !below; k++) {
			double fk = f_peak / k;

			/* below the grid, or at its edge (under five cycles) */
			if (fk * (double)x->size / fs >= 1.25 * (double)x->k_lo)
				continue;
			below = range_ls_power(g, x->start, x->start + x->len, fs, fk) >=
				0.5 * p_ls;
		}
		/* Periodic means it repeats: a step, a bend or one burst puts its
		 * weight on the lowest frequencies of the window too (a 200 ms
		 * delay step read as a 12 s period), but not on that frequency in
		 * a half of the window that does not hold it. Each half must show
		 * it on its own: a single-frequency power of at least 4.6 (1 %
		 * false alarm at one known frequency) and a quarter of the
		 * whole's (half what a steady signal gives a half). */
		double need = fmax(NW_PER_SEG_MIN_POWER, p_ls / 4.0);
		size_t mid = x->start + x->len / 2, end = x->start + x->len;

		if (!below && (range_ls_power(g, x->start, mid, fs, f_peak) < need ||
			       range_ls_power(g, mid, end, fs, f_peak) < need)) {
			/* A fault that began within the window's older half: the
			 * newest half holds it whole, and its two quarters must
			 * each show it (at least four cycles in that half). */
			size_t q = mid + (end - mid) / 2;
			double need_q = fmax(NW_PER_SEG_MIN_POWER, p_ls / 8.0);

			below = f_peak * (double)(end - mid) / fs < 4.0 ||
				range_ls_power(g, mid, q, fs, f_peak) < need_q ||
				range_ls_power(g, q, end, fs, f_peak) < need_q;
			if (below)
				below = halves_agree(g, x, fs / f_peak) < NW_PER_HALVES_AGREE_Z;
			if (below && harm)
				below = !halves_harmonics(g, x, fs, f_peak, NW_PER_HARM_TOP * fs);
		}
		if (below) {
			out->one_sided = true;
			continue;
		}
		out->one_sided = false;
		out->found = true;
		out->period_s = 1.0 / f_peak;
		return;
	}
}

void nw_periodicity_eval_with(struct nw_periodicity *p, struct nw_periodicity_scratch *sc,
			      struct nw_period_result *delay, struct nw_period_result *hole)
{
	/* A noise-free series has a background of ~0: z is huge and means
	 * only "certain"; keep it a finite, printable number. */
	if (delay) {
		eval_one(p, sc, &p->delay, p->cfg.detrend_delay, delay);
		delay->power = fmin(delay->power, NW_PER_Z_CAP);
	}
	if (hole) {
		eval_one(p, sc, &p->hole, false, hole);
		hole->power = fmin(hole->power, NW_PER_Z_CAP);
	}
}

void nw_periodicity_eval(struct nw_periodicity *p, struct nw_period_result *delay,
			 struct nw_period_result *hole)
{
	nw_periodicity_eval_with(p, &p->own, delay, hole);
}
