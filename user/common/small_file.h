/* Reading a small configuration file (a topology, a peers file) whole,
 * with a size bound so a wrong path (a log, /dev/zero) cannot take the
 * process's memory. */
#ifndef NW_SMALL_FILE_H
#define NW_SMALL_FILE_H

#include <stddef.h>

/* The file's bytes in a malloc'ed buffer with a NUL after them (*len
 * excludes it), or NULL with err set ("No such file or directory",
 * "larger than N bytes", "cannot read", "out of memory") and errno kept
 * from a failed open so a caller can add a hint. */
char *nw_small_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
