// SPDX-License-Identifier: MIT
/* The rack view as the daemon refreshes it: liveness taken from the tracker
 * (liveness.h), the state and rack score derived by nw_rack_view_finish and
 * again by the sub-second tick (nw_rack_view_derive), and the analysis
 * judging a server by that same liveness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "faults.h"
#include "liveness.h"
#include "rack_view.h"
#include "test_spectrum_gen.h"

#define S_NS 1000000000ULL
#define MS_NS 1000000ULL
#define RATE_UHZ 20000000U

static void heard(struct nw_live *l, uint32_t slot, uint32_t id, uint64_t rx_ns, uint16_t flags)
{
	struct nw_record r = { .rx_ns = rx_ns, .tx_ns = rx_ns, .flags = flags };

	nw_live_record(l, slot, id, &r);
}

/* A slot's counters into the view and its rate to liveness, as
 * rack_serve_set_server does. */
static struct nw_server_view *put(struct nw_rack_view *v, struct nw_live *l, uint32_t slot,
				  uint32_t id, uint32_t status)
{
	struct nw_server_state st = { .server_id = id, .status = status, .rate_uhz = RATE_UHZ };
	struct nw_server_rx rx = { .slot = slot, .server_id = id, .registered = 1 };

	nw_live_set_rate(l, slot, id, RATE_UHZ);
	return nw_rack_view_set_server(v, slot, &st, &rx);
}

/* One server per state; the score counts the four that have not left. */
static void test_states_and_score(void **state)
{
	const uint64_t now = GEN_T0_NS;
	struct nw_rack_view v;
	struct nw_live l;
	struct nw_server_view *e;

	(void)state;
	assert_int_equal(nw_rack_view_init(&v, 5, 0, 1.0), 0);
	assert_int_equal(nw_live_init(&l, 5, NW_LIVE_DOWN_AFTER_DEFAULT), 0);
	heard(&l, 0, 10, now - 100 * MS_NS, 0);
	heard(&l, 1, 11, now - 4 * S_NS, 0);          /* silent for 4 s */
	heard(&l, 2, 12, now - S_NS, NW_REC_GOODBYE); /* said goodbye */
	heard(&l, 3, 13, now - 500 * MS_NS, 0);       /* exactly the limit: still up */
	nw_rack_view_begin(&v, now, &(struct nw_stats){ 0 }, 0, 1);
	e = put(&v, &l, 0, 10, 0);
	e->analysed = 1;
	e->spectral_error = 0.3;
	e->analysis_class = NW_HEALTH_WARNING;
	put(&v, &l, 1, 11, 0);
	put(&v, &l, 2, 12, NW_ST_CLOSED);
	put(&v, &l, 3, 13, 0);
	put(&v, &l, 4, 14, 0); /* registered, never heard */
	nw_live_tick(&l, now);
	nw_rack_view_set_live(&v, &l, now);
	nw_rack_view_finish(&v);

	assert_true(v.slots[0].up && !v.slots[0].left);
	assert_int_equal(v.slots[0].health, NW_HEALTH_WARNING);
	assert_false(v.slots[1].up);
	assert_int_equal(v.slots[1].health, NW_HEALTH_DOWN);
	assert_true(v.slots[1].outages == 1 && v.slots[1].outage_s == 4.0);
	assert_true(v.slots[2].left && !v.slots[2].up);
	assert_int_equal(v.slots[2].health, NW_HEALTH_LEFT);
	assert_true(v.slots[2].outages == 0);
	assert_true(v.slots[3].up);
	assert_int_equal(v.slots[3].health, NW_HEALTH_WARMING); /* up, not measured yet */
	assert_int_equal(v.slots[4].health, NW_HEALTH_DOWN);    /* registered, never heard */
	assert_true(v.slots[4].outages == 0);
	assert_int_equal(v.state_count[NW_HEALTH_HEALTHY], 0);
	assert_int_equal(v.state_count[NW_HEALTH_WARMING], 1);
	assert_int_equal(v.state_count[NW_HEALTH_WARNING], 1);
	assert_int_equal(v.state_count[NW_HEALTH_DOWN], 2);
	assert_int_equal(v.state_count[NW_HEALTH_LEFT], 1);
	/* the warming server is left out: nothing measured, good or bad */
	assert_float_equal(v.rack_score, (0.7 + 0 + 0) / 3.0, 1e-12);
	assert_int_equal(v.count, 5);
	/* three of the four servers that have not left are degraded, with one
	 * onset: one rack fault (faults.c, scope rule 1), pending for the hold
	 * (2 intervals) first */
	{
		struct nw_scope_state sc;
		struct nw_scope_cfg cfg;
		json_t *f;

		nw_scope_cfg_default(&cfg);
		nw_scope_init(&sc, &cfg);
		assert_int_equal(nw_rack_faults_update(&sc, &v, GEN_T0_NS), 0);
		f = nw_rack_faults_json(&sc);
		assert_int_equal(json_array_size(f), 0);
		json_decref(f);
		assert_int_equal(nw_rack_faults_update(&sc, &v, GEN_T0_NS + S_NS), 0);
		f = nw_rack_faults_json(&sc);
		nw_scope_free(&sc);
		assert_non_null(f);
		assert_int_equal(json_array_size(f), 1);
		assert_string_equal(json_string_value(
					    json_object_get(json_array_get(f, 0), "name")),
				    "rack:0");
		assert_string_equal(json_string_value(
					    json_object_get(json_array_get(f, 0), "cause")),
				    "servers");
		assert_int_equal(json_integer_value(
					 json_object_get(json_array_get(f, 0), "members_total")),
				 3);
		json_decref(f);
	}

	/* Everyone gone: nothing expected is failing. */
	nw_rack_view_begin(&v, now, NULL, 0, 1);
	put(&v, &l, 2, 12, NW_ST_CLOSED);
	nw_rack_view_set_live(&v, &l, now);
	nw_rack_view_finish(&v);
	assert_int_equal(v.count, 1);
	assert_float_equal(v.rack_score, 1.0, 0);

	/* Not heard since the controller began, closed by the counters: left. */
	nw_rack_view_begin(&v, now, NULL, 0, 1);
	put(&v, &l, 4, 14, NW_ST_CLOSED);
	nw_rack_view_set_live(&v, &l, now);
	nw_rack_view_finish(&v);
	assert_int_equal(v.slots[4].health, NW_HEALTH_LEFT);
	nw_live_free(&l);
	nw_rack_view_free(&v);
}

/* The rack's faults with the DC's hold and clear, interval by interval on
 * a controlled clock: a server whose class flips every interval is never
 * reported; one degraded for two intervals is, and stays through a single
 * healthy interval (no flapping), ending after five. */
static void test_faults_hold_and_clear(void **state)
{
	const uint64_t now = GEN_T0_NS;
	struct nw_scope_state sc;
	struct nw_scope_cfg cfg;
	struct nw_rack_view v;
	struct nw_live l;
	uint64_t wall = GEN_T0_NS;
	int t = 0;

	(void)state;
	assert_int_equal(nw_rack_view_init(&v, 4, 3, 1.0), 0);
	assert_int_equal(nw_live_init(&l, 4, NW_LIVE_DOWN_AFTER_DEFAULT), 0);
	nw_scope_cfg_default(&cfg);
	nw_scope_init(&sc, &cfg);
	for (uint32_t i = 0; i < 4; i++)
		heard(&l, i, i, now - 100 * MS_NS, 0);
	nw_live_tick(&l, now);
/* One interval: server 2 healthy or warning, the others healthy; returns
 * the reported faults' names, space-separated. */
#define INTERVAL(bad2, want)                                                                    \
	do {                                                                                    \
		json_t *f_;                                                                     \
		char got_[128] = "";                                                            \
		nw_rack_view_begin(&v, now, &(struct nw_stats){ 0 }, 0, 1);                     \
		for (uint32_t j_ = 0; j_ < 4; j_++) {                                           \
			struct nw_server_view *e_ = put(&v, &l, j_, j_, 0);                     \
			e_->analysed = 1;                                                       \
			e_->analysis_class = j_ == 2 && (bad2) ? NW_HEALTH_WARNING              \
							       : NW_HEALTH_HEALTHY;             \
		}                                                                               \
		nw_rack_view_set_live(&v, &l, now);                                             \
		nw_rack_view_finish(&v);                                                        \
		assert_int_equal(nw_rack_faults_update(&sc, &v, wall), 0);                      \
		wall += S_NS;                                                                   \
		t++;                                                                            \
		f_ = nw_rack_faults_json(&sc);                                                  \
		assert_non_null(f_);                                                            \
		for (size_t k_ = 0; k_ < json_array_size(f_); k_++)                             \
			strcat(got_, json_string_value(                                         \
					     json_object_get(json_array_get(f_, k_), "name"))); \
		json_decref(f_);                                                                \
		if (strcmp(got_, want))                                                         \
			fail_msg("interval %d: faults \"%s\", want \"%s\"", t, got_, want);     \
	} while (0)

	for (int i = 0; i < 6; i++)
		INTERVAL(i % 2 == 0, ""); /* flips every interval: never past the hold */
	INTERVAL(1, "");
	INTERVAL(1, "server:3/2");
	INTERVAL(0, "server:3/2"); /* one healthy interval: still reported */
	INTERVAL(1, "server:3/2");
	for (int i = 0; i < 4; i++)
		INTERVAL(0, "server:3/2");
	INTERVAL(0, ""); /* the fifth healthy interval ends it */
	assert_int_equal(sc.ended, 1);
#undef INTERVAL
	nw_scope_free(&sc);
	nw_live_free(&l);
	nw_rack_view_free(&v);
}

/* The sub-second tick shows a silent server down, and the counts and score
 * with it, without a refresh; its first sample back shows it up with the
 * outage counted. */
static void test_tick_updates_view(void **state)
{
	const uint64_t now = GEN_T0_NS;
	struct nw_rack_view v;
	struct nw_live l;

	(void)state;
	assert_int_equal(nw_rack_view_init(&v, 2, 0, 1.0), 0);
	assert_int_equal(nw_live_init(&l, 2, NW_LIVE_DOWN_AFTER_DEFAULT), 0);
	heard(&l, 0, 1, now, 0);
	heard(&l, 1, 2, now, 0);
	nw_rack_view_begin(&v, now, NULL, 0, 1);
	put(&v, &l, 0, 1, 0);
	put(&v, &l, 1, 2, 0);
	nw_live_tick(&l, now);
	nw_rack_view_set_live(&v, &l, now);
	nw_rack_view_finish(&v);
	assert_int_equal(v.state_count[NW_HEALTH_WARMING], 2); /* up, not analysed */

	/* Server 2 keeps sending, server 1 does not: 600 ms later, a tick. */
	heard(&l, 1, 2, now + 550 * MS_NS, 0);
	nw_live_tick(&l, now + 600 * MS_NS);
	nw_rack_view_set_live(&v, &l, now + 600 * MS_NS);
	nw_rack_view_derive(&v);
	assert_int_equal(v.slots[0].health, NW_HEALTH_DOWN);
	assert_true(v.slots[0].outages == 1);
	assert_float_equal(v.slots[0].outage_s, 0.6, 1e-9);
	assert_int_equal(v.slots[1].health, NW_HEALTH_WARMING);
	assert_int_equal(v.state_count[NW_HEALTH_DOWN], 1);
	assert_float_equal(v.rack_score, 0.0, 0); /* the down one; warming is left out */

	/* Back at 2 s: up at the next tick, the outage stays counted. */
	heard(&l, 0, 1, now + 2 * S_NS, 0);
	heard(&l, 1, 2, now + 2 * S_NS, 0);
	nw_live_tick(&l, now + 2 * S_NS);
	nw_rack_view_set_live(&v, &l, now + 2 * S_NS);
	nw_rack_view_derive(&v);
	assert_int_equal(v.slots[0].health, NW_HEALTH_WARMING);
	assert_true(v.slots[0].up && v.slots[0].outages == 1);
	assert_float_equal(v.slots[0].outage_s, 2.0, 1e-9);
	assert_float_equal(v.rack_score, 1.0, 0);
	nw_live_free(&l);
	nw_rack_view_free(&v);
}

struct rig {
	struct nw_rack_view v;
	struct nw_live l;
	struct nw_analysis a;
	struct nw_server_rx rx;
	uint32_t id;
	uint32_t rate_uhz; /* 0: RATE_UHZ */
};

/* One server (slot 0) with the view, the liveness tracker and the analysis
 * the daemon would give it; `g` gets the server's planned tone. */
static void rig_init(struct rig *r, struct gen_cfg *g)
{
	struct nw_analysis_cfg cfg;

	nw_analysis_default_cfg(&cfg, 0);
	assert_int_equal(nw_rack_view_init(&r->v, 1, 0, 1.0), 0);
	assert_int_equal(nw_analysis_init(&r->a, &cfg, 1), 0);
	assert_int_equal(nw_live_init(&r->l, 1, cfg.down_after), 0);
	g->tone_hz = nw_analysis_expected_tone(0, r->id, 1.0, GEN_RATE);
}

static void rig_free(struct rig *r)
{
	nw_live_free(&r->l);
	nw_analysis_free(&r->a);
	nw_rack_view_free(&r->v);
}

static void feed(struct rig *r, const struct nw_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		nw_live_record(&r->l, 0, r->id, &recs[i]);
		nw_analysis_record(&r->a, 0, r->id, &recs[i]);
		r->rx.have_last = 1;
		r->rx.last = recs[i];
	}
}

static void refresh(struct rig *r, uint64_t now)
{
	uint32_t rate = r->rate_uhz ? r->rate_uhz : RATE_UHZ;
	struct nw_server_state st = { .server_id = r->id, .rate_uhz = rate, .freq_uhz = 1000000 };

	nw_rack_view_begin(&r->v, now, NULL, 0, 1);
	nw_rack_view_set_server(&r->v, 0, &st, &r->rx);
	nw_live_set_rate(&r->l, 0, r->id, rate);
	nw_live_tick(&r->l, now);
	nw_rack_view_set_live(&r->v, &r->l, now);
	nw_analysis_refresh(&r->a, &r->v, now);
	nw_rack_view_finish(&r->v);
}

/* The daemon's sub-second tick: liveness, the short scales, the states. */
static void tick(struct rig *r, uint64_t now)
{
	nw_live_tick(&r->l, now);
	nw_rack_view_set_live(&r->v, &r->l, now);
	nw_analysis_tick(&r->a, &r->v, now);
	nw_rack_view_derive(&r->v);
}

/* The analysis withholds a warming server and reports a down one at error
 * 1.0, by the view's liveness: what /metrics shows agrees with itself. */
static void test_analysis_follows_view(void **state)
{
	struct rig r = { .id = 10, .rx = { .slot = 0, .server_id = 10, .registered = 1 } };
	struct gen_cfg g = { .delay_ms = 1.0, .jitter_ms = 0.1, .seed = 7 };
	struct nw_record *recs = calloc(400, sizeof(*recs));
	const struct nw_server_view *e = NULL;
	uint64_t last;
	size_t n;

	(void)state;
	assert_non_null(recs);
	rig_init(&r, &g);
	e = &r.v.slots[0];

	refresh(&r, GEN_T0_NS); /* its rate is known: state made, nothing heard */
	assert_int_equal(e->health, NW_HEALTH_DOWN);
	assert_false(e->analysed);

	/* 20 s of a clean tone: a whole window of its own, analysed, healthy. */
	n = gen_stream(&g, 0, 400, GEN_T0_NS, NW_REC_STREAM_START, recs);
	feed(&r, recs, n);
	last = recs[n - 1].rx_ns;
	refresh(&r, last + S_NS / 2);
	assert_true(e->up && e->analysed);
	assert_true(e->spectral_error < NW_HEALTH_WARN_AT);
	assert_int_equal(e->health, NW_HEALTH_HEALTHY);

	/* Silent past the limit: the next tick shows it down with error 1.0
	 * (not the last refresh's figure) ... */
	tick(&r, last + 500 * MS_NS + 1);
	assert_false(e->up);
	assert_int_equal(e->health, NW_HEALTH_DOWN);
	assert_true(e->analysed && e->spectral_error == 1.0);
	/* ... and so does the refresh: critical underneath. */
	refresh(&r, last + 500 * MS_NS + 1);
	assert_false(e->up);
	assert_true(e->analysed && e->spectral_error == 1.0);
	assert_int_equal(e->analysis_class, NW_HEALTH_CRITICAL);
	assert_int_equal(e->health, NW_HEALTH_DOWN);
	assert_float_equal(r.v.rack_score, 0.0, 0);

	/* Back 10 s later: up, and withheld while the window holds the outage:
	 * warming, not a presumed healthy, and out of the score. */
	n = gen_stream(&g, 600, 20, GEN_T0_NS, 0, recs);
	feed(&r, recs, n);
	refresh(&r, recs[n - 1].rx_ns);
	assert_true(e->up);
	assert_false(e->analysed);
	assert_false(e->short_valid);
	assert_int_equal(e->health, NW_HEALTH_WARMING);
	assert_float_equal(r.v.rack_score, 1.0, 0);
	/* Once the quick scale holds 32 slots of the new presence: measured. */
	n = gen_stream(&g, 620, 20, GEN_T0_NS, 0, recs);
	feed(&r, recs, n);
	tick(&r, recs[n - 1].rx_ns + MS_NS);
	assert_true(e->short_valid);
	assert_int_equal(e->health, NW_HEALTH_HEALTHY);

	assert_true(e->outages == 1);
	rig_free(&r);
	free(recs);
}

/* A short outage is down and counted at once, but it is not a new presence
 * for the analysis: its holes stay in the window as the loss they are, so a
 * 0.5 s outage every few seconds is measured (and its period found) instead
 * of re-warming the window each time (NW_ANALYSIS_REWARM_INTERVALS). */
static void test_short_outage_keeps_the_window(void **state)
{
	struct rig r = { .id = 10, .rx = { .slot = 0, .server_id = 10, .registered = 1 } };
	struct gen_cfg g = { .delay_ms = 1.0, .jitter_ms = 0.1, .seed = 9 };
	struct nw_record *recs = calloc(400, sizeof(*recs));
	const struct nw_server_view *e = NULL;
	uint64_t last;
	size_t n;

	(void)state;
	assert_non_null(recs);
	rig_init(&r, &g);
	e = &r.v.slots[0];
	refresh(&r, GEN_T0_NS);

	n = gen_stream(&g, 0, 400, GEN_T0_NS, NW_REC_STREAM_START, recs);
	feed(&r, recs, n);
	last = recs[n - 1].rx_ns;
	refresh(&r, last + S_NS / 2);
	assert_true(e->up && e->analysed);

	/* 0.7 s without a sample: down, one outage. */
	refresh(&r, last + 700 * MS_NS);
	assert_false(e->up);
	assert_true(e->outages == 1);

	/* Back after 14 missing sequences: up, and still analysed, but the
	 * class is measured again from the slots after the outage: warming
	 * until the quick scale holds 32 of them, not critical for the holes
	 * liveness already reported. */
	n = gen_stream(&g, 414, 10, GEN_T0_NS, 0, recs);
	feed(&r, recs, n);
	refresh(&r, recs[n - 1].rx_ns + MS_NS);
	assert_true(e->up && e->analysed);
	assert_true(e->outages == 1);
	assert_true(e->spectral_error > 0.0);
	assert_int_equal(e->health, NW_HEALTH_WARMING);
	n = gen_stream(&g, 424, 30, GEN_T0_NS, 0, recs);
	feed(&r, recs, n);
	tick(&r, recs[n - 1].rx_ns + MS_NS);
	assert_int_equal(e->health, NW_HEALTH_HEALTHY);
	assert_true(e->short_valid);

	rig_free(&r);
	free(recs);
}

/* A clean tone at 5 Hz (an inter-rack path's rate), ticked every 100 ms
 * and refreshed every second as the daemon does: once healthy it stays
 * healthy. The quick scale's return counted its fresh slots from one slot
 * after the window's start, and with a 200 ms slot the next tick found 31
 * of 32: warming and healthy in turn, for ever. */
static void test_slow_rate_stays_healthy(void **state)
{
	struct rig r = { .id = 10,
			 .rx = { .slot = 0, .server_id = 10, .registered = 1 },
			 .rate_uhz = 5000000 };
	struct gen_cfg g = { 0 };
	const uint64_t t_ns = 200 * MS_NS;
	int healthy_at = -1, flips = 0;
	double tone;

	(void)state;
	rig_init(&r, &g);
	tone = nw_analysis_expected_tone(0, r.id, 1.0, 5.0);
	refresh(&r, GEN_T0_NS);
	for (int k = 0; k < 5 * 90; k++) {
		uint64_t tx = GEN_T0_NS + (uint64_t)k * t_ns;
		struct nw_record rec = { .seq = (uint64_t)k,
					 .tx_ns = tx,
					 .rx_ns = tx + MS_NS,
					 .value_bits = gen_bits(
						 (float)sin(2 * M_PI * tone * k / 5.0)),
					 .flags = k ? 0 : NW_REC_STREAM_START };

		feed(&r, &rec, 1);
		for (int t = 0; t < 2; t++) { /* two 100 ms ticks per sample */
			uint64_t now = tx + MS_NS + (uint64_t)t * 100 * MS_NS;

			tick(&r, now);
			if (k % 5 == 0 && t == 0)
				refresh(&r, now);
			if (r.v.slots[0].health == NW_HEALTH_HEALTHY && healthy_at < 0)
				healthy_at = k;
			else if (healthy_at >= 0 && r.v.slots[0].health != NW_HEALTH_HEALTHY)
				flips++;
		}
	}
	assert_true(healthy_at >= 0 && healthy_at < 5 * 20); /* the quick scale: 6.4 s */
	assert_int_equal(flips, 0);
	rig_free(&r);
}

/* Inter-rack paths (docs/fabric.md section 3): kept after the servers in
 * `order`, never in the rack score or the server counts; a degraded path
 * or server gets its onset (since_ns) and keeps it until healthy again. */
static void test_paths_apart_from_servers(void **state)
{
	const uint64_t now = GEN_T0_NS;
	struct nw_rack_view v;
	struct nw_live l;
	struct nw_server_view *e, *srv;
	struct nw_server_state st = { .server_id = NW_SERVER_FABRIC, .rate_uhz = 5000000 };
	struct nw_server_rx rx = { .server_id = NW_SERVER_FABRIC, .registered = 1 };
	uint64_t since;

	(void)state;
	assert_int_equal(nw_rack_view_init(&v, 4, 1, 1.0), 0);
	assert_int_equal(nw_live_init(&l, 4, NW_LIVE_DOWN_AFTER_DEFAULT), 0);
	for (uint32_t slot = 0; slot < 4; slot++)
		heard(&l, slot, slot == 1 ? 7 : NW_SERVER_FABRIC, now - 50 * MS_NS, 0);
	nw_rack_view_begin(&v, now, &(struct nw_stats){ 0 }, 0, 1);
	/* Slot 0: path from rack 3, critical; slot 2: path from rack 2,
	 * healthy; slot 1: server 7, healthy; slot 3: path from rack 0. */
	st.rack_id = 3;
	st.latency_hist[2] = 10; /* 250 us */
	st.latency_hist[5] = 1;  /* 2.5 ms */
	nw_live_set_rate(&l, 0, NW_SERVER_FABRIC, 5000000);
	e = nw_rack_view_set_server(&v, 0, &st, &rx);
	e->analysed = 1;
	e->spectral_error = 0.9;
	e->analysis_class = NW_HEALTH_CRITICAL;
	e->hole_period = (struct nw_period){ .found = 1, .period_s = 4.0, .fap = 1e-6 };
	e->delay_period = (struct nw_period){ .found = 1, .period_s = 9.0, .fap = 1e-3 };
	srv = put(&v, &l, 1, 7, 0);
	srv->analysed = 1;
	srv->spectral_error = 0.1;
	st.rack_id = 2;
	memset(st.latency_hist, 0, sizeof(st.latency_hist));
	nw_live_set_rate(&l, 2, NW_SERVER_FABRIC, 5000000);
	e = nw_rack_view_set_server(&v, 2, &st, &rx);
	e->analysed = 1;
	e->spectral_error = 0.05;
	st.rack_id = 0;
	nw_live_set_rate(&l, 3, NW_SERVER_FABRIC, 5000000);
	nw_rack_view_set_server(&v, 3, &st, &rx)->analysed = 0;
	nw_live_tick(&l, now);
	nw_rack_view_set_live(&v, &l, now);
	nw_rack_view_finish(&v);

	assert_int_equal(v.count, 1);
	assert_int_equal(v.npaths, 3);
	assert_int_equal(v.order[0], 1);
	assert_int_equal(v.slots[v.order[1]].src_rack, 0); /* paths by source rack */
	assert_int_equal(v.slots[v.order[2]].src_rack, 2);
	assert_int_equal(v.slots[v.order[3]].src_rack, 3);
	assert_true(v.slots[0].is_path && !v.slots[1].is_path);
	assert_int_equal(v.slots[0].health, NW_HEALTH_CRITICAL);
	/* The score and counts are server 7's alone. */
	assert_true(v.rack_score > 0.89 && v.rack_score < 0.91);
	assert_int_equal(v.state_count[NW_HEALTH_HEALTHY], 1);
	assert_int_equal(v.state_count[NW_HEALTH_CRITICAL], 0);
	assert_int_equal(v.state_count[NW_HEALTH_WARMING], 0);
	assert_ptr_equal(nw_rack_view_find(&v, 7), &v.slots[1]);
	assert_null(nw_rack_view_find(&v, NW_SERVER_FABRIC));
	/* Onset, period (the lower false-alarm one), latency quantiles. */
	since = v.slots[0].since_ns;
	assert_true(since > 0);
	assert_true(v.slots[1].since_ns == 0 && v.slots[2].since_ns == 0);
	assert_true(nw_view_period_s(&v.slots[0]) == 4.0);
	assert_true(isnan(nw_view_period_s(&v.slots[2])));
	assert_true(v.slots[0].latency_p50_s == 250e-6);
	assert_true(v.slots[0].latency_p99_s == 2.5e-3);
	assert_true(isnan(v.slots[2].latency_p50_s));
	/* Still critical a tick later: the same onset; healthy again: 0. */
	nw_rack_view_derive(&v);
	assert_true(v.slots[0].since_ns == since);
	v.slots[0].analysis_class = NW_HEALTH_HEALTHY;
	nw_rack_view_derive(&v);
	assert_true(v.slots[0].since_ns == 0);
	nw_live_free(&l);
	nw_rack_view_free(&v);
}

static void test_hist_quantile(void **state)
{
	uint64_t h[NW_HIST_BUCKETS] = { 0 };

	(void)state;
	assert_true(isnan(nw_hist_quantile_s(h, 0.5)));
	h[0] = 1;
	h[NW_HIST_FINITE] = 1; /* +Inf reads as the last finite bound, 10 s */
	assert_true(nw_hist_quantile_s(h, 0.5) == 50e-6);
	assert_true(nw_hist_quantile_s(h, 0.99) == 10.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_and_score),
		cmocka_unit_test(test_faults_hold_and_clear),
		cmocka_unit_test(test_tick_updates_view),
		cmocka_unit_test(test_analysis_follows_view),
		cmocka_unit_test(test_short_outage_keeps_the_window),
		cmocka_unit_test(test_slow_rate_stays_healthy),
		cmocka_unit_test(test_paths_apart_from_servers),
		cmocka_unit_test(test_hist_quantile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
