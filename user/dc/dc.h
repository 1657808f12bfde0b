/* SPDX-License-Identifier: MIT */
/* netwatch-dc's pieces: the event loop over rack connections, HTTP and signals. */
#ifndef DC_DC_H
#define DC_DC_H

#include "log.h"
#include "options.h"

/* Runs until a signal arrives on `sfd` (or --duration passes). 0 or 1. */
int dc_run(const struct nw_log *log, const struct dc_opts *o, int sfd);

#endif
