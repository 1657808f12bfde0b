// SPDX-License-Identifier: MIT
#include "rack_metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "prom.h"

#define PUTS(b, lit) nw_buf_put((b), (lit), sizeof(lit) - 1)

/* ------------------------------------------------------------ helpers */

/* The labels every per-server series opens with. */
struct srv_labels {
	char s[48];
};

static const char *srv_labels(struct srv_labels *l, const struct nw_rack_view *v,
			      const struct nw_server_view *e)
{
	/* snprintf only writes l->s: nothing uninitialised is read. */
	// cppcheck-suppress ctuuninitvar
	snprintf(l->s, sizeof(l->s), "rack_id=\"%u\",server_id=\"%u\"", v->rack_id, e->server_id);
	return l->s;
}

static void srv_gauge(struct nw_buf *b, const char *name, const struct nw_rack_view *v,
		      const struct nw_server_view *e, double x)
{
	struct srv_labels l;

	nw_prom_sample(b, name, srv_labels(&l, v, e), NULL, x);
}

static void srv_counter(struct nw_buf *b, const char *name, const struct nw_rack_view *v,
			const struct nw_server_view *e, uint64_t x)
{
	struct srv_labels l;

	nw_prom_sample_u64(b, name, srv_labels(&l, v, e), NULL, x);
}

static void rack_u64(struct nw_buf *b, const char *name, const struct nw_rack_view *v,
		     const char *extra, uint64_t x)
{
	char lab[24];

	snprintf(lab, sizeof(lab), "rack_id=\"%u\"", v->rack_id);
	nw_prom_sample_u64(b, name, lab, extra, x);
}

/* A per-rack family of one series. */
static void rack_family_u64(struct nw_buf *b, const char *name, const char *type,
			    const struct nw_rack_view *v, const char *help, uint64_t x)
{
	nw_prom_family(b, name, type, help);
	rack_u64(b, name, v, NULL, x);
}

/* One series of a per-rack family with one more label (key="value"). */
static void rack_u64_by(struct nw_buf *b, const char *name, const struct nw_rack_view *v,
			const char *key, const char *value, uint64_t x)
{
	char extra[64];

	snprintf(extra, sizeof(extra), ",%s=\"%s\"", key, value);
	rack_u64(b, name, v, extra, x);
}

#define EACH_SERVER(v, e)                            \
	for (uint32_t i_ = 0; i_ < (v)->count; i_++) \
		for (const struct nw_server_view *e = &(v)->slots[(v)->order[i_]]; e; e = NULL)

/* A per-server counter family taken from the kernel's state. */
#define COUNTER_FAMILY(b, v, name, help, field)            \
	do {                                               \
		nw_prom_family(b, name, "counter", help);  \
		EACH_SERVER(v, e_)                         \
		srv_counter(b, name, v, e_, e_->st.field); \
	} while (0)

/* A per-server gauge family emitted only for servers where `cond` holds. */
#define GAUGE_FAMILY(b, v, name, help, cond, expr)         \
	do {                                               \
		nw_prom_family(b, name, "gauge", help);    \
		EACH_SERVER(v, e_)                         \
		if (cond)                                  \
			srv_gauge(b, name, v, e_, (expr)); \
	} while (0)

/* Inter-rack paths into this rack (docs/fabric.md): after the servers in
 * `order`, labelled rack_id (the destination: this rack) and src_rack. */
#define EACH_PATH(v, e)                                                                            \
	for (uint32_t i_ = 0; i_ < (v)->npaths; i_++)                                              \
		for (const struct nw_server_view *e = &(v)->slots[(v)->order[(v)->count + i_]]; e; \
		     e = NULL)

static void path_gauge(struct nw_buf *b, const char *name, const struct nw_rack_view *v,
		       const struct nw_server_view *e, const char *extra, double x)
{
	char lab[48];

	snprintf(lab, sizeof(lab), "rack_id=\"%u\",src_rack=\"%u\"", v->rack_id, e->src_rack);
	nw_prom_sample(b, name, lab, extra, x);
}

static void path_families(struct nw_buf *b, const struct nw_rack_view *v)
{
	nw_prom_family(b, "netwatch_path_in_class", "gauge",
		       "Health class of the inter-rack path src_rack -> rack_id as a code: 0 "
		       "healthy, 1 warning, 2 critical, 3 down, 4 left, 5 warming");
	EACH_PATH(v, e)
	path_gauge(b, "netwatch_path_in_class", v, e, NULL, (double)e->health);
	nw_prom_family(b, "netwatch_path_in_spectral_error", "gauge",
		       "Spectral error of the path's tone (the short scale's until the long "
		       "window is analysed; 1 when down)");
	EACH_PATH(v, e)
	if (e->analysed || e->short_valid || e->health == NW_HEALTH_DOWN)
		path_gauge(b, "netwatch_path_in_spectral_error", v, e, NULL,
			   e->health == NW_HEALTH_DOWN ? 1.0
			   : e->analysed               ? e->spectral_error
						       : e->spectral_error_short);
	nw_prom_family(b, "netwatch_path_in_loss_ratio", "gauge",
		       "lost / (received + lost) of the path since the counters began, 0..1");
	EACH_PATH(v, e)
	path_gauge(b, "netwatch_path_in_loss_ratio", v, e, NULL, e->loss_ratio);
	/* A summary, not a gauge: only a summary may carry `quantile`
	 * (promtool), as the DC's netwatch_path_latency_seconds. */
	nw_prom_family(b, "netwatch_path_in_latency_seconds", "summary",
		       "One-way delay of the path's samples over the last 30..60 s, upper "
		       "histogram bound at the quantile (0.5, 0.99)");
	EACH_PATH(v, e)
	{
		if (!isnan(e->latency_p50_s))
			path_gauge(b, "netwatch_path_in_latency_seconds", v, e, ",quantile=\"0.5\"",
				   e->latency_p50_s);
		if (!isnan(e->latency_p99_s))
			path_gauge(b, "netwatch_path_in_latency_seconds", v, e,
				   ",quantile=\"0.99\"", e->latency_p99_s);
	}
	nw_prom_family(b, "netwatch_path_in_period_seconds", "gauge",
		       "Strongest significant disturbance period of the path, seconds (absent "
		       "when none)");
	EACH_PATH(v, e)
	if (!isnan(nw_view_period_s(e)))
		path_gauge(b, "netwatch_path_in_period_seconds", v, e, NULL, nw_view_period_s(e));
}

static const unsigned long long hist_bounds_ns[NW_HIST_FINITE] = NW_HIST_BOUNDS_NS;

static const char *const malformed_reasons[NW_MAL__MAX] = {
	[NW_MAL_TRUNCATED] = "truncated", [NW_MAL_LENGTH] = "length",     [NW_MAL_MAGIC] = "magic",
	[NW_MAL_VERSION] = "version",     [NW_MAL_FLAGS] = "flags",       [NW_MAL_FIELD] = "field",
	[NW_MAL_AUTH] = "auth_failed",    [NW_MAL_CHECKSUM] = "checksum",
};

static const char *const anomaly_reasons[NW_ANOM__MAX] = {
	[NW_ANOM_SEQ_JUMP] = "seq_jump", [NW_ANOM_TIME_JUMP] = "time_jump",
	[NW_ANOM_CLOCK] = "clock",       [NW_ANOM_RESTART] = "restart",
	[NW_ANOM_GOODBYE] = "goodbye",   [NW_ANOM_LIFETIME] = "lifetime",
	[NW_ANOM_RESYNC] = "resync",
};

static const char *const dc_states[NW_DC__STATES] = {
	[NW_DC_DISABLED] = "disabled",
	[NW_DC_DISCONNECTED] = "disconnected",
	[NW_DC_CONNECTING] = "connecting",
	[NW_DC_CONNECTED] = "connected",
};

static const char *const dc_fail_reasons[NW_DC_FAIL__COUNT] = {
	[NW_DC_FAIL_NOT_CONNECTED] = "not_connected",
	[NW_DC_FAIL_REPLACED] = "replaced",
	[NW_DC_FAIL_SEND_ERROR] = "send_error",
	[NW_DC_FAIL_ENCODE] = "encode",
};

/* Always rendered, also without --dc (state "disabled", counters 0): a
 * dashboard sees one set of families on every rack. */
static void dc_families(struct nw_buf *b, const struct nw_rack_view *v)
{
	nw_prom_family(b, "netwatch_rack_dc_connection_state", "gauge",
		       "Connection to the DC controller: one series per state, 1 for the current one "
		       "(disabled without --dc)");
	for (int st = 0; st < NW_DC__STATES; st++)
		rack_u64_by(b, "netwatch_rack_dc_connection_state", v, "state", dc_states[st],
			    (int)v->dc.state == st);
	rack_family_u64(b, "netwatch_rack_dc_connects_total", "counter", v,
			"Connections to the DC controller established", v->dc.connects);
	rack_family_u64(b, "netwatch_rack_dc_protocol_errors_total", "counter", v,
			"Connections closed because the DC sent bytes (it never should)",
			v->dc.protocol_errors);
	rack_family_u64(b, "netwatch_rack_reports_sent_total", "counter", v,
			"Reports written whole to the DC controller's connection", v->dc.sent);
	nw_prom_family(b, "netwatch_rack_reports_failed_total", "counter",
		       "Reports that never reached the DC controller whole, by reason");
	for (int r = 0; r < NW_DC_FAIL__COUNT; r++)
		rack_u64_by(b, "netwatch_rack_reports_failed_total", v, "reason",
			    dc_fail_reasons[r], v->dc.failed[r]);
}

static void latency_histogram(struct nw_buf *b, const struct nw_rack_view *v)
{
	static const char name[] = "netwatch_latency_ms";

	nw_prom_family(
		b, name, "histogram",
		"One-way latency of accepted samples (receiver rx - sender tx), milliseconds; from "
		"the collector's pinned counters");
	EACH_SERVER(v, e)
	{
		struct srv_labels l;
		uint64_t cum = 0;

		srv_labels(&l, v, e);
		for (unsigned k = 0; k < NW_HIST_BUCKETS; k++) {
			cum += e->st.latency_hist[k];
			nw_prom_bucket(b, name, l.s,
				       k < NW_HIST_FINITE ? (double)hist_bounds_ns[k] / 1e6
							  : INFINITY,
				       cum);
		}
		nw_prom_histogram_end(b, name, l.s, (double)e->st.latency_sum_ns / 1e6, cum);
	}
}

/* ------------------------------------------------------------- render */

int nw_metrics_render(const struct nw_rack_view *v, struct nw_buf *b)
{
	char rack_label[24];

	snprintf(rack_label, sizeof(rack_label), "rack_id=\"%u\"", v->rack_id);
	/* The seed's names. */
	GAUGE_FAMILY(b, v, "netwatch_server_spectral_error",
		     "Spectral error of the server's tone, noise/(signal+noise): 0 pure, 1 noise "
		     "(1 when down; absent while a new stream warms up)",
		     e_->analysed || e_->health == NW_HEALTH_DOWN,
		     e_->analysed ? e_->spectral_error : 1.0);
	GAUGE_FAMILY(b, v, "netwatch_server_spectral_error_short",
		     "Spectral error of the server's newest 64 slots (3.2 s at 20 Hz), by a "
		     "tone fit every 100 ms: the short scale the health class escalates from",
		     e_->short_valid, e_->spectral_error_short);
	GAUGE_FAMILY(b, v, "netwatch_server_snr_db",
		     "Signal-to-noise ratio of the server's tone, dB", e_->analysed, e_->snr_db);
	nw_prom_family(
		b, "netwatch_rack_health_score", "gauge",
		"Rack health, 0..1: mean over servers that have not left and are not warming of "
		"1 - spectral_error (the short scale's until the long window is analysed; 0 when "
		"down)");
	nw_prom_sample(b, "netwatch_rack_health_score", rack_label, NULL, v->rack_score);
	COUNTER_FAMILY(b, v, "netwatch_packets_received_total",
		       "Unique samples accepted from the server", received);
	COUNTER_FAMILY(b, v, "netwatch_packets_lost_total",
		       "Sequence numbers that left the reorder window unseen", lost);
	latency_histogram(b, v);

	/* Per-server extras. */
	GAUGE_FAMILY(
		b, v, "netwatch_server_up",
		"1 if the server's last sample is at most --down-after of its sample periods old "
		"and its stream is open",
		1, e_->up);
	nw_prom_family(b, "netwatch_server_outages_total", "counter",
		       "Silences of the server longer than --down-after sample periods, the ongoing "
		       "one included, since the controller began watching it");
	EACH_SERVER(v, e)
	srv_counter(b, "netwatch_server_outages_total", v, e, e->outages);
	nw_prom_family(b, "netwatch_server_outage_seconds_total", "counter",
		       "Seconds of those outages, from the last sample before each silence to the "
		       "first after it (the ongoing one up to now)");
	EACH_SERVER(v, e)
	srv_gauge(b, "netwatch_server_outage_seconds_total", v, e, e->outage_s);
	nw_prom_family(b, "netwatch_server_health_state", "gauge",
		       "Health class of the server: one series per state, 1 for the current one");
	EACH_SERVER(v, e)
	{
		struct srv_labels l;
		char extra[32];

		srv_labels(&l, v, e);
		for (int h = 0; h < NW_HEALTH__COUNT; h++) {
			snprintf(extra, sizeof(extra), ",state=\"%s\"",
				 nw_health_name((enum nw_health)h));
			nw_prom_sample_u64(b, "netwatch_server_health_state", l.s, extra,
					   e->health == (enum nw_health)h);
		}
	}
	GAUGE_FAMILY(b, v, "netwatch_server_jitter_seconds",
		     "RFC 3550 interarrival jitter of the server's samples, seconds", 1,
		     e_->jitter_s);
	GAUGE_FAMILY(b, v, "netwatch_server_loss_ratio",
		     "lost / (received + lost) since the counters began, 0..1", 1, e_->loss_ratio);
	GAUGE_FAMILY(b, v, "netwatch_server_peak_frequency_hertz",
		     "Frequency of the strongest spectral peak of the latest window, Hz",
		     e_->analysed, e_->peak_hz);
	GAUGE_FAMILY(b, v, "netwatch_server_expected_frequency_hertz",
		     "Tone the server is expected to send, Hz", e_->analysed, e_->expected_hz);
	GAUGE_FAMILY(b, v, "netwatch_server_tone_offset_hertz",
		     "Measured peak minus expected tone, Hz", e_->analysed, e_->tone_offset_hz);
	GAUGE_FAMILY(b, v, "netwatch_server_tone_mismatch",
		     "1 if the server's tone is not the one expected for it", e_->analysed,
		     e_->tone_mismatch);
	GAUGE_FAMILY(b, v, "netwatch_server_clock_skew_ppm",
		     "Estimated clock skew of the server against the controller, ppm",
		     e_->analysed && e_->skew_valid, e_->skew_ppm);
	GAUGE_FAMILY(b, v, "netwatch_server_one_way_delay_seconds",
		     "One-way delay with the clock skew removed, seconds",
		     e_->analysed && e_->skew_valid, e_->owd_s);
	nw_prom_family(
		b, "netwatch_server_disturbance_period_seconds", "gauge",
		"Period of a periodic disturbance, seconds: series=\"delay\" in rx - tx of the "
		"samples received (late ones included), series=\"loss\" in the samples that never "
		"arrived");
	EACH_SERVER(v, e)
	{
		struct srv_labels l;

		if (!e->analysed)
			continue;
		srv_labels(&l, v, e);
		if (e->delay_period.found)
			nw_prom_sample(b, "netwatch_server_disturbance_period_seconds", l.s,
				       ",series=\"delay\"", e->delay_period.period_s);
		if (e->hole_period.found)
			nw_prom_sample(b, "netwatch_server_disturbance_period_seconds", l.s,
				       ",series=\"loss\"", e->hole_period.period_s);
	}
	COUNTER_FAMILY(b, v, "netwatch_packets_duplicate_total",
		       "Copies of a sequence number already accepted", duplicates);
	COUNTER_FAMILY(b, v, "netwatch_packets_reordered_total",
		       "Samples accepted after a higher sequence number", reordered);
	COUNTER_FAMILY(b, v, "netwatch_packets_late_total",
		       "Samples that arrived after their sequence number left the window", late);
	COUNTER_FAMILY(b, v, "netwatch_server_restarts_total",
		       "Times the server's agent restarted its sequence", restarts);
	COUNTER_FAMILY(b, v, "netwatch_packets_anomalous_total",
		       "Samples dropped because their sequence or time does not fit the server's "
		       "stream (netwatch_collector_anomalies_total says why)",
		       anomalous);
	COUNTER_FAMILY(b, v, "netwatch_ring_full_total",
		       "Samples of the server counted but not queued: its ring was full",
		       ring_full);

	path_families(b, v);

	/* The collector itself. */
	nw_prom_family(b, "netwatch_collector_info", "gauge",
		       "The collector's hook and interface, always 1");
	nw_buf_printf(b, "netwatch_collector_info{rack_id=\"%u\",hook=\"", v->rack_id);
	nw_prom_label_value(b, v->hook);
	PUTS(b, "\",iface=\"");
	nw_prom_label_value(b, v->iface);
	PUTS(b, "\"} 1\n");
	rack_family_u64(b, "netwatch_collector_attached", "gauge", v,
			"1 while the collector is attached (socket hook: bound)",
			v->attached ? 1 : 0);
	rack_family_u64(b, "netwatch_collector_packets_total", "counter", v,
			"Frames the hook looked at", v->stats.packets);
	rack_family_u64(b, "netwatch_collector_samples_total", "counter", v,
			"Valid samples of known servers", v->stats.samples);
	nw_prom_family(b, "netwatch_collector_malformed_total", "counter",
		       "Datagrams to the NetWatch port refused, by reason");
	for (int r = 0; r < NW_MAL__MAX; r++)
		rack_u64_by(b, "netwatch_collector_malformed_total", v, "reason",
			    malformed_reasons[r], v->stats.malformed[r]);
	nw_prom_family(b, "netwatch_collector_anomalies_total", "counter",
		       "Samples of known servers whose sequence or time does not fit their stream, "
		       "by reason (resync: accepted, replaced a stream silent for 10 s)");
	for (int r = 0; r < NW_ANOM__MAX; r++)
		rack_u64_by(b, "netwatch_collector_anomalies_total", v, "reason",
			    anomaly_reasons[r], v->stats.anomalies[r]);
	rack_family_u64(b, "netwatch_collector_unknown_sender_total", "counter", v,
			"Valid samples from a server with no slot", v->stats.unknown_server);
	rack_family_u64(b, "netwatch_collector_wrong_rack_total", "counter", v,
			"Valid samples addressed to another rack id", v->stats.wrong_rack);
	rack_family_u64(b, "netwatch_collector_fabric_samples_total", "counter", v,
			"Valid inter-rack samples accounted on a path into this rack",
			v->stats.fabric_samples);
	rack_family_u64(b, "netwatch_collector_fabric_misdirected_total", "counter", v,
			"Valid inter-rack samples addressed to another destination rack",
			v->stats.fabric_misdirected);
	rack_family_u64(b, "netwatch_collector_ring_full_total", "counter", v,
			"Samples counted but not queued because their server's ring was full",
			v->stats.ring_full);
	nw_prom_family(
		b, "netwatch_collector_discovery_total", "counter",
		"Unknown senders: reported by the kernel (sent), over its rate limit (suppressed), "
		"refused by userspace because the server table is full (rejected); discovered "
		"servers that earned their place (promoted) or were dropped from probation "
		"(evicted)");
	rack_u64(b, "netwatch_collector_discovery_total", v, ",result=\"sent\"",
		 v->stats.discovery_sent);
	rack_u64(b, "netwatch_collector_discovery_total", v, ",result=\"suppressed\"",
		 v->stats.discovery_suppressed);
	rack_u64(b, "netwatch_collector_discovery_total", v, ",result=\"rejected\"",
		 v->discovery_rejected);
	rack_u64(b, "netwatch_collector_discovery_total", v, ",result=\"promoted\"",
		 v->stats.discovery_promoted);
	rack_u64(b, "netwatch_collector_discovery_total", v, ",result=\"evicted\"",
		 v->stats.discovery_evicted);
	rack_family_u64(b, "netwatch_collector_probation_servers", "gauge", v,
			"Discovered servers on probation: counted, not yet shown (they have not "
			"kept a tone up for 5 s)",
			v->stats.discovery_probation);
	nw_prom_family(b, "netwatch_build_info", "gauge", "The running build's version, always 1");
	PUTS(b, "netwatch_build_info{version=\"");
	nw_prom_label_value(b, v->version);
	PUTS(b, "\"} 1\n");
	nw_prom_family(b, "netwatch_rack_servers", "gauge",
		       "Registered servers of the rack by health state");
	for (int h = 0; h < NW_HEALTH__COUNT; h++)
		rack_u64_by(b, "netwatch_rack_servers", v, "state",
			    nw_health_name((enum nw_health)h), v->state_count[h]);
	dc_families(b, v);
	return b->failed ? -1 : 0;
}
