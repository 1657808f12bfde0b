/* SPDX-License-Identifier: MIT */
/*
 * The shared key (--key-file, same file on agents, rack controllers and the
 * DC controller) and the two keys derived from it, so one secret never
 * serves two algorithms:
 *
 *   sample key  16 bytes  SipHash-2-4 tag of every tone sample (agent adds
 *                         it, the BPF collector / socket hook checks it)
 *   report keys 32 bytes  XChaCha20-Poly1305 (id 4), keyed BLAKE2b (id 3) and
 *                         HMAC-SHA-256 (id 2) of older racks, over every
 *                         rack -> DC report frame (report_mac.h)
 *
 * Derivation: libsodium crypto_kdf_derive_from_key (BLAKE2b) from the
 * 32-byte master key, context "NetWatch", subkey ids NW_KDF_ID_*.
 *
 * File format: 64 hexadecimal digits (the 32-byte master key), optional
 * surrounding whitespace, nothing else. `openssl rand -hex 32 > key` or
 * `head -c32 /dev/urandom | xxd -p -c64 > key` make one. Refused: a file
 * readable by group or others (the key is the only thing between an
 * attacker and a forged datacenter view), one owned by anyone but the
 * reading user or root, a symbolic link, and anything but a regular file
 * (a FIFO is refused at once, never waited on). Used by the agent too, so this
 * file needs only libc and libsodium.
 */
#ifndef NW_KEYFILE_H
#define NW_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define NW_KEY_MASTER_LEN 32U
#define NW_KEY_SAMPLE_LEN 16U /* crypto_shorthash_KEYBYTES */
#define NW_KEY_REPORT_LEN 32U /* crypto_auth_hmacsha256_KEYBYTES */
#define NW_KDF_CONTEXT "NetWatch"
#define NW_KDF_ID_SAMPLE 1U
#define NW_KDF_ID_REPORT 2U      /* HMAC-SHA-256: reports from racks before BLAKE2b */
#define NW_KDF_ID_REPORT_MAC 3U  /* keyed BLAKE2b on reports: one algorithm per subkey */
#define NW_KDF_ID_REPORT_AEAD 4U /* XChaCha20-Poly1305 tag on reports: what racks write */

struct nw_keys {
	int present; /* 0: no --key-file, everything unauthenticated */
	uint8_t sample[NW_KEY_SAMPLE_LEN];
	uint8_t report[NW_KEY_REPORT_LEN];      /* HMAC-SHA-256 (old racks) */
	uint8_t report_mac[NW_KEY_REPORT_LEN];  /* keyed BLAKE2b (older racks) */
	uint8_t report_aead[NW_KEY_REPORT_LEN]; /* XChaCha20-Poly1305 */
};

/* Derives every key from a 32-byte master key. 0, or -1 (libsodium failed). */
int nw_keys_derive(struct nw_keys *k, const uint8_t master[NW_KEY_MASTER_LEN]);

/* Reads `path` and derives. 0, or -1 with a one-line reason (static text)
 * in *why; `k` is wiped on failure. */
int nw_keys_load(struct nw_keys *k, const char *path, const char **why);

/* Overwrites the key material (sodium_memzero). */
void nw_keys_wipe(struct nw_keys *k);

#endif
