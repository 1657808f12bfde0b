// SPDX-License-Identifier: MIT
/*
 * The in-kernel SipHash (bpf/nw_siphash.h as compiled for BPF, the code the
 * collector's nw_auth_ok() runs) against the SipHash reference
 * implementation's test vector and libsodium's crypto_shorthash, through the
 * test-only program tests/bpf/sip_selftest.bpf.c and BPF_PROG_TEST_RUN. The
 * collector itself is checked on real tagged samples in test_collector.c.
 * Needs root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sodium.h>

#include "nw_siphash.h"
#include "sip_selftest.skel.h"

/* sip_selftest.bpf.c's frame: key, message, expected tag, computed tag. */
#define KEY_OFF 0
#define MSG_OFF NW_SIP_KEY_LEN
#define WANT_OFF (MSG_OFF + NW_SIP_MSG_LEN)
#define ROOM_OFF (WANT_OFF + NW_TAG_LEN)
#define FRAME_LEN (ROOM_OFF + NW_TAG_LEN)

static int setup(void **state)
{
	struct sip_selftest *skel = sip_selftest__open_and_load();

	if (!skel) {
		fprintf(stderr, "sip_selftest__open_and_load: %s\n", strerror(errno));
		return -1;
	}
	*state = skel;
	return 0;
}

static int teardown(void **state)
{
	sip_selftest__destroy(*state);
	return 0;
}

/* One run: the program's verdict; the tag it computed into `computed`. */
static uint32_t run(struct sip_selftest *skel, const uint8_t frame[FRAME_LEN],
		    uint8_t computed[NW_TAG_LEN])
{
	uint8_t out[FRAME_LEN];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = FRAME_LEN,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.nw_sip_selftest), &o),
			 0);
	memcpy(computed, out + ROOM_OFF, NW_TAG_LEN);
	return o.retval;
}

/* vectors_sip64[40] of the reference implementation: key 00..0f, message
 * 00..27; then every single-bit error in the expected tag is refused. */
static void test_sip_reference_vector(void **state)
{
	static const uint8_t want[8] = { 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e };
	uint8_t frame[FRAME_LEN], got[NW_TAG_LEN];

	memset(frame, 0, sizeof(frame));
	for (int i = 0; i < (int)NW_SIP_KEY_LEN; i++)
		frame[KEY_OFF + i] = (uint8_t)i;
	for (int i = 0; i < (int)NW_SIP_MSG_LEN; i++)
		frame[MSG_OFF + i] = (uint8_t)i;
	memcpy(frame + WANT_OFF, want, sizeof(want));
	for (int flip = -1; flip < 64; flip++) {
		if (flip >= 0)
			frame[WANT_OFF + flip / 8] ^= (uint8_t)(1U << (flip % 8));
		assert_int_equal(run(*state, frame, got), flip < 0 ? XDP_PASS : XDP_DROP);
		assert_memory_equal(got, want, sizeof(want));
		if (flip >= 0)
			frame[WANT_OFF + flip / 8] ^= (uint8_t)(1U << (flip % 8));
	}
}

/* Random keys and messages against libsodium, the agent's implementation. */
static void test_sip_matches_libsodium(void **state)
{
	uint8_t frame[FRAME_LEN], got[NW_TAG_LEN];

	memset(frame, 0, sizeof(frame));
	for (int r = 0; r < 200; r++) {
		randombytes_buf(frame + KEY_OFF, NW_SIP_KEY_LEN);
		randombytes_buf(frame + MSG_OFF, NW_SIP_MSG_LEN);
		crypto_shorthash(frame + WANT_OFF, frame + MSG_OFF, NW_SIP_MSG_LEN,
				 frame + KEY_OFF);
		assert_int_equal(run(*state, frame, got), XDP_PASS);
		assert_memory_equal(got, frame + WANT_OFF, NW_TAG_LEN);
	}
}

/* Too short to hold the frame: refused, nothing computed. */
static void test_short_frame_aborted(void **state)
{
	struct sip_selftest *skel = *state;
	uint8_t frame[FRAME_LEN - 1];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .repeat = 1);

	memset(frame, 0, sizeof(frame));
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.nw_sip_selftest), &o),
			 0);
	assert_int_equal(o.retval, XDP_ABORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sip_reference_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sip_matches_libsodium, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_frame_aborted, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_siphash_bpf: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
