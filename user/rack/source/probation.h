/* SPDX-License-Identifier: MIT */
/*
 * Discovered servers earn their place (docs/security.md, "Sample path"). A
 * sender the rack did not list gets a slot on probation: it is counted in its
 * slot but not shown in the scores, the metrics or the dump, and it holds one
 * of at most nw_probation_quota() probation slots. It is promoted once it has
 * kept a tone up for NW_PROBATION_NS at no less than half its announced rate
 * (at least 1 Hz) and NW_PROBATION_MIN_SAMPLES samples;
 * it is evicted (slot, index entry and state freed; the ring kept for the next
 * one) when it goes quiet for NW_PROBATION_IDLE_NS or has not made it within
 * NW_PROBATION_MAX_NS. When every probation slot is taken, a newcomer replaces
 * the probation server with the fewest samples if that one has fewer than
 * NW_PROBATION_MIN_SAMPLES, else it is refused (discovery_rejected). A flood of
 * made-up ids therefore churns the probation slots and nothing else: memory,
 * the server table and the scrape stay bounded, and a genuine sender, which
 * gathers samples at its rate, outlasts single-sample phantoms.
 */
#ifndef NW_PROBATION_H
#define NW_PROBATION_H

#include <stdint.h>

#include "collector.h"

#define NW_PROBATION_NS (5ULL * 1000000000ULL)
#define NW_PROBATION_IDLE_NS (10ULL * 1000000000ULL)
#define NW_PROBATION_MAX_NS (60ULL * 1000000000ULL)
#define NW_PROBATION_MIN_SAMPLES 10ULL
#define NW_PROBATION_QUOTA_MAX 64U
/* A tone slower than 1 Hz gives the analysis nothing within its window:
 * not a server that earns a place by discovery (list it with --servers). */
#define NW_PROBATION_MIN_RATE_UHZ 1000000U

enum nw_probation_verdict { NW_PROBATION_KEEP, NW_PROBATION_PROMOTE, NW_PROBATION_EVICT };

/* Probation slots for a table of max_slots: an eighth, 1..NW_PROBATION_QUOTA_MAX. */
uint32_t nw_probation_quota(uint32_t max_slots);

/* What to do with a server on probation since `since_ns` (CLOCK_TAI, as the
 * state's rx stamps), given its counters, at now_ns. */
enum nw_probation_verdict nw_probation_judge(const struct nw_server_state *st, uint64_t since_ns,
					     uint64_t now_ns);

/* Whether a server's counters show a sustained tone (used on adoption after a
 * restart too: a slot an earlier run gave a phantom starts on probation). */
int nw_probation_earned(const struct nw_server_state *st);

#endif
