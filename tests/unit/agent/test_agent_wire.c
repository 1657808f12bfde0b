/* SPDX-License-Identifier: MIT */
/* netwatch-agent: wire v1 encoding, byte-exact, and the tone's values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nw_parse.h"
#include "nw_siphash.h"
#include "plan.h"
#include "sender.h"
#include "wire.h"

static void test_sample_bytes(void **state)
{
	static const uint8_t expected[NW_WIRE_V2_LEN] = {
		0x4E, 0x57, 0x54, 0x4E,                         /* magic "NWTN" */
		0x02,                                           /* version */
		0x00,                                           /* flags */
		0x00, 0x03,                                     /* rack 3 */
		0x01, 0x02, 0x03, 0x04,                         /* server 0x01020304 */
		0x00, 0x10, 0x05, 0x90,                         /* 1050000 uHz */
		0x01, 0x31, 0x2D, 0x00,                         /* 20000000 uHz */
		0x3F, 0x00, 0x00, 0x00,                         /* 0.5f */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* seq */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* tx_ns */
		0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, /* nonce */
	};
	struct nw_wire_sample t, w;
	struct nw_sample s;

	(void)state;
	nw_wire_template(&t, 3, 0x01020304, 1050000, 20000000);
	nw_wire_set_nonce(&t, 0xA1A2A3A4A5A6A7A8ULL);
	nw_wire_sample(&w, &t, 0x1122334455667788ULL, 0x0102030405060708ULL, 0.5f);
	assert_int_equal(sizeof(w), NW_WIRE_V2_LEN);
	assert_memory_equal(&w, expected, NW_WIRE_V2_LEN);

	memset(&s, 0, sizeof(s));
	assert_int_equal(nw_parse_sample((const __u8 *)&w, (const __u8 *)&w + sizeof(w),
					 NW_WIRE_V2_LEN, &s),
			 NW_OK);
	assert_int_equal(s.rack_id, 3);
	assert_int_equal(s.server_id, 0x01020304);
	assert_int_equal(s.freq_uhz, 1050000);
	assert_int_equal(s.rate_uhz, 20000000);
	assert_int_equal(s.value_bits, 0x3F000000);
	assert_int_equal(s.seq, 0x1122334455667788ULL);
	assert_int_equal(s.tx_ns, 0x0102030405060708ULL);
	assert_int_equal(s.nonce, 0xA1A2A3A4A5A6A7A8ULL);
	assert_int_equal(s.flags, 0);
	assert_int_equal(s.version, NW_VERSION);
	assert_int_equal(s.payload_len, NW_WIRE_V2_LEN);
	/* The same bytes as wire v1 (version 1, no nonce) are still a sample. */
	w.version = NW_VERSION_V1;
	assert_int_equal(nw_parse_sample((const __u8 *)&w, (const __u8 *)&w + NW_WIRE_LEN,
					 NW_WIRE_LEN, &s),
			 NW_OK);
	assert_int_equal(s.nonce, 0);
	assert_int_equal(s.version, NW_VERSION_V1);
}

static void test_template_untouched(void **state)
{
	struct nw_wire_sample t, copy, w;

	(void)state;
	nw_wire_template(&t, 1, 2, 1000000, 20000000);
	copy = t;
	nw_wire_sample(&w, &t, 5, 6, -1.0f);
	nw_wire_goodbye(&w, &t, 5, 6);
	assert_memory_equal(&t, &copy, sizeof(t));
	assert_int_equal(t.seq, 0);
	assert_int_equal(t.tx_ns, 0);
}

static void test_goodbye_bytes(void **state)
{
	/* The sample inside a message-sized buffer: the parser's reads past
	 * `end` are guarded, but GCC's bounds warning (ASan builds) cannot tell. */
	struct nw_wire_msg m;
	struct nw_wire_sample t;
	struct nw_sample s;
	const uint8_t *b = (const uint8_t *)&m;

	(void)state;
	nw_wire_template(&t, 0, 7, 1350000, 20000000);
	nw_wire_goodbye(&m.s, &t, 99, 1700000000000000000ULL);
	assert_int_equal(b[5], NW_FLAG_GOODBYE);
	/* seq = last generated, big-endian in bytes 24..31 */
	static const uint8_t seq99[8] = { 0, 0, 0, 0, 0, 0, 0, 99 };
	assert_memory_equal(b + 24, seq99, 8);
	static const uint8_t zero[4] = { 0 };
	assert_memory_equal(b + 20, zero, 4); /* value 0.0f */
	assert_int_equal(nw_parse_sample(b, b + NW_WIRE_V2_LEN, NW_WIRE_V2_LEN, &s), NW_OK);
	assert_int_equal(s.flags, NW_FLAG_GOODBYE);
	assert_int_equal(s.seq, 99);
	assert_int_equal(s.tx_ns, 1700000000000000000ULL);
	assert_int_equal(s.server_id, 7);
	/* A goodbye is 48 bytes, like a sample; 56 would claim a tag. */
	assert_int_equal(nw_parse_sample(b, b + NW_WIRE_V2_LEN, NW_WIRE_V2_LEN_AUTH, &s),
			 NW_MAL_LENGTH);
}

static void test_tone_values(void **state)
{
	(void)state;
	/* f = rate/4: the sine walks 0, 1, 0, -1. */
	assert_true(nw_tone_value(1.0, 5000000, 20000000, 0) == 0.0f);
	assert_true(nw_tone_value(1.0, 5000000, 20000000, 1) == 1.0f);
	assert_true(fabsf(nw_tone_value(1.0, 5000000, 20000000, 2)) < 1e-7f);
	assert_true(nw_tone_value(2.0, 5000000, 20000000, 3) == -2.0f);
	/* The plan's 1.05 Hz at 20 Hz against the textbook formula. */
	for (uint64_t k = 0; k < 1000; k++) {
		double want = 0.7 * sin(2.0 * M_PI * 1.05 * (double)k / 20.0);

		assert_true(fabs(nw_tone_value(0.7, 1050000, 20000000, k) - want) < 1e-6);
	}
	/* Phase is reduced exactly: sample 10^12 + 3 equals sample 3 when f/rate is 1/400. */
	assert_true(nw_tone_value(1.0, 50000, 20000000, 1000000000000ULL * 4 + 3) ==
		    nw_tone_value(1.0, 50000, 20000000, 3));
}

static void test_value_bits_on_wire(void **state)
{
	struct nw_wire_sample t, w;
	const uint8_t *b = (const uint8_t *)&w;

	(void)state;
	nw_wire_template(&t, 0, 0, 1000000, 20000000);
	nw_wire_sample(&w, &t, 0, 0, -2.0f); /* 0xC0000000 */
	assert_int_equal(b[20], 0xC0);
	assert_int_equal(b[21], 0x00);
	assert_int_equal(b[22], 0x00);
	assert_int_equal(b[23], 0x00);
}

static void test_plan(void **state)
{
	uint64_t v;
	char err[256], buf[32];

	(void)state;
	assert_int_equal(nw_plan_tone_uhz(0, 0, &v), 0);
	assert_int_equal(v, 1000000);
	assert_int_equal(nw_plan_tone_uhz(0, 1, &v), 0);
	assert_int_equal(v, 1050000);
	assert_int_equal(nw_plan_tone_uhz(3, 19, &v), 0);
	assert_int_equal(v, 4950000);
	assert_int_equal(nw_plan_tone_uhz(2, 10, &v), 0);
	assert_int_equal(v, 3500000);
	assert_int_equal(nw_plan_tone_uhz(0, 20, &v), -1);
	/* Every planned tone stays inside its rack's band [1 + r, 2 + r). */
	for (uint32_t r = 0; r < 50; r++)
		for (uint32_t s = 0; s < 20; s++) {
			assert_int_equal(nw_plan_tone_uhz(r, s, &v), 0);
			assert_true(v >= 1000000ULL * (1 + r) && v < 1000000ULL * (2 + r));
		}

	assert_int_equal(nw_hz_to_uhz(1.05, &v), 0);
	assert_int_equal(v, 1050000);
	assert_int_equal(nw_hz_to_uhz(0.0000004, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(nw_hz_to_uhz(-1, &v), -1);

	assert_int_equal(nw_tone_check(9999999, 20000000, err, sizeof(err)), 0);
	assert_int_equal(nw_tone_check(10000000, 20000000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Nyquist"));
	assert_int_equal(nw_tone_check(0, 20000000, err, sizeof(err)), -1);
	assert_int_equal(nw_tone_check(1, 5000000000ULL, err, sizeof(err)), -1);
	assert_int_equal(nw_tone_check(UINT64_MAX, 20000000, err, sizeof(err)), -1);

	nw_uhz_format(1050000, buf, sizeof(buf));
	assert_string_equal(buf, "1.050000");
	nw_uhz_format(123, buf, sizeof(buf));
	assert_string_equal(buf, "0.000123");
}

/* A tag is libsodium's SipHash-2-4 of the 48 bytes (nonce included) with
 * the flag already set, and the collector's parser and check accept it. */
static void test_seal(void **state)
{
	uint8_t key[NW_TAG_KEY_LEN], tag[NW_TAG_LEN], want[NW_TAG_LEN];
	uint8_t msg[NW_WIRE_V2_LEN_AUTH];
	struct nw_wire_sample t, w;
	struct nw_sample s;

	(void)state;
	randombytes_buf(key, sizeof(key));
	nw_wire_template(&t, 3, 9, 1450000, 20000000);
	nw_wire_sample(&w, &t, 12345, 1700000000000000000ULL, 0.25f);
	nw_wire_seal(&w, tag, key);
	assert_int_equal(((const uint8_t *)&w)[5], NW_FLAG_AUTH);
	crypto_shorthash(want, (const unsigned char *)&w, NW_WIRE_V2_LEN, key);
	assert_memory_equal(tag, want, NW_TAG_LEN);

	memcpy(msg, &w, NW_WIRE_V2_LEN);
	memcpy(msg + NW_WIRE_V2_LEN, tag, NW_TAG_LEN);
	assert_int_equal(nw_parse_sample(msg, msg + sizeof(msg), sizeof(msg), &s), NW_OK);
	assert_memory_equal(s.tag, tag, NW_TAG_LEN);
	assert_true(nw_sip_tag_ok_len(msg, NW_WIRE_V2_LEN, s.tag, nw_sip_le64(key),
				      nw_sip_le64(key + 8)));
	/* The nonce is tagged: another lifetime's nonce breaks the tag. */
	msg[NW_WIRE_LEN] ^= 1;
	assert_false(nw_sip_tag_ok_len(msg, NW_WIRE_V2_LEN, s.tag, nw_sip_le64(key),
				       nw_sip_le64(key + 8)));
	msg[NW_WIRE_LEN] ^= 1;
	key[0] ^= 1;
	assert_false(nw_sip_tag_ok_len(msg, NW_WIRE_V2_LEN, s.tag, nw_sip_le64(key),
				       nw_sip_le64(key + 8)));

	/* A goodbye keeps its own flag beside the auth flag. */
	nw_wire_goodbye(&w, &t, 7, 1);
	nw_wire_seal(&w, tag, key);
	assert_int_equal(((const uint8_t *)&w)[5], NW_FLAG_GOODBYE | NW_FLAG_AUTH);
}

/* Through a real socket: a keyed batch puts 56-byte datagrams on the wire
 * for samples, duplicates and goodbyes alike, each with a valid tag. */
static void test_keyed_batch_on_wire(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	uint8_t key[NW_TAG_KEY_LEN], dgram[128];
	struct nw_wire_sample t;
	struct nw_batch *b = nw_batch_new();
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	static const uint8_t kinds[3] = { NW_MSG_FIRST, NW_MSG_DUP, NW_MSG_GOODBYE };

	(void)state;
	assert_non_null(b);
	assert_true(rx >= 0 && tx >= 0);
	assert_int_equal(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(connect(tx, (struct sockaddr *)&a, sizeof(a)), 0);
	randombytes_buf(key, sizeof(key));
	nw_batch_set_key(b, key);
	nw_wire_template(&t, 1, 4, 2200000, 20000000);
	nw_wire_sample(nw_batch_add(b, 0, NW_MSG_FIRST), &t, 5, 100, 0.5f);
	*nw_batch_add(b, 0, NW_MSG_DUP) = b->buf[0].s;
	nw_wire_goodbye(nw_batch_add(b, 0, NW_MSG_GOODBYE), &t, 5, 200);
	nw_batch_send(tx, b);
	for (int i = 0; i < 3; i++) {
		struct nw_sample s = { 0 };
		ssize_t n;

		assert_int_equal(b->ok[i], 1);
		n = recv(rx, dgram, sizeof(dgram), MSG_DONTWAIT);
		assert_int_equal(n, NW_WIRE_V2_LEN_AUTH);
		assert_int_equal(nw_parse_sample(dgram, dgram + n, (uint32_t)n, &s), NW_OK);
		assert_true(s.flags & NW_FLAG_AUTH);
		assert_int_equal(!!(s.flags & NW_FLAG_GOODBYE), kinds[i] == NW_MSG_GOODBYE);
		assert_true(nw_sip_tag_ok_len(dgram, NW_WIRE_V2_LEN, s.tag, nw_sip_le64(key),
					      nw_sip_le64(key + 8)));
	}
	nw_batch_free(b);
	close(rx);
	close(tx);
}

/* Fabric mode (docs/fabric.md): each owner's messages carry its block and
 * go to its own destination from one unconnected socket; tagged, they are
 * 64 bytes with the tag over the first 56, goodbyes included. */
static void test_fabric_batch_on_wire(void **state)
{
	struct nw_endpoint dest[2];
	struct nw_wire_fabric fab[2];
	struct nw_wire_sample t[2];
	uint8_t key[NW_TAG_KEY_LEN], dgram[128];
	struct nw_batch *b = nw_batch_new();
	int rx[2], tx;
	char err[128];

	(void)state;
	assert_non_null(b);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t alen = sizeof(a);

		rx[i] = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(rx[i] >= 0);
		assert_int_equal(bind(rx[i], (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(rx[i], (struct sockaddr *)&a, &alen), 0);
		memcpy(&dest[i].addr, &a, sizeof(a));
		dest[i].len = sizeof(a);
		nw_wire_fabric_template(&t[i], &fab[i], 3, (uint16_t)(10 + i), 41, 1000000,
					5000000);
	}
	tx = nw_sender_open_unconnected(AF_INET, NULL, err, sizeof(err));
	assert_true(tx >= 0);
	randombytes_buf(key, sizeof(key));
	nw_batch_set_key(b, key);
	nw_batch_set_fabric(b, fab, dest);
	nw_wire_sample(nw_batch_add(b, 1, NW_MSG_FIRST), &t[1], 7, 100, 0.5f);
	nw_wire_sample(nw_batch_add(b, 0, NW_MSG_FIRST), &t[0], 7, 100, 0.5f);
	nw_wire_goodbye(nw_batch_add(b, 0, NW_MSG_GOODBYE), &t[0], 7, 200);
	nw_batch_send(tx, b);
	for (int i = 0; i < 3; i++) {
		int r = i == 0 ? 1 : 0; /* owner 1 first, then owner 0's two */
		struct nw_sample s = { 0 };
		ssize_t n;

		assert_int_equal(b->ok[i], 1);
		n = recv(rx[r], dgram, sizeof(dgram), MSG_DONTWAIT);
		assert_int_equal(n, NW_WIRE_FABRIC_LEN_AUTH);
		assert_int_equal(nw_parse_sample(dgram, dgram + n, (uint32_t)n, &s), NW_OK);
		assert_true((s.flags & NW_FLAG_FABRIC) && (s.flags & NW_FLAG_AUTH));
		assert_int_equal(!!(s.flags & NW_FLAG_GOODBYE), i == 2);
		assert_int_equal(s.rack_id, 3);
		assert_int_equal(s.server_id, NW_SERVER_FABRIC);
		assert_int_equal(s.dst_rack, 10 + r);
		assert_int_equal(s.mesh_epoch, 41);
		assert_true(nw_sip_tag_ok_len(dgram, NW_WIRE_FABRIC_LEN, s.tag, nw_sip_le64(key),
					      nw_sip_le64(key + 8)));
	}
	assert_true(recv(rx[0], dgram, sizeof(dgram), MSG_DONTWAIT) < 0);
	nw_batch_free(b);
	close(rx[0]);
	close(rx[1]);
	close(tx);
}

/* Without a key: 48 bytes (v2: with the nonce), no flag. */
static void test_unkeyed_batch_on_wire(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	uint8_t dgram[128];
	struct nw_wire_sample t;
	struct nw_batch *b = nw_batch_new();
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);

	(void)state;
	assert_non_null(b);
	assert_int_equal(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(connect(tx, (struct sockaddr *)&a, sizeof(a)), 0);
	nw_wire_template(&t, 1, 4, 2200000, 20000000);
	nw_wire_sample(nw_batch_add(b, 0, NW_MSG_FIRST), &t, 5, 100, 0.5f);
	nw_batch_send(tx, b);
	assert_int_equal(recv(rx, dgram, sizeof(dgram), MSG_DONTWAIT), NW_WIRE_V2_LEN);
	assert_int_equal(dgram[5], 0);
	nw_batch_free(b);
	close(rx);
	close(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_bytes),
		cmocka_unit_test(test_template_untouched),
		cmocka_unit_test(test_goodbye_bytes),
		cmocka_unit_test(test_tone_values),
		cmocka_unit_test(test_value_bits_on_wire),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_seal),
		cmocka_unit_test(test_keyed_batch_on_wire),
		cmocka_unit_test(test_unkeyed_batch_on_wire),
		cmocka_unit_test(test_fabric_batch_on_wire),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
