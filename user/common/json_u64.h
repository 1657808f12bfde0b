/* SPDX-License-Identifier: MIT */
/*
 * An unsigned 64-bit counter as a JSON number. jansson's integers are
 * signed (json_int_t), so a plain cast prints a counter above 2^63 - 1 as a
 * negative number. Decision (docs/security.md, "HTTP, privileges, files"):
 * up to 2^63 - 1 the counter is an exact JSON integer; above it, a JSON
 * real of the same magnitude (nearest double, so never negative and never
 * going down as the counter grows). A counter that high is either decades
 * of traffic or a forged value; either way the reader must see a huge
 * positive number, not a wrapped one. Strings were rejected: every reader
 * would have to special-case one field type.
 */
#ifndef NW_JSON_U64_H
#define NW_JSON_U64_H

#include <stdint.h>
#include <jansson.h>

/* A new reference, or NULL when out of memory (as every json_* maker). */
json_t *nw_json_u64(uint64_t v);

#endif
