// SPDX-License-Identifier: MIT
/* FFTW plan + Hann window + tone metrics. See spectrum.h, docs/analysis.md. */
#include "spectrum.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int nw_spec_ctx_init(struct nw_spec_ctx *ctx, uint32_t n)
{
	memset(ctx, 0, sizeof(*ctx));
	if (n < 8 || n > NW_SIGNAL_MAX_N || (n & (n - 1)) != 0)
		return -EINVAL;
	ctx->n = n;
	ctx->hann = fftw_malloc(n * sizeof(double));
	ctx->in = fftw_malloc(n * sizeof(double));
	ctx->keep = fftw_malloc(n * sizeof(double));
	ctx->power = fftw_malloc((n / 2 + 1) * sizeof(double));
	ctx->out = fftw_malloc((n / 2 + 1) * sizeof(fftw_complex));
	if (!ctx->hann || !ctx->in || !ctx->keep || !ctx->power || !ctx->out)
		goto fail;
	/* Periodic ("DFT-even") Hann: its transform is exactly three bins wide
	 * for an on-bin tone, so the main lobe's nulls fall on +-2 bins. */
	for (uint32_t i = 0; i < n; i++)
		ctx->hann[i] = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)n);
	memset(ctx->in, 0, n * sizeof(double));
	/* ESTIMATE: no timing runs, deterministic, and at n = 256 within a few
	 * percent of MEASURE; the planner does not touch the arrays. */
	ctx->plan = fftw_plan_dft_r2c_1d((int)n, ctx->in, ctx->out, FFTW_ESTIMATE);
	if (!ctx->plan)
		goto fail;
	return 0;
fail:
	nw_spec_ctx_free(ctx);
	return -ENOMEM;
}

void nw_spec_ctx_free(struct nw_spec_ctx *ctx)
{
	if (ctx->plan)
		fftw_destroy_plan(ctx->plan);
	fftw_free(ctx->hann);
	fftw_free(ctx->in);
	fftw_free(ctx->keep);
	fftw_free(ctx->power);
	fftw_free(ctx->out);
	memset(ctx, 0, sizeof(*ctx));
}

static double clamp_db(double db)
{
	if (db > NW_SPEC_DB_CAP)
		return NW_SPEC_DB_CAP;
	if (db < -NW_SPEC_DB_CAP)
		return -NW_SPEC_DB_CAP;
	return db;
}

/* Nothing in the window: all error, no peak. */
static void silent(struct nw_spec_result *res, double tone_hz)
{
	res->spectral_error = 1.0;
	res->snr_db = -NW_SPEC_DB_CAP;
	res->signal_power = res->noise_power = 0.0;
	res->peak_hz = 0.0;
	res->tone_offset_hz = -tone_hz;
	res->tone_mismatch = false;
	res->spur_hz = 0.0;
	res->spur_ratio = 0.0;
}

static double mag(const fftw_complex c)
{
	return sqrt(c[0] * c[0] + c[1] * c[1]);
}

/* Largest of p[from..to-1], -1 when empty. */
static double max_in(const double *p, uint32_t from, uint32_t to)
{
	double m[4] = { -1.0, -1.0, -1.0, -1.0 };
	uint32_t b = from;

	for (; b + 4 <= to; b += 4)
		for (int q = 0; q < 4; q++)
			m[q] = p[b + (uint32_t)q] > m[q] ? p[b + (uint32_t)q] : m[q];
	for (; b < to; b++)
		m[0] = p[b] > m[0] ? p[b] : m[0];
	m[0] = m[0] > m[1] ? m[0] : m[1];
	m[2] = m[2] > m[3] ? m[2] : m[3];
	return m[0] > m[2] ? m[0] : m[2];
}

static uint32_t first_eq(const double *p, uint32_t from, uint32_t to, double v)
{
	for (uint32_t b = from; b < to; b++)
		if (p[b] == v)
			return b;
	return from;
}

void nw_spec_measure(struct nw_spec_ctx *ctx, double rate_hz, double tone_hz,
		     struct nw_spec_result *res)
{
	const uint32_t n = ctx->n, half = n / 2;
	const double bin_hz = rate_hz / (double)n;
	const double b0 = tone_hz / bin_hz; /* expected bin, usually not an integer */
	double *p = ctx->power;

	fftw_execute_dft_r2c(ctx->plan, ctx->in, ctx->out);

	/* One-sided power: interior bins stand for +f and -f. */
	p[0] = ctx->out[0][0] * ctx->out[0][0] + ctx->out[0][1] * ctx->out[0][1];
	for (uint32_t b = 1; b < half; b++) {
		double re = ctx->out[b][0], im = ctx->out[b][1];

		p[b] = 2.0 * (re * re + im * im);
	}
	p[half] = ctx->out[half][0] * ctx->out[half][0] + ctx->out[half][1] * ctx->out[half][1];

	double lo_f = ceil(b0 - NW_SPEC_LOBE_BINS), hi_f = floor(b0 + NW_SPEC_LOBE_BINS);
	uint32_t lo = lo_f < 0 ? 0 : (uint32_t)lo_f;
	uint32_t hi = hi_f > half ? half : (uint32_t)hi_f;
	double sig = 0.0, noise = 0.0, spur_p = -1.0, peak_p = -1.0;
	uint32_t spur = 0, peak = 1;

	if (lo > hi) { /* expected tone beyond Nyquist: no lobe, all noise */
		lo = half + 1;
		hi = half;
	}
	for (uint32_t b = lo; b <= hi; b++)
		sig += p[b];
	/* Noise: the bins outside the lobe, summed with independent partial
	 * sums (no chain of dependent adds); the strongest of them is the spur. */
	{
		double acc[4] = { 0, 0, 0, 0 };
		uint32_t b = 0;

		for (; b + 4 <= lo; b += 4)
			for (int q = 0; q < 4; q++)
				acc[q] += p[b + (uint32_t)q];
		for (; b < lo; b++)
			acc[0] += p[b];
		for (b = hi + 1; b + 4 <= half + 1; b += 4)
			for (int q = 0; q < 4; q++)
				acc[q] += p[b + (uint32_t)q];
		for (; b <= half; b++)
			acc[0] += p[b];
		noise = (acc[0] + acc[1]) + (acc[2] + acc[3]);
	}
	/* The strongest bins: maxima first (independent partial maxima), then
	 * the first bin holding it, as a scan keeping the first maximum would. */
	{
		double m_a = max_in(p, 0, lo), m_b = max_in(p, hi + 1, half + 1);

		spur_p = m_a >= m_b ? m_a : m_b;
		if (spur_p >= 0.0)
			spur = m_a >= m_b ? first_eq(p, 0, lo, spur_p)
					  : first_eq(p, hi + 1, half + 1, spur_p);
		peak_p = max_in(p, 1, half);
		if (peak_p >= 0.0)
			peak = first_eq(p, 1, half, peak_p);
	}

	double total = sig + noise;

	res->signal_power = sig;
	res->noise_power = noise;
	if (!(total > 0.0)) {
		silent(res, tone_hz);
		return;
	}
	res->spectral_error = noise / total;
	if (noise > 0.0 && sig > 0.0)
		res->snr_db = clamp_db(10.0 * log10(sig / noise));
	else
		res->snr_db = sig > 0.0 ? NW_SPEC_DB_CAP : -NW_SPEC_DB_CAP;

	/* Hann three-bin interpolation on magnitudes: exact for a lone tone,
	 * delta = 2(|X+| - |X-|) / (|X-| + 2|X0| + |X+|). */
	double m_lo = mag(ctx->out[peak - 1]), m0 = mag(ctx->out[peak]),
	       m_hi = mag(ctx->out[peak + 1]);
	double den = m_lo + 2.0 * m0 + m_hi, delta = 0.0;

	if (den > 0.0)
		delta = 2.0 * (m_hi - m_lo) / den;
	if (delta > 1.0)
		delta = 1.0;
	if (delta < -1.0)
		delta = -1.0;
	double peak_bin = (double)peak + delta;

	res->peak_hz = peak_bin * bin_hz;
	res->tone_offset_hz = res->peak_hz - tone_hz;
	res->tone_mismatch = fabs(peak_bin - b0) > NW_SPEC_LOBE_BINS;
	res->spur_hz = spur_p >= 0.0 ? (double)spur * bin_hz : 0.0;
	if (spur_p <= 0.0)
		res->spur_ratio = 0.0;
	else if (sig > 0.0 && spur_p / sig < NW_SPEC_RATIO_CAP)
		res->spur_ratio = spur_p / sig;
	else
		res->spur_ratio = NW_SPEC_RATIO_CAP;
}

int nw_spec_analyze(struct nw_spec_ctx *ctx, const struct nw_signal *sig, uint64_t now_ns,
		    struct nw_spec_result *res)
{
	struct nw_window_stats st;

	if (!sig->ring || sig->n != ctx->n)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	nw_signal_window(sig, now_ns, ctx->hann, ctx->in, ctx->keep, &st);
	res->filled = st.filled;
	res->collisions = st.collisions;
	res->fill = (double)st.filled / (double)ctx->n;
	if (st.filled == 0) {
		/* Skip the FFT: a silent window is all error by definition. */
		memset(ctx->power, 0, (ctx->n / 2 + 1) * sizeof(*ctx->power));
		silent(res, sig->tone_hz);
		return 0;
	}
	nw_spec_measure(ctx, sig->rate_hz, sig->tone_hz, res);
	return 0;
}
