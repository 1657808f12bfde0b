/* SPDX-License-Identifier: MIT */
#include "impair.h"

#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -1;
	if (*end == '%' && end[1] == '\0') {
		*out = v / 100.0;
		return 1; /* percent */
	}
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int parse_prob(const char *key, const char *val, double *out, char *err, size_t errlen)
{
	if (parse_double(val, out) < 0 || *out < 0 || *out > 1) {
		snprintf(err, errlen, "--impair %s=%s: want a probability like 10%% or 0.1", key,
			 val);
		return -1;
	}
	return 0;
}

static int parse_ms(const char *key, const char *val, double *out, char *err, size_t errlen)
{
	if (parse_double(val, out) != 0 || *out < 0 || *out > NW_IMPAIR_MAX_MS) {
		snprintf(err, errlen, "--impair %s=%s: want milliseconds in 0..%.0f", key, val,
			 NW_IMPAIR_MAX_MS);
		return -1;
	}
	return 0;
}

static int parse_item(char *item, struct nw_impair *imp, unsigned *seen, char *err, size_t errlen)
{
	static const char *const keys[] = { "loss", "dup", "delay", "jitter", "skew", "seed" };
	char *eq = strchr(item, '=');
	const char *val;
	unsigned k;

	if (!eq || eq == item || eq[1] == '\0') {
		snprintf(err, errlen, "--impair: '%s' is not key=value", item);
		return -1;
	}
	*eq = '\0';
	val = eq + 1;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(item, keys[k]) == 0)
			break;
	if (k == sizeof(keys) / sizeof(keys[0])) {
		snprintf(err, errlen,
			 "--impair: unknown key '%s' (known: loss, dup, delay, jitter, skew, seed)",
			 item);
		return -1;
	}
	if (*seen & (1U << k)) {
		snprintf(err, errlen, "--impair: '%s' given twice", item);
		return -1;
	}
	*seen |= 1U << k;

	switch (k) {
	case 0:
		return parse_prob(item, val, &imp->loss, err, errlen);
	case 1:
		return parse_prob(item, val, &imp->dup, err, errlen);
	case 2:
		return parse_ms(item, val, &imp->delay_ms, err, errlen);
	case 3:
		return parse_ms(item, val, &imp->jitter_ms, err, errlen);
	case 4:
		if (parse_double(val, &imp->skew_ppm) != 0 ||
		    fabs(imp->skew_ppm) > NW_IMPAIR_MAX_PPM) {
			snprintf(err, errlen, "--impair skew=%s: want ppm in -%.0f..%.0f", val,
				 NW_IMPAIR_MAX_PPM, NW_IMPAIR_MAX_PPM);
			return -1;
		}
		return 0;
	default: {
		char *end;

		errno = 0;
		imp->seed = strtoull(val, &end, 0);
		if (errno || *end != '\0' || val[0] == '-' || val[0] == '+' || val[0] == ' ') {
			snprintf(err, errlen, "--impair seed=%s: want an unsigned 64-bit integer",
				 val);
			return -1;
		}
		imp->has_seed = 1;
		return 0;
	}
	}
}

int nw_impair_parse(const char *spec, struct nw_impair *imp, char *err, size_t errlen)
{
	char buf[512];
	char *save = NULL, *item, *p;
	unsigned seen = 0;
	size_t len = strlen(spec);

	memset(imp, 0, sizeof(*imp));
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "--impair: spec longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, spec, len + 1);
	/* strtok would hide empty items ("loss=1%,,dup=1%"); a typo should not pass silently. */
	for (p = buf;; p = NULL) {
		item = strtok_r(p, ",", &save);
		if (!item)
			break;
		if (parse_item(item, imp, &seen, err, errlen) < 0)
			return -1;
	}
	if (len && (buf[0] == ',' || spec[len - 1] == ',' || strstr(spec, ",,"))) {
		snprintf(err, errlen, "--impair: empty item in '%s'", spec);
		return -1;
	}
	return 0;
}

int nw_impair_active(const struct nw_impair *imp)
{
	return imp->loss > 0 || imp->dup > 0 || nw_impair_delays(imp);
}

int nw_impair_delays(const struct nw_impair *imp)
{
	return imp->delay_ms > 0 || imp->jitter_ms > 0;
}

uint64_t nw_impair_server_key(uint64_t seed, uint32_t rack, uint32_t server)
{
	return nw_mix64(nw_mix64(seed ^ 0x6E7761676E74ULL) ^ (((uint64_t)rack << 32) | server));
}

void nw_impair_decide(const struct nw_impair *imp, uint64_t server_key, uint64_t seq,
		      struct nw_decision *d)
{
	/* One independent stream per purpose, so changing dup= does not reshuffle the losses. */
	uint64_t h = nw_mix64(server_key + seq * NW_GOLDEN64);
	double delay;

	d->drop = imp->loss > 0 && nw_u01(nw_mix64(h + 1 * NW_GOLDEN64)) < imp->loss;
	d->dup = !d->drop && imp->dup > 0 && nw_u01(nw_mix64(h + 2 * NW_GOLDEN64)) < imp->dup;
	delay = imp->delay_ms * 1e6;
	if (imp->jitter_ms > 0)
		delay += imp->jitter_ms * 1e6 *
			 nw_normal(nw_mix64(h + 3 * NW_GOLDEN64), nw_mix64(h + 4 * NW_GOLDEN64));
	d->delay_ns = delay > 0 ? (uint64_t)llround(delay) : 0;
}
