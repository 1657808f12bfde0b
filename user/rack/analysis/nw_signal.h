/* SPDX-License-Identifier: MIT */
/*
 * Per-server tone reconstruction on the receiver's time grid (docs/design.md,
 * "The idea, made precise"). No I/O, no allocation after nw_signal_init.
 *
 *   slot of sample k = round((r_k - base) / T),  T = 1/rate
 *   base = min over the window of (r_j - j*T)   (a constant delay moves nothing)
 *
 * The window is the newest N slots ending at the slot that holds `now`, so a
 * silent server's window fills with empty (zero) slots. A slot hit twice keeps
 * the earliest arrival and counts a collision. Each stream (NW_REC_STREAM_START
 * opens one) has its own baseline; older streams still in the window are
 * placed on the newest stream's grid (their baseline offset rounded to whole
 * slots). Semantics and numbers: docs/analysis.md.
 */
#ifndef NW_SIGNAL_H
#define NW_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "collector.h"

#define NW_SIGNAL_DEFAULT_N 256U /* 12.8 s at 20 Hz: docs/analysis.md */
#define NW_SIGNAL_MAX_N 65536U
#define NW_SIGNAL_EPOCHS 4U /* streams kept apart within one window */

/* One stored sample, 16 bytes; times in slots (units of T) relative to
 * nw_signal.ref_ns so the hot loops need no division and no 64-bit ns
 * arithmetic. Its stream follows from its position: the ring is in feed order
 * and each stream's records are contiguous (nw_signal.epoch_first). */
struct nw_sig_rec {
	double u;       /* (rx - ref_ns) / T */
	int32_t seqoff; /* seq - first seq of its stream (negative if reordered) */
	float value;
};

struct nw_signal {
	/* configuration, fixed at init */
	uint32_t n;   /* window, slots (power of two) */
	uint32_t cap; /* stored records: 2n, room for colliding arrivals */
	double rate_hz;
	double tone_hz;     /* the tone this server is expected to send */
	double slot_ns;     /* T */
	double inv_slot_ns; /* 1/T */

	/* newest `count` records, oldest at (head - count) mod cap */
	struct nw_sig_rec *ring;
	uint32_t head;
	uint32_t count;

	uint64_t ref_ns;     /* rx of the first record ever: origin of u */
	uint64_t anchor_seq; /* first seq of the current stream */
	uint32_t epoch;      /* current stream number */
	bool in_stream;      /* a stream is open (anchor valid) */
	/* sample index (nw_signal.samples) where each of the newest streams began */
	uint64_t epoch_first[NW_SIGNAL_EPOCHS];
	/* Newest sample index whose rx was below an earlier one's (+1; 0: none).
	 * Newer than that, the ring is sorted by rx and a scan may stop early. */
	uint64_t unsorted_mark;
	double max_u;

	/* liveness inputs for health.c */
	bool seen;           /* any sample or goodbye ever */
	bool left;           /* the last record was a goodbye */
	uint64_t last_rx_ns; /* rx of the newest record (sample or goodbye) */
	uint64_t samples;    /* samples stored, ever */
	uint64_t streams;    /* streams opened, ever */
};

/* Allocates the record ring (the only allocation). n: power of two in
 * [8, NW_SIGNAL_MAX_N]; 0 < tone_hz < rate_hz/2. Returns 0, -EINVAL, -ENOMEM. */
int nw_signal_init(struct nw_signal *sig, uint32_t n, double rate_hz, double tone_hz);
void nw_signal_free(struct nw_signal *sig);

/* One record from the server's ring, in arrival order (any order works: the
 * slot depends only on rx, and a collision keeps the smallest rx). */
void nw_signal_add(struct nw_signal *sig, const struct nw_record *rec);

struct nw_window_stats {
	uint32_t filled;     /* slots holding a sample */
	uint32_t collisions; /* extra samples that hit an occupied slot */
	/* Slots hit more than once: where samples were displaced. Many
	 * displaced samples in one slot are one event (a sender or path that
	 * stalled and then sent a burst); jitter spreads them over many slots.
	 * Exact for windows up to NW_SIGNAL_DEFAULT_N slots, else an upper
	 * bound (the collisions). */
	uint32_t collided_slots;
	int64_t newest_slot; /* slot index of `now` on the newest stream's grid */
};

/* Rebuilds the window ending at now_ns into out[0..n-1] (out[n-1] is the
 * newest slot), multiplying slot i by weight[i] when weight is not NULL.
 * keep[0..n-1] is caller scratch (the arrival time of each slot's sample).
 * Returns the number of filled slots. */
uint32_t nw_signal_window(const struct nw_signal *sig, uint64_t now_ns, const double *weight,
			  double *out, double *keep, struct nw_window_stats *st);

/* The same for the newest n <= sig->n slots only (a larger n is taken as
 * sig->n): the short window of the multi-scale classes (docs/analysis.md).
 * Its own baseline is the minimum over those n slots, as design.md defines
 * it for any window; out and keep need n entries. */
uint32_t nw_signal_window_n(const struct nw_signal *sig, uint32_t n, uint64_t now_ns,
			    const double *weight, double *out, double *keep,
			    struct nw_window_stats *st);

/* The same window (ending at the slot that holds now_ns) built from the
 * records that arrived up to data_ns >= now_ns: a slot is observed whole
 * only once its time has passed, and a record that arrived after now_ns
 * may still belong to the slot holding now_ns (it rounds into it). */
uint32_t nw_signal_window_at(const struct nw_signal *sig, uint32_t n, uint64_t now_ns,
			     uint64_t data_ns, const double *weight, double *out, double *keep,
			     struct nw_window_stats *st);

/* How far the current stream's samples that arrived in the newest n slots
 * before now_ns (up to data_ns) lie from their own schedule, in slots: the
 * robust spread (1.4826 x the median absolute deviation about the median)
 * of each sample's arrival minus its sequence's slot. A steady delay gives
 * 0; Gaussian jitter of sd s gives about s/T; a sender that is on time but
 * now and then late (a loaded host's scheduling) gives about the spread of
 * its on-time majority, which is what tells the two apart (multiscale.h,
 * the displaced-sample rule). NAN with fewer than NW_SIGNAL_SPREAD_MIN
 * samples. At most NW_SIGNAL_SPREAD_MAX samples (the newest) count; no
 * allocation. */
#define NW_SIGNAL_SPREAD_MIN 8U
#define NW_SIGNAL_SPREAD_MAX 128U
double nw_signal_delay_spread(const struct nw_signal *sig, uint32_t n, uint64_t now_ns,
			      uint64_t data_ns);

#endif
