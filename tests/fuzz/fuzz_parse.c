// SPDX-License-Identifier: MIT
/*
 * libFuzzer over the shared parser and accounting: the input is a frame.
 * nw_parse_frame at port 9999; when it is ours, nw_parse_sample; when that
 * is valid, nw_account on a state that lives across inputs (so sequences
 * of inputs drive the window), checking the invariants after each step.
 *
 * Seeds: tests/fuzz/seeds/, written from tests/lib/packet_builder.h by
 *   NW_FUZZ_WRITE_SEEDS=tests/fuzz/seeds build/fuzz/fuzz_parse -runs=0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_parse.h"
#include "nw_account.h"
#include "packet_builder.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static struct nw_server_state g_state;

static void check_monotonic(const struct nw_server_state *a, const struct nw_server_state *b)
{
	CHECK(b->received >= a->received);
	CHECK(b->lost >= a->lost);
	CHECK(b->duplicates >= a->duplicates);
	CHECK(b->reordered >= a->reordered);
	CHECK(b->late >= a->late);
	CHECK(b->restarts >= a->restarts);
	CHECK(b->goodbyes >= a->goodbyes);
	CHECK(b->latency_negative >= a->latency_negative);
	uint64_t ha = 0, hb = 0;
	for (unsigned i = 0; i < NW_HIST_BUCKETS; i++) {
		CHECK(b->latency_hist[i] >= a->latency_hist[i]);
		ha += a->latency_hist[i];
		hb += b->latency_hist[i];
	}
	/* One histogram entry per accepted sample. */
	CHECK(hb - ha == b->received - a->received);
	/* reordered samples are received samples */
	CHECK(b->reordered <= b->received);
	/* An open window never holds more than the window: each step moves
	 * received+lost by at most the distance the window travelled. */
	if (b->status & NW_ST_STARTED)
		CHECK(!(b->status & NW_ST_MIDSTREAM));
}

static void write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(buf, 1, len, fp) != len) {
		perror(path);
		exit(1);
	}
	fclose(fp);
}

static void write_seeds(const char *dir)
{
	uint8_t buf[PB_FRAME_MAX];
	struct pb_frame f;
	struct pb_sample s = pb_sample_make(PB_RACK, 3, 0, 1700000000000000000ULL);

	f = pb_frame_make(4);
	write_seed(dir, "ipv4-seq0", buf, pb_sample_frame(buf, &f, &s));
	s.seq = 5;
	s.tx_ns += 250000000;
	write_seed(dir, "ipv4-seq5", buf, pb_sample_frame(buf, &f, &s));
	f = pb_frame_make(6);
	s.seq = 1;
	write_seed(dir, "ipv6-seq1", buf, pb_sample_frame(buf, &f, &s));
	f = pb_frame_make(4);
	f.nvlan = 1;
	f.vlan_tpid[0] = PB_ETH_8021Q;
	s.seq = 2;
	write_seed(dir, "vlan-ipv4", buf, pb_sample_frame(buf, &f, &s));
	f = pb_frame_make(6);
	f.nvlan = 2;
	s.seq = 3;
	write_seed(dir, "qinq-ipv6", buf, pb_sample_frame(buf, &f, &s));
	f = pb_frame_make(4);
	f.ip4_opt_words = 1;
	s.flags = NW_FLAG_AUTH;
	s.seq = 4;
	write_seed(dir, "ipv4-options-auth", buf, pb_sample_frame(buf, &f, &s));
	s.flags = NW_FLAG_GOODBYE;
	s.seq = 9;
	f = pb_frame_make(4);
	write_seed(dir, "ipv4-goodbye", buf, pb_sample_frame(buf, &f, &s));
	s.flags = 0;
	s.seq = 0;
	s.tx_ns += 1000000000;
	write_seed(dir, "ipv4-restart", buf, pb_sample_frame(buf, &f, &s));
	f.frag_off = 0x2000;
	write_seed(dir, "ipv4-fragment", buf, pb_sample_frame(buf, &f, &s));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("NW_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_frame f;
	struct nw_sample s;
	struct nw_outcome out;
	struct nw_server_state prev;
	uint8_t *buf;
	int verdict, reason;

	/* An exact copy: ASan flags any read past the frame. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&f, 0xA5, sizeof(f));
	f.payload = NULL;
	verdict = nw_parse_frame(buf, buf + size, PB_PORT, &f);
	CHECK(verdict == NW_FRAME_PASS || verdict == NW_FRAME_OURS ||
	      verdict == NW_FRAME_MALFORMED);
	if (verdict == NW_FRAME_MALFORMED)
		CHECK(f.reason == NW_MAL_LENGTH || f.reason == NW_MAL_TRUNCATED);
	if (verdict != NW_FRAME_OURS)
		goto out;

	CHECK(f.family == 4 || f.family == 6);
	CHECK(f.payload >= buf + 14 + 20 + 8 && f.payload <= buf + size);
	CHECK(f.payload_len <= (size_t)(buf + size - f.payload));
	/* The UDP header right before the payload names our port and length. */
	CHECK(f.payload[-6] == (PB_PORT >> 8) && f.payload[-5] == (PB_PORT & 0xFF));
	CHECK((uint32_t)(f.payload[-4] << 8 | f.payload[-3]) == f.payload_len + 8);
	/* The offset the chaos program rewrites at is that UDP header's. */
	CHECK(buf + f.udp_off + 8 == f.payload);

	memset(&s, 0, sizeof(s));
	reason = nw_parse_sample(f.payload, buf + size, f.payload_len, &s);
	CHECK(reason == NW_OK || (reason >= 0 && reason < NW_MAL__MAX && reason != NW_MAL_AUTH));
	if (reason != NW_OK)
		goto out;
	/* OK implies exact lengths and valid fields. */
	CHECK(f.payload_len == ((s.flags & NW_FLAG_AUTH) ? NW_WIRE_LEN_AUTH : NW_WIRE_LEN));
	CHECK(s.payload_len == f.payload_len);
	CHECK(s.version == NW_VERSION);
	CHECK(!(s.flags & ~NW_FLAGS_KNOWN));
	CHECK(s.rate_uhz > 0 && s.freq_uhz > 0 && (uint64_t)s.freq_uhz * 2 < s.rate_uhz);
	CHECK(((s.value_bits >> 23) & 0xFF) != 0xFF);
	CHECK(f.payload[0] == 0x4E && f.payload[1] == 0x57 && f.payload[2] == 0x54 &&
	      f.payload[3] == 0x4E);
	if (s.flags & NW_FLAG_AUTH)
		CHECK(memcmp(s.tag, f.payload + NW_WIRE_LEN, NW_TAG_LEN) == 0);

	/* Accounting: a state shared across inputs, rx from the sample's own
	 * low bits so that latency varies (and is sometimes negative). */
	/* Sequences up to 2^40 (1700 years at 20 Hz): a jump of ~2^64 makes
	 * `lost` wrap by design of a 64-bit counter, not by a logic bug. */
	if (s.seq >= (1ULL << 40))
		goto out;
	if (g_state.lost > (1ULL << 62) || g_state.received > (1ULL << 62))
		memset(&g_state, 0, sizeof(g_state));
	prev = g_state;
	nw_account(&g_state, &s, s.tx_ns + (s.seq & 0xFFFFFF) - 0x10000, &out);
	check_monotonic(&prev, &g_state);
	CHECK(out.record == 0 || out.record == 1);
	if (out.record && !(out.rec_flags & NW_REC_GOODBYE))
		CHECK(g_state.received == prev.received + 1);
	if (!out.record)
		CHECK(g_state.received == prev.received);
	if (out.rec_flags & NW_REC_GOODBYE)
		CHECK(g_state.goodbyes == prev.goodbyes + 1 && (g_state.status & NW_ST_CLOSED));
	if (out.rec_flags & NW_REC_RESTART)
		CHECK(g_state.restarts == prev.restarts + 1);
	/* Every sequence the window passed over is accounted exactly once:
	 * after a goodbye the window is full. */
	if (g_state.status & NW_ST_CLOSED)
		CHECK(g_state.seq_window == ~0ULL);
out:
	free(buf);
	return 0;
}
