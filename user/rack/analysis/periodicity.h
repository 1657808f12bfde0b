/* SPDX-License-Identifier: MIT */
/* Periodic faults (cron bursts, timer stalls, flapping links) in one server's
 * one-way-delay series and hole series, over a horizon of tens of seconds,
 * with a Lomb-Scargle periodogram (Lomb 1976, Scargle 1982, normalised as
 * Horne & Baliunas 1986) and a false-alarm probability for the highest peak.
 * Method, parameters and measured costs: docs/periodicity.md.
 *
 * Two series per server:
 *   delay: one point per RECEIVED sample (t = tx or slot time, y = rx - tx),
 *          uneven where samples are missing, which Lomb-Scargle tolerates;
 *   hole:  one point per EXPECTED slot, y = 1 if the sequence never arrived
 *          or arrived more than T/2 off its slot, else 0 (the caller decides).
 *
 * Memory: two rings of `capacity` points (12 B each, see nw_pring) and the
 * evaluation scratch (~52 B a point), all allocated by init; with
 * nw_periodicity_init_shared the scratch is the caller's, shared between
 * states. The add functions never allocate. No global state. */
#ifndef NW_PERIODICITY_H
#define NW_PERIODICITY_H

#include <stdbool.h>
#include <stddef.h>

struct nw_periodicity_cfg {
	size_t capacity;    /* points per ring; horizon = capacity / rate_hz */
	double rate_hz;     /* sample rate fs (20 Hz) */
	double f_max_hz;    /* highest frequency searched (<= rate_hz / 2) */
	unsigned ofac;      /* frequency-grid oversampling over 1/span */
	double fap_max;     /* report only when the false-alarm probability is below */
	size_t min_points;  /* fewer points in the horizon: report nothing */
	bool detrend_delay; /* remove a least-squares line from the delay series,
			     * so a clock skew is not reported as a long period */
};

/* Defaults: f_max 2 Hz (periods >= 0.5 s), ofac 4, fap_max 1e-3,
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
	size_t head, count;
};

/* Evaluation scratch, used only inside one nw_periodicity_eval: many states
 * (one per server) evaluated one at a time may share one. */
struct nw_periodicity_scratch {
	double *w;     /* 6 arrays of `capacity` */
	double *power; /* nfreq_cap */
	size_t capacity, nfreq_cap;
};

/* Grows sc (never shrinks) so it serves p. 0, or -1 out of memory (sc kept). */
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
	double power;    /* normalised LS power z at it (~Exp(1) under white noise) */
	double fap;      /* 1 - (1 - e^-z)^M; M = frequencies tested */
	size_t n;        /* points used */
	size_t nfreq;    /* frequencies tested (M) */
	bool one_sided;  /* a significant peak that does not show in each half
			  * of the horizon (a step, one burst): not reported */
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

/* Either result pointer may be NULL. Uses the points within the horizon
 * before the newest one. O(N * nfreq) multiply-adds per series. */
void nw_periodicity_eval(struct nw_periodicity *p, struct nw_period_result *delay,
			 struct nw_period_result *hole);
/* The same with a shared scratch (too small for p: no result, as for too
 * few points). */
void nw_periodicity_eval_with(struct nw_periodicity *p, struct nw_periodicity_scratch *sc,
			      struct nw_period_result *delay, struct nw_period_result *hole);

#endif
