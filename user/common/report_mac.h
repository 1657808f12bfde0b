/* SPDX-License-Identifier: MIT */
/*
 * The MAC trailer of a rack -> DC report frame (report.h "Frame"): which
 * kinds there are, how long each trailer is, writing one and checking one.
 * Kept apart from the JSON codec (report.c, report_parse.c) so either can
 * change without the other. Everything here is libsodium; keys come from
 * keyfile.h, one KDF subkey per algorithm.
 *
 * Kinds (header byte 4, exactly one bit when keyed):
 *   NW_REPORT_FLAG_MAC          HMAC-SHA-256, 32-byte tag (subkey 2):
 *                               racks from before BLAKE2b; read only
 *   NW_REPORT_FLAG_MAC_BLAKE2B  keyed BLAKE2b-256, 32-byte tag (subkey 3):
 *                               racks from before XChaCha20-Poly1305; read only
 *   NW_REPORT_FLAG_MAC_XCHACHA  XChaCha20-Poly1305 (IETF) over an empty
 *                               message with the frame as additional data
 *                               (subkey 4): a 24-byte random nonce, then the
 *                               16-byte Poly1305 tag; what racks write
 * The third is Poly1305 under a one-time key the cipher derives from the
 * random nonce: on this machine 1.8 us to check a 5.2 KB frame against
 * keyed BLAKE2b's 10 us (docs/benchmarks.md). Random 192-bit nonces never
 * repeat in practice, so the one-time key is never reused. Every check is
 * constant time (libsodium's).
 */
#ifndef NW_REPORT_MAC_H
#define NW_REPORT_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "keyfile.h"

#define NW_REPORT_FLAG_MAC 0x01U         /* HMAC-SHA-256 trailer: read, no longer written */
#define NW_REPORT_FLAG_MAC_BLAKE2B 0x02U /* keyed BLAKE2b-256 trailer: read, no longer written */
#define NW_REPORT_FLAG_MAC_XCHACHA 0x04U /* XChaCha20-Poly1305 nonce + tag: written */
#define NW_REPORT_MAC_FLAGS \
	(NW_REPORT_FLAG_MAC | NW_REPORT_FLAG_MAC_BLAKE2B | NW_REPORT_FLAG_MAC_XCHACHA)
#define NW_REPORT_MAC_WRITTEN NW_REPORT_FLAG_MAC_XCHACHA /* the kind racks send */
#define NW_REPORT_MAC_TAG32_LEN 32U                      /* HMAC-SHA-256, BLAKE2b */
#define NW_REPORT_MAC_NONCE_LEN 24U                      /* XChaCha20 */
#define NW_REPORT_MAC_TAG16_LEN 16U                      /* Poly1305 */
/* The longest trailer: what a reader budgets for beyond the payload. */
#define NW_REPORT_MAC_LEN (NW_REPORT_MAC_NONCE_LEN + NW_REPORT_MAC_TAG16_LEN)

/* Header byte 4 acceptable: no bit outside NW_REPORT_MAC_FLAGS and at most
 * one MAC kind (two would leave the trailer's meaning to the reader). */
int nw_report_mac_flags_ok(uint8_t flags);

/* The trailer length for accepted flags: 0 (no MAC), 32 or 40. */
size_t nw_report_mac_len(uint8_t flags);

/* Writes the `kind` trailer (nw_report_mac_len(kind) bytes) over
 * msg[0..len) into `mac`; `kind` is one MAC bit, keys->present. 0, or -1. */
int nw_report_mac_sign(uint8_t kind, const uint8_t *msg, size_t len, const struct nw_keys *keys,
		       uint8_t *mac);

/* Appends the trailer of `kind` over all of `out` (header and payload).
 * 0, or -1 (out of memory, libsodium failed). */
int nw_report_mac_append(struct nw_buf *out, uint8_t kind, const struct nw_keys *keys);

/* 1 when `mac` (the trailer of `kind`, one MAC bit) is right for msg[0..len)
 * under keys, else 0. Constant time. */
int nw_report_mac_verify(uint8_t kind, const uint8_t *msg, size_t len, const uint8_t *mac,
			 const struct nw_keys *keys);

#endif
