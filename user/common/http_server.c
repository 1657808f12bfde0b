// SPDX-License-Identifier: MIT
#include "http_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct nw_http_server {
	struct MHD_Daemon *d;
	nw_http_handler handler;
	void *ctx;
	int fd;
};

int nw_http_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
		  size_t len, int copy)
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

int nw_http_reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return nw_http_reply(c, status, NW_HTTP_TEXT, msg, strlen(msg), 1);
}

int nw_http_reply_json(struct MHD_Connection *c, char *doc)
{
	if (!doc)
		return nw_http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return nw_http_reply(c, MHD_HTTP_OK, NW_HTTP_JSON, doc, strlen(doc), 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct nw_http_server *s = cls;
	const char *cl;
	(void)version;
	(void)upload_data;
	(void)con_cls;

	/* No request has a body here: answer before MHD reads one. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return (enum MHD_Result)nw_http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
							   "method not allowed\n");
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (*upload_data_size ||
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	    (cl && strcmp(cl, "0")))
		return (enum MHD_Result)nw_http_reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
							   "request bodies are not accepted\n");
	return (enum MHD_Result)s->handler(s->ctx, c, url);
}

struct nw_http_server *nw_http_server_start(const struct sockaddr *sa, socklen_t len,
					    nw_http_handler handler, void *ctx)
{
	struct nw_http_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	(void)len;

	if (!s)
		return NULL;
	s->handler = handler;
	s->ctx = ctx;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)NW_HTTP_CONN_LIMIT,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)NW_HTTP_PER_IP_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)NW_HTTP_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)NW_HTTP_CONN_MEMORY,
				MHD_OPTION_END);
	if (!s->d) {
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		MHD_stop_daemon(s->d);
		free(s);
		return NULL;
	}
	s->fd = info->epoll_fd;
	return s;
}

int nw_http_server_fd(const struct nw_http_server *s)
{
	return s->fd;
}

int nw_http_server_timeout_ms(const struct nw_http_server *s)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(s->d, &t) != MHD_YES)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}

void nw_http_server_run(struct nw_http_server *s)
{
	MHD_run(s->d);
}

void nw_http_server_stop(struct nw_http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
