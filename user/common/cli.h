/* SPDX-License-Identifier: MIT */
/*
 * What every NetWatch command line shares (netwatch-rack, -dc, -chaos): a
 * program declares its options once, as a table of struct nw_opt (name,
 * environment variable, kind of value, destination field, error text, --help
 * text), and nw_cli_parse does the rest: the environment first, then argv (a
 * flag wins), one-line errors naming the flag or variable, --help generated
 * from the same table, --version. The per-program files keep only their
 * table, the parsers of values no kind covers, and checks across options.
 * Also: on/off values, printable error text, the signalfd the daemons stop on.
 *
 * Single-threaded (getopt's globals); nw_cli_parse resets getopt first, so a
 * test may parse many times.
 */
#ifndef NW_CLI_H
#define NW_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum nw_opt_kind {
	NW_OPT_U64,     /* decimal in min..max (NW_OPT_POW2: a power of two) into a
			 * 1, 2, 4 or 8-byte unsigned field */
	NW_OPT_SECONDS, /* nw_parse_seconds up to dmax, then >= dmin; a double */
	NW_OPT_BOOL,    /* the bare flag is 1; a value (=V, environment) is
			 * on/off, 1/0, true/false or yes/no; an int */
	NW_OPT_STRING,  /* min..max bytes long; a const char * to the text */
	NW_OPT_PATH,    /* absolute, at most max bytes; a const char * */
	NW_OPT_CHOICE,  /* one of choices[].name: its value into an int-sized field */
	NW_OPT_ADDR,    /* numeric ADDR:PORT (hostport.h): the text at off (NULL
			 * for "off" with NW_OPT_OFF), the address at off2
			 * (sockaddr_storage) and its length at off3 (socklen_t) */
	NW_OPT_ID_LIST, /* "0-7,12" (nw_parse_id_list, at most max ids): a
			 * malloc'ed uint32_t * at off, its size_t count at off2 */
	NW_OPT_CUSTOM,  /* parse() judges and stores */
	NW_OPT_HELP,    /* prints the generated --help and stops */
	NW_OPT_VERSION, /* prints "<tool> <version>" and stops */
	NW_OPT_HEADING, /* no option: `help` is a heading line of --help */
};

#define NW_OPT_POW2 1U /* NW_OPT_U64: also a power of two */
#define NW_OPT_OFF 2U  /* NW_OPT_ADDR: "off" stores NULL */

struct nw_opt_choice {
	const char *name;
	int value;
};

struct nw_opt;

/* 0, or -1 with a static reason in *why (NULL: the entry's `problem`). */
typedef int (*nw_opt_parse_fn)(void *opts, const struct nw_opt *opt, const char *v,
			       const char **why);

struct nw_opt {
	const char *name;    /* --name */
	char short_name;     /* -c as well, or 0 */
	const char *env;     /* NETWATCH_*, or NULL: command line only */
	enum nw_opt_kind kind;
	unsigned flags;      /* NW_OPT_POW2, NW_OPT_OFF */
	size_t off, size;    /* the destination field in the options struct */
	size_t off2, off3;   /* second and third fields (NW_OPT_ADDR, NW_OPT_ID_LIST) */
	uint64_t min, max;   /* U64: the range; STRING, PATH: the length; ID_LIST: ids */
	double dmin, dmax;   /* SECONDS */
	const struct nw_opt_choice *choices; /* CHOICE: ends with a NULL name */
	nw_opt_parse_fn parse;               /* CUSTOM */
	unsigned long data;  /* CUSTOM: the parser's own datum */
	const char *problem; /* the error after "<tool>: <src>: " */
	/* --help: "  --name ARG" (or `flag` as written) padded to the column,
	 * then `help`, whose further lines are indented to the column. No help:
	 * not listed. An empty help: the flag alone. */
	const char *arg;
	const char *flag;
	const char *help;
};

/* The destination of an entry: a field of the options struct TYPE. */
#define NW_OPT_FIELD(type, field) .off = offsetof(type, field), .size = sizeof(((type *)0)->field)

struct nw_cli_spec {
	const char *tool;
	const struct nw_opt *opts;
	size_t count;
	const char *usage_head; /* --help before the option lines */
	const char *usage_tail; /* and after them */
	int help_column;        /* where the help text of each option starts */
};

enum nw_cli_result { NW_CLI_RUN, NW_CLI_DONE, NW_CLI_BAD };

/* Environment (in table order), then argv, into `opts`; --help and
 * --version print and give NW_CLI_DONE; NW_CLI_BAD has printed one line.
 * on_cmdline (spec->count entries, or NULL) marks the options given on the
 * command line. */
enum nw_cli_result nw_cli_parse(const struct nw_cli_spec *spec, void *opts, int argc, char **argv,
				int *on_cmdline);

/* The generated --help. */
void nw_cli_usage(const struct nw_cli_spec *spec, FILE *f);

/* "<tool>: <src>: <problem>" on stderr; -1. */
int nw_cli_bad(const struct nw_cli_spec *spec, const char *src, const char *problem);

/* Copies `in` with control and non-ASCII bytes as '?', so hostile text cannot
 * smuggle escapes into the one error line. */
void nw_cli_printable(char *out, size_t size, const char *in);

/* 1/on/true/yes or 0/off/false/no. 0, or -1 for anything else. */
int nw_cli_parse_bool(const char *v, int *out);

/* NW_OPT_CUSTOM parser of --key-file: loads the key (keyfile.h) into the
 * struct nw_keys at off2 and keeps the file name at off. */
int nw_cli_key_file(void *opts, const struct nw_opt *opt, const char *v, const char **why);

/* Blocks SIGINT, SIGTERM and SIGHUP, ignores SIGPIPE and returns a
 * non-blocking signalfd for them (-1 on failure): the daemons stop through
 * their epoll loop, never from a handler racing it. */
int nw_cli_stop_signalfd(void);

#endif
