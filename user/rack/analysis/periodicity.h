/* SPDX-License-Identifier: MIT */
/* Periodic faults (cron bursts, timer stalls, flapping links) in one server's
 * one-way-delay series and loss series, over a horizon of tens of seconds:
 * both series are put on the sender's slot grid, Hann-tapered and
 * transformed with FFTW (plans made once per size, in the scratch), and the
 * highest peak is tested against a red-noise background (AR(1) plus white
 * noise, fitted to the periodogram by Whittle's likelihood: the REDFIT idea,
 * Schulz & Mudelsee 2002), with the false-alarm probability corrected for the
 * number of independent frequencies searched (Sidak). Three windows (the
 * horizon, its last half and its last quarter) so a fault is reported once
 * four of its periods (at least a quarter of the horizon) are in the data.
 * A peak that fails against that background is tried again against the
 * background of the series folded at it (its own lines removed), alone and
 * with its harmonics summed, so a new pulse train's harmonics do not hide
 * it.
 * Method, parameters and measured costs: docs/periodicity.md.
 *
 * Two series per server:
 *   delay: one point per RECEIVED sample (t = tx or slot time, y = rx - tx);
 *          a displaced (late) sample is a point with a large delay here;
 *   loss:  one point per EXPECTED slot, y = 1 if the sequence never arrived,
 *          else 0 (the caller decides; a late sample is not a loss).
 * On the grid, slots without a point (lost samples in the delay series, a
 * restart's silence in both) are filled by linear interpolation of the
 * detrended neighbours.
 *
 * Memory: two rings of `capacity` points (12 B each, see nw_pring) and the
 * evaluation scratch (~72 B a point plus FFTW plans), all allocated by init;
 * with nw_periodicity_init_shared the scratch is the caller's, shared between
 * states. The add functions and the evaluation never allocate. No global
 * state of our own; FFTW's planner (scratch_fit, init, free) is not
 * thread-safe: call those from one thread. */
#ifndef NW_PERIODICITY_H
#define NW_PERIODICITY_H

#include <stdbool.h>
#include <stddef.h>

#include <fftw3.h>

struct nw_periodicity_cfg {
	size_t capacity;    /* points per ring; horizon = capacity / rate_hz */
	double rate_hz;     /* sample rate fs (20 Hz) */
	double f_max_hz;    /* highest frequency searched (<= rate_hz / 2) */
	double fap_max;     /* report only when the false-alarm probability is below */
	size_t min_points;  /* fewer points in the horizon: report nothing */
	bool detrend_delay; /* remove a least-squares line from the delay series,
			     * so a clock skew is not reported as a long period */
};

/* Defaults: f_max 2 Hz (periods >= 0.5 s), fap_max 1e-3,
 * min_points = 10 s of samples (at least 32), detrend_delay on. */
void nw_periodicity_default_cfg(struct nw_periodicity_cfg *cfg, size_t capacity, double rate_hz);

/* Memory per ring point: t as a double (seconds since the caller's epoch:
 * float would lose milliseconds after a few hours); y as a float RELATIVE
 * to the ring's first value `y_ref` for the delay series (the raw rx - tx
 * carries an arbitrary clock offset; what is left is queueing and drift, so
 * float keeps ~1e-7 of it: < 1 us until the drift reaches ~10 s), and the
 * hole series' 0/1 in the same float. 12 bytes a point instead of 16. */
struct nw_pring {
	double *t;
	float *y;
	double y_ref;
	bool have_ref;
	double u_hint; /* the last background fit's AR(1) as u = -log2(1 - rho), or < 0 */
	size_t head, count;
};

/* FFT sizes one scratch can serve: three windows per distinct capacity. */
#define NW_PER_MAX_PLANS 12

/* Evaluation scratch, used only inside one nw_periodicity_eval: many states
 * (one per server) evaluated one at a time may share one. Arrays from
 * fftw_malloc; one r2c plan per window size of every capacity fitted. */
struct nw_periodicity_scratch {
	double *g;          /* the series on the slot grid, NaN where no point */
	double *x;          /* FFT input: residual, gaps filled, tapered */
	double *power;      /* periodogram, capacity / 2 + 1 */
	double *bg;         /* fitted background at each searched bin */
	fftw_complex *spec; /* capacity / 2 + 1 */
	double *gf, *xf;    /* a folded residual on the grid, and its FFT input */
	double *pf, *bgf;   /* its periodogram and fitted background */
	size_t capacity;
	size_t nplans;
	size_t plan_n[NW_PER_MAX_PLANS];
	fftw_plan plan[NW_PER_MAX_PLANS];
	double *hann[NW_PER_MAX_PLANS]; /* the taper for each plan's size */
};

/* Grows sc (never shrinks) so it serves p: arrays and the plans for p's
 * window sizes. 0, or -1 out of memory / too many sizes (sc kept usable
 * for what it served before). */
int nw_periodicity_scratch_fit(struct nw_periodicity_scratch *sc,
			       const struct nw_periodicity_cfg *cfg);
void nw_periodicity_scratch_free(struct nw_periodicity_scratch *sc);

struct nw_periodicity {
	struct nw_periodicity_cfg cfg;
	double horizon_s;
	struct nw_pring delay, hole;
	struct nw_periodicity_scratch own; /* empty with nw_periodicity_init_shared */
	unsigned long rejected;            /* non-finite inputs ignored */
};

struct nw_period_result {
	bool found;      /* a period passed the false-alarm threshold */
	double period_s; /* dominant (fundamental) period, seconds */
	double power;    /* z: periodogram over the fitted red-noise background at
			  * the highest peak (~Exp(1) under that background) */
	double fap;      /* 1 - (1 - q)^M; M = independent frequencies tested, q
			  * the tail at z against a fitted background, (1 + z /
			  * nu)^-nu with nu its fit's degrees of freedom (or the
			  * folded tests' tail, docs/periodicity.md) */
	size_t n;        /* points in the horizon */
	size_t nfreq;    /* independent frequencies tested over all windows (M) */
	double rho;      /* the background's AR(1) coefficient per slot (0: white) */
	double window_s; /* the window the period was found in (or the peak's) */
	bool one_sided;  /* a significant peak whose fundamental is longer than a
			  * quarter of the data: not reported until it fits */
};

/* nw_periodicity_init: defaults for capacity and rate (capacity >= 1200 is
 * >= 60 s at 20 Hz). 0, or -1 on bad parameters / out of memory. */
int nw_periodicity_init(struct nw_periodicity *p, size_t capacity, double rate_hz);
int nw_periodicity_init_cfg(struct nw_periodicity *p, const struct nw_periodicity_cfg *cfg);
/* The rings only: evaluate with nw_periodicity_eval_with and a scratch
 * fitted (nw_periodicity_scratch_fit) to this state's cfg. */
int nw_periodicity_init_shared(struct nw_periodicity *p, size_t capacity, double rate_hz);
void nw_periodicity_free(struct nw_periodicity *p);

/* Times in seconds on one clock; pass them relative to a recent epoch (e.g.
 * stream start) rather than absolute TAI, for sub-microsecond resolution. */
void nw_periodicity_add_delay(struct nw_periodicity *p, double t_s, double delay_s);
void nw_periodicity_add_slot(struct nw_periodicity *p, double t_s, int hole);
/* A sample whose slot at t_s was added as lost arrived late after all
 * (reordered): that slot is not a loss. Looks among the newest points only
 * (NW_PER_LATE_SEARCH in periodicity.c); an older one stays lost. */
void nw_periodicity_slot_arrived(struct nw_periodicity *p, double t_s);

/* Either result pointer may be NULL. Uses the points within the horizon
 * before the newest one. Per series three real FFTs (N, N/2, N/4) and
 * O(N) work; no allocation. */
void nw_periodicity_eval(struct nw_periodicity *p, struct nw_period_result *delay,
			 struct nw_period_result *hole);
/* The same with a shared scratch (too small for p: no result, as for too
 * few points). */
void nw_periodicity_eval_with(struct nw_periodicity *p, struct nw_periodicity_scratch *sc,
			      struct nw_period_result *delay, struct nw_period_result *hole);

#endif
