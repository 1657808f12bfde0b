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

#include "collector.h"
#include "sip_selftest.skel.h"

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

static void set_key(struct sip_selftest *skel, int enabled, const uint8_t key[16])
{
	struct nw_key k;
	__u32 zero = 0;

	memset(&k, 0, sizeof(k));
	k.enabled = (__u32)enabled;
	memcpy(k.key, key, sizeof(k.key));
	assert_int_equal(bpf_map__update_elem(skel->maps.sip_key, &zero, sizeof(zero), &k,
					      sizeof(k), BPF_ANY), 0);
}

/* vectors_sip64[40] of the reference implementation: key 00..0f, message
 * 00..27; then every single-bit error in the expected tag is refused. */
static void test_sip_reference_vector(void **state)
{
	static const uint8_t want[8] = { 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e };
	struct sip_selftest *skel = *state;
	int prog = bpf_program__fd(skel->progs.nw_sip_selftest);
	uint8_t key[16], in[64], out[64];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	set_key(skel, 0, key); /* the self-test reads the key bytes, enabled or not */
	memset(in, 0, sizeof(in));
	for (int i = 0; i < (int)NW_WIRE_LEN; i++)
		in[i] = (uint8_t)i;
	memcpy(in + NW_WIRE_LEN, want, 8);
	for (int flip = -1; flip < 64; flip++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = sizeof(in),
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if (flip >= 0)
			in[NW_WIRE_LEN + flip / 8] ^= (uint8_t)(1U << (flip % 8));
		assert_int_equal(bpf_prog_test_run_opts(prog, &o), 0);
		assert_memory_equal(out + NW_WIRE_LEN + 8, want, 8); /* computed tag */
		assert_int_equal(o.retval, flip < 0 ? XDP_PASS : XDP_DROP);
		if (flip >= 0)
			in[NW_WIRE_LEN + flip / 8] ^= (uint8_t)(1U << (flip % 8));
	}
}

/* Random keys and messages against libsodium, the agent's implementation. */
static void test_sip_matches_libsodium(void **state)
{
	struct sip_selftest *skel = *state;
	int prog = bpf_program__fd(skel->progs.nw_sip_selftest);
	uint8_t key[16], in[64], out[64];

	memset(in, 0, sizeof(in));
	for (int r = 0; r < 200; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = sizeof(in),
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		randombytes_buf(key, sizeof(key));
		randombytes_buf(in, NW_WIRE_LEN);
		crypto_shorthash(in + NW_WIRE_LEN, in, NW_WIRE_LEN, key);
		set_key(skel, 1, key);
		assert_int_equal(bpf_prog_test_run_opts(prog, &o), 0);
		assert_int_equal(o.retval, XDP_PASS);
		assert_memory_equal(out + NW_WIRE_LEN + 8, in + NW_WIRE_LEN, 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sip_reference_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sip_matches_libsodium, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_siphash_bpf: needs root (BPF_PROG_TEST_RUN)\n");
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
