// SPDX-License-Identifier: MIT
#include "hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "argnum.h"

enum nw_hostport_split_result nw_hostport_split(const char *s, struct nw_hostport_parts *p)
{
	const char *colon;

	memset(p, 0, sizeof(*p));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return NW_HOSTPORT_UNCLOSED;
		p->bracketed = 1;
		p->host = s + 1;
		p->host_len = (size_t)(close - s - 1);
		if (close[1] == ':')
			p->port = close + 2;
		else if (close[1])
			return NW_HOSTPORT_TRAILING;
		return NW_HOSTPORT_OK;
	}
	p->host = s;
	colon = strchr(s, ':');
	/* No colon, or two and more: a bare IPv6 literal, whose last group is
	 * never a port. */
	if (!colon || strchr(colon + 1, ':')) {
		p->host_len = strlen(s);
		return NW_HOSTPORT_OK;
	}
	p->host_len = (size_t)(colon - s);
	p->port = colon + 1;
	return NW_HOSTPORT_OK;
}

int nw_hostport_copy_host(const struct nw_hostport_parts *p, char *host, size_t size)
{
	if (p->host_len == 0)
		return -1;
	if (p->host_len >= size)
		return -2;
	memcpy(host, p->host, p->host_len);
	host[p->host_len] = '\0';
	return 0;
}

int nw_port_parse(const char *s, uint16_t *port)
{
	uint64_t v;

	if (nw_parse_u64(s, 1, 65535, &v))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int nw_addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (n >= sizeof(buf))
		return -1;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, s, n + 1);
	}
	if (inet_pton(AF_INET, buf, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int nw_hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct nw_hostport_parts p;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (!s || nw_hostport_split(s, &p) != NW_HOSTPORT_OK || !p.port ||
	    nw_hostport_copy_host(&p, host, sizeof(host)) || nw_port_parse(p.port, &port) ||
	    nw_addr_parse(host, port, ss, len))
		return -1;
	/* An IPv6 address only in brackets (its colons would be ambiguous), an
	 * IPv4 one never. */
	return ss->ss_family == (p.bracketed ? AF_INET6 : AF_INET) ? 0 : -1;
}
