// SPDX-License-Identifier: MIT
/* One fault as JSON (scope.h): the same object in the DC's fabric.faults
 * and the rack's faults (docs/fabric.md section 6, docs/dc.md "Fabric"). */
#include <math.h>

#include "scope.h"

static void put_num(struct nw_buf *b, const char *key, double x)
{
	if (isfinite(x))
		nw_buf_printf(b, "\"%s\":%.9g", key, x);
	else
		nw_buf_printf(b, "\"%s\":null", key);
}

static void put_member(struct nw_buf *b, uint64_t key)
{
	uint32_t hi = (uint32_t)((key & ~NW_SCOPE_PATH_BIT) >> 32), lo = (uint32_t)key;

	if (key & NW_SCOPE_PATH_BIT)
		nw_buf_printf(b, "\"path:%u>%u\"", lo, hi);
	else if (lo == NW_SCOPE_CONTROLLER_ID)
		nw_buf_printf(b, "\"controller:%u\"", hi);
	else
		nw_buf_printf(b, "\"server:%u/%u\"", hi, lo);
}

void nw_scope_fault_json(const struct nw_scope_fault *f, struct nw_buf *b)
{
	char name[48];

	nw_scope_fault_name(f, name, sizeof(name));
	nw_buf_printf(b, "{\"id\":");
	put_member(b, f->id);
	nw_buf_printf(b, ",\"name\":\"%s\",\"scope\":\"%s\",\"subject\":", name,
		      nw_scope_name(f->scope));
	switch (f->scope) {
	case NW_SCOPE_SERVER:
		nw_buf_printf(b, "{\"rack_id\":%u,\"server_id\":%u}", f->rack_id, f->server_id);
		break;
	case NW_SCOPE_PATH:
		nw_buf_printf(b, "{\"src_rack\":%u,\"dst_rack\":%u,\"both_directions\":%s}",
			      f->src_rack, f->dst_rack, f->both_directions ? "true" : "false");
		break;
	case NW_SCOPE_RACK:
		nw_buf_printf(b, "{\"rack_id\":%u}", f->rack_id);
		break;
	default:
		nw_buf_put(b, "{}", 2);
		break;
	}
	if (f->cause != NW_CAUSE_NONE)
		nw_buf_printf(b, ",\"cause\":\"%s\"", nw_scope_cause_name(f->cause));
	else
		nw_buf_put(b, ",\"cause\":null", 13);
	nw_buf_printf(b, ",\"since\":%llu,\"reported_ns\":%llu,\"members\":[",
		      (unsigned long long)f->since_ns, (unsigned long long)f->reported_ns);
	for (size_t i = 0; i < f->nmembers && i < NW_SCOPE_JSON_MEMBERS; i++) {
		if (i)
			nw_buf_put(b, ",", 1);
		put_member(b, f->members[i]);
	}
	nw_buf_printf(b, "],\"members_total\":%zu,", f->nmembers);
	put_num(b, "loss_ratio", f->loss_ratio);
	nw_buf_put(b, ",", 1);
	put_num(b, "period_s", f->period_s);
	nw_buf_printf(b, ",\"scope_changes\":%u}", f->scope_changes);
}

void nw_scope_reported_json(const struct nw_scope_state *st, struct nw_buf *b)
{
	size_t listed = 0;

	nw_buf_put(b, "[", 1);
	for (size_t i = 0; st && i < st->faults.n; i++) {
		if (!st->faults.f[i].reported)
			continue;
		if (listed++)
			nw_buf_put(b, ",", 1);
		nw_scope_fault_json(&st->faults.f[i], b);
	}
	nw_buf_put(b, "]", 1);
}
