// SPDX-License-Identifier: MIT
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "metrics.h"
#include "parse.h"

struct nw_http {
	struct MHD_Daemon *d;
	const struct nw_log *log;
	const struct nw_rack_view *view;
	struct nw_buf buf; /* /metrics, reused between scrapes */
	int fd;
};

int nw_http_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon, *port_s;
	uint64_t port;
	size_t n;

	if (!s)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (!end || end[1] != ':')
			return -1;
		n = (size_t)(end - s - 1);
		port_s = end + 2;
		if (n == 0 || n >= sizeof(host))
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -1;
		if (nw_parse_u64(port_s, 1, 65535, &port))
			return -1;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon || strchr(s, ':') != colon)
		return -1;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	{
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1 ||
		    nw_parse_u64(colon + 1, 1, 65535, &port))
			return -1;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
	}
	return 0;
}

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

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len, int copy)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (!r) {
		if (!copy)
			free((void *)body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return reply(c, status, TEXT, msg, strlen(msg), 1);
}

static enum MHD_Result json_reply(struct MHD_Connection *c, char *doc)
{
	if (!doc)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, JSON, doc, strlen(doc), 0);
}

static enum MHD_Result spectrum(struct nw_http *h, struct MHD_Connection *c, const char *rest)
{
	static const char suffix[] = "/spectrum";
	const char *slash = strchr(rest, '/');
	const struct nw_server_view *e;
	uint32_t id;

	if (!slash || strcmp(slash, suffix) || nw_http_parse_id(rest, (size_t)(slash - rest), &id))
		return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	e = nw_rack_view_find(h->view, id);
	if (!e)
		return text(c, MHD_HTTP_NOT_FOUND, "unknown server\n");
	return json_reply(c, nw_api_spectrum_json(h->view, e));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static const char servers_prefix[] = "/api/v1/servers/";
	struct nw_http *h = cls;
	(void)version;
	(void)upload_data;

	/* No request has a body here: answer before MHD reads one. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (*upload_data_size ||
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	    (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
	     strcmp(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_CONTENT_LENGTH), "0")))
		return text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request bodies are not accepted\n");
	(void)con_cls;

	if (!strcmp(url, "/metrics")) {
		nw_buf_reset(&h->buf);
		if (nw_metrics_render(h->view, &h->buf))
			return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", h->buf.p,
			     h->buf.len, 1);
	}
	if (!strcmp(url, "/healthz"))
		return h->view->attached ? text(c, MHD_HTTP_OK, "ok\n") :
					   text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not attached\n");
	if (!strcmp(url, "/api/v1/rack"))
		return json_reply(c, nw_api_rack_json(h->view));
	if (!strncmp(url, servers_prefix, sizeof(servers_prefix) - 1))
		return spectrum(h, c, url + sizeof(servers_prefix) - 1);
	return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

struct nw_http *nw_http_start(const struct nw_log *log, const struct sockaddr *sa, socklen_t len,
			      const struct nw_rack_view *view)
{
	struct nw_http *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	(void)len;

	if (!h)
		return NULL;
	h->log = log;
	h->view = view;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)NW_HTTP_CONN_LIMIT,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)NW_HTTP_PER_IP_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)NW_HTTP_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)NW_HTTP_CONN_MEMORY,
				MHD_OPTION_END);
	if (!h->d) {
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		MHD_stop_daemon(h->d);
		free(h);
		return NULL;
	}
	h->fd = info->epoll_fd;
	return h;
}

int nw_http_fd(const struct nw_http *h)
{
	return h->fd;
}

int nw_http_timeout_ms(const struct nw_http *h)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(h->d, &t) != MHD_YES)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}

void nw_http_run(struct nw_http *h)
{
	MHD_run(h->d);
}

void nw_http_stop(struct nw_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	nw_buf_free(&h->buf);
	free(h);
}
