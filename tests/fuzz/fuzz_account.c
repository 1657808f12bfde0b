// SPDX-License-Identifier: MIT
/*
 * libFuzzer over the accounting alone (bpf/nw_account.h): one input is a
 * whole scenario on a fresh server, so that every path of the stream logic
 * is a few mutations away (fuzz_parse reaches it only through frames).
 * A genuine sender opens the stream; then each 24-byte record is one sample:
 *
 *   byte 0      flags: bit 0 goodbye
 *   byte 1      mode: bit 0 seq is a signed delta to the stream's max_seq,
 *               bit 1 tx is a signed delta to our clock, bit 2 the elapsed
 *               time is in units of 2^30 ns (else ms), bit 3 wire v2 with
 *               nonce 1 + bit 4 (else v1, no nonce)
 *   bytes 2-3   elapsed time on our clock before the sample (little-endian)
 *   bytes 4-7   rate_uhz (below 3: 20 Hz)
 *   bytes 8-15  seq, bytes 16-23 tx_ns
 *
 * Every step is checked by account_checked (account_invariants.h) over the
 * full u64 range of seq and tx, and at the end a sender that starts afresh
 * must be counted again within NW_RESYNC_NS (check_recovers).
 *
 * Seeds: NW_FUZZ_WRITE_SEEDS=tests/fuzz/seeds/fuzz_account build/fuzz/fuzz_account -runs=0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account_invariants.h"
#include "fuzz_seed.h"

#define REC_LEN 24
#define MAX_RECS 64
#define PERIOD_NS 50000000ULL

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void seed_rec(uint8_t *r, uint8_t flags, uint8_t mode, uint16_t el, uint64_t seq,
		     uint64_t tx)
{
	memset(r, 0, REC_LEN);
	r[0] = flags;
	r[1] = mode;
	put_le(r + 2, el, 2);
	put_le(r + 8, seq, 8);
	put_le(r + 16, tx, 8);
}

/* The issue-15 scenarios as starting points; relative modes keep them near
 * the genuine stream, absolute ones at the extremes. */
static void write_seeds(const char *dir)
{
	uint8_t b[REC_LEN * 4];

	seed_rec(b, 0, 3, 50, 1, (uint64_t)-1000000);
	seed_rec(b + REC_LEN, 0, 3, 50, 1, (uint64_t)-1000000);
	write_seed(dir, "in-order", b, 2 * REC_LEN);
	seed_rec(b, 0, 0, 50, 1ULL << 63, ~0ULL);
	seed_rec(b + REC_LEN, 0, 3, 50, 1, (uint64_t)-1000000);
	write_seed(dir, "forged-seq-2p63", b, 2 * REC_LEN);
	seed_rec(b, 1, 2, 50, 1ULL << 63, (uint64_t)-1000000);
	seed_rec(b + REC_LEN, 1, 3, 50, (1ULL << 24) - 1, (uint64_t)-1000000);
	write_seed(dir, "forged-goodbyes", b, 2 * REC_LEN);
	seed_rec(b, 0, 0, 50, ~0ULL, 1ULL << 63);
	seed_rec(b + REC_LEN, 0, 0, 50, 0, (1ULL << 63) - 1);
	seed_rec(b + 2 * REC_LEN, 0, 2, 50, 0, 0);
	write_seed(dir, "transit-extremes", b, 3 * REC_LEN);
	seed_rec(b, 0, 2, 50, 0, (uint64_t)-1000000);
	seed_rec(b + REC_LEN, 0, 2, 50, 3, (uint64_t)-1000000);
	seed_rec(b + 2 * REC_LEN, 0, 2, 50, 1, (uint64_t)-1000000);
	seed_rec(b + 3 * REC_LEN, 1, 3, 50, 0, (uint64_t)-1000000);
	write_seed(dir, "two-senders", b, 4 * REC_LEN);
	seed_rec(b, 0, 6, 20, 0, (uint64_t)-1000000);
	write_seed(dir, "long-silence", b, REC_LEN);
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
	struct nw_server_state st;
	struct nw_outcome out;
	uint64_t rx = 1800000000000000000ULL;
	size_t n = size / REC_LEN;

	memset(&st, 0, sizeof(st));
	/* A genuine stream, a few samples in. */
	for (uint64_t k = 0; k < 3; k++) {
		struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000, .seq = k };

		s.version = NW_VERSION;
		s.nonce = 1;
		rx += PERIOD_NS;
		s.tx_ns = rx - 1000000;
		account_checked(&st, &s, rx, &out);
	}
	CHECK(st.received == 3);
	if (n > MAX_RECS)
		n = MAX_RECS;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = data + i * REC_LEN;
		struct nw_sample s = { 0 };
		uint64_t el = le(r + 2, 2);

		s.flags = r[0] & NW_FLAG_GOODBYE;
		rx += (r[1] & 4) ? el << 30 : el * 1000000ULL;
		s.rate_uhz = (uint32_t)le(r + 4, 4);
		if (s.rate_uhz < 3)
			s.rate_uhz = 20000000;
		s.freq_uhz = s.rate_uhz / 4 ? s.rate_uhz / 4 : 1;
		s.seq = le(r + 8, 8);
		if (r[1] & 1)
			s.seq += st.max_seq; /* u64 wrap: a signed delta */
		s.tx_ns = le(r + 16, 8);
		if (r[1] & 2)
			s.tx_ns += rx;
		s.version = (r[1] & 8) ? NW_VERSION : NW_VERSION_V1;
		s.nonce = (r[1] & 8) ? 1U + ((r[1] >> 4) & 1U) : 0;
		account_checked(&st, &s, rx, &out);
	}
	check_recovers(&st, rx);
	return 0;
}
