/* SPDX-License-Identifier: MIT */
#include "plan.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

int nw_plan_tone_uhz(uint32_t rack, uint32_t server, uint64_t *uhz)
{
	if (server >= NW_PLAN_SERVERS)
		return -1;
	*uhz = NW_PLAN_BASE_UHZ + (uint64_t)rack * NW_PLAN_RACK_UHZ +
	       (uint64_t)server * NW_PLAN_STEP_UHZ;
	return 0;
}

int nw_hz_to_uhz(double hz, uint64_t *uhz)
{
	double v;

	if (!isfinite(hz) || hz < 0)
		return -1;
	v = round(hz * 1e6);
	if (v >= 0x1p63)
		return -1;
	*uhz = (uint64_t)v;
	return 0;
}

int nw_uhz_format(uint64_t uhz, char *buf, size_t len)
{
	return snprintf(buf, len, "%" PRIu64 ".%06" PRIu64, uhz / 1000000U, uhz % 1000000U);
}

int nw_tone_check(uint64_t freq_uhz, uint64_t rate_uhz, char *err, size_t errlen)
{
	char f[32], r[32], h[32];

	nw_uhz_format(freq_uhz, f, sizeof(f));
	nw_uhz_format(rate_uhz, r, sizeof(r));
	nw_uhz_format(rate_uhz / 2, h, sizeof(h));
	if (rate_uhz == 0 || rate_uhz > UINT32_MAX) {
		snprintf(err, errlen,
			 "rate %s Hz cannot be carried by wire v1 (0 < rate <= 4294.967295 Hz)", r);
		return -1;
	}
	if (freq_uhz == 0) {
		snprintf(err, errlen, "tone %s Hz must be above 0 (at micro-hertz resolution)", f);
		return -1;
	}
	if (freq_uhz >= rate_uhz ||
	    freq_uhz * 2 >= rate_uhz) { /* first test keeps *2 from overflowing */
		snprintf(err, errlen,
			 "tone %s Hz is at or above the Nyquist limit %s Hz of rate %s Hz; raise --rate or lower the tone",
			 f, h, r);
		return -1;
	}
	return 0;
}
