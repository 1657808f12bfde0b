/* SPDX-License-Identifier: MIT */
/* Lomb-Scargle periodicity of the delay and hole series; see periodicity.h
 * and docs/periodicity.md. */
#include "periodicity.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Scratch layout (each `capacity` doubles). */
enum { W_T, W_Y, W_C, W_S, W_CD, W_SD, W_COUNT };

/* Subharmonics checked when picking the fundamental of a pulse train. */
#define NW_PER_MAX_SUB 8
/* A period must show in each quarter of the horizon on its own: a single-
 * frequency power at least this (false-alarm 1 % at one known frequency)
 * and an eighth of the whole's (half what a steady signal gives a quarter). */
#define NW_PER_SEGMENTS 4
#define NW_PER_SEG_MIN_POWER 4.6
#define NW_PER_SEG_MIN_POINTS 16

void nw_periodicity_default_cfg(struct nw_periodicity_cfg *cfg, size_t capacity, double rate_hz)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = capacity;
	cfg->rate_hz = rate_hz;
	cfg->f_max_hz = rate_hz / 2 < 2.0 ? rate_hz / 2 : 2.0;
	cfg->ofac = 4;
	cfg->fap_max = 1e-3;
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
	return cfg->capacity >= 4 && cfg->capacity <= (1u << 24) && cfg->rate_hz > 0 &&
	       isfinite(cfg->rate_hz) && cfg->f_max_hz > 0 && cfg->f_max_hz <= cfg->rate_hz / 2 &&
	       cfg->ofac >= 1 && cfg->ofac <= 64 && cfg->fap_max > 0 && cfg->min_points >= 4;
}

/* The grid is f_lo..f_max in steps of 1/(ofac * span) with span <= horizon. */
static size_t nfreq_cap_of(const struct nw_periodicity_cfg *cfg)
{
	return (size_t)ceil(cfg->f_max_hz * ((double)cfg->capacity / cfg->rate_hz) * cfg->ofac) + 2;
}

int nw_periodicity_scratch_fit(struct nw_periodicity_scratch *sc,
			       const struct nw_periodicity_cfg *cfg)
{
	size_t cap = cfg->capacity, nf = nfreq_cap_of(cfg);

	if (cap > sc->capacity) {
		double *w = realloc(sc->w, cap * W_COUNT * sizeof(double));

		if (!w)
			return -1;
		sc->w = w;
		sc->capacity = cap;
	}
	if (nf > sc->nfreq_cap) {
		double *pw = realloc(sc->power, nf * sizeof(double));

		if (!pw)
			return -1;
		sc->power = pw;
		sc->nfreq_cap = nf;
	}
	return 0;
}

void nw_periodicity_scratch_free(struct nw_periodicity_scratch *sc)
{
	free(sc->w);
	free(sc->power);
	memset(sc, 0, sizeof(*sc));
}

static int init_rings(struct nw_periodicity *p, const struct nw_periodicity_cfg *cfg)
{
	size_t cap = cfg->capacity;

	memset(p, 0, sizeof(*p));
	if (!cfg_ok(cfg))
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

/* 1 - (1 - e^-z)^M without cancellation for small results, never NaN. */
static double fap_of(double z, double m)
{
	if (!(z > 0))
		return 1.0;
	return -expm1(m * log1p(-exp(-z)));
}

/* Normalised LS power at nf frequencies f_lo + j*df, for n points (t, y) with
 * y of zero mean and variance var. One pass per frequency: the four sums
 * sum(y cos), sum(y sin), sum(cos 2wt), sum(sin 2wt) give tau and both
 * denominators in closed form, so per frequency there is one sqrt and no
 * atan/sin/cos. cos/sin(w_j t_i) advance by rotation (Press et al., NR 13.8):
 * per point one sin/cos pair for the start and one for the step, then only
 * multiply-adds. Rotation error grows ~ j * 1e-16: negligible at j < 10^4. */
static void ls_power(double *w, size_t cap, size_t n, double f_lo, double df, size_t nf, double var,
		     double *power)
{
	double *t = w + W_T * cap, *y = w + W_Y * cap;
	double *c = w + W_C * cap, *s = w + W_S * cap;
	double *cd = w + W_CD * cap, *sd = w + W_SD * cap;
	const double two_pi = 2.0 * M_PI, dn = (double)n;

	for (size_t i = 0; i < n; i++) {
		sincos(two_pi * f_lo * t[i], &s[i], &c[i]);
		sincos(two_pi * df * t[i], &sd[i], &cd[i]);
	}
	for (size_t j = 0; j < nf; j++) {
		double yc = 0, ys = 0, c2 = 0, s2 = 0;

		for (size_t i = 0; i < n; i++) {
			double ci = c[i], si = s[i];

			yc += y[i] * ci;
			ys += y[i] * si;
			c2 += (ci - si) * (ci + si);
			s2 += ci * si;
			c[i] = ci * cd[i] - si * sd[i];
			s[i] = si * cd[i] + ci * sd[i];
		}
		s2 *= 2.0;
		/* tan(2 w tau) = s2 / c2. With D = |(c2, s2)|:
		 * sum cos^2(w(t - tau)) = (n + D)/2, sum sin^2 = (n - D)/2,
		 * and cos/sin(w tau) by the half-angle formulas. */
		double d = hypot(c2, s2), cc = 0.5 * (dn + d), ss = 0.5 * (dn - d);
		double ct = 1.0, st = 0.0, a, b, pw = 0;

		if (d > 0) {
			double c2t = c2 / d;

			ct = sqrt(0.5 * (1.0 + c2t));
			st = sqrt(fmax(0.0, 0.5 * (1.0 - c2t)));
			if (s2 < 0)
				st = -st;
		}
		a = ct * yc + st * ys; /* sum y cos(w(t - tau)) */
		b = ct * ys - st * yc; /* sum y sin(w(t - tau)) */
		/* A denominator ~0 means the points all sit at one phase: that
		 * frequency carries no information; leave its term out. */
		if (cc > 1e-9 * dn)
			pw += a * a / cc;
		if (ss > 1e-9 * dn)
			pw += b * b / ss;
		power[j] = pw / (2.0 * var);
	}
}

/* Highest bin within +-half bins of position x (in bins); its index or -1. */
static long local_max(const double *power, size_t nf, double x, long half)
{
	long lo = (long)floor(x) - half, hi = (long)ceil(x) + half, best = -1;

	if (lo < 0)
		lo = 0;
	if (hi > (long)nf - 1)
		hi = (long)nf - 1;
	for (long j = lo; j <= hi; j++)
		if (best < 0 || power[j] > power[best])
			best = j;
	return best;
}

/* Peak frequency refined by a parabola through the bin and its neighbours. */
static double refine(const double *power, size_t nf, long j, double f_lo, double df)
{
	double off = 0;

	if (j > 0 && (size_t)j + 1 < nf) {
		double l = power[j - 1], m = power[j], r = power[j + 1], den = l - 2 * m + r;

		if (den < 0)
			off = 0.5 * (l - r) / den;
		if (off > 0.5 || off < -0.5)
			off = 0;
	}
	return f_lo + ((double)j + off) * df;
}

/* Lomb-Scargle power at one frequency over the points with lo <= t < hi, with
 * that segment's own least-squares line removed and normalised by its own
 * residual variance: what is left of a step elsewhere after the whole's
 * detrend is a ramp here, and a ramp is no cycle. */
#define IN(i) (t[i] >= lo && t[i] < hi)
static double segment_power(const double *t, const double *y, size_t n, double lo, double hi,
			    double f, double var_all)
{
	double w = 2.0 * M_PI * f, tm = 0, ym = 0, stt = 0, sty = 0, slope = 0, var = 0;
	double s2 = 0, c2 = 0, tau, yc = 0, ys = 0, cc = 0, ss = 0, pw = 0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (IN(i)) {
			tm += t[i];
			ym += y[i];
			m++;
		}
	if (m < NW_PER_SEG_MIN_POINTS)
		return 0;
	tm /= (double)m;
	ym /= (double)m;
	for (size_t i = 0; i < n; i++)
		if (IN(i)) {
			stt += (t[i] - tm) * (t[i] - tm);
			sty += (t[i] - tm) * (y[i] - ym);
		}
	if (stt > 0)
		slope = sty / stt;
#define RESID(i) (y[i] - ym - slope * (t[i] - tm))
	for (size_t i = 0; i < n; i++)
		if (IN(i)) {
			var += RESID(i) * RESID(i);
			s2 += sin(2.0 * w * t[i]);
			c2 += cos(2.0 * w * t[i]);
		}
	var /= (double)(m - 1);
	/* A flat half (no hole at all) leaves only rounding residue. */
	if (!(var > 1e-12 * var_all))
		return 0;
	tau = atan2(s2, c2) / (2.0 * w);
	for (size_t i = 0; i < n; i++)
		if (IN(i)) {
			double c = cos(w * (t[i] - tau)), sn = sin(w * (t[i] - tau));

			yc += RESID(i) * c;
			ys += RESID(i) * sn;
			cc += c * c;
			ss += sn * sn;
		}
#undef RESID
#undef IN
	if (cc > 1e-9 * (double)m)
		pw += yc * yc / cc;
	if (ss > 1e-9 * (double)m)
		pw += ys * ys / ss;
	return pw / (2.0 * var);
}

static void eval_one(struct nw_periodicity *p, struct nw_periodicity_scratch *sc,
		     const struct nw_pring *r, bool detrend, struct nw_period_result *out)
{
	const size_t cap = sc->capacity;
	double *t, *y; /* slices of sc->w, taken once sc->w is known to exist */
	double *power = sc->power;
	double y_abs = 0; /* largest stored (relative, float) value */
	double t_new = -INFINITY, t_min = INFINITY, t_max = -INFINITY, tm = 0, ym = 0;
	double y0 = 0, var = 0, span, f_lo, f_hi, df, z, fap;
	bool constant = true;
	size_t n = 0, nf;
	long jp;

	memset(out, 0, sizeof(*out));
	out->fap = 1.0;
	if (!r->t || r->count == 0 || !sc->w || sc->capacity < p->cfg.capacity ||
	    sc->nfreq_cap < nfreq_cap_of(&p->cfg))
		return;
	t = sc->w + W_T * cap;
	y = sc->w + W_Y * cap;
	for (size_t i = 0; i < r->count; i++)
		t_new = fmax(t_new, r->t[i]);
	/* Only the horizon before the newest point: the delay ring holds the
	 * last `capacity` received samples, which span more than the horizon
	 * when samples are missing. */
	for (size_t i = 0; i < r->count; i++) {
		if (r->t[i] < t_new - p->horizon_s)
			continue;
		t[n] = r->t[i];
		y[n] = (double)r->y[i];
		y_abs = fmax(y_abs, fabs(y[n]));
		if (n == 0)
			y0 = y[0];
		else if (y[n] != y0)
			constant = false;
		t_min = fmin(t_min, t[n]);
		t_max = fmax(t_max, t[n]);
		n++;
	}
	out->n = n;
	span = t_max - t_min;
	if (n < p->cfg.min_points || constant || !(span > 0))
		return;
	/* Centre time (small phases, better-conditioned trend) and remove the mean. */
	for (size_t i = 0; i < n; i++) {
		t[i] -= t_min + 0.5 * span;
		tm += t[i];
		ym += y[i];
	}
	tm /= (double)n;
	ym /= (double)n;
	double stt = 0, sty = 0, slope = 0, scale = ym * ym;

	for (size_t i = 0; i < n; i++) {
		stt += (t[i] - tm) * (t[i] - tm);
		sty += (t[i] - tm) * (y[i] - ym);
		scale += (y[i] - ym) * (y[i] - ym) / (double)n;
	}
	if (detrend && stt > 0)
		slope = sty / stt;
	for (size_t i = 0; i < n; i++) {
		y[i] -= ym + slope * (t[i] - tm);
		var += y[i] * y[i];
	}
	var /= (double)(n - 1);
	/* Rounding residue of a constant or exactly linear series is not a
	 * signal, nor is the float storage's quantisation of a ramp (a
	 * sawtooth of ~2^-24 of the stored values: periodic, but not there). */
	if (!(var > 1e-20 * scale) || !isfinite(var) ||
	    !(sqrt(var) > 16.0 * y_abs * (double)FLT_EPSILON))
		return;

	/* At least four cycles inside the data (two in each half, see the halves
	 * check below: one cycle per half is a step down and a step up, not a
	 * repetition), up to f_max. */
	f_lo = 4.0 / span;
	f_hi = p->cfg.f_max_hz;
	if (!(f_hi > f_lo))
		return;
	df = 1.0 / ((double)p->cfg.ofac * span);
	nf = (size_t)floor((f_hi - f_lo) / df) + 1;
	if (nf > nfreq_cap_of(&p->cfg)) { /* only if t runs faster than rate_hz says */
		nf = nfreq_cap_of(&p->cfg);
		df = (f_hi - f_lo) / (double)(nf - 1);
	}
	if (nf < 2)
		return;
	ls_power(sc->w, cap, n, f_lo, df, nf, var, power);
	out->nfreq = nf;

	jp = 0;
	for (size_t j = 1; j < nf; j++)
		if (power[j] > power[jp])
			jp = (long)j;
	z = power[jp];
	/* M = frequencies tested: the grid is oversampled ofac times, so this
	 * overestimates the independent frequencies and the FAP (conservative). */
	fap = fap_of(z, (double)nf);
	out->power = z;
	out->fap = fap;
	if (!(fap < p->cfg.fap_max))
		return;

	/* A short pulse train (0.5 s outage every 5 s) has harmonics almost as
	 * strong as its fundamental, and noise decides which wins. Report the
	 * fundamental: the lowest subharmonic f/k that is itself significant and
	 * at least half as strong as the peak. */
	double f_peak = refine(power, nf, jp, f_lo, df);
	long jbest = jp;

	for (int k = NW_PER_MAX_SUB; k >= 2; k--) {
		double fk = f_peak / k, x = (fk - f_lo) / df;
		long jk;

		if (x < -0.5)
			continue;
		jk = local_max(power, nf, x, (long)p->cfg.ofac / 2 + 1);
		if (jk < 0 || jk == jp)
			continue;
		if (power[jk] >= 0.5 * z && fap_of(power[jk], (double)nf) < p->cfg.fap_max) {
			jbest = jk;
			break;
		}
	}
	if (jbest != jp) {
		f_peak = refine(power, nf, jbest, f_lo, df);
		out->power = power[jbest];
		out->fap = fap_of(out->power, (double)nf);
	}
	if (!(f_peak > 0) || !isfinite(f_peak))
		return;
	/* A fundamental longer than a quarter of the data is outside the grid,
	 * and the strongest peak inside may be its harmonic (a 5 s outage seen
	 * over the first 15 s reads as 2.5 s). If a subharmonic below the grid is
	 * as strong, the period cannot be told yet: report nothing until the
	 * data holds four of its cycles. */
	for (int k = 2; k <= NW_PER_MAX_SUB; k++) {
		double fk = f_peak / k;

		if (fk >= f_lo)
			continue;
		if (segment_power(t, y, n, -INFINITY, INFINITY, fk, var) >= 0.5 * out->power) {
			out->one_sided = true;
			return;
		}
	}
	/* Periodic means it repeats: a step, a ramp that bends or one burst puts
	 * its weight on the lowest frequencies of the whole horizon too (a 200 ms
	 * delay step read as a 12 s period in the evaluation), but not on that
	 * frequency in a quarter of the horizon that does not hold it. */
	double need = fmax(NW_PER_SEG_MIN_POWER, out->power / (2.0 * NW_PER_SEGMENTS));

	for (int q = 0; q < NW_PER_SEGMENTS; q++) {
		double lo = -0.5 * span + span * q / NW_PER_SEGMENTS;
		double hi = q + 1 == NW_PER_SEGMENTS ? INFINITY : lo + span / NW_PER_SEGMENTS;

		if (segment_power(t, y, n, lo, hi, f_peak, var) < need) {
			out->one_sided = true;
			return;
		}
	}
	out->found = true;
	out->period_s = 1.0 / f_peak;
}

void nw_periodicity_eval_with(struct nw_periodicity *p, struct nw_periodicity_scratch *sc,
			      struct nw_period_result *delay, struct nw_period_result *hole)
{
	if (delay)
		eval_one(p, sc, &p->delay, p->cfg.detrend_delay, delay);
	if (hole)
		eval_one(p, sc, &p->hole, false, hole);
}

void nw_periodicity_eval(struct nw_periodicity *p, struct nw_period_result *delay,
			 struct nw_period_result *hole)
{
	nw_periodicity_eval_with(p, &p->own, delay, hole);
}
