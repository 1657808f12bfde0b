/* SPDX-License-Identifier: MIT */
/*
 * Seeded random numbers for the statistical tests: splitmix64, no global
 * state, so every test (and every seed in it) draws the same stream on every
 * run and machine.
 */
#ifndef NW_TEST_RNG_H
#define NW_TEST_RNG_H

#include <math.h>
#include <stdint.h>

static inline uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1): never 0, so log() of it is finite. */
static inline double uni(uint64_t *s)
{
	return ((double)(rnd(s) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal (Box-Muller). */
static inline double gauss(uint64_t *s)
{
	double u = uni(s), v = uni(s);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

#endif
