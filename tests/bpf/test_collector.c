// SPDX-License-Identifier: MIT
/*
 * The real collector (build/collector.bpf.o through its skeleton) run with
 * BPF_PROG_TEST_RUN on crafted frames, for both entries: nw_xdp and nw_tc.
 * Nothing is pinned: every map's pin path is cleared before load, so each
 * test gets fresh maps that vanish with its skeleton. Needs root.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sodium.h>

#include "collector.h"
#include "collector.skel.h"
#include "nw_cases.h"

#define DISC_PER_SEC 3U
#define MAX_SLOTS 64
#define MAX_RECS 1024

enum hook { HOOK_XDP, HOOK_TC };

struct ring_ctx {
	size_t n;
	struct nw_record recs[MAX_RECS];
};

struct fx {
	enum hook hook;
	struct collector *skel;
	int prog_fd;
	int ring_fd[MAX_SLOTS];
	struct ring_buffer *rb[MAX_SLOTS];
	struct ring_ctx rings[MAX_SLOTS];
};

static enum hook hook_xdp = HOOK_XDP, hook_tc = HOOK_TC;

static uint64_t tai_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int setup(void **state)
{
	enum hook *hook = *state;
	struct fx *fx = calloc(1, sizeof(*fx));
	struct bpf_map *map;

	if (!fx)
		return -1;
	fx->hook = *hook;
	for (int i = 0; i < MAX_SLOTS; i++)
		fx->ring_fd[i] = -1;
	fx->skel = collector__open();
	if (!fx->skel) {
		free(fx);
		return -1;
	}
	bpf_object__for_each_map(map,
				 fx->skel->obj) if (bpf_map__set_pin_path(map, NULL)) goto fail;
	fx->skel->rodata->nw_port = PB_PORT;
	fx->skel->rodata->nw_rack_id = PB_RACK;
	fx->skel->rodata->nw_discovery_per_sec = DISC_PER_SEC;
	if (collector__load(fx->skel))
		goto fail;
	fx->prog_fd = bpf_program__fd(fx->hook == HOOK_XDP ? fx->skel->progs.nw_xdp
							   : fx->skel->progs.nw_tc);
	*state = fx;
	return 0;
fail:
	collector__destroy(fx->skel);
	free(fx);
	return -1;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < MAX_SLOTS; i++) {
		ring_buffer__free(fx->rb[i]);
		if (fx->ring_fd[i] >= 0)
			close(fx->ring_fd[i]);
	}
	collector__destroy(fx->skel);
	free(fx);
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct ring_ctx *r = ctx;

	if (size != sizeof(struct nw_record) || r->n >= MAX_RECS)
		return -1;
	memcpy(&r->recs[r->n++], data, sizeof(struct nw_record));
	return 0;
}

/* Gives `server` slot `slot` in nw_index and, when ring_bytes, its own
 * ring; `direct` also does what user/rack/source/registry.c does for the fast path:
 * names the server in the slot's state and sets nw_direct[server] = slot + 1. */
static void register_server_how(struct fx *fx, uint32_t server, uint32_t slot, uint32_t ring_bytes,
				int direct)
{
	struct nw_server_key key = { .rack_id = PB_RACK, .server_id = server };

	assert_true(slot < MAX_SLOTS);
	if (ring_bytes) {
		fx->ring_fd[slot] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nwt_ring", 0, 0,
						   ring_bytes, NULL);
		assert_true(fx->ring_fd[slot] >= 0);
		assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_rings, &slot, sizeof(slot),
						      &fx->ring_fd[slot], sizeof(int), BPF_ANY),
				 0);
		fx->rb[slot] = ring_buffer__new(fx->ring_fd[slot], on_record, &fx->rings[slot],
						NULL);
		assert_non_null(fx->rb[slot]);
	}
	if (direct) {
		struct nw_server_state st;

		memset(&st, 0, sizeof(st));
		st.rack_id = PB_RACK;
		st.server_id = server;
		assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_state, &slot, sizeof(slot),
						      &st, sizeof(st), BPF_F_LOCK),
				 0);
	}
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_index, &key, sizeof(key), &slot,
					      sizeof(slot), BPF_NOEXIST),
			 0);
	if (direct && server < bpf_map__max_entries(fx->skel->maps.nw_direct)) {
		uint32_t v = slot + 1; /* larger ids: index only, as the registry does */

		assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_direct, &server,
						      sizeof(server), &v, sizeof(v), BPF_ANY),
				 0);
	}
}

static void register_server(struct fx *fx, uint32_t server, uint32_t slot, uint32_t ring_bytes)
{
	register_server_how(fx, server, slot, ring_bytes, 1);
}

static int consume(struct fx *fx, uint32_t slot)
{
	int n = ring_buffer__consume(fx->rb[slot]);

	assert_true(n >= 0);
	return n;
}

static int verdict_pass(const struct fx *fx)
{
	return fx->hook == HOOK_XDP ? XDP_PASS : 0 /* TC_ACT_OK */;
}

static int verdict_consume(const struct fx *fx)
{
	return fx->hook == HOOK_XDP ? XDP_DROP : 2 /* TC_ACT_SHOT */;
}

/* Runs one frame; returns the program's verdict, checks the frame is
 * handed back unchanged. */
static uint32_t run(struct fx *fx, const uint8_t *frame, size_t len)
{
	uint8_t out[PB_FRAME_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(fx->prog_fd, &opts);

	if (err)
		fail_msg("test_run: %d (%s), len %zu", err, strerror(errno), len);
	assert_int_equal(opts.data_size_out, len);
	assert_memory_equal(out, frame, len);
	return opts.retval;
}

static void run_expect(struct fx *fx, const uint8_t *frame, size_t len, int consumed)
{
	uint32_t v = run(fx, frame, len);

	assert_int_equal(v, consumed ? verdict_consume(fx) : verdict_pass(fx));
}

static void read_stats(struct fx *fx, struct nw_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct nw_stats *per;
	__u32 zero = 0;

	assert_true(ncpu > 0);
	per = calloc((size_t)ncpu, sizeof(*per));
	assert_non_null(per);
	assert_int_equal(bpf_map__lookup_elem(fx->skel->maps.nw_stats, &zero, sizeof(zero), per,
					      sizeof(*per) * (size_t)ncpu, 0),
			 0);
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < ncpu; c++) {
		const __u64 *src = (const __u64 *)&per[c];
		__u64 *dst = (__u64 *)sum;

		for (size_t i = 0; i < sizeof(*sum) / sizeof(__u64); i++)
			dst[i] += src[i];
	}
	free(per);
}

static void read_state(struct fx *fx, uint32_t slot, struct nw_server_state *st)
{
	memset(st, 0, sizeof(*st));
	assert_int_equal(bpf_map__lookup_elem(fx->skel->maps.nw_state, &slot, sizeof(slot), st,
					      sizeof(*st), 0),
			 0);
}

static void assert_no_malformed(const struct nw_stats *s)
{
	for (int r = 0; r < NW_MAL__MAX; r++)
		if (s->malformed[r])
			fail_msg("malformed[%d] = %llu", r, (unsigned long long)s->malformed[r]);
}

/* --------------------------------------------------------------- valid */

static void test_valid_encapsulations(void **state)
{
	struct fx *fx = *state;
	static const struct {
		int nvlan;
		uint16_t tpid[2];
	} encs[] = {
		{ 0, { 0, 0 } },
		{ 1, { PB_ETH_8021Q, 0 } },
		{ 1, { PB_ETH_8021AD, 0 } },
		{ 2, { PB_ETH_8021AD, PB_ETH_8021Q } },
		{ 2, { PB_ETH_8021Q, PB_ETH_8021Q } },
	};
	uint64_t seq = 0, base = tai_now() - 1000000000ULL;
	struct nw_server_state st;
	struct nw_stats stats;

	register_server(fx, 42, 3, NW_RING_BYTES_DEFAULT);
	for (int family = 4; family <= 6; family += 2) {
		for (size_t e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
			for (int variant = 0; variant < 3; variant++) {
				struct pb_frame f = pb_frame_make(family);
				struct pb_sample s = pb_sample_make(PB_RACK, 42, seq,
								    base + seq * 1000);
				uint8_t buf[PB_FRAME_MAX];
				uint64_t before, after;
				size_t len;

				f.nvlan = encs[e].nvlan;
				f.vlan_tpid[0] = encs[e].tpid[0];
				f.vlan_tpid[1] = encs[e].tpid[1];
				if (variant == 1)
					s.flags = NW_FLAG_AUTH; /* 48 bytes; no key here: tag unchecked */
				if (variant == 2 && family == 4) {
					f.ip4_opt_words = 2;
					f.frag_off = 0x4000; /* DF: not a fragment */
				}
				len = pb_sample_frame(buf, &f, &s);
				before = tai_now();
				run_expect(fx, buf, len, 1);
				after = tai_now();
				assert_int_equal(consume(fx, 3), 1);
				const struct nw_record *r = &fx->rings[3].recs[fx->rings[3].n - 1];
				assert_true(r->seq == seq);
				assert_true(r->tx_ns == s.tx_ns);
				assert_true(r->rx_ns >= before && r->rx_ns <= after);
				assert_int_equal(r->value_bits, s.value_bits);
				assert_int_equal(r->flags, seq == 0 ? NW_REC_STREAM_START : 0);
				assert_int_equal(r->reserved, 0);
				seq++;
			}
		}
	}
	read_state(fx, 3, &st);
	assert_true(st.received == seq);
	assert_true(st.lost == 0 && st.duplicates == 0 && st.reordered == 0);
	assert_int_equal(st.server_id, 42); /* identity is the registry's: kept as written */
	assert_int_equal(st.rack_id, PB_RACK);
	assert_int_equal(st.freq_uhz, 1350000);
	assert_int_equal(st.rate_uhz, 20000000);
	read_stats(fx, &stats);
	assert_true(stats.packets == seq);
	assert_true(stats.samples == seq);
	assert_no_malformed(&stats);
	assert_true(stats.unknown_server == 0 && stats.wrong_rack == 0 && stats.ring_full == 0);
}

/* ----------------------------------------------------------- malformed */

static void test_malformed(void **state)
{
	struct fx *fx = *state;
	struct mal_cases *m = mal_cases_build();
	uint64_t want[NW_MAL__MAX] = { 0 };
	struct nw_server_state st;
	struct nw_stats stats;

	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	for (size_t i = 0; i < m->n; i++) {
		uint32_t v = run(fx, m->c[i].frame, m->c[i].len);

		want[m->c[i].reason]++;
		read_stats(fx, &stats);
		if (v != (uint32_t)verdict_consume(fx) ||
		    memcmp(stats.malformed, want, sizeof(want)) != 0)
			fail_msg("%s: verdict %u, malformed[%d] = %llu, want %llu", m->c[i].name, v,
				 m->c[i].reason,
				 (unsigned long long)stats.malformed[m->c[i].reason],
				 (unsigned long long)want[m->c[i].reason]);
	}
	read_stats(fx, &stats);
	assert_true(stats.packets == m->n);
	assert_true(stats.samples == 0 && stats.unknown_server == 0 && stats.wrong_rack == 0);
	assert_int_equal(consume(fx, 0), 0); /* never recorded */
	read_state(fx, 0, &st);
	assert_true(st.received == 0 && st.status == 0);
	free(m);
}

static void test_other_traffic(void **state)
{
	struct fx *fx = *state;
	struct pass_cases *p = pass_cases_build();
	struct nw_stats stats;

	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	size_t ran = 0;

	for (size_t i = 0; i < p->n; i++) {
		/* The kernel's skb test_run refuses an IPv4 frame too short for
		 * an IP header (EINVAL): a runt only XDP can be shown. */
		if (fx->hook == HOOK_TC && p->c[i].len < 14 + 20)
			continue;
		uint32_t v = run(fx, p->c[i].frame, p->c[i].len);

		ran++;

		if (v != (uint32_t)verdict_pass(fx))
			fail_msg("%s: verdict %u, want pass", p->c[i].name, v);
	}
	read_stats(fx, &stats);
	assert_true(stats.packets == ran);
	assert_true(ran + 2 >= p->n);
	assert_no_malformed(&stats);
	assert_true(stats.samples == 0 && stats.unknown_server == 0 && stats.wrong_rack == 0);
	assert_int_equal(consume(fx, 0), 0);
	free(p);
}

/* ------------------------------------------------------------ sequence */

/* The kernel stamps rx with its own clock, which a test cannot set: a step
 * that arrives `dt` after the one before moves the server's past back by dt
 * instead (every absolute time the state keeps), and is sent with tx = now -
 * (rx_k - tx_k) periods. The state sees exactly the scenario's elapsed times. */
static void move_past_back(struct fx *fx, uint32_t slot, uint64_t dt)
{
	struct nw_server_state st;

	if (!dt)
		return;
	assert_int_equal(bpf_map__lookup_elem(fx->skel->maps.nw_state, &slot, sizeof(slot), &st,
					      sizeof(st), BPF_F_LOCK),
			 0);
	if (st.last_rx_ns)
		st.last_rx_ns -= dt;
	if (st.first_rx_ns)
		st.first_rx_ns -= dt;
	if (st.max_tx_ns > dt)
		st.max_tx_ns -= dt;
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_state, &slot, sizeof(slot), &st,
					      sizeof(st), BPF_F_LOCK),
			 0);
}

static void test_sequence_scenarios(void **state)
{
	struct fx *fx = *state;
	struct seq_case *cs;
	size_t n = seq_cases_build(&cs);
	const int64_t period = (int64_t)SEQ_PERIOD_NS;
	struct nw_stats stats;
	uint64_t anomalies[NW_ANOM__MAX] = { 0 }, anomalous = 0;

	assert_true(n <= MAX_SLOTS);
	/* One server per scenario; a scenario's records go to its own ring. */
	for (size_t i = 0; i < n; i++) {
		const struct seq_case *c = &cs[i];
		uint32_t slot = (uint32_t)i;
		uint64_t sent_tx[SEQ_MAX_STEPS];
		struct nw_server_state st;
		size_t want_recs = 0;

		register_server(fx, (uint32_t)(100 + i), slot, NW_RING_BYTES_DEFAULT);
		for (size_t k = 0; k < c->n; k++) {
			const struct seq_step *step = &c->steps[k];
			struct pb_frame f = pb_frame_make(k % 2 ? 6 : 4);
			uint8_t buf[PB_FRAME_MAX];
			struct pb_sample s;

			if (k)
				move_past_back(fx, slot,
					       (uint64_t)((step->rx_k - c->steps[k - 1].rx_k) *
							  period));
			sent_tx[k] = step->raw ? step->tx_raw
					       : tai_now() - 1000000 -
							 (uint64_t)((step->rx_k - step->tx_k) *
								    period);
			s = pb_sample_make(PB_RACK, (uint32_t)(100 + i), step->seq, sent_tx[k]);
			s.flags = step->flags;
			run_expect(fx, buf, pb_sample_frame(buf, &f, &s), 1);
			if (step->rec != SEQ_NO_RECORD)
				want_recs++;
			if (step->anom)
				anomalies[step->anom - 1]++;
		}
		consume(fx, slot);
		struct ring_ctx *r = &fx->rings[slot];
		if (r->n != want_recs)
			fail_msg("%s: %zu records, want %zu", c->name, r->n, want_recs);
		for (size_t k = 0, j = 0; k < c->n; k++) {
			if (c->steps[k].rec == SEQ_NO_RECORD)
				continue;
			const struct nw_record *rec = &r->recs[j++];

			if (rec->seq != c->steps[k].seq || rec->flags != c->steps[k].rec ||
			    rec->tx_ns != sent_tx[k])
				fail_msg("%s: record %zu: seq %llu flags %#x, want seq %llu flags %#x",
					 c->name, j - 1, (unsigned long long)rec->seq, rec->flags,
					 (unsigned long long)c->steps[k].seq, c->steps[k].rec);
		}
		read_state(fx, slot, &st);
		if (st.received != c->want.received || st.lost != c->want.lost ||
		    st.duplicates != c->want.duplicates || st.reordered != c->want.reordered ||
		    st.late != c->want.late || st.restarts != c->want.restarts ||
		    st.goodbyes != c->want.goodbyes || st.anomalous != c->want.anomalous)
			fail_msg("%s: rcv %llu lost %llu dup %llu reord %llu late %llu restarts %llu "
				 "bye %llu anom %llu",
				 c->name, (unsigned long long)st.received,
				 (unsigned long long)st.lost, (unsigned long long)st.duplicates,
				 (unsigned long long)st.reordered, (unsigned long long)st.late,
				 (unsigned long long)st.restarts, (unsigned long long)st.goodbyes,
				 (unsigned long long)st.anomalous);
		anomalous += st.anomalous;
	}
	/* The rack-wide counters say why, by reason. */
	read_stats(fx, &stats);
	for (int a = 0; a < NW_ANOM__MAX; a++)
		if (stats.anomalies[a] != anomalies[a])
			fail_msg("anomalies[%d] = %llu, want %llu", a,
				 (unsigned long long)stats.anomalies[a],
				 (unsigned long long)anomalies[a]);
	assert_true(anomalous > 0);
	free(cs);
}

/* --------------------------------------------------------------- timing */

static void test_jitter_matches_rfc3550(void **state)
{
	struct fx *fx = *state;
	static const uint64_t delays_us[] = { 300,  2500, 800,  800, 5000, 100,  1500,
					      3000, 250,  4000, 700, 900,  6000, 200,
					      2200, 350,  1200, 50,  3300, 600 };
	const size_t n = sizeof(delays_us) / sizeof(delays_us[0]);
	struct nw_server_state st;
	int64_t last = 0, j16 = 0;
	double j = 0.0;

	register_server(fx, 9, 1, NW_RING_BYTES_DEFAULT);
	for (size_t k = 0; k < n; k++) {
		uint8_t buf[PB_FRAME_MAX];

		/* A sample period between samples, as the sender keeps it. */
		move_past_back(fx, 1, SEQ_PERIOD_NS);
		run_expect(fx, buf, pb_simple(buf, 9, k, tai_now() - delays_us[k] * 1000), 1);
	}
	assert_int_equal(consume(fx, 1), (int)n);
	/* Reference from the records' own rx and tx. */
	for (size_t k = 0; k < n; k++) {
		const struct nw_record *r = &fx->rings[1].recs[k];
		int64_t transit = (int64_t)(r->rx_ns - r->tx_ns);

		assert_true(transit >= (int64_t)delays_us[k] * 1000);
		if (k) {
			int64_t d = transit > last ? transit - last : last - transit;

			j += ((double)d - j) / 16.0;
			j16 += d - ((j16 + 8) >> 4);
		}
		last = transit;
	}
	read_state(fx, 1, &st);
	assert_true((int64_t)st.jitter_x16_ns == j16);
	assert_true(fabs(st.jitter_x16_ns / 16.0 - j) < 2.0);
	assert_true(j > 100000.0);
	assert_true(st.last_transit_ns == last);
}

static unsigned ref_bucket(int64_t lat)
{
	static const uint64_t bounds[] = NW_HIST_BOUNDS_NS;

	if (lat < 0)
		return 0;
	for (unsigned b = 0; b < NW_HIST_FINITE; b++)
		if ((uint64_t)lat <= bounds[b])
			return b;
	return NW_HIST_FINITE;
}

static void test_latency_histogram(void **state)
{
	struct fx *fx = *state;
	/* One latency well inside each bucket (geometric middles) and a
	 * negative one (sender clock 1 s ahead). */
	static const int64_t lat_ns[] = {
		20000,         70000,     160000,     350000,       700000,       1600000,
		3500000,       7000000,   16000000,   35000000,     70000000,     160000000,
		350000000,     700000000, 1600000000, 3500000000LL, 7000000000LL, 30000000000LL,
		-1000000000LL, 700000,    700000,
	};
	const size_t n = sizeof(lat_ns) / sizeof(lat_ns[0]);
	uint64_t want[NW_HIST_BUCKETS] = { 0 }, sum = 0, neg = 0;
	struct nw_server_state st;

	register_server(fx, 5, 2, NW_RING_BYTES_DEFAULT);
	for (size_t k = 0; k < n; k++) {
		uint8_t buf[PB_FRAME_MAX];

		/* Latencies from -1 s to 30 s: 100 s between samples keeps
		 * every tx after the one before, as a sender's are. */
		move_past_back(fx, 2, 100ULL * 1000000000ULL);
		run_expect(fx, buf,
			   pb_simple(buf, 5, k, (uint64_t)((int64_t)tai_now() - lat_ns[k])), 1);
	}
	assert_int_equal(consume(fx, 2), (int)n);
	for (size_t k = 0; k < n; k++) {
		const struct nw_record *r = &fx->rings[2].recs[k];
		int64_t lat = (int64_t)(r->rx_ns - r->tx_ns);
		unsigned b = ref_bucket(lat);

		/* The program's stamp is after our clock read, by little. */
		assert_true(lat >= lat_ns[k]);
		assert_true(lat - lat_ns[k] < 1000000000LL);
		/* Buckets from 1 ms up have at least 0.6 ms of margin around
		 * the chosen latency: the wanted bucket must be the one hit. */
		if (lat_ns[k] >= 1000000 || lat_ns[k] < 0)
			assert_int_equal(b, ref_bucket(lat_ns[k]));
		want[b]++;
		if (lat < 0)
			neg++;
		else
			sum += (uint64_t)lat;
	}
	read_state(fx, 2, &st);
	for (unsigned b = 0; b < NW_HIST_BUCKETS; b++)
		if (st.latency_hist[b] != want[b])
			fail_msg("bucket %u: %llu, want %llu", b,
				 (unsigned long long)st.latency_hist[b],
				 (unsigned long long)want[b]);
	assert_true(st.latency_sum_ns == sum);
	assert_true(st.latency_negative == neg && neg == 1);
	assert_true(st.latency_hist[NW_HIST_FINITE] == 1);
	assert_true(st.first_rx_ns ==
		    fx->rings[2].recs[0].rx_ns - (n - 1) * 100ULL * 1000000000ULL);
	assert_true(st.last_rx_ns == fx->rings[2].recs[n - 1].rx_ns);
}

/* ----------------------------------------------------- who is it from */

static void test_wrong_rack(void **state)
{
	struct fx *fx = *state;
	struct pb_frame f = pb_frame_make(4);
	struct pb_sample s = pb_sample_make(PB_RACK + 1, 1, 0, tai_now());
	uint8_t buf[PB_FRAME_MAX];
	struct nw_stats stats;
	struct nw_server_key key = { .rack_id = PB_RACK + 1, .server_id = 1 };
	uint32_t slot = 0;

	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	/* Even a slot registered under that rack id is not used. */
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_index, &key, sizeof(key), &slot,
					      sizeof(slot), BPF_NOEXIST),
			 0);
	run_expect(fx, buf, pb_sample_frame(buf, &f, &s), 1);
	read_stats(fx, &stats);
	assert_int_equal(stats.wrong_rack, 1);
	assert_true(stats.samples == 0 && stats.unknown_server == 0 && stats.discovery_sent == 0);
	assert_no_malformed(&stats);
	assert_int_equal(consume(fx, 0), 0);
}

struct disc_ctx {
	size_t n;
	struct nw_discovery ev[16];
};

static int on_disc(void *ctx, void *data, size_t size)
{
	struct disc_ctx *d = ctx;

	if (size != sizeof(struct nw_discovery) || d->n >= 16)
		return -1;
	memcpy(&d->ev[d->n++], data, size);
	return 0;
}

static void test_unknown_server_discovery(void **state)
{
	struct fx *fx = *state;
	struct disc_ctx d = { 0 };
	struct ring_buffer *rb;
	struct nw_stats stats;
	uint64_t before = tai_now(), after;

	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	rb = ring_buffer__new(bpf_map__fd(fx->skel->maps.nw_discovery), on_disc, &d, NULL);
	assert_non_null(rb);
	/* DISC_PER_SEC + 2 unknown samples inside one second (no sleeps: the
	 * runs take microseconds): the first DISC_PER_SEC are reported. */
	for (uint32_t i = 0; i < DISC_PER_SEC + 2; i++) {
		struct pb_frame f = pb_frame_make(i % 2 ? 6 : 4);
		struct pb_sample s = pb_sample_make(PB_RACK, 500 + i, 77 + i, before);
		uint8_t buf[PB_FRAME_MAX];

		run_expect(fx, buf, pb_sample_frame(buf, &f, &s), 1);
	}
	after = tai_now();
	assert_int_equal(ring_buffer__consume(rb), DISC_PER_SEC);
	assert_int_equal(d.n, DISC_PER_SEC);
	for (uint32_t i = 0; i < DISC_PER_SEC; i++) {
		const struct nw_discovery *e = &d.ev[i];
		struct pb_frame f = pb_frame_make(i % 2 ? 6 : 4);

		assert_int_equal(e->rack_id, PB_RACK);
		assert_int_equal(e->server_id, 500 + i);
		assert_int_equal(e->freq_uhz, 1350000);
		assert_int_equal(e->rate_uhz, 20000000);
		assert_true(e->seq == 77 + i);
		assert_true(e->rx_ns >= before && e->rx_ns <= after);
		assert_int_equal(e->family, i % 2 ? 6 : 4);
		assert_memory_equal(e->addr, f.src, i % 2 ? 16 : 4);
	}
	read_stats(fx, &stats);
	assert_int_equal(stats.unknown_server, DISC_PER_SEC + 2);
	assert_int_equal(stats.discovery_sent, DISC_PER_SEC);
	assert_int_equal(stats.discovery_suppressed, 2);
	assert_true(stats.samples == 0 && stats.wrong_rack == 0);
	assert_int_equal(consume(fx, 0), 0);
	ring_buffer__free(rb);
}

/* Inter-rack tones (docs/fabric.md section 3): a path is the key
 * (source rack, NW_SERVER_FABRIC) on its destination's collector. */
static void test_fabric_path(void **state)
{
	struct fx *fx = *state;
	struct nw_server_key key = { .rack_id = 3, .server_id = NW_SERVER_FABRIC };
	struct nw_server_state st;
	struct nw_stats stats;
	uint8_t buf[PB_FRAME_MAX];
	uint64_t t0 = tai_now() - 1000000000ULL;
	uint32_t slot = 5;

	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	/* The path 3 -> PB_RACK in slot 5, registered as the rack does. */
	fx->ring_fd[slot] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nwt_ring", 0, 0,
					   NW_RING_BYTES_DEFAULT, NULL);
	assert_true(fx->ring_fd[slot] >= 0);
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_rings, &slot, sizeof(slot),
					      &fx->ring_fd[slot], sizeof(int), BPF_ANY),
			 0);
	fx->rb[slot] = ring_buffer__new(fx->ring_fd[slot], on_record, &fx->rings[slot], NULL);
	assert_non_null(fx->rb[slot]);
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_index, &key, sizeof(key), &slot,
					      sizeof(slot), BPF_NOEXIST),
			 0);
	for (uint64_t k = 0; k < 3; k++) {
		struct pb_frame f = pb_frame_make(k == 1 ? 6 : 4);
		struct pb_sample s = pb_fabric_make(3, PB_RACK, k, t0 + k * 200000000ULL);

		s.mesh_epoch = 41;
		if (k == 2)
			s.flags |= NW_FLAG_AUTH; /* no key: the tag is not looked at */
		run_expect(fx, buf, pb_sample_frame(buf, &f, &s), 1);
	}
	read_stats(fx, &stats);
	assert_int_equal(stats.samples, 3);
	assert_int_equal(stats.fabric_samples, 3);
	assert_true(stats.fabric_misdirected == 0 && stats.wrong_rack == 0 &&
		    stats.unknown_server == 0);
	assert_no_malformed(&stats);
	read_state(fx, slot, &st);
	assert_true(st.received == 3 && st.lost == 0 && st.max_seq == 2);
	assert_int_equal(st.mesh_epoch, 41);
	assert_int_equal(st.freq_uhz, 1000000);
	assert_int_equal(st.rate_uhz, 5000000);
	assert_int_equal(consume(fx, slot), 3);
	assert_int_equal(consume(fx, 0), 0); /* server 1 is untouched */

	/* Addressed to another rack: dropped, counted apart from wrong_rack. */
	{
		struct pb_frame f = pb_frame_make(4);
		struct pb_sample s = pb_fabric_make(3, PB_RACK + 1, 3, t0 + 600000000ULL);

		run_expect(fx, buf, pb_sample_frame(buf, &f, &s), 1);
	}
	/* A path nobody registered: unknown, like a server, and discovered
	 * under its source rack. */
	{
		struct pb_frame f = pb_frame_make(4);
		struct pb_sample s = pb_fabric_make(9, PB_RACK, 0, t0);
		struct disc_ctx d = { 0 };
		struct ring_buffer *rb;

		rb = ring_buffer__new(bpf_map__fd(fx->skel->maps.nw_discovery), on_disc, &d, NULL);
		assert_non_null(rb);
		run_expect(fx, buf, pb_sample_frame(buf, &f, &s), 1);
		assert_int_equal(ring_buffer__consume(rb), 1);
		assert_int_equal(d.ev[0].rack_id, 9);
		assert_int_equal(d.ev[0].server_id, NW_SERVER_FABRIC);
		ring_buffer__free(rb);
	}
	read_stats(fx, &stats);
	assert_int_equal(stats.fabric_misdirected, 1);
	assert_int_equal(stats.unknown_server, 1);
	assert_int_equal(stats.discovery_sent, 1);
	assert_true(stats.samples == 3 && stats.fabric_samples == 3 && stats.wrong_rack == 0);
	read_state(fx, slot, &st);
	assert_true(st.received == 3);
	assert_int_equal(consume(fx, slot), 0);
}

/* ---------------------------------------------------------------- rings */

static void test_ring_full(void **state)
{
	struct fx *fx = *state;
	/* 4096-byte ring, 8-byte header + 32-byte record: room for 102. */
	const uint64_t fits = 4096 / (8 + sizeof(struct nw_record)), n = fits + 8;
	uint64_t base = tai_now() - 1000000000ULL;
	struct nw_server_state st;
	struct nw_stats stats;

	register_server(fx, 11, 4, 4096);
	for (uint64_t k = 0; k < n; k++) {
		uint8_t buf[PB_FRAME_MAX];

		run_expect(fx, buf, pb_simple(buf, 11, k, base + k * 1000), 1);
	}
	read_stats(fx, &stats);
	read_state(fx, 4, &st);
	assert_true(stats.ring_full == n - fits);
	assert_true(st.ring_full == n - fits);
	assert_true(st.received == n); /* counting does not depend on the ring */
	assert_int_equal(consume(fx, 4), (int)fits);
	for (uint64_t k = 0; k < fits; k++)
		assert_true(fx->rings[4].recs[k].seq == k);
	/* Drained: records flow again. */
	{
		uint8_t buf[PB_FRAME_MAX];

		run_expect(fx, buf, pb_simple(buf, 11, n, base + n * 1000), 1);
		assert_int_equal(consume(fx, 4), 1);
		assert_true(fx->rings[4].recs[fits].seq == n);
	}
}

static void test_no_ring(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[PB_FRAME_MAX];
	struct nw_server_state st;
	struct nw_stats stats;

	register_server(fx, 12, 5, 0);
	run_expect(fx, buf, pb_simple(buf, 12, 0, tai_now()), 1);
	read_stats(fx, &stats);
	read_state(fx, 5, &st);
	assert_int_equal(stats.no_ring, 1);
	assert_int_equal(stats.samples, 1);
	assert_true(st.received == 1);
}

/* ------------------------------------------------------ direct slot hint */

static uint64_t send_seqs(struct fx *fx, uint32_t server, uint64_t first, uint64_t n)
{
	uint8_t buf[PB_FRAME_MAX];
	uint64_t tx = tai_now() - 1000000000ULL;

	for (uint64_t q = first; q < first + n; q++)
		run_expect(fx, buf, pb_simple(buf, server, q, tx + q * 1000), 1);
	return n;
}

/* nw_direct is a hint: without it, above its size, or pointing at another
 * server's slot, the sample lands in the slot nw_index gives, counted once. */
static void test_direct_hint(void **state)
{
	struct fx *fx = *state;
	uint32_t big = bpf_map__max_entries(fx->skel->maps.nw_direct) + 7;
	uint32_t wrong = 6 + 1, empty_slot = 9 + 1;
	struct nw_server_state st;
	struct nw_stats stats;
	uint8_t buf[PB_FRAME_MAX];

	register_server(fx, 20, 6, NW_RING_BYTES_DEFAULT);         /* fast path */
	register_server_how(fx, 21, 7, NW_RING_BYTES_DEFAULT, 0);  /* index only */
	register_server_how(fx, big, 8, NW_RING_BYTES_DEFAULT, 1); /* id past nw_direct */
	register_server(fx, 23, 9, NW_RING_BYTES_DEFAULT);
	/* Stale hints: server 23 told slot 6 (server 20's), server 24 (unknown)
	 * told slot 9 (server 23's), server 21 told an empty slot. */
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_direct, &(uint32_t){ 23 }, 4,
					      &wrong, 4, BPF_ANY),
			 0);
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_direct, &(uint32_t){ 24 }, 4,
					      &empty_slot, 4, BPF_ANY),
			 0);
	empty_slot = 12 + 1;
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_direct, &(uint32_t){ 21 }, 4,
					      &empty_slot, 4, BPF_ANY),
			 0);

	send_seqs(fx, 20, 0, 5);
	send_seqs(fx, 21, 0, 6);
	send_seqs(fx, big, 0, 7);
	send_seqs(fx, 23, 0, 8);
	run_expect(fx, buf, pb_simple(buf, 24, 0, tai_now()), 1);

	read_state(fx, 6, &st);
	assert_true(st.received == 5 && st.duplicates == 0);
	read_state(fx, 7, &st);
	assert_true(st.received == 6);
	read_state(fx, 8, &st);
	assert_true(st.received == 7);
	read_state(fx, 9, &st);
	assert_true(st.received == 8);
	read_state(fx, 12, &st);
	assert_true(st.received == 0);
	assert_int_equal(consume(fx, 6), 5);
	assert_int_equal(consume(fx, 7), 6);
	assert_int_equal(consume(fx, 8), 7);
	assert_int_equal(consume(fx, 9), 8);
	read_stats(fx, &stats);
	assert_true(stats.samples == 26);
	assert_true(stats.unknown_server == 1);
	assert_no_malformed(&stats);
}

/* ------------------------------------------------------------- auth */

static void set_key(struct fx *fx, int enabled, const uint8_t key[16])
{
	struct nw_key k;
	__u32 zero = 0;

	memset(&k, 0, sizeof(k));
	k.enabled = (__u32)enabled;
	memcpy(k.key, key, sizeof(k.key));
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.nw_key, &zero, sizeof(zero), &k,
					      sizeof(k), BPF_ANY),
			 0);
}

/* The agent's tagging, with libsodium as the reference: flag first, then
 * the tag over the 40 bytes as they go on the wire. */
static void tag_sample(struct pb_sample *s, const uint8_t key[16])
{
	uint8_t bytes[NW_WIRE_V2_LEN_AUTH];
	struct pb_sample c = *s;
	size_t base = s->version == NW_VERSION ? NW_WIRE_V2_LEN : NW_WIRE_LEN;

	c.flags |= NW_FLAG_AUTH;
	c.len = (int32_t)(base + NW_TAG_LEN);
	pb_put_sample(bytes, &c);
	crypto_shorthash(s->tag, bytes, base, key);
	s->flags = c.flags;
}

static size_t auth_frame(uint8_t *buf, int family, struct pb_sample *s)
{
	struct pb_frame f = pb_frame_make(family);

	return pb_sample_frame(buf, &f, s);
}

/* With a key: only samples tagged under it are counted and recorded; every
 * other one is malformed[NW_MAL_AUTH] (or [NW_MAL_LENGTH] when flag and
 * length disagree) and touches no server state, discovery included. */
static void test_auth_keyed(void **state)
{
	struct fx *fx = *state;
	uint8_t key[16], other[16], buf[PB_FRAME_MAX];
	uint64_t base = tai_now() - 1000000000ULL, want_auth = 0, want_len = 0;
	struct disc_ctx d = { 0 };
	struct ring_buffer *rb;
	struct nw_server_state st;
	struct nw_stats stats;
	struct pb_sample s;

	randombytes_buf(key, sizeof(key));
	memcpy(other, key, sizeof(other));
	other[15] ^= 0x80;
	set_key(fx, 1, key);
	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	rb = ring_buffer__new(bpf_map__fd(fx->skel->maps.nw_discovery), on_disc, &d, NULL);
	assert_non_null(rb);

	/* Good: seq 0 over IPv4, seq 1 over IPv6. */
	for (uint64_t q = 0; q < 2; q++) {
		s = pb_sample_make(PB_RACK, 1, q, base + q * 1000);
		tag_sample(&s, key);
		run_expect(fx, buf, auth_frame(buf, q ? 6 : 4, &s), 1);
	}
	assert_int_equal(consume(fx, 0), 2);

	for (int family = 4; family <= 6; family += 2) {
		/* Every single-bit error in the tag. */
		for (int bit = 0; bit < 64; bit += 7) {
			s = pb_sample_make(PB_RACK, 1, 2, base + 2000);
			tag_sample(&s, key);
			s.tag[bit / 8] ^= (uint8_t)(1U << (bit % 8));
			run_expect(fx, buf, auth_frame(buf, family, &s), 1);
			want_auth++;
		}
		/* The right tag for other bytes: seq changed after tagging. */
		s = pb_sample_make(PB_RACK, 1, 2, base + 2000);
		tag_sample(&s, key);
		s.seq = 3;
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		want_auth++;
		/* Tagged under another key. */
		s = pb_sample_make(PB_RACK, 1, 2, base + 2000);
		tag_sample(&s, other);
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		want_auth++;
		/* No tag at all: a plain 40-byte sample, and a plain goodbye. */
		s = pb_sample_make(PB_RACK, 1, 2, base + 2000);
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		s.flags = NW_FLAG_GOODBYE;
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		want_auth += 2;
		/* A forged unknown sender: no discovery event, not even counted unknown. */
		s = pb_sample_make(PB_RACK, 700, 0, base);
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		s.flags = NW_FLAG_AUTH; /* garbage tag */
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		want_auth += 2;
		/* Flag without tag, tag without flag: a length error, as without a key. */
		s = pb_sample_make(PB_RACK, 1, 2, base + 2000);
		tag_sample(&s, key);
		s.len = NW_WIRE_LEN;
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		s = pb_sample_make(PB_RACK, 1, 2, base + 2000);
		tag_sample(&s, key);
		s.flags &= (uint8_t)~NW_FLAG_AUTH;
		s.len = NW_WIRE_LEN_AUTH;
		run_expect(fx, buf, auth_frame(buf, family, &s), 1);
		want_len += 2;
	}
	read_stats(fx, &stats);
	assert_true(stats.malformed[NW_MAL_AUTH] == want_auth);
	assert_true(stats.malformed[NW_MAL_LENGTH] == want_len);
	assert_true(stats.samples == 2 && stats.unknown_server == 0 && stats.wrong_rack == 0);
	assert_true(stats.discovery_sent == 0 && stats.discovery_suppressed == 0);
	assert_int_equal(ring_buffer__consume(rb), 0);
	assert_int_equal(consume(fx, 0), 0); /* nothing after the two good ones */
	read_state(fx, 0, &st);
	assert_true(st.received == 2 && st.max_seq == 1 && st.goodbyes == 0);
	assert_true(st.duplicates == 0 && st.lost == 0 && st.late == 0);

	/* A tagged goodbye is accepted and closes the stream. */
	s = pb_sample_make(PB_RACK, 1, 1, base + 3000);
	s.flags = NW_FLAG_GOODBYE;
	tag_sample(&s, key);
	run_expect(fx, buf, auth_frame(buf, 4, &s), 1);
	assert_int_equal(consume(fx, 0), 1);
	assert_int_equal(fx->rings[0].recs[2].flags & NW_REC_GOODBYE, NW_REC_GOODBYE);
	read_state(fx, 0, &st);
	assert_true(st.goodbyes == 1);
	/* Turning the key off: the same bad tags are now accepted, unchecked. */
	set_key(fx, 0, key);
	s = pb_sample_make(PB_RACK, 1, 0, base + 10000);
	s.flags = NW_FLAG_AUTH;
	run_expect(fx, buf, auth_frame(buf, 4, &s), 1);
	s = pb_sample_make(PB_RACK, 1, 1, base + 11000);
	run_expect(fx, buf, auth_frame(buf, 6, &s), 1);
	assert_int_equal(consume(fx, 0), 2);
	read_stats(fx, &stats);
	assert_true(stats.malformed[NW_MAL_AUTH] == want_auth);
	assert_true(stats.samples == 5);
	ring_buffer__free(rb);
}

/* A rack without a key (nw_key never written, as after a load) takes tagged
 * samples from keyed agents, whatever the tag, and counts nothing as auth. */
static void test_auth_rack_without_key(void **state)
{
	struct fx *fx = *state;
	uint8_t key[16], buf[PB_FRAME_MAX];
	uint64_t base = tai_now() - 1000000000ULL;
	struct nw_server_state st;
	struct nw_stats stats;

	randombytes_buf(key, sizeof(key));
	register_server(fx, 1, 0, NW_RING_BYTES_DEFAULT);
	for (uint64_t q = 0; q < 6; q++) {
		struct pb_sample s = pb_sample_make(PB_RACK, 1, q, base + q * 1000);

		if (q % 3 == 0)
			tag_sample(&s, key); /* a keyed agent */
		else if (q % 3 == 1)
			s.flags = NW_FLAG_AUTH; /* a wrong tag: not looked at */
		run_expect(fx, buf, auth_frame(buf, q % 2 ? 6 : 4, &s), 1);
	}
	assert_int_equal(consume(fx, 0), 6);
	read_stats(fx, &stats);
	assert_no_malformed(&stats);
	read_state(fx, 0, &st);
	assert_true(st.received == 6);
}

/* Issue 15, item 6: tagged samples of an earlier agent lifetime, replayed
 * into the next one, are refused by their nonce (wire v2): they add no
 * reception, no loss, no restart, and an old goodbye closes nothing. Without
 * the nonce (v1) the same replay fills a hole of the new stream. */
static uint64_t replay_run(struct fx *fx, uint32_t slot, uint8_t version,
			   struct nw_server_state *st)
{
	uint8_t key[16], buf[PB_FRAME_MAX];
	uint8_t old_frame[PB_FRAME_MAX], old_bye[PB_FRAME_MAX];
	size_t old_len = 0, bye_len = 0;
	const uint32_t server = 40 + slot;
	struct pb_sample s;

	randombytes_buf(key, sizeof(key));
	set_key(fx, 1, key);
	register_server(fx, server, slot, NW_RING_BYTES_DEFAULT);
	/* Lifetime A: seq 0..9 then its goodbye, 50 ms apart. */
	for (uint64_t q = 0; q <= 10; q++) {
		move_past_back(fx, slot, SEQ_PERIOD_NS);
		s = pb_sample_make(PB_RACK, server, q < 10 ? q : 9, tai_now() - 1000000);
		s.version = version;
		s.nonce = 0xAAAAAAAAAAAAAAAAULL;
		if (q == 10)
			s.flags = NW_FLAG_GOODBYE;
		tag_sample(&s, key);
		run_expect(fx, buf, auth_frame(buf, 4, &s), 1);
		if (q == 5)
			old_len = auth_frame(old_frame, 4, &s);
		if (q == 10)
			bye_len = auth_frame(old_bye, 4, &s);
	}
	/* Lifetime B, 100 ms later: seq 0..9 without 5 (lost, still in the window). */
	for (uint64_t q = 0; q < 10; q++) {
		move_past_back(fx, slot, 2 * SEQ_PERIOD_NS);
		if (q == 5)
			continue;
		s = pb_sample_make(PB_RACK, server, q, tai_now() - 1000000);
		s.version = version;
		s.nonce = 0xBBBBBBBBBBBBBBBBULL;
		tag_sample(&s, key);
		run_expect(fx, buf, auth_frame(buf, 4, &s), 1);
	}
	/* The replays: A's seq 5 and A's goodbye, tags valid. */
	run_expect(fx, old_frame, old_len, 1);
	run_expect(fx, old_bye, bye_len, 1);
	read_state(fx, slot, st);
	return st->received;
}

static void test_keyed_replay_across_lifetimes(void **state)
{
	struct fx *fx = *state;
	struct nw_server_state st;
	struct nw_stats stats;

	/* v2: A's seq 5 is another lifetime's, A's goodbye too. */
	assert_int_equal(replay_run(fx, 0, NW_VERSION, &st), 10 + 9);
	assert_true(st.restarts == 0 && st.goodbyes == 1 && st.lost == 0);
	assert_true(!(st.status & NW_ST_CLOSED) && st.anomalous == 2);
	read_stats(fx, &stats);
	assert_true(stats.anomalies[NW_ANOM_LIFETIME] == 1);
	assert_true(stats.anomalies[NW_ANOM_GOODBYE] == 1);
	assert_true(stats.malformed[NW_MAL_AUTH] == 0);
	/* v1 (no nonce): the replayed seq 5 passes as B's reordered seq 5. */
	assert_int_equal(replay_run(fx, 1, NW_VERSION_V1, &st), 10 + 9 + 1);
	assert_true(st.reordered == 1);
}

#define BOTH(fn)                                                           \
	{ .name = #fn " [xdp]",                                            \
	  .test_func = fn,                                                 \
	  .setup_func = setup,                                             \
	  .teardown_func = teardown,                                       \
	  .initial_state = &hook_xdp },                                    \
	{                                                                  \
		.name = #fn " [tc]", .test_func = fn, .setup_func = setup, \
		.teardown_func = teardown, .initial_state = &hook_tc       \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_valid_encapsulations),
		BOTH(test_malformed),
		BOTH(test_other_traffic),
		BOTH(test_sequence_scenarios),
		BOTH(test_jitter_matches_rfc3550),
		BOTH(test_latency_histogram),
		BOTH(test_wrong_rack),
		BOTH(test_fabric_path),
		BOTH(test_unknown_server_discovery),
		BOTH(test_ring_full),
		BOTH(test_no_ring),
		BOTH(test_direct_hint),
		BOTH(test_auth_keyed),
		BOTH(test_auth_rack_without_key),
		BOTH(test_keyed_replay_across_lifetimes),
	};
	cpu_set_t one;

	if (geteuid() != 0) {
		fprintf(stderr, "test_collector: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	/* The discovery limiter is per CPU: stay on one. */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		perror("sched_setaffinity");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
