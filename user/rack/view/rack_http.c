// SPDX-License-Identifier: MIT
#include "rack_http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "api_json.h"
#include "webui.h"
#include "rack_metrics.h"
#include "argnum.h"

struct nw_http {
	struct nw_http_server *s;
	const struct nw_log *log;
	const struct nw_rack_view *view;
	const struct nw_analysis *analysis; /* the delay series; NULL: none */
	struct nw_buf buf;                  /* /metrics, reused between scrapes */
	char ui_tier[64];                   /* /api/v1/ui */
};

int nw_http_parse_id(const char *s, size_t n, uint32_t *id)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

static int text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return nw_http_reply_text(c, status, msg);
}

/* /api/v1/servers/<id>/spectrum and /api/v1/servers/<id>/delay */
static int server_doc(struct nw_http *h, struct MHD_Connection *c, const char *rest)
{
	const char *slash = strchr(rest, '/');
	const struct nw_server_view *e;
	uint32_t id;

	if (!slash || (strcmp(slash, "/spectrum") && strcmp(slash, "/delay")) ||
	    nw_http_parse_id(rest, (size_t)(slash - rest), &id))
		return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	e = nw_rack_view_find(h->view, id);
	if (!e)
		return text(c, MHD_HTTP_NOT_FOUND, "unknown server\n");
	if (!strcmp(slash, "/delay"))
		return nw_http_reply_json(c,
					  nw_api_delay_json(h->view, e,
							    nw_analysis_server(h->analysis, e->slot,
									       e->server_id)));
	return nw_http_reply_json(c, nw_api_spectrum_json(h->view, e));
}

static int handle(void *ctx, struct MHD_Connection *c, const char *url)
{
	static const char servers_prefix[] = "/api/v1/servers/";
	struct nw_http *h = ctx;
	int ret;

	if (nw_webui_handle(c, url, h->ui_tier, &ret))
		return ret;
	if (!strcmp(url, "/metrics")) {
		nw_buf_reset(&h->buf);
		char id[16];

		snprintf(id, sizeof(id), "%u", h->view->rack_id);
		if (nw_metrics_render(h->view, &h->buf))
			return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		/* The HTTP server's own counters: only it knows them. */
		nw_http_server_guard_metrics(h->s, &h->buf,
					     "netwatch_rack_http_connections_cut_total", "rack_id",
					     id);
		if (h->buf.failed)
			return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return nw_http_reply(c, MHD_HTTP_OK, NW_HTTP_PROM, h->buf.p, h->buf.len, 1);
	}
	if (!strcmp(url, "/healthz"))
		return h->view->attached ? text(c, MHD_HTTP_OK, "ok\n")
					 : text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not attached\n");
	if (!strcmp(url, "/api/v1/rack"))
		return nw_http_reply_json(c, nw_api_rack_json(h->view));
	if (!strncmp(url, servers_prefix, sizeof(servers_prefix) - 1))
		return server_doc(h, c, url + sizeof(servers_prefix) - 1);
	return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

struct nw_http *nw_http_start(const struct nw_log *log, const struct sockaddr *sa, socklen_t len,
			      const struct nw_rack_view *view)
{
	struct nw_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->log = log;
	h->view = view;
	snprintf(h->ui_tier, sizeof(h->ui_tier), "{\"tier\":\"rack\",\"rack_id\":%u}",
		 view->rack_id);
	h->s = nw_http_server_start(sa, len, handle, h);
	if (!h->s) {
		free(h);
		return NULL;
	}
	return h;
}

void nw_http_set_analysis(struct nw_http *h, const struct nw_analysis *a)
{
	h->analysis = a;
}

int nw_http_fd(const struct nw_http *h)
{
	return nw_http_server_fd(h->s);
}

int nw_http_timeout_ms(const struct nw_http *h)
{
	return nw_http_server_timeout_ms(h->s);
}

void nw_http_run(struct nw_http *h)
{
	nw_http_server_run(h->s);
}

void nw_http_stop(struct nw_http *h)
{
	if (!h)
		return;
	nw_http_server_stop(h->s);
	nw_buf_free(&h->buf);
	free(h);
}
