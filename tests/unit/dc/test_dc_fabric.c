// SPDX-License-Identifier: MIT
/*
 * The DC's rack x rack matrix (dc_fabric.h) from racks' paths_in rows on a
 * controlled clock: the current mesh epoch across the 65535 -> 0 wrap, a
 * row two epochs old left out, a stale rack's rows listed but not counted
 * (its controller dead for the scope),
 * the fabric score capping the DC score, the per-rack in/out means and the
 * bound on stored rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc_fabric.h"

#define S 1000000000ULL
#define WALL (1764000000ULL * S)

/* Rack `rack` reports rows from `srcs` (error err, epoch per row). */
static void report(struct dc_state *st, uint32_t rack, uint64_t seq, uint64_t mono,
		   const uint32_t *srcs, const uint32_t *epochs, size_t n, double err)
{
	struct nw_report r = {
		.rack_id = rack,
		.boot_ns = 1,
		.seq = seq,
		.time_ns = WALL,
		.interval_s = 1,
		.rack_score = 0.9,
	};
	uint32_t conn_rack = DC_NO_RACK;
	uint64_t ev;

	r.paths = calloc(n + 1, sizeof(*r.paths));
	assert_non_null(r.paths);
	r.npaths = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		r.paths[i] = (struct nw_report_path){ .src_rack = srcs[i],
						      .cls = NW_HEALTH_HEALTHY,
						      .error = err,
						      .latency_p50_s = NAN,
						      .latency_p99_s = NAN,
						      .period_s = NAN,
						      .mesh_epoch = epochs[i] };
	assert_int_equal(dc_state_offer(&(*st), &r, rack + 1, &conn_rack, WALL, mono, &ev),
			 NW_REJ_OK);
	nw_report_free(&r);
}

static void init(struct dc_state *st)
{
	struct dc_cfg cfg = { .racks_expected = 3,
			      .max_racks = 16,
			      .stale_s = 5,
			      .forget_s = 60,
			      .max_servers_total = 1000 };

	assert_int_equal(dc_state_init(st, &cfg), 0);
}

static void test_matrix_epochs_and_score(void **state)
{
	struct dc_state st;
	struct dc_fabric f;
	double in[3], out[3];

	(void)state;
	init(&st);
	/* rack 0 hears 1 and 2 in epoch 65535; rack 1 hears 0 in epoch 0 (the
	 * newer: serial order wraps) and 2 in 65534 (two epochs old) */
	report(&st, 0, 1, 1 * S, (uint32_t[]){ 1, 2 }, (uint32_t[]){ 65535, 65535 }, 2, 0.1);
	report(&st, 1, 1, 1 * S, (uint32_t[]){ 0, 2 }, (uint32_t[]){ 0, 65534 }, 2, 0.3);
	assert_int_equal(dc_fabric_build(&f, &st, 2 * S), 0);
	assert_int_equal(f.epoch, 0);
	assert_int_equal(f.k, 2);
	assert_int_equal(f.n, 3); /* 2 -> 1 of epoch 65534 is left out */
	assert_int_equal(f.probed, 3);
	assert_true(f.pairs_total == 6);
	assert_string_equal(dc_fabric_mode(&f, &st), "full");
	assert_float_equal(f.score, 1 - (0.1 + 0.1 + 0.3) / 3, 1e-12);
	/* the racks' mean is (0.9 + 0.9 + 0) / 3 = 0.6: below the fabric */
	assert_float_equal(dc_fabric_dc_score(&f, &st, 2 * S), 0.6, 1e-12);
	assert_int_equal(dc_fabric_rack_errors(&f, &st, in, out), 0);
	assert_float_equal(in[0], 0.1, 1e-12);
	assert_float_equal(out[0], 0.3, 1e-12);
	assert_float_equal(in[1], 0.3, 1e-12);
	assert_true(isnan(in[2]));
	assert_float_equal(out[2], 0.1, 1e-12);
	dc_fabric_free(&f);

	/* rack 1 goes stale: its row is listed, stale, and counts nowhere */
	report(&st, 0, 2, 7 * S, (uint32_t[]){ 1, 2 }, (uint32_t[]){ 0, 0 }, 2, 0.8);
	assert_int_equal(dc_fabric_build(&f, &st, 8 * S), 0);
	assert_int_equal(f.probed, 2);
	assert_int_equal(f.n, 4);
	assert_float_equal(f.score, 1 - 0.8, 1e-12);
	/* (0.9 + 0 + 0) / 3 = 0.3 above the fabric's 0.2: the fabric caps it */
	assert_float_equal(dc_fabric_dc_score(&f, &st, 8 * S), 0.2, 1e-12);
	/* the scope sees rack 1's controller dead (rule 0), not its rows;
	 * rack 2 never reported: no controller of its own */
	{
		struct nw_scope_entity *ents;
		struct nw_scope_snapshot snap;
		uint32_t *racks;
		size_t ctl = 0;

		assert_int_equal(dc_fabric_snapshot(&f, &st, 8 * S, WALL, &ents, &racks, &snap), 0);
		assert_int_equal(snap.nracks, 1);
		assert_int_equal(snap.racks[0], 0);
		for (size_t i = 0; i < snap.n; i++) {
			assert_true(snap.e[i].key != nw_scope_path_key(0, 1)); /* rack 1's row */
			if (snap.e[i].key == nw_scope_controller_key(1)) {
				assert_true(snap.e[i].degraded);
				assert_true(snap.e[i].since_ns == WALL);
				ctl++;
			}
			assert_true(snap.e[i].key != nw_scope_controller_key(2));
		}
		assert_int_equal(ctl, 1);
		free(ents);
		free(racks);
	}
	dc_fabric_free(&f);
	dc_state_free(&st);
}

static void test_no_paths(void **state)
{
	struct dc_state st;
	struct dc_fabric f;

	(void)state;
	init(&st);
	report(&st, 0, 1, S, NULL, NULL, 0, 0);
	assert_int_equal(dc_fabric_build(&f, &st, 2 * S), 0);
	assert_int_equal(f.n, 0);
	assert_true(isnan(f.score));
	assert_string_equal(dc_fabric_mode(&f, &st), "none");
	assert_float_equal(dc_fabric_dc_score(&f, &st, 2 * S), 0.3, 1e-12);
	dc_fabric_free(&f);
	dc_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_epochs_and_score),
		cmocka_unit_test(test_no_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
