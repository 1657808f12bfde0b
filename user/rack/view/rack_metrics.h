/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition (format 0.0.4, helpers in prom.h) of a rack view. The families
 * and their labels are the contract in docs/metrics.md. */
#ifndef NW_METRICS_H
#define NW_METRICS_H

#include <stddef.h>

#include "buf.h"
#include "rack_view.h"

/* Renders every family into `b` (after nw_buf_reset). 0, or -1 when out of memory. */
int nw_metrics_render(const struct nw_rack_view *v, struct nw_buf *b);

#endif
