/* SPDX-License-Identifier: MIT */
/*
 * What every NetWatch command line shares (netwatch-rack, -dc, -chaos): the
 * one-line errors for hostile argv/environment text, on/off values, and the
 * signalfd the daemons stop on.
 */
#ifndef NW_CLI_H
#define NW_CLI_H

#include <getopt.h>
#include <stddef.h>

/* Copies `in` with control and non-ASCII bytes as '?', so hostile text cannot
 * smuggle escapes into the one error line. */
void nw_cli_printable(char *out, size_t size, const char *in);

/* 1/on/true/yes or 0/off/false/no. 0, or -1 for anything else. */
int nw_cli_parse_bool(const char *v, int *out);

/* The error line after getopt_long returned '?' or ':', for options whose
 * values are base + index into `opts` (`count` of them). */
void nw_cli_getopt_error(const char *tool, const struct option *opts, int base, int count,
			 const char *arg);

/* "<tool>: <arg>: unexpected argument" for a stray positional argument. */
void nw_cli_unexpected(const char *tool, const char *arg);

/* One command line's table: option ids 0..count-1 are `opts[id]` with
 * getopt value base + id; ids below `valued` also come from the environment
 * variable env_names[id], applied before argv so flags win. */
struct nw_cli_spec {
	const char *tool;
	const char *usage;
	const struct option *opts;
	const char *const *env_names;
	int base, count, valued;
	int o_help, o_version, o_verbose; /* o_verbose is also -v */
	/* 0, or -1 after printing its own error; src names the value's source
	 * ("--window" or "NETWATCH_WINDOW"). */
	int (*apply)(void *ctx, int id, const char *v, const char *src);
};

enum nw_cli_result { NW_CLI_RUN, NW_CLI_DONE, NW_CLI_BAD };

/* Environment, then argv, through spec->apply; --help and --version print
 * and give NW_CLI_DONE. on_cmdline (spec->count entries, or NULL) marks the
 * options given on the command line. Resets getopt (optind). */
enum nw_cli_result nw_cli_parse(const struct nw_cli_spec *spec, void *ctx, int argc, char **argv,
				int *on_cmdline);

/* Blocks SIGINT, SIGTERM and SIGHUP, ignores SIGPIPE and returns a
 * non-blocking signalfd for them (-1 on failure): the daemons stop through
 * their epoll loop, never from a handler racing it. */
int nw_cli_stop_signalfd(void);

#endif
