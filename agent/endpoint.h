/* SPDX-License-Identifier: MIT */
/* Where samples go (and come from): HOST[:PORT] parsing and resolution. */
#ifndef NW_AGENT_ENDPOINT_H
#define NW_AGENT_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hostport.h"

#define NW_HOST_MAX NW_HOSTPORT_HOST_MAX

/*
 * Splits "1.2.3.4:9999", "[::1]:9999", "[::1]", bare "::1", "host" or
 * "host:port" into host and port (default_port when absent): the syntax of
 * nw_hostport_split (hostport.h), with --controller's error lines. The host
 * is not judged here: getaddrinfo does that ("[fe80::1%lo]" is fine).
 */
int nw_split_hostport(const char *s, uint16_t default_port, char *host, size_t hostlen,
		      uint16_t *port, char *err, size_t errlen);

struct nw_endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
};

/* getaddrinfo for a UDP destination or source; port 0 for a source. family
 * AF_UNSPEC, or the controller's family when resolving --source. */
int nw_resolve(const char *host, uint16_t port, int family, struct nw_endpoint *ep, char *err,
	       size_t errlen);

#endif /* NW_AGENT_ENDPOINT_H */
