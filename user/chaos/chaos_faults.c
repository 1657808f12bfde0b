// SPDX-License-Identifier: MIT
#include "chaos_faults.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_number(const char *s, double *v, char **end)
{
	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtod(s, end);
	if (errno || *end == s || !isfinite(*v))
		return -1;
	/* strtod accepts hex floats, "inf" and "nan": only plain decimals here. */
	for (const char *c = s; c < *end; c++)
		if (!isdigit((unsigned char)*c) && *c != '.')
			return -1;
	return 0;
}

int nw_chaos_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {
		{ "", 1e6 }, { "ms", 1e6 }, { "s", 1e9 }, { "us", 1e3 }, { "ns", 1.0 },
	};
	char *end;
	double v;

	if (parse_number(s, &v, &end))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].scale;
		if (v > (double)NW_CHAOS_MAX_DELAY_NS)
			return -1;
		*ns = (uint64_t)llround(v);
		return 0;
	}
	return -1;
}

int nw_chaos_parse_percent(const char *s, double *frac)
{
	char *end;
	double v;

	if (parse_number(s, &v, &end))
		return -1;
	if (*end && strcmp(end, "%"))
		return -1;
	if (v > 100.0)
		return -1;
	*frac = v / 100.0;
	return 0;
}

int nw_chaos_parse_outage(const char *s, uint64_t *len_ns, uint64_t *period_ns)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char len[64];

	if (!slash || (size_t)(slash - s) >= sizeof(len))
		return -1;
	memcpy(len, s, (size_t)(slash - s));
	len[slash - s] = '\0';
	if (nw_chaos_parse_duration(len, len_ns) || nw_chaos_parse_duration(slash + 1, period_ns))
		return -1;
	return (*len_ns > 0 && *len_ns < *period_ns) ? 0 : -1;
}

int nw_chaos_parse_ppm(const char *s, double *ppm)
{
	int neg = s && *s == '-';
	char *end;
	double v;

	if (parse_number(s + neg, &v, &end) || (*end && strcmp(end, "ppm")) || v > NW_CHAOS_MAX_PPM)
		return -1;
	*ppm = neg ? -v : v;
	return 0;
}

uint32_t nw_chaos_prob(double frac)
{
	double x = frac * 4294967296.0;
	uint32_t p;

	if (!(frac > 0.0))
		return 0;
	if (frac >= 1.0)
		return NW_CHAOS_ALWAYS;
	if (x >= 4294967294.5)
		return NW_CHAOS_ALWAYS - 1U; /* just below certain is not certain */
	p = (uint32_t)llround(x);
	return p ? p : 1U; /* a tiny rate asked for is never silently none */
}

int nw_chaos_gilbert(double loss, double burst, double *p_gb, double *p_bg, const char **why)
{
	if (!(burst >= 1.0) || burst > NW_CHAOS_MAX_BURST) {
		*why = "burst must be a mean length of 1..1000000 packets";
		return -1;
	}
	*p_bg = 1.0 / burst;
	if (loss >= 1.0) {
		*p_gb = 1.0;
		*p_bg = 0.0;
		return 0;
	}
	*p_gb = loss * *p_bg / (1.0 - loss);
	if (*p_gb > 1.0 + 1e-9) {
		*why = "bursts that short cannot reach that loss (need burst >= loss/(100-loss))";
		return -1;
	}
	if (*p_gb > 1.0)
		*p_gb = 1.0; /* rounding at the boundary (loss 80%, burst 4) */
	return 0;
}

int nw_chaos_faults_check(const struct nw_chaos_faults *f, const char **why)
{
	double a, b;

	if (f->burst > 0.0 && !(f->set & NW_FAULT_LOSS)) {
		*why = "--burst needs --loss";
		return -1;
	}
	if (f->burst > 1.0 && nw_chaos_gilbert(f->loss, f->burst, &a, &b, why))
		return -1;
	return 0;
}

void nw_chaos_bpf_params(const struct nw_chaos_faults *f, uint16_t sample_port,
			 struct nw_chaos_params *out)
{
	double p_gb, p_bg;
	const char *why;

	memset(out, 0, sizeof(*out));
	out->enabled = (f->set & NW_FAULTS_BPF) ? 1U : 0U;
	out->sample_port = sample_port;
	if (f->set & NW_FAULT_OUTAGE) {
		out->outage_period_ns = f->outage_period_ns;
		out->outage_len_ns = f->outage_len_ns;
	}
	if (f->set & NW_FAULT_LOSS) {
		if (f->burst > 1.0 && !nw_chaos_gilbert(f->loss, f->burst, &p_gb, &p_bg, &why)) {
			out->loss_good = 0;
			out->loss_bad = NW_CHAOS_ALWAYS;
			out->p_gb = nw_chaos_prob(p_gb);
			out->p_bg = nw_chaos_prob(p_bg);
		} else {
			out->loss_good = nw_chaos_prob(f->loss);
		}
	}
	if (f->set & NW_FAULT_DUPLICATE)
		out->duplicate = nw_chaos_prob(f->duplicate);
	if (f->set & NW_FAULT_CORRUPT)
		out->corrupt = nw_chaos_prob(f->corrupt);
}

void nw_chaos_params_faults(const struct nw_chaos_params *p, struct nw_chaos_faults *f)
{
	memset(f, 0, sizeof(*f));
	if (!p->enabled)
		return;
	if (p->p_gb && p->p_bg) {
		double gb = p->p_gb == NW_CHAOS_ALWAYS ? 1.0 : p->p_gb / 4294967296.0;
		double bg = p->p_bg == NW_CHAOS_ALWAYS ? 1.0 : p->p_bg / 4294967296.0;

		f->set |= NW_FAULT_LOSS;
		f->loss = gb / (gb + bg);
		f->burst = 1.0 / bg;
	} else if (p->loss_good || (p->p_gb && p->loss_bad)) {
		f->set |= NW_FAULT_LOSS;
		f->loss = p->loss_good == NW_CHAOS_ALWAYS || !p->loss_good
				  ? 1.0
				  : p->loss_good / 4294967296.0;
	}
	if (p->duplicate) {
		f->set |= NW_FAULT_DUPLICATE;
		f->duplicate = p->duplicate == NW_CHAOS_ALWAYS ? 1.0 : p->duplicate / 4294967296.0;
	}
	if (p->corrupt) {
		f->set |= NW_FAULT_CORRUPT;
		f->corrupt = p->corrupt == NW_CHAOS_ALWAYS ? 1.0 : p->corrupt / 4294967296.0;
	}
	if (p->outage_period_ns && p->outage_len_ns) {
		f->set |= NW_FAULT_OUTAGE;
		f->outage_period_ns = p->outage_period_ns;
		f->outage_len_ns = p->outage_len_ns;
	}
}

int nw_chaos_agent_spec(const struct nw_chaos_faults *f, unsigned which, char *out, size_t size)
{
	int n;

	which &= f->set;
	n = snprintf(out, size, "delay=%.6g,jitter=%.6g",
		     (which & NW_FAULT_DELAY) ? (double)f->delay_ns / 1e6 : 0.0,
		     (which & NW_FAULT_JITTER) ? (double)f->jitter_ns / 1e6 : 0.0);
	if (n >= 0 && (size_t)n < size && (which & NW_FAULT_LOSS))
		n += snprintf(out + n, size - (size_t)n, ",loss=%.6g%%", f->loss * 100.0);
	if (n >= 0 && (size_t)n < size && (which & NW_FAULT_DUPLICATE))
		n += snprintf(out + n, size - (size_t)n, ",dup=%.6g%%", f->duplicate * 100.0);
	if (n >= 0 && (size_t)n < size && (which & NW_FAULT_SKEW))
		n += snprintf(out + n, size - (size_t)n, ",skew=%.6g", f->skew_ppm);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

static void fmt_duration(char *out, size_t size, uint64_t ns)
{
	if (ns % 1000000ULL == 0)
		snprintf(out, size, "%llums", (unsigned long long)(ns / 1000000ULL));
	else
		snprintf(out, size, "%.3fms", (double)ns / 1e6);
}

void nw_chaos_describe(const struct nw_chaos_faults *f, unsigned which, char *out, size_t size)
{
	size_t o = 0;
	char d[32];

	out[0] = '\0';
#define ADD(...)                                                           \
	do {                                                               \
		if (o < size) {                                            \
			int n_ = snprintf(out + o, size - o, __VA_ARGS__); \
			o += n_ > 0 ? (size_t)n_ : 0;                      \
		}                                                          \
	} while (0)
	which &= f->set;
	if (which & NW_FAULT_DELAY) {
		fmt_duration(d, sizeof(d), f->delay_ns);
		ADD("%sdelay %s", o ? " " : "", d);
	}
	if (which & NW_FAULT_JITTER) {
		fmt_duration(d, sizeof(d), f->jitter_ns);
		ADD("%sjitter %s", o ? " " : "", d);
	}
	if (which & NW_FAULT_LOSS) {
		ADD("%sloss %.6g%%", o ? " " : "", f->loss * 100.0);
		if (f->burst > 1.0)
			ADD(" (bursts of %.6g)", f->burst);
	}
	if (which & NW_FAULT_DUPLICATE)
		ADD("%sduplicate %.6g%%", o ? " " : "", f->duplicate * 100.0);
	if (which & NW_FAULT_CORRUPT)
		ADD("%scorrupt %.6g%%", o ? " " : "", f->corrupt * 100.0);
	if (which & NW_FAULT_OUTAGE) {
		char p[32];

		fmt_duration(d, sizeof(d), f->outage_len_ns);
		fmt_duration(p, sizeof(p), f->outage_period_ns);
		ADD("%soutage %s every %s", o ? " " : "", d, p);
	}
	if (which & NW_FAULT_SKEW)
		ADD("%sskew %.6gppm", o ? " " : "", f->skew_ppm);
	if (!o)
		ADD("nothing");
#undef ADD
}

void nw_chaos_stats_sum(struct nw_chaos_stats *sum, const struct nw_chaos_stats *per, int ncpu)
{
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < ncpu; c++) {
		sum->packets += per[c].packets;
		sum->dropped += per[c].dropped;
		sum->duplicated += per[c].duplicated;
		sum->dup_failed += per[c].dup_failed;
		sum->corrupted += per[c].corrupted;
		sum->corrupt_failed += per[c].corrupt_failed;
		sum->bad_entries += per[c].bad_entries;
		sum->outage_dropped += per[c].outage_dropped;
		sum->unmatched += per[c].unmatched;
	}
}
