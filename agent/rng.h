/* SPDX-License-Identifier: MIT */
/*
 * Counter-based randomness for impairment decisions: every decision is a pure
 * function of (seed, server, seq, purpose), so a run with seed=N makes the same
 * decisions whatever the timing, the batch sizes or the ticks skipped while late.
 */
#ifndef NW_AGENT_RNG_H
#define NW_AGENT_RNG_H

#include <stdint.h>

#define NW_GOLDEN64 0x9E3779B97F4A7C15ULL

/* splitmix64's finaliser: a bijective avalanche of 64 bits. */
static inline uint64_t nw_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double nw_u01(uint64_t x)
{
	return (double)(x >> 11) * 0x1p-53;
}

/* Uniform in (0, 1]: safe under log(). */
static inline double nw_u01_open0(uint64_t x)
{
	return (double)((x >> 11) + 1) * 0x1p-53;
}

/* Standard normal from two independent 64-bit words (Box-Muller). */
double nw_normal(uint64_t a, uint64_t b);

/* A seed for runs without seed=N: varies by clock and pid. */
uint64_t nw_seed_from_clock(void);

#endif /* NW_AGENT_RNG_H */
