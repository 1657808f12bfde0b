/* SPDX-License-Identifier: MIT */
/*
 * The absolute schedule. Tick k is due at agent time t0 + k*T, with T derived
 * from the wire's integer rate (micro-hertz), so the sender and the collector
 * agree on the period to the nanosecond and nothing accumulates drift.
 *
 * Skew: the agent's clock runs (1 + ppm*1e-6) times as fast as real time, so
 * agent time a = t0 + (real - t0)*(1 + ppm*1e-6). Sample k carries
 * tx_ns = t0_tai + k*T (agent time) and is really sent at
 * t0_mono + k*T/(1 + ppm*1e-6). Sleeping uses CLOCK_MONOTONIC, which
 * clock_nanosleep supports everywhere; CLOCK_TAI is only read, once, at start.
 */
#ifndef NW_AGENT_SCHEDULE_H
#define NW_AGENT_SCHEDULE_H

#include <stdint.h>

struct nw_sched {
	uint64_t mono0_ns; /* CLOCK_MONOTONIC of tick 0 */
	uint64_t tai0_ns;  /* CLOCK_TAI at the same instant */
	uint64_t rate_uhz;
	long double speed; /* 1 + ppm*1e-6: agent seconds per real second */
};

void nw_sched_init(struct nw_sched *s, uint64_t mono0_ns, uint64_t tai0_ns, uint64_t rate_uhz,
		   double skew_ppm);
/* k*T in ns of agent time, floored. */
uint64_t nw_sched_agent_off(const struct nw_sched *s, uint64_t k);
/* tx_ns of sample k. */
uint64_t nw_sched_tx_ns(const struct nw_sched *s, uint64_t k);
/* When (CLOCK_MONOTONIC) tick k is really due. */
uint64_t nw_sched_due(const struct nw_sched *s, uint64_t k);
/* The last tick due at or before mono_ns (0 if none is). */
uint64_t nw_sched_tick_at(const struct nw_sched *s, uint64_t mono_ns);
/* The agent's (skewed) TAI clock at a monotonic instant. */
uint64_t nw_sched_agent_now(const struct nw_sched *s, uint64_t mono_ns);

#endif /* NW_AGENT_SCHEDULE_H */
