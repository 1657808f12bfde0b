/* SPDX-License-Identifier: MIT */
/*
 * netwatch-chaos's tc program (build/chaos.bpf.o through its skeleton) run
 * with BPF_PROG_TEST_RUN. bpf_get_prandom_u32 cannot be seeded, so rates are
 * checked on 20000 packets against 5-sigma binomial bounds (a false failure
 * about once in 1.7 million runs), widened for bursty loss by the chain's
 * correlation. Needs root. The thread is pinned to one CPU: the chain's
 * state is per CPU, and a run that migrated would interleave two chains.
 */
#include <arpa/inet.h>
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
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "chaos_faults.h"
#include "chaos_params.h"
#include "chaos.skel.h"
#include "packet_builder.h"

#define N 20000
#define TC_OK 0
#define TC_SHOT 2

struct fx {
	struct chaos *skel;
	int prog_fd;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->skel = chaos__open_and_load();
	if (!fx->skel) {
		fprintf(stderr, "chaos__open_and_load: %s\n", strerror(errno));
		free(fx);
		return -1;
	}
	fx->prog_fd = bpf_program__fd(fx->skel->progs.nw_chaos);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	chaos__destroy(fx->skel);
	free(fx);
	return 0;
}

static void set_faults(struct fx *fx, const struct nw_chaos_faults *f)
{
	struct nw_chaos_params p;
	__u32 zero = 0;

	nw_chaos_bpf_params(f, PB_PORT, &p);
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.chaos_params, &zero, sizeof(zero), &p,
					      sizeof(p), BPF_ANY),
			 0);
}

static void stats(struct fx *fx, struct nw_chaos_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct nw_chaos_stats *per = calloc((size_t)ncpu, sizeof(*per));
	__u32 zero = 0;

	assert_non_null(per);
	assert_int_equal(bpf_map__lookup_elem(fx->skel->maps.chaos_stats, &zero, sizeof(zero), per,
					      sizeof(*per) * (size_t)ncpu, 0),
			 0);
	nw_chaos_stats_sum(sum, per, ncpu);
	free(per);
}

/* One packet through the program; the frame as it left in out (if given). */
static uint32_t run1(struct fx *fx, const uint8_t *frame, size_t len, uint8_t *out, __u32 mark,
		     __u32 *mark_out)
{
	uint8_t buf[PB_FRAME_MAX + 64];
	struct __sk_buff ctx = { .mark = mark }, ctx_out;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = buf, .data_size_out = sizeof(buf), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);

	if (bpf_prog_test_run_opts(fx->prog_fd, &opts))
		fail_msg("test_run: %s", strerror(errno));
	assert_int_equal(opts.data_size_out, len);
	if (out)
		memcpy(out, buf, len);
	if (mark_out)
		*mark_out = ctx_out.mark;
	return opts.retval;
}

/* |observed - expected| within 5 sigma of a binomial(n, p), times `inflate`
 * for correlated decisions. */
static void assert_rate(const char *what, uint64_t hits, uint64_t n, double p, double inflate)
{
	double sd = sqrt(p * (1.0 - p) / (double)n) * sqrt(inflate);
	double got = (double)hits / (double)n;

	printf("  %s: %.4f for %.4f requested over %llu packets (5 sigma = %.4f)\n", what, got, p,
	       (unsigned long long)n, 5.0 * sd);
	if (fabs(got - p) > 5.0 * sd)
		fail_msg("%s: %.4f is more than 5 sigma (%.4f) from %.4f", what, got, 5.0 * sd, p);
}

/* Runs N packets; returns the mean length of a run of consecutive drops. */
static double run_loss(struct fx *fx, uint64_t *dropped)
{
	uint8_t frame[PB_FRAME_MAX];
	size_t len = pb_simple(frame, 1, 1, 1);
	uint64_t runs = 0, drops = 0;
	int prev = 0;

	for (int i = 0; i < N; i++) {
		uint32_t v = run1(fx, frame, len, NULL, 0, NULL);
		int d = v == TC_SHOT;

		assert_true(v == TC_SHOT || v == TC_OK);
		drops += (uint64_t)d;
		runs += (uint64_t)(d && !prev);
		prev = d;
	}
	*dropped = drops;
	return runs ? (double)drops / (double)runs : 0.0;
}

static void test_independent_loss(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_LOSS, .loss = 0.20 };
	struct nw_chaos_stats s;
	uint64_t dropped;
	double run;

	set_faults(fx, &f);
	run = run_loss(fx, &dropped);
	stats(fx, &s);
	assert_int_equal(s.packets, N);
	assert_int_equal(s.dropped, dropped);
	assert_rate("independent loss", dropped, N, 0.20, 1.0);
	/* Independent: runs are geometric with mean 1/(1-p) = 1.25. */
	printf("  mean drop run %.3f (independent 1.25)\n", run);
	assert_true(run > 1.15 && run < 1.40);
	assert_int_equal(s.bad_entries, 0);
}

static void test_bursty_loss(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_LOSS, .loss = 0.20, .burst = 5.0 };
	struct nw_chaos_stats s;
	uint64_t dropped;
	double run, rho;

	set_faults(fx, &f);
	run = run_loss(fx, &dropped);
	stats(fx, &s);
	assert_int_equal(s.dropped, dropped);
	/* A two-state chain with lag-1 correlation rho = 1 - p_gb - p_bg has
	 * variance inflated by (1 + rho) / (1 - rho) (= 7 here). */
	rho = 1.0 - 0.05 - 0.2;
	assert_rate("bursty loss", dropped, N, 0.20, (1.0 + rho) / (1.0 - rho));
	printf("  mean drop run %.3f (requested 5; independent would be 1.25)\n", run);
	/* ~800 bursts of geometric length, mean 5, sd ~4.5: 5 sigma of the mean is ~0.8. */
	assert_true(run > 4.0 && run < 6.0);
	assert_true(s.bad_entries > 0);
}

static void test_duplicate(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_DUPLICATE, .duplicate = 0.10 };
	uint8_t frame[PB_FRAME_MAX], out[PB_FRAME_MAX];
	size_t len = pb_simple(frame, 1, 1, 1);
	struct nw_chaos_stats s;
	__u32 mark;

	set_faults(fx, &f);
	for (int i = 0; i < N; i++) {
		assert_int_equal(run1(fx, frame, len, out, 0, &mark), TC_OK);
		assert_memory_equal(out, frame, len); /* the original goes on unchanged */
		assert_int_equal(mark, 0);            /* and with its own mark back */
	}
	stats(fx, &s);
	assert_int_equal(s.packets, N);
	assert_int_equal(s.dup_failed, 0); /* every clone was accepted by bpf_clone_redirect */
	assert_rate("duplication", s.duplicated, N, 0.10, 1.0);

	/* The copy passes egress again: recognised by its mark, not judged
	 * (or copied) twice, and the mark is given back. */
	f.duplicate = 1.0;
	set_faults(fx, &f);
	assert_int_equal(run1(fx, frame, len, NULL, NW_CHAOS_CLONE_MARK, &mark), TC_OK);
	assert_int_equal(mark, 0);
	stats(fx, &s);
	assert_int_equal(s.packets, N);
}

/* 0 when the UDP checksum of an IPv4 frame (no options) whose IP header
 * starts at `l3` is right; the pseudo header comes from the IP header. */
static uint16_t udp4_csum_at(const uint8_t *frame, size_t len, size_t l3)
{
	uint32_t sum = 0;
	uint8_t ph[12];
	size_t ulen = len - l3 - 20;

	memcpy(ph, frame + l3 + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	ph[10] = (uint8_t)(ulen >> 8);
	ph[11] = (uint8_t)ulen;
	sum = pb_csum_add(sum, ph, 12);
	sum = pb_csum_add(sum, frame + l3 + 20, ulen);
	return pb_csum_fold(sum);
}

/* IPv4 without options or VLAN: UDP at 34. */
static uint16_t udp_csum(const uint8_t *frame, size_t len)
{
	return udp4_csum_at(frame, len, 14);
}

/* Bits of the 4 bytes at `at` that differ between two frames. */
static uint32_t diff32(const uint8_t *a, const uint8_t *b, size_t at)
{
	uint32_t diff = 0;

	for (int i = 0; i < 4; i++)
		diff |= (uint32_t)(a[at + i] ^ b[at + i]) << (8 * (3 - i));
	return diff;
}

static void test_corrupt(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_CORRUPT, .corrupt = 1.0 };
	uint8_t frame[PB_FRAME_MAX], out[PB_FRAME_MAX];
	size_t len = pb_simple(frame, 1, 1, 1);
	struct nw_chaos_stats s;
	unsigned seen_bits = 0;

	assert_int_equal(udp_csum(frame, len), 0);
	set_faults(fx, &f);
	for (int i = 0; i < 200; i++) {
		uint32_t diff;

		assert_int_equal(run1(fx, frame, len, out, 0, NULL), TC_OK);
		/* Exactly one bit of the magic differs, nothing else. */
		diff = diff32(out, frame, 42);
		assert_int_equal(__builtin_popcount(diff), 1);
		assert_memory_equal(out + 46, frame + 46, len - 46);
		assert_memory_equal(out, frame, 40);
		/* The checksum was fixed: the receiver's stack takes it, the
		 * collector counts it malformed (magic). */
		assert_int_equal(udp_csum(out, len), 0);
		seen_bits |= diff;
	}
	/* The flipped bit is random: 200 draws over 32 bits cover most of them. */
	assert_true(__builtin_popcount(seen_bits) >= 24);
	stats(fx, &s);
	assert_int_equal(s.corrupted, 200);
	assert_int_equal(s.corrupt_failed, 0);

	/* Only NetWatch samples are corrupted: another port, or a payload
	 * without the magic, passes unchanged. */
	{
		struct pb_frame pf = pb_frame_make(4);
		struct pb_sample ps = pb_sample_make(PB_RACK, 1, 1, 1);

		pf.dport = 53;
		len = pb_sample_frame(frame, &pf, &ps);
		assert_int_equal(run1(fx, frame, len, out, 0, NULL), TC_OK);
		assert_memory_equal(out, frame, len);
		pf.dport = PB_PORT;
		ps.magic = 0x01020304;
		len = pb_sample_frame(frame, &pf, &ps);
		assert_int_equal(run1(fx, frame, len, out, 0, NULL), TC_OK);
		assert_memory_equal(out, frame, len);
		/* IPv6 samples are corrupted too. */
		pf = pb_frame_make(6);
		ps.magic = NW_MAGIC;
		len = pb_sample_frame(frame, &pf, &ps);
		assert_int_equal(run1(fx, frame, len, out, 0, NULL), TC_OK);
		assert_memory_not_equal(out + 62, frame + 62, 4);
	}
	stats(fx, &s);
	assert_int_equal(s.corrupted, 201);
}

/* Samples are found by the collector's parser (bpf/nw_parse.h): behind up
 * to two VLAN tags too, never in a fragment, a frame with a third tag or
 * one whose UDP length overruns it. */
static void test_corrupt_finds_samples_as_the_collector_does(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_CORRUPT, .corrupt = 1.0 };
	uint8_t frame[PB_FRAME_MAX], out[PB_FRAME_MAX];
	struct pb_sample ps = pb_sample_make(PB_RACK, 1, 1, 1);
	struct pb_frame pf;
	struct nw_chaos_stats s;
	size_t len, l3;

	set_faults(fx, &f);
	/* Two tags (802.1ad outer, 802.1Q inner): IP header at 22, magic at 50. */
	pf = pb_frame_make(4);
	pf.nvlan = 2;
	len = pb_sample_frame(frame, &pf, &ps);
	l3 = 14 + 2 * 4;
	assert_int_equal(udp4_csum_at(frame, len, l3), 0);
	assert_int_equal(run1(fx, frame, len, out, 0, NULL), TC_OK);
	assert_int_equal(__builtin_popcount(diff32(out, frame, l3 + 28)), 1);
	assert_memory_equal(out, frame, l3 + 26); /* headers up to the UDP checksum */
	assert_memory_equal(out + l3 + 32, frame + l3 + 32, len - l3 - 32);
	assert_int_equal(udp4_csum_at(out, len, l3), 0);
	stats(fx, &s);
	assert_int_equal(s.corrupted, 1);

	/* Frames the parser does not call samples pass unchanged. */
	for (int c = 0; c < 3; c++) {
		pf = pb_frame_make(4);
		if (c == 0)
			pf.nvlan = 3;
		else if (c == 1)
			pf.frag_off = 0x2000; /* first fragment: more follow */
		else
			pf.udp_len = 8 + NW_WIRE_LEN + 100;
		len = pb_sample_frame(frame, &pf, &ps);
		assert_int_equal(run1(fx, frame, len, out, 0, NULL), TC_OK);
		assert_memory_equal(out, frame, len);
	}
	stats(fx, &s);
	assert_int_equal(s.corrupted, 1);
	assert_int_equal(s.corrupt_failed, 0);
}

static void test_arp_and_disabled(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_LOSS, .loss = 1.0 };
	uint8_t frame[PB_FRAME_MAX], payload[28] = { 0 };
	struct pb_frame pf = pb_frame_make(0);
	struct nw_chaos_stats s;
	size_t len;

	pf.ethertype = PB_ETH_ARP;
	len = pb_build(frame, &pf, payload, sizeof(payload));
	set_faults(fx, &f);
	/* Neighbour resolution is never impaired. */
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_OK);
	len = pb_simple(frame, 1, 1, 1);
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_SHOT);
	/* Timing faults only: the program passes everything and counts nothing. */
	f.set = NW_FAULT_DELAY;
	set_faults(fx, &f);
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_OK);
	stats(fx, &s);
	assert_int_equal(s.packets, 1);
	assert_int_equal(s.dropped, 1);
}

#define TC_UNSPEC 0xFFFFFFFFU /* TC_ACT_UNSPEC (-1): on to the next filter */

static size_t ip4_frame(uint8_t *buf, const uint8_t src[4], const uint8_t dst[4])
{
	struct pb_frame pf = pb_frame_make(4);
	uint8_t payload[16] = { 0 };

	memcpy(pf.src, src, 4);
	memcpy(pf.dst, dst, 4);
	return pb_build(buf, &pf, payload, sizeof(payload));
}

/* A fabric path (NW_CHAOS_F_MATCH): only IPv4 packets from 198.18.1.0/24 to
 * 198.18.2.0/24 are judged; the reverse direction, other racks, IPv6 and ARP
 * go on to the next filter untouched, and so does a judged packet that is
 * not lost, so a link's filter behind it still sees it. */
static void test_path_match(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_LOSS, .loss = 0.30 };
	static const uint8_t r1[4] = { 198, 18, 1, 11 }, r2[4] = { 198, 18, 2, 1 },
			     r3[4] = { 198, 18, 3, 11 }, r2_edge[4] = { 198, 18, 2, 255 },
			     r1_next[4] = { 198, 18, 0, 255 };
	uint8_t a[PB_FRAME_MAX], b[PB_FRAME_MAX], frame[PB_FRAME_MAX], payload[28] = { 0 };
	struct pb_frame v6 = pb_frame_make(6), arp = pb_frame_make(0);
	struct nw_chaos_params p;
	struct nw_chaos_stats s;
	uint64_t dropped = 0;
	size_t la, lb, len;
	__u32 zero = 0;

	nw_chaos_bpf_params(&f, PB_PORT, &p);
	p.flags = NW_CHAOS_F_MATCH;
	p.src_net = htonl(0xC6120100U); /* 198.18.1.0/24 */
	p.src_mask = htonl(0xFFFFFF00U);
	p.dst_net = htonl(0xC6120200U); /* 198.18.2.0/24 */
	p.dst_mask = htonl(0xFFFFFF00U);
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.chaos_params, &zero, sizeof(zero), &p,
					      sizeof(p), BPF_ANY),
			 0);
	la = ip4_frame(a, r1, r2); /* the path's direction */
	for (int i = 0; i < N; i++) {
		uint32_t v = run1(fx, a, la, NULL, 0, NULL);

		assert_true(v == TC_SHOT || v == TC_UNSPEC);
		dropped += v == TC_SHOT;
	}
	assert_rate("path loss", dropped, N, 0.30, 1.0);

	/* Never judged, whatever the loss. */
	p.loss_good = NW_CHAOS_ALWAYS;
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.chaos_params, &zero, sizeof(zero), &p,
					      sizeof(p), BPF_ANY),
			 0);
	lb = ip4_frame(b, r2, r1); /* the other direction: another filter's */
	assert_int_equal(run1(fx, b, lb, NULL, 0, NULL), TC_UNSPEC);
	len = ip4_frame(frame, r3, r2); /* another rack into rack 2 */
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_UNSPEC);
	len = ip4_frame(frame, r1, r3);
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_UNSPEC);
	len = ip4_frame(frame, r1_next, r2); /* just outside the source prefix */
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_UNSPEC);
	len = pb_build(frame, &v6, payload, sizeof(payload));
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_UNSPEC);
	arp.ethertype = PB_ETH_ARP;
	len = pb_build(frame, &arp, payload, sizeof(payload));
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_UNSPEC);
	/* Inside both prefixes, to the last address: judged (lost). */
	len = ip4_frame(frame, r1, r2_edge);
	assert_int_equal(run1(fx, frame, len, NULL, 0, NULL), TC_SHOT);

	stats(fx, &s);
	assert_int_equal(s.packets, N + 1);
	assert_int_equal(s.dropped, dropped + 1);
	assert_int_equal(s.unmatched, 5); /* ARP is left alone before matching */

	/* Nothing to lose: a matched packet still goes on to the next filter. */
	p.loss_good = 0;
	assert_int_equal(bpf_map__update_elem(fx->skel->maps.chaos_params, &zero, sizeof(zero), &p,
					      sizeof(p), BPF_ANY),
			 0);
	assert_int_equal(run1(fx, a, la, NULL, 0, NULL), TC_UNSPEC);
}

static void test_outage(void **state)
{
	struct fx *fx = *state;
	struct nw_chaos_faults f = { .set = NW_FAULT_OUTAGE,
				     .outage_len_ns = 999999999ULL,
				     .outage_period_ns = 1000000000ULL };
	uint8_t frame[PB_FRAME_MAX];
	size_t len = pb_simple(frame, 1, 1, 1);
	struct nw_chaos_stats s;
	int dropped = 0;

	/* Dark for all but 1 ns of every second: everything goes (a pass
	 * would need the clock to land on that nanosecond). */
	set_faults(fx, &f);
	for (int i = 0; i < 100; i++)
		dropped += run1(fx, frame, len, NULL, 0, NULL) == TC_SHOT;
	assert_int_equal(dropped, 100);
	/* Dark for 1 ns of every second: nothing goes. */
	f.outage_len_ns = 1;
	set_faults(fx, &f);
	for (int i = 0; i < 100; i++)
		dropped += run1(fx, frame, len, NULL, 0, NULL) == TC_SHOT;
	assert_int_equal(dropped, 100);
	stats(fx, &s);
	assert_int_equal(s.outage_dropped, 100);
	assert_int_equal(s.dropped, 100);
	assert_int_equal(s.packets, 200);
}

int main(void)
{
	cpu_set_t set;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_independent_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bursty_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_finds_samples_as_the_collector_does,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_and_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_match, setup, teardown),
	};

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
