/* SPDX-License-Identifier: MIT */
/*
 * The reference reading of a report payload: the jansson DOM parser the DC
 * used until the streaming one (user/common/report_parse.c) replaced it for
 * speed. Test-only: the fuzzer and test_report compare the two verdict for
 * verdict and value for value. nw_report_parse_ref has nw_report_parse's
 * contract.
 */
#ifndef NW_REPORT_REF_H
#define NW_REPORT_REF_H

#include "report.h"

enum nw_report_reject nw_report_parse_ref(const uint8_t *frame, size_t len,
					  const struct nw_keys *keys, struct nw_report *out);

#endif
