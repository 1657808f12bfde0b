/* SPDX-License-Identifier: MIT */
/*
 * A report frame (report.h) built byte by byte around any payload, for the
 * unit tests and the fuzzer: the encoder only writes valid JSON and only
 * the MAC kind racks send, these frames can hold anything under any kind.
 */
#ifndef NW_TEST_REPORT_FRAME_H
#define NW_TEST_REPORT_FRAME_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Header, `payload` (`n` bytes, the length field says n) and, with `keys`,
 * the trailer of MAC kind `kind` (one NW_REPORT_FLAG_MAC* bit, flagged in
 * the header). malloc'ed; NULL when out of memory or signing failed. */
static uint8_t *nw_test_frame(const uint8_t *payload, size_t n, const struct nw_keys *keys,
			      uint8_t kind, size_t *len)
{
	size_t mac = keys ? nw_report_mac_len(kind) : 0;
	uint8_t *f = malloc(NW_REPORT_HDR_LEN + n + mac);

	if (!f)
		return NULL;
	memset(f, 0, NW_REPORT_HDR_LEN);
	memcpy(f, "NWR", 3);
	f[3] = NW_REPORT_VERSION;
	f[4] = keys ? kind : 0;
	f[8] = (uint8_t)(n >> 24);
	f[9] = (uint8_t)(n >> 16);
	f[10] = (uint8_t)(n >> 8);
	f[11] = (uint8_t)n;
	if (n)
		memcpy(f + NW_REPORT_HDR_LEN, payload, n);
	if (keys &&
	    nw_report_mac_sign(kind, f, NW_REPORT_HDR_LEN + n, keys, f + NW_REPORT_HDR_LEN + n)) {
		free(f);
		return NULL;
	}
	*len = NW_REPORT_HDR_LEN + n + mac;
	return f;
}

#endif
