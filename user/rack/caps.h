/* SPDX-License-Identifier: MIT */
/* Dropping privileges once loading and attaching are done. */
#ifndef NW_CAPS_H
#define NW_CAPS_H

#include <stddef.h>

#include "log.h"

/* Keeps only the capabilities in `keep` (CAP_* numbers) in the effective
 * and permitted sets, and empties the inheritable, ambient and bounding
 * sets, so no later exec can regain anything. */
int nw_caps_keep_only(const struct nw_log *log, const int *keep, size_t n);

#endif
