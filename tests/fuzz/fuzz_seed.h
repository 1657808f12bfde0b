/* SPDX-License-Identifier: MIT */
/* Writing a fuzzer's seed corpus: one file per named starting input. */
#ifndef NW_FUZZ_SEED_H
#define NW_FUZZ_SEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* dir/name holds exactly buf[0..len); any failure ends the fuzzer's seeding
 * run with the path in the message. */
static void write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(buf, 1, len, fp) != len) {
		perror(path);
		exit(1);
	}
	fclose(fp);
}

#endif
