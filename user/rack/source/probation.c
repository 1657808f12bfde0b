// SPDX-License-Identifier: MIT
#include "probation.h"

uint32_t nw_probation_quota(uint32_t max_slots)
{
	uint32_t q = max_slots / 8;

	if (q < 1)
		q = 1;
	return q > NW_PROBATION_QUOTA_MAX ? NW_PROBATION_QUOTA_MAX : q;
}

int nw_probation_earned(const struct nw_server_state *st)
{
	uint64_t span, expected;

	if (st->received < NW_PROBATION_MIN_SAMPLES || !st->first_rx_ns ||
	    st->last_rx_ns < st->first_rx_ns + NW_PROBATION_NS ||
	    st->rate_uhz < NW_PROBATION_MIN_RATE_UHZ)
		return 0;
	span = st->last_rx_ns - st->first_rx_ns;
	if (span > NW_ELAPSED_CAP_NS)
		span = NW_ELAPSED_CAP_NS; /* 1e9 s times a rate < 2^32 uHz fits in u64 */
	/* Samples the announced rate implies over the span: at least half. */
	expected = span / 1000000000ULL * st->rate_uhz / 1000000ULL;
	return st->received >= expected - expected / 2;
}

enum nw_probation_verdict nw_probation_judge(const struct nw_server_state *st, uint64_t since_ns,
					     uint64_t now_ns)
{
	uint64_t last = st->last_rx_ns > since_ns ? st->last_rx_ns : since_ns;

	if (nw_probation_earned(st))
		return NW_PROBATION_PROMOTE;
	if (now_ns > last + NW_PROBATION_IDLE_NS || now_ns > since_ns + NW_PROBATION_MAX_NS)
		return NW_PROBATION_EVICT;
	return NW_PROBATION_KEEP;
}
