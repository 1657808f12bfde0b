/* SPDX-License-Identifier: MIT */
/* A growing byte/text buffer, reused between renders (len reset, memory
 * kept): /metrics pages, JSON bodies, report frames. */
#ifndef NW_BUF_H
#define NW_BUF_H

#include <stddef.h>

struct nw_buf {
	char *p;
	size_t len, cap;
	int failed; /* an allocation failed: the content is incomplete */
};

void nw_buf_reset(struct nw_buf *b);
void nw_buf_free(struct nw_buf *b);
void nw_buf_printf(struct nw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nw_buf_put(struct nw_buf *b, const char *s, size_t n);

#endif
