/* SPDX-License-Identifier: MIT */
#include "sender.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct nw_batch *nw_batch_new(void)
{
	struct nw_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->msg_len = sizeof(b->buf[0].s); /* wire v2: with the nonce */
	for (unsigned i = 0; i < NW_BATCH_MAX; i++) {
		b->iov[i][0].iov_base = &b->buf[i];
		b->iov[i][0].iov_len = b->msg_len;
		b->iov[i][1].iov_base = b->tag[i];
		b->iov[i][1].iov_len = NW_TAG_LEN;
		b->mm[i].msg_hdr.msg_iov = b->iov[i];
		b->mm[i].msg_hdr.msg_iovlen = 1;
	}
	return b;
}

void nw_batch_set_key(struct nw_batch *b, const uint8_t key[NW_TAG_KEY_LEN])
{
	memcpy(b->key, key, NW_TAG_KEY_LEN);
	b->keyed = 1;
	for (unsigned i = 0; i < NW_BATCH_MAX; i++)
		b->mm[i].msg_hdr.msg_iovlen = 2;
}

void nw_batch_set_fabric(struct nw_batch *b, const struct nw_wire_fabric *fab,
			 const struct nw_endpoint *dest)
{
	b->fab = fab;
	b->dest = dest;
	b->msg_len = fab ? sizeof(b->buf[0]) : sizeof(b->buf[0].s);
	for (unsigned i = 0; i < NW_BATCH_MAX; i++) {
		b->iov[i][0].iov_len = b->msg_len;
		b->mm[i].msg_hdr.msg_name = NULL;
		b->mm[i].msg_hdr.msg_namelen = 0;
	}
}

void nw_batch_free(struct nw_batch *b)
{
	if (!b)
		return;
	sodium_memzero(b->key, sizeof(b->key));
	free(b);
}

struct nw_wire_sample *nw_batch_add(struct nw_batch *b, uint32_t owner, enum nw_msg_kind kind)
{
	unsigned i = b->n++;

	b->owner[i] = owner;
	b->kind[i] = (uint8_t)kind;
	b->ok[i] = 0;
	if (b->fab) {
		b->buf[i].f = b->fab[owner];
		b->mm[i].msg_hdr.msg_name = (void *)&b->dest[owner].addr;
		b->mm[i].msg_hdr.msg_namelen = b->dest[owner].len;
	}
	return &b->buf[i].s;
}

void nw_batch_send(int fd, struct nw_batch *b)
{
	unsigned i = 0;
	int retried = 0;

	if (b->keyed)
		for (unsigned j = 0; j < b->n; j++)
			nw_wire_seal_len(&b->buf[j], b->msg_len, b->tag[j], b->key);
	while (i < b->n) {
		int r = sendmmsg(fd, &b->mm[i], b->n - i, 0);

		if (r > 0) {
			for (unsigned j = 0; j < (unsigned)r; j++)
				b->ok[i + j] = 1;
			i += (unsigned)r;
			retried = 0;
			continue;
		}
		/*
		 * Message i failed. A transient error gets one more try; anything
		 * else (ECONNREFUSED from an ICMP, ENOBUFS, ...) costs this one
		 * message only: the kernel consumed the error, the next may pass.
		 */
		if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) &&
		    !retried) {
			retried = 1;
			continue;
		}
		b->ok[i++] = 0;
		retried = 0;
	}
}

int nw_sender_open_unconnected(int family, const struct nw_endpoint *src, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	int sndbuf = 4 << 20;

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A tick of 10000 servers is 10000 datagrams at once; best effort, capped by wmem_max. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (src && bind(fd, (const struct sockaddr *)&src->addr, src->len) < 0) {
		snprintf(err, errlen, "--source: cannot bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int nw_sender_open(const struct nw_endpoint *dst, const struct nw_endpoint *src, char *err,
		   size_t errlen)
{
	int fd = nw_sender_open_unconnected(dst->addr.ss_family, src, err, errlen);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)&dst->addr, dst->len) < 0) {
		snprintf(err, errlen, "--controller: cannot connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
