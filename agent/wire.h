/* SPDX-License-Identifier: MIT */
/*
 * Encoding of wire v2 samples (bpf/nw_wire.h, docs/wire-format.md). A server's
 * constant fields are encoded once into a template; a sample is the template
 * plus seq, tx_ns and value, patched in place.
 */
#ifndef NW_AGENT_WIRE_H
#define NW_AGENT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "nw_wire.h"

void nw_wire_template(struct nw_wire_sample *t, uint16_t rack, uint32_t server, uint32_t freq_uhz,
		      uint32_t rate_uhz);

/* A datagram as the batch holds it: the sample, then (an inter-rack tone,
 * NW_FLAG_FABRIC) the fabric block. A server's sample is the first 48
 * bytes only. */
struct nw_wire_msg {
	struct nw_wire_sample s;
	struct nw_wire_fabric f;
};
_Static_assert(sizeof(struct nw_wire_msg) == NW_WIRE_FABRIC_LEN, "a fabric sample is 56 bytes");

/* An inter-rack tone's template (docs/fabric.md): source rack `rack`,
 * server NW_SERVER_FABRIC, flag FABRIC; `fab` gets the block for dst_rack. */
void nw_wire_fabric_template(struct nw_wire_sample *t, struct nw_wire_fabric *fab, uint16_t rack,
			     uint16_t dst_rack, uint16_t mesh_epoch, uint32_t freq_uhz,
			     uint32_t rate_uhz);
/* The sender lifetime's nonce (random, new at every start) into a template:
 * a tagged sample cannot be replayed into a later lifetime. */
void nw_wire_set_nonce(struct nw_wire_sample *t, uint64_t nonce);
void nw_wire_sample(struct nw_wire_sample *out, const struct nw_wire_sample *tmpl, uint64_t seq,
		    uint64_t tx_ns, float value);
/* A goodbye: seq is the last generated sequence, value 0. */
void nw_wire_goodbye(struct nw_wire_sample *out, const struct nw_wire_sample *tmpl,
		     uint64_t last_seq, uint64_t tx_ns);

/* With a sample key: sets NW_FLAG_AUTH in `s` and writes the SipHash-2-4
 * tag of its 48 bytes, nonce included (libsodium crypto_shorthash), to `tag`. */
#define NW_TAG_KEY_LEN 16U
void nw_wire_seal(struct nw_wire_sample *s, uint8_t tag[NW_TAG_LEN],
		  const uint8_t key[NW_TAG_KEY_LEN]);
/* The same over the first `len` bytes of a message (56 for a FABRIC one). */
void nw_wire_seal_len(struct nw_wire_msg *m, size_t len, uint8_t tag[NW_TAG_LEN],
		      const uint8_t key[NW_TAG_KEY_LEN]);

/*
 * A*sin(2*pi*f*k/rate) with f and rate the wire's micro-hertz values. The
 * phase (k*f mod rate)/rate is reduced in integers first, so sample 10^9 is as
 * exact as sample 1 and the receiver can recompute it from the header alone.
 */
float nw_tone_value(double amplitude, uint32_t freq_uhz, uint32_t rate_uhz, uint64_t k);

#endif /* NW_AGENT_WIRE_H */
