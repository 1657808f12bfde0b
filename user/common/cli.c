// SPDX-License-Identifier: MIT
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

enum nw_cli_result nw_cli_parse(const struct nw_cli_spec *spec, void *ctx, int argc, char **argv,
				int *on_cmdline)
{
	char src[64];
	int c;

	for (int id = 0; id < spec->valued; id++) {
		const char *v = getenv(spec->env_names[id]);

		if (v && spec->apply(ctx, id, v, spec->env_names[id]))
			return NW_CLI_BAD;
	}
	opterr = 0; /* our own one-line errors */
	optind = 1;
	while ((c = getopt_long(argc, argv, "v", spec->opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			nw_cli_getopt_error(spec->tool, spec->opts, spec->base, spec->count,
					    argv[optind - 1]);
			return NW_CLI_BAD;
		}
		c = c == 'v' ? spec->o_verbose : c - spec->base;
		if (c < 0 || c >= spec->count)
			return NW_CLI_BAD;
		if (c == spec->o_help) {
			fputs(spec->usage, stdout);
			return NW_CLI_DONE;
		}
		if (c == spec->o_version) {
			printf("%s %s\n", spec->tool, NW_VERSION_STRING);
			return NW_CLI_DONE;
		}
		snprintf(src, sizeof(src), "--%s", spec->opts[c].name);
		if (on_cmdline)
			on_cmdline[c] = 1;
		if (spec->apply(ctx, c, optarg, src))
			return NW_CLI_BAD;
	}
	if (optind < argc) {
		nw_cli_unexpected(spec->tool, argv[optind]);
		return NW_CLI_BAD;
	}
	return NW_CLI_RUN;
}
