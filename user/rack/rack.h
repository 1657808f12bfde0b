/* SPDX-License-Identifier: MIT */
/* netwatch-rack internals shared by main.c and the two collection modes. */
#ifndef RACK_H
#define RACK_H

#include <stdint.h>
#include <stdio.h>

#include "drain.h"
#include "dump.h"
#include "log.h"
#include "options.h"

/* What every drained record flows into. The spectral analysis will hang
 * off here as one more consumer of rack_on_record. */
struct rack_sink {
	FILE *record_log; /* NULL unless --record-log */
	uint64_t write_errors;
};
void rack_on_record(void *user, const struct nw_server_rx *srv, const struct nw_record *rec);
void rack_sink_flush(const struct nw_log *log, struct rack_sink *sink);
/* Prints one dump line on stdout. */
void rack_print_dump(const struct nw_log *log, const struct nw_dump_info *info,
		     const struct nw_stats *stats, struct nw_dump_server *servers, size_t n);

/* One epoll over: the mode's data source, an interval timer, an optional
 * deadline and the termination signals (through a signalfd). */
struct rack_loop {
	int epfd, timer_fd, deadline_fd, signal_fd;
};
enum rack_event { RACK_EV_SOURCE = 1, RACK_EV_TICK = 2, RACK_EV_STOP = 4 };
int rack_loop_init(struct rack_loop *l, double interval, double duration, int signal_fd);
int rack_loop_add_source(struct rack_loop *l, int fd);
/* Blocks until something happens; a bitmask of rack_event. */
int rack_loop_wait(struct rack_loop *l);
void rack_loop_close(struct rack_loop *l);

int rack_run_kernel(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink);
int rack_run_socket(const struct nw_log *log, const struct rack_opts *o, int signal_fd,
		    struct rack_sink *sink);
int rack_unpin(const struct nw_log *log, const struct rack_opts *o);

#endif
