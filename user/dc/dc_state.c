// SPDX-License-Identifier: MIT
#include "dc_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *dc_rack_state_name(enum dc_rack_state s)
{
	static const char *const names[DC_RACK__COUNT] = { "ok", "stale", "never" };

	return (unsigned)s < DC_RACK__COUNT ? names[s] : "unknown";
}

/* Index of rack_id, or of where it would be inserted. */
static size_t lower_bound(const struct dc_state *s, uint32_t rack_id)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->racks[mid].rack_id < rack_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct dc_rack *find(const struct dc_state *s, uint32_t rack_id)
{
	size_t i = lower_bound(s, rack_id);

	return i < s->n && s->racks[i].rack_id == rack_id ? &s->racks[i] : NULL;
}

const struct dc_rack *dc_state_find(const struct dc_state *s, uint32_t rack_id)
{
	return find(s, rack_id);
}

static struct dc_rack *insert(struct dc_state *s, uint32_t rack_id)
{
	size_t i = lower_bound(s, rack_id);

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct dc_rack *p = realloc(s->racks, cap * sizeof(*p));

		if (!p)
			return NULL;
		s->racks = p;
		s->cap = cap;
	}
	memmove(&s->racks[i + 1], &s->racks[i], (s->n - i) * sizeof(*s->racks));
	s->n++;
	memset(&s->racks[i], 0, sizeof(s->racks[i]));
	s->racks[i].rack_id = rack_id;
	return &s->racks[i];
}

int dc_state_init(struct dc_state *s, const struct dc_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	if (cfg->racks_expected > cfg->max_racks ||
	    (uint64_t)cfg->first_rack + cfg->racks_expected > NW_REPORT_MAX_RACK + 1ULL)
		return -1;
	for (uint32_t id = cfg->first_rack; id < cfg->first_rack + cfg->racks_expected; id++) {
		struct dc_rack *r = insert(s, id);

		if (!r) {
			dc_state_free(s);
			return -1;
		}
		r->expected = 1;
	}
	return 0;
}

void dc_state_free(struct dc_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		nw_report_free(&s->racks[i].last);
	free(s->racks);
	s->racks = NULL;
	s->n = s->cap = 0;
}

void dc_state_count_reject(struct dc_state *s, enum nw_report_reject why)
{
	if (why > NW_REJ_OK && why < NW_REJ__COUNT)
		s->rejected[why]++;
}

static int fresh(const struct dc_state *s, const struct dc_rack *k, uint64_t mono_ns)
{
	return dc_rack_state(s, k, mono_ns) == DC_RACK_OK;
}

static enum nw_report_reject check(struct dc_state *s, const struct nw_report *r, uint64_t conn_id,
				   uint32_t conn_rack, uint64_t wall_ns, uint64_t mono_ns)
{
	const struct dc_rack *known = find(s, r->rack_id);
	uint64_t others;
	/* Unauthenticated state binds only while the rack is fresh: a forged
	 * report cannot hold the real rack out for longer than --stale. */
	int binding = known && known->have &&
		      (fresh(s, known, mono_ns) || known->last.authenticated);

	if (conn_rack != DC_NO_RACK && conn_rack != r->rack_id)
		return NW_REJ_RACK_CLAIMED;
	/* Another open connection holds the rack. Only a report that proves it
	 * comes from the rack (a valid MAC) and is newer than everything seen
	 * may take the rack over: its controller restarted or reconnected while
	 * the old connection is still half-open. Without a key a claim is taken
	 * over only once the rack is stale (the holder is not reporting it). */
	if (known && known->owner && known->owner != conn_id &&
	    !(r->authenticated && known->have &&
	      nw_report_is_newer(known->last.boot_ns, known->last.seq, r->boot_ns, r->seq)) &&
	    (fresh(s, known, mono_ns) || known->last.authenticated))
		return NW_REJ_RACK_CLAIMED;
	if (!known && s->n >= s->cfg.max_racks)
		return NW_REJ_RANGE;
	if (s->cfg.max_skew_s > 0) {
		double d = ((double)r->time_ns - (double)wall_ns) / 1e9;
		double boot = ((double)r->boot_ns - (double)wall_ns) / 1e9;

		/* a rack did not start in the future either */
		if (fabs(d) > s->cfg.max_skew_s || boot > s->cfg.max_skew_s)
			return NW_REJ_REPLAY;
	}
	if (binding &&
	    !nw_report_is_newer(known->last.boot_ns, known->last.seq, r->boot_ns, r->seq))
		return NW_REJ_REPLAY;
	others = s->servers_total - (known && known->have ? known->last.nservers : 0);
	if (others + r->nservers > s->cfg.max_servers_total)
		return NW_REJ_TOO_MANY_SERVERS;
	/* paths_in rows likewise (issue 16): 64 bytes each, 64 MiB at most */
	others = s->paths_total - (known && known->have ? known->last.npaths : 0);
	if (others + r->npaths > DC_MAX_PATHS_TOTAL)
		return NW_REJ_TOO_LARGE;
	return NW_REJ_OK;
}

enum nw_report_reject dc_state_offer(struct dc_state *s, struct nw_report *r, uint64_t conn_id,
				     uint32_t *conn_rack, uint64_t wall_ns, uint64_t mono_ns,
				     uint64_t *evicted)
{
	return dc_state_offer_at(s, r, conn_id, conn_rack, wall_ns, mono_ns, mono_ns, evicted);
}

enum nw_report_reject dc_state_offer_at(struct dc_state *s, struct nw_report *r, uint64_t conn_id,
					uint32_t *conn_rack, uint64_t wall_ns, uint64_t mono_ns,
					uint64_t arrival_ns, uint64_t *evicted)
{
	enum nw_report_reject why = check(s, r, conn_id, *conn_rack, wall_ns, mono_ns);
	struct dc_rack *k;

	if (why == NW_REJ_OK) {
		k = find(s, r->rack_id);
		if (!k)
			k = insert(s, r->rack_id);
		/* Out of memory for one more rack: the report cannot be kept. */
		if (!k)
			why = NW_REJ_TOO_MANY_SERVERS;
	}
	if (why != NW_REJ_OK) {
		dc_state_count_reject(s, why);
		return why;
	}
	if (k->have) {
		s->servers_total -= k->last.nservers;
		s->paths_total -= k->last.npaths;
		nw_report_free(&k->last);
	}
	k->last = *r;
	memset(r, 0, sizeof(*r));
	s->servers_total += k->last.nservers;
	s->paths_total += k->last.npaths;
	k->have = 1;
	k->rx_ns = arrival_ns < mono_ns ? arrival_ns : mono_ns;
	if (k->heard_ns < k->rx_ns)
		k->heard_ns = k->rx_ns;
	k->accepted++;
	*evicted = k->owner != conn_id ? k->owner : 0;
	k->owner = conn_id;
	*conn_rack = k->rack_id;
	s->accepted++;
	return NW_REJ_OK;
}

void dc_state_heard(struct dc_state *s, uint32_t rack_id, uint64_t conn_id, uint64_t arrival_ns)
{
	struct dc_rack *k;

	if (rack_id == DC_NO_RACK)
		return;
	k = find(s, rack_id);
	if (k && k->owner == conn_id && k->heard_ns < arrival_ns)
		k->heard_ns = arrival_ns;
}

size_t dc_state_forget(struct dc_state *s, uint64_t mono_ns)
{
	uint64_t after = (uint64_t)((s->cfg.stale_s + s->cfg.forget_s) * 1e9);
	size_t out = 0, dropped;

	if (s->cfg.forget_s <= 0)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		struct dc_rack *k = &s->racks[i];
		uint64_t last = k->heard_ns > k->rx_ns ? k->heard_ns : k->rx_ns;

		if (!k->expected && !k->owner && k->have && mono_ns > last &&
		    mono_ns - last > after) {
			s->servers_total -= k->last.nservers;
			s->paths_total -= k->last.npaths;
			nw_report_free(&k->last);
			continue;
		}
		if (out != i)
			s->racks[out] = *k;
		out++;
	}
	dropped = s->n - out;
	s->n = out;
	s->forgotten += dropped;
	return dropped;
}

void dc_state_release(struct dc_state *s, uint32_t rack_id, uint64_t conn_id)
{
	struct dc_rack *k;

	if (rack_id == DC_NO_RACK)
		return;
	k = find(s, rack_id);
	if (k && k->owner == conn_id)
		k->owner = 0;
}

enum dc_rack_state dc_rack_state(const struct dc_state *s, const struct dc_rack *r,
				 uint64_t mono_ns)
{
	if (!r->have)
		return DC_RACK_NEVER;
	return dc_rack_age_s(r, mono_ns) > s->cfg.stale_s ? DC_RACK_STALE : DC_RACK_OK;
}

double dc_rack_age_s(const struct dc_rack *r, uint64_t mono_ns)
{
	uint64_t last = r->heard_ns > r->rx_ns ? r->heard_ns : r->rx_ns;

	if (!r->have)
		return NAN;
	return mono_ns > last ? (double)(mono_ns - last) / 1e9 : 0.0;
}

double dc_rack_contribution(const struct dc_state *s, const struct dc_rack *r, uint64_t mono_ns)
{
	return dc_rack_state(s, r, mono_ns) == DC_RACK_OK ? r->last.rack_score : 0.0;
}

double dc_state_score(const struct dc_state *s, uint64_t mono_ns)
{
	double sum = 0;

	if (!s->n)
		return 0.0;
	for (size_t i = 0; i < s->n; i++)
		sum += dc_rack_contribution(s, &s->racks[i], mono_ns);
	return sum / (double)s->n;
}

size_t dc_state_reporting(const struct dc_state *s, uint64_t mono_ns)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += dc_rack_state(s, &s->racks[i], mono_ns) == DC_RACK_OK;
	return n;
}
