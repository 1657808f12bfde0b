/* SPDX-License-Identifier: MIT */
/*
 * The rack controller's HTTP endpoint, on the generic libmicrohttpd server
 * of http_server.h (the daemon's own epoll loop: no thread, no lock). Add
 * nw_http_fd() to the loop, bound the wait with nw_http_timeout_ms() and
 * call nw_http_run() after every wake-up.
 *
 *   GET /metrics                         Prometheus text format 0.0.4
 *   GET /healthz                         200 "ok" when attached, else 503
 *   GET /api/v1/rack                     JSON: rack, hook, every server
 *   GET /api/v1/servers/<id>/spectrum    JSON: latest window's bins (404: unknown id)
 *   GET /api/v1/servers/<id>/delay       JSON: newest one-way delay points, skew fit, periods
 *   GET /, /ui/..., /api/v1/ui           the web UI (webui.h, docs/web-ui.md)
 * Anything else 404; methods other than GET and HEAD 405; request bodies 413.
 */
#ifndef NW_HTTP_H
#define NW_HTTP_H

#include <stdint.h>
#include <sys/socket.h>

#include "http_server.h"
#include "log.h"
#include "rack_view.h"

struct nw_http;
struct nw_analysis;

/* Strict decimal server id (no sign, no leading zero, <= UINT32_MAX). 0 or -1. */
int nw_http_parse_id(const char *s, size_t n, uint32_t *id);

/* Binds and listens; `view` must outlive the server. NULL on failure. */
struct nw_http *nw_http_start(const struct nw_log *log, const struct sockaddr *sa, socklen_t len,
			      const struct nw_rack_view *view);
/* Where /api/v1/servers/<id>/delay reads the series; `a` must outlive the
 * server. Unset: every series is empty. */
void nw_http_set_analysis(struct nw_http *h, const struct nw_analysis *a);
int nw_http_fd(const struct nw_http *h);
/* Milliseconds until MHD needs a run for its timeouts; -1: none. */
int nw_http_timeout_ms(const struct nw_http *h);
void nw_http_run(struct nw_http *h);
void nw_http_stop(struct nw_http *h);

#endif
