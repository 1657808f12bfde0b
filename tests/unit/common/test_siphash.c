/* SPDX-License-Identifier: MIT */
/*
 * bpf/nw_siphash.h (the collector's and socket hook's SipHash-2-4 of a
 * 40-byte sample) against the reference implementation's test vector and
 * against libsodium's crypto_shorthash, which the agent tags with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "nw_siphash.h"

/* vectors_sip64[40] of the SipHash reference implementation's vectors.h
 * (github.com/veorq/SipHash): key 00 01 .. 0f, message 00 01 .. 27. */
static const uint8_t ref_vector_40[8] = { 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e };

static void ref_key_msg(uint8_t key[16], uint8_t msg[NW_WIRE_LEN])
{
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < (int)NW_WIRE_LEN; i++)
		msg[i] = (uint8_t)i;
}

static uint64_t tag_of(const uint8_t *msg, const uint8_t key[16])
{
	return nw_siphash40(msg, nw_sip_le64(key), nw_sip_le64(key + 8));
}

static void test_reference_vector(void **state)
{
	uint8_t key[16], msg[NW_WIRE_LEN], out[8];
	uint64_t t;

	(void)state;
	ref_key_msg(key, msg);
	t = tag_of(msg, key);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(t >> (8 * i)); /* the tag's wire bytes: little-endian */
	assert_memory_equal(out, ref_vector_40, 8);
	assert_true(nw_sip_tag_ok(msg, ref_vector_40, nw_sip_le64(key), nw_sip_le64(key + 8)));
}

/* The reference and libsodium agree on the vector: crypto_shorthash is the
 * function the tests below trust. */
static void test_libsodium_is_siphash24(void **state)
{
	uint8_t key[16], msg[NW_WIRE_LEN], out[crypto_shorthash_BYTES];

	(void)state;
	assert_int_equal(crypto_shorthash_BYTES, 8);
	assert_int_equal(crypto_shorthash_KEYBYTES, 16);
	ref_key_msg(key, msg);
	crypto_shorthash(out, msg, NW_WIRE_LEN, key);
	assert_memory_equal(out, ref_vector_40, 8);
}

static void test_matches_libsodium_random(void **state)
{
	(void)state;
	/* Messages at every alignment: the BPF build reads the packet where
	 * the sample sits (offset 42 behind IPv4 is not 8-aligned). */
	for (int round = 0; round < 2000; round++) {
		uint8_t key[16], buf[NW_WIRE_LEN + 8], want[8];
		const uint8_t *msg = buf + (round % 8);

		randombytes_buf(key, sizeof(key));
		randombytes_buf(buf, sizeof(buf));
		crypto_shorthash(want, msg, NW_WIRE_LEN, key);
		assert_true(nw_sip_tag_ok(msg, want, nw_sip_le64(key), nw_sip_le64(key + 8)));
	}
}

/* Any single flipped bit of message, key or tag is refused. */
static void test_every_bit_matters(void **state)
{
	uint8_t key[16], msg[NW_WIRE_LEN], tag[8];

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(msg, sizeof(msg));
	crypto_shorthash(tag, msg, sizeof(msg), key);
	for (unsigned bit = 0; bit < 8 * NW_WIRE_LEN; bit++) {
		msg[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		assert_false(nw_sip_tag_ok(msg, tag, nw_sip_le64(key), nw_sip_le64(key + 8)));
		msg[bit / 8] ^= (uint8_t)(1U << (bit % 8));
	}
	for (unsigned bit = 0; bit < 128; bit++) {
		key[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		assert_false(nw_sip_tag_ok(msg, tag, nw_sip_le64(key), nw_sip_le64(key + 8)));
		key[bit / 8] ^= (uint8_t)(1U << (bit % 8));
	}
	for (unsigned bit = 0; bit < 64; bit++) {
		tag[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		assert_false(nw_sip_tag_ok(msg, tag, nw_sip_le64(key), nw_sip_le64(key + 8)));
		tag[bit / 8] ^= (uint8_t)(1U << (bit % 8));
	}
	assert_true(nw_sip_tag_ok(msg, tag, nw_sip_le64(key), nw_sip_le64(key + 8)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vector),
		cmocka_unit_test(test_libsodium_is_siphash24),
		cmocka_unit_test(test_matches_libsodium_random),
		cmocka_unit_test(test_every_bit_matters),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
