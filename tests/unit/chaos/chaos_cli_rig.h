/* SPDX-License-Identifier: MIT */
/* The chaos option tests' rig: a clean environment (every NETWATCH_*
 * variable the options read) and a parse of a NULL-terminated argument
 * list as netwatch-chaos's command line. Include after <cmocka.h>. */
#ifndef NW_CHAOS_CLI_RIG_H
#define NW_CHAOS_CLI_RIG_H

#include <stdarg.h>
#include <stdlib.h>

#include "chaos_options.h"

static const char *const env_names[] = {
	"NETWATCH_RACK",    "NETWATCH_SERVER", "NETWATCH_DELAY",   "NETWATCH_JITTER",
	"NETWATCH_LOSS",    "NETWATCH_BURST",  "NETWATCH_CORRUPT", "NETWATCH_DUPLICATE",
	"NETWATCH_CLEAR",   "NETWATCH_LIST",   "NETWATCH_BACKEND", "NETWATCH_TOPOLOGY",
	"NETWATCH_PIN_DIR", "NETWATCH_PORT",   "NETWATCH_VERBOSE", "NETWATCH_STATE_DIR",
	"NETWATCH_OUTAGE",  "NETWATCH_SKEW",   "NETWATCH_UPLINK",  "NETWATCH_PATH",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

static enum nw_cli_result parse(struct chaos_opts *o, const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"netwatch-chaos";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return chaos_opts_parse(argc, argv, o);
}

#endif
