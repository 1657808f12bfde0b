/* SPDX-License-Identifier: MIT */
/*
 * The agent's one-line errors on stderr. Error text quotes what the user
 * (or a control datagram) supplied, and that may hold any byte: a newline
 * would forge a second log line, an escape sequence would rewrite the
 * terminal. Every byte outside printable ASCII is written as \xHH and a
 * backslash as \\, so the line stays one line and says what was given.
 */
#ifndef NW_ERRLINE_H
#define NW_ERRLINE_H

#include <stddef.h>
#include <stdio.h>

/* `in` escaped into out (always NUL-terminated, cut short rather than
 * overflowing, never in the middle of an escape); returns out. */
const char *nw_errline_escape(char *out, size_t size, const char *in);

/* "netwatch-agent: <msg escaped>\n" on f. */
void nw_errline_print(FILE *f, const char *msg);

#endif
