/* SPDX-License-Identifier: MIT */
/* Consistent copies of the kernel's counters. */
#ifndef NW_SNAPSHOT_H
#define NW_SNAPSHOT_H

#include <stdint.h>

#include "collector.h"

/* nw_stats summed over every possible CPU. */
int nw_snapshot_stats(int stats_fd, struct nw_stats *sum);

/* One slot's state, copied under its spin lock (BPF_F_LOCK). */
int nw_snapshot_state(int state_fd, uint32_t slot, struct nw_server_state *st);

/* CLOCK_TAI now, ns: the clock the records are stamped with. */
uint64_t nw_now_tai_ns(void);
uint64_t nw_now_realtime_ns(void);

#endif
