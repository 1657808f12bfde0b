// SPDX-License-Identifier: MIT
#include "argnum.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int nw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts signs, spaces and hex prefixes; none of them is a number here. */
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int nw_parse_seconds(const char *s, double max, double *out)
{
	double v;
	char *end;

	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_id(const char *s, size_t len, uint32_t *out)
{
	char buf[16];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (nw_parse_u64(buf, 0, UINT32_MAX, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int nw_parse_id_list(const char *s, size_t limit, uint32_t **ids, size_t *count, const char **why)
{
	uint32_t *v = NULL;
	size_t n = 0;

	*ids = NULL;
	*count = 0;
	if (!s || !*s) {
		*why = "empty server list";
		return -1;
	}
	while (*s) {
		size_t len = strcspn(s, ",");
		const char *dash = memchr(s, '-', len);
		uint32_t lo, hi;

		if (dash) {
			if (parse_id(s, (size_t)(dash - s), &lo) ||
			    parse_id(dash + 1, len - (size_t)(dash - s) - 1, &hi)) {
				*why = "bad range in server list";
				goto fail;
			}
		} else if (parse_id(s, len, &lo)) {
			*why = "bad id in server list";
			goto fail;
		} else {
			hi = lo;
		}
		if (hi < lo) {
			*why = "descending range in server list";
			goto fail;
		}
		/* Checked before allocating, so "0-4294967295" cannot exhaust memory. */
		if ((uint64_t)hi - lo + 1 > limit - n) {
			*why = "server list longer than --max-servers";
			goto fail;
		}
		uint32_t *nv = realloc(v, (n + (size_t)(hi - lo) + 1) * sizeof(*v));
		if (!nv) {
			*why = "out of memory";
			goto fail;
		}
		v = nv;
		for (uint64_t id = lo; id <= hi; id++)
			v[n++] = (uint32_t)id;
		s += len;
		if (*s == ',') {
			s++;
			if (!*s) {
				*why = "trailing comma in server list";
				goto fail;
			}
		}
	}
	qsort(v, n, sizeof(*v), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*ids = v;
	*count = u;
	return 0;
fail:
	free(v);
	return -1;
}
