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
 */
#ifndef NW_HTTP_SERVER_H
#define NW_HTTP_SERVER_H

#include <stddef.h>
#include <sys/socket.h>

/* Where /metrics (and the DC's API) listen unless told otherwise. */
#define NW_HTTP_DEFAULT "0.0.0.0:8000"

#define NW_HTTP_CONN_LIMIT 64U
#define NW_HTTP_PER_IP_LIMIT 16U
#define NW_HTTP_TIMEOUT_S 10U
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
/* Milliseconds until MHD needs a run for its timeouts; -1: none. */
int nw_http_server_timeout_ms(const struct nw_http_server *s);
void nw_http_server_run(struct nw_http_server *s);
void nw_http_server_stop(struct nw_http_server *s);

/* `body` is copied when `copy`, else taken over (free()d by MHD). */
int nw_http_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
		  size_t len, int copy);
int nw_http_reply_text(struct MHD_Connection *c, unsigned status, const char *msg);
/* 200 with a malloc'ed JSON document (taken over); NULL: 500 out of memory. */
int nw_http_reply_json(struct MHD_Connection *c, char *doc);

#endif
