/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <arpa/inet.h>
#include <endian.h>
#include <math.h>
#include <sodium.h>
#include <string.h>

void nw_wire_template(struct nw_wire_sample *t, uint16_t rack, uint32_t server, uint32_t freq_uhz,
		      uint32_t rate_uhz)
{
	memset(t, 0, sizeof(*t));
	t->magic = htonl(NW_MAGIC);
	t->version = NW_VERSION;
	t->flags = 0;
	t->rack_id = htons(rack);
	t->server_id = htonl(server);
	t->freq_uhz = htonl(freq_uhz);
	t->rate_uhz = htonl(rate_uhz);
}

void nw_wire_fabric_template(struct nw_wire_sample *t, struct nw_wire_fabric *fab, uint16_t rack,
			     uint16_t dst_rack, uint16_t mesh_epoch, uint32_t freq_uhz,
			     uint32_t rate_uhz)
{
	nw_wire_template(t, rack, NW_SERVER_FABRIC, freq_uhz, rate_uhz);
	t->flags = NW_FLAG_FABRIC;
	memset(fab, 0, sizeof(*fab));
	fab->dst_rack = htons(dst_rack);
	fab->mesh_epoch = htons(mesh_epoch);
}

void nw_wire_set_nonce(struct nw_wire_sample *t, uint64_t nonce)
{
	t->nonce = htobe64(nonce);
}

void nw_wire_sample(struct nw_wire_sample *out, const struct nw_wire_sample *tmpl, uint64_t seq,
		    uint64_t tx_ns, float value)
{
	uint32_t bits;

	memcpy(&bits, &value, sizeof(bits));
	*out = *tmpl;
	out->value = htonl(bits);
	out->seq = htobe64(seq);
	out->tx_ns = htobe64(tx_ns);
}

void nw_wire_goodbye(struct nw_wire_sample *out, const struct nw_wire_sample *tmpl,
		     uint64_t last_seq, uint64_t tx_ns)
{
	nw_wire_sample(out, tmpl, last_seq, tx_ns, 0.0f);
	out->flags = NW_FLAG_GOODBYE | (tmpl->flags & NW_FLAG_FABRIC);
}

_Static_assert(crypto_shorthash_BYTES == NW_TAG_LEN, "the tag is SipHash-2-4's 8 bytes");
_Static_assert(crypto_shorthash_KEYBYTES == NW_TAG_KEY_LEN, "SipHash-2-4's key is 16 bytes");

void nw_wire_seal(struct nw_wire_sample *s, uint8_t tag[NW_TAG_LEN],
		  const uint8_t key[NW_TAG_KEY_LEN])
{
	/* The flag and the nonce are inside the tagged bytes: neither can be
	 * stripped or swapped either. */
	s->flags |= NW_FLAG_AUTH;
	crypto_shorthash(tag, (const unsigned char *)s, sizeof(*s), key);
}

void nw_wire_seal_len(struct nw_wire_msg *m, size_t len, uint8_t tag[NW_TAG_LEN],
		      const uint8_t key[NW_TAG_KEY_LEN])
{
	m->s.flags |= NW_FLAG_AUTH;
	crypto_shorthash(tag, (const unsigned char *)m, len, key);
}

float nw_tone_value(double amplitude, uint32_t freq_uhz, uint32_t rate_uhz, uint64_t k)
{
	uint64_t num = (uint64_t)((unsigned __int128)k * freq_uhz % rate_uhz);

	return (float)(amplitude * sin(2.0 * M_PI * ((double)num / (double)rate_uhz)));
}
