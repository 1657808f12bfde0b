/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition (format 0.0.4) of a rack view. The families
 * and their labels are the contract in docs/metrics.md. */
#ifndef NW_METRICS_H
#define NW_METRICS_H

#include <stddef.h>

#include "rack_view.h"

/* A growing text buffer; reused between renders (len reset, memory kept). */
struct nw_buf {
	char *p;
	size_t len, cap;
	int failed; /* an allocation failed: the content is incomplete */
};

void nw_buf_reset(struct nw_buf *b);
void nw_buf_free(struct nw_buf *b);
void nw_buf_printf(struct nw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nw_buf_put(struct nw_buf *b, const char *s, size_t n);
/* Appends `s` escaped as a label value: backslash, double quote, newline. */
void nw_buf_label_value(struct nw_buf *b, const char *s);

/* Renders every family into `b` (after nw_buf_reset). 0, or -1 when out of memory. */
int nw_metrics_render(const struct nw_rack_view *v, struct nw_buf *b);

#endif
