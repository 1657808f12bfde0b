/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition (format 0.0.4), the one set of helpers behind
 * both /metrics pages (netwatch-rack's rack_metrics.c, netwatch-dc's
 * dc_metrics.c): family headers, escaping, numbers, samples, histograms.
 *
 * Everything appends to an nw_buf (buf.h); an allocation failure only sets
 * b->failed, so a page is rendered with plain calls and checked once at the
 * end. `labels` is the pre-rendered inside of the braces, values already
 * escaped with nw_prom_label_value (e.g. rack_id="3",server_id="7"); it is
 * never empty: every NetWatch series carries its rack or DC. `extra` is
 * appended to it as is (",reason=\"x\"") or NULL.
 */
#ifndef NW_PROM_H
#define NW_PROM_H

#include <stdint.h>

#include "buf.h"

/* "# HELP name help" (help escaped: backslash and newline) and "# TYPE name type". */
void nw_prom_family(struct nw_buf *b, const char *name, const char *type, const char *help);

/* Appends `s` escaped as a label value: backslash, double quote, newline. */
void nw_prom_label_value(struct nw_buf *b, const char *s);

/* NaN, +Inf, -Inf, or the shortest of %.15g/%.16g/%.17g that reads back
 * exactly (0.05, not 0.050000000000000003). */
void nw_prom_number(struct nw_buf *b, double x);

/* name{labels[extra]} x */
void nw_prom_sample(struct nw_buf *b, const char *name, const char *labels, const char *extra,
		    double x);
void nw_prom_sample_u64(struct nw_buf *b, const char *name, const char *labels, const char *extra,
			uint64_t x);

/* One histogram series: name_bucket{labels,le="..."} for `cumulative`
 * counts (bound INFINITY: le="+Inf"), then name_sum and name_count. */
void nw_prom_bucket(struct nw_buf *b, const char *name, const char *labels, double le,
		    uint64_t cumulative);
void nw_prom_histogram_end(struct nw_buf *b, const char *name, const char *labels, double sum,
			   uint64_t count);

#endif
