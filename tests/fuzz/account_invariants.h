/* SPDX-License-Identifier: MIT */
/*
 * What every input to the accounting (bpf/nw_account.h) must leave true,
 * shared by the fuzzers that drive it (fuzz_parse: whole frames; fuzz_account:
 * sequences of samples on a controlled clock). docs/security.md, "Sample path".
 */
#ifndef NW_ACCOUNT_INVARIANTS_H
#define NW_ACCOUNT_INVARIANTS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nw_account.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static inline void check_monotonic(const struct nw_server_state *a, const struct nw_server_state *b)
{
	CHECK(b->received >= a->received);
	CHECK(b->lost >= a->lost);
	CHECK(b->duplicates >= a->duplicates);
	CHECK(b->reordered >= a->reordered);
	CHECK(b->late >= a->late);
	CHECK(b->restarts >= a->restarts);
	CHECK(b->goodbyes >= a->goodbyes);
	CHECK(b->anomalous >= a->anomalous);
	CHECK(b->latency_negative >= a->latency_negative);
	CHECK(b->latency_sum_ns >= a->latency_sum_ns);
	uint64_t ha = 0, hb = 0;
	for (unsigned i = 0; i < NW_HIST_BUCKETS; i++) {
		CHECK(b->latency_hist[i] >= a->latency_hist[i]);
		ha += a->latency_hist[i];
		hb += b->latency_hist[i];
	}
	/* One histogram entry per accepted sample. */
	CHECK(hb - ha == b->received - a->received);
	/* reordered samples are received samples */
	CHECK(b->reordered <= b->received);
	/* At most one of each per input. */
	CHECK(b->received - a->received <= 1 && b->restarts - a->restarts <= 1);
	CHECK(b->anomalous - a->anomalous <= 1 && b->goodbyes - a->goodbyes <= 1);
	if (b->status & NW_ST_STARTED)
		CHECK(!(b->status & NW_ST_MIDSTREAM));
	/* Timing stays within what a day of clock difference can give. */
	CHECK(b->jitter_x16_ns <= 16ULL * 2 * NW_CLOCK_MAX_NS);
	CHECK(b->last_transit_ns <= (int64_t)NW_CLOCK_MAX_NS &&
	      b->last_transit_ns >= -(int64_t)NW_CLOCK_MAX_NS);
}

/* No state one input leaves is permanent: a sender that starts now (seq 0,
 * its clock 1 ms behind ours, 20 Hz) is counted again within NW_RESYNC_NS
 * and a window of samples, whatever the state. Runs on a copy. */
static inline void check_recovers(const struct nw_server_state *from, uint64_t rx)
{
	struct nw_server_state st = *from;
	const uint64_t period = 50000000ULL;
	const uint64_t steps = NW_RESYNC_NS / period + 2 * NW_SEQ_WINDOW + 2;
	uint64_t got = 0;

	for (uint64_t k = 0; k < steps && got < 2; k++) {
		struct nw_sample s = { .rate_uhz = 20000000, .freq_uhz = 1000000, .seq = k };
		struct nw_server_state prev = st;

		s.version = NW_VERSION;
		s.nonce = 0x5EED; /* a lifetime nobody else used */
		struct nw_outcome out;

		rx += period;
		s.tx_ns = rx - 1000000;
		nw_account(&st, &s, rx, &out);
		check_monotonic(&prev, &st);
		got += st.received - prev.received;
	}
	CHECK(got == 2);
}
/* One step: `s` at our time rx on state *st, with every per-input check. */
static inline void account_checked(struct nw_server_state *st, const struct nw_sample *s,
				   uint64_t rx, struct nw_outcome *out)
{
	struct nw_server_state prev = *st;
	uint64_t room = nw_seq_room(&prev, nw_elapsed(&prev, rx));

	nw_account(st, s, rx, out);
	check_monotonic(&prev, st);
	/* No input adds more to `lost` than the time since the stream's last
	 * accepted sample explains (plus the window it closes). */
	CHECK(st->lost - prev.lost <= room + NW_SEQ_WINDOW);
	CHECK(out->anomaly <= NW_ANOM__MAX);
	CHECK(out->record == 0 || out->record == 1);
	if (out->anomaly && out->anomaly != NW_ANOM_RESYNC + 1) {
		/* Dropped: the stream did not move. */
		CHECK(st->anomalous == prev.anomalous + 1 && !out->record);
		CHECK(st->max_seq == prev.max_seq && st->max_tx_ns == prev.max_tx_ns &&
		      st->seq_window == prev.seq_window && st->status == prev.status &&
		      st->lost == prev.lost);
	}
	if (out->record && !(out->rec_flags & NW_REC_GOODBYE))
		CHECK(st->received == prev.received + 1);
	if (!out->record)
		CHECK(st->received == prev.received);
	if (out->rec_flags & NW_REC_GOODBYE)
		CHECK(st->goodbyes == prev.goodbyes + 1 && (st->status & NW_ST_CLOSED));
	if (out->rec_flags & NW_REC_RESTART)
		CHECK(st->restarts == prev.restarts + 1);
	/* Every sequence the window passed over is accounted exactly once:
	 * after a goodbye the window is full. */
	if (st->status & NW_ST_CLOSED)
		CHECK(st->seq_window == ~0ULL);
}

#endif /* NW_ACCOUNT_INVARIANTS_H */
