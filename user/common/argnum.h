/* SPDX-License-Identifier: MIT */
/* Strict parsers for hostile command-line and environment input. */
#ifndef NW_PARSE_INPUT_H
#define NW_PARSE_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* Decimal only, whole string, within [min, max]. 0 on success, -1 otherwise. */
int nw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A finite decimal > 0 and <= max. 0 on success, -1 otherwise. */
int nw_parse_seconds(const char *s, double max, double *out);

/* "0-7,12": ids in [0, UINT32_MAX], sorted and de-duplicated into a
 * malloc'ed array, at most `limit` ids. 0 on success; -1 with a reason
 * in `why` (static text) otherwise. */
int nw_parse_id_list(const char *s, size_t limit, uint32_t **ids, size_t *count, const char **why);

#endif
