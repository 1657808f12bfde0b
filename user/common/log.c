// SPDX-License-Identifier: MIT
#include "log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static int needs_quotes(const char *s)
{
	if (!*s)
		return 1;
	for (; *s; s++)
		if (*s <= ' ' || *s == '"' || *s == '=' || *s == '\\' || *s == 0x7f)
			return 1;
	return 0;
}

const char *nw_log_quote(char *buf, size_t size, const char *s)
{
	size_t o = 0;

	if (!size)
		return buf;
	if (!s)
		s = "";
	if (!needs_quotes(s)) {
		snprintf(buf, size, "%s", s);
		return buf;
	}
#define PUT(c)                                \
	do {                                  \
		if (o + 1 < size)             \
			buf[o++] = (char)(c); \
	} while (0)
	PUT('"');
	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT(c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c < ' ' || c == 0x7f) {
			/* Control bytes from hostile input must not forge a new log line. */
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			PUT(c);
		}
	}
	PUT('"');
#undef PUT
	buf[o < size ? o : size - 1] = '\0';
	return buf;
}

static void emit(FILE *out, enum nw_log_level level, const char *msg, const char *kv, va_list ap)
{
	char ts[40], qmsg[512], line[2048];
	struct timespec now;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);

	/* msg is always quoted so the line layout never depends on its text. */
	nw_log_quote(qmsg, sizeof(qmsg), msg);
	if (qmsg[0] != '"')
		snprintf(qmsg, sizeof(qmsg), "\"%s\"", msg);
	n = snprintf(line, sizeof(line), "ts=%s level=%s msg=%s", ts, level_names[level], qmsg);
	if (kv && *kv && n > 0 && (size_t)n < sizeof(line) - 1) {
		line[n++] = ' ';
		vsnprintf(line + n, sizeof(line) - (size_t)n, kv, ap);
	}
	/* One fputs per line: concurrent writers interleave by line, not by field. */
	strcat(line + strnlen(line, sizeof(line) - 2), "\n");
	fputs(line, out);
}

void nw_logf(const struct nw_log *log, enum nw_log_level level, const char *msg, const char *kv,
	     ...)
{
	va_list ap;

	if (log && level < log->min_level)
		return;
	va_start(ap, kv);
	emit(log && log->out ? log->out : stderr, level, msg, kv, ap);
	va_end(ap);
}

static int libbpf_debug(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char text[1024], q[1200];
	size_t n;

	(void)lvl;
	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (!n)
		return 0;
	nw_logf(NULL, NW_LOG_DEBUG, "libbpf", "detail=%s", nw_log_quote(q, sizeof(q), text));
	return 0;
}

static int libbpf_silent(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	(void)lvl;
	(void)fmt;
	(void)ap;
	return 0;
}

void nw_log_route_libbpf(int verbose)
{
	libbpf_set_print(verbose ? libbpf_debug : libbpf_silent);
}
