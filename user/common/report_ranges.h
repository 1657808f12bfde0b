/* SPDX-License-Identifier: MIT */
/*
 * Every range a report value must hold, in one place for the encoder
 * (report.c), the DC's parser (report_parse.c) and the reference parser the
 * tests compare it with, so they cannot drift apart. NaN fails every
 * comparison, hence the positive forms.
 */
#ifndef NW_REPORT_RANGES_H
#define NW_REPORT_RANGES_H

#include "report.h"

static inline int nw_report_unit_ok(double x)
{
	return x >= 0.0 && x <= 1.0;
}

static inline int nw_report_interval_ok(double x)
{
	return x > 0.0 && x <= NW_REPORT_MAX_INTERVAL_S;
}

static inline int nw_report_jitter_ok(double x)
{
	return x >= 0.0 && x <= 3600.0;
}

static inline int nw_report_snr_ok(double x)
{
	return x >= -NW_REPORT_SNR_LIMIT_DB && x <= NW_REPORT_SNR_LIMIT_DB;
}

/* A disturbance period (s): positive, at most an hour (an interval's bound). */
static inline int nw_report_period_ok(double x)
{
	return x > 0.0 && x <= NW_REPORT_MAX_INTERVAL_S;
}

/* A path's one-way latency quantile in ms: 0 .. an hour. */
static inline int nw_report_latency_ok(double ms)
{
	return ms >= 0.0 && ms <= NW_REPORT_MAX_INTERVAL_S * 1e3;
}

/* Sorts r->paths by src_rack and checks that no rack is listed twice and
 * none is the reporting rack: NW_REJ_OK or NW_REJ_RANGE (report.c; the
 * parser and its reference share it). */
enum nw_report_reject nw_report_paths_order(struct nw_report *r);

#endif
