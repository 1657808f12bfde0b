/* SPDX-License-Identifier: MIT */
/*
 * Impairment of what the agent puts on the wire (the lab's kernel has no
 * netem): loss, duplication, delay with gaussian jitter, clock skew. Parsed
 * from `loss=P,dup=P,delay=MS,jitter=MS,skew=PPM,seed=N`.
 */
#ifndef NW_AGENT_IMPAIR_H
#define NW_AGENT_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

#define NW_IMPAIR_MAX_MS 3600000.0 /* one hour: beyond that it is an outage, not a delay */
#define NW_IMPAIR_MAX_PPM 100000.0 /* 10%: keeps 1 + ppm*1e-6 far from zero */

struct nw_impair {
	double loss;      /* probability a sample is not sent */
	double dup;       /* probability an extra copy follows a sent sample */
	double delay_ms;  /* constant extra delay */
	double jitter_ms; /* standard deviation of a gaussian added to the delay */
	double skew_ppm;  /* the agent's clock runs fast (>0) or slow (<0) */
	uint64_t seed;
	int has_seed; /* seed=N given: decisions are reproducible */
};

/* What happens to one sample. */
struct nw_decision {
	int drop;
	int dup;
	uint64_t delay_ns; /* delay + jitter, clamped at 0 */
};

/* Parses SPEC into imp (zeroed first). Returns 0, or -1 with a reason in err. */
int nw_impair_parse(const char *spec, struct nw_impair *imp, char *err, size_t errlen);

/* Whether any sample can be dropped, duplicated or delayed (skew is not a per-sample matter). */
int nw_impair_active(const struct nw_impair *imp);

/* Whether samples go through the pending queue. */
int nw_impair_delays(const struct nw_impair *imp);

/* A per-server key, computed once, so a decision costs a few multiplies. */
uint64_t nw_impair_server_key(uint64_t seed, uint32_t rack, uint32_t server);

/* The decision for sample `seq` of the server with this key: a pure function. */
void nw_impair_decide(const struct nw_impair *imp, uint64_t server_key, uint64_t seq,
		      struct nw_decision *d);

#endif /* NW_AGENT_IMPAIR_H */
