/* SPDX-License-Identifier: MIT */
/* netwatch-chaos's agent backend: one {"impair": SPEC} datagram to an
 * agent's --control socket, and its {"ok": ...} answer. */
#ifndef NW_CHAOS_AGENT_H
#define NW_CHAOS_AGENT_H

#include <stddef.h>

#define NW_CHAOS_AGENT_TIMEOUT_MS 2000

/* The request datagram for SPEC (malloc'ed, NUL-terminated), or NULL. */
char *nw_chaos_agent_request(const char *spec);

/* Reads an answer: 0 for {"ok": true}; -1 with the agent's reason (or why
 * the answer is unreadable) in err. */
int nw_chaos_agent_answer(const char *buf, size_t len, char *err, size_t errlen);

/* Sends SPEC to the socket at path and waits up to timeout_ms for the
 * answer. The reply address is an autobound abstract name, which lives in
 * the caller's network namespace: call it from the agent's. 0; -2 when
 * nothing listens there (no such socket, connection refused); -1 else. */
int nw_chaos_agent_send(const char *path, const char *spec, int timeout_ms, char *err,
			size_t errlen);

#endif
