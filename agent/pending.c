/* SPDX-License-Identifier: MIT */
#include "pending.h"

#include <stdlib.h>

/* Ties go to the lower (seq, server): with a constant delay the wire order
 * stays exactly the generation order, and runs with a seed are reproducible. */
static int before(const struct nw_pending *a, const struct nw_pending *b)
{
	if (a->due_ns != b->due_ns)
		return a->due_ns < b->due_ns;
	if (a->seq != b->seq)
		return a->seq < b->seq;
	return a->server < b->server;
}

int nw_pq_init(struct nw_pq *q, size_t cap)
{
	q->len = 0;
	q->cap = cap;
	q->v = cap ? calloc(cap, sizeof(*q->v)) : NULL;
	return cap && !q->v ? -1 : 0;
}

void nw_pq_free(struct nw_pq *q)
{
	free(q->v);
	q->v = NULL;
	q->len = q->cap = 0;
}

int nw_pq_push(struct nw_pq *q, const struct nw_pending *e)
{
	size_t i;

	if (q->len >= q->cap)
		return -1;
	i = q->len++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(e, &q->v[parent]))
			break;
		q->v[i] = q->v[parent];
		i = parent;
	}
	q->v[i] = *e;
	return 0;
}

const struct nw_pending *nw_pq_peek(const struct nw_pq *q)
{
	return q->len ? &q->v[0] : NULL;
}

int nw_pq_pop(struct nw_pq *q, struct nw_pending *out)
{
	struct nw_pending last;
	size_t i = 0;

	if (!q->len)
		return -1;
	*out = q->v[0];
	last = q->v[--q->len];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->len)
			break;
		if (c + 1 < q->len && before(&q->v[c + 1], &q->v[c]))
			c++;
		if (!before(&q->v[c], &last))
			break;
		q->v[i] = q->v[c];
		i = c;
	}
	if (q->len)
		q->v[i] = last;
	return 0;
}
