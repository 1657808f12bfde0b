/* SPDX-License-Identifier: MIT */
/* Synthetic tone streams for the spectral engine's tests: nw_record arrays
 * built the way the collector would hand them over (one per accepted sample,
 * sorted by arrival time), from a deterministic PRNG. Header-only so each
 * test binary stays one file. */
#ifndef NW_TEST_SPECTRUM_GEN_H
#define NW_TEST_SPECTRUM_GEN_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

#define GEN_RATE 20.0
#define GEN_T_NS 50000000ULL
#define GEN_T0_NS 1700000000000000000ULL /* an arbitrary TAI instant */

struct gen_cfg {
	double tone_hz;        /* what the sender sends */
	double delay_ms;       /* constant one-way delay */
	double jitter_ms;      /* Gaussian sigma added to the delay */
	double loss;           /* Bernoulli drop probability */
	double outage_every_s; /* periodic outage: period ... */
	double outage_len_s;   /* ... and length (0: none) */
	uint64_t seed;
};

static inline uint64_t gen_next(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static inline double gen_uniform(uint64_t *s) /* [0, 1) */
{
	return (double)(gen_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static inline double gen_gauss(uint64_t *s)
{
	double u1 = gen_uniform(s), u2 = gen_uniform(s);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static inline uint32_t gen_bits(float v)
{
	uint32_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static inline int gen_cmp_rx(const void *a, const void *b)
{
	const struct nw_record *x = a, *y = b;

	if (x->rx_ns != y->rx_ns)
		return x->rx_ns < y->rx_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Samples k0 .. k0+count-1 of one stream, sent at t0 + k*T; dropped ones are
 * left out; sorted by rx. The first arrival carries `first_flags`, as the
 * collector flags it. Returns the number written to out. */
static inline size_t gen_stream(const struct gen_cfg *c, uint64_t k0, uint64_t count,
				uint64_t t0_ns, uint16_t first_flags, struct nw_record *out)
{
	uint64_t s = c->seed;
	size_t n = 0;

	for (uint64_t k = k0; k < k0 + count; k++) {
		double t = (double)k / GEN_RATE;
		double drop = gen_uniform(&s), jit = gen_gauss(&s);

		if (drop < c->loss)
			continue;
		if (c->outage_len_s > 0 && fmod(t, c->outage_every_s) < c->outage_len_s - 1e-9)
			continue;
		double delay_ns = (c->delay_ms + c->jitter_ms * jit) * 1e6;
		uint64_t tx = t0_ns + k * GEN_T_NS;

		out[n] = (struct nw_record){
			.seq = k,
			.tx_ns = tx,
			.rx_ns = (uint64_t)((int64_t)tx + (int64_t)llround(delay_ns)),
			.value_bits = gen_bits((float)sin(2.0 * M_PI * c->tone_hz * t)),
		};
		n++;
	}
	qsort(out, n, sizeof(*out), gen_cmp_rx);
	if (n)
		out[0].flags = first_flags;
	return n;
}

#endif
