// SPDX-License-Identifier: MIT
/* The rack view and the HTTP server, shared by the kernel and socket modes. */
#include <errno.h>
#include <string.h>

#include "rack.h"

int rack_serve_init(struct rack_serve *s, const struct nw_log *log, const struct rack_opts *o,
		    uint32_t max_slots)
{
	struct nw_analysis_cfg cfg;
	int err;

	s->http = NULL;
	if (nw_rack_view_init(&s->view, max_slots, o->rack, o->interval)) {
		nw_error(log, "cannot allocate the rack view", "max_servers=%u", max_slots);
		return -ENOMEM;
	}
	nw_analysis_default_cfg(&cfg, o->rack);
	cfg.window = o->window;
	cfg.interval_s = o->interval;
	cfg.horizon_s = o->horizon;
	err = nw_analysis_init(&s->analysis, &cfg, max_slots);
	if (err) {
		nw_error(log, "cannot set up the spectral analysis", "window=%u err=%s", o->window,
			 strerror(-err));
		nw_rack_view_free(&s->view);
		return err;
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
	nw_info(log, "serving HTTP", "metrics=%s", nw_log_quote(q, sizeof(q), o->metrics));
	return 0;
}

int rack_serve_add_to_loop(struct rack_serve *s, struct rack_loop *l)
{
	return s->http ? rack_loop_add_fd(l, nw_http_fd(s->http), RACK_EV_HTTP) : 0;
}

int rack_serve_timeout_ms(const struct rack_serve *s)
{
	return s->http ? nw_http_timeout_ms(s->http) : -1;
}

void rack_serve_run(struct rack_serve *s)
{
	if (s->http)
		nw_http_run(s->http);
}

void rack_serve_publish(struct rack_serve *s)
{
	nw_analysis_refresh(&s->analysis, &s->view, s->view.time_ns);
	nw_rack_view_finish(&s->view);
}

void rack_serve_close(struct rack_serve *s)
{
	nw_http_stop(s->http);
	s->http = NULL;
	nw_rack_view_free(&s->view);
	nw_analysis_free(&s->analysis);
}
