// SPDX-License-Identifier: MIT
/* replaced at merge by the analysis helper's nw_analysis_tick: until then the
 * tick changes no class, and the daemon's sub-second tick (serve.c) only
 * carries liveness. */
#include "analysis.h"

void nw_analysis_tick(struct nw_analysis *a, struct nw_rack_view *v, uint64_t now_ns)
{
	(void)a;
	(void)v;
	(void)now_ns;
}
