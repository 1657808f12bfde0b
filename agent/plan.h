/* SPDX-License-Identifier: MIT */
/*
 * The seed frequency plan: rack r, server s -> 1.0 + r + 0.05*s Hz. Servers
 * 0..19 keep every tone inside its rack's own 1 Hz band, so a tone alone names
 * its sender. Frequencies are carried as integer micro-hertz, as on the wire.
 */
#ifndef NW_AGENT_PLAN_H
#define NW_AGENT_PLAN_H

#include "nw_wire.h" /* NW_PLAN_*: the agent and the analysis share the plan */

#include <stddef.h>
#include <stdint.h>

/* The plan's tone in micro-hertz; -1 if the server is outside the plan. */
int nw_plan_tone_uhz(uint32_t rack, uint32_t server, uint64_t *uhz);

/* Hz -> micro-hertz, rounded to nearest; -1 if not finite, negative or too big for 64 bits. */
int nw_hz_to_uhz(double hz, uint64_t *uhz);

/*
 * Whether a tone can be carried by wire v1 and sampled at this rate: 0 < tone,
 * 2*tone < rate (Nyquist, compared in the wire's micro-hertz so the collector's
 * parser agrees), both within 32 bits. On refusal writes why into err.
 */
int nw_tone_check(uint64_t freq_uhz, uint64_t rate_uhz, char *err, size_t errlen);

/* Prints micro-hertz as a decimal Hz number without rounding ("1.050000"). */
int nw_uhz_format(uint64_t uhz, char *buf, size_t len);

#endif /* NW_AGENT_PLAN_H */
