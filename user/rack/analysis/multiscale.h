/* SPDX-License-Identifier: MIT */
/*
 * Multi-scale health classes (docs/analysis.md, "Multi-scale classes"): a
 * server's class escalates from short windows evaluated every tick and keeps
 * the long window's precision in steady state, with hysteresis so that a
 * server near a boundary does not flap, and returns to healthy as soon as
 * its newest slots are clean instead of waiting for the long window to drain.
 *
 * The short scales are a least-squares fit of the expected tone (known
 * frequency, free amplitude and phase: IEEE Std 1057's sine fit) to the
 * newest NW_MS_SHORT_SLOTS slots (64: "short") and their newest
 * NW_MS_QUICK_SLOTS (32: "quick"). Its error, 1 - fitted power / total power,
 * is the same noise/(signal+noise) as the long window's spectral_error, with
 * equal weight on every slot: an unbiased estimate of the loss fraction
 * (mean p, no Hann lobe bias) with less scatter than a 64-point Hann FFT.
 *
 * Pure: no I/O, no allocation, no clock (times are passed in). One state per
 * server. Order: nw_ms_reset when a presence begins (first sample, back
 * after a long silence or a goodbye), nw_ms_back on the first sample after
 * a shorter outage, nw_ms_tick every tick with the short scales (counting
 * slots from fresh_from_ns), nw_ms_long every refresh with the long
 * window's error once it is warm; nw_ms_state.cls is the class to show.
 */
#ifndef NW_MULTISCALE_H
#define NW_MULTISCALE_H

#include <stdbool.h>
#include <stdint.h>

#include "health_state.h"

#define NW_MS_SHORT_SLOTS 64U /* 3.2 s at 20 Hz: escalation */
#define NW_MS_QUICK_SLOTS 32U /* 1.6 s at 20 Hz: the way back */
/* The scales' windows end this many slots before the tick (built from all
 * records drained by then, nw_signal_window_at): the sample of the slot
 * that holds `now` is due anywhere within half a slot of it, so about every
 * other tick (as the tick's phase drifts against the sender's clock) it is
 * still on its way. Counted as a hole it kept the quick window from being
 * "full" for seconds at a time on the lab, delaying the way back; one slot
 * (50 ms at 20 Hz) of latency is the price. */
#define NW_MS_SETTLE_SLOTS 1U

/* Thresholds, from the measured scatter (docs/analysis.md, "Multi-scale
 * classes"; 5 % loss over 20 simulated hours at five tones never reaches any
 * warning rule). A short or quick error alone is noisy (a hole at the tone's
 * peak costs twice the mean, one at a zero crossing nothing), so most entry
 * rules also ask the window's exact counts to agree that it is not a chance
 * cluster: enough missing samples (empty slots that no late sample accounts
 * for: loss), or samples displaced into an occupied
 * slot at enough places (jitter beyond half a slot: random loss never
 * displaces one, and a sender that stalled and then sent a burst displaces
 * many samples at one place only).
 * Warning is entered on any of:
 *   short error >= 0.28 (not for a late-only window, below);
 *   short error >= 0.2 (the class boundary) with >= 13 of 64 slots empty;
 *   quick error >= 0.45 (not for a late-only window);
 *   quick error >= 0.3 with >= 10 of 32 slots empty;
 *   quick error >= 0.2 with samples displaced at >= 4 of 32 slots, and
 *     the quick window's arrivals spread (robust: nw_signal_delay_spread)
 *     by >= 0.3 slot (15 ms at 20 Hz) about their own schedule: jitter
 *     moves most samples, a loaded host's scheduling delays a few now and
 *     then while the rest arrive on time (that spread stays small).
 * A window is late-only when samples were displaced in it but its arrivals
 * are not spread (< 0.3 slot): a few samples late among on-time ones, the
 * signature of a sender's (host's) scheduling, not of the path. Its error
 * comes from those samples crowding a neighbour's slot; alone it is no
 * evidence (the count rules still apply: missing samples are missing).
 * Critical above 0.7 (short); leave critical below 0.45 and warning below
 * 0.12 (short). Quick scale: clean below 0.02 (no hole, or one at a zero
 * crossing). Long window: enter at the seed's 0.2 / 0.5, leave warning below
 * 0.15 and critical below 0.45 (about 1.5 sd of a 256-slot window). */
#define NW_MS_SHORT_WARN_ENTER 0.28
#define NW_MS_SHORT_HOLES_ENTER 13U
#define NW_MS_QUICK_WARN_ENTER 0.45
#define NW_MS_QUICK_HOLES_ERR 0.3
#define NW_MS_QUICK_HOLES_ENTER 10U
#define NW_MS_QUICK_DISPLACED_ERR 0.2
#define NW_MS_QUICK_DISPLACED_ENTER 4U
#define NW_MS_QUICK_DISPLACED_SPREAD 0.3 /* slots */
#define NW_MS_SHORT_WARN_LEAVE 0.12
#define NW_MS_SHORT_CRIT_ENTER 0.7
#define NW_MS_SHORT_CRIT_LEAVE 0.45
#define NW_MS_QUICK_CLEAN 0.02
/* Leaving warning also asks the long window (once it counts: not set aside)
 * to miss fewer than this share of its samples. A server at a steady loss
 * near the boundary (15 %: the short scale's count rule reaches its mark
 * now and then, its error falls below the leave mark as often) then stays
 * in warning instead of changing class every ~9 s; a fault that ends still
 * returns at once (the quick return), and so does one that leaves a little
 * loss behind (a 256-slot window misses < 10 % at 5 % loss in all but
 * ~1e-3 of windows). */
#define NW_MS_LEAVE_MISSING 0.10
#define NW_MS_RELAPSE_SPANS 4U /* long windows: 51 s at the defaults */
/* ... unless the short window itself misses at most this many samples: the
 * fault is over (at 15 % loss 64 slots with none missing come once in
 * ~30,000 windows, at 10 % once in ~850; after a fault, with the sender
 * punctual or merely late, at once: a displaced sample is not missing). */
#define NW_MS_LEAVE_HOLES 0U
#define NW_MS_LONG_WARN_LEAVE 0.15
#define NW_MS_LONG_CRIT_LEAVE 0.45

/* Error of the best-fitting tone at tone_hz (any amplitude and phase) to
 * x[0..n-1] sampled at rate_hz: residual power / total power in [0, 1];
 * 1.0 when x holds no power. A DC offset counts as error, as in the long
 * window. No allocation. */
double nw_tone_fit_error(const double *x, uint32_t n, double rate_hz, double tone_hz);

/* What a tick measured. A scale is ok once all its slots are fresh: they
 * belong to the current presence and are newer than the last return
 * (nw_ms_state.fresh_from_ns). quick_full: the quick window has every slot
 * filled and no collision (exact, from the reconstruction): with the fit's
 * error below NW_MS_QUICK_CLEAN it is "clean for its length". The fit alone
 * cannot say so: a hole where the tone crosses zero costs it almost nothing.
 * Holes: empty slots of each window that no displaced sample accounts for
 * (empty minus collisions: missing, not late); displaced: slots where a
 * sample found its slot taken (the reconstruction's collided_slots). */
struct nw_ms_tick_in {
	bool short_ok, quick_ok, quick_full;
	bool short_full; /* the same for the short window (strict_return) */
	double short_err, quick_err;
	uint32_t short_holes, quick_holes, quick_displaced;
	uint32_t short_displaced;
	/* nw_signal_delay_spread of each window, in slots; needed only when
	 * samples were displaced in it (any value otherwise; NaN: too few
	 * samples to tell, taken as spread) */
	double short_spread, quick_spread;
	uint64_t quick_span_ns; /* from now back to the quick window's start */
};

struct nw_ms_state {
	enum nw_health short_lvl; /* escalated by the short scale, latched */
	enum nw_health long_lvl;  /* the long window's, with hysteresis */
	/* After a quick return the long window still holds the fault that is
	 * over: its verdict is set aside until it has turned over. */
	uint64_t long_aside_until_ns;
	/* The scales count slots from here (0: from the presence's start): a
	 * quick return or a return from an outage leaves the slots before it
	 * out, so what is over cannot escalate again. */
	uint64_t fresh_from_ns;
	/* A tick whose short or quick window was late-only (samples displaced,
	 * arrivals not spread: a loaded sender, above) puts this a long window
	 * ahead. Until then the long window may still hold those samples, and
	 * its error does not take a healthy server into warning (it sees them
	 * as it sees loss); above its critical mark it still does, and the
	 * short scale's rules still apply. */
	uint64_t late_until_ns;
	/* The long window's missing share at the last refresh (NaN: not
	 * known; nw_ms_long_counts) */
	double long_missing;
	bool ready; /* the quick scale had its slots at the last tick */
	/* HEALTHY, WARNING or CRITICAL: max of the two; WARMING while not
	 * ready (no measurement backs a class yet) */
	enum nw_health cls;
	uint64_t returns; /* quick returns taken (for tests and the docs) */
	/* A quick return is recent until this (NW_MS_RELAPSE_SPANS long
	 * windows after it). A warning entered while it is recent means that
	 * clean quick window was a lucky run of a steady loss (at 15 %, 32
	 * clean slots come about once a minute): the warning is then left only
	 * by a return that finds the short window (64 slots, 3.2 s) clean too
	 * (strict_return), so such a server does not change class every
	 * minute; a fault that ends returns in 1.6 s as before, or 3.2 s after
	 * such a relapse. */
	uint64_t returned_until_ns;
	bool strict_return;
};

/* A presence begins (first sample, back after a long silence or a goodbye):
 * no verdict until the quick scale is full (WARMING). */
void nw_ms_reset(struct nw_ms_state *m);

/* The first sample after a silence past the down limit (liveness.h) that
 * did not start a new presence: the scales start over from now (WARMING
 * until the quick one is full again, or the warning / critical measured
 * before the silence, held until the scales judge) and the long window's verdict, which
 * holds the silence liveness already reported, is set aside until it has
 * turned over. */
void nw_ms_back(struct nw_ms_state *m, uint64_t now_ns, uint64_t long_span_ns);

/* Every tick. long_span_ns: the long window's length. Returns the class. */
enum nw_health nw_ms_tick(struct nw_ms_state *m, const struct nw_ms_tick_in *in, uint64_t now_ns,
			  uint64_t long_span_ns);

/* Every refresh whose long window is warm. Returns the class. long_missing:
 * the share of its slots whose sample is missing (empty, and no displaced
 * sample accounts for it), for the leaving rule (NW_MS_LEAVE_MISSING);
 * nw_ms_long leaves it unknown (NaN: the errors alone decide). */
enum nw_health nw_ms_long_counts(struct nw_ms_state *m, double long_err, double long_missing,
				 uint64_t now_ns);
enum nw_health nw_ms_long(struct nw_ms_state *m, double long_err, uint64_t now_ns);

#endif
