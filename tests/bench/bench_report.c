// SPDX-License-Identifier: MIT
/*
 * The DC's CPU per rack report, in process (no sockets): for 40 and 1000
 * servers per report, without a key, with one (XChaCha20-Poly1305, what
 * racks write) and with an old rack's keyed BLAKE2b or HMAC-SHA-256
 * trailer, the time of
 *  - "parse": nw_report_parse (the MAC when keyed, pre-scan, yajl stream);
 *  - "parse+offer": that plus dc_state_offer into a DC of 10,000 racks
 *    (the previous report of the rack freed, the new one kept);
 *  - "reference": the jansson DOM parser the DC used before
 *    (tests/lib/report_ref.c), for comparison;
 * the MAC check alone (each kind),
 * and the state memory per rack and per server summary (mallinfo2 delta
 * over 10,000 racks of 40 servers, and sizeof).
 * CPU time (CLOCK_PROCESS_CPUTIME_ID), so a shared machine's other load
 * counts less than in wall time. reports/s per core = 1e6 / us.
 * The socket side (read, epoll) is in bench_dc.py. Not a test: nothing is
 * asserted. `make bench`.
 */
#include <malloc.h>
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dc_metrics.h"
#include "dc_state.h"
#include "report.h"
#include "report_ref.h"

#define RACKS 10000U

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A report as a rack writes it: realistic values, 9 significant digits;
 * with `npaths` > 0 also a fabric rack's (issue 16): that many paths_in
 * rows and every tenth server degraded with an onset and a period. */
static void make_frame_paths(uint32_t n, uint32_t npaths, uint32_t rack, const struct nw_keys *keys,
			     struct nw_buf *out)
{
	struct nw_report_server *s = calloc(n, sizeof(*s));
	struct nw_report_path *p = calloc(npaths + 1, sizeof(*p));
	struct nw_report r = { .rack_id = rack,
			       .boot_ns = 1764000000123456789ULL,
			       .seq = 1,
			       .time_ns = 1764000042123456789ULL,
			       .interval_s = 1.0,
			       .rack_score = 0.973125,
			       .nservers = n,
			       .servers = s,
			       .npaths = npaths,
			       .paths = p };

	for (uint32_t i = 0; i < npaths; i++)
		p[i] = (struct nw_report_path){ .src_rack = rack + 1 + i,
						.cls = NW_HEALTH_HEALTHY,
						.error = 0.0212 + 1e-5 * i,
						.loss_ratio = 0.0,
						.latency_p50_s = 0.000213,
						.latency_p99_s = 0.000912,
						.period_s = NAN,
						.mesh_epoch = 41 };
	for (uint32_t i = 0; i < n; i++)
		s[i] = (struct nw_report_server){ .id = 1000 + i,
						  .cls = NW_HEALTH_HEALTHY,
						  .error = 0.0131 + 1e-5 * i,
						  .snr_db = 18.93 + 0.01 * i,
						  .loss_ratio = i % 10 ? 0.0 : 0.001,
						  .jitter_s = 0.000123 + 1e-7 * i,
						  .up = 1 };
	for (uint32_t i = 0; npaths && i < n; i += 10) {
		s[i].cls = NW_HEALTH_WARNING;
		s[i].since_ns = 1764000040123456789ULL;
		s[i].period_s = 2.5;
	}
	if (nw_report_encode(&r, keys, out)) {
		fprintf(stderr, "encode failed\n");
		exit(1);
	}
	free(s);
	free(p);
}

static void make_frame(uint32_t n, uint32_t rack, const struct nw_keys *keys, struct nw_buf *out)
{
	make_frame_paths(n, 0, rack, keys, out);
}

/* The frame as a rack not yet upgraded wrote it: its trailer replaced by
 * one of `kind`. */
static void to_kind(struct nw_buf *f, uint8_t kind, const struct nw_keys *keys)
{
	f->len -= nw_report_mac_len((uint8_t)f->p[4]);
	f->p[4] = (char)kind;
	if (nw_report_mac_append(f, kind, keys))
		exit(1);
}

/* The DC's MAC check alone over a 40- and a 1000-server frame, each kind
 * it reads (libsodium's, picked at sodium_init, which nw_keys_derive
 * calls). */
static void mac_alone(const struct nw_keys *keys)
{
	static const uint32_t sizes[] = { 40, 1000 };
	static const uint8_t kinds[] = { NW_REPORT_FLAG_MAC_XCHACHA, NW_REPORT_FLAG_MAC_BLAKE2B,
					 NW_REPORT_FLAG_MAC };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned iters = sizes[i] <= 40 ? 20000 : 500;
		double us[3];
		size_t body = 0;

		for (size_t k = 0; k < 3; k++) {
			struct nw_buf f = { 0 };
			double t0;

			make_frame(sizes[i], 7, keys, &f);
			to_kind(&f, kinds[k], keys);
			body = f.len - nw_report_mac_len(kinds[k]);
			t0 = cpu_s();
			for (unsigned j = 0; j < iters; j++)
				if (!nw_report_mac_verify(kinds[k], (const uint8_t *)f.p, body,
							  (const uint8_t *)f.p + body, keys))
					exit(1);
			us[k] = (cpu_s() - t0) / iters * 1e6;
			nw_buf_free(&f);
		}
		printf("MAC check alone over %zu bytes: XChaCha20-Poly1305 %.2f us, keyed BLAKE2b"
		       " %.2f us, HMAC-SHA-256 %.2f us\n",
		       body, us[0], us[1], us[2]);
	}
}

typedef enum nw_report_reject (*parse_fn)(const uint8_t *, size_t, const struct nw_keys *,
					  struct nw_report *);

static double time_parse(parse_fn fn, const struct nw_buf *f, const struct nw_keys *keys,
			 unsigned iters)
{
	double t0 = cpu_s();

	for (unsigned i = 0; i < iters; i++) {
		struct nw_report r;

		if (fn((const uint8_t *)f->p, f->len, keys, &r) != NW_REJ_OK) {
			fprintf(stderr, "parse failed\n");
			exit(1);
		}
		nw_report_free(&r);
	}
	return (cpu_s() - t0) / iters * 1e6;
}

static double time_offer(const struct nw_buf *f, const struct nw_keys *keys, unsigned iters)
{
	struct dc_cfg cfg = { .racks_expected = RACKS,
			      .max_racks = RACKS,
			      .stale_s = 5,
			      .max_servers_total = DC_MAX_SERVERS_TOTAL * 16 };
	struct dc_state st;
	double t0, us;

	if (dc_state_init(&st, &cfg))
		exit(1);
	t0 = cpu_s();
	for (unsigned i = 0; i < iters; i++) {
		struct nw_report r;
		uint32_t conn_rack = DC_NO_RACK;
		uint64_t evicted;

		if (nw_report_parse((const uint8_t *)f->p, f->len, keys, &r) != NW_REJ_OK)
			exit(1);
		r.seq = i + 1; /* newer each time */
		if (dc_state_offer(&st, &r, 1, &conn_rack, r.time_ns, 1000000000ULL + i,
				   &evicted) != NW_REJ_OK) {
			fprintf(stderr, "offer refused\n");
			exit(1);
		}
		nw_report_free(&r);
	}
	us = (cpu_s() - t0) / iters * 1e6;
	dc_state_free(&st);
	return us;
}

/* CPU seconds and bytes of one /metrics page at a --rack-detail-max. */
static double metrics_page(struct dc_view *v, uint32_t detail_max, size_t *len)
{
	struct nw_buf page = { 0 };
	double t0;

	v->rack_detail_max = detail_max;
	t0 = cpu_s();
	if (dc_metrics_render(v, 2000000000ULL, &page))
		exit(1);
	t0 = cpu_s() - t0;
	*len = page.len;
	nw_buf_free(&page);
	return t0;
}

/* What one response holds the DC's loop for, at RACKS racks of 40 servers:
 * rendering /metrics (with every per-rack family, and with the default
 * --rack-detail-max, above which only scores and stale flags are per rack)
 * and the default /api/v1/dc (the socket write is libmicrohttpd's,
 * non-blocking). */
static void responses(const struct dc_state *st)
{
	struct dc_view v = { .dc_id = "fra1", .state = st };
	struct dc_api_query q;
	double t_full, t_lean, t_api;
	size_t full_len, lean_len, api_len;
	char *doc;

	t_full = metrics_page(&v, RACKS, &full_len);
	t_lean = metrics_page(&v, DC_RACK_DETAIL_MAX_DEFAULT, &lean_len);
	dc_api_query_default(&q);
	t_api = cpu_s();
	doc = dc_api_json(&v, &q, 2000000000ULL);
	t_api = cpu_s() - t_api;
	if (!doc)
		exit(1);
	api_len = strlen(doc);
	free(doc);
	printf("responses at %u racks x 40 servers: /metrics %zu bytes in %.1f ms"
	       " (every per-rack family), %zu bytes in %.1f ms (--rack-detail-max %u),"
	       " /api/v1/dc (default) %zu bytes in %.1f ms\n",
	       RACKS, full_len, t_full * 1e3, lean_len, t_lean * 1e3, DC_RACK_DETAIL_MAX_DEFAULT,
	       api_len, t_api * 1e3);
}

/* The DC's heap for RACKS racks of 40 servers each, one report kept per rack. */
static void memory(void)
{
	struct dc_cfg cfg = { .racks_expected = RACKS,
			      .max_racks = RACKS,
			      .stale_s = 5,
			      .max_servers_total = DC_MAX_SERVERS_TOTAL };
	struct mallinfo2 a, b;
	struct dc_state st;
	struct nw_buf f = { 0 };
	struct nw_keys none = { 0 };

	make_frame(40, 0, NULL, &f);
	a = mallinfo2();
	if (dc_state_init(&st, &cfg))
		exit(1);
	for (uint32_t rack = 0; rack < RACKS; rack++) {
		struct nw_report r;
		uint32_t conn_rack = DC_NO_RACK;
		uint64_t evicted;

		if (nw_report_parse((const uint8_t *)f.p, f.len, &none, &r) != NW_REJ_OK)
			exit(1);
		r.rack_id = rack;
		if (dc_state_offer(&st, &r, rack + 1, &conn_rack, r.time_ns, 1, &evicted))
			exit(1);
		nw_report_free(&r);
	}
	b = mallinfo2();
	printf("state memory: %u racks x 40 servers: %.0f bytes per rack, %.1f per server summary"
	       " (sizeof: rack %zu, server summary %zu)\n",
	       RACKS, (double)(b.uordblks - a.uordblks) / RACKS,
	       (double)(b.uordblks - a.uordblks) / (RACKS * 40.0), sizeof(struct dc_rack),
	       sizeof(struct nw_report_server));
	responses(&st);
	dc_state_free(&st);
	nw_buf_free(&f);
}

int main(void)
{
	static const uint32_t sizes[] = { 40, 1000 };
	uint8_t master[NW_KEY_MASTER_LEN];
	struct nw_keys key = { 0 }, none = { 0 };

	memset(master, 0x42, sizeof(master));
	if (nw_keys_derive(&key, master))
		return 1;
	printf("bench_report: DC CPU per report (CLOCK_PROCESS_CPUTIME_ID)\n");
	printf("%8s %7s %8s %10s %12s %12s %14s\n", "servers", "keyed", "bytes", "parse us",
	       "+offer us", "reference us", "reports/s/core");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int keyed = 0; keyed < 4; keyed++) {
			static const char *const kind[] = { "no", "xchacha", "b2b", "hmac" };
			const struct nw_keys *k = keyed ? &key : &none;
			unsigned iters = sizes[i] <= 40 ? 20000 : 500;
			struct nw_buf f = { 0 };
			double p, o, ref;

			make_frame(sizes[i], 7, k, &f);
			if (keyed >= 2)
				to_kind(&f,
					keyed == 2 ? NW_REPORT_FLAG_MAC_BLAKE2B
						   : NW_REPORT_FLAG_MAC,
					k);
			p = time_parse(nw_report_parse, &f, k, iters);
			o = time_offer(&f, k, iters);
			ref = time_parse(nw_report_parse_ref, &f, k, iters / 10);
			printf("%8u %7s %8zu %10.2f %12.2f %12.2f %14.0f\n", sizes[i], kind[keyed],
			       f.len, p, o, ref, 1e6 / o);
			nw_buf_free(&f);
		}
		if (sizes[i] == 40) {
			/* a fabric rack's report: 16 paths_in rows (k = 16), 4
			 * degraded servers with since_ns and period_s */
			struct nw_buf f = { 0 };
			double p, o, ref;

			make_frame_paths(40, 16, 7, &none, &f);
			p = time_parse(nw_report_parse, &f, &none, 20000);
			o = time_offer(&f, &none, 20000);
			ref = time_parse(nw_report_parse_ref, &f, &none, 2000);
			printf("%8s %6s %8zu %10.2f %12.2f %12.2f %14.0f\n", "40+16p", "no", f.len,
			       p, o, ref, 1e6 / o);
			nw_buf_free(&f);
		}
	}
	mac_alone(&key);
	memory();
	return 0;
}
