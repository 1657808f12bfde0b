#include "small_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *nw_small_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int bad;

	if (!f) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	buf = malloc(max + 2);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* one byte past the bound tells "exactly max" from "larger" */
	n = fread(buf, 1, max + 1, f);
	bad = ferror(f);
	fclose(f);
	if (bad || n > max) {
		if (bad)
			snprintf(err, errlen, "cannot read");
		else
			snprintf(err, errlen, "larger than %zu bytes", max);
		free(buf);
		errno = bad ? EIO : EFBIG; /* never a stale ENOENT for the caller's hint */
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}
