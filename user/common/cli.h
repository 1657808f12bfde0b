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
#include <string.h>

enum nw_opt_kind {
	NW_OPT_U64,      /* decimal in min..max (NW_OPT_POW2: a power of two) into a
			 * 1, 2, 4 or 8-byte unsigned field */
	NW_OPT_SECONDS,  /* nw_parse_seconds up to dmax, then >= dmin (NW_OPT_ZERO_OFF:
			 * or exactly "0", stored as 0); a double */
	NW_OPT_BOOL,     /* the bare flag is 1; a value (=V, environment) is
			 * on/off, 1/0, true/false or yes/no; an int */
	NW_OPT_STRING,   /* min..max bytes long; a const char * to the text */
	NW_OPT_PATH,     /* absolute, at most max bytes; a const char * */
	NW_OPT_CHOICE,   /* one of choices[].name: its value into an int-sized field */
	NW_OPT_ADDR,     /* numeric ADDR:PORT (hostport.h): the text at off (NULL
			 * for "off" with NW_OPT_OFF), the address at off2
			 * (sockaddr_storage) and its length at off3 (socklen_t) */
	NW_OPT_ID_LIST,  /* "0-7,12" (nw_parse_id_list, at most max ids): a
			 * malloc'ed uint32_t * at off, its size_t count at off2 */
	NW_OPT_KEY_FILE, /* a key file (keyfile.h) loaded into the struct nw_keys
			  * at off2, its name kept at off */
	NW_OPT_CUSTOM,   /* parse() judges and stores */
	NW_OPT_HELP,     /* prints the generated --help and stops */
	NW_OPT_VERSION,  /* prints "<tool> <version>" and stops */
	NW_OPT_HEADING,  /* no option: `help` is a heading line of --help */
};

#define NW_OPT_POW2 1U     /* NW_OPT_U64: also a power of two */
#define NW_OPT_OFF 2U      /* NW_OPT_ADDR: "off" stores NULL */
#define NW_OPT_ZERO_OFF 4U /* NW_OPT_SECONDS: "0" is 0, off */

struct nw_opt_choice {
	const char *name;
	int value;
};

struct nw_opt;

/* 0, or -1 with a static reason in *why (NULL: the entry's `problem`). */
typedef int (*nw_opt_parse_fn)(void *opts, const struct nw_opt *opt, const char *v,
			       const char **why);

struct nw_opt {
	const char *name; /* --name */
	char short_name;  /* -c as well, or 0 */
	const char *env;  /* NETWATCH_*, or NULL: command line only */
	enum nw_opt_kind kind;
	unsigned flags;    /* NW_OPT_POW2, NW_OPT_OFF */
	size_t off, size;  /* the destination field in the options struct */
	size_t off2, off3; /* second and third fields (NW_OPT_ADDR, NW_OPT_ID_LIST) */
	uint64_t min, max; /* U64: the range; STRING, PATH: the length; ID_LIST: ids */
	double dmin, dmax; /* SECONDS */
	const struct nw_opt_choice *choices; /* CHOICE: ends with a NULL name */
	nw_opt_parse_fn parse;               /* CUSTOM */
	unsigned long data;                  /* CUSTOM: the parser's own datum */
	const char *problem;                 /* the error after "<tool>: <src>: " */
	/* The default, stored before the environment is read (a zeroed field
	 * needs none): def_u for U64, CHOICE and BOOL, def_d for SECONDS, def_s
	 * for STRING, PATH, ADDR (parsed) and CUSTOM (a const char * field). */
	uint64_t def_u;
	double def_d;
	const char *def_s;
	/* --help: "  --name ARG" (or `flag` as written) padded to the column,
	 * then `help`, whose further lines are indented to the column. No help:
	 * not listed. An empty help: the flag alone. */
	const char *arg;
	const char *flag;
	const char *help;
};

/* The destination of an entry: a field of the options struct TYPE. */
#define NW_OPT_FIELD(type, field) .off = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* .opts and .count of a spec from one array. */
#define NW_CLI_TABLE(t) .opts = (t), .count = sizeof(t) / sizeof((t)[0])

struct nw_cli_spec {
	const char *tool;
	const struct nw_opt *opts;
	size_t count;
	const char *usage_head;  /* --help before the option lines */
	const char *env_example; /* --help's example variable, after the lines */
	const char *exit_status; /* and its exit codes */
	int help_column;         /* where the help text of each option starts */
	/* After every option is in: the checks across options (0, or -1 after
	 * nw_cli_bad); on_cmdline[i] is set for opts[i] given on the command line. */
	int (*check)(void *opts, const int *on_cmdline);
};

/* What parsing a program's command line gave (every program's own
 * <prefix>_opts_parse returns it). */
enum nw_cli_result { NW_CLI_RUN = 0, NW_CLI_DONE, NW_CLI_BAD };

/* Defaults, the environment (in table order), then argv, into `opts`
 * (zeroed by the caller), then spec->check; --help and --version print and
 * give NW_CLI_DONE; NW_CLI_BAD has printed one line. Unless NW_CLI_RUN,
 * nw_cli_free has been called. */
enum nw_cli_result nw_cli_parse(const struct nw_cli_spec *spec, void *opts, int argc, char **argv);

/* Frees and wipes what parsing kept (id lists, keys); `opts` stays valid. */
void nw_cli_free(const struct nw_cli_spec *spec, void *opts);

/* A program's <prefix>_opts_parse(argc, argv, TYPE *) and
 * <prefix>_opts_free(TYPE *) over its SPEC. */
#define NW_CLI_DEFINE(prefix, type, spec)                                      \
	enum nw_cli_result prefix##_opts_parse(int argc, char **argv, type *o) \
	{                                                                      \
		memset(o, 0, sizeof(*o));                                      \
		return nw_cli_parse(&(spec), o, argc, argv);                   \
	}                                                                      \
	void prefix##_opts_free(type *o)                                       \
	{                                                                      \
		nw_cli_free(&(spec), o);                                       \
	}

/* The generated --help. */
void nw_cli_usage(const struct nw_cli_spec *spec, FILE *f);

/* "<tool>: <src>: <problem>" on stderr; -1. */
int nw_cli_bad(const struct nw_cli_spec *spec, const char *src, const char *problem);

/* Copies `in` with control and non-ASCII bytes as '?', so hostile text cannot
 * smuggle escapes into the one error line. */
void nw_cli_printable(char *out, size_t size, const char *in);

/* 1/on/true/yes or 0/off/false/no. 0, or -1 for anything else. */
int nw_cli_parse_bool(const char *v, int *out);

/* Blocks SIGINT, SIGTERM and SIGHUP, ignores SIGPIPE and returns a
 * non-blocking signalfd for them (-1 on failure): the daemons stop through
 * their epoll loop, never from a handler racing it. */
int nw_cli_stop_signalfd(void);

/* The exit status of a parse that did not end in NW_CLI_RUN: 0 after --help
 * or --version, 2 after a bad option (its line is printed). */
static inline int nw_cli_exit_status(enum nw_cli_result r)
{
	return r == NW_CLI_DONE ? 0 : 2;
}

#endif
