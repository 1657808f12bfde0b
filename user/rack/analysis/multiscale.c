// SPDX-License-Identifier: MIT
/* Short-scale tone fit and the class state machine. See multiscale.h. */
#include "multiscale.h"

#include <math.h>

#include "health.h"

/* Sums of a least-squares fit of a*sin + b*cos over a run of slots. */
struct fit_sums {
	double ss, cc, sc; /* Gram matrix of the basis */
	double xs, xc;     /* projections of the data */
	double xx;         /* total power */
};

static double fit_error(const struct fit_sums *f)
{
	double det = f->ss * f->cc - f->sc * f->sc, fitted, e;

	if (!(f->xx > 0))
		return 1.0; /* nothing in the window: all error, as the long window */
	if (!(det > 0))
		return 1.0; /* a basis that cannot be fitted (tone at 0 or Nyquist) */
	/* fitted power = [xs xc] G^-1 [xs xc]^T */
	fitted = (f->cc * f->xs * f->xs - 2.0 * f->sc * f->xs * f->xc + f->ss * f->xc * f->xc) /
		 det;
	e = 1.0 - fitted / f->xx;
	return e < 0 ? 0 : e > 1 ? 1 : e; /* rounding at exactly 0 or 1 */
}

/* Accumulates slots [from, to) of x; the basis phase runs from slot 0, which
 * does not matter: the fit is free in phase. The basis is advanced by a
 * rotation (no libm call per slot); over 64 slots its rounding is ~1e-15. */
static void accumulate(struct fit_sums *f, const double *x, uint32_t from, uint32_t to, double *s,
		       double *c, double sw, double cw)
{
	for (uint32_t i = from; i < to; i++) {
		double si = *s, ci = *c, xi = x[i];

		f->ss += si * si;
		f->cc += ci * ci;
		f->sc += si * ci;
		f->xs += xi * si;
		f->xc += xi * ci;
		f->xx += xi * xi;
		*s = si * cw + ci * sw;
		*c = ci * cw - si * sw;
	}
}

double nw_tone_fit_error(const double *x, uint32_t n, double rate_hz, double tone_hz)
{
	double w = 2.0 * M_PI * tone_hz / rate_hz, s = 0.0, c = 1.0;
	struct fit_sums f = { 0 };

	accumulate(&f, x, 0, n, &s, &c, sin(w), cos(w));
	return fit_error(&f);
}

void nw_ms_reset(struct nw_ms_state *m)
{
	*m = (struct nw_ms_state){ .short_lvl = NW_HEALTH_HEALTHY,
				   .long_lvl = NW_HEALTH_HEALTHY,
				   .long_missing = NAN,
				   .cls = NW_HEALTH_WARMING };
}

void nw_ms_back(struct nw_ms_state *m, uint64_t now_ns, uint64_t long_span_ns)
{
	uint64_t returns = m->returns;
	/* The class measured before the silence (ticks stop while a server is
	 * down). A fault it showed is still the last measurement: under heavy
	 * loss the server falls silent for 0.5 s every few seconds, and
	 * warming after each of those would hide a critical server behind
	 * down / warming / warning. It is held until the scales judge again:
	 * a clean quick window still returns at once. */
	enum nw_health held = m->cls == NW_HEALTH_WARNING || m->cls == NW_HEALTH_CRITICAL
				      ? m->cls
				      : NW_HEALTH_HEALTHY;

	nw_ms_reset(m);
	m->short_lvl = held;
	m->returns = returns;
	m->fresh_from_ns = now_ns;
	m->long_aside_until_ns = now_ns + long_span_ns;
}

static enum nw_health worst(enum nw_health a, enum nw_health b)
{
	/* HEALTHY < WARNING < CRITICAL in health_state.h */
	return a > b ? a : b;
}

static enum nw_health update_cls(struct nw_ms_state *m, uint64_t now_ns)
{
	enum nw_health l = now_ns < m->long_aside_until_ns ? NW_HEALTH_HEALTHY : m->long_lvl;

	if (m->ready)
		m->cls = worst(m->short_lvl, l);
	else /* warming, unless a fault measured before an outage is held */
		m->cls = m->short_lvl == NW_HEALTH_HEALTHY ? NW_HEALTH_WARMING : m->short_lvl;
	return m->cls;
}

/* Whether the short scale may let its warning go (its error below the
 * leave mark): when its own window misses no more than NW_MS_LEAVE_HOLES
 * samples (the fault is over, even where late samples keep the quick
 * window from being clean: a loaded sender), or else when the long window,
 * where it counts (not set aside), misses fewer than NW_MS_LEAVE_MISSING
 * and no relapse after a return (strict_return) waits for a return. */
static bool may_leave(const struct nw_ms_state *m, const struct nw_ms_tick_in *in, uint64_t now_ns)
{
	if (in->short_holes <= NW_MS_LEAVE_HOLES)
		return true;
	return !m->strict_return &&
	       !(now_ns >= m->long_aside_until_ns && m->long_missing >= NW_MS_LEAVE_MISSING);
}

/* Samples displaced, arrivals not spread: a few late among on-time ones
 * (multiscale.h). NaN (too few samples) is not late-only. */
static bool late_only(uint32_t displaced, double spread)
{
	return displaced > 0 && spread < NW_MS_QUICK_DISPLACED_SPREAD;
}

/* Enough to enter warning (multiscale.h, the thresholds). NaN compares
 * false everywhere: the critical rule catches it. */
static bool warn_evidence(const struct nw_ms_tick_in *in)
{
	if (in->short_ok &&
	    ((in->short_err >= NW_MS_SHORT_WARN_ENTER &&
	      !late_only(in->short_displaced, in->short_spread)) ||
	     (in->short_err >= NW_HEALTH_WARN_AT && in->short_holes >= NW_MS_SHORT_HOLES_ENTER)))
		return true;
	return (in->quick_err >= NW_MS_QUICK_WARN_ENTER &&
		!late_only(in->quick_displaced, in->quick_spread)) ||
	       (in->quick_err >= NW_MS_QUICK_HOLES_ERR &&
		in->quick_holes >= NW_MS_QUICK_HOLES_ENTER) ||
	       (in->quick_err >= NW_MS_QUICK_DISPLACED_ERR &&
		in->quick_displaced >= NW_MS_QUICK_DISPLACED_ENTER &&
		in->quick_spread >= NW_MS_QUICK_DISPLACED_SPREAD);
}

enum nw_health nw_ms_tick(struct nw_ms_state *m, const struct nw_ms_tick_in *in, uint64_t now_ns,
			  uint64_t long_span_ns)
{
	double short_err = in->short_err, quick_err = in->quick_err;

	m->ready = in->quick_ok;
	if (!m->ready)
		return update_cls(m, now_ns); /* warming: no verdict yet */
	if ((in->short_ok && late_only(in->short_displaced, in->short_spread)) ||
	    late_only(in->quick_displaced, in->quick_spread))
		m->late_until_ns = now_ns + long_span_ns;
	/* NaN never reads as clean, and escalates (critical). */
	if (in->quick_full && quick_err < NW_MS_QUICK_CLEAN &&
	    (!m->strict_return ||
	     (in->short_ok && in->short_full && short_err < NW_MS_QUICK_CLEAN))) {
		/* Clean for the quick window's whole length: whatever the older
		 * slots of the short and long windows hold is over, and the short
		 * scale counts from this window's start on. */
		if (m->cls != NW_HEALTH_HEALTHY) {
			if (m->cls != NW_HEALTH_WARMING) {
				m->returns++;
				m->returned_until_ns = now_ns + NW_MS_RELAPSE_SPANS * long_span_ns;
			}
			m->strict_return = false;
			m->long_aside_until_ns = now_ns + long_span_ns;
			if (now_ns > in->quick_span_ns &&
			    now_ns - in->quick_span_ns > m->fresh_from_ns)
				m->fresh_from_ns = now_ns - in->quick_span_ns;
		}
		m->short_lvl = NW_HEALTH_HEALTHY;
		m->long_lvl = NW_HEALTH_HEALTHY;
		return update_cls(m, now_ns);
	}
	if ((in->short_ok && !(short_err <= NW_MS_SHORT_CRIT_ENTER)) || isnan(quick_err)) {
		if (m->short_lvl < NW_HEALTH_WARNING)
			m->strict_return = now_ns < m->returned_until_ns;
		m->short_lvl = NW_HEALTH_CRITICAL;
	} else if (m->short_lvl < NW_HEALTH_WARNING && warn_evidence(in)) {
		/* Back in a fault soon after a quick return: that window was a
		 * lucky run of a steady loss, not the fault's end. */
		m->strict_return = now_ns < m->returned_until_ns;
		m->short_lvl = NW_HEALTH_WARNING;
		return update_cls(m, now_ns); /* entered on the quick scale's word: stays a tick */
	}
	if (!in->short_ok)
		return update_cls(m, now_ns); /* leaving waits for the short scale */
	if (m->short_lvl == NW_HEALTH_CRITICAL && short_err < NW_MS_SHORT_CRIT_LEAVE)
		m->short_lvl = NW_HEALTH_WARNING;
	if (m->short_lvl == NW_HEALTH_WARNING && short_err < NW_MS_SHORT_WARN_LEAVE &&
	    may_leave(m, in, now_ns))
		m->short_lvl = NW_HEALTH_HEALTHY;
	return update_cls(m, now_ns);
}

enum nw_health nw_ms_long(struct nw_ms_state *m, double long_err, uint64_t now_ns)
{
	return nw_ms_long_counts(m, long_err, NAN, now_ns);
}

enum nw_health nw_ms_long_counts(struct nw_ms_state *m, double long_err, double long_missing,
				 uint64_t now_ns)
{
	enum nw_health l;

	m->long_missing = long_missing;

	if (!(long_err <= NW_HEALTH_CRIT_ABOVE)) /* NaN: critical, as nw_health_class_of */
		l = NW_HEALTH_CRITICAL;
	else if (m->long_lvl == NW_HEALTH_CRITICAL && long_err >= NW_MS_LONG_CRIT_LEAVE)
		l = NW_HEALTH_CRITICAL;
	else if (long_err >= NW_HEALTH_WARN_AT &&
		 !(m->long_lvl == NW_HEALTH_HEALTHY && now_ns < m->late_until_ns))
		l = NW_HEALTH_WARNING;
	else if (m->long_lvl >= NW_HEALTH_WARNING &&
		 (long_err >= NW_MS_LONG_WARN_LEAVE || long_missing >= NW_MS_LEAVE_MISSING))
		l = NW_HEALTH_WARNING;
	else
		l = NW_HEALTH_HEALTHY;
	/* While set aside, the long window's verdict is about the fault a quick
	 * return already closed; it counts again once the window turned over. */
	m->long_lvl = now_ns < m->long_aside_until_ns ? NW_HEALTH_HEALTHY : l;
	return update_cls(m, now_ns);
}
