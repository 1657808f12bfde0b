/* SPDX-License-Identifier: MIT */
#include "endpoint.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int set_host(const char *h, size_t n, char *host, size_t hostlen, const char *s, char *err,
		    size_t errlen)
{
	if (n == 0) {
		snprintf(err, errlen, "--controller '%s': empty host", s);
		return -1;
	}
	if (n >= hostlen) {
		snprintf(err, errlen, "--controller: host longer than %zu characters", hostlen - 1);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

int nw_split_hostport(const char *s, uint16_t default_port, char *host, size_t hostlen,
		      uint16_t *port, char *err, size_t errlen)
{
	const char *colon;

	*port = default_port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			snprintf(err, errlen, "--controller '%s': missing ']'", s);
			return -1;
		}
		if (set_host(s + 1, (size_t)(close - s - 1), host, hostlen, s, err, errlen) < 0)
			return -1;
		if (close[1] == '\0')
			return 0;
		if (close[1] != ':' || parse_port(close + 2, port) < 0) {
			snprintf(err, errlen, "--controller '%s': want [IPV6]:PORT with PORT in 1..65535", s);
			return -1;
		}
		return 0;
	}
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':'))
		return set_host(s, strlen(s), host, hostlen, s, err, errlen); /* bare IPv6 */
	if (!colon)
		return set_host(s, strlen(s), host, hostlen, s, err, errlen);
	if (set_host(s, (size_t)(colon - s), host, hostlen, s, err, errlen) < 0)
		return -1;
	if (parse_port(colon + 1, port) < 0) {
		snprintf(err, errlen, "--controller '%s': port must be 1..65535", s);
		return -1;
	}
	return 0;
}

int nw_resolve(const char *host, uint16_t port, int family, struct nw_endpoint *ep, char *err,
	       size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char service[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "cannot resolve '%s'%s: %s", host,
			 family == AF_INET ? " as IPv4" : family == AF_INET6 ? " as IPv6" : "",
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
	ep->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
