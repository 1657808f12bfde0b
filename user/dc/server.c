// SPDX-License-Identifier: MIT
/*
 * netwatch-dc's server: the common event loop (evloop.h) over the
 * signalfd, the listening socket, libmicrohttpd's epoll fd, every rack
 * connection, the sweep timer and the --duration deadline. Nothing blocks:
 * sockets are non-blocking, reads per wake-up are bounded so one fast peer
 * cannot starve the others, and timeouts are enforced by a sweep every
 * DC_SWEEP_MS.
 *
 * Overload (docs/dc.md): every read carries the kernel's receive timestamp
 * (SO_TIMESTAMPING), so a report's age counts from its arrival; of the
 * frames one read brings only the newest is parsed (the rest are shed);
 * the sweep peeks at the connections of racks about to turn stale, and
 * unread data there keeps them fresh. Lag, shed reports and an
 * `overloaded` flag say the DC is behind instead of racks reading stale.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "dc.h"
#include "dc_conn.h"
#include "dc_metrics.h"
#include "dc_fabric.h"
#include "dc_state.h"
#include "evloop.h"
#include "http_server.h"
#include "webui.h"

#define DC_SWEEP_MS 100
#define DC_SCOPE_INTERVAL_NS 1000000000ULL /* the scope's interval: 1 s */
#define DC_MAX_ERRORS 3U                   /* bad reports before a connection is closed */
#define DC_READ_CHUNK (64U << 10)
#define DC_READS_PER_WAKE 4 /* 256 KiB per connection per wake-up */
#define DC_ACCEPTS_PER_WAKE 256
#define DC_KEEPIDLE_S 10
#define DC_KEEPINTVL_S 5
#define DC_KEEPCNT 3
/* A connection without an accepted report is evictable (when every slot is
 * taken) once it is this old: a rack sends its first report at once. */
#define DC_EVICT_GRACE_NS 1000000000ULL
/* Overloaded: a report processed this long after it arrived (or shed after
 * waiting this long beyond its rack's interval), or a rack kept fresh only
 * by unread data, within the last DC_OVERLOAD_HOLD_NS. */
#define DC_OVERLOAD_LAG_S 1.0
#define DC_OVERLOAD_HOLD_NS 5000000000ULL
#define DC_LAG_WINDOW_SWEEPS 10 /* the lag gauge: max over 1 s */
#define NO_SLOT UINT32_MAX

enum { TAG_SIGNAL = 1, TAG_LISTEN, TAG_HTTP, TAG_SWEEP, TAG_DEADLINE, TAG_CONN = 16 };

struct dc_srv {
	const struct nw_log *log;
	const struct dc_opts *o;
	struct nw_evloop loop;
	int lfd, spare;
	struct nw_http_server *http;
	struct dc_conn **slots;
	uint32_t *free_slots, nfree;
	uint64_t next_id;
	struct dc_budget budget;
	struct dc_state state;
	struct dc_view view;
	struct nw_buf page;
	uint8_t *scratch;
	uint32_t unproven_head, unproven_tail; /* oldest first */
	double lag_window_s;                   /* max lag of this window's reports */
	unsigned lag_sweeps;
	uint64_t overload_seen_ns; /* last evidence of overload; 0 none */
	uint64_t next_sweep_ns;
	struct nw_scope_state scope; /* fault scope, moved on once a second */
	struct dc_mesh mesh;         /* --fabric-mesh; n == 0: off */
	uint64_t next_scope_ns;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* ------------------------------------------------------------ HTTP */

static void refresh_view(struct dc_srv *s)
{
	s->view.buffered_bytes = s->budget.used;
}

struct api_args {
	struct dc_api_query q;
	const char *why; /* the first bad parameter's complaint */
};

static enum MHD_Result api_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct api_args *a = cls;

	(void)kind;
	if (dc_api_query_set(&a->q, key, value, &a->why))
		return MHD_NO;
	return MHD_YES;
}

/* GET /racks/<id>/: the web UI's way to a server's spectrum is the rack
 * controller's own page (docs/web-ui.md): 302 to the address the rack's
 * reports come from, at the default HTTP port; the browser keeps the
 * fragment (#/rack/R/server/S) across the redirect. 404 for a rack with no
 * open connection. */
static int rack_ui_redirect(struct dc_srv *s, struct MHD_Connection *c, const char *rest)
{
	const char *port = strrchr(NW_HTTP_DEFAULT, ':') + 1;
	const struct dc_rack *r;
	uint64_t id = 0;
	size_t n = 0;
	char loc[128];

	for (; rest[n] >= '0' && rest[n] <= '9' && n < 10; n++)
		id = id * 10 + (uint64_t)(rest[n] - '0');
	if (!n || (n > 1 && rest[0] == '0') || id > UINT32_MAX ||
	    (rest[n] && strcmp(rest + n, "/")))
		return nw_http_reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	r = dc_state_find(&s->state, (uint32_t)id);
	for (uint32_t slot = 0; r && r->owner && slot < s->o->max_conns; slot++) {
		const struct dc_conn *k = s->slots[slot];
		const char *colon;

		if (!k || k->id != r->owner || !(colon = strrchr(k->peer, ':')))
			continue;
		snprintf(loc, sizeof(loc), "http://%.*s:%s/", (int)(colon - k->peer), k->peer,
			 port);
		return nw_webui_redirect(c, loc);
	}
	return nw_http_reply_text(c, MHD_HTTP_NOT_FOUND, "rack not connected\n");
}

static int http_handle(void *ctx, struct MHD_Connection *c, const char *url)
{
	static const char racks_prefix[] = "/racks/";
	struct dc_srv *s = ctx;
	int ret;

	refresh_view(s);
	if (nw_webui_handle(c, url, "{\"tier\":\"dc\"}", &ret))
		return ret;
	if (!strncmp(url, racks_prefix, sizeof(racks_prefix) - 1))
		return rack_ui_redirect(s, c, url + sizeof(racks_prefix) - 1);
	if (!strcmp(url, "/metrics")) {
		nw_buf_reset(&s->page);
		if (dc_metrics_render(&s->view, mono_ns(), &s->page))
			return nw_http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
						  "out of memory\n");
		/* The HTTP server's own counters (the slowloris guard). */
		nw_http_server_guard_metrics(s->http, &s->page,
					     "netwatch_dc_http_connections_cut_total", "dc_id",
					     s->view.dc_id);
		if (s->page.failed)
			return nw_http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
						  "out of memory\n");
		return nw_http_reply(c, MHD_HTTP_OK, NW_HTTP_PROM, s->page.p, s->page.len, 1);
	}
	if (!strcmp(url, "/healthz"))
		return nw_http_reply_text(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/api/v1/dc")) {
		struct api_args a = { .why = NULL };

		dc_api_query_default(&a.q);
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, api_arg, &a);
		if (a.why)
			return nw_http_reply_text(c, MHD_HTTP_BAD_REQUEST, a.why);
		return nw_http_reply_json(c, dc_api_json(&s->view, &a.q, mono_ns()));
	}
	return nw_http_reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ------------------------------------------------------------ connections */

/* ------------------------------------------------------------ unproven */

/* Connections that have not had a report accepted, oldest first: when every
 * slot is taken, the oldest of them makes room (docs/security.md). */
static void unproven_push(struct dc_srv *s, struct dc_conn *c)
{
	c->unproven_prev = s->unproven_tail;
	c->unproven_next = NO_SLOT;
	if (s->unproven_tail != NO_SLOT)
		s->slots[s->unproven_tail]->unproven_next = c->slot;
	else
		s->unproven_head = c->slot;
	s->unproven_tail = c->slot;
}

static void unproven_remove(struct dc_srv *s, struct dc_conn *c)
{
	if (c->unproven_prev != NO_SLOT)
		s->slots[c->unproven_prev]->unproven_next = c->unproven_next;
	else
		s->unproven_head = c->unproven_next;
	if (c->unproven_next != NO_SLOT)
		s->slots[c->unproven_next]->unproven_prev = c->unproven_prev;
	else
		s->unproven_tail = c->unproven_prev;
	c->unproven_prev = c->unproven_next = NO_SLOT;
}

static void conn_close(struct dc_srv *s, uint32_t slot)
{
	struct dc_conn *c = s->slots[slot];

	if (!c)
		return;
	if (c->rack == DC_NO_RACK)
		unproven_remove(s, c);
	if (c->rack != DC_NO_RACK)
		nw_info(s->log, "rack disconnected", "rack=%u peer=%s", c->rack, c->peer);
	nw_evloop_del_fd(&s->loop, c->fd);
	close(c->fd);
	dc_state_release(&s->state, c->rack, c->id);
	dc_conn_clear(c, &s->budget);
	free(c);
	s->slots[slot] = NULL;
	s->free_slots[s->nfree++] = slot;
	s->view.conns_open--;
}

static void conn_reject(struct dc_srv *s, uint32_t slot, enum dc_conn_reject why)
{
	nw_debug(s->log, "closing connection", "peer=%s reason=%s", s->slots[slot]->peer,
		 dc_conn_reject_name(why));
	s->view.conn_rejected[why]++;
	conn_close(s, slot);
}

/* A bad report: counted (by the caller), logged at warn once per
 * connection so a hostile peer cannot flood the log, then at debug. */
static void bad_report(struct dc_srv *s, struct dc_conn *c, enum nw_report_reject why)
{
	c->errors++;
	if (!c->logged) {
		c->logged = 1;
		nw_warn(s->log,
			"refused a report (further ones from this connection at debug level)",
			"peer=%s reason=%s", c->peer, nw_report_reject_name(why));
	} else {
		nw_debug(s->log, "refused a report", "peer=%s reason=%s", c->peer,
			 nw_report_reject_name(why));
	}
}

/* The rack's previous connection, superseded by an authenticated newer
 * report on `by`: a scan, since takeovers are rare (a rack reconnecting
 * while its old connection is half-open). */
static void close_by_id(struct dc_srv *s, uint64_t id, const struct dc_conn *by)
{
	for (uint32_t slot = 0; slot < s->o->max_conns; slot++)
		if (s->slots[slot] && s->slots[slot]->id == id) {
			nw_info(s->log, "rack took over by a new connection: closing the old one",
				"rack=%u old_peer=%s peer=%s", by->rack, s->slots[slot]->peer,
				by->peer);
			conn_close(s, slot);
			return;
		}
}

static int on_frame(void *ctx, struct dc_conn *c, const uint8_t *frame, size_t len)
{
	struct dc_srv *s = ctx;
	const struct nw_keys *keys = &s->o->keys;
	enum nw_report_reject why;
	struct nw_report r;
	uint32_t before = c->rack;
	uint64_t evicted = 0;

	uint64_t now;
	double lag;

	if (s->o->debug_delay_s > 0) {
		/* --debug-report-delay: a slower core, for the overload test */
		struct timespec d = { .tv_sec = (time_t)s->o->debug_delay_s,
				      .tv_nsec = (long)(fmod(s->o->debug_delay_s, 1.0) * 1e9) };

		nanosleep(&d, NULL);
	}
	why = nw_report_parse(frame, len, keys, &r);
	now = mono_ns();
	lag = now > c->arrival_ns ? (double)(now - c->arrival_ns) / 1e9 : 0.0;
	if (lag > s->lag_window_s)
		s->lag_window_s = lag;
	if (lag > DC_OVERLOAD_LAG_S)
		s->overload_seen_ns = now;
	if (why == NW_REJ_OK) {
		uint64_t wall = clock_ns(CLOCK_REALTIME);

		/* before the offer: the rows refused never count in the
		 * DC's bound on stored rows */
		if (s->mesh.n)
			s->view.path_rows_rejected += dc_mesh_admit(&s->mesh, &r, wall);
		why = dc_state_offer_at(&s->state, &r, c->id, &c->rack, wall, now, c->arrival_ns,
					&evicted);
		nw_report_free(&r);
	} else {
		dc_state_count_reject(&s->state, why);
	}
	if (why == NW_REJ_OK) {
		if (before == DC_NO_RACK) {
			unproven_remove(s, c);
			nw_info(s->log, "rack connected", "rack=%u peer=%s authenticated=%d",
				c->rack, c->peer, keys->present);
		}
		if (evicted)
			close_by_id(s, evicted, c);
		return 0;
	}
	bad_report(s, c, why);
	return c->errors >= DC_MAX_ERRORS ? -1 : 0;
}

/* CLOCK_MONOTONIC of the kernel's receive timestamp in `msg` (the newest
 * segment read), or `now` without one. */
static uint64_t arrival_of(struct msghdr *msg, uint64_t now)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPING) {
			struct scm_timestamping ts;
			uint64_t real, wall = clock_ns(CLOCK_REALTIME);

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			real = (uint64_t)ts.ts[0].tv_sec * 1000000000ULL +
			       (uint64_t)ts.ts[0].tv_nsec;
			if (!real || real >= wall)
				return now;
			return wall - real < now ? now - (wall - real) : now;
		}
	}
	return now;
}

/* recv() that also says when the bytes arrived. */
static ssize_t recv_stamped(int fd, void *buf, size_t len, int flags, uint64_t *arrival)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct scm_timestamping))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t n = recvmsg(fd, &msg, flags | MSG_DONTWAIT);

	if (n > 0)
		*arrival = arrival_of(&msg, mono_ns());
	return n;
}

static void conn_read(struct dc_srv *s, uint32_t slot)
{
	struct dc_conn *c = s->slots[slot];

	for (int round = 0; round < DC_READS_PER_WAKE; round++) {
		enum nw_report_reject why = NW_REJ_OK;
		ssize_t n = recv_stamped(c->fd, s->scratch, DC_READ_CHUNK, 0, &c->arrival_ns);
		uint64_t shed = 0;
		enum dc_feed_result fed;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* The peer left (or reset) inside a frame: a truncated report. */
			if (dc_conn_in_frame(c)) {
				dc_state_count_reject(&s->state, NW_REJ_TRUNCATED);
				bad_report(s, c, NW_REJ_TRUNCATED);
			}
			conn_close(s, slot);
			return;
		}
		uint64_t prev_read = c->last_rx_ns;

		dc_state_heard(&s->state, c->rack, c->id, c->arrival_ns);
		fed = dc_conn_feed(c, &s->budget, s->scratch, (size_t)n, mono_ns(), on_frame, s,
				   &why, &shed);
		if (shed) {
			/* The shed reports waited since this connection was last read,
			 * less the rack's interval between two reports: how far behind
			 * the loop is, which the newest report's own wait (at most one
			 * interval) understates. Two reports in one read from a rack
			 * that sent them in a burst are no sign of overload. */
			const struct dc_rack *r = dc_state_find(&s->state, c->rack);
			uint64_t now = mono_ns();
			double lag = now > prev_read ? (double)(now - prev_read) / 1e9 : 0.0;

			lag -= r && r->have ? r->last.interval_s : 0.0;
			if (lag > s->lag_window_s)
				s->lag_window_s = lag;
			if (lag > DC_OVERLOAD_LAG_S)
				s->overload_seen_ns = now;
			s->view.shed += shed;
		}
		switch (fed) {
		case DC_FEED_OK:
			break;
		case DC_FEED_FRAMING:
			/* Past a bad header the stream cannot be resynchronised. */
			dc_state_count_reject(&s->state, why);
			bad_report(s, c, why);
			conn_reject(s, slot, DC_CONN_ERRORS);
			return;
		case DC_FEED_MEMORY:
			nw_warn(s->log, "frame buffer budget exhausted: closing a connection",
				"peer=%s budget=%zu", c->peer, s->budget.max);
			conn_reject(s, slot, DC_CONN_MEMORY);
			return;
		case DC_FEED_STOP:
			conn_reject(s, slot, DC_CONN_ERRORS);
			return;
		}
		if ((size_t)n < DC_READ_CHUNK)
			return;
	}
}

static void peer_name(char *out, size_t size, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &v6->sin6_addr, a, sizeof(a));
		snprintf(out, size, "[%s]:%u", a, ntohs(v6->sin6_port));
	} else {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &v4->sin_addr, a, sizeof(a));
		snprintf(out, size, "%s:%u", a, ntohs(v4->sin_port));
	}
}

/* A dead peer behind a silent network is found by keepalive even when
 * the idle timeout is long. */
static void keepalive(int fd)
{
	int on = 1, idle = DC_KEEPIDLE_S, intvl = DC_KEEPINTVL_S, cnt = DC_KEEPCNT;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* The kernel's receive time on every read: ages count from arrival. */
static void rx_timestamps(int fd)
{
	int ts = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof(ts));
}

/* Every slot taken: the oldest connection that has never had a report
 * accepted and is past its grace makes room. 0 if one did. */
static int evict_unproven(struct dc_srv *s)
{
	uint32_t slot = s->unproven_head;

	if (slot == NO_SLOT || mono_ns() - s->slots[slot]->opened_ns < DC_EVICT_GRACE_NS)
		return -1;
	conn_reject(s, slot, DC_CONN_EVICTED);
	return 0;
}

/* Out of descriptors, the pending connection would keep the listening
 * socket readable forever: the spare descriptor makes room to take it and
 * shut it. */
static void shed_one(struct dc_srv *s)
{
	int fd;

	if (s->spare >= 0) {
		close(s->spare);
		s->spare = -1;
	}
	fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		s->view.conns_accepted++;
		s->view.conn_rejected[DC_CONN_LIMIT]++;
	}
	s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void accept_all(struct dc_srv *s)
{
	for (int i = 0; i < DC_ACCEPTS_PER_WAKE; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct dc_conn *c;
		uint32_t slot;
		int fd;

		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				nw_debug(s->log, "out of descriptors: shedding a connection",
					 "errno=%d", errno);
				shed_one(s);
				continue;
			}
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			nw_warn(s->log, "accept failed", "err=%s", strerror(errno));
			return;
		}
		s->view.conns_accepted++;
		if (!s->nfree && evict_unproven(s)) {
			close(fd);
			s->view.conn_rejected[DC_CONN_LIMIT]++;
			continue;
		}
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			s->view.conn_rejected[DC_CONN_MEMORY]++;
			continue;
		}
		slot = s->free_slots[--s->nfree];
		dc_conn_init(c, fd, ++s->next_id, mono_ns());
		c->slot = slot;
		peer_name(c->peer, sizeof(c->peer), &ss);
		keepalive(fd);
		rx_timestamps(fd);
		if (nw_evloop_add_fd(&s->loop, fd, TAG_CONN + (uint64_t)slot)) {
			close(fd);
			free(c);
			s->free_slots[s->nfree++] = slot;
			continue;
		}
		s->slots[slot] = c;
		unproven_push(s, c);
		s->view.conns_open++;
		nw_debug(s->log, "connection", "peer=%s open=%llu", c->peer,
			 (unsigned long long)s->view.conns_open);
	}
}

/* Idle and slow connections; the slow one also counts a truncated report,
 * since a frame was begun and never finished. */
/* A rack about to turn stale whose connection holds unread bytes is not
 * silent, the DC is behind: the newest segment's arrival keeps it fresh. */
static int peek_behind(struct dc_srv *s, struct dc_conn *c, uint64_t now)
{
	const struct dc_rack *r = dc_state_find(&s->state, c->rack);
	uint64_t arrival = 0;
	uint8_t byte;
	double age;

	if (!r || !r->have || (age = dc_rack_age_s(r, now)) < s->o->stale_s / 2)
		return 0;
	if (recv_stamped(c->fd, &byte, 1, MSG_PEEK, &arrival) <= 0)
		return 0;
	dc_state_heard(&s->state, c->rack, c->id, arrival);
	/* behind only if it would have read stale: a report that came in since
	 * this turn began is no sign of overload */
	return age > s->o->stale_s && dc_rack_age_s(r, now) <= s->o->stale_s;
}

/* One scope interval (docs/fabric.md section 6) over the racks' newest
 * reports. Out of memory: this interval is skipped, the faults stay. */
static void scope_tick(struct dc_srv *s, uint64_t now)
{
	struct dc_fabric f;
	struct nw_scope_snapshot snap;
	struct nw_scope_entity *ents = NULL;
	uint32_t *racks = NULL;

	s->next_scope_ns = now + DC_SCOPE_INTERVAL_NS;
	if (dc_fabric_build(&f, &s->state, now))
		return;
	if (!dc_fabric_snapshot(&f, &s->state, now, clock_ns(CLOCK_REALTIME), &ents, &racks,
				&snap) &&
	    nw_scope_update(&s->scope, &snap))
		nw_warn(s->log, "fault scope: out of memory, interval skipped", NULL);
	free(ents);
	free(racks);
	dc_fabric_free(&f);
}

static void sweep(struct dc_srv *s, uint64_t now)
{
	uint64_t frame_ns = (uint64_t)(s->o->frame_timeout_s * 1e9);
	uint64_t idle_ns = (uint64_t)(s->o->idle_timeout_s * 1e9);
	uint64_t behind = 0;

	for (uint32_t slot = 0; slot < s->o->max_conns; slot++) {
		struct dc_conn *c = s->slots[slot];

		if (!c)
			continue;
		if (c->rack != DC_NO_RACK && peek_behind(s, c, now))
			behind++;
		if (c->frame_start_ns && now - c->frame_start_ns > frame_ns) {
			dc_state_count_reject(&s->state, NW_REJ_TRUNCATED);
			bad_report(s, c, NW_REJ_TRUNCATED);
			conn_reject(s, slot, DC_CONN_SLOW);
		} else if (!c->frame_start_ns && now - c->last_rx_ns > idle_ns) {
			conn_reject(s, slot, DC_CONN_IDLE);
		}
	}
	s->next_sweep_ns = now + DC_SWEEP_MS * 1000000ULL;
	s->view.racks_behind = behind;
	if (behind)
		s->overload_seen_ns = now;
	s->view.forgotten += dc_state_forget(&s->state, now);
	if (++s->lag_sweeps >= DC_LAG_WINDOW_SWEEPS) {
		s->view.lag_s = s->lag_window_s;
		s->lag_window_s = 0;
		s->lag_sweeps = 0;
	}
	s->view.overloaded = s->overload_seen_ns && now - s->overload_seen_ns < DC_OVERLOAD_HOLD_NS;
	if (now >= s->next_scope_ns)
		scope_tick(s, now);
}

/* ------------------------------------------------------------ setup */

static int listen_on(const struct nw_log *log, const struct dc_opts *o)
{
	const struct sockaddr *sa = (const struct sockaddr *)&o->listen_addr;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, sa, o->listen_len) || listen(fd, 1024)) {
		nw_error(log, "cannot listen", "listen=%s err=%s", o->listen, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int setup(struct dc_srv *s)
{
	struct dc_cfg cfg = {
		.racks_expected = s->o->racks,
		.first_rack = s->o->first_rack,
		.max_racks = s->o->max_racks,
		.stale_s = s->o->stale_s,
		.max_skew_s = s->o->max_skew_s,
		.forget_s = s->o->forget_s,
		.max_servers_total = DC_MAX_SERVERS_TOTAL,
	};

	if (dc_state_init(&s->state, &cfg))
		return -1;
	s->view.dc_id = s->o->dc_id;
	s->view.state = &s->state;
	s->view.auth_required = s->o->keys.present;
	s->view.rack_detail_max = s->o->rack_detail_max;
	s->view.scope = &s->scope;
	s->view.pair_series_max = s->o->fabric_pair_series_max;
	{
		struct nw_scope_cfg sc;

		nw_scope_cfg_default(&sc);
		sc.hold = s->o->scope_hold;
		sc.hold_path = s->o->scope_hold_path;
		sc.clear = s->o->scope_clear;
		sc.theta_rack = s->o->scope_theta_rack;
		sc.theta_path_bg = s->o->scope_theta_path_bg;
		sc.theta_dc = s->o->scope_theta_dc;
		sc.share_s = s->o->scope_share_s;
		nw_scope_init(&s->scope, &sc);
	}
	if (s->o->fabric_mesh) {
		struct nw_fabric_peers p;
		char err[160];
		int rc;

		if (nw_fabric_peers_load(s->o->fabric_mesh, &p, err, sizeof(err))) {
			nw_error(s->log, "cannot load --fabric-mesh", "file=%s err=%s",
				 s->o->fabric_mesh, err);
			return -1;
		}
		rc = dc_mesh_init(&s->mesh, &p);
		nw_fabric_peers_free(&p);
		if (rc)
			return -1;
	}
	s->budget.max = s->o->max_buffer;
	s->slots = calloc(s->o->max_conns, sizeof(*s->slots));
	s->free_slots = calloc(s->o->max_conns, sizeof(*s->free_slots));
	s->scratch = malloc(DC_READ_CHUNK);
	if (!s->slots || !s->free_slots || !s->scratch)
		return -1;
	/* Lowest slot first: sweeps and tests see a predictable order. */
	for (uint32_t i = 0; i < s->o->max_conns; i++)
		s->free_slots[i] = s->o->max_conns - 1 - i;
	s->nfree = s->o->max_conns;
	s->unproven_head = s->unproven_tail = NO_SLOT;
	s->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nw_evloop_init(&s->loop))
		return -1;
	s->lfd = listen_on(s->log, s->o);
	if (s->lfd < 0 || nw_evloop_add_fd(&s->loop, s->lfd, TAG_LISTEN))
		return -1;
	if (s->o->metrics) {
		s->http = nw_http_server_start((const struct sockaddr *)&s->o->metrics_addr,
					       s->o->metrics_len, http_handle, s);
		if (!s->http) {
			nw_error(s->log, "cannot serve HTTP", "metrics=%s", s->o->metrics);
			return -1;
		}
		if (nw_evloop_add_fd(&s->loop, nw_http_server_fd(s->http), TAG_HTTP))
			return -1;
	}
	if (nw_evloop_add_timer(&s->loop, DC_SWEEP_MS / 1e3, DC_SWEEP_MS / 1e3, TAG_SWEEP))
		return -1;
	if (s->o->duration_s > 0 &&
	    nw_evloop_add_timer(&s->loop, s->o->duration_s, 0, TAG_DEADLINE))
		return -1;
	return 0;
}

static void teardown(struct dc_srv *s)
{
	for (uint32_t slot = 0; s->slots && slot < s->o->max_conns; slot++)
		conn_close(s, slot);
	nw_http_server_stop(s->http);
	if (s->lfd >= 0)
		close(s->lfd);
	nw_evloop_close(&s->loop);
	if (s->spare >= 0)
		close(s->spare);
	dc_state_free(&s->state);
	nw_scope_free(&s->scope);
	dc_mesh_free(&s->mesh);
	nw_buf_free(&s->page);
	free(s->slots);
	free(s->free_slots);
	free(s->scratch);
}

int dc_run(const struct nw_log *log, const struct dc_opts *o, int sfd)
{
	struct dc_srv s = { .log = log, .o = o, .loop = { .epfd = -1 }, .lfd = -1, .spare = -1 };
	int rc = 0;

	if (setup(&s) || nw_evloop_add_signals(&s.loop, sfd, TAG_SIGNAL)) {
		nw_error(log, "cannot start", "err=%s", strerror(errno));
		teardown(&s);
		return 1;
	}
	nw_info(log, "listening for rack reports",
		"listen=%s metrics=%s racks=%u stale_s=%g max_conns=%u", o->listen,
		o->metrics ? o->metrics : "off", o->racks, o->stale_s, o->max_conns);
	if (!o->keys.present)
		nw_warn(log,
			"reports are not authenticated: anyone who reaches --listen can report any rack (use --key-file)",
			NULL);

	for (;;) {
		struct nw_event evs[NW_EVLOOP_BATCH];
		int timeout = s.http ? nw_http_server_timeout_ms(s.http) : -1, n;
		int sweep_due = 0, deadline = 0;

		n = nw_evloop_wait(&s.loop, evs, NW_EVLOOP_BATCH, timeout);
		if (n < 0) {
			nw_error(log, "epoll_wait failed", "err=%s", strerror(-n));
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].tag;

			if (tag == TAG_SIGNAL) {
				nw_info(log, "stopping", "signal=%u", evs[i].signo);
				goto out;
			} else if (tag == TAG_LISTEN) {
				accept_all(&s);
			} else if (tag == TAG_SWEEP) {
				sweep_due = 1;
			} else if (tag == TAG_DEADLINE) {
				deadline = 1;
			} else if (tag == TAG_HTTP) {
				/* run below */
			} else if (tag >= TAG_CONN && tag - TAG_CONN < o->max_conns &&
				   s.slots[tag - TAG_CONN]) {
				conn_read(&s, (uint32_t)(tag - TAG_CONN));
				/* A slow batch must not postpone the sweep (its peeks keep
				 * racks whose reports wait unread fresh). */
				if (mono_ns() >= s.next_sweep_ns)
					sweep(&s, mono_ns());
			}
		}
		if (s.http)
			nw_http_server_run(s.http);
		if (sweep_due && mono_ns() >= s.next_sweep_ns)
			sweep(&s, mono_ns());
		if (deadline) {
			nw_info(log, "duration reached", NULL);
			break;
		}
	}
out:
	teardown(&s);
	return rc;
}
