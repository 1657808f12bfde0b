/* SPDX-License-Identifier: MIT */
/*
 * The UDP socket and batched sends. Messages of a batch are built in place in
 * preallocated buffers and go out with sendmmsg; the outcome of every message
 * is recorded, so the caller can count exactly what reached the wire.
 * With a sample key every message leaves with NW_FLAG_AUTH and its 8-byte
 * tag (a second iovec), computed at send time so duplicates and goodbyes
 * are tagged by the same one code path as samples.
 */
#ifndef NW_AGENT_SENDER_H
#define NW_AGENT_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "nw_wire.h"
#include "wire.h"

#define NW_BATCH_MAX 1024U

enum nw_msg_kind {
	NW_MSG_FIRST = 0, /* the sample itself */
	NW_MSG_DUP,       /* an extra copy; always right after its FIRST in the same batch */
	NW_MSG_GOODBYE,
};

struct nw_batch {
	unsigned n;
	struct mmsghdr mm[NW_BATCH_MAX];
	struct iovec iov[NW_BATCH_MAX][2]; /* the sample, then its tag when keyed */
	struct nw_wire_msg buf[NW_BATCH_MAX];
	size_t msg_len; /* bytes of each message before its tag: 48, 56 in fabric mode */
	/* Fabric mode (nw_batch_set_fabric): per owner, its block and where it goes. */
	const struct nw_wire_fabric *fab;
	const struct nw_endpoint *dest;
	uint8_t tag[NW_BATCH_MAX][NW_TAG_LEN];
	uint32_t owner[NW_BATCH_MAX]; /* server index */
	uint8_t kind[NW_BATCH_MAX];
	uint8_t ok[NW_BATCH_MAX]; /* after nw_batch_send: 1 if the kernel took it */
	int keyed;
	uint8_t key[NW_TAG_KEY_LEN]; /* the sample key (keyfile.h), when keyed */
};

/* The batch is large: allocate it; NULL on failure. */
struct nw_batch *nw_batch_new(void);
/* Tags every message from now on with `key` (crypto_shorthash key). */
void nw_batch_set_key(struct nw_batch *b, const uint8_t key[NW_TAG_KEY_LEN]);
/* Fabric mode: every message of owner i carries fab[i] after the sample
 * and goes to dest[i] (the socket is not connected). The arrays stay the
 * caller's and must outlive the batch's use of them; NULL, NULL: off. */
void nw_batch_set_fabric(struct nw_batch *b, const struct nw_wire_fabric *fab,
			 const struct nw_endpoint *dest);
/* Wipes the key and frees; NULL is fine. */
void nw_batch_free(struct nw_batch *b);
static inline unsigned nw_batch_room(const struct nw_batch *b)
{
	return NW_BATCH_MAX - b->n;
}
/* The next message's buffer, to be filled by the caller. Needs room. */
struct nw_wire_sample *nw_batch_add(struct nw_batch *b, uint32_t owner, enum nw_msg_kind kind);
/* Sends every message, sets ok[], and empties nothing: the caller reads ok[] then resets n. */
void nw_batch_send(int fd, struct nw_batch *b);

/* A UDP socket connected to dst, bound to src when given. -1 with err on failure. */
int nw_sender_open(const struct nw_endpoint *dst, const struct nw_endpoint *src, char *err,
		   size_t errlen);
/* An unconnected UDP socket of `family` (fabric mode: one per agent, each
 * message names its destination), bound to src when given. */
int nw_sender_open_unconnected(int family, const struct nw_endpoint *src, char *err, size_t errlen);

#endif /* NW_AGENT_SENDER_H */
