/* SPDX-License-Identifier: MIT */
/* Listening and peer addresses given on the command line or in the environment. */
#ifndef NW_HOSTPORT_H
#define NW_HOSTPORT_H

#include <sys/socket.h>

/* "ADDR:PORT" with an IPv4 address or a bracketed IPv6 one ("[::1]:8000"),
 * port 1..65535. 0 or -1. */
int nw_hostport_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
