/* SPDX-License-Identifier: MIT */
/*
 * The agent's run-time control channel (--control PATH): a unix datagram
 * socket, one JSON object per datagram, {"impair": "SPEC"} replacing the
 * impairment (SPEC as --impair; "" clears it) or, with --fabric,
 * {"fabric_peers": "FILE"} replacing the peers. Each datagram is answered with
 * {"ok":true} or {"ok":false,"error":"..."} to the sender's address when it
 * bound one. The socket is non-blocking and drained a bounded number of
 * datagrams at a time, so a chatty or hostile peer never delays a tick.
 */
#ifndef NW_AGENT_CONTROL_H
#define NW_AGENT_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "impair.h"

#define NW_CONTROL_MAX_DGRAM 1024      /* a request is a few dozen bytes */
#define NW_CONTROL_BATCH 16            /* datagrams handled per poll */
#define NW_CONTROL_POLL_NS 10000000ULL /* polled at most every 10 ms */

/* Applies a new impairment; 0, or -1 with a reason in err (nothing changed). */
typedef int (*nw_control_apply_fn)(void *ctx, const struct nw_impair *imp, char *err,
				   size_t errlen);

/* --fabric: {"fabric_peers": "FILE"} replaces the peers (run.h). */
typedef int (*nw_control_peers_fn)(void *ctx, const char *path, char *err, size_t errlen);

struct nw_control {
	int fd;
	nw_control_peers_fn peers; /* NULL: a fabric_peers request is refused */
	char path[108];
	uint64_t accepted; /* requests applied */
	uint64_t rejected; /* malformed, oversized or refused by apply */
};

/* Binds PATH (a stale socket left by a killed agent is replaced; one another
 * process still answers on is not). 0, or -1 with a reason in err. */
int nw_control_open(struct nw_control *c, const char *path, char *err, size_t errlen);

/* Parses one request strictly: an object with exactly the key "impair" whose
 * value is a string. 0 and *imp filled, or -1 with a reason in err. */
int nw_control_parse(const char *buf, size_t len, struct nw_impair *imp, char *err, size_t errlen);

/* A fabric_peers request: exactly the key "fabric_peers", a non-empty path
 * string of < 4096 bytes. 1 and the path in `path`; 0 when the request is
 * not one (then it is nw_control_parse's); -1 with a reason in err. */
int nw_control_parse_peers(const char *buf, size_t len, char *path, size_t pathlen, char *err,
			   size_t errlen);

/* Handles up to NW_CONTROL_BATCH waiting datagrams without blocking. Returns
 * how many were handled. */
int nw_control_poll(struct nw_control *c, nw_control_apply_fn apply, void *ctx);

/* Closes the socket and removes its file. */
void nw_control_close(struct nw_control *c);

#endif /* NW_AGENT_CONTROL_H */
