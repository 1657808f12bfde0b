// SPDX-License-Identifier: MIT
#include "prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUTS(b, lit) nw_buf_put((b), (lit), sizeof(lit) - 1)

void nw_prom_family(struct nw_buf *b, const char *name, const char *type, const char *help)
{
	nw_buf_printf(b, "# HELP %s ", name);
	/* HELP text knows two escapes; a quote stays as it is. */
	for (const char *s = help; *s; s++) {
		size_t run = strcspn(s, "\\\n");

		nw_buf_put(b, s, run);
		s += run;
		if (!*s)
			break;
		if (*s == '\\')
			PUTS(b, "\\\\");
		else
			PUTS(b, "\\n");
	}
	nw_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

void nw_prom_label_value(struct nw_buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			PUTS(b, "\\\\");
		else if (*s == '"')
			PUTS(b, "\\\"");
		else if (*s == '\n')
			PUTS(b, "\\n");
		else
			nw_buf_put(b, s, 1);
	}
}

void nw_prom_number(struct nw_buf *b, double x)
{
	char tmp[32];

	/* Prometheus spells the non-finite values its own way. */
	if (isnan(x)) {
		PUTS(b, "NaN");
		return;
	}
	if (isinf(x)) {
		if (x > 0)
			PUTS(b, "+Inf");
		else
			PUTS(b, "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, x);
		if (prec == 17 || strtod(tmp, NULL) == x)
			break;
	}
	nw_buf_put(b, tmp, strlen(tmp));
}

void nw_prom_sample(struct nw_buf *b, const char *name, const char *labels, const char *extra,
		    double x)
{
	nw_buf_printf(b, "%s{%s%s} ", name, labels, extra ? extra : "");
	nw_prom_number(b, x);
	PUTS(b, "\n");
}

void nw_prom_sample_u64(struct nw_buf *b, const char *name, const char *labels, const char *extra,
			uint64_t x)
{
	nw_buf_printf(b, "%s{%s%s} %llu\n", name, labels, extra ? extra : "",
		      (unsigned long long)x);
}

void nw_prom_bucket(struct nw_buf *b, const char *name, const char *labels, double le,
		    uint64_t cumulative)
{
	nw_buf_printf(b, "%s_bucket{%s,le=\"", name, labels);
	nw_prom_number(b, le);
	nw_buf_printf(b, "\"} %llu\n", (unsigned long long)cumulative);
}

void nw_prom_histogram_end(struct nw_buf *b, const char *name, const char *labels, double sum,
			   uint64_t count)
{
	nw_buf_printf(b, "%s_sum{%s} ", name, labels);
	nw_prom_number(b, sum);
	nw_buf_printf(b, "\n%s_count{%s} %llu\n", name, labels, (unsigned long long)count);
}
