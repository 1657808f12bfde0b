// SPDX-License-Identifier: MIT
/*
 * Fault scope (scope.h, docs/fabric.md section 6) over crafted snapshots of
 * a 4-rack x 8-server DC with a full mesh of paths, on a controlled clock
 * (one interval = 1 s of snapshot time): every scope is decided from its
 * evidence, shared periods count as a common cause even with different
 * onsets, and the stability rules (pending, widen, never narrow, clear)
 * hold interval by interval.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scope.h"

#define RACKS 4
#define SERVERS 8
#define NS 1000000000ULL
#define T0 (1764000000ULL * NS)

/* The DC as a test sees it: which entities are degraded, with what onset
 * and period. */
struct dc {
	struct nw_scope_entity e[RACKS * SERVERS + RACKS * (RACKS - 1) + RACKS];
	size_t n;
	uint32_t racks[RACKS];
	size_t nracks;
	uint64_t now;
};

static void dc_init(struct dc *d)
{
	memset(d, 0, sizeof(*d));
	d->now = T0;
	d->nracks = RACKS;
	for (uint32_t r = 0; r < RACKS; r++) {
		d->racks[r] = r;
		for (uint32_t s = 0; s < SERVERS; s++)
			d->e[d->n++] = (struct nw_scope_entity){ .key = nw_scope_server_key(r, s),
								 .period_s = NAN };
		for (uint32_t src = 0; src < RACKS; src++)
			if (src != r)
				d->e[d->n++] = (struct nw_scope_entity){
					.key = nw_scope_path_key(src, r), .period_s = NAN
				};
	}
}

static struct nw_scope_entity *ent(struct dc *d, uint64_t key)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->e[i].key == key)
			return &d->e[i];
	fail_msg("no entity %llx", (unsigned long long)key);
	return NULL;
}

/* Degrades (or heals, onset 0) an entity: onset `at` s after T0. */
static void set(struct dc *d, uint64_t key, int bad, double at, double period)
{
	struct nw_scope_entity *e = ent(d, key);

	e->degraded = bad;
	e->loss_ratio = bad ? 0.3 : 0;
	e->since_ns = bad ? T0 + (uint64_t)(at * 1e9) : 0;
	e->period_s = bad ? period : NAN;
}

static void srv(struct dc *d, uint32_t r, uint32_t s, int bad, double at)
{
	set(d, nw_scope_server_key(r, s), bad, at, NAN);
}

static void path(struct dc *d, uint32_t src, uint32_t dst, int bad, double at)
{
	set(d, nw_scope_path_key(src, dst), bad, at, NAN);
}

static struct nw_scope_snapshot snap(const struct dc *d)
{
	return (struct nw_scope_snapshot){
		.now_ns = d->now, .e = d->e, .n = d->n, .racks = d->racks, .nracks = d->nracks
	};
}

/* The names of this snapshot's candidates, sorted, space-separated. */
static void decide(struct dc *d, char *out, size_t len)
{
	struct nw_scope_cfg cfg;
	struct nw_scope_list l = { 0 };
	struct nw_scope_snapshot s = snap(d);
	char names[16][48];

	nw_scope_cfg_default(&cfg);
	assert_int_equal(nw_scope_decide(&cfg, &s, &l), 0);
	assert_true(l.n <= 16);
	for (size_t i = 0; i < l.n; i++) {
		nw_scope_fault_name(&l.f[i], names[i], sizeof(names[i]));
		if (l.f[i].cause != NW_CAUSE_NONE) {
			strcat(names[i], "/");
			strcat(names[i], nw_scope_cause_name(l.f[i].cause));
		}
	}
	qsort(names, l.n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		if (i)
			strncat(out, " ", len - strlen(out) - 1);
		strncat(out, names[i], len - strlen(out) - 1);
	}
	nw_scope_list_free(&l);
}

#define ASSERT_DECIDED(d, want)                  \
	do {                                     \
		char got_[512];                  \
		decide((d), got_, sizeof(got_)); \
		assert_string_equal(got_, want); \
	} while (0)

static void test_nothing(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	ASSERT_DECIDED(&d, "");
}

static void test_one_server(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	srv(&d, 1, 3, 1, 0);
	ASSERT_DECIDED(&d, "server:1/3");
	/* two servers of eight: still servers, not the rack */
	srv(&d, 1, 5, 1, 0);
	ASSERT_DECIDED(&d, "server:1/3 server:1/5");
}

static void test_rack_servers(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	for (uint32_t s = 0; s < 5; s++)
		srv(&d, 2, s, 1, 0.1 * s);
	ASSERT_DECIDED(&d, "rack:2/servers");
	/* five of eight but onsets far apart and no common period: no common
	 * cause, five server faults */
	for (uint32_t s = 0; s < 5; s++)
		srv(&d, 2, s, 1, 10.0 * s);
	ASSERT_DECIDED(&d, "server:2/0 server:2/1 server:2/2 server:2/3 server:2/4");
	/* the same onsets, one shared period: a common cause after all */
	for (uint32_t s = 0; s < 5; s++)
		set(&d, nw_scope_server_key(2, s), 1, 10.0 * s, 2.0 + 0.05 * s);
	ASSERT_DECIDED(&d, "rack:2/servers");
}

static void uplink(struct dc *d, uint32_t r, int bad)
{
	for (uint32_t o = 0; o < RACKS; o++)
		if (o != r) {
			path(d, r, o, bad, 0);
			path(d, o, r, bad, 0.5);
		}
}

static void test_rack_uplink(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	uplink(&d, 2, 1);
	ASSERT_DECIDED(&d, "rack:2/uplink");
	/* the servers too: the ToR */
	for (uint32_t s = 0; s < SERVERS; s++)
		srv(&d, 2, s, 1, 1);
	ASSERT_DECIDED(&d, "rack:2/tor");
	/* servers fine, but the rest of the fabric is bad as well: not this
	 * rack's uplink */
	dc_init(&d);
	uplink(&d, 2, 1);
	path(&d, 0, 1, 1, 0);
	path(&d, 1, 0, 1, 0);
	path(&d, 3, 1, 1, 0);
	ASSERT_DECIDED(&d, "path:0-1 path:0-2 path:1-2 path:2-3 path:3>1");
}

static void test_one_pair(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	path(&d, 1, 2, 1, 0);
	ASSERT_DECIDED(&d, "path:1>2");
	path(&d, 2, 1, 1, 0.2);
	ASSERT_DECIDED(&d, "path:1-2");
}

static void test_all_racks(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	for (uint32_t r = 0; r < RACKS; r++)
		for (uint32_t s = 0; s < SERVERS; s++)
			srv(&d, r, s, 1, 0.3 * r);
	ASSERT_DECIDED(&d, "dc");
	/* half the racks are enough (theta_dc 0.5) */
	for (uint32_t r = 2; r < RACKS; r++)
		for (uint32_t s = 0; s < SERVERS; s++)
			srv(&d, r, s, 0, 0);
	ASSERT_DECIDED(&d, "dc");
	/* one rack is a rack */
	for (uint32_t s = 0; s < SERVERS; s++)
		srv(&d, 1, s, 0, 0);
	ASSERT_DECIDED(&d, "rack:0/servers");
}

/* Onsets 20 s apart but one period (within 10 %): one cause. */
static void test_shared_period(void **state)
{
	struct dc d;

	(void)state;
	dc_init(&d);
	for (uint32_t r = 0; r < RACKS; r++)
		for (uint32_t s = 0; s < SERVERS; s++)
			set(&d, nw_scope_server_key(r, s), 1, 20.0 * (r * SERVERS + s),
			    5.0 * (1 + 0.01 * s));
	ASSERT_DECIDED(&d, "dc");
	/* different periods and onsets: each its own */
	dc_init(&d);
	set(&d, nw_scope_server_key(0, 0), 1, 0, 2.0);
	set(&d, nw_scope_server_key(0, 1), 1, 30, 7.0);
	ASSERT_DECIDED(&d, "server:0/0 server:0/1");
}

/* Rack r's controller stops reporting, as the DC sees it: r leaves the
 * reporting racks with its servers and the paths into it (it measured
 * them), its controller entity is degraded, and its peers see every path
 * out of it go down (its fabric sender died with it). */
static void kill_rack(struct dc *d, uint32_t r, double at)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < d->n; i++) {
		uint64_t key = d->e[i].key;
		int path = (key & NW_SCOPE_PATH_BIT) != 0;
		uint32_t hi = (uint32_t)((key & ~NW_SCOPE_PATH_BIT) >> 32);

		if (hi == r)
			continue; /* its servers and its paths in */
		d->e[n] = d->e[i];
		if (path && (uint32_t)key == r)
			d->e[n] = (struct nw_scope_entity){ .key = key,
							    .degraded = 1,
							    .loss_ratio = 1.0,
							    .period_s = NAN,
							    .since_ns = T0 + (uint64_t)(at * 1e9) };
		n++;
	}
	d->e[n++] = (struct nw_scope_entity){ .key = nw_scope_controller_key(r),
					      .degraded = 1,
					      .loss_ratio = 1.0,
					      .period_s = NAN,
					      .since_ns = T0 + (uint64_t)(at * 1e9) };
	d->n = n;
	for (size_t i = 0; i < d->nracks; i++)
		if (d->racks[i] != r)
			d->racks[k++] = d->racks[i];
	d->nracks = k;
}

/* A dead controller is one rack fault (rule 0), not a path fault per peer,
 * and its paths count for nothing else: another pair's fault stays a path
 * fault, and two dead racks of four are two rack faults, not the dc. */
static void test_dead_controller(void **state)
{
	struct nw_scope_cfg cfg;
	struct nw_scope_list l = { 0 };
	struct nw_scope_snapshot s;
	struct nw_buf b = { 0 };
	struct dc d;

	(void)state;
	dc_init(&d);
	kill_rack(&d, 2, 0);
	ASSERT_DECIDED(&d, "rack:2/controller");
	s = snap(&d);
	nw_scope_cfg_default(&cfg);
	assert_int_equal(nw_scope_decide(&cfg, &s, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.f[0].nmembers, 4); /* the controller and 2>0, 2>1, 2>3 */
	nw_scope_fault_json(&l.f[0], &b);
	assert_false(b.failed);
	assert_non_null(strstr(b.p, "\"cause\":\"controller\""));
	assert_non_null(strstr(b.p, "\"controller:2\""));
	nw_buf_free(&b);
	nw_scope_list_free(&l);
	/* a pair elsewhere is still its own fault */
	path(&d, 0, 1, 1, 0);
	ASSERT_DECIDED(&d, "path:0>1 rack:2/controller");
	path(&d, 0, 1, 0, 0);
	/* a controller entity that is not degraded says nothing */
	dc_init(&d);
	kill_rack(&d, 2, 0);
	for (size_t i = 0; i < d.n; i++)
		d.e[i].degraded = 0;
	ASSERT_DECIDED(&d, "");
	/* half the racks dead: two controllers, not the whole dc */
	dc_init(&d);
	kill_rack(&d, 1, 0);
	kill_rack(&d, 2, 0);
	ASSERT_DECIDED(&d, "rack:1/controller rack:2/controller");
}

/* ------------------------------------------------------------ stability */

struct tracked {
	struct nw_scope_state st;
	struct dc d;
};

static void step(struct tracked *t)
{
	struct nw_scope_snapshot s = snap(&t->d);

	assert_int_equal(nw_scope_update(&t->st, &s), 0);
	t->d.now += NS;
}

/* The reported faults as "name" or "name/cause", space-separated. */
static const char *reported(struct tracked *t)
{
	static char out[512];

	out[0] = '\0';
	for (size_t i = 0; i < t->st.faults.n; i++) {
		const struct nw_scope_fault *f = &t->st.faults.f[i];
		char name[48];

		if (!f->reported)
			continue;
		nw_scope_fault_name(f, name, sizeof(name));
		if (out[0])
			strcat(out, " ");
		strcat(out, name);
		if (f->cause != NW_CAUSE_NONE) {
			strcat(out, "/");
			strcat(out, nw_scope_cause_name(f->cause));
		}
	}
	return out;
}

static void tracked_init(struct tracked *t)
{
	struct nw_scope_cfg cfg;

	nw_scope_cfg_default(&cfg);
	nw_scope_init(&t->st, &cfg);
	dc_init(&t->d);
}

static void test_pending_then_reported(void **state)
{
	struct tracked t;

	(void)state;
	tracked_init(&t);
	srv(&t.d, 1, 3, 1, 0);
	step(&t);
	assert_string_equal(reported(&t), ""); /* pending: hold 2 */
	step(&t);
	assert_string_equal(reported(&t), "server:1/3");
	assert_int_equal(t.st.hist[NW_SCOPE_SERVER].count, 1);
	/* a blip of one interval is never reported */
	srv(&t.d, 0, 0, 1, 2);
	step(&t);
	srv(&t.d, 0, 0, 0, 0);
	step(&t);
	assert_string_equal(reported(&t), "server:1/3");
	/* ends after clear = 5 healthy intervals, not before */
	srv(&t.d, 1, 3, 0, 0);
	for (int i = 0; i < 4; i++) {
		step(&t);
		assert_string_equal(reported(&t), "server:1/3");
	}
	step(&t);
	assert_string_equal(reported(&t), "");
	assert_int_equal(t.st.faults.n, 0);
	assert_int_equal(t.st.ended, 1);
	nw_scope_free(&t.st);
}

/* Servers of a rack fail one by one: the first is a server fault, which
 * widens to the rack (same id, scope_changes 1), then to the DC; it never
 * narrows back while enough members stay degraded. */
static void test_widen_never_narrow(void **state)
{
	struct tracked t;
	const struct nw_scope_fault *f;
	uint64_t id;

	(void)state;
	tracked_init(&t);
	srv(&t.d, 1, 0, 1, 0);
	step(&t);
	step(&t);
	assert_string_equal(reported(&t), "server:1/0");
	id = t.st.faults.f[0].id;
	for (uint32_t s = 1; s < 5; s++)
		srv(&t.d, 1, s, 1, 2);
	step(&t);
	assert_string_equal(reported(&t), "rack:1/servers");
	f = &t.st.faults.f[0];
	assert_int_equal(t.st.faults.n, 1);
	assert_true(f->id == id);
	assert_int_equal(f->scope_changes, 1);
	assert_int_equal(f->nmembers, 5);
	assert_true(f->since_ns == T0);
	/* rack 2 as well: the DC */
	for (uint32_t s = 0; s < SERVERS; s++)
		srv(&t.d, 2, s, 1, 3);
	step(&t);
	assert_string_equal(reported(&t), "dc");
	assert_int_equal(t.st.faults.f[0].scope_changes, 2);
	assert_true(t.st.faults.f[0].id == id);
	/* rack 2 recovers: the evidence says rack 1; the fault stays dc */
	for (uint32_t s = 0; s < SERVERS; s++)
		srv(&t.d, 2, s, 0, 0);
	step(&t);
	assert_string_equal(reported(&t), "dc");
	nw_scope_free(&t.st);
}

/* A rack fault whose servers recover one by one ends when fewer than
 * theta_rack / 2 remain; the rest become server faults, pending again. */
static void test_rack_recovers(void **state)
{
	struct tracked t;

	(void)state;
	tracked_init(&t);
	for (uint32_t s = 0; s < SERVERS; s++)
		srv(&t.d, 3, s, 1, 0);
	step(&t);
	step(&t);
	assert_string_equal(reported(&t), "rack:3/servers");
	for (uint32_t s = 0; s < 6; s++) {
		srv(&t.d, 3, s, 0, 0); /* 7, 6 ... 2 left: 2/8 = theta/2 still a rack */
		step(&t);
		assert_string_equal(reported(&t), "rack:3/servers");
	}
	srv(&t.d, 3, 6, 0, 0); /* 1 of 8 left */
	step(&t);
	assert_string_equal(reported(&t), "");
	step(&t);
	assert_string_equal(reported(&t), "server:3/7");
	assert_int_equal(t.st.ended, 1);
	nw_scope_free(&t.st);
}

static void test_uplink_tracked(void **state)
{
	struct tracked t;

	(void)state;
	tracked_init(&t);
	uplink(&t.d, 2, 1);
	step(&t);
	step(&t);
	assert_string_equal(reported(&t), "rack:2/uplink");
	assert_int_equal(t.st.faults.f[0].nmembers, 6);
	assert_int_equal(t.st.hist[NW_SCOPE_RACK].count, 1);
	uplink(&t.d, 2, 0);
	for (int i = 0; i < 5; i++)
		step(&t);
	assert_string_equal(reported(&t), "");
	nw_scope_free(&t.st);
}

/* An uplink's six paths cross one after the other (separate tones, each
 * with its own window): the first is pending as a path for hold_path
 * intervals, long enough for the rest to make it the rack's uplink; it is
 * never reported as a path. A lone pair is reported after hold_path. */
static void test_uplink_crossing_path_by_path(void **state)
{
	static const uint32_t others[] = { 0, 1, 3 };
	struct tracked t;

	(void)state;
	tracked_init(&t);
	for (int k = 0; k < 3; k++) {
		path(&t.d, 2, others[k], 1, (double)k);
		step(&t);
		assert_true(strncmp(reported(&t), "path", 4) != 0);
		path(&t.d, others[k], 2, 1, (double)k + 0.5);
		step(&t);
		assert_true(strncmp(reported(&t), "path", 4) != 0);
	}
	assert_string_equal(reported(&t), "rack:2/uplink");
	uplink(&t.d, 2, 0);
	for (unsigned i = 0; i <= t.st.cfg.clear && reported(&t)[0]; i++)
		step(&t);
	assert_string_equal(reported(&t), "");
	for (unsigned i = 0; i <= t.st.cfg.clear; i++) /* pending ones end too */
		step(&t);

	path(&t.d, 1, 3, 1, 20);
	for (unsigned i = 1; i < t.st.cfg.hold_path; i++) {
		step(&t);
		assert_string_equal(reported(&t), "");
	}
	step(&t);
	assert_string_equal(reported(&t), "path:1>3");
	nw_scope_free(&t.st);
}

/* A controller dies: its paths out go down first (its last report still
 * shows its paths in healthy, so rule 2 says uplink), then the DC finds it
 * stale (rule 0): one fault throughout, same id, the cause now controller;
 * never a path fault. It comes back healthy: the fault clears. */
static void test_dead_controller_tracked(void **state)
{
	struct tracked t;

	(void)state;
	tracked_init(&t);
	for (uint32_t dst = 0; dst < RACKS; dst++)
		if (dst != 2)
			path(&t.d, 2, dst, 1, 0);
	step(&t);
	assert_string_equal(reported(&t), "");
	step(&t);
	assert_string_equal(reported(&t), "rack:2/uplink");
	kill_rack(&t.d, 2, 0);
	for (int i = 0; i < 10; i++) {
		step(&t);
		assert_string_equal(reported(&t), "rack:2/controller");
		assert_int_equal(t.st.faults.n, 1);
	}
	assert_int_equal(t.st.faults.f[0].id, nw_scope_path_key(2, 0));
	assert_int_equal(t.st.hist[NW_SCOPE_PATH].count, 0);
	/* stale from the start: the controller alone, never a path */
	nw_scope_free(&t.st);
	tracked_init(&t);
	kill_rack(&t.d, 3, 0);
	for (unsigned i = 0; i < t.st.cfg.hold_path + 2; i++) {
		step(&t);
		assert_null(strstr(reported(&t), "path"));
	}
	assert_string_equal(reported(&t), "rack:3/controller");
	/* back and healthy: ends after clear */
	{
		uint64_t now = t.d.now;

		dc_init(&t.d);
		t.d.now = now;
	}
	for (unsigned i = 1; i < t.st.cfg.clear; i++) {
		step(&t);
		assert_string_equal(reported(&t), "rack:3/controller");
	}
	step(&t);
	assert_string_equal(reported(&t), "");
	nw_scope_free(&t.st);
}

/* The rack's own view (rules 1 and 5): one rack, no paths. */
static void test_rack_view(void **state)
{
	struct nw_scope_entity e[SERVERS];
	uint32_t rack = 7;
	struct nw_scope_snapshot s = {
		.now_ns = T0, .e = e, .n = SERVERS, .racks = &rack, .nracks = 1
	};
	struct nw_scope_cfg cfg;
	struct nw_scope_list l = { 0 };

	(void)state;
	nw_scope_cfg_default(&cfg);
	for (uint32_t i = 0; i < SERVERS; i++)
		e[i] = (struct nw_scope_entity){ .key = nw_scope_server_key(rack, i),
						 .degraded = i < 6,
						 .period_s = NAN,
						 .since_ns = T0 };
	assert_int_equal(nw_scope_decide(&cfg, &s, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.f[0].scope, NW_SCOPE_RACK); /* not dc: one rack only */
	assert_int_equal(l.f[0].cause, NW_CAUSE_SERVERS);
	nw_scope_list_free(&l);
}

/* The thresholds are configuration (netwatch-dc --scope-theta-rack ...):
 * two servers of eight are a rack at theta_rack 0.25, not at 0.5. */
static void test_thresholds(void **state)
{
	struct nw_scope_cfg cfg;
	struct nw_scope_list l = { 0 };
	struct nw_scope_snapshot s;
	struct dc d;

	(void)state;
	dc_init(&d);
	srv(&d, 1, 3, 1, 0);
	srv(&d, 1, 4, 1, 0);
	s = snap(&d);
	nw_scope_cfg_default(&cfg);
	cfg.theta_rack = 0.25;
	assert_int_equal(nw_scope_decide(&cfg, &s, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.f[0].scope, NW_SCOPE_RACK);
	/* onsets 5 s apart: shared only with share_s >= 5 */
	srv(&d, 1, 4, 1, 5);
	assert_int_equal(nw_scope_decide(&cfg, &s, &l), 0);
	assert_int_equal(l.n, 2);
	cfg.share_s = 5;
	assert_int_equal(nw_scope_decide(&cfg, &s, &l), 0);
	assert_int_equal(l.n, 1);
	nw_scope_list_free(&l);
}

static int by_key(const void *a, const void *b)
{
	uint64_t x = ((const struct nw_scope_entity *)a)->key;
	uint64_t y = ((const struct nw_scope_entity *)b)->key;

	return x < y ? -1 : x > y;
}

/* A snapshot already in key order (the DC's) is read in place, without the
 * sorted copy others get: the same faults either way. */
static void test_in_key_order(void **state)
{
	char mixed[512], sorted[512];
	struct dc d;

	(void)state;
	dc_init(&d);
	uplink(&d, 2, 1);
	path(&d, 0, 1, 1, 0);
	path(&d, 1, 0, 1, 0.1);
	path(&d, 3, 1, 1, 0);
	srv(&d, 0, 3, 1, 0);
	decide(&d, mixed, sizeof(mixed));
	assert_string_equal(mixed, "path:0-1 path:0-2 path:1-2 path:2-3 path:3>1 server:0/3");
	qsort(d.e, d.n, sizeof(d.e[0]), by_key);
	decide(&d, sorted, sizeof(sorted));
	assert_string_equal(sorted, mixed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_one_server),
		cmocka_unit_test(test_rack_servers),
		cmocka_unit_test(test_rack_uplink),
		cmocka_unit_test(test_one_pair),
		cmocka_unit_test(test_all_racks),
		cmocka_unit_test(test_shared_period),
		cmocka_unit_test(test_pending_then_reported),
		cmocka_unit_test(test_widen_never_narrow),
		cmocka_unit_test(test_rack_recovers),
		cmocka_unit_test(test_uplink_tracked),
		cmocka_unit_test(test_uplink_crossing_path_by_path),
		cmocka_unit_test(test_dead_controller),
		cmocka_unit_test(test_dead_controller_tracked),
		cmocka_unit_test(test_rack_view),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_in_key_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
