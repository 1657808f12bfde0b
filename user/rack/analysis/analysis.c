// SPDX-License-Identifier: MIT
#include "analysis.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t nw_analysis_rewarm_gap_ns(double interval_s, uint32_t rate_uhz)
{
	uint64_t w = (uint64_t)(NW_ANALYSIS_REWARM_INTERVALS * interval_s * 1e9);
	uint64_t p = rate_uhz ? NW_ANALYSIS_REWARM_INTERVALS * 1000000000000000ULL / rate_uhz : 0;

	return w > p ? w : p;
}

void nw_analysis_default_cfg(struct nw_analysis_cfg *cfg, uint32_t rack_id)
{
	cfg->window = NW_ANALYSIS_WINDOW_DEFAULT;
	cfg->interval_s = 1.0;
	cfg->horizon_s = NW_ANALYSIS_HORIZON_DEFAULT;
	cfg->period_every_s = NW_ANALYSIS_PERIOD_EVERY;
	cfg->period_budget_s = NW_ANALYSIS_PERIOD_BUDGET;
	cfg->rack_id = rack_id;
	cfg->down_after = NW_LIVE_DOWN_AFTER_DEFAULT;
}

int nw_analysis_init(struct nw_analysis *a, const struct nw_analysis_cfg *cfg, uint32_t max_slots)
{
	int err;

	memset(a, 0, sizeof(*a));
	if (!max_slots || cfg->interval_s <= 0 || cfg->horizon_s <= 0)
		return -EINVAL;
	a->cfg = *cfg;
	err = nw_spec_ctx_init(&a->ctx, cfg->window);
	if (err)
		return err;
	a->srv = calloc(max_slots, sizeof(*a->srv));
	if (!a->srv) {
		nw_spec_ctx_free(&a->ctx);
		return -ENOMEM;
	}
	a->max_slots = max_slots;
	return 0;
}

static void server_release(struct nw_server_analysis *s)
{
	if (s->ready) {
		nw_signal_free(&s->sig);
		nw_periodicity_free(&s->per);
	}
	memset(s, 0, sizeof(*s));
}

void nw_analysis_free(struct nw_analysis *a)
{
	for (uint32_t i = 0; a->srv && i < a->max_slots; i++)
		server_release(&a->srv[i]);
	free(a->srv);
	a->srv = NULL;
	nw_periodicity_scratch_free(&a->per_scratch);
	nw_skew_scratch_free(&a->skew_scratch);
	nw_spec_ctx_free(&a->ctx);
}

double nw_analysis_expected_tone(uint32_t rack_id, uint32_t server_id, double announced_hz,
				 double rate_hz)
{
	double plan = (NW_PLAN_BASE_UHZ + NW_PLAN_RACK_UHZ * rack_id +
		       NW_PLAN_STEP_UHZ * server_id) /
		      1e6;

	if (server_id < NW_PLAN_SERVERS && plan < rate_hz / 2)
		return plan;
	return announced_hz;
}

static int server_setup(struct nw_analysis *a, struct nw_server_analysis *s, uint32_t server_id,
			uint32_t rate_uhz, double tone_hz)
{
	double rate_hz = rate_uhz / 1e6;
	size_t cap = (size_t)ceil(a->cfg.horizon_s * rate_hz);

	if (cap < 64)
		cap = 64;
	if (nw_signal_init(&s->sig, a->cfg.window, rate_hz, tone_hz))
		return -ENOMEM;
	if (nw_periodicity_init_shared(&s->per, cap, rate_hz)) {
		nw_signal_free(&s->sig);
		return -ENOMEM;
	}
	if (nw_periodicity_scratch_fit(&a->per_scratch, &s->per.cfg) ||
	    nw_skew_scratch_fit(&a->skew_scratch, cap)) {
		nw_signal_free(&s->sig);
		nw_periodicity_free(&s->per);
		return -ENOMEM;
	}
	s->ready = true;
	s->server_id = server_id;
	s->rate_hz = rate_hz;
	s->tone_hz = tone_hz;
	/* Not the down rule (liveness.h): a silence of a few periods is down
	 * at once, but its holes are real loss that the window must count (a
	 * 0.5 s outage every 5 s is a periodic fault to measure, not a new
	 * presence each time). Only a silence this long starts over. */
	s->rewarm_gap_ns = nw_analysis_rewarm_gap_ns(a->cfg.interval_s, rate_uhz);
	s->down_gap_ns = nw_live_limit_ns(a->cfg.down_after, rate_uhz);
	return 0;
}

/* The loss series: one point per expected sequence, 1 where it never came,
 * so a periodic outage shows as a period. Gaps are filled at their
 * scheduled send times. A late or displaced sample is not a loss: it is a
 * point of the delay series (its rx - tx), and one that arrives after
 * later ones (reordered) takes back the loss its gap put in. */
static void feed_holes(struct nw_server_analysis *s, const struct nw_record *rec, double t_s)
{
	double T = 1.0 / s->rate_hz;
	size_t cap = s->per.cfg.capacity;

	if (rec->flags & NW_REC_REORDERED) {
		nw_periodicity_slot_arrived(&s->per, t_s);
		return;
	}
	if (s->have_seq && !(rec->flags & NW_REC_STREAM_START) && rec->seq > s->last_seq + 1) {
		uint64_t gap = rec->seq - s->last_seq - 1;
		uint64_t from = gap > cap ? gap - cap : 0; /* older holes fall out anyway */

		for (uint64_t g = from; g < gap; g++)
			nw_periodicity_add_slot(&s->per, t_s - (double)(gap - g) * T, 1);
	}
	nw_periodicity_add_slot(&s->per, t_s, 0);
	s->last_seq = rec->seq;
	s->have_seq = true;
}

void nw_analysis_record(struct nw_analysis *a, uint32_t slot, uint32_t server_id,
			const struct nw_record *rec)
{
	struct nw_server_analysis *s;
	double t_s, d_s;

	if (slot >= a->max_slots)
		return;
	s = &a->srv[slot];
	if (!s->ready || s->server_id != server_id)
		return; /* not configured yet: its rate is known at the next refresh */
	/* Back after a goodbye or a long silence (or heard for the first
	 * time): the window still holds the time before, which is not this
	 * presence's loss. Its figures wait until a whole window is its own. */
	if (!(rec->flags & NW_REC_GOODBYE) &&
	    (!s->sig.seen || s->sig.left ||
	     nw_live_silent(s->sig.last_rx_ns, rec->rx_ns, s->rewarm_gap_ns))) {
		s->warm_from_ns = rec->rx_ns;
		nw_ms_reset(&s->ms); /* a new presence: its class starts from its own slots */
	} else if (!(rec->flags & NW_REC_GOODBYE) && s->down_gap_ns &&
		   nw_live_silent(s->sig.last_rx_ns, rec->rx_ns, s->down_gap_ns)) {
		/* Back from an outage liveness reported (down, counted): the
		 * window keeps its holes, but the class is measured again from
		 * the slots after it, not presumed healthy nor kept critical. */
		nw_ms_back(&s->ms, rec->rx_ns, (uint64_t)(a->cfg.window * s->sig.slot_ns));
	}
	nw_signal_add(&s->sig, rec);
	if (rec->flags & NW_REC_GOODBYE)
		return;
	if (!s->have_t0) {
		s->t0_ns = rec->tx_ns;
		s->have_t0 = true;
	}
	/* Sender-clock time since the first sample, and the raw one-way delay
	 * (receiver TAI minus sender TAI: includes the clocks' offset). */
	t_s = (double)(int64_t)(rec->tx_ns - s->t0_ns) / 1e9;
	d_s = (double)(int64_t)(rec->rx_ns - rec->tx_ns) / 1e9;
	nw_periodicity_add_delay(&s->per, t_s, d_s);
	feed_holes(s, rec, t_s);
}

/* The period budget counts this thread's CPU time: work done, not time
 * the scheduler gave to others on a loaded host (where wall time would
 * shrink the share of servers evaluated, and stretch their cycle). */
static double work_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void copy_period(struct nw_period *dst, const struct nw_period_result *src)
{
	dst->found = src->found;
	dst->period_s = src->found ? src->period_s : 0;
	dst->power = src->power;
	dst->fap = src->fap;
}

/* Periods and skew cost ~45 us a server: round robin within a time budget
 * per tick, each server at most every period_every_s. */
static void refresh_periods(struct nw_analysis *a, uint64_t now_ns)
{
	double start = work_s();
	uint64_t every = (uint64_t)llround(a->cfg.period_every_s * 1e9);

	for (uint32_t i = 0; i < a->max_slots; i++) {
		uint32_t slot = (a->period_cursor + i) % a->max_slots;
		struct nw_server_analysis *s = &a->srv[slot];
		double t_now;

		if (!s->ready || !s->have_t0 || now_ns < s->next_period_ns)
			continue;
		if (work_s() - start > a->cfg.period_budget_s) {
			a->period_cursor = slot;
			return;
		}
		nw_periodicity_eval_with(&s->per, &a->per_scratch, &s->delay_period,
					 &s->hole_period);
		t_now = (double)(int64_t)(s->sig.last_rx_ns - s->t0_ns) / 1e9;
		nw_skew_eval_series(
			&(struct nw_skew_series){ .t = s->per.delay.t,
						  .d = s->per.delay.y,
						  .n = s->per.delay.count,
						  .t0 = 0.0,
						  .d_ref = s->per.delay.y_ref,
						  .min_points = NW_SKEW_DEFAULT_MIN_POINTS,
						  .min_span_s = NW_SKEW_DEFAULT_MIN_SPAN_S },
			&a->skew_scratch, t_now, &s->skew_result);
		s->skew_t_s = t_now;
		s->next_period_ns = now_ns + every;
	}
}

/* With thousands of servers each one's state is cold when its turn comes.
 * Two stages, so no prefetch waits on a miss of its own: two slots ahead,
 * the slot's entries (analysis state, view entry, its spectrum buffer);
 * one slot ahead, the newest window of its ring and the spectrum buffer,
 * whose addresses the first stage brought in. The FFT and the metrics leave the memory bus idle. */
static void prefetch_slot(const struct nw_server_analysis *s, const struct nw_server_view *sv)
{
	for (size_t off = 0; off < sizeof(*sv); off += 64)
		__builtin_prefetch((const char *)sv + off, 1);
	for (size_t off = 0; off < offsetof(struct nw_server_analysis, per); off += 64)
		__builtin_prefetch((const char *)s + off);
}

static void prefetch_ring(const struct nw_server_analysis *s, const struct nw_server_view *sv)
{
	const struct nw_signal *g = &s->sig;

	for (size_t off = 0; sv->power && off < sv->nbins * sizeof(double); off += 64)
		__builtin_prefetch((const char *)sv->power + off, 1);
	if (!s->ready || !g->count)
		return;
	for (uint32_t j = 0; j <= g->n && j < g->count; j += 4)
		__builtin_prefetch(&g->ring[(g->head - 1 - j) & (g->cap - 1)]);
}

/* The long window's share of missing samples: empty slots that no
 * displaced sample accounts for (as the short scales count them). */
static double long_missing(uint32_t n, const struct nw_spec_result *r)
{
	uint32_t empty = n > r->filled ? n - r->filled : 0;

	return empty > r->collisions ? (double)(empty - r->collisions) / n : 0.0;
}

void nw_analysis_refresh(struct nw_analysis *a, struct nw_rack_view *v, uint64_t now_ns)
{
	uint32_t n = a->cfg.window;

	/* A caller that does not tick (--dump, tests, a daemon without the
	 * sub-second timer) still gets the short scale once per refresh. */
	if (!a->last_tick_ns || now_ns - a->last_tick_ns > (uint64_t)(a->cfg.interval_s * 1e9))
		nw_analysis_tick(a, v, now_ns);

	for (uint32_t slot = 0; slot < v->max_slots && slot < a->max_slots; slot++) {
		struct nw_server_view *sv = &v->slots[slot];
		struct nw_server_analysis *s = &a->srv[slot];
		struct nw_spec_result res;
		double rate, tone, error;

		if (!sv->present)
			continue;
		if (slot + 2 < a->max_slots && slot + 2 < v->max_slots)
			prefetch_slot(&a->srv[slot + 2], &v->slots[slot + 2]);
		if (slot + 1 < a->max_slots && slot + 1 < v->max_slots)
			prefetch_ring(&a->srv[slot + 1], &v->slots[slot + 1]);
		if (s->ready && s->server_id != sv->server_id)
			server_release(s); /* the slot serves another server now */
		rate = sv->st.rate_uhz / 1e6;
		if (!s->ready) {
			if (rate <= 0)
				continue; /* no sample yet: the view reports it down */
			tone = nw_analysis_expected_tone(a->cfg.rack_id, sv->server_id,
							 sv->st.freq_uhz / 1e6, rate);
			if (server_setup(a, s, sv->server_id, sv->st.rate_uhz, tone))
				continue;
		}
		if (!s->sig.seen) {
			sv->analysed = 0; /* set up this interval: its records start now */
			continue;
		}
		if (nw_spec_analyze(&a->ctx, &s->sig, now_ns, &res))
			continue;
		/* Liveness is the view's (liveness.h, nw_rack_view_set_live): a
		 * server that is down or left reports error 1.0, whatever its last
		 * spectrum. */
		if (sv->up &&
		    now_ns < s->warm_from_ns + (uint64_t)(a->cfg.window * s->sig.slot_ns)) {
			/* warming up: no figure rather than a false alarm; the
			 * short scale (nw_analysis_tick) classifies meanwhile */
			sv->analysed = 0;
			continue;
		}
		error = sv->up && !isnan(res.spectral_error) ? res.spectral_error : 1.0;
		sv->analysed = 1;
		sv->expected_hz = s->tone_hz;
		sv->spectral_error = error;
		sv->snr_db = res.snr_db;
		sv->peak_hz = res.peak_hz;
		sv->tone_offset_hz = res.tone_offset_hz;
		sv->tone_mismatch = res.tone_mismatch && res.fill > 0.5;
		sv->analysis_class = sv->up ? nw_ms_long_counts(&s->ms, error,
								long_missing(n, &res), now_ns)
					    : nw_health_class_of(error);
		sv->skew_valid = s->skew_result.valid;
		sv->skew_ppm = s->skew_result.valid ? s->skew_result.ppm : 0;
		sv->owd_s = s->skew_result.valid ? s->skew_result.delay_s : 0;
		copy_period(&sv->delay_period, &s->delay_period);
		copy_period(&sv->hole_period, &s->hole_period);
		nw_rack_view_set_spectrum(v, slot, a->ctx.power, n / 2 + 1, s->rate_hz / n);
	}
}

/* Fresh slots at now: of the current presence and newer than the last
 * return (multiscale.h). The short scales mean something only once all
 * their slots are fresh (back after an outage, the older slots hold the
 * silence, which liveness already reported). */
static uint64_t fresh_slots(const struct nw_server_analysis *s, uint64_t now_ns)
{
	uint64_t from = s->warm_from_ns > s->ms.fresh_from_ns ? s->warm_from_ns
							      : s->ms.fresh_from_ns;

	if (now_ns <= from)
		return 0;
	return (uint64_t)((double)(now_ns - from) / s->sig.slot_ns);
}

/* Empty slots that no displaced sample accounts for: samples missing, not
 * late. A sender that stalls and then sends a burst empties as many slots
 * as it crowds into one; random loss empties slots and crowds none. */
static uint32_t missing(uint32_t n, const struct nw_window_stats *st)
{
	uint32_t empty = n - st->filled;

	return empty > st->collisions ? empty - st->collisions : 0;
}

void nw_analysis_tick(struct nw_analysis *a, struct nw_rack_view *v, uint64_t now_tai_ns)
{
	a->last_tick_ns = now_tai_ns;
	for (uint32_t slot = 0; slot < v->max_slots && slot < a->max_slots; slot++) {
		struct nw_server_view *sv = &v->slots[slot];
		struct nw_server_analysis *s = &a->srv[slot];
		struct nw_window_stats st;
		struct nw_ms_tick_in in = { .short_err = 1.0, .quick_err = 1.0 };
		uint64_t have, end_ns;

		if (!sv->present || !s->ready || s->server_id != sv->server_id || !s->sig.seen)
			continue;
		if (!sv->up || sv->left) {
			sv->short_valid = 0; /* liveness decides; the class waits for samples */
			/* What the refresh will say, said now: a silent server's
			 * error is 1.0, so the figure agrees with the state the
			 * tick shows (down) instead of lagging it by an interval. */
			if (sv->analysed) {
				sv->spectral_error = 1.0;
				sv->analysis_class = nw_health_class_of(1.0);
			}
			continue;
		}
		/* the windows end at the newest slot whose sample is due */
		end_ns = now_tai_ns - (uint64_t)(NW_MS_SETTLE_SLOTS * s->sig.slot_ns);
		have = fresh_slots(s, end_ns);
		in.quick_ok = have >= NW_MS_QUICK_SLOTS;
		in.short_ok = have >= NW_MS_SHORT_SLOTS;
		if (in.quick_ok) {
			/* Each scale on its own reconstruction: its own baseline,
			 * and the quick one's fill is exact. */
			nw_signal_window_at(&s->sig, NW_MS_QUICK_SLOTS, end_ns, now_tai_ns, NULL,
					    a->short_x, a->short_keep, &st);
			in.quick_err = nw_tone_fit_error(a->short_x, NW_MS_QUICK_SLOTS, s->rate_hz,
							 s->tone_hz);
			in.quick_full = st.filled == NW_MS_QUICK_SLOTS && !st.collisions;
			in.quick_holes = missing(NW_MS_QUICK_SLOTS, &st);
			in.quick_displaced = st.collided_slots;
			if (in.quick_displaced) /* rare: only then */
				in.quick_spread = nw_signal_delay_spread(&s->sig, NW_MS_QUICK_SLOTS,
									 end_ns, now_tai_ns);
			/* From now back to the quick window's start: it ends
			 * NW_MS_SETTLE_SLOTS before now. Without them a return
			 * (nw_ms_tick) counts fresh slots from one slot after the
			 * window's start, and at a rate whose slot outlasts the
			 * 100 ms tick (an inter-rack tone's 5 Hz) the next tick
			 * finds one slot too few: warming, then a "return", for
			 * ever. */
			in.quick_span_ns = (uint64_t)((NW_MS_QUICK_SLOTS + NW_MS_SETTLE_SLOTS) *
						      s->sig.slot_ns);
		}
		if (in.short_ok) {
			nw_signal_window_at(&s->sig, NW_MS_SHORT_SLOTS, end_ns, now_tai_ns, NULL,
					    a->short_x, a->short_keep, &st);
			in.short_err = nw_tone_fit_error(a->short_x, NW_MS_SHORT_SLOTS, s->rate_hz,
							 s->tone_hz);
			in.short_holes = missing(NW_MS_SHORT_SLOTS, &st);
			in.short_full = st.filled == NW_MS_SHORT_SLOTS && !st.collisions;
			in.short_displaced = st.collided_slots;
			if (in.short_displaced)
				in.short_spread = nw_signal_delay_spread(&s->sig, NW_MS_SHORT_SLOTS,
									 end_ns, now_tai_ns);
		}
		sv->analysis_class = nw_ms_tick(&s->ms, &in, now_tai_ns,
						(uint64_t)(a->cfg.window * s->sig.slot_ns));
		/* Backed by a measurement once the quick scale has one. */
		sv->short_valid = in.quick_ok;
		sv->spectral_error_short = in.short_ok ? in.short_err : in.quick_err;
	}
	refresh_periods(a, now_tai_ns);
}

const struct nw_server_analysis *nw_analysis_server(const struct nw_analysis *a, uint32_t slot,
						    uint32_t server_id)
{
	const struct nw_server_analysis *s;

	if (!a || slot >= a->max_slots)
		return NULL;
	s = &a->srv[slot];
	return s->ready && s->server_id == server_id && s->have_t0 ? s : NULL;
}
