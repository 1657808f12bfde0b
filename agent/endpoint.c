/* SPDX-License-Identifier: MIT */
#include "endpoint.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"

int nw_split_hostport(const char *s, uint16_t default_port, char *host, size_t hostlen,
		      uint16_t *port, char *err, size_t errlen)
{
	struct nw_hostport_parts p;
	enum nw_hostport_split_result cut = nw_hostport_split(s, &p);

	*port = default_port;
	if (cut == NW_HOSTPORT_UNCLOSED) {
		snprintf(err, errlen, "--controller '%s': missing ']'", s);
		return -1;
	}
	switch (nw_hostport_copy_host(&p, host, hostlen)) {
	case -1:
		snprintf(err, errlen, "--controller '%s': empty host", s);
		return -1;
	case -2:
		snprintf(err, errlen, "--controller: host longer than %zu characters", hostlen - 1);
		return -1;
	}
	if (cut == NW_HOSTPORT_TRAILING || (p.port && nw_port_parse(p.port, port) < 0)) {
		if (p.bracketed)
			snprintf(err, errlen,
				 "--controller '%s': want [IPV6]:PORT with PORT in 1..65535", s);
		else
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
			 family == AF_INET    ? " as IPv4"
			 : family == AF_INET6 ? " as IPv6"
					      : "",
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
	ep->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
