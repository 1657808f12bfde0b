/* SPDX-License-Identifier: MIT */
/* Sender clock skew from the rx - tx series, fitted to its lower envelope
 * (Moon, Skelly, Towsley, "Estimation and removal of clock skew from network
 * delay measurements", INFOCOM 1999).
 *
 * d = rx - tx = (receiver clock - sender clock) + one-way delay. Queueing only
 * ever adds delay, so the points nearest the floor carry the clock drift and
 * the line under all points is the estimate. Sign convention: skew_ppm > 0
 * means rx - tx grows with time, i.e. the SENDER's clock runs SLOW relative
 * to the receiver's (or the receiver's runs fast) by that many parts per
 * million; < 0 means the sender's clock runs fast.
 *
 * Memory: one ring of `capacity` points (12 B each) plus scratch for an
 * evaluation (32 B a point), all allocated by nw_skew_init; with
 * nw_skew_init_shared the scratch is the caller's, shared between
 * estimators. nw_skew_add never allocates. */
#ifndef NW_SKEW_H
#define NW_SKEW_H

#include <stdbool.h>
#include <stddef.h>

struct nw_skew_pt {
	double t; /* seconds since t0 (the first point ever added) */
	double d; /* rx - tx, seconds */
};

/* Evaluation scratch (a sorted copy and the hull), used only inside one
 * nw_skew_eval: many estimators evaluated one at a time may share one. */
struct nw_skew_scratch {
	struct nw_skew_pt *pts, *hull;
	size_t capacity;
};

/* Grows sc (never shrinks) to `capacity` points. 0, or -1 (sc kept). */
int nw_skew_scratch_fit(struct nw_skew_scratch *sc, size_t capacity);
void nw_skew_scratch_free(struct nw_skew_scratch *sc);

#define NW_SKEW_DEFAULT_MIN_POINTS 32
#define NW_SKEW_DEFAULT_MIN_SPAN_S 10.0
/* Each half of the span must fit the whole's slope within this (or a quarter
 * of the slope, whichever is larger), else the drift is not a line. */
#define NW_SKEW_LINEAR_PPM 25.0

struct nw_skew {
	/* Last `capacity` points, insertion order: t as a double (seconds
	 * since t0), d as a float relative to d_ref (the first d): what is left
	 * of rx - tx after its constant offset is drift and queueing, kept to
	 * ~6e-8 of its size (< 1 us until the clocks drift ~15 s apart). */
	double *t;
	float *d;
	double d_ref;
	struct nw_skew_scratch own; /* empty with nw_skew_init_shared */
	size_t capacity, head, count;
	double t0; /* reference time, so doubles keep sub-us resolution */
	bool have_t0;
	/* Tunables, set to defaults by nw_skew_init; may be changed after it. */
	size_t min_points;      /* fewer points: result invalid (default 32) */
	double min_span_s;      /* shorter time span: result invalid (default 10 s) */
	unsigned long rejected; /* non-finite inputs ignored */
};

struct nw_skew_result {
	bool valid;      /* false: "unknown" (too few points, too short a span, or
			   * nonlinear) */
	bool nonlinear;  /* the halves' envelopes disagree: a step or a bend in
			   * the delay (route change, queue), not a clock skew */
	double ppm;      /* slope of the envelope * 1e6; sign as above */
	double delay_s;  /* envelope at t_now: the minimum rx - tx with skew removed
			   * (base one-way delay + constant clock offset) */
	double excess_s; /* mean height of the points above the envelope (queueing) */
	size_t n;        /* points used */
	double span_s;   /* time covered by them */
};

/* 0, or -1 on capacity < 2 or out of memory (then nothing to free). */
int nw_skew_init(struct nw_skew *s, size_t capacity);
/* The ring only: evaluate with nw_skew_eval_with and a scratch fitted to
 * `capacity`. Same return values. */
int nw_skew_init_shared(struct nw_skew *s, size_t capacity);
void nw_skew_free(struct nw_skew *s);
/* t_s: the sample's time in seconds (tx or slot time; any epoch, the first
 * point becomes the reference); d_s = rx - tx in seconds. Non-finite input is
 * counted in `rejected` and dropped. Overwrites the oldest point when full. */
void nw_skew_add(struct nw_skew *s, double t_s, double d_s);
/* Fit over the points held now; t_now_s on the same clock as t_s. */
void nw_skew_eval(struct nw_skew *s, double t_now_s, struct nw_skew_result *out);
/* The same with a shared scratch (smaller than the ring: result invalid). */
void nw_skew_eval_with(struct nw_skew *s, struct nw_skew_scratch *sc, double t_now_s,
		       struct nw_skew_result *out);

/* The fit over points held elsewhere (any order): the rack controller fits
 * the periodicity finder's delay ring, which holds the same points, instead
 * of keeping a second copy. t[i] in seconds since t0 (on t_now_s's clock),
 * d[i] = rx - tx - d_ref. Result invalid below min_points / min_span_s. */
struct nw_skew_series {
	const double *t;
	const float *d;
	size_t n;
	double t0, d_ref;
	size_t min_points;
	double min_span_s;
};
void nw_skew_eval_series(const struct nw_skew_series *ser, struct nw_skew_scratch *sc,
			 double t_now_s, struct nw_skew_result *out);

#endif
