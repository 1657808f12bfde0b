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
#include "liveness.h"
#include "log.h"
#include "rack_http.h"
#include "options.h"
#include "rack_view.h"
#include "report_client.h"

/* The sub-second tick: liveness and the fast class update run this often,
 * so a silent server is shown down within --down-after plus one tick. */
#define NW_RACK_TICK_MS 100U
/* Its tag in the daemon's loop, beside source.h's enum rack_event. */
#define RACK_EV_FAST_TICK 32

/* What every drained record flows into: the record log, liveness and the
 * analysis. */
struct rack_sink {
	FILE *record_log; /* NULL unless --record-log */
	uint64_t write_errors;
	struct nw_live *live;         /* set once the daemon's rack_serve exists */
	struct nw_analysis *analysis; /* likewise */
};
void rack_on_record(void *user, const struct nw_server_rx *srv, const struct nw_record *rec);
void rack_sink_flush(const struct nw_log *log, struct rack_sink *sink);
/* Prints one dump line on stdout. */
void rack_print_dump(const struct nw_log *log, const struct nw_dump_info *info,
		     const struct nw_stats *stats, struct nw_dump_server *servers, size_t n);

/* The HTTP side: the view the handlers render and the MHD server in the
 * loop. Each interval the daemon calls nw_rack_view_begin,
 * rack_serve_set_server per slot, then rack_serve_publish; every
 * NW_RACK_TICK_MS, after draining the source, rack_serve_tick. */
struct rack_serve {
	struct nw_rack_view view;
	struct nw_live live;         /* up/down and outages, from every record */
	struct nw_analysis analysis; /* writes the view's analysis fields */
	struct nw_scope_state scope; /* the rack's own faults, per publish */
	struct nw_http *http;        /* NULL with --metrics off */
	/* The reporter to --dc (reporting is 0 without): one report per
	 * publish, (boot_ns, seq) strictly increasing for the DC's replay check. */
	const struct nw_log *log;
	int reporting;
	struct nw_report_client dc;
	struct nw_report_server *report_servers; /* [max_slots], reused */
	uint32_t report_max;
	struct nw_report_path *report_paths; /* inter-rack paths in, reused */
	uint32_t report_paths_max;
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
/* One registered server's counters into the view, its rate to liveness. */
void rack_serve_set_server(struct rack_serve *s, uint32_t slot, const struct nw_server_state *st,
			   const struct nw_server_rx *rx);
/* The sub-second tick at now_tai_ns (the source drained just before):
 * liveness (servers silent past their limit go down), the analysis' fast
 * class update, then the view's states, counts and rack score, so HTTP
 * shows a change within the tick, not at the next refresh. */
void rack_serve_tick(struct rack_serve *s, uint64_t now_tai_ns);
/* Ends a refresh: liveness at the refresh's time, analyses every server
 * into the view, derives and publishes, and hands the report to the
 * reporter. */
void rack_serve_publish(struct rack_serve *s);
void rack_serve_close(struct rack_serve *s);

/* The daemon around --hook's packet source (source.h): open, configure,
 * attach, serve, drop privileges, loop until a signal on signal_fd or
 * --duration, shut down and detach. 0 after a clean stop, 1 on failure. */
int rack_daemon_run(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink);
int rack_unpin(const struct nw_log *log, const struct rack_opts *o);

#endif
