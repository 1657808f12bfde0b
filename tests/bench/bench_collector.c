// SPDX-License-Identifier: MIT
/*
 * Cost per packet of the collector's XDP (and tc) entry against a minimal
 * parse-and-pass XDP program (tests/bench/passthru.bpf.c), with BPF_PROG_TEST_RUN.
 *
 * Two ways of timing:
 *  - "repeat": one test_run with repeat = 1,000,000; the kernel times the
 *    loop and reports ns per run in opts.duration. The same frame runs every
 *    time, so a sample of a registered server is a duplicate after the first.
 *  - "per-run": N test_runs with repeat = 1, each with the next sequence
 *    number, averaging opts.duration; this is the realistic path (sample
 *    accepted, record written) that a repeated frame cannot reach. It also
 *    carries a fixed per-run timer overhead, so the baseline is measured the
 *    same way and only ratios between same-method rows are meaningful.
 * The sample-key check (nw_key) is measured as on/off pairs on the same
 * tagged 48-byte frames, interleaved round by round (the machine is shared:
 * drift hits both sides alike), reported as the median ratio and its range.
 * Not a test: nothing here asserts timing. Needs root. `sudo make bench`.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sodium.h>

#include "collector.h"
#include "collector.skel.h"
#include "passthru.skel.h"
#include "packet_builder.h"

#define REPEAT 1000000U
#define PER_RUN 200000U
#define SERVER 1U
#define SLOT 0U
#define SLOT_TINY 1U
#define SERVER_TINY 2U

static uint64_t tai_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_collector: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ns per packet over one test_run with `repeat` runs of the same frame. */
static double run_repeat(int prog_fd, const uint8_t *frame, size_t len, uint32_t repeat,
			 uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		die("bpf_prog_test_run_opts");
	*retval = opts.retval;
	return opts.duration; /* the kernel already divided by repeat */
}

/* Mean ns per packet over `n` single runs, the frame rebuilt with the next
 * sequence each time (build time is outside the timed region). */
static double run_per_seq(int prog_fd, uint32_t server, uint64_t first_seq, uint32_t n,
			  uint32_t *retval)
{
	uint64_t total = 0, tx = tai_now() - 1000000;
	uint8_t buf[PB_FRAME_MAX];

	for (uint32_t i = 0; i < n; i++) {
		size_t len = pb_simple(buf, server, first_seq + i, tx + i);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = (uint32_t)len,
			    .repeat = 1);

		if (bpf_prog_test_run_opts(prog_fd, &opts))
			die("bpf_prog_test_run_opts");
		total += opts.duration;
		*retval = opts.retval;
	}
	return (double)total / n;
}

#define AUTH_ROUNDS 7
#define AUTH_PER_RUN 40000U

/* A sample frame tagged the agent's way (flag, then crypto_shorthash). */
static size_t tagged_frame(uint8_t *buf, uint32_t server, uint64_t seq, uint64_t tx,
			   const uint8_t key[16])
{
	struct pb_frame f = pb_frame_make(4);
	struct pb_sample s = pb_sample_make(PB_RACK, server, seq, tx);
	uint8_t bytes[NW_WIRE_LEN_AUTH];

	s.flags = NW_FLAG_AUTH;
	s.len = NW_WIRE_LEN_AUTH;
	pb_put_sample(bytes, &s);
	crypto_shorthash(s.tag, bytes, NW_WIRE_LEN, key);
	return pb_sample_frame(buf, &f, &s);
}

static void set_key(struct collector *c, int enabled, const uint8_t key[16])
{
	struct nw_key k;
	uint32_t zero = 0;

	memset(&k, 0, sizeof(k));
	k.enabled = (uint32_t)enabled;
	memcpy(k.key, key, sizeof(k.key));
	if (bpf_map__update_elem(c->maps.nw_key, &zero, sizeof(zero), &k, sizeof(k), BPF_ANY))
		die("nw_key");
}

/* Like run_per_seq, with tagged frames. */
static double run_per_seq_tagged(int prog_fd, uint32_t server, uint64_t first_seq, uint32_t n,
				 const uint8_t key[16], uint32_t *retval)
{
	uint64_t total = 0, tx = tai_now() - 1000000;
	uint8_t buf[PB_FRAME_MAX];

	for (uint32_t i = 0; i < n; i++) {
		size_t len = tagged_frame(buf, server, first_seq + i, tx + i, key);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = buf, .data_size_in = (uint32_t)len,
			    .repeat = 1);

		if (bpf_prog_test_run_opts(prog_fd, &opts))
			die("bpf_prog_test_run_opts");
		total += opts.duration;
		*retval = opts.retval;
	}
	return (double)total / n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct auth_row {
	const char *name;
	double off, on;           /* medians, ns */
	double ratio, rmin, rmax; /* median ratio on/off and its range over rounds */
};

static void auth_summarise(struct auth_row *r, double *off, double *on, int n)
{
	double ratio[AUTH_ROUNDS];

	for (int i = 0; i < n; i++)
		ratio[i] = on[i] / off[i];
	qsort(off, (size_t)n, sizeof(double), cmp_double);
	qsort(on, (size_t)n, sizeof(double), cmp_double);
	qsort(ratio, (size_t)n, sizeof(double), cmp_double);
	r->off = off[n / 2];
	r->on = on[n / 2];
	r->ratio = ratio[n / 2];
	r->rmin = ratio[0];
	r->rmax = ratio[n - 1];
}

static void unpin_all(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) if (bpf_map__set_pin_path(map, NULL))
		die("bpf_map__set_pin_path");
}

/* Registers the way user/rack/source/registry.c does: ring, state naming the
 * server, index entry, then the nw_direct hint. */
static int add_server(struct collector *c, uint32_t server, uint32_t slot, uint32_t ring_bytes)
{
	struct nw_server_key key = { .rack_id = PB_RACK, .server_id = server };
	struct nw_server_state st;
	uint32_t hint = slot + 1;
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bench_ring", 0, 0, ring_bytes, NULL);

	if (fd < 0)
		die("ringbuf");
	memset(&st, 0, sizeof(st));
	st.rack_id = PB_RACK;
	st.server_id = server;
	if (bpf_map__update_elem(c->maps.nw_rings, &slot, sizeof(slot), &fd, sizeof(fd), 0) ||
	    bpf_map__update_elem(c->maps.nw_state, &slot, sizeof(slot), &st, sizeof(st),
				 BPF_F_LOCK) ||
	    bpf_map__update_elem(c->maps.nw_index, &key, sizeof(key), &slot, sizeof(slot), 0) ||
	    bpf_map__update_elem(c->maps.nw_direct, &server, sizeof(server), &hint, sizeof(hint),
				 0))
		die("register server");
	return fd;
}

static int count_cb(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(uint64_t *)ctx;
	return 0;
}

int main(void)
{
	struct collector *c;
	struct passthru *p;
	uint8_t sample[PB_FRAME_MAX], other[PB_FRAME_MAX], unknown[PB_FRAME_MAX],
		fill[PB_FRAME_MAX];
	size_t sample_len, other_len, unknown_len;
	uint32_t rv;
	uint64_t consumed = 0;
	cpu_set_t one;
	int ring_fd, tiny_fd, xdp, tc, pt;
	struct ring_buffer *rb;

	if (geteuid() != 0) {
		fprintf(stderr, "bench_collector: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	if (sodium_init() < 0)
		die("sodium_init");
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);

	c = collector__open();
	p = passthru__open();
	if (!c || !p)
		die("open skeletons");
	unpin_all(c->obj);
	c->rodata->nw_port = PB_PORT;
	c->rodata->nw_rack_id = PB_RACK;
	p->rodata->pt_port = PB_PORT;
	if (collector__load(c) || passthru__load(p))
		die("load");
	xdp = bpf_program__fd(c->progs.nw_xdp);
	tc = bpf_program__fd(c->progs.nw_tc);
	pt = bpf_program__fd(p->progs.pt_xdp);

	/* 16 MiB: room for every record of the per-run phases. */
	ring_fd = add_server(c, SERVER, SLOT, 16U << 20);
	tiny_fd = add_server(c, SERVER_TINY, SLOT_TINY, 4096);
	rb = ring_buffer__new(ring_fd, count_cb, &consumed, NULL);
	if (!rb)
		die("ring_buffer__new");

	sample_len = pb_simple(sample, SERVER, 0, tai_now());
	{
		struct pb_frame f = pb_frame_make(4);
		struct pb_sample s = pb_sample_make(PB_RACK, 999, 0, tai_now());

		f.dport = 53;
		other_len = pb_sample_frame(other, &f, &s);
		unknown_len = pb_simple(unknown, 999, 0, tai_now());
	}

	struct row {
		const char *name;
		double ns;
		double base;
	} rows[16];
	int nrows = 0;
	double pt_sample, pt_other, pt_unknown, pt_perrun, v;

	/* Warm up. */
	run_repeat(pt, sample, sample_len, 100000, &rv);
	run_repeat(xdp, other, other_len, 100000, &rv);

	pt_sample = run_repeat(pt, sample, sample_len, REPEAT, &rv);
	pt_other = run_repeat(pt, other, other_len, REPEAT, &rv);
	pt_unknown = run_repeat(pt, unknown, unknown_len, REPEAT, &rv);

	/* The realistic path first (fresh state, so every run is a new seq). */
	v = run_per_seq(xdp, SERVER, 0, PER_RUN, &rv);
	pt_perrun = run_per_seq(pt, SERVER, 0, PER_RUN, &rv);
	rows[nrows++] = (struct row){ "xdp sample, accepted + record written (per-run)", v,
				      pt_perrun };
	ring_buffer__consume(rb);
	v = run_per_seq(tc, SERVER, PER_RUN, PER_RUN, &rv);
	rows[nrows++] = (struct row){ "tc  sample, accepted + record written (per-run)", v,
				      pt_perrun };
	ring_buffer__consume(rb);
	/* Fill the tiny ring, then measure the ring-full path. */
	for (uint64_t i = 0; i < 200; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fill, .repeat = 1);
		o.data_size_in = (uint32_t)pb_simple(fill, SERVER_TINY, i, tai_now());
		if (bpf_prog_test_run_opts(xdp, &o))
			die("fill");
	}
	v = run_per_seq(xdp, SERVER_TINY, 200, PER_RUN, &rv);
	rows[nrows++] = (struct row){ "xdp sample, accepted, ring full (per-run)", v, pt_perrun };

	v = run_repeat(xdp, sample, sample_len, REPEAT, &rv);
	rows[nrows++] = (struct row){ "xdp sample, duplicate (repeat)", v, pt_sample };
	v = run_repeat(tc, sample, sample_len, REPEAT, &rv);
	rows[nrows++] = (struct row){ "tc  sample, duplicate (repeat)", v, pt_sample };
	v = run_repeat(xdp, unknown, unknown_len, REPEAT, &rv);
	rows[nrows++] = (struct row){ "xdp unknown server, discovery limited (repeat)", v,
				      pt_unknown };
	v = run_repeat(xdp, other, other_len, REPEAT, &rv);
	rows[nrows++] = (struct row){ "xdp other UDP traffic, passed (repeat)", v, pt_other };
	v = run_repeat(tc, other, other_len, REPEAT, &rv);
	rows[nrows++] = (struct row){ "tc  other UDP traffic, passed (repeat)", v, pt_other };

	/* Sample key: the same tagged frames with nw_key off and on, in
	 * alternating rounds. "off" still parses the 48-byte frame and copies
	 * the tag, so the difference is the check alone (one map lookup and
	 * SipHash-2-4 of 40 bytes). */
	struct auth_row arow[2];
	{
		uint8_t key[16], tagged[PB_FRAME_MAX];
		double off[AUTH_ROUNDS], on[AUTH_ROUNDS];
		size_t tagged_len;
		/* The tagged duplicate below restarts SERVER's stream at seq 0
		 * (newer tx); the per-run rounds continue it. A jump from there
		 * to 2 * PER_RUN would be refused as a seq_jump (nw_account.h). */
		uint64_t seq = 1;

		randombytes_buf(key, sizeof(key));
		tagged_len = tagged_frame(tagged, SERVER, 0, tai_now(), key);
		for (int r = 0; r < AUTH_ROUNDS; r++) {
			set_key(c, 0, key);
			off[r] = run_repeat(xdp, tagged, tagged_len, REPEAT, &rv);
			set_key(c, 1, key);
			on[r] = run_repeat(xdp, tagged, tagged_len, REPEAT, &rv);
		}
		arow[0].name = "xdp tagged duplicate, key off -> on (repeat)";
		auth_summarise(&arow[0], off, on, AUTH_ROUNDS);
		for (int r = 0; r < AUTH_ROUNDS; r++) {
			set_key(c, 0, key);
			off[r] = run_per_seq_tagged(xdp, SERVER, seq, AUTH_PER_RUN, key, &rv);
			seq += AUTH_PER_RUN;
			ring_buffer__consume(rb);
			set_key(c, 1, key);
			on[r] = run_per_seq_tagged(xdp, SERVER, seq, AUTH_PER_RUN, key, &rv);
			seq += AUTH_PER_RUN;
			ring_buffer__consume(rb);
			if (rv != XDP_DROP)
				die("keyed sample not consumed");
		}
		arow[1].name = "xdp tagged sample, recorded, key off -> on (per-run)";
		auth_summarise(&arow[1], off, on, AUTH_ROUNDS);
		set_key(c, 0, key);
		sodium_memzero(key, sizeof(key));
	}

	ring_buffer__consume(rb);
	printf("BPF_PROG_TEST_RUN, repeat %u / per-run %u, CPU 0\n", REPEAT, PER_RUN);
	printf("passthru baseline: %.1f ns (sample, repeat), %.1f ns (other, repeat), "
	       "%.1f ns (per-run)\n",
	       pt_sample, pt_other, pt_perrun);
	printf("%-50s %10s %10s %8s\n", "case", "ns/packet", "baseline", "ratio");
	for (int i = 0; i < nrows; i++)
		printf("%-50s %10.1f %10.1f %7.2fx\n", rows[i].name, rows[i].ns, rows[i].base,
		       rows[i].base > 0 ? rows[i].ns / rows[i].base : 0.0);
	printf("records drained from the ring: %llu\n", (unsigned long long)consumed);
	printf("\nsample key check, %d interleaved off/on rounds (repeat %u / per-run %u)\n",
	       AUTH_ROUNDS, REPEAT, AUTH_PER_RUN);
	printf("%-54s %8s %8s %8s %8s %13s\n", "case", "off ns", "on ns", "+ns", "ratio",
	       "ratio range");
	for (int i = 0; i < 2; i++)
		printf("%-54s %8.1f %8.1f %8.1f %7.3fx %6.3f-%.3f\n", arow[i].name, arow[i].off,
		       arow[i].on, arow[i].on - arow[i].off, arow[i].ratio, arow[i].rmin,
		       arow[i].rmax);

	ring_buffer__free(rb);
	close(ring_fd);
	close(tiny_fd);
	passthru__destroy(p);
	collector__destroy(c);
	return 0;
}
