// SPDX-License-Identifier: MIT
/*
 * libFuzzer over the shared parser and accounting: the input is a frame.
 * nw_parse_frame at port 9999; when it is ours, nw_parse_sample; when that
 * is valid, nw_check_sums and nw_account on a state that lives across inputs
 * (so sequences of inputs drive the window), checking after each step, over
 * the full range of every field: counters monotonic, at most one of each per
 * input, `lost` growing by no more than the elapsed time explains, dropped
 * samples moving nothing, and no state that a genuine sender does not get
 * out of within NW_RESYNC_NS (check_recovers).
 *
 * Seeds: tests/fuzz/seeds/ (FABRIC ones included), written from tests/lib/packet_builder.h by
 *   NW_FUZZ_WRITE_SEEDS=tests/fuzz/seeds build/fuzz/fuzz_parse -runs=0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_parse.h"
#include "nw_account.h"
#include "packet_builder.h"

#include "account_invariants.h"
#include "fuzz_seed.h"

static struct nw_server_state g_state;
/* The receiver's clock: it only moves forward, by an amount the input picks
 * (its UDP source port), from about the seeds' tx time. */
static uint64_t g_rx = 1700000000000000000ULL + 1000000000ULL;

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
	/* Inter-rack tones (docs/fabric.md): 56 bytes, 64 tagged. */
	s = pb_fabric_make(PB_RACK, 2, 0, 1700000000000000000ULL);
	f = pb_frame_make(4);
	write_seed(dir, "ipv4-fabric", buf, pb_sample_frame(buf, &f, &s));
	s.flags |= NW_FLAG_AUTH;
	s.seq = 1;
	s.mesh_epoch = 41;
	f = pb_frame_make(6);
	write_seed(dir, "ipv6-fabric-auth", buf, pb_sample_frame(buf, &f, &s));
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
	const uint32_t base = nw_wire_tagged_len(s.version, s.flags);
	CHECK(f.payload_len == ((s.flags & NW_FLAG_AUTH) ? base + NW_TAG_LEN : base));
	/* FABRIC only on v2, always with the fabric id and a zero reserved word. */
	if (s.flags & NW_FLAG_FABRIC)
		CHECK(s.version == NW_VERSION && s.server_id == NW_SERVER_FABRIC &&
		      base == NW_WIRE_FABRIC_LEN && !f.payload[52] && !f.payload[53] &&
		      !f.payload[54] && !f.payload[55] &&
		      s.dst_rack == (f.payload[48] << 8 | f.payload[49]));
	else
		CHECK(s.server_id != NW_SERVER_FABRIC && s.dst_rack == 0 && s.mesh_epoch == 0);
	CHECK(s.payload_len == f.payload_len);
	CHECK(s.version == NW_VERSION || s.version == NW_VERSION_V1);
	CHECK(!(s.flags & ~NW_FLAGS_KNOWN));
	CHECK(s.rate_uhz > 0 && s.freq_uhz > 0 && (uint64_t)s.freq_uhz * 2 < s.rate_uhz);
	CHECK(((s.value_bits >> 23) & 0xFF) != 0xFF);
	CHECK(f.payload[0] == 0x4E && f.payload[1] == 0x57 && f.payload[2] == 0x54 &&
	      f.payload[3] == 0x4E);
	if (s.flags & NW_FLAG_AUTH)
		CHECK(memcmp(s.tag, f.payload + base, NW_TAG_LEN) == 0);

	/* What the IP stack checks: a verdict, no crash, nothing read past the
	 * frame (ASan). Accounting goes on either way, so that mutated inputs
	 * keep reaching it. */
	reason = nw_check_sums(buf, buf + size, &f);
	CHECK(reason == NW_OK || reason == NW_MAL_CHECKSUM);

	/* Accounting: a state shared across inputs, over the full range of
	 * seq and tx; rx from our own clock, moved on by the input. */
	{
		uint16_t sport = (uint16_t)(f.payload[-8] << 8 | f.payload[-7]);

		g_rx += sport < 0x8000 ? (uint64_t)sport * 1000000ULL
				       : (uint64_t)(sport & 0x7FFF) << 30;
		account_checked(&g_state, &s, g_rx, &out);
	}
	check_recovers(&g_state, g_rx);
	/* Our clock must not run out within a fuzzing run: wrap it early. */
	if (g_rx > (1ULL << 63))
		memset(&g_state, 0, sizeof(g_state)), g_rx = 1700000000000000000ULL;
out:
	free(buf);
	return 0;
}
