// SPDX-License-Identifier: MIT
/* The rack view, its analysis, the HTTP server and the reporter: the serving
 * side of the daemon, whichever the packet source. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faults.h"
#include "rack.h"
#include "source.h"

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int report_init(struct rack_serve *s, const struct nw_log *log, const struct rack_opts *o,
		       uint32_t max_slots)
{
	char q[300];
	int err;

	s->report_max = max_slots < NW_REPORT_MAX_SERVERS ? max_slots : NW_REPORT_MAX_SERVERS;
	s->report_servers = calloc(s->report_max ? s->report_max : 1, sizeof(*s->report_servers));
	s->report_paths_max = max_slots < NW_REPORT_MAX_PATHS ? max_slots : NW_REPORT_MAX_PATHS;
	s->report_paths = calloc(s->report_paths_max ? s->report_paths_max : 1,
				 sizeof(*s->report_paths));
	if (!s->report_servers || !s->report_paths) {
		free(s->report_servers);
		free(s->report_paths);
		s->report_servers = NULL;
		s->report_paths = NULL;
		return -ENOMEM;
	}
	err = nw_report_client_init(&s->dc, log, NULL, o->dc, &o->keys);
	if (err) {
		free(s->report_servers);
		free(s->report_paths);
		s->report_servers = NULL;
		s->report_paths = NULL;
		return err;
	}
	/* (boot_ns, seq) must grow across our restarts: the DC refuses a
	 * report that is not newer than the last one it accepted. */
	s->boot_ns = realtime_ns();
	s->seq = 0;
	s->reporting = 1;
	nw_report_client_status(&s->dc, &s->view.dc);
	nw_info(log, "reporting to the dc", "dc=%s authenticated=%s",
		nw_log_quote(q, sizeof(q), o->dc), o->keys.present ? "yes" : "no");
	if (max_slots > s->report_max)
		nw_warn(log, "dc: reports carry at most this many servers", "max=%u",
			s->report_max);
	return 0;
}

int rack_serve_init(struct rack_serve *s, const struct nw_log *log, const struct rack_opts *o,
		    uint32_t max_slots)
{
	struct nw_analysis_cfg cfg;
	int err;

	s->http = NULL;
	s->log = log;
	s->reporting = 0;
	s->report_servers = NULL;
	s->report_paths = NULL;
	if (nw_rack_view_init(&s->view, max_slots, o->rack, o->interval)) {
		nw_error(log, "cannot allocate the rack view", "max_servers=%u", max_slots);
		return -ENOMEM;
	}
	err = nw_live_init(&s->live, max_slots, o->down_after);
	if (err) {
		nw_error(log, "cannot set up liveness", "down_after=%u err=%s", o->down_after,
			 strerror(-err));
		nw_rack_view_free(&s->view);
		return err;
	}
	{
		struct nw_scope_cfg sc;

		nw_scope_cfg_default(&sc);
		sc.hold = o->scope_hold;
		sc.clear = o->scope_clear;
		nw_scope_init(&s->scope, &sc);
		s->view.scope = &s->scope;
	}
	nw_analysis_default_cfg(&cfg, o->rack);
	cfg.window = o->window;
	cfg.interval_s = o->interval;
	cfg.horizon_s = o->horizon;
	cfg.down_after = o->down_after;
	err = nw_analysis_init(&s->analysis, &cfg, max_slots);
	if (err) {
		nw_error(log, "cannot set up the spectral analysis", "window=%u err=%s", o->window,
			 strerror(-err));
		nw_live_free(&s->live);
		nw_rack_view_free(&s->view);
		return err;
	}
	if (o->dc) {
		err = report_init(s, log, o, max_slots);
		if (err) {
			nw_analysis_free(&s->analysis);
			nw_live_free(&s->live);
			nw_rack_view_free(&s->view);
			return err;
		}
	}
	return 0;
}

int rack_serve_listen(struct rack_serve *s, const struct nw_log *log, const struct rack_opts *o)
{
	char q[128];

	if (!o->metrics)
		return 0;
	s->http = nw_http_start(log, (const struct sockaddr *)&o->metrics_addr, o->metrics_len,
				&s->view);
	if (!s->http) {
		nw_error(log, "cannot serve HTTP", "metrics=%s",
			 nw_log_quote(q, sizeof(q), o->metrics));
		return -EADDRNOTAVAIL;
	}
	nw_http_set_analysis(s->http, &s->analysis);
	nw_info(log, "serving HTTP", "metrics=%s", nw_log_quote(q, sizeof(q), o->metrics));
	return 0;
}

int rack_serve_add_to_loop(struct rack_serve *s, struct nw_evloop *l)
{
	int err = 0;

	if (s->http)
		err = nw_evloop_add_fd(l, nw_http_fd(s->http), RACK_EV_HTTP);
	/* One fd for the reporter, whatever its socket: its own epoll. */
	if (!err && s->reporting)
		err = nw_evloop_add_fd(l, nw_report_client_fd(&s->dc), RACK_EV_DC);
	return err;
}

int rack_serve_timeout_ms(const struct rack_serve *s)
{
	int t = s->http ? nw_http_timeout_ms(s->http) : -1;

	if (s->reporting)
		t = nw_evloop_sooner(t, nw_report_client_timeout_ms(&s->dc));
	return t;
}

void rack_serve_run(struct rack_serve *s)
{
	if (s->reporting) {
		nw_report_client_run(&s->dc);
		/* Before HTTP runs, so /metrics shows the state of this wake-up. */
		nw_report_client_status(&s->dc, &s->view.dc);
	}
	if (s->http)
		nw_http_run(s->http);
}

static void report(struct rack_serve *s)
{
	struct nw_report r = { 0 }; /* npaths, paths: none unless filled (issue 16) */

	nw_report_from_view(&s->view, &r, s->report_servers, s->report_max);
	nw_report_paths_from_view(&s->view, &r, s->report_paths, s->report_paths_max);
	r.boot_ns = s->boot_ns;
	r.seq = ++s->seq;
	r.time_ns = realtime_ns();
	nw_report_client_submit(&s->dc, &r);
	nw_report_client_status(&s->dc, &s->view.dc);
}

void rack_serve_set_server(struct rack_serve *s, uint32_t slot, const struct nw_server_state *st,
			   const struct nw_server_rx *rx)
{
	const struct nw_server_view *e = nw_rack_view_set_server(&s->view, slot, st, rx);

	if (e)
		nw_live_set_rate(&s->live, slot, e->server_id, st->rate_uhz);
}

void rack_serve_tick(struct rack_serve *s, uint64_t now_tai_ns)
{
	nw_live_tick(&s->live, now_tai_ns);
	nw_rack_view_set_live(&s->view, &s->live, now_tai_ns);
	nw_analysis_tick(&s->analysis, &s->view, now_tai_ns);
	nw_rack_view_derive(&s->view);
}

void rack_serve_publish(struct rack_serve *s)
{
	/* The same liveness a tick at this time would show: the analysis and
	 * the report judge the server the view shows. */
	nw_live_tick(&s->live, s->view.time_ns);
	nw_rack_view_set_live(&s->view, &s->live, s->view.time_ns);
	nw_analysis_refresh(&s->analysis, &s->view, s->view.time_ns);
	nw_rack_view_finish(&s->view);
	/* out of memory: this interval is skipped, the faults stay */
	if (nw_rack_faults_update(&s->scope, &s->view, realtime_ns()))
		nw_warn(s->log, "fault scope: out of memory, interval skipped", NULL);
	if (s->reporting)
		report(s);
}

void rack_serve_close(struct rack_serve *s)
{
	if (s->reporting) {
		nw_report_client_close(&s->dc);
		s->reporting = 0;
	}
	free(s->report_servers);
	free(s->report_paths);
	s->report_servers = NULL;
	s->report_paths = NULL;
	nw_http_stop(s->http);
	s->http = NULL;
	nw_rack_view_free(&s->view);
	nw_analysis_free(&s->analysis);
	nw_live_free(&s->live);
	nw_scope_free(&s->scope);
}
