// SPDX-License-Identifier: MIT
/* Per-server tone reconstruction on the receiver's time grid. See signal.h. */
#include "nw_signal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int nw_signal_init(struct nw_signal *sig, uint32_t n, double rate_hz, double tone_hz)
{
	memset(sig, 0, sizeof(*sig));
	if (n < 8 || n > NW_SIGNAL_MAX_N || (n & (n - 1)) != 0)
		return -EINVAL;
	if (!(rate_hz > 0) || !isfinite(rate_hz) || !(tone_hz > 0) || !(tone_hz < rate_hz / 2))
		return -EINVAL;
	sig->n = n;
	/* Twice the window: the newest n arrivals cover the window unless some
	 * collide, and a collision must still see the earlier arrival. */
	sig->cap = 2 * n;
	sig->rate_hz = rate_hz;
	sig->tone_hz = tone_hz;
	sig->slot_ns = 1e9 / rate_hz;
	sig->inv_slot_ns = rate_hz / 1e9;
	sig->ring = calloc(sig->cap, sizeof(*sig->ring));
	if (!sig->ring)
		return -ENOMEM;
	return 0;
}

void nw_signal_free(struct nw_signal *sig)
{
	free(sig->ring);
	sig->ring = NULL;
	sig->count = 0;
}

/* floor() without a libm call on baseline x86-64 (no SSE4.1 roundsd). */
static inline int64_t fast_floor(double x)
{
	int64_t i = (int64_t)x;

	return i - ((double)i > x);
}

void nw_signal_add(struct nw_signal *sig, const struct nw_record *rec)
{
	if (!sig->seen) {
		sig->ref_ns = rec->rx_ns;
		sig->last_rx_ns = rec->rx_ns;
		sig->seen = true;
	}
	if ((int64_t)(rec->rx_ns - sig->last_rx_ns) > 0)
		sig->last_rx_ns = rec->rx_ns;

	if (rec->flags & NW_REC_GOODBYE) {
		/* Not a sample: seq is the last generated one. The stream ends. */
		sig->left = true;
		sig->in_stream = false;
		return;
	}
	sig->left = false;

	int64_t seqoff = (int64_t)(rec->seq - sig->anchor_seq);

	/* A new stream has a new seq origin and its own path baseline. A jump
	 * beyond 32 bits without a start flag is treated the same way. */
	if ((rec->flags & NW_REC_STREAM_START) || !sig->in_stream || seqoff > INT32_MAX ||
	    seqoff < INT32_MIN) {
		if (sig->streams > 0)
			sig->epoch++;
		sig->streams++;
		sig->anchor_seq = rec->seq;
		sig->in_stream = true;
		sig->epoch_first[sig->epoch % NW_SIGNAL_EPOCHS] = sig->samples;
		seqoff = 0;
	}

	struct nw_sig_rec *r = &sig->ring[sig->head];
	float v;
	uint32_t bits = rec->value_bits;

	memcpy(&v, &bits, sizeof(v));
	r->u = (double)(int64_t)(rec->rx_ns - sig->ref_ns) * sig->inv_slot_ns;
	r->seqoff = (int32_t)seqoff;
	r->value = isfinite(v) ? v : 0.0f; /* a NaN must not poison the FFT */
	if (sig->samples > 0 && r->u < sig->max_u)
		sig->unsorted_mark = sig->samples + 1;
	else
		sig->max_u = r->u;
	sig->head = (sig->head + 1) & (sig->cap - 1);
	if (sig->count < sig->cap)
		sig->count++;
	sig->samples++;
}

static inline const struct nw_sig_rec *rec_at(const struct nw_signal *sig, uint64_t idx)
{
	/* sample idx sits (samples - 1 - idx) places behind head */
	return &sig->ring[(sig->head - 1 - (uint32_t)(sig->samples - 1 - idx)) & (sig->cap - 1)];
}

/* The common case, taken when every record that can reach the window belongs
 * to the current stream and arrived in rx order: the window's records are
 * then one contiguous run of the ring, and a collision is simply a record
 * landing in the same slot as the one before it (the earlier arrival, or the
 * first fed on a tie, is already there), so no per-slot arrival times are
 * needed. Gives exactly the general path's result. Returns false when the
 * case does not apply (out untouched). */
static bool window_sorted(const struct nw_signal *sig, uint32_t n, double now_u, double data_u,
			  double oldest_u, const double *weight, double *out,
			  struct nw_window_stats *st)
{
	const uint64_t end = sig->samples;       /* one past the newest sample index */
	uint64_t lo = sig->samples - sig->count; /* oldest index held */
	uint64_t first = sig->epoch_first[sig->epoch % NW_SIGNAL_EPOCHS];
	uint64_t hi, i;

	/* From unsorted_mark on, each record's rx is >= every earlier one's. */
	if (sig->unsorted_mark > lo)
		lo = sig->unsorted_mark;
	if (first > lo)
		lo = first;
	/* Newest first: skip what lies after now (a few at most). The window's
	 * first record is about n + 1 records back (one per slot); walk from
	 * there, sequentially, so a cold ring costs streaming reads only. */
	for (hi = end; hi > lo && rec_at(sig, hi - 1)->u > data_u; hi--)
		;
	i = hi - lo > (uint64_t)n + 1 ? hi - n - 1 : lo;
	if (i == hi || rec_at(sig, i)->u >= oldest_u) {
		while (i > lo && rec_at(sig, i - 1)->u >= oldest_u)
			i--;
	} else {
		while (i < hi && rec_at(sig, i)->u < oldest_u)
			i++;
	}
	if (i == lo && lo > sig->samples - sig->count)
		return false; /* older, unsorted or other-stream records may reach it */
	if (i == hi)
		return false; /* nothing in the window: the general path says so */

	/* Baseline: four running minima, so the loop is not one long chain of
	 * dependent compares. */
	double m4[4] = { INFINITY, INFINITY, INFINITY, INFINITY };
	uint64_t k = i;

	for (; k + 4 <= hi; k += 4)
		for (int q = 0; q < 4; q++) {
			const struct nw_sig_rec *r = rec_at(sig, k + (uint64_t)q);
			double d = r->u - (double)r->seqoff;

			m4[q] = d < m4[q] ? d : m4[q];
		}
	for (; k < hi; k++) {
		const struct nw_sig_rec *r = rec_at(sig, k);
		double d = r->u - (double)r->seqoff;

		m4[0] = d < m4[0] ? d : m4[0];
	}
	double base = fmin(fmin(m4[0], m4[1]), fmin(m4[2], m4[3]));
	const double off = 0.5 - base;
	const int64_t newest = fast_floor(now_u - base + 0.5);
	const int64_t oldest = newest - (int64_t)n + 1;
	int64_t prev = INT64_MIN, prev_collided = INT64_MIN;
	uint32_t filled = 0, collisions = 0, collided_slots = 0; /* locals: `out` may alias `st` */

	memset(out, 0, n * sizeof(*out));
	for (k = i; k < hi; k++) {
		const struct nw_sig_rec *r = rec_at(sig, k);
		int64_t s = fast_floor(r->u + off);

		if (s < oldest || s > newest)
			continue;
		if (s == prev) {
			collisions++;
			collided_slots += s != prev_collided;
			prev_collided = s;
			continue;
		}
		prev = s;
		filled++;
		uint32_t slot = (uint32_t)(s - oldest);

		out[slot] = weight ? (double)r->value * weight[slot] : (double)r->value;
	}
	*st = (struct nw_window_stats){ .filled = filled,
					.collisions = collisions,
					.collided_slots = collided_slots,
					.newest_slot = newest };
	return true;
}

uint32_t nw_signal_window_n(const struct nw_signal *sig, uint32_t n, uint64_t now_ns,
			    const double *weight, double *out, double *keep,
			    struct nw_window_stats *st)
{
	return nw_signal_window_at(sig, n, now_ns, now_ns, weight, out, keep, st);
}

uint32_t nw_signal_window_at(const struct nw_signal *sig, uint32_t n, uint64_t now_ns,
			     uint64_t data_ns, const double *weight, double *out, double *keep,
			     struct nw_window_stats *st)
{
	const uint32_t mask = sig->cap - 1, E = NW_SIGNAL_EPOCHS;
	double base[NW_SIGNAL_EPOCHS], off[NW_SIGNAL_EPOCHS];
	bool have[NW_SIGNAL_EPOCHS] = { false };
	uint32_t newest_epoch = 0, e = sig->epoch, scanned = 0, oldest_epoch = sig->epoch;
	bool any = false;

	*st = (struct nw_window_stats){ 0 };
	if (n > sig->n)
		n = sig->n; /* the ring holds records for sig->n slots, no more */
	memset(out, 0, n * sizeof(*out));
	if (sig->count == 0)
		return 0;

	const double now_u = (double)(int64_t)(now_ns - sig->ref_ns) * sig->inv_slot_ns;
	const double data_u = data_ns > now_ns
				      ? (double)(int64_t)(data_ns - sig->ref_ns) * sig->inv_slot_ns
				      : now_u;
	/* One slot of margin: a record just older than the window may still
	 * round into its oldest slot. */
	const double oldest_u = now_u - (double)n - 1.0;

	if (window_sorted(sig, n, now_u, data_u, oldest_u, weight, out, st))
		return st->filled;

	/* Pass 1, newest first: each stream's baseline = min of (r_j - j*T) over
	 * the window. Where the ring is sorted by rx, the first record older
	 * than the window ends the scan. The running minimum lives in a local
	 * (not base[e]) so the loop carries no store-to-load dependency. */
	double cur = INFINITY;

	for (uint32_t j = 0; j < sig->count; j++) {
		uint64_t idx = sig->samples - 1 - j;

		if (idx < sig->epoch_first[e % E]) {
			if (cur != INFINITY) {
				base[e % E] = cur;
				have[e % E] = true;
			}
			cur = INFINITY;
			while (idx < sig->epoch_first[e % E]) {
				e--;
				if (sig->epoch - e >= E)
					goto scanned_all;
			}
		}
		const struct nw_sig_rec *r = &sig->ring[(sig->head - 1 - j) & mask];

		scanned = j + 1;
		oldest_epoch = e;
		if (r->u > data_u)
			continue;
		if (r->u < oldest_u) {
			if (idx >= sig->unsorted_mark)
				break;
			continue;
		}
		double d = r->u - (double)r->seqoff;

		cur = d < cur ? d : cur;
		if (!any)
			newest_epoch = e; /* scanning newest first */
		any = true;
	}
	if (cur != INFINITY) {
		base[e % E] = cur;
		have[e % E] = true;
	}
scanned_all:
	if (!any)
		return 0;

	/* The grid is the newest stream's; older streams are shifted onto it
	 * by their baseline difference rounded to whole slots:
	 * slot = floor(u - base_e + 0.5) + round(base_e - grid) = floor(u + off_e) */
	const double grid = base[newest_epoch % E];

	for (uint32_t i = 0; i < E; i++)
		off[i] = have[i] ? (double)fast_floor(base[i] - grid + 0.5) - base[i] + 0.5 : 0.0;
	const int64_t newest = fast_floor(now_u - grid + 0.5);
	const int64_t oldest = newest - (int64_t)n + 1;

	st->newest_slot = newest;
	e = oldest_epoch;

	/* Pass 2, oldest first over the same records: place; on a collision
	 * the earliest arrival wins (ties: the first fed). */
	uint64_t collided[NW_SIGNAL_DEFAULT_N / 64] = { 0 };

	for (uint32_t i = 0; i < n; i++)
		keep[i] = INFINITY;
	for (uint32_t j = scanned; j-- > 0;) {
		uint64_t idx = sig->samples - 1 - j;

		while (e != sig->epoch && idx >= sig->epoch_first[(e + 1) % E])
			e++;
		const struct nw_sig_rec *r = &sig->ring[(sig->head - 1 - j) & mask];

		if (r->u > data_u || r->u < oldest_u)
			continue;
		int64_t s = fast_floor(r->u + off[e % E]);

		if (s < oldest || s > newest)
			continue;
		uint32_t k = (uint32_t)(s - oldest);

		if (keep[k] != INFINITY) {
			st->collisions++;
			if (k >= NW_SIGNAL_DEFAULT_N) {
				st->collided_slots++;
			} else if (!(collided[k / 64] >> (k % 64) & 1)) {
				collided[k / 64] |= 1ULL << (k % 64);
				st->collided_slots++;
			}
			if (!(r->u < keep[k]))
				continue;
		} else {
			st->filled++;
		}
		keep[k] = r->u;
		out[k] = weight ? (double)r->value * weight[k] : (double)r->value;
	}
	return st->filled;
}

uint32_t nw_signal_window(const struct nw_signal *sig, uint64_t now_ns, const double *weight,
			  double *out, double *keep, struct nw_window_stats *st)
{
	return nw_signal_window_n(sig, sig->n, now_ns, weight, out, keep, st);
}

/* In-place insertion sort: n <= NW_SIGNAL_SPREAD_MAX, called only when a
 * window shows displaced samples (nw_signal.h). */
static void sort_small(double *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		double x = v[i];
		uint32_t j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static double median_sorted(const double *v, uint32_t n)
{
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double nw_signal_delay_spread(const struct nw_signal *sig, uint32_t n, uint64_t now_ns,
			      uint64_t data_ns)
{
	double d[NW_SIGNAL_SPREAD_MAX], med;
	uint64_t first = sig->epoch_first[sig->epoch % NW_SIGNAL_EPOCHS];
	uint32_t m = 0;

	if (!sig->count || !sig->in_stream)
		return NAN;
	const double now_u = (double)(int64_t)(now_ns - sig->ref_ns) * sig->inv_slot_ns;
	const double data_u = data_ns > now_ns
				      ? (double)(int64_t)(data_ns - sig->ref_ns) * sig->inv_slot_ns
				      : now_u;
	const double oldest_u = now_u - (double)n;

	/* Newest first, the current stream only (its seq offsets share one
	 * origin); at most two records a slot are looked at. */
	for (uint32_t j = 0; j < sig->count && j < 2 * n && m < NW_SIGNAL_SPREAD_MAX; j++) {
		uint64_t idx = sig->samples - 1 - j;
		const struct nw_sig_rec *r;

		if (idx < first)
			break;
		r = rec_at(sig, idx);
		if (r->u > data_u || r->u <= oldest_u)
			continue;
		d[m++] = r->u - (double)r->seqoff;
	}
	if (m < NW_SIGNAL_SPREAD_MIN)
		return NAN;
	sort_small(d, m);
	med = median_sorted(d, m);
	for (uint32_t i = 0; i < m; i++)
		d[i] = fabs(d[i] - med);
	sort_small(d, m);
	return 1.4826 * median_sorted(d, m); /* MAD, scaled to a Gaussian's sd */
}
