/* SPDX-License-Identifier: MIT */
/*
 * Addresses given on the command line or in the environment: the one
 * definition of HOST[:PORT] syntax for every program (rack --listen,
 * --metrics and --dc, dc --listen and --metrics, the agent's --controller).
 *
 *   "1.2.3.4:80", "name:80", "name"      host, then an optional :PORT
 *   "[::1]:80", "[::1]"                  brackets around an IPv6 host
 *   "2001:db8::1"                        two or more colons without brackets:
 *                                        a bare IPv6 host, never host:port
 *
 * nw_hostport_split only cuts the text (no copy, no lookup, no judgement of
 * the host), so each caller keeps its own policy and wording on top of it;
 * nw_hostport_parse is the strict numeric ADDR:PORT built on it. Nothing
 * here resolves a name or allocates; all of it is re-entrant.
 */
#ifndef NW_HOSTPORT_H
#define NW_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A host name or literal of at most this many bytes minus one. */
#define NW_HOSTPORT_HOST_MAX 256

struct nw_hostport_parts {
	const char *host; /* into the split text, not terminated */
	size_t host_len;
	const char *port; /* after the ':', terminated; NULL when none is given */
	int bracketed;    /* the host was inside [ ] */
};

enum nw_hostport_split_result {
	NW_HOSTPORT_OK = 0,
	NW_HOSTPORT_UNCLOSED, /* '[' without ']': parts unset */
	NW_HOSTPORT_TRAILING, /* something other than ":PORT" after ']': host parts set */
};

/* Cuts `s` into host and port text; it judges neither. */
enum nw_hostport_split_result nw_hostport_split(const char *s, struct nw_hostport_parts *p);

/* Copies the host, terminated. 0; -1 when it is empty; -2 when it needs
 * more than `size` bytes. */
int nw_hostport_copy_host(const struct nw_hostport_parts *p, char *host, size_t size);

/* A decimal port 1..65535, nothing else (no sign, space or hex). 0 or -1. */
int nw_port_parse(const char *s, uint16_t *port);

/* An IPv4 or IPv6 literal, optionally in brackets ("::", "0.0.0.0",
 * "[::1]"), with `port` filled in. 0 or -1. */
int nw_addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);

/* Strict numeric "IPV4:PORT" or "[IPV6]:PORT", port 1..65535 (listening
 * and metrics addresses). 0 or -1. */
int nw_hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
