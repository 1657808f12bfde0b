// SPDX-License-Identifier: MIT
/*
 * Report frame MACs (report_mac.h): one switch per operation over the three
 * kinds, each a single libsodium call.
 */
#include "report_mac.h"

#include <sodium.h>

_Static_assert(NW_REPORT_MAC_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "XChaCha20 nonce size");
_Static_assert(NW_REPORT_MAC_TAG16_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES,
	       "Poly1305 tag size");
_Static_assert(NW_REPORT_MAC_TAG32_LEN == crypto_auth_hmacsha256_BYTES, "HMAC tag size");

int nw_report_mac_flags_ok(uint8_t flags)
{
	/* flags & (flags - 1): nonzero when more than one bit is set */
	return !(flags & ~NW_REPORT_MAC_FLAGS) && !(flags & (flags - 1));
}

size_t nw_report_mac_len(uint8_t flags)
{
	switch (flags & NW_REPORT_MAC_FLAGS) {
	case NW_REPORT_FLAG_MAC:
	case NW_REPORT_FLAG_MAC_BLAKE2B:
		return NW_REPORT_MAC_TAG32_LEN;
	case NW_REPORT_FLAG_MAC_XCHACHA:
		return NW_REPORT_MAC_NONCE_LEN + NW_REPORT_MAC_TAG16_LEN;
	default:
		return 0;
	}
}

int nw_report_mac_sign(uint8_t kind, const uint8_t *msg, size_t len, const struct nw_keys *keys,
		       uint8_t *mac)
{
	uint8_t empty[1]; /* the ciphertext of the empty message: 0 bytes */

	switch (kind) {
	case NW_REPORT_FLAG_MAC:
		return crypto_auth_hmacsha256(mac, msg, len, keys->report) ? -1 : 0;
	case NW_REPORT_FLAG_MAC_BLAKE2B:
		return crypto_generichash(mac, NW_REPORT_MAC_TAG32_LEN, msg, len, keys->report_mac,
					  NW_KEY_REPORT_LEN)
			       ? -1
			       : 0;
	case NW_REPORT_FLAG_MAC_XCHACHA:
		/* A fresh random nonce per frame: the one-time Poly1305 key the
		 * cipher derives from it is never used twice. */
		randombytes_buf(mac, NW_REPORT_MAC_NONCE_LEN);
		return crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
			       empty, mac + NW_REPORT_MAC_NONCE_LEN, NULL, NULL, 0, msg, len, NULL,
			       mac, keys->report_aead)
			       ? -1
			       : 0;
	default:
		return -1;
	}
}

int nw_report_mac_append(struct nw_buf *out, uint8_t kind, const struct nw_keys *keys)
{
	uint8_t mac[NW_REPORT_MAC_LEN];
	size_t n = nw_report_mac_len(kind);

	if (!n || out->failed ||
	    nw_report_mac_sign(kind, (const uint8_t *)out->p, out->len, keys, mac))
		return -1;
	nw_buf_put(out, (const char *)mac, n);
	return out->failed ? -1 : 0;
}

int nw_report_mac_verify(uint8_t kind, const uint8_t *msg, size_t len, const uint8_t *mac,
			 const struct nw_keys *keys)
{
	static const uint8_t empty[1]; /* the ciphertext of the empty message: 0 bytes */
	uint8_t want[NW_REPORT_MAC_TAG32_LEN];

	switch (kind) {
	case NW_REPORT_FLAG_MAC:
		return crypto_auth_hmacsha256_verify(mac, msg, len, keys->report) == 0;
	case NW_REPORT_FLAG_MAC_BLAKE2B:
		if (crypto_generichash(want, sizeof(want), msg, len, keys->report_mac,
				       NW_KEY_REPORT_LEN))
			return 0;
		return sodium_memcmp(want, mac, sizeof(want)) == 0;
	case NW_REPORT_FLAG_MAC_XCHACHA:
		/* an empty ciphertext: only the tag over the frame is checked */
		return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
			       NULL, NULL, empty, 0, mac + NW_REPORT_MAC_NONCE_LEN, msg, len, mac,
			       keys->report_aead) == 0;
	default:
		return 0;
	}
}
