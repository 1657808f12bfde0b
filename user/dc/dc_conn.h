/* SPDX-License-Identifier: MIT */
/*
 * One rack's TCP connection to the DC, as a frame reassembler that never
 * trusts the peer: bytes are fed in as they arrive, whole frames come out
 * through a callback. The buffer grows only as bytes actually arrive, up
 * to the length the header claims (nw_report_frame_header bounds it), and
 * every byte of capacity beyond a small per-connection allowance
 * (DC_CONN_FREE_BYTES: a typical rack's report fits) is charged to a budget
 * shared by all connections, so a thousand peers each announcing a 4 MiB
 * frame cannot make the DC allocate 4 GiB: the connection that would
 * overdraw the budget is closed. Memory for frames is therefore at most
 * max_conns * DC_CONN_FREE_BYTES + budget.
 * Sockets and timers stay with the caller (user/dc/).
 */
#ifndef NW_DC_CONN_H
#define NW_DC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define DC_BUFFER_BUDGET_DEFAULT (64U << 20)
#define DC_CONN_FREE_BYTES (16U << 10) /* per connection, not charged to the budget */
/* A buffer above this is freed after its frame: none, so between frames a
 * connection holds no buffer at all (10,000 idle racks: no 45 MB of them). */
#define DC_CONN_KEEP_BYTES 0U
#define DC_PEER_LEN 64

/* Why the DC closed a connection itself:
 * netwatch_dc_connections_rejected_total{reason}. */
enum dc_conn_reject {
	DC_CONN_LIMIT = 0, /* over --max-conns: accepted and closed at once */
	DC_CONN_IDLE,      /* no byte for --idle-timeout */
	DC_CONN_SLOW,      /* a frame not complete within --frame-timeout */
	DC_CONN_MEMORY,    /* its frame would overdraw the buffer budget */
	DC_CONN_ERRORS,    /* a framing error, or too many bad reports */
	DC_CONN_EVICTED,   /* all slots taken: the oldest connection that never had a
			    * report accepted made room for a new one */
	DC_CONN__COUNT,
};

/* "limit", "idle", "slow", "memory", "errors", "evicted". */
const char *dc_conn_reject_name(enum dc_conn_reject r);

struct dc_budget {
	size_t used, max; /* charged bytes of frame buffers over all connections */
};

struct dc_conn {
	int fd;
	uint64_t id;     /* unique for the process' life, never 0 */
	uint32_t rack;   /* the rack it reports (DC_NO_RACK until a report is accepted) */
	unsigned errors; /* bad reports so far */
	int logged;      /* a bad report has been logged at warn level */
	char peer[DC_PEER_LEN];
	uint64_t last_rx_ns; /* CLOCK_MONOTONIC of the last byte */
	uint64_t arrival_ns; /* CLOCK_MONOTONIC the kernel received the bytes being fed */
	uint64_t opened_ns;
	uint32_t slot;
	uint32_t unproven_prev, unproven_next; /* the server's list of connections
						* without an accepted report */
	uint64_t frame_start_ns; /* of the current frame's first byte; 0: between frames */
	uint8_t hdr[NW_REPORT_HDR_LEN];
	size_t hdr_have;
	size_t frame_len; /* 0 until the header is complete */
	uint8_t *buf;     /* the whole frame, header included */
	size_t have, cap;
};

/* Called per complete frame; returns 0 to go on, -1 to stop (the caller
 * will close the connection). */
typedef int (*dc_frame_fn)(void *ctx, struct dc_conn *c, const uint8_t *frame, size_t len);

enum dc_feed_result {
	DC_FEED_OK = 0,
	DC_FEED_FRAMING, /* *why: NW_REJ_BAD_FRAME or NW_REJ_TOO_LARGE; the stream is lost */
	DC_FEED_MEMORY,  /* the budget would be overdrawn */
	DC_FEED_STOP,    /* the callback asked to stop */
};

void dc_conn_init(struct dc_conn *c, int fd, uint64_t id, uint64_t now_ns);
/* Frees the buffer and gives its bytes back to the budget. */
void dc_conn_clear(struct dc_conn *c, struct dc_budget *b);
/* Between frames nothing is pending; otherwise a close is a truncation. */
int dc_conn_in_frame(const struct dc_conn *c);

/* Feeds `n` bytes. On a connection that reports a rack, a complete frame
 * followed, in these same bytes, by another complete frame is not handed to
 * `fn` but counted in *shed: the DC is behind that rack and only its newest
 * report matters (oldest shed first, newest kept; docs/dc.md "Overload").
 * A connection that has not had a report accepted gets every frame read,
 * so its bad reports count and close it as ever. */
enum dc_feed_result dc_conn_feed(struct dc_conn *c, struct dc_budget *b, const uint8_t *p, size_t n,
				 uint64_t now_ns, dc_frame_fn fn, void *ctx,
				 enum nw_report_reject *why, uint64_t *shed);

#endif
