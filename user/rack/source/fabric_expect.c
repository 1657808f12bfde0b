// SPDX-License-Identifier: MIT
#include "fabric_expect.h"
#include "fabric_mesh.h"

#include <string.h>

/* cur and prev for `epoch` into x, or nothing changed on -1. */
static int compute(struct nw_fabric_expect *x, uint64_t epoch)
{
	struct nw_fabric_peers cur, prev = { 0 };

	if (nw_fabric_peers_at(x->file, epoch, 1, &cur) < 0)
		return -1;
	if (x->file->k && epoch > 0 && nw_fabric_peers_at(x->file, epoch - 1, 1, &prev) < 0) {
		nw_fabric_peers_free(&cur);
		return -1;
	}
	nw_fabric_peers_free(&x->cur);
	nw_fabric_peers_free(&x->prev);
	x->cur = cur;
	x->prev = prev;
	x->epoch = epoch;
	return 0;
}

int nw_fabric_expect_init(struct nw_fabric_expect *x, const struct nw_fabric_peers *file,
			  uint64_t now_s)
{
	memset(x, 0, sizeof(*x));
	x->file = file;
	return compute(x, file->k ? nw_fabric_mesh_epoch_at(now_s, file->epoch_s) : 0);
}

int nw_fabric_expect_tick(struct nw_fabric_expect *x, uint64_t now_s)
{
	uint64_t epoch;

	if (!x->file || !x->file->k)
		return 0;
	epoch = nw_fabric_mesh_epoch_at(now_s, x->file->epoch_s);
	if (epoch == x->epoch)
		return 0;
	return compute(x, epoch) < 0 ? -1 : 1;
}

static int listed(const struct nw_fabric_peers *p, uint16_t rack)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->peer[i].rack_id == rack)
			return 1;
	return 0;
}

int nw_fabric_expect_has(const struct nw_fabric_expect *x, uint16_t src_rack)
{
	return listed(&x->cur, src_rack) || listed(&x->prev, src_rack);
}

void nw_fabric_expect_free(struct nw_fabric_expect *x)
{
	nw_fabric_peers_free(&x->cur);
	nw_fabric_peers_free(&x->prev);
	memset(x, 0, sizeof(*x));
}
