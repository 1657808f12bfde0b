/* SPDX-License-Identifier: MIT */
/*
 * Spectral metrics of a reconstructed tone window: Hann window, FFTW3 real FFT,
 * signal = the Hann main lobe (integer bins within +-2 of the expected bin
 * tone*N/rate), noise = every other bin including DC and Nyquist.
 * Definitions and measured behaviour: docs/analysis.md.
 *
 * Threads: one nw_spec_ctx per thread. nw_spec_ctx_init/free call FFTW's
 * planner, which has global state and is NOT thread-safe: call them from one
 * thread (or under one lock). nw_spec_analyze only executes the plan on the
 * context's own scratch (fftw_execute_dft_r2c, which is thread-safe), so
 * contexts may analyse concurrently. Nothing is allocated per analysis.
 */
#ifndef NW_SPECTRUM_H
#define NW_SPECTRUM_H

#include <stdbool.h>
#include <stdint.h>

#include <fftw3.h>

#include "nw_signal.h"

#define NW_SPEC_LOBE_BINS 2.0 /* Hann main lobe half-width */
#define NW_SPEC_DB_CAP 99.0   /* snr_db is clamped to [-99, 99] */
#define NW_SPEC_RATIO_CAP 1e9 /* spur_ratio when the lobe holds no power */

/* Plan, Hann coefficients and scratch for one window size. */
struct nw_spec_ctx {
	uint32_t n;
	fftw_plan plan;    /* r2c, n points, made once, executed on in/out */
	double *hann;      /* periodic Hann, n coefficients */
	double *in;        /* n: the windowed slots (fftw_malloc, aligned) */
	fftw_complex *out; /* n/2+1 bins */
	double *keep;      /* n: reconstruction scratch */
	double *power;     /* n/2+1: one-sided power per bin of the last analysed
	                     * window (bin b is b*rate/n Hz; all 0 for an empty
	                     * window), valid until the next analysis: copy it
	                     * out to publish a server's spectrum */
};

int nw_spec_ctx_init(struct nw_spec_ctx *ctx, uint32_t n); /* 0, -EINVAL, -ENOMEM */
void nw_spec_ctx_free(struct nw_spec_ctx *ctx);

struct nw_spec_result {
	double spectral_error; /* noise / (signal + noise), 1.0 with no power */
	double snr_db;         /* 10*log10(signal/noise), clamped to +-99 */
	double signal_power;   /* one-sided, arbitrary but consistent units */
	double noise_power;
	double peak_hz;        /* strongest bin (1..N/2-1), Hann-interpolated; 0 if none */
	double tone_offset_hz; /* peak_hz - expected tone */
	bool tone_mismatch;    /* the strongest component lies outside the main lobe */
	double spur_hz;        /* strongest bin outside the main lobe (may be DC) */
	double spur_ratio;     /* its power / signal power (capped) */
	double fill;           /* filled slots / N */
	uint32_t filled;
	uint32_t collisions;
};

/* Reconstructs sig's window ending at now_ns and measures it against
 * sig->tone_hz. sig->n must equal ctx->n. Returns 0 or -EINVAL. */
int nw_spec_analyze(struct nw_spec_ctx *ctx, const struct nw_signal *sig, uint64_t now_ns,
		    struct nw_spec_result *res);

/* The measuring half on its own: ctx->in must already hold the (windowed)
 * slots. Fills every field except fill/filled/collisions. */
void nw_spec_measure(struct nw_spec_ctx *ctx, double rate_hz, double tone_hz,
		     struct nw_spec_result *res);

#endif
