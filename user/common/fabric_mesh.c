// SPDX-License-Identifier: MIT
#include "fabric_mesh.h"

uint32_t nw_fabric_mesh_offsets(uint32_t n, uint32_t k, uint64_t epoch, uint32_t *off)
{
	uint64_t base;
	uint32_t m = 0;

	if (n < 2 || !k)
		return 0;
	if (k >= n - 1) {
		for (uint32_t o = 1; o < n; o++)
			off[m++] = o;
		return m;
	}
	/* (e * k) mod (n - 1) first: no overflow for any epoch. k < n - 1
	 * consecutive values mod n - 1 are distinct, also across the wrap. */
	base = (epoch % (n - 1)) * k;
	for (uint32_t j = 1; j <= k; j++)
		off[m++] = 1 + (uint32_t)((base + j - 1) % (n - 1));
	return m;
}

int nw_fabric_mesh_probes(uint32_t n, uint32_t k, uint64_t epoch, uint32_t from, uint32_t to)
{
	uint64_t base;
	uint32_t o;

	if (n < 2 || !k || from >= n || to >= n || from == to)
		return 0;
	if (k >= n - 1)
		return 1;
	/* o = 1 + ((base + j - 1) mod (n - 1)) for some j in 1..k */
	o = (uint32_t)(((uint64_t)to + n - from) % n);
	base = (epoch % (n - 1)) * k % (n - 1);
	return ((uint64_t)o - 1 + (n - 1) - base) % (n - 1) < k;
}

uint64_t nw_fabric_mesh_epochs(uint32_t n, uint32_t k)
{
	if (n < 2 || !k || k >= n - 1)
		return 1;
	return (n - 1 + (uint64_t)k - 1) / k;
}
