/* SPDX-License-Identifier: MIT */
/*
 * Exact per-server accounting of one sample: the sliding sequence window
 * (anti-replay style), restart detection, RFC 3550 jitter and the latency
 * histogram. The BPF collector runs it under the slot's spin lock; the socket
 * hook and the unit tests run the very same code in userspace. No helper
 * calls, no unbounded loops: it must stay legal inside a BPF lock region.
 *
 * Counting rules (docs/collector.md):
 * - a sequence is counted lost only when it leaves the 64-wide window unseen,
 *   so no counter ever goes down and a late packet is never "un-lost";
 * - a stream starts at the first sample after registration, a goodbye or a
 *   restart. A start at seq < 64 means a fresh agent: the seqs before it are
 *   pending (they may still arrive reordered) and count lost if they do not;
 * - a lower seq with a newer tx time than the stream's newest sample cannot
 *   belong to that stream: the sender restarted;
 * - a goodbye carries the last generated seq and closes the window, so the
 *   final counts are exact;
 * - a forward jump wider than NW_SEQ_JUMP_MAX starts a new stream (counted as
 *   a restart) rather than adding the whole gap to `lost`.
 */
#ifndef NW_ACCOUNT_H
#define NW_ACCOUNT_H

#include "collector.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* What the caller should do with the sample after accounting. */
struct nw_outcome {
	__u16 rec_flags; /* NW_REC_* for the record */
	__u8 record;     /* 1: write a record to the server's ring */
	__u8 anomaly;    /* 0, or nw_anomaly + 1 to count in nw_stats.anomalies */
};

/* Counters saturate rather than wrap: a counter never goes down. */
static __always_inline __u64 nw_sat_add(__u64 a, __u64 b)
{
	__u64 s = a + b;

	return s < a ? ~0ULL : s;
}

/* Sample periods of `rate_uhz` in `ns` (capped), rounded up. Overflow-free:
 * seconds <= 1e9 times rate < 2^32, and the remainder < 1e9 times rate. */
static __always_inline __u64 nw_ticks(__u64 ns, __u32 rate_uhz)
{
	if (ns > NW_ELAPSED_CAP_NS)
		ns = NW_ELAPSED_CAP_NS;
	return (ns / 1000000000ULL) * rate_uhz / 1000000ULL +
	       (ns % 1000000000ULL) * rate_uhz / 1000000000000000ULL + 1;
}

/* Receiver time since the stream's last accepted sample, capped. */
static __always_inline __u64 nw_elapsed(const struct nw_server_state *st, __u64 rx_ns)
{
	__u64 el = rx_ns > st->last_rx_ns ? rx_ns - st->last_rx_ns : 0;

	return el > NW_ELAPSED_CAP_NS ? NW_ELAPSED_CAP_NS : el;
}

/* How far the sender's clock may have moved in `el` of ours: 1/8 of skew,
 * plus the latency variation allowance. */
static __always_inline __u64 nw_tx_room(__u64 el)
{
	return el + (el >> 3) + NW_SLACK_NS;
}

/* How many sequences the sender may have generated in that time. */
static __always_inline __u64 nw_seq_room(const struct nw_server_state *st, __u64 el)
{
	return nw_ticks(nw_tx_room(el), st->rate_uhz) + NW_REORDER_SEQS;
}

/* Whether `ahead` sequences are more than that. The room is never below
 * NW_REORDER_SEQS + 1: the common small step costs no division. */
static __always_inline int nw_seq_too_far(const struct nw_server_state *st, __u64 ahead, __u64 el)
{
	return ahead > NW_REORDER_SEQS && ahead > nw_seq_room(st, el);
}

/* A newer sample's tx: not older than the stream's newest, not further
 * ahead than the elapsed time explains. */
static __always_inline int nw_tx_follows(const struct nw_server_state *st, __u64 tx_ns, __u64 el)
{
	return tx_ns >= st->max_tx_ns && tx_ns - st->max_tx_ns <= nw_tx_room(el);
}

/* The stream's sample period (rate >= 1 uHz: at most 1e15 ns). */
static __always_inline __u64 nw_period_ns(const struct nw_server_state *st)
{
	return st->rate_uhz ? 1000000000000000ULL / st->rate_uhz : 1000000000000000ULL;
}

static __always_inline int nw_clock_ok(__u64 tx_ns, __u64 rx_ns)
{
	return rx_ns >= tx_ns ? rx_ns - tx_ns <= NW_CLOCK_MAX_NS : tx_ns - rx_ns <= NW_CLOCK_MAX_NS;
}

static __always_inline __u64 nw_popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

static __always_inline __u32 nw_hist_bucket(__u64 ns)
{
	/* An explicit chain: a lookup table would be a map access inside the lock. */
	if (ns <= 50000ULL)
		return 0;
	if (ns <= 100000ULL)
		return 1;
	if (ns <= 250000ULL)
		return 2;
	if (ns <= 500000ULL)
		return 3;
	if (ns <= 1000000ULL)
		return 4;
	if (ns <= 2500000ULL)
		return 5;
	if (ns <= 5000000ULL)
		return 6;
	if (ns <= 10000000ULL)
		return 7;
	if (ns <= 25000000ULL)
		return 8;
	if (ns <= 50000000ULL)
		return 9;
	if (ns <= 100000000ULL)
		return 10;
	if (ns <= 250000000ULL)
		return 11;
	if (ns <= 500000000ULL)
		return 12;
	if (ns <= 1000000000ULL)
		return 13;
	if (ns <= 2500000000ULL)
		return 14;
	if (ns <= 5000000000ULL)
		return 15;
	if (ns <= 10000000000ULL)
		return 16;
	return 17;
}

/* Sequences of the open window that were never seen become lost. */
static __always_inline void nw_close_window(struct nw_server_state *st)
{
	st->lost = nw_sat_add(st->lost, NW_SEQ_WINDOW - nw_popcount64(st->seq_window));
	st->seq_window = ~0ULL;
}

/* Moves the window's top to `seq` (> max_seq); `mark` sets seq as seen. */
static __always_inline void nw_advance(struct nw_server_state *st, __u64 seq, int mark)
{
	__u64 d = seq - st->max_seq;

	if (d >= NW_SEQ_WINDOW) {
		st->lost = nw_sat_add(st->lost, (NW_SEQ_WINDOW - nw_popcount64(st->seq_window)) +
							(d - NW_SEQ_WINDOW));
		st->seq_window = 0;
	} else {
		__u64 leaving = st->seq_window >> (NW_SEQ_WINDOW - d);

		st->lost = nw_sat_add(st->lost, d - nw_popcount64(leaving));
		st->seq_window <<= d;
	}
	if (mark)
		st->seq_window |= 1ULL;
	st->max_seq = seq;
}

static __always_inline void nw_start_stream(struct nw_server_state *st, __u64 seq)
{
	st->max_seq = seq;
	if ((st->status & NW_ST_MIDSTREAM) || seq >= NW_SEQ_WINDOW)
		st->seq_window = ~0ULL; /* joined mid-stream: nothing before is ours */
	else if (seq == NW_SEQ_WINDOW - 1)
		st->seq_window = 1ULL; /* seqs 0..62 pending: the window is exactly full */
	else
		st->seq_window = ~0ULL << (seq + 1) | 1ULL; /* seqs below 0 do not exist */
	st->status = (st->status & ~(NW_ST_CLOSED | NW_ST_MIDSTREAM)) | NW_ST_STARTED;
}

/* Transit, jitter and histogram. The caller has checked |rx - tx| <=
 * NW_CLOCK_MAX_NS, so transit and its difference fit; the clamps keep a
 * state from an older build (or a corrupted one) from overflowing. */
static __always_inline void nw_timing(struct nw_server_state *st, __u64 tx_ns, __u64 rx_ns,
				      int first)
{
	__u64 mag = rx_ns >= tx_ns ? rx_ns - tx_ns : tx_ns - rx_ns;
	__s64 transit;

	if (mag > NW_CLOCK_MAX_NS)
		mag = NW_CLOCK_MAX_NS;
	transit = rx_ns >= tx_ns ? (__s64)mag : -(__s64)mag;
	if (!first) {
		__s64 last = st->last_transit_ns;
		__u64 ad, j = st->jitter_x16_ns;

		if (last > (__s64)NW_CLOCK_MAX_NS)
			last = (__s64)NW_CLOCK_MAX_NS;
		if (last < -(__s64)NW_CLOCK_MAX_NS)
			last = -(__s64)NW_CLOCK_MAX_NS;
		ad = transit >= last ? (__u64)(transit - last) : (__u64)(last - transit);
		if (j > 16 * 2 * NW_CLOCK_MAX_NS)
			j = 16 * 2 * NW_CLOCK_MAX_NS;
		/* RFC 3550 A.8 integer form: J += (|D| - J)/16, with J kept x16. */
		st->jitter_x16_ns = j - ((j + 8) >> 4) + ad;
	}
	st->last_transit_ns = transit;
	if (transit < 0) {
		st->latency_negative++;
		st->latency_hist[0]++;
	} else {
		st->latency_sum_ns = nw_sat_add(st->latency_sum_ns, (__u64)transit);
		st->latency_hist[nw_hist_bucket((__u64)transit)]++;
	}
}

/* Whether a sample was sent just now: its transit within NW_SLACK_NS of
 * zero, or of the stream's last (a sender whose clock is off by a constant).
 * Only such a sample may resync a stream: by the time a stream is stale, a
 * replayed capture is at least NW_RESYNC_NS old, so a replay never reopens
 * a stream that went quiet or said goodbye. |rx - tx| <= NW_CLOCK_MAX_NS. */
static __always_inline int nw_fresh(const struct nw_server_state *st, __u64 tx_ns, __u64 rx_ns)
{
	__s64 transit = rx_ns >= tx_ns ? (__s64)(rx_ns - tx_ns) : -(__s64)(tx_ns - rx_ns);
	__s64 last = st->last_transit_ns;

	if (transit >= -(__s64)NW_SLACK_NS && transit <= (__s64)NW_SLACK_NS)
		return 1;
	if (last > (__s64)NW_CLOCK_MAX_NS || last < -(__s64)NW_CLOCK_MAX_NS)
		return 0; /* a state from elsewhere: no difference to trust */
	return transit - last >= -(__s64)NW_SLACK_NS && transit - last <= (__s64)NW_SLACK_NS;
}

/* A sample that does not fit the stream: dropped and counted, unless the
 * stream has been silent for NW_RESYNC_NS (then it resyncs, *resync = 1). */
static __always_inline int nw_reject(struct nw_server_state *st, struct nw_outcome *out, int stale,
				     enum nw_anomaly why)
{
	if (stale)
		return 1;
	st->anomalous++;
	out->anomaly = (__u8)(why + 1);
	return 0;
}

/*
 * Accounts one valid sample of this server. The caller holds the lock.
 */
static __always_inline void nw_account(struct nw_server_state *st, const struct nw_sample *s,
				       __u64 rx_ns, struct nw_outcome *out)
{
	__u64 seq = s->seq, el;
	int first = 0, stale, v2, other_life;

	out->rec_flags = 0;
	out->record = 0;
	out->anomaly = 0;

	if (!nw_clock_ok(s->tx_ns, rx_ns)) {
		st->anomalous++;
		out->anomaly = NW_ANOM_CLOCK + 1;
		return;
	}
	el = nw_elapsed(st, rx_ns);
	stale = (st->status & NW_ST_STARTED) && el > NW_RESYNC_NS && nw_fresh(st, s->tx_ns, rx_ns);
	/* Wire v2 names the sender's lifetime (a nonce new at every start,
	 * inside the tag): a sample of another one is never this stream's. */
	v2 = s->version == NW_VERSION;
	other_life = (st->status & NW_ST_STARTED) &&
		     (!!(st->status & NW_ST_NONCE) != v2 || (v2 && s->nonce != st->nonce));

	if (s->flags & NW_FLAG_GOODBYE) {
		if (!(st->status & NW_ST_STARTED) || (st->status & NW_ST_CLOSED))
			return; /* nothing open to close; a repeated goodbye changes nothing */
		/* The goodbye carries the last generated seq: never below what
		 * its stream reached, never further than the time explains. */
		if (seq < st->max_seq || other_life) {
			nw_reject(st, out, 0, NW_ANOM_GOODBYE);
			return;
		}
		if (nw_seq_too_far(st, seq - st->max_seq, el)) {
			nw_reject(st, out, 0, NW_ANOM_SEQ_JUMP);
			return;
		}
		if (!nw_tx_follows(st, s->tx_ns, el)) {
			nw_reject(st, out, 0, NW_ANOM_TIME_JUMP);
			return;
		}
		if (seq > st->max_seq && seq - st->max_seq <= NW_SEQ_JUMP_MAX)
			nw_advance(st, seq, 0);
		nw_close_window(st);
		st->status |= NW_ST_CLOSED;
		st->goodbyes++;
		st->max_tx_ns = s->tx_ns;
		out->rec_flags = NW_REC_GOODBYE;
		out->record = 1;
		return;
	}

	if (!(st->status & NW_ST_STARTED)) {
		nw_start_stream(st, seq);
		out->rec_flags = NW_REC_STREAM_START;
		first = 1;
	} else if (st->status & NW_ST_CLOSED) {
		if (s->tx_ns <= st->max_tx_ns) {
			if (!stale) {
				st->late++; /* a straggler of the stream that said goodbye */
				return;
			}
			goto resync;
		}
		if (s->tx_ns - st->max_tx_ns > nw_tx_room(el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_TIME_JUMP))
				return;
			goto resync;
		}
		nw_start_stream(st, seq);
		out->rec_flags = NW_REC_STREAM_START;
		first = 1;
	} else if (other_life) {
		/* A newer lifetime is a restart (whatever its seq), if the time
		 * since our last sample explains it; an older one is a replay. */
		if (s->tx_ns <= st->max_tx_ns || s->tx_ns - st->max_tx_ns > nw_tx_room(el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_LIFETIME))
				return;
			goto resync;
		}
		if (nw_seq_too_far(st, seq, el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_RESTART))
				return;
			goto resync;
		}
		nw_close_window(st);
		st->restarts++;
		nw_start_stream(st, seq);
		out->rec_flags = NW_REC_STREAM_START | NW_REC_RESTART;
		first = 1;
	} else if (seq < st->max_seq && s->tx_ns > st->max_tx_ns && (st->status & NW_ST_NONCE)) {
		/* The same lifetime: its tx grows with its seq. */
		nw_reject(st, out, 0, NW_ANOM_TIME_JUMP);
		return;
	} else if (seq < st->max_seq && s->tx_ns > st->max_tx_ns) {
		/* A new lifetime starts at seq 0: it cannot have generated
		 * more than the time since our last sample allows. */
		if (nw_seq_too_far(st, seq, el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_RESTART))
				return;
			goto resync;
		}
		if (s->tx_ns - st->max_tx_ns > nw_tx_room(el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_TIME_JUMP))
				return;
			goto resync;
		}
		nw_close_window(st);
		st->restarts++;
		nw_start_stream(st, seq);
		out->rec_flags = NW_REC_STREAM_START | NW_REC_RESTART;
		first = 1;
	} else if (seq > st->max_seq) {
		if (nw_seq_too_far(st, seq - st->max_seq, el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_SEQ_JUMP))
				return;
			goto resync;
		}
		if (!nw_tx_follows(st, s->tx_ns, el)) {
			if (!nw_reject(st, out, stale, NW_ANOM_TIME_JUMP))
				return;
			goto resync;
		}
		if (seq - st->max_seq > NW_SEQ_JUMP_MAX) {
			/* An outage longer than 9.7 days: a new stream. */
			nw_close_window(st);
			st->restarts++;
			st->status |= NW_ST_MIDSTREAM;
			nw_start_stream(st, seq);
			out->rec_flags = NW_REC_STREAM_START | NW_REC_RESTART;
			first = 1;
		} else {
			nw_advance(st, seq, 1);
		}
	} else {
		__u64 back = st->max_seq - seq;
		__u64 bit;

		if (back >= NW_SEQ_WINDOW) {
			if (stale)
				goto resync;
			st->late++;
			return;
		}
		/* Inside the window its tx must sit where its seq says, within
		 * the latency allowance: not a day in the past. */
		if (s->tx_ns < st->max_tx_ns &&
		    st->max_tx_ns - s->tx_ns > NW_SLACK_NS + (back + 1) * nw_period_ns(st)) {
			nw_reject(st, out, 0, NW_ANOM_TIME_JUMP);
			return;
		}
		bit = 1ULL << back;
		if (st->seq_window & bit) {
			st->duplicates++;
			return;
		}
		st->seq_window |= bit;
		st->reordered++;
		out->rec_flags = NW_REC_REORDERED;
	}
	goto accept;

resync:
	/* Nothing of this stream was accepted for NW_RESYNC_NS while samples
	 * keep coming that do not fit it: whatever set it (a forged first
	 * sample, a sender we lost track of) gives way. */
	nw_close_window(st);
	st->restarts++;
	st->status |= NW_ST_MIDSTREAM;
	nw_start_stream(st, seq);
	out->rec_flags = NW_REC_STREAM_START | NW_REC_RESTART;
	out->anomaly = NW_ANOM_RESYNC + 1;
	first = 1;

accept:
	if (first) {
		/* A sender announces its tone and rate once per lifetime. */
		st->freq_uhz = s->freq_uhz;
		st->rate_uhz = s->rate_uhz;
		st->nonce = v2 ? s->nonce : 0;
		st->status = v2 ? st->status | NW_ST_NONCE : st->status & ~NW_ST_NONCE;
	}
	if (first || seq == st->max_seq)
		st->max_tx_ns = s->tx_ns;
	st->received++;
	if (!st->first_rx_ns)
		st->first_rx_ns = rx_ns;
	st->last_rx_ns = rx_ns;
	nw_timing(st, s->tx_ns, rx_ns, first);
	out->record = 1;
}

#endif /* NW_ACCOUNT_H */
