// SPDX-License-Identifier: MIT
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "argnum.h"
#include "hostport.h"
#include "keyfile.h"

/* getopt values start above every character, so optopt tells an option
 * that lacks its value (>= OPT_BASE) from an unknown one. */
#define OPT_BASE 256

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

int nw_cli_bad(const struct nw_cli_spec *spec, const char *src, const char *problem)
{
	fprintf(stderr, "%s: %s: %s\n", spec->tool, src, problem);
	return -1;
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

void nw_cli_free(const struct nw_cli_spec *spec, void *opts)
{
	char *base = opts;

	for (size_t i = 0; i < spec->count; i++) {
		const struct nw_opt *opt = &spec->opts[i];

		if (opt->kind == NW_OPT_ID_LIST) {
			free(*(uint32_t **)(base + opt->off));
			*(uint32_t **)(base + opt->off) = NULL;
			*(size_t *)(base + opt->off2) = 0;
		} else if (opt->kind == NW_OPT_KEY_FILE) {
			nw_keys_wipe((struct nw_keys *)(base + opt->off2));
		}
	}
}

static int takes_value(const struct nw_opt *opt)
{
	return opt->kind != NW_OPT_BOOL && opt->kind != NW_OPT_HELP && opt->kind != NW_OPT_VERSION;
}

static void store_uint(void *field, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)field = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)field = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)field = (uint32_t)v;
		break;
	default:
		*(uint64_t *)field = v;
		break;
	}
}

/* One value of one option; -1 when it is refused. */
static int judge(const struct nw_opt *opt, void *opts, const char *v, const char **why)
{
	char *base = opts;
	void *field = base + opt->off;
	uint64_t n;
	size_t len;

	switch (opt->kind) {
	case NW_OPT_U64:
		if (nw_parse_u64(v, opt->min, opt->max, &n) ||
		    ((opt->flags & NW_OPT_POW2) && (n & (n - 1))))
			return -1;
		store_uint(field, opt->size, n);
		return 0;
	case NW_OPT_SECONDS:
		if ((opt->flags & NW_OPT_ZERO_OFF) && !strcmp(v, "0")) {
			*(double *)field = 0;
			return 0;
		}
		if (nw_parse_seconds(v, opt->dmax, field) || *(double *)field < opt->dmin)
			return -1;
		return 0;
	case NW_OPT_BOOL: {
		int b = 1;

		if (v && nw_cli_parse_bool(v, &b))
			return -1;
		*(int *)field = b;
		return 0;
	}
	case NW_OPT_PATH:
		if (v[0] != '/')
			return -1;
		/* fall through */
	case NW_OPT_STRING:
		len = strlen(v);
		if (len < opt->min || len > opt->max)
			return -1;
		*(const char **)field = v;
		return 0;
	case NW_OPT_CHOICE:
		for (const struct nw_opt_choice *c = opt->choices; c->name; c++)
			if (!strcmp(v, c->name)) {
				store_uint(field, opt->size, (uint64_t)(uint32_t)c->value);
				return 0;
			}
		return -1;
	case NW_OPT_ADDR:
		if ((opt->flags & NW_OPT_OFF) && !strcmp(v, "off")) {
			*(const char **)field = NULL;
			return 0;
		}
		if (nw_hostport_parse(v, (struct sockaddr_storage *)(base + opt->off2),
				      (socklen_t *)(base + opt->off3)))
			return -1;
		*(const char **)field = v;
		return 0;
	case NW_OPT_ID_LIST: {
		uint32_t **ids = field;

		free(*ids);
		*ids = NULL;
		return nw_parse_id_list(v, opt->max, ids, (size_t *)(base + opt->off2), why);
	}
	case NW_OPT_KEY_FILE: {
		struct nw_keys *keys = (struct nw_keys *)(base + opt->off2);

		nw_keys_wipe(keys);
		if (nw_keys_load(keys, v, why))
			return -1;
		*(const char **)field = v;
		return 0;
	}
	case NW_OPT_CUSTOM:
		return opt->parse(opts, opt, v, why);
	case NW_OPT_HELP:
	case NW_OPT_VERSION:
	case NW_OPT_HEADING:
		break;
	}
	return -1;
}

static int apply(const struct nw_cli_spec *spec, const struct nw_opt *opt, void *opts,
		 const char *v, const char *src)
{
	const char *why = NULL;

	if (judge(opt, opts, v, &why))
		return nw_cli_bad(spec, src, why ? why : opt->problem);
	return 0;
}

static void getopt_error(const struct nw_cli_spec *spec, const char *arg)
{
	char text[65];

	nw_cli_printable(text, sizeof(text), arg);
	if (optopt >= OPT_BASE && (size_t)(optopt - OPT_BASE) < spec->count) {
		const struct nw_opt *opt = &spec->opts[optopt - OPT_BASE];

		fprintf(stderr, "%s: --%s: %s\n", spec->tool, opt->name,
			takes_value(opt) ? "needs a value" : "takes no value");
	} else if (optopt > ' ' && optopt < 0x7f) {
		fprintf(stderr, "%s: -%c: unknown option\n", spec->tool, optopt);
	} else {
		fprintf(stderr, "%s: %s: unknown option\n", spec->tool, text);
	}
}

void nw_cli_usage(const struct nw_cli_spec *spec, FILE *f)
{
	int width = spec->help_column - 3;

	fputs(spec->usage_head, f);
	for (size_t i = 0; i < spec->count; i++) {
		const struct nw_opt *opt = &spec->opts[i];
		char flag[64];
		const char *line, *nl;

		if (!opt->help)
			continue;
		if (opt->kind == NW_OPT_HEADING) {
			fprintf(f, "%s\n", opt->help);
			continue;
		}
		if (opt->flag)
			snprintf(flag, sizeof(flag), "%s", opt->flag);
		else
			snprintf(flag, sizeof(flag), "--%s%s%s", opt->name, opt->arg ? " " : "",
				 opt->arg ? opt->arg : "");
		if (!*opt->help) {
			fprintf(f, "  %s\n", flag);
			continue;
		}
		for (line = opt->help; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (line == opt->help)
				fprintf(f, "  %-*s ", width, flag);
			else
				fprintf(f, "%*s", spec->help_column, "");
			fprintf(f, "%.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
		}
	}
	fprintf(f,
		"\nEvery option can also be set as NETWATCH_<NAME> (e.g. %s);\n"
		"a command-line flag wins. Exit status: %s\n",
		spec->env_example, spec->exit_status);
}

static void set_default(const struct nw_opt *opt, void *opts)
{
	char *base = opts;

	switch (opt->kind) {
	case NW_OPT_U64:
	case NW_OPT_CHOICE:
	case NW_OPT_BOOL:
		if (opt->def_u)
			store_uint(base + opt->off, opt->size, opt->def_u);
		break;
	case NW_OPT_SECONDS:
		if (opt->def_d)
			*(double *)(void *)(base + opt->off) = opt->def_d;
		break;
	case NW_OPT_ADDR:
		if (opt->def_s)
			nw_hostport_parse(opt->def_s, (struct sockaddr_storage *)(base + opt->off2),
					  (socklen_t *)(base + opt->off3));
		/* fall through */
	case NW_OPT_STRING:
	case NW_OPT_PATH:
	case NW_OPT_CUSTOM:
		if (opt->def_s)
			*(const char **)(base + opt->off) = opt->def_s;
		break;
	default:
		break;
	}
}

static enum nw_cli_result parse(const struct nw_cli_spec *spec, void *opts, int argc, char **argv,
				int *on_cmdline)
{
	struct option lopts[spec->count + 1];
	char shorts[spec->count + 1], src[64];
	size_t nl = 0, ns = 0;
	int c;

	for (size_t i = 0; i < spec->count; i++)
		set_default(&spec->opts[i], opts);
	for (size_t i = 0; i < spec->count; i++) {
		const struct nw_opt *opt = &spec->opts[i];
		const char *v;

		if (opt->kind == NW_OPT_HEADING)
			continue;
		lopts[nl++] = (struct option){ opt->name,
					       takes_value(opt) ? required_argument : no_argument,
					       NULL, OPT_BASE + (int)i };
		if (opt->short_name)
			shorts[ns++] = opt->short_name; /* only flags have a short form */
		v = opt->env ? getenv(opt->env) : NULL;
		if (v && apply(spec, opt, opts, v, opt->env))
			return NW_CLI_BAD;
	}
	lopts[nl] = (struct option){ 0 };
	shorts[ns] = '\0';

	opterr = 0; /* our own one-line errors */
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lopts, NULL)) != -1) {
		const struct nw_opt *opt = NULL;
		size_t id = (size_t)(c - OPT_BASE);

		if (c == '?' || c == ':') {
			getopt_error(spec, argv[optind - 1]);
			return NW_CLI_BAD;
		}
		if (c < OPT_BASE) {
			for (id = 0; id < spec->count; id++)
				if (spec->opts[id].short_name == c)
					break;
		}
		if (id >= spec->count)
			return NW_CLI_BAD;
		opt = &spec->opts[id];
		if (opt->kind == NW_OPT_HELP) {
			nw_cli_usage(spec, stdout);
			return NW_CLI_DONE;
		}
		if (opt->kind == NW_OPT_VERSION) {
			printf("%s %s\n", spec->tool, NW_VERSION_STRING);
			return NW_CLI_DONE;
		}
		snprintf(src, sizeof(src), "--%s", opt->name);
		on_cmdline[id] = 1;
		if (apply(spec, opt, opts, optarg, src))
			return NW_CLI_BAD;
	}
	if (optind < argc) {
		char text[65];

		nw_cli_printable(text, sizeof(text), argv[optind]);
		fprintf(stderr, "%s: %s: unexpected argument\n", spec->tool, text);
		return NW_CLI_BAD;
	}
	return NW_CLI_RUN;
}

enum nw_cli_result nw_cli_parse(const struct nw_cli_spec *spec, void *opts, int argc, char **argv)
{
	int on_cmdline[spec->count];
	enum nw_cli_result r;

	memset(on_cmdline, 0, sizeof(on_cmdline));
	r = parse(spec, opts, argc, argv, on_cmdline);
	if (r == NW_CLI_RUN && spec->check && spec->check(opts, on_cmdline))
		r = NW_CLI_BAD;
	if (r != NW_CLI_RUN)
		nw_cli_free(spec, opts);
	return r;
}
