// SPDX-License-Identifier: MIT
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

void nw_cli_printable(char *out, size_t size, const char *in)
{
	size_t o = 0;

	for (; in && *in && o + 1 < size; in++)
		out[o++] = (*in >= ' ' && *in < 0x7f) ? *in : '?';
	out[o] = '\0';
}

int nw_cli_parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

void nw_cli_getopt_error(const char *tool, const struct option *opts, int base, int count,
			 const char *arg)
{
	char text[65];

	nw_cli_printable(text, sizeof(text), arg);
	if (optopt >= base && optopt < base + count)
		fprintf(stderr, "%s: --%s: %s\n", tool, opts[optopt - base].name,
			opts[optopt - base].has_arg ? "needs a value" : "takes no value");
	else if (optopt > ' ' && optopt < 0x7f)
		fprintf(stderr, "%s: -%c: unknown option\n", tool, optopt);
	else
		fprintf(stderr, "%s: %s: unknown option\n", tool, text);
}

void nw_cli_unexpected(const char *tool, const char *arg)
{
	char text[65];

	nw_cli_printable(text, sizeof(text), arg);
	fprintf(stderr, "%s: %s: unexpected argument\n", tool, text);
}

int nw_cli_stop_signalfd(void)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
}
