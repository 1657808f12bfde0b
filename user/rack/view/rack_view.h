/* SPDX-License-Identifier: MIT */
/*
 * What the rack controller knows, refreshed once per interval by the main
 * loop and rendered by the HTTP handlers (/metrics, /api/v1/...). One
 * thread: the loop refreshes, then serves HTTP from the same copy, so no
 * lock is needed.
 *
 * Memory: every per-slot entry is allocated once (nw_rack_view_init, for the
 * collector's max slots); a refresh never allocates.
 *
 * Refresh, each interval:
 *     nw_rack_view_begin(v, now_tai_ns, &stats, discovery_rejected, attached);
 *     for each registered slot: nw_rack_view_set_server(v, slot, &state_copy, &rx);
 *     nw_rack_view_set_live(v, &live, now_tai_ns);   (liveness.h: up, left, outages)
 *     ... the spectral engine reads that liveness and writes the ANALYSIS
 *         fields of v->slots[slot] (and nw_rack_view_set_spectrum) ...
 *     nw_rack_view_finish(v);
 * Tick, between refreshes (every NW_RACK_TICK_MS):
 *     nw_rack_view_set_live(v, &live, now_tai_ns);
 *     ... the analysis' fast class update ...
 *     nw_rack_view_derive(v);   (states, counts, rack score; no counters)
 * The counter fields are overwritten by every refresh; the analysis fields
 * are left as the engine last wrote them (entries are indexed by slot, which
 * is stable while a server is registered), and nw_rack_view_finish derives
 * the state, the rack score and the sorted order from both. The rules (down,
 * states, score) are liveness.h's and health.h's; the view only applies them.
 */
#ifndef NW_RACK_VIEW_H
#define NW_RACK_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "drain.h"
#include "health_state.h"
#include "collector.h"
#include "scope.h"

struct nw_live;

/* A disturbance period found in the delay or the loss series. */
struct nw_period {
	int found;
	double period_s;
	double power; /* delay series: the peak's power; unused for holes */
	double fap;   /* false-alarm probability of the peak */
};

struct nw_server_view {
	int present;   /* slot registered and refreshed this interval */
	int slot_used; /* has held a server since init (internal) */
	uint32_t server_id;
	/* An inter-rack path into this rack (docs/fabric.md): server_id is
	 * NW_SERVER_FABRIC and src_rack the sending rack. Analysed like a
	 * server; never in the rack score, the server counts or lists. */
	int is_path;
	uint32_t src_rack;
	/* CLOCK_REALTIME when the entry left healthy (warning, critical or
	 * down), 0 while healthy, warming or left: the fault-scope onset. */
	uint64_t since_ns;
	/* Paths: one-way latency quantiles over the last 30..60 s of the
	 * counters' histogram (nw_rack_view_finish), NAN when no sample. */
	double latency_p50_s, latency_p99_s;
	uint64_t hist_old[NW_HIST_BUCKETS], hist_new[NW_HIST_BUCKETS];
	uint64_t hist_rotated_ns;
	uint32_t slot;
	struct nw_server_state st; /* a consistent copy of the counters (lock field meaningless) */
	uint64_t records_drained;
	uint64_t last_drained_rx_ns; /* rx stamp of the newest drained record, 0: none */

	/* Liveness (nw_rack_view_set_live, from liveness.h's tracker). */
	int up;           /* a sample within --down-after of its sample periods, stream open */
	int left;         /* the stream was closed by a goodbye */
	uint64_t outages; /* silences past the limit, the ongoing one included */
	double outage_s;  /* their seconds, last sample before to first after (or now) */
	/* From the counters (nw_rack_view_finish). */
	double loss_ratio; /* lost / (received + lost), 0 before any sample */
	double jitter_s;   /* RFC 3550 interarrival jitter */
	enum nw_health
		health; /* derived: left, down, else `analysis_class` (warming until measured) */

	/* ANALYSIS: written by the spectral engine; valid only when `analysed`. */
	int analysed;
	double expected_hz;
	double spectral_error; /* noise/(signal+noise), 0..1 */
	double snr_db;
	double peak_hz;
	double tone_offset_hz;         /* peak_hz - expected_hz */
	int tone_mismatch;             /* the announced tone is not the expected one */
	enum nw_health analysis_class; /* HEALTHY, WARNING, CRITICAL or WARMING: the
					* multi-scale class (multiscale.h), valid when analysed or
					* short_valid */
	/* The short scale (nw_analysis_tick, every tick): the tone fit's error
	 * over the newest 64 slots, valid once they all belong to the current
	 * presence; until the long window is warm the class comes from it. */
	int short_valid;
	double spectral_error_short;
	int skew_valid;
	double skew_ppm;
	double owd_s; /* one-way delay with the clock skew removed */
	struct nw_period delay_period;
	struct nw_period hole_period;
	/* The latest analysis window's one-sided power spectrum: bin i is at
	 * i * bin_hz. Copied in by nw_rack_view_set_spectrum (the engine's buffer
	 * is shared between servers); owned by the view. nbins 0: none. */
	double *power;
	size_t nbins, power_cap;
	double bin_hz;
};

/* The reporter to the DC controller (user/rack/report/report_client.h), as /metrics
 * shows it. DISABLED: no --dc. */
enum nw_dc_state {
	NW_DC_DISABLED = 0,
	NW_DC_DISCONNECTED, /* waiting to retry, or resolving the name */
	NW_DC_CONNECTING,
	NW_DC_CONNECTED,
	NW_DC__STATES,
};
/* Why a report never reached the DC whole. */
enum nw_dc_fail {
	NW_DC_FAIL_NOT_CONNECTED = 0, /* replaced by a newer one while there was no connection */
	NW_DC_FAIL_REPLACED,   /* replaced while connected: the DC reads slower than we report */
	NW_DC_FAIL_SEND_ERROR, /* the connection broke in the middle of the frame */
	NW_DC_FAIL_ENCODE,     /* could not be encoded (out of memory) */
	NW_DC_FAIL__COUNT,
};
struct nw_dc_status {
	enum nw_dc_state state;
	uint64_t sent;            /* frames written whole to the socket */
	uint64_t connects;        /* connections established */
	uint64_t protocol_errors; /* connections closed because the DC sent bytes */
	uint64_t failed[NW_DC_FAIL__COUNT];
};

struct nw_rack_view {
	uint32_t rack_id;
	char hook[16];
	char iface[32]; /* "" in socket mode */
	int attached;   /* the collector is attached / the socket is bound */
	double interval_s;
	uint64_t time_ns;      /* CLOCK_TAI of the last refresh */
	struct nw_stats stats; /* summed over CPUs */
	uint64_t discovery_rejected;
	const char *version; /* NW_VERSION_STRING */
	double rack_score;   /* 0..1, see nw_rack_view_finish */
	uint32_t state_count[NW_HEALTH__COUNT];

	uint32_t max_slots;
	struct nw_server_view *slots; /* [max_slots], indexed by slot */
	uint32_t *order;              /* [max_slots]: present servers sorted by server id,
				       * then present paths sorted by source rack */
	uint32_t count;               /* servers: entries of `order` from 0 */
	uint32_t npaths;              /* paths: entries of `order` from `count` */
	uint64_t refreshes;
	struct nw_dc_status dc; /* copied in by the loop before HTTP runs */
	/* the rack's own fault scope, moved on per interval (faults.h); not
	 * owned; NULL: none */
	const struct nw_scope_state *scope;
};

int nw_rack_view_init(struct nw_rack_view *v, uint32_t max_slots, uint32_t rack_id,
		      double interval_s);
void nw_rack_view_free(struct nw_rack_view *v);
void nw_rack_view_set_hook(struct nw_rack_view *v, const char *hook, const char *iface);

void nw_rack_view_begin(struct nw_rack_view *v, uint64_t now_tai_ns, const struct nw_stats *stats,
			uint64_t discovery_rejected, int attached);
/* Copies one slot's counters; a slot that now serves another server id has
 * its analysis fields cleared. Returns the entry (NULL for a bad slot). */
struct nw_server_view *nw_rack_view_set_server(struct nw_rack_view *v, uint32_t slot,
					       const struct nw_server_state *st,
					       const struct nw_server_rx *rx);
/* Copies the spectrum of `slot`'s latest window (bin i at i * bin_hz). The
 * buffer grows only when a longer spectrum arrives, so a steady state never
 * allocates. 0, or -1 (bad slot, out of memory: the old spectrum is dropped). */
int nw_rack_view_set_spectrum(struct nw_rack_view *v, uint32_t slot, const double *power,
			      size_t nbins, double bin_hz);
/* Takes every present server's liveness from the tracker at now_tai_ns: up,
 * left (also the counters' goodbye of a server not heard since the tracker
 * began), outages and their seconds. A server never heard is down. */
void nw_rack_view_set_live(struct nw_rack_view *v, const struct nw_live *l, uint64_t now_tai_ns);
/* Derives each present server's state, the per-state counts and the rack
 * score from its liveness and analysis fields, as nw_rack_view_finish does,
 * without touching counters or order: the tick's update. */
void nw_rack_view_derive(struct nw_rack_view *v);
/* Derives loss/jitter/health, the per-state counts, the rack score
 * (health.h: mean over servers that have not left and are not warming of
 * 1 - spectral_error (the short scale's until the long window is analysed);
 * down = 0; 1.0 when none counts) and `order`. */
void nw_rack_view_finish(struct nw_rack_view *v);

/* A path's strongest significant disturbance period (the delay's or the
 * holes', the lower false-alarm probability), NAN when none; servers too. */
double nw_view_period_s(const struct nw_server_view *e);
/* The latency quantile q of a histogram (collector.h's buckets): the upper
 * bound of the bucket where the count reaches q, in seconds; the +Inf
 * bucket reads as the last finite bound; NAN for an empty histogram. */
double nw_hist_quantile_s(const uint64_t *counts, double q);

/* The entry of `server_id`, or NULL. */
const struct nw_server_view *nw_rack_view_find(const struct nw_rack_view *v, uint32_t server_id);

#endif
