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
#include <stdio.h>
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

/* --fabric-mesh: of 4 racks probing k = 1 each with 10 s epochs, rack 2
 * (position 2) is probed in epoch e by position (2 - (1 + e mod 3)) mod 4.
 * Around the DC's epoch 100 (e - 2 .. e + 1 = 98..101: offsets 3, 1, 2, 3)
 * that is racks 3, 1, 0: every other rack, and no one outside the mesh. */
static void test_mesh_admit(void **state)
{
	const char *json = "{\"self\": 0, \"k\": 1, \"epoch_s\": 10, \"racks\": ["
			   "{\"rack_id\": 1, \"addr\": \"a\"}, {\"rack_id\": 2, \"addr\": \"b\"},"
			   "{\"rack_id\": 3, \"addr\": \"c\"}]}";
	struct nw_fabric_peers file;
	struct nw_report r = { .rack_id = 2 };
	struct dc_mesh m;
	char err[200];
	uint64_t wall = 1000 * S + S / 2; /* epoch 100 */

	(void)state;
	assert_int_equal(nw_fabric_peers_parse(json, strlen(json), &file, err, sizeof(err)), 0);
	assert_int_equal(dc_mesh_init(&m, &file), 0);
	nw_fabric_peers_free(&file);
	assert_int_equal(m.n, 4);
	r.paths = calloc(5, sizeof(*r.paths));
	assert_non_null(r.paths);
	/* 0, 1, 3 scheduled; 7 and 900 are no members (a forged row) */
	r.npaths = 5;
	r.paths[0].src_rack = 0;
	r.paths[1].src_rack = 1;
	r.paths[2].src_rack = 3;
	r.paths[3].src_rack = 7;
	r.paths[4].src_rack = 900;
	assert_int_equal(dc_mesh_admit(&m, &r, wall), 2);
	assert_int_equal(r.npaths, 3);
	assert_int_equal(r.paths[0].src_rack, 0);
	assert_int_equal(r.paths[2].src_rack, 3);
	/* epoch 1000: e - 2 .. e + 1 = 998..1001, 998 mod 3 = 2: offsets 3, 1,
	 * 2, 3 again; at epoch 1 the window is 0..2 (offsets 1, 2, 3): rack 0
	 * (offset 2) is in, all three still */
	r.npaths = 3;
	assert_int_equal(dc_mesh_admit(&m, &r, 10 * S + 1), 0);
	/* a rack outside the mesh keeps nothing */
	r.rack_id = 5;
	assert_int_equal(dc_mesh_admit(&m, &r, wall), 3);
	assert_int_equal(r.npaths, 0);
	nw_report_free(&r);
	dc_mesh_free(&m);

	/* k = 1 of 10 racks: the window of 4 epochs admits 4 sources, no more */
	{
		char big[1024];
		size_t o = (size_t)snprintf(big, sizeof(big),
					    "{\"self\": 0, \"k\": 1, \"epoch_s\": 10, \"racks\": [");
		struct nw_report q = { .rack_id = 0 };

		for (int i = 1; i < 10; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o,
					      "%s{\"rack_id\": %d, \"addr\": \"a\"}",
					      i > 1 ? "," : "", i);
		snprintf(big + o, sizeof(big) - o, "]}");
		assert_int_equal(nw_fabric_peers_parse(big, strlen(big), &file, err, sizeof(err)),
				 0);
		assert_int_equal(dc_mesh_init(&m, &file), 0);
		nw_fabric_peers_free(&file);
		q.paths = calloc(9, sizeof(*q.paths));
		assert_non_null(q.paths);
		q.npaths = 9;
		for (uint32_t i = 0; i < 9; i++)
			q.paths[i].src_rack = i + 1;
		assert_int_equal(dc_mesh_admit(&m, &q, wall), 5);
		assert_int_equal(q.npaths, 4);
		nw_report_free(&q);
		dc_mesh_free(&m);
	}
	/* a fixed file is no schedule */
	json = "{\"self\": 0, \"racks\": [{\"rack_id\": 1, \"addr\": \"a\"}]}";
	assert_int_equal(nw_fabric_peers_parse(json, strlen(json), &file, err, sizeof(err)), 0);
	assert_int_equal(dc_mesh_init(&m, &file), -1);
	nw_fabric_peers_free(&file);
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
		cmocka_unit_test(test_mesh_admit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
