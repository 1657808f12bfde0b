/* SPDX-License-Identifier: MIT */
/* The nw_meta map: what a previous controller of this pinned set attached. */
#ifndef NW_META_H
#define NW_META_H

#include "collector.h"

int nw_meta_read(int meta_fd, struct nw_meta *m);
int nw_meta_write(int meta_fd, const struct nw_meta *m);
const char *nw_hook_name(__u32 hook);

#endif
