// SPDX-License-Identifier: MIT
#include "http_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "prom.h"

/* One open connection as the slowloris guard sees it: since when it has
 * owed us a whole request (its accept, or the end of its last answer). */
struct conn_slot {
	int used;
	int fd;
	int cut; /* shut down by the guard; MHD closes it on its next run */
	uint64_t since_ns;
};

struct nw_http_server {
	struct MHD_Daemon *d;
	nw_http_handler handler;
	void *ctx;
	int fd;
	struct conn_slot conns[NW_HTTP_CONN_HARD];
	struct nw_http_guard_stats stats;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* shutdown(), not close(): the fd stays MHD's, which sees EOF, closes the
 * connection and tells us (NOTIFY_CLOSED) on its next run. */
static void cut(struct conn_slot *k)
{
	if (!k->cut) {
		shutdown(k->fd, SHUT_RDWR);
		k->cut = 1;
	}
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct nw_http_server *s = cls;
	struct conn_slot *k = *socket_context, *free_slot = NULL, *oldest = NULL;
	const union MHD_ConnectionInfo *info;
	unsigned live = 0;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (k)
			k->used = 0;
		*socket_context = NULL;
		return;
	}
	for (unsigned i = 0; i < NW_HTTP_CONN_HARD; i++) {
		struct conn_slot *o = &s->conns[i];

		if (!o->used) {
			free_slot = free_slot ? free_slot : o;
			continue;
		}
		if (o->cut)
			continue;
		live++;
		if (!oldest || o->since_ns < oldest->since_ns)
			oldest = o;
	}
	/* Full: the connection that has owed a request the longest makes room.
	 * A scraper sends its request at once and is answered in
	 * milliseconds; only a client that dribbles or idles can be oldest. */
	if (live >= NW_HTTP_CONN_LIMIT && oldest) {
		cut(oldest);
		s->stats.evicted++;
	}
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!free_slot || !info) {
		/* Cannot happen with MHD's own limit at NW_HTTP_CONN_HARD. */
		*socket_context = NULL;
		return;
	}
	*free_slot = (struct conn_slot){ .used = 1, .fd = info->connect_fd, .since_ns = mono_ns() };
	*socket_context = free_slot;
}

/* A request answered (or abandoned): the connection owes the next one from now. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo
		*info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	(void)cls;
	(void)con_cls;
	(void)toe;

	if (info && info->socket_context)
		((struct conn_slot *)info->socket_context)->since_ns = mono_ns();
}

/* Every connection that has owed a whole request for NW_HTTP_REQUEST_S is
 * cut, however steadily it dribbles bytes (MHD's own timeout only sees
 * idleness). */
static void sweep(struct nw_http_server *s)
{
	const uint64_t limit = (uint64_t)NW_HTTP_REQUEST_S * 1000000000ULL;
	uint64_t now = mono_ns();

	for (unsigned i = 0; i < NW_HTTP_CONN_HARD; i++) {
		struct conn_slot *k = &s->conns[i];

		if (k->used && !k->cut && now - k->since_ns >= limit) {
			cut(k);
			s->stats.expired++;
		}
	}
}

/* Milliseconds until sweep() has something to cut; -1: nothing open. */
static int sweep_due_ms(const struct nw_http_server *s)
{
	const uint64_t limit = (uint64_t)NW_HTTP_REQUEST_S * 1000000000ULL;
	uint64_t now = mono_ns(), next = UINT64_MAX;

	for (unsigned i = 0; i < NW_HTTP_CONN_HARD; i++) {
		const struct conn_slot *k = &s->conns[i];

		if (k->used && !k->cut && k->since_ns + limit < next)
			next = k->since_ns + limit;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

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
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)NW_HTTP_CONN_HARD,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
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
	int guard = sweep_due_ms(s), mhd = -1;

	if (MHD_get_timeout(s->d, &t) == MHD_YES)
		mhd = t > 60000 ? 60000 : (int)t;
	if (guard < 0)
		return mhd;
	return mhd < 0 || guard < mhd ? guard : mhd;
}

void nw_http_server_run(struct nw_http_server *s)
{
	sweep(s);
	MHD_run(s->d);
}

void nw_http_server_guard_stats(const struct nw_http_server *s, struct nw_http_guard_stats *out)
{
	*out = s->stats;
}

void nw_http_server_guard_metrics(const struct nw_http_server *s, struct nw_buf *b,
				  const char *family, const char *key, const char *value)
{
	struct nw_buf lab = { 0 };

	nw_buf_printf(&lab, "%s=\"", key);
	nw_prom_label_value(&lab, value);
	nw_buf_printf(&lab, "\"");
	if (lab.failed) {
		b->failed = 1;
		nw_buf_free(&lab);
		return;
	}
	nw_prom_family(b, family, "counter",
		       "HTTP connections cut by the slowloris guard, by reason: evicted (the oldest "
		       "unfinished request, to make room) or expired (no whole request within "
		       "the deadline)");
	nw_prom_sample_u64(b, family, lab.p, ",reason=\"evicted\"", s->stats.evicted);
	nw_prom_sample_u64(b, family, lab.p, ",reason=\"expired\"", s->stats.expired);
	nw_buf_free(&lab);
}

void nw_http_server_stop(struct nw_http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
