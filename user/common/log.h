/* SPDX-License-Identifier: MIT */
/* logfmt logger: one `ts=... level=... msg="..." k=v` line per event on a stream. */
#ifndef NW_LOG_H
#define NW_LOG_H

#include <stdio.h>

enum nw_log_level { NW_LOG_DEBUG = 0, NW_LOG_INFO, NW_LOG_WARN, NW_LOG_ERROR };

/* Passed by pointer instead of living in a global, so a library user (or a
 * test) can run two loggers side by side. */
struct nw_log {
	enum nw_log_level min_level;
	FILE *out; /* NULL means stderr */
};

/* `kv` is a printf format for the key=value tail ("hook=%s ifindex=%d"),
 * may be NULL. User-supplied strings go through nw_log_quote first. */
void nw_logf(const struct nw_log *log, enum nw_log_level level, const char *msg, const char *kv,
	     ...) __attribute__((format(printf, 4, 5)));

#define nw_debug(l, msg, ...) nw_logf((l), NW_LOG_DEBUG, (msg), __VA_ARGS__)
#define nw_info(l, msg, ...) nw_logf((l), NW_LOG_INFO, (msg), __VA_ARGS__)
#define nw_warn(l, msg, ...) nw_logf((l), NW_LOG_WARN, (msg), __VA_ARGS__)
#define nw_error(l, msg, ...) nw_logf((l), NW_LOG_ERROR, (msg), __VA_ARGS__)

/* Writes `s` as a logfmt value (quoted and escaped when it needs to be)
 * into buf; always NUL-terminates; returns buf. */
const char *nw_log_quote(char *buf, size_t size, const char *s);

/* Routes libbpf's own messages into the logger at debug level when
 * `verbose`, and silences them otherwise. libbpf's callback has no context
 * pointer, so the route always writes to stderr. */
void nw_log_route_libbpf(int verbose);

#endif
