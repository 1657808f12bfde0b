/* SPDX-License-Identifier: MIT */
/* The impairment netwatch-chaos is asked for, its parsers, and its
 * translation into each backend's terms (BPF map, agent SPEC). */
#ifndef NW_CHAOS_FAULTS_H
#define NW_CHAOS_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "chaos_params.h"

enum nw_fault {
	NW_FAULT_DELAY = 1U << 0,
	NW_FAULT_JITTER = 1U << 1,
	NW_FAULT_LOSS = 1U << 2, /* with burst > 1: Gilbert-Elliott bursts */
	NW_FAULT_DUPLICATE = 1U << 3,
	NW_FAULT_CORRUPT = 1U << 4,
	NW_FAULT_OUTAGE = 1U << 5, /* everything lost for LEN of every PERIOD */
	NW_FAULT_SKEW = 1U << 6,   /* the sender's clock runs fast or slow */
};
#define NW_FAULTS_TIMING (NW_FAULT_DELAY | NW_FAULT_JITTER)
#define NW_FAULTS_PACKET (NW_FAULT_LOSS | NW_FAULT_DUPLICATE | NW_FAULT_CORRUPT)
/* What each backend can do. */
#define NW_FAULTS_NETEM (NW_FAULTS_TIMING | NW_FAULTS_PACKET)
#define NW_FAULTS_BPF (NW_FAULTS_PACKET | NW_FAULT_OUTAGE)
#define NW_FAULTS_AGENT (NW_FAULTS_TIMING | NW_FAULT_LOSS | NW_FAULT_DUPLICATE | NW_FAULT_SKEW)
#define NW_CHAOS_MAX_PPM 100000.0 /* the agent's bound */

#define NW_CHAOS_MAX_DELAY_NS 3600000000000ULL /* one hour, as the agent's bound */
#define NW_CHAOS_MAX_BURST 1000000.0

struct nw_chaos_faults {
	unsigned set; /* enum nw_fault bits given */
	uint64_t delay_ns;
	uint64_t jitter_ns;
	double loss;  /* fractions 0..1 */
	double burst; /* mean length of a loss burst in packets; <= 1: independent */
	double duplicate;
	double corrupt;
	uint64_t outage_len_ns;
	uint64_t outage_period_ns;
	double skew_ppm;
};

/* "200ms", "1.5s", "250us", "100ns"; a bare number is milliseconds.
 * 0, or -1 when malformed, negative or above an hour. */
int nw_chaos_parse_duration(const char *s, uint64_t *ns);

/* "20", "20%", "0.5%": percent 0..100 into a fraction. 0 or -1. */
int nw_chaos_parse_percent(const char *s, double *frac);

/* "500ms/5s": an outage of LEN every PERIOD, 0 < LEN < PERIOD <= 1 h. 0 or -1. */
int nw_chaos_parse_outage(const char *s, uint64_t *len_ns, uint64_t *period_ns);

/* "200", "-50.5", "200ppm": parts per million within +-NW_CHAOS_MAX_PPM. 0 or -1. */
int nw_chaos_parse_ppm(const char *s, double *ppm);

/* A fraction 0..1 as a probability of 2^32 (1 -> NW_CHAOS_ALWAYS). */
uint32_t nw_chaos_prob(double frac);

/* Gilbert-Elliott transition probabilities that give mean loss `loss` in
 * bursts of mean length `burst` (bad state always drops, good never):
 * p_bg = 1/burst, p_gb = loss * p_bg / (1 - loss). -1 with a reason when
 * no such chain exists (burst shorter than loss / (1 - loss)). */
int nw_chaos_gilbert(double loss, double burst, double *p_gb, double *p_bg, const char **why);

/* Checks the combination (a burst needs a loss, ...). 0 or -1 with a reason. */
int nw_chaos_faults_check(const struct nw_chaos_faults *f, const char **why);

/* The BPF backend's map value for the packet faults in f. */
void nw_chaos_bpf_params(const struct nw_chaos_faults *f, uint16_t sample_port,
			 struct nw_chaos_params *out);

/* Sums the per-CPU values of the program's chaos_stats map into *sum. */
void nw_chaos_stats_sum(struct nw_chaos_stats *sum, const struct nw_chaos_stats *per, int ncpu);

/* The faults a BPF map value asks for (inverse of nw_chaos_bpf_params, to
 * the precision of 2^-32). */
void nw_chaos_params_faults(const struct nw_chaos_params *p, struct nw_chaos_faults *f);

/* The agent's SPEC for the faults in `which` ("delay=200,jitter=25", ms;
 * loss/dup in percent). Delay and jitter are always written, so a SPEC
 * sent for timing replaces an earlier one. 0, or -1 if it does not fit. */
int nw_chaos_agent_spec(const struct nw_chaos_faults *f, unsigned which, char *out, size_t size);

/* "delay 200ms jitter 25ms loss 20% (bursts of 5)" for messages. */
void nw_chaos_describe(const struct nw_chaos_faults *f, unsigned which, char *out, size_t size);

#endif
