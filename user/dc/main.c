// SPDX-License-Identifier: MIT
/*
 * netwatch-dc: the datacenter controller. Receives the rack controllers'
 * reports over TCP, keeps the newest per rack and serves the DC's health
 * over HTTP (docs/dc.md).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "dc.h"

/* Every rack connection is a descriptor: the default soft limit (often
 * 1024) would cap --max-conns below its default. The hard limit is what
 * the operator allows; take it. */
static void raise_nofile(const struct nw_log *log, struct dc_opts *o)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)o->max_conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		uint32_t fit = rl.rlim_cur > 128 ? (uint32_t)(rl.rlim_cur - 64) : 64;

		nw_warn(log, "descriptor limit below --max-conns: lowering it",
			"nofile=%llu max_conns=%u", (unsigned long long)rl.rlim_cur, fit);
		o->max_conns = fit;
	}
}

int main(int argc, char **argv)
{
	struct dc_opts opts;
	struct nw_log log = { .min_level = NW_LOG_INFO, .out = NULL };
	enum nw_cli_result parsed;
	int sfd, rc;

	parsed = dc_opts_parse(argc, argv, &opts);
	if (parsed != NW_CLI_RUN)
		return nw_cli_exit_status(parsed);
	if (opts.verbose)
		log.min_level = NW_LOG_DEBUG;
	raise_nofile(&log, &opts);

	/* Signals arrive through a signalfd in the epoll loop: shutdown is one
	 * ordinary branch, never a handler racing the loop. */
	sfd = nw_cli_stop_signalfd();
	if (sfd < 0) {
		nw_error(&log, "cannot create signalfd", NULL);
		dc_opts_free(&opts);
		return 1;
	}
	rc = dc_run(&log, &opts, sfd);
	close(sfd);
	dc_opts_free(&opts);
	return rc;
}
