/* SPDX-License-Identifier: MIT */
/* Where a rack's pinned maps and links live, and making sure bpffs is there. */
#ifndef NW_PINS_H
#define NW_PINS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"

#define NW_PATH_MAX 4096

/* "<pin_dir>/rack<N>" into buf. 0, or -1 when it does not fit. */
int nw_pins_rack_dir(char *buf, size_t size, const char *pin_dir, uint32_t rack);

/* "<rack_dir>/<name>" into buf. 0, or -1 when it does not fit. */
int nw_pins_path(char *buf, size_t size, const char *rack_dir, const char *name);

/* Mounts bpffs at /sys/fs/bpf when the pin dir lives below it and nothing
 * is mounted there, creates rack_dir (mode 0700) and checks it is on bpffs. */
int nw_pins_prepare(const struct nw_log *log, const char *rack_dir);

/* mkdir -p; 0 or -errno. */
int nw_mkdir_p(const char *path, mode_t mode);

/* 1 when `path` exists, 0 when it does not, -errno on other errors. */
int nw_pins_exists(const char *path);

/* Removes every NetWatch pin in rack_dir (maps, links) and the dir itself.
 * Missing files are fine: the result is "nothing pinned". */
int nw_pins_remove_all(const struct nw_log *log, const char *rack_dir);

#endif
