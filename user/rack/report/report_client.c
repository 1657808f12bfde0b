// SPDX-License-Identifier: MIT
#include "report_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hostport.h"

/* epoll data tags inside the client's own epoll. */
#define TAG_SOCK 1U
#define TAG_RESOLVE 2U
#define NW_DC_WARN_EVERY_NS (60ULL * 1000000000ULL)

/* getaddrinfo_a runs the lookup on a glibc helper thread and notifies us by
 * a second thread calling `resolved`, which only writes the eventfd: the
 * loop learns of the answer as one more readable fd. The job is owned by
 * glibc until that write has happened (see release_resolve). */
struct nw_report_resolve {
	struct gaicb cb;
	struct addrinfo hints;
	struct sigevent sev;
	char host[NW_DC_HOST_MAX];
	char port[8];
	int efd;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ address */

int nw_report_dc_parse(const char *dc, char host[NW_DC_HOST_MAX], uint16_t *port, const char **why)
{
	struct nw_hostport_parts p;
	enum nw_hostport_split_result cut;

	*port = NW_REPORT_DEFAULT_PORT;
	if (!dc || !*dc) {
		*why = "dc must be HOST[:PORT]";
		return -1;
	}
	cut = nw_hostport_split(dc, &p);
	if (cut == NW_HOSTPORT_UNCLOSED || (p.bracketed && p.host_len == 0)) {
		*why = "an IPv6 address needs its closing ]";
		return -1;
	}
	if (cut == NW_HOSTPORT_TRAILING) {
		*why = "only :PORT may follow ]";
		return -1;
	}
	if (nw_hostport_copy_host(&p, host, NW_DC_HOST_MAX)) {
		*why = "the host is empty or too long";
		return -1;
	}
	if (strchr(host, ':')) {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, host, &a6) != 1) {
			*why = "not an IPv6 address (HOST[:PORT], [IPv6]:PORT)";
			return -1;
		}
	} else if (p.bracketed || strchr(host, '[') || strchr(host, ']')) {
		*why = "brackets are only for an IPv6 address";
		return -1;
	}
	if (p.port && nw_port_parse(p.port, port)) {
		*why = "the port must be 1..65535";
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ backoff */

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64*: jitter needs spread, not secrecy. */
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

double nw_report_backoff_s(uint64_t *rng, unsigned attempt, double base, double cap)
{
	double hi = base, floor_s, u;

	for (unsigned i = 0; i < attempt && hi < cap; i++)
		hi *= 2;
	if (hi > cap)
		hi = cap;
	floor_s = (base < cap ? base : cap) / 10;
	u = (double)(next_rand(rng) >> 11) * 0x1.0p-53; /* [0, 1) */
	return floor_s + u * (hi - floor_s);
}

/* ------------------------------------------------------------ report */

/* NaN becomes `nan_to` (NAN keeps "not measured"); infinities clamp. */
static double clamp(double x, double lo, double hi, double nan_to)
{
	if (x != x)
		return nan_to;
	return x < lo ? lo : x > hi ? hi : x;
}

void nw_report_from_view(const struct nw_rack_view *v, struct nw_report *r,
			 struct nw_report_server *servers, uint32_t max)
{
	uint32_t n = 0;

	r->rack_id = v->rack_id;
	r->interval_s = v->interval_s;
	r->rack_score = clamp(v->rack_score, 0, 1, 0);
	r->servers = servers;
	r->paths = NULL;
	r->npaths = 0;
	r->authenticated = 0;
	for (uint32_t i = 0; i < v->count && n < max; i++) {
		const struct nw_server_view *e = &v->slots[v->order[i]];
		struct nw_report_server *s = &servers[n];

		if (!e->present)
			continue;
		/* Clamped into the ranges the DC accepts (report.h): a perfect
		 * tone's infinite SNR must not cost the whole report. */
		s->id = e->server_id;
		s->cls = e->health;
		s->error = e->analysed ? clamp(e->spectral_error, 0, 1, NAN) : NAN;
		s->snr_db = e->analysed ? clamp(e->snr_db, -NW_REPORT_SNR_LIMIT_DB,
						NW_REPORT_SNR_LIMIT_DB, NAN)
					: NAN;
		s->loss_ratio = clamp(e->loss_ratio, 0, 1, 0);
		s->jitter_s = clamp(e->jitter_s, 0, 3600, 0);
		s->up = e->up;
		/* The fault scope's evidence (docs/fabric.md section 6). */
		s->since_ns = e->since_ns;
		s->period_s = clamp(nw_view_period_s(e), 0, 1e6, NAN);
		n++;
	}
	r->nservers = n;
}

void nw_report_paths_from_view(const struct nw_rack_view *v, struct nw_report *r,
			       struct nw_report_path *paths, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < v->npaths && n < max; i++) {
		const struct nw_server_view *e = &v->slots[v->order[v->count + i]];
		struct nw_report_path *p = &paths[n];

		if (!e->present || !e->is_path)
			continue;
		p->src_rack = e->src_rack;
		p->cls = e->health;
		p->error = e->analysed      ? clamp(e->spectral_error, 0, 1, NAN)
			   : e->short_valid ? clamp(e->spectral_error_short, 0, 1, NAN)
					    : NAN;
		p->loss_ratio = clamp(e->loss_ratio, 0, 1, 0);
		p->latency_p50_s = clamp(e->latency_p50_s, 0, 3600, NAN);
		p->latency_p99_s = clamp(e->latency_p99_s, 0, 3600, NAN);
		p->period_s = clamp(nw_view_period_s(e), 0, 1e6, NAN);
		p->mesh_epoch = e->st.mesh_epoch & 0xFFFFU;
		p->since_ns = e->since_ns;
		n++;
	}
	r->paths = n ? paths : NULL;
	r->npaths = n;
}

/* ------------------------------------------------------------ socket */

static int set_interest(struct nw_report_client *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = TAG_SOCK };

	if (c->fd < 0 || events == c->fd_events)
		return 0;
	if (epoll_ctl(c->epfd, c->fd_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev))
		return -errno;
	c->fd_events = events;
	return 0;
}

/* EPOLLOUT only while something waits to be written. */
static void update_interest(struct nw_report_client *c)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;

	if (c->state == NW_DC_CONNECTING)
		ev = EPOLLOUT;
	else if (c->cur.len > c->cur_off)
		ev |= EPOLLOUT;
	set_interest(c, ev);
}

static void close_sock(struct nw_report_client *c)
{
	if (c->fd >= 0) {
		/* close() drops the registration with it. */
		close(c->fd);
		c->fd = -1;
	}
	c->fd_events = 0;
}

static void free_addrs(struct nw_report_client *c)
{
	if (c->addrs)
		freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
}

/* The partly written frame is lost with its connection: a new connection
 * must start on a frame boundary. A frame not started stays for the next. */
static void drop_partial(struct nw_report_client *c)
{
	struct nw_buf t;

	if (c->cur_off == 0)
		return;
	c->st.failed[NW_DC_FAIL_SEND_ERROR]++;
	c->cur_off = 0;
	t = c->cur;
	c->cur = c->next;
	c->next = t;
	nw_buf_reset(&c->next);
}

static void schedule_retry(struct nw_report_client *c)
{
	double d = nw_report_backoff_s(&c->rng, c->attempt, c->cfg.backoff_base_s,
				       c->cfg.backoff_cap_s);

	if (c->attempt < 64)
		c->attempt++;
	c->retry_at_ns = now_ns() + (uint64_t)(d * 1e9);
	c->state = NW_DC_DISCONNECTED;
	nw_debug(c->log, "dc: retrying later", "in_s=%.3f attempt=%u", d, c->attempt);
}

static void try_connect(struct nw_report_client *c);

/* Something ended the connection (or the attempt): the next address, or a
 * retry after the backoff. */
static void fail(struct nw_report_client *c, const char *what, int err)
{
	char q[NW_DC_HOST_MAX + 8], w[96], e[96];
	int was_connected = c->state == NW_DC_CONNECTED;

	close_sock(c);
	drop_partial(c);
	nw_log_quote(w, sizeof(w), what);
	nw_log_quote(e, sizeof(e), err ? strerror(err) : "none");
	if (!c->warned || now_ns() - c->last_warn_ns >= NW_DC_WARN_EVERY_NS) {
		/* Once per outage, or a minute: a DC away for an hour (or one that
		 * closes every connection) is not thousands of log lines. */
		nw_warn(c->log, "dc: no connection", "dc=%s port=%s what=%s err=%s",
			nw_log_quote(q, sizeof(q), c->host), c->port, w, e);
		c->warned = 1;
		c->last_warn_ns = now_ns();
	} else {
		nw_debug(c->log, "dc: attempt failed", "what=%s err=%s", w, e);
	}
	if (!was_connected && c->next_addr) {
		try_connect(c);
		return;
	}
	free_addrs(c);
	schedule_retry(c);
}

static void set_opt(int fd, int level, int name, int v)
{
	/* Best effort: a kernel without one of them still reports. */
	(void)setsockopt(fd, level, name, &v, sizeof(v));
}

static void connected(struct nw_report_client *c)
{
	char q[NW_DC_HOST_MAX + 8];

	free_addrs(c);
	c->state = NW_DC_CONNECTED;
	c->st.connects++;
	nw_info(c->log, "dc: connected", "dc=%s port=%s", nw_log_quote(q, sizeof(q), c->host),
		c->port);
}

static void flush(struct nw_report_client *c);

/* Tries c->next_addr, moving along the list. */
static void try_connect(struct nw_report_client *c)
{
	while (c->next_addr) {
		struct addrinfo *a = c->next_addr;
		int fd, err;

		c->next_addr = a->ai_next;
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd < 0) {
			err = errno;
			if (!c->next_addr) {
				fail(c, "socket", err);
				return;
			}
			continue;
		}
		set_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
		set_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, c->cfg.keepalive_idle_s);
		set_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, c->cfg.keepalive_intvl_s);
		set_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, c->cfg.keepalive_cnt);
		set_opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)c->cfg.user_timeout_ms);
		set_opt(fd, IPPROTO_TCP, TCP_NODELAY,
			1); /* one frame per interval: no need to wait */
		c->fd = fd;
		c->fd_events = 0;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			connected(c);
			update_interest(c);
			flush(c);
			return;
		}
		if (errno != EINPROGRESS) {
			fail(c, "connect", errno);
			return;
		}
		c->state = NW_DC_CONNECTING;
		c->connect_deadline_ns = now_ns() + (uint64_t)(c->cfg.connect_timeout_s * 1e9);
		if (set_interest(c, EPOLLOUT))
			fail(c, "epoll", errno);
		return;
	}
	fail(c, "no address", 0);
}

/* ------------------------------------------------------------ resolver */

static void resolved(union sigval sv)
{
	struct nw_report_resolve *j = sv.sival_ptr;
	uint64_t one = 1;

	/* The last thing that touches the job from this thread. */
	if (write(j->efd, &one, sizeof(one)) < 0) {
		/* Cannot fail on an eventfd below its maximum; nothing to do. */
	}
}

/* Frees a job whose notification has been delivered or will never be. */
static void free_resolve(struct nw_report_resolve *j)
{
	if (j->cb.ar_result)
		freeaddrinfo(j->cb.ar_result);
	close(j->efd);
	free(j);
}

/* At close, a lookup still running: cancel it, or wait a little for its
 * notification. A job whose thread may still write is left to it (a few
 * hundred bytes, once, at exit) rather than freed under its feet. */
static void release_resolve(struct nw_report_client *c)
{
	struct nw_report_resolve *j = c->resolve;
	struct pollfd p;
	int rc;

	if (!j)
		return;
	c->resolve = NULL;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, j->efd, NULL);
	rc = gai_cancel(&j->cb);
	if (rc == EAI_CANCELED) {
		free_resolve(j);
		return;
	}
	p = (struct pollfd){ .fd = j->efd, .events = POLLIN };
	if (poll(&p, 1, 200) == 1)
		free_resolve(j);
}

static void start_resolve(struct nw_report_client *c)
{
	struct nw_report_resolve *j = calloc(1, sizeof(*j));
	struct gaicb *list[1];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_RESOLVE };
	int rc;

	if (!j) {
		fail(c, "resolve", ENOMEM);
		return;
	}
	j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (j->efd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, j->efd, &ev)) {
		int err = errno;

		if (j->efd >= 0)
			close(j->efd);
		free(j);
		fail(c, "resolve", err);
		return;
	}
	memcpy(j->host, c->host, sizeof(j->host));
	memcpy(j->port, c->port, sizeof(j->port));
	j->hints.ai_socktype = SOCK_STREAM;
	j->hints.ai_protocol = IPPROTO_TCP;
	/* No AI_ADDRCONFIG: in a namespace with only loopback it would hide
	 * "localhost"; an unreachable family just fails over to the next address. */
	j->hints.ai_flags = AI_NUMERICSERV;
	j->cb.ar_name = j->host;
	j->cb.ar_service = j->port;
	j->cb.ar_request = &j->hints;
	j->sev.sigev_notify = SIGEV_THREAD;
	j->sev.sigev_notify_function = resolved;
	j->sev.sigev_value.sival_ptr = j;
	list[0] = &j->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &j->sev);
	if (rc) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, j->efd, NULL);
		close(j->efd);
		free(j);
		fail(c, gai_strerror(rc), 0);
		return;
	}
	c->resolve = j;
	c->state = NW_DC_DISCONNECTED; /* no socket yet */
	c->connect_deadline_ns = 0;
}

static void resolve_done(struct nw_report_client *c)
{
	struct nw_report_resolve *j = c->resolve;
	int rc;

	if (!j)
		return;
	rc = gai_error(&j->cb);
	if (rc == EAI_INPROGRESS)
		return; /* a stray wake-up: the notification has not come yet */
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, j->efd, NULL);
	c->resolve = NULL;
	if (rc) {
		free_resolve(j);
		fail(c, gai_strerror(rc), 0);
		return;
	}
	free_addrs(c);
	c->addrs = c->next_addr = j->cb.ar_result;
	j->cb.ar_result = NULL;
	free_resolve(j);
	try_connect(c);
}

static void start_attempt(struct nw_report_client *c)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	};
	int rc;

	free_addrs(c);
	if (!c->numeric) {
		start_resolve(c);
		return;
	}
	/* An IP literal never touches DNS: getaddrinfo returns at once. */
	rc = getaddrinfo(c->host, c->port, &hints, &c->addrs);
	if (rc) {
		c->addrs = NULL;
		fail(c, gai_strerror(rc), 0);
		return;
	}
	c->next_addr = c->addrs;
	try_connect(c);
}

/* ------------------------------------------------------------ sending */

static void flush(struct nw_report_client *c)
{
	while (c->state == NW_DC_CONNECTED && c->cur.len > c->cur_off) {
		ssize_t n = send(c->fd, c->cur.p + c->cur_off, c->cur.len - c->cur_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail(c, "send", errno);
			return;
		}
		c->cur_off += (size_t)n;
		if (c->cur_off == c->cur.len) {
			struct nw_buf t = c->cur;

			c->st.sent++;
			c->attempt = 0; /* this connection delivered: the backoff starts over */
			if (c->warned) {
				nw_info(c->log, "dc: reporting again", "sent=%llu",
					(unsigned long long)c->st.sent);
				c->warned = 0;
			}
			c->cur = c->next;
			c->next = t;
			nw_buf_reset(&c->next);
			c->cur_off = 0;
		}
	}
	if (c->state == NW_DC_CONNECTED)
		update_interest(c);
}

/* Where a new frame goes: the front when nothing of it is on the wire yet,
 * else behind the frame being written. Whatever it replaces is counted. */
static struct nw_buf *slot_for_new(struct nw_report_client *c)
{
	struct nw_buf *dst = c->cur_off == 0 ? &c->cur : &c->next;

	if (dst->len)
		c->st.failed[c->state == NW_DC_CONNECTED ? NW_DC_FAIL_REPLACED
							 : NW_DC_FAIL_NOT_CONNECTED]++;
	nw_buf_reset(dst);
	return dst;
}

void nw_report_client_submit_frame(struct nw_report_client *c, const void *frame, size_t len)
{
	struct nw_buf *dst = slot_for_new(c);

	nw_buf_put(dst, frame, len);
	if (dst->failed) {
		nw_buf_reset(dst);
		c->st.failed[NW_DC_FAIL_ENCODE]++;
		return;
	}
	flush(c);
}

void nw_report_client_submit(struct nw_report_client *c, const struct nw_report *r)
{
	struct nw_buf *dst = slot_for_new(c);

	if (nw_report_encode(r, c->keys, dst) || dst->failed) {
		nw_buf_reset(dst);
		c->st.failed[NW_DC_FAIL_ENCODE]++;
		return;
	}
	flush(c);
}

/* ------------------------------------------------------------ events */

static void on_socket(struct nw_report_client *c, uint32_t events)
{
	if (c->state == NW_DC_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			fail(c, "connect", err);
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		connected(c);
		update_interest(c);
		flush(c);
		return;
	}
	if (c->state != NW_DC_CONNECTED)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		char junk[64];
		ssize_t n;

		/* The DC never speaks. A byte from it is a protocol violation
		 * (an impostor, or a DC that is not one): the connection ends
		 * and the retry waits its backoff. Reading and dropping instead
		 * would let a peer that streams keep this loop busy forever.
		 * EOF or an error is its close. */
		do
			n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			/* Each violation backs off further, also when the
			 * connection delivered a report first. */
			c->st.protocol_errors++;
			if (c->strikes < 64)
				c->strikes++;
			if (c->attempt < c->strikes)
				c->attempt = c->strikes;
			fail(c, "the dc sent bytes (it never should)", EPROTO);
			return;
		}
		if (n == 0) {
			fail(c, "closed by the dc", 0);
			return;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fail(c, "receive", errno);
			return;
		}
	}
	if (events & EPOLLOUT)
		flush(c);
}

void nw_report_client_run(struct nw_report_client *c)
{
	struct epoll_event evs[4];
	uint64_t now;
	int n;

	if (c->epfd < 0)
		return;
	n = epoll_wait(c->epfd, evs, 4, 0);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u32 == TAG_RESOLVE) {
			uint64_t v;

			if (c->resolve && read(c->resolve->efd, &v, sizeof(v)) == sizeof(v))
				resolve_done(c);
		} else if (evs[i].data.u32 == TAG_SOCK && c->fd >= 0) {
			on_socket(c, evs[i].events);
		}
	}
	now = now_ns();
	if (c->state == NW_DC_CONNECTING && now >= c->connect_deadline_ns)
		fail(c, "connect", ETIMEDOUT);
	if (c->state == NW_DC_DISCONNECTED && !c->resolve && c->fd < 0 && now >= c->retry_at_ns)
		start_attempt(c);
}

int nw_report_client_timeout_ms(const struct nw_report_client *c)
{
	uint64_t at, now = now_ns();

	if (c->epfd < 0 || c->resolve)
		return -1;
	if (c->state == NW_DC_CONNECTING)
		at = c->connect_deadline_ns;
	else if (c->state == NW_DC_DISCONNECTED && c->fd < 0)
		at = c->retry_at_ns;
	else
		return -1;
	if (at <= now)
		return 0;
	/* Rounded up: waking a hair early would only spin once more. */
	return (int)((at - now + 999999) / 1000000);
}

void nw_report_client_status(const struct nw_report_client *c, struct nw_dc_status *out)
{
	*out = c->st;
	out->state = c->state;
}

int nw_report_client_fd(const struct nw_report_client *c)
{
	return c->epfd;
}

/* ------------------------------------------------------------ setup */

void nw_report_client_default_cfg(struct nw_report_client_cfg *cfg)
{
	*cfg = (struct nw_report_client_cfg){
		.backoff_base_s = 0.5,
		.backoff_cap_s = 30,
		.connect_timeout_s = 5,
		.keepalive_idle_s = 10,
		.keepalive_intvl_s = 5,
		.keepalive_cnt = 3,
		.user_timeout_ms = 25000,
		.seed = 0,
	};
}

int nw_report_client_init(struct nw_report_client *c, const struct nw_log *log,
			  const struct nw_report_client_cfg *cfg, const char *dc,
			  const struct nw_keys *keys)
{
	struct in6_addr a6;
	uint16_t port;
	const char *why;

	memset(c, 0, sizeof(*c));
	c->epfd = c->fd = -1;
	c->log = log;
	c->keys = keys && keys->present ? keys : NULL;
	if (cfg)
		c->cfg = *cfg;
	else
		nw_report_client_default_cfg(&c->cfg);
	if (nw_report_dc_parse(dc, c->host, &port, &why)) {
		nw_error(log, "dc: bad address", "why=\"%s\"", why);
		return -EINVAL;
	}
	snprintf(c->port, sizeof(c->port), "%u", port);
	c->numeric = inet_pton(AF_INET, c->host, &a6) == 1 ||
		     inet_pton(AF_INET6, c->host, &a6) == 1;
	c->rng = c->cfg.seed;
	if (!c->rng && getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != sizeof(c->rng))
		c->rng = now_ns() ^ (uint64_t)getpid() << 32;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	c->state = NW_DC_DISCONNECTED;
	c->retry_at_ns = 0; /* the first run connects */
	return 0;
}

void nw_report_client_close(struct nw_report_client *c)
{
	release_resolve(c);
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	close_sock(c);
	free_addrs(c);
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = -1;
	nw_buf_free(&c->cur);
	nw_buf_free(&c->next);
	c->cur_off = 0;
	if (c->state != NW_DC_DISABLED)
		c->state = NW_DC_DISCONNECTED;
}
