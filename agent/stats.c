/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <inttypes.h>

#include "plan.h"

void nw_stats_account(struct nw_server_stats *st, const struct nw_batch *b)
{
	int first_failed = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct nw_counters *c = &st[b->owner[i]].c;

		switch (b->kind[i]) {
		case NW_MSG_FIRST:
			first_failed = !b->ok[i];
			if (b->ok[i])
				c->sent++;
			else
				c->send_failed++;
			break;
		case NW_MSG_DUP:
			if (!b->ok[i])
				break; /* an extra copy that failed changes nothing the receiver sees */
			if (first_failed) {
				c->send_failed--;
				c->sent++;
				first_failed = 0;
			} else {
				c->duplicated++;
			}
			break;
		default:
			if (b->ok[i])
				c->goodbyes++;
			break;
		}
	}
}

void nw_counters_add(struct nw_counters *sum, const struct nw_counters *c)
{
	sum->generated += c->generated;
	sum->sent += c->sent;
	sum->dropped += c->dropped;
	sum->duplicated += c->duplicated;
	sum->send_failed += c->send_failed;
	sum->late_skipped += c->late_skipped;
	sum->goodbyes += c->goodbyes;
}

static void counters_json(FILE *f, const struct nw_counters *c)
{
	fprintf(f,
		"\"generated\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"send_failed\":%" PRIu64 ",\"late_skipped\":%" PRIu64,
		c->generated, c->sent, c->dropped, c->duplicated, c->send_failed, c->late_skipped);
}

void nw_report_json(FILE *f, const struct nw_server_stats *st, uint32_t n, uint32_t max_listed,
		    int has_seed, uint64_t seed)
{
	struct nw_counters sum = { 0 };
	char hz[32];

	for (uint32_t i = 0; i < n; i++)
		nw_counters_add(&sum, &st[i].c);
	fputc('{', f);
	counters_json(f, &sum);
	fprintf(f, ",\"goodbyes\":%" PRIu64, sum.goodbyes);
	if (has_seed)
		fprintf(f, ",\"seed\":%" PRIu64, seed);
	if (n > max_listed) {
		fputs(",\"servers_omitted\":true}\n", f);
		return;
	}
	fputs(",\"servers\":[", f);
	for (uint32_t i = 0; i < n; i++) {
		const struct nw_server_stats *s = &st[i];

		nw_uhz_format(s->freq_uhz, hz, sizeof(hz));
		fprintf(f, "%s{\"rack\":%u,\"server\":%" PRIu32 ",\"freq_hz\":%s,", i ? "," : "",
			(unsigned)s->rack, s->server, hz);
		counters_json(f, &s->c);
		/* seq is the tick index, so the last generated seq is generated - 1. */
		if (s->c.generated)
			fprintf(f, ",\"last_seq\":%" PRIu64 "}", s->c.generated - 1);
		else
			fputs(",\"last_seq\":null}", f);
	}
	fputs("]}\n", f);
}
