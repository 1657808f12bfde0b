// SPDX-License-Identifier: MIT
/* The limited mesh's schedule (user/common/fabric_mesh.h) and a rotating
 * peers file narrowed to an epoch (nw_fabric_peers_at): k out and exactly k
 * in per epoch, every ordered pair within nw_fabric_mesh_epochs epochs, the
 * full mesh when k >= n - 1, and the wrap when k does not divide n - 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fabric_mesh.h"
#include "fabric_peers.h"

#define NMAX 130U

/* Every epoch balanced, and `epochs` consecutive epochs from `e0` cover
 * every ordered pair. */
static void check_mesh(uint32_t n, uint32_t k, uint64_t e0)
{
	static uint8_t covered[NMAX][NMAX];
	uint32_t off[NMAX], in[NMAX], want = k < n - 1 ? k : n - 1;
	uint64_t epochs = nw_fabric_mesh_epochs(n, k);

	memset(covered, 0, sizeof(covered));
	for (uint64_t e = e0; e < e0 + epochs; e++) {
		uint32_t m = nw_fabric_mesh_offsets(n, k, e, off);

		assert_int_equal(m, want); /* k out, for every rack */
		memset(in, 0, sizeof(in));
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t j = 0; j < m; j++) {
				uint32_t d = (i + off[j]) % n;

				assert_int_not_equal(d, i);
				for (uint32_t l = 0; l < j; l++)
					assert_int_not_equal(off[l], off[j]); /* distinct */
				covered[i][d] = 1;
				in[d]++;
			}
		for (uint32_t d = 0; d < n; d++)
			assert_int_equal(in[d], want); /* exactly k in */
	}
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t d = 0; d < n; d++)
			assert_int_equal(covered[i][d], i != d);
}

static void test_balanced_and_covering(void **state)
{
	static const uint32_t cases[][2] = { { 10, 3 }, { 100, 16 }, { 33, 16 }, { 20, 19 },
					     { 7, 2 },  { 4, 1 },    { 128, 5 } };

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		check_mesh(cases[c][0], cases[c][1], 0);
		/* Any window of epochs covers, also far out (wall-clock epochs). */
		check_mesh(cases[c][0], cases[c][1], 2944512);
		check_mesh(cases[c][0], cases[c][1], UINT64_MAX - 200);
	}
}

static void test_full_mesh(void **state)
{
	uint32_t off[NMAX];

	(void)state;
	assert_int_equal(nw_fabric_mesh_offsets(4, 16, 7, off), 3);
	assert_int_equal(off[0], 1);
	assert_int_equal(off[2], 3);
	assert_int_equal(nw_fabric_mesh_offsets(17, 16, 3, off), 16);
	assert_int_equal(nw_fabric_mesh_epochs(17, 16), 1);
	assert_int_equal(nw_fabric_mesh_epochs(4, 3), 1);
	assert_int_equal(nw_fabric_mesh_offsets(1, 16, 0, off), 0);
	assert_int_equal(nw_fabric_mesh_offsets(4, 0, 0, off), 0);
	check_mesh(4, 3, 5);
}

/* k = 4 does not divide n - 1 = 9: epoch 2 wraps to offsets 9, 1, 2, 3 (four
 * distinct), epoch 3 goes on from 4: the rotation never restarts. */
static void test_wrap(void **state)
{
	uint32_t off[NMAX];
	static const uint32_t want[4][4] = {
		{ 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 1, 2, 3 }, { 4, 5, 6, 7 }
	};

	(void)state;
	assert_int_equal(nw_fabric_mesh_epochs(10, 4), 3);
	for (uint64_t e = 0; e < 4; e++) {
		assert_int_equal(nw_fabric_mesh_offsets(10, 4, e, off), 4);
		for (int j = 0; j < 4; j++)
			assert_int_equal(off[j], want[e][j]);
	}
	assert_int_equal(nw_fabric_mesh_epoch_at(1200, 600), 2);
	assert_int_equal(nw_fabric_mesh_epoch_at(1199, 600), 1);
}

/* A rotating file: positions are the members sorted by id (the file's order
 * does not matter), self may be listed, out = k peers of the epoch. */
static void test_peers_at(void **state)
{
	const char *json = "{\"self\": 30, \"k\": 1, \"epoch_s\": 20, \"racks\": ["
			   "{\"rack_id\": 40, \"addr\": \"a40\"},"
			   "{\"rack_id\": 10, \"addr\": \"a10\"},"
			   "{\"rack_id\": 30, \"addr\": \"a30\"},"
			   "{\"rack_id\": 20, \"addr\": \"a20\"}]}";
	struct nw_fabric_peers mesh, out;
	char err[200];

	(void)state;
	assert_int_equal(nw_fabric_peers_parse(json, strlen(json), &mesh, err, sizeof(err)), 0);
	assert_int_equal(mesh.k, 1);
	assert_int_equal(mesh.epoch_s, 20);
	/* 30 is position 2 of [10, 20, 30, 40]: epoch e probes offset 1 + e mod 3. */
	assert_int_equal(nw_fabric_peers_at(&mesh, 0, 0, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.peer[0].rack_id, 40);
	assert_string_equal(out.peer[0].addr, "a40");
	assert_int_equal(out.k, 0);
	nw_fabric_peers_free(&out);
	assert_int_equal(nw_fabric_peers_at(&mesh, 65537, 0, &out), 0);
	assert_int_equal(out.peer[0].rack_id, 20); /* 65537 mod 3 = 2: offset 3 */
	assert_int_equal(out.epoch, 1);            /* on the wire: mod 65536 */
	nw_fabric_peers_free(&out);
	assert_int_equal(nw_fabric_peers_at(&mesh, 0, 1, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.peer[0].rack_id, 20); /* who probes 30 in epoch 0 */
	nw_fabric_peers_free(&out);
	nw_fabric_peers_free(&mesh);

	/* Without k: exactly the file's peers. */
	json = "{\"self\": 1, \"epoch\": 4, \"racks\": [{\"rack_id\": 2, \"addr\": \"x\"}]}";
	assert_int_equal(nw_fabric_peers_parse(json, strlen(json), &mesh, err, sizeof(err)), 0);
	assert_int_equal(mesh.k, 0);
	assert_int_equal(nw_fabric_peers_at(&mesh, 99, 0, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.epoch, 4);
	nw_fabric_peers_free(&out);
	nw_fabric_peers_free(&mesh);
}

/* nw_fabric_mesh_probes is the offsets' inverse: for every pair of
 * positions, yes exactly when the offsets of that epoch hold the distance
 * (full and limited meshes, k dividing n - 1 or not, epochs past 2^32). */
static void test_probes_inverse(void **state)
{
	static const uint32_t sizes[][2] = { { 2, 1 },  { 4, 3 },   { 4, 1 },  { 7, 2 },
					     { 10, 4 }, { 17, 16 }, { 33, 5 }, { 33, 40 } };
	uint32_t off[64];

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s][0], k = sizes[s][1];

		for (uint64_t e = 0; e < 40; e++) {
			uint64_t epoch = e < 20 ? e : (1ULL << 40) + e;
			uint32_t m = nw_fabric_mesh_offsets(n, k, epoch, off);

			for (uint32_t from = 0; from < n; from++)
				for (uint32_t to = 0; to < n; to++) {
					uint32_t d = (to + n - from) % n;
					int want = 0;

					for (uint32_t j = 0; j < m; j++)
						want |= off[j] == d;
					assert_int_equal(nw_fabric_mesh_probes(n, k, epoch, from,
									       to),
							 want);
				}
		}
	}
	assert_int_equal(nw_fabric_mesh_probes(1, 1, 0, 0, 0), 0);
	assert_int_equal(nw_fabric_mesh_probes(4, 0, 0, 0, 1), 0);
	assert_int_equal(nw_fabric_mesh_probes(4, 1, 0, 0, 4), 0); /* out of range */
}

/* The members in position order, as nw_fabric_peers_at numbers them: self
 * added when the file does not list it. */
static void test_members(void **state)
{
	const char *json = "{\"self\": 30, \"k\": 1, \"epoch_s\": 20, \"racks\": ["
			   "{\"rack_id\": 40, \"addr\": \"a40\"},"
			   "{\"rack_id\": 10, \"addr\": \"a10\"},"
			   "{\"rack_id\": 20, \"addr\": \"a20\"}]}";
	struct nw_fabric_peers mesh, out;
	uint16_t ids[5];
	char err[200];

	(void)state;
	assert_int_equal(nw_fabric_peers_parse(json, strlen(json), &mesh, err, sizeof(err)), 0);
	assert_int_equal(nw_fabric_peers_members(&mesh, ids), 4);
	assert_int_equal(ids[0], 10);
	assert_int_equal(ids[1], 20);
	assert_int_equal(ids[2], 30);
	assert_int_equal(ids[3], 40);
	/* who 30 (position 2) probes in epoch 5 agrees with nw_fabric_mesh_probes */
	assert_int_equal(nw_fabric_peers_at(&mesh, 5, 0, &out), 0);
	assert_int_equal(out.n, 1);
	for (uint32_t to = 0; to < 4; to++)
		assert_int_equal(nw_fabric_mesh_probes(4, 1, 5, 2, to),
				 ids[to] == out.peer[0].rack_id);
	nw_fabric_peers_free(&out);
	nw_fabric_peers_free(&mesh);
}

static void test_rotation_refusals(void **state)
{
	static const char *bad[] = {
		"{\"self\": 1, \"epoch_s\": 20, \"racks\": []}",
		"{\"self\": 1, \"k\": 0, \"racks\": []}",
		"{\"self\": 1, \"k\": 2, \"epoch_s\": 0, \"racks\": []}",
		"{\"self\": 1, \"k\": 2, \"epoch\": 3, \"racks\": []}",
		"{\"self\": 1, \"racks\": [{\"rack_id\": 1, \"addr\": \"x\"}]}",
	};
	struct nw_fabric_peers p;
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(nw_fabric_peers_parse(bad[i], strlen(bad[i]), &p, err,
						       sizeof(err)),
				 -1);
		assert_true(err[0]);
	}
	assert_int_equal(nw_fabric_peers_parse("{\"self\": 1, \"k\": 2, \"racks\": []}", 32, &p,
					       err, sizeof(err)),
			 0);
	assert_int_equal(p.epoch_s, NW_FABRIC_EPOCH_S_DEFAULT);
	nw_fabric_peers_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balanced_and_covering),
		cmocka_unit_test(test_full_mesh),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_peers_at),
		cmocka_unit_test(test_probes_inverse),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_rotation_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
