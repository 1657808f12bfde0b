/* SPDX-License-Identifier: MIT */
/* netwatch-rack internals shared by main.c, the daemon and its parts: the
 * record sink, the serving side (view, analysis, HTTP, reporter) and the
 * daemon's entry point. */
#ifndef RACK_H
#define RACK_H

#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
#include "drain.h"
#include "dump.h"
#include "evloop.h"
#include "log.h"
#include "rack_http.h"
#include "options.h"
#include "rack_view.h"
#include "report_client.h"

/* What every drained record flows into: the record log and the analysis. */
struct rack_sink {
	FILE *record_log; /* NULL unless --record-log */
	uint64_t write_errors;
	struct nw_analysis *analysis; /* set once the daemon's rack_serve exists */
};
void rack_on_record(void *user, const struct nw_server_rx *srv, const struct nw_record *rec);
void rack_sink_flush(const struct nw_log *log, struct rack_sink *sink);
/* Prints one dump line on stdout. */
void rack_print_dump(const struct nw_log *log, const struct nw_dump_info *info,
		     const struct nw_stats *stats, struct nw_dump_server *servers, size_t n);

/* The HTTP side: the view the handlers render and the MHD server in the
 * loop. Each interval the daemon calls nw_rack_view_begin,
 * nw_rack_view_set_server per slot, then rack_serve_publish (analysis plugs
 * in before it). */
struct rack_serve {
	struct nw_rack_view view;
	struct nw_analysis analysis; /* writes the view's analysis fields */
	struct nw_http *http;        /* NULL with --metrics off */
	/* The reporter to --dc (reporting is 0 without): one report per
	 * publish, (boot_ns, seq) strictly increasing for the DC's replay check. */
	const struct nw_log *log;
	int reporting;
	struct nw_report_client dc;
	struct nw_report_server *report_servers; /* [max_slots], reused */
	uint32_t report_max;
	uint64_t boot_ns, seq;
};
int rack_serve_init(struct rack_serve *s, const struct nw_log *log, const struct rack_opts *o,
		    uint32_t max_slots);
/* Binds --metrics (before capabilities are dropped). */
int rack_serve_listen(struct rack_serve *s, const struct nw_log *log, const struct rack_opts *o);
/* Puts the HTTP server's and the reporter's fds in the loop, tagged
 * RACK_EV_HTTP and RACK_EV_DC. */
int rack_serve_add_to_loop(struct rack_serve *s, struct nw_evloop *l);
int rack_serve_timeout_ms(const struct rack_serve *s);
void rack_serve_run(struct rack_serve *s);
/* Ends a refresh: analyses every server into the view, derives and
 * publishes, and hands the report to the reporter. */
void rack_serve_publish(struct rack_serve *s);
void rack_serve_close(struct rack_serve *s);

/* The daemon around --hook's packet source (source.h): open, configure,
 * attach, serve, drop privileges, loop until a signal on signal_fd or
 * --duration, shut down and detach. 0 after a clean stop, 1 on failure. */
int rack_daemon_run(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink);
int rack_unpin(const struct nw_log *log, const struct rack_opts *o);

#endif
