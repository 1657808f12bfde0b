// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rack.h"

void rack_on_record(void *user, const struct nw_server_rx *srv, const struct nw_record *rec)
{
	struct rack_sink *sink = user;

	/* Liveness first: it is the one judge of an outage, and the cheapest. */
	if (sink->live)
		nw_live_record(sink->live, srv->slot, srv->server_id, rec);
	if (sink->analysis)
		nw_analysis_record(sink->analysis, srv->slot, srv->server_id, rec);
	if (!sink->record_log)
		return;
	if (fprintf(sink->record_log, "%u %llu %llu %llu %u\n", srv->server_id,
		    (unsigned long long)rec->seq, (unsigned long long)rec->tx_ns,
		    (unsigned long long)rec->rx_ns, (unsigned)rec->flags) < 0)
		sink->write_errors++;
}

void rack_sink_flush(const struct nw_log *log, struct rack_sink *sink)
{
	if (!sink->record_log)
		return;
	if (fflush(sink->record_log) && sink->write_errors++ == 0)
		nw_warn(log, "cannot write record log", "err=%s", strerror(errno));
}

void rack_print_dump(const struct nw_log *log, const struct nw_dump_info *info,
		     const struct nw_stats *stats, struct nw_dump_server *servers, size_t n)
{
	char *line = nw_dump_json(info, stats, servers, n);

	if (!line) {
		nw_error(log, "cannot build dump", NULL);
		return;
	}
	/* A closed stdout (EPIPE, SIGPIPE ignored) must not stop the collector. */
	if (puts(line) < 0 || fflush(stdout))
		nw_debug(log, "cannot write dump", "err=%s", strerror(errno));
	free(line);
}
