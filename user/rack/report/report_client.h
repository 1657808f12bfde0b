/* SPDX-License-Identifier: MIT */
/*
 * The rack controller's reporter: one TCP connection to the DC controller
 * (--dc HOST[:PORT]), driven from the daemon's own event loop, never
 * blocking it.
 *
 *   - The client owns an epoll fd (nw_report_client_fd) that the daemon adds
 *     to its loop once; the changing TCP socket and the resolver live inside
 *     it. After every wake-up the daemon calls nw_report_client_run, and
 *     bounds its wait by nw_report_client_timeout_ms.
 *   - Only the newest report is kept. A frame already partly written goes
 *     out whole first (frames are never cut or interleaved on the stream);
 *     behind it waits at most one frame, which a newer report replaces.
 *   - A failed connection is retried after an exponential backoff with
 *     full jitter (base .. cap); the backoff restarts once a connection has
 *     delivered a whole report.
 *   - HOST may be an IP literal (resolved in place) or a name, resolved
 *     with getaddrinfo_a at every connection attempt (a DNS answer may
 *     change: Kubernetes services, compose names), without blocking.
 *   - TCP keepalive and TCP_USER_TIMEOUT find a dead DC; the DC never sends,
 *     so readable-with-EOF is its close, and a byte from it ends the
 *     connection (counted in st.protocol_errors) with a backoff that grows
 *     with every such connection: a peer streaming bytes back costs one
 *     recv per connection, not a busy loop.
 *
 * docs/decisions.md ("Issue 4: rack reporter") gives the reasons.
 */
#ifndef NW_REPORT_CLIENT_H
#define NW_REPORT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <netdb.h>

#include "buf.h"
#include "hostport.h"
#include "keyfile.h"
#include "log.h"
#include "rack_view.h"
#include "report.h"

#define NW_DC_HOST_MAX NW_HOSTPORT_HOST_MAX

/* Splits --dc: "host", "host:port", "1.2.3.4[:port]", "[v6]", "[v6]:port"
 * or a bare IPv6 literal (more than one colon, no port), the syntax of
 * nw_hostport_split; colons and brackets only for an IPv6 literal. 0, or -1
 * with a static reason in *why. */
int nw_report_dc_parse(const char *dc, char host[NW_DC_HOST_MAX], uint16_t *port, const char **why);

struct nw_report_client_cfg {
	double backoff_base_s;    /* first retry within this (default 0.5) */
	double backoff_cap_s;     /* never longer than this (default 30) */
	double connect_timeout_s; /* a connect still pending after this fails (default 5) */
	int keepalive_idle_s;     /* default 10 */
	int keepalive_intvl_s;    /* default 5 */
	int keepalive_cnt;        /* default 3 */
	unsigned user_timeout_ms; /* unacknowledged data (default 25000) */
	uint64_t seed;            /* jitter; 0: from getrandom */
};
void nw_report_client_default_cfg(struct nw_report_client_cfg *cfg);

struct nw_report_resolve; /* an in-flight getaddrinfo_a */

struct nw_report_client {
	const struct nw_log *log;
	struct nw_report_client_cfg cfg;
	const struct nw_keys *keys; /* not owned; may be NULL */
	char host[NW_DC_HOST_MAX];
	char port[8];
	int numeric; /* host is an IP literal */

	int epfd;           /* the loop watches this one fd */
	int fd;             /* TCP socket, -1 */
	uint32_t fd_events; /* what fd is registered for (0: not registered) */
	enum nw_dc_state state;
	struct nw_report_resolve *resolve;
	struct addrinfo *addrs, *next_addr; /* being tried, in order */
	uint64_t retry_at_ns;               /* CLOCK_MONOTONIC; while DISCONNECTED */
	uint64_t connect_deadline_ns;
	unsigned attempt; /* failures since a report was last delivered */
	unsigned strikes; /* connections the DC sent bytes on: their backoff never resets */
	uint64_t rng;
	int warned; /* a failure has been logged since the last delivery */
	uint64_t last_warn_ns;

	struct nw_buf cur; /* being written (or waiting, when cur_off is 0) */
	size_t cur_off;
	struct nw_buf next; /* the newest frame, behind a partly written cur */

	struct nw_dc_status st;
};

/* `dc` as given to --dc. 0, or a negative errno (bad address, no memory,
 * no epoll). The first connection attempt starts at the first run. */
int nw_report_client_init(struct nw_report_client *c, const struct nw_log *log,
			  const struct nw_report_client_cfg *cfg, const char *dc,
			  const struct nw_keys *keys);
/* Closes the connection (no flush) and frees everything. Safe twice. */
void nw_report_client_close(struct nw_report_client *c);

int nw_report_client_fd(const struct nw_report_client *c);
/* The counters and the current state, for /metrics. */
void nw_report_client_status(const struct nw_report_client *c, struct nw_dc_status *out);
/* Milliseconds until the client needs a run without an event on its fd
 * (a retry or a connect deadline): 0 .., or -1 for none. */
int nw_report_client_timeout_ms(const struct nw_report_client *c);
/* Handles its events and timers; never blocks. */
void nw_report_client_run(struct nw_report_client *c);

/* Encodes `r` and queues it (newest only), then writes what it can. */
void nw_report_client_submit(struct nw_report_client *c, const struct nw_report *r);
/* The same with an already encoded frame (tests). */
void nw_report_client_submit_frame(struct nw_report_client *c, const void *frame, size_t len);

/* The delay before retry number `attempt` (0 is the first): uniform in
 * [floor, min(cap, base * 2^attempt)], floor = min(base, cap) / 10 so a
 * refused connection never spins. Advances *rng. Seconds. */
double nw_report_backoff_s(uint64_t *rng, unsigned attempt, double base, double cap);

/* Fills `r` from a finished view: present servers in id order, at most
 * `max` of them (their entries in `servers`). boot_ns, seq and time_ns are
 * the caller's. */
void nw_report_from_view(const struct nw_rack_view *v, struct nw_report *r,
			 struct nw_report_server *servers, uint32_t max);
/* Adds the view's inter-rack paths into this rack (docs/fabric.md), by
 * source rack, at most `max` (entries in `paths`); none: npaths 0. */
void nw_report_paths_from_view(const struct nw_rack_view *v, struct nw_report *r,
			       struct nw_report_path *paths, uint32_t max);

#endif
