/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd run from a daemon's own epoll loop (MHD_USE_EPOLL, no
 * thread, no lock): add nw_http_server_fd() to the loop, bound the wait with
 * nw_http_server_timeout_ms() and call nw_http_server_run() after every
 * wake-up. The rack controller (http.c) and the DC controller share it.
 *
 * Every request gets the same hostile-client treatment before the handler
 * sees it: methods other than GET and HEAD are 405 (with Allow), request
 * bodies 413. Limits: NW_HTTP_CONN_LIMIT connections, NW_HTTP_PER_IP_LIMIT
 * per client address, NW_HTTP_TIMEOUT_S idle, NW_HTTP_CONN_MEMORY each.
 *
 * Slowloris guard (docs/security.md): idleness is not the only way to hold
 * a connection, one header byte every few seconds never goes idle. So a
 * connection gets NW_HTTP_REQUEST_S from its accept (or from the end of its
 * last answer) to send a whole request and be answered, or it is cut; and
 * when NW_HTTP_CONN_LIMIT connections are open, a new one cuts the one that
 * has owed a request the longest. A scraper's connection is never that one
 * for more than the milliseconds its request takes, so Prometheus keeps
 * scraping while the slots are held by slow clients from any number of
 * addresses. MHD's own limit is NW_HTTP_CONN_HARD, the headroom that lets
 * a new connection in while the cut ones close.
 */
#ifndef NW_HTTP_SERVER_H
#define NW_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Where /metrics (and the DC's API) listen unless told otherwise. */
#define NW_HTTP_DEFAULT "0.0.0.0:8000"

#define NW_HTTP_CONN_LIMIT 64U
#define NW_HTTP_CONN_HARD (NW_HTTP_CONN_LIMIT + 32U)
#define NW_HTTP_PER_IP_LIMIT 16U
#define NW_HTTP_TIMEOUT_S 10U
#define NW_HTTP_REQUEST_S 10U /* a whole request and its answer, dribbled or not */
#define NW_HTTP_CONN_MEMORY (32U * 1024U)

#define NW_HTTP_TEXT "text/plain; charset=utf-8"
#define NW_HTTP_JSON "application/json"
#define NW_HTTP_PROM "text/plain; version=0.0.4; charset=utf-8"

struct nw_http_server;
struct MHD_Connection;

/* Answers one GET/HEAD request for `url` with one of the nw_http_reply*
 * calls below and returns what it returned. */
typedef int (*nw_http_handler)(void *ctx, struct MHD_Connection *c, const char *url);

/* Binds and listens; `ctx` must outlive the server. NULL on failure. */
struct nw_http_server *nw_http_server_start(const struct sockaddr *sa, socklen_t len,
					    nw_http_handler handler, void *ctx);
int nw_http_server_fd(const struct nw_http_server *s);
/* Milliseconds until MHD or the guard needs a run for a timeout; -1: none. */
int nw_http_server_timeout_ms(const struct nw_http_server *s);
void nw_http_server_run(struct nw_http_server *s);

/* What the slowloris guard did: connections cut to make room for a new
 * one, and connections cut for owing a request NW_HTTP_REQUEST_S. */
struct nw_http_guard_stats {
	uint64_t evicted;
	uint64_t expired;
};
void nw_http_server_guard_stats(const struct nw_http_server *s, struct nw_http_guard_stats *out);

struct nw_buf;
/* The guard's counters as one Prometheus counter family `family` with
 * label key="value" (value escaped here) and reason="evicted"|"expired",
 * appended to a /metrics page (the rack's and the DC's). */
void nw_http_server_guard_metrics(const struct nw_http_server *s, struct nw_buf *b,
				  const char *family, const char *key, const char *value);
void nw_http_server_stop(struct nw_http_server *s);

/* `body` is copied when `copy`, else taken over (free()d by MHD). */
int nw_http_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
		  size_t len, int copy);
int nw_http_reply_text(struct MHD_Connection *c, unsigned status, const char *msg);
/* 200 with a malloc'ed JSON document (taken over); NULL: 500 out of memory. */
int nw_http_reply_json(struct MHD_Connection *c, char *doc);

#endif
