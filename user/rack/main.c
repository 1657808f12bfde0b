// SPDX-License-Identifier: MIT
/*
 * netwatch-rack: the rack controller's collector. Loads the eBPF collector
 * against this rack's pinned maps (or opens the socket hook), registers
 * servers, drains their records and dumps their counters.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "rack.h"

/* The record log holds every sample's timing: created 0640 at most
 * whatever the umask (the mode given to open() is only ever narrowed by
 * it), appended to, never followed through a symbolic link. */
static FILE *open_record_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		      S_IRUSR | S_IWUSR | S_IRGRP);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

int main(int argc, char **argv)
{
	struct rack_opts opts;
	struct rack_sink sink = { 0 };
	struct nw_log log = { .min_level = NW_LOG_INFO, .out = NULL };
	enum nw_cli_result parsed;
	int sfd, rc;

	parsed = rack_opts_parse(argc, argv, &opts);
	if (parsed != NW_CLI_RUN)
		return nw_cli_exit_status(parsed);
	if (opts.verbose)
		log.min_level = NW_LOG_DEBUG;
	nw_log_route_libbpf(opts.verbose);

	if (opts.unpin) {
		rc = rack_unpin(&log, &opts);
		rack_opts_free(&opts);
		return rc;
	}

	/* Signals arrive through a signalfd in the main epoll: no handler runs
	 * in the middle of a libbpf call, and shutdown is one ordinary branch. */
	sfd = nw_cli_stop_signalfd();
	if (sfd < 0) {
		nw_error(&log, "cannot create signalfd", NULL);
		rack_opts_free(&opts);
		return 1;
	}

	if (opts.record_log) {
		sink.record_log = open_record_log(opts.record_log);
		if (!sink.record_log) {
			char q[512];

			nw_error(&log, "cannot open record log", "path=%s",
				 nw_log_quote(q, sizeof(q), opts.record_log));
			close(sfd);
			rack_opts_free(&opts);
			return 1;
		}
	}

	rc = rack_daemon_run(&log, &opts, sfd, &sink);

	if (sink.record_log && fclose(sink.record_log))
		rc = rc ? rc : 1;
	close(sfd);
	rack_opts_free(&opts);
	return rc;
}
