/* SPDX-License-Identifier: MIT */
#include "schedule.h"

#include <math.h>

void nw_sched_init(struct nw_sched *s, uint64_t mono0_ns, uint64_t tai0_ns, uint64_t rate_uhz,
		   double skew_ppm)
{
	s->mono0_ns = mono0_ns;
	s->tai0_ns = tai0_ns;
	s->rate_uhz = rate_uhz;
	s->speed = 1.0L + (long double)skew_ppm * 1e-6L;
}

uint64_t nw_sched_agent_off(const struct nw_sched *s, uint64_t k)
{
	/* 128-bit so a long run at a high rate neither overflows nor rounds. */
	return (uint64_t)((unsigned __int128)k * 1000000000000000ULL / s->rate_uhz);
}

uint64_t nw_sched_tx_ns(const struct nw_sched *s, uint64_t k)
{
	return s->tai0_ns + nw_sched_agent_off(s, k);
}

uint64_t nw_sched_due(const struct nw_sched *s, uint64_t k)
{
	uint64_t off = nw_sched_agent_off(s, k);

	if (s->speed == 1.0L)
		return s->mono0_ns + off;
	return s->mono0_ns + (uint64_t)llroundl((long double)off / s->speed);
}

uint64_t nw_sched_tick_at(const struct nw_sched *s, uint64_t mono_ns)
{
	long double agent, est;
	uint64_t k;

	if (mono_ns <= s->mono0_ns)
		return 0;
	agent = (long double)(mono_ns - s->mono0_ns) * s->speed;
	est = floorl(agent * (long double)s->rate_uhz / 1e15L);
	k = est > 0 ? (uint64_t)est : 0;
	/* The float estimate is within a tick; settle it exactly against nw_sched_due. */
	while (k > 0 && nw_sched_due(s, k) > mono_ns)
		k--;
	while (nw_sched_due(s, k + 1) <= mono_ns)
		k++;
	return k;
}

uint64_t nw_sched_agent_now(const struct nw_sched *s, uint64_t mono_ns)
{
	long double real = (long double)mono_ns - (long double)s->mono0_ns;

	return s->tai0_ns + (uint64_t)llroundl(real * s->speed);
}
