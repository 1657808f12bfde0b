// SPDX-License-Identifier: MIT
#include "errline.h"

const char *nw_errline_escape(char *out, size_t size, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!size)
		return out;
	for (; in && *in; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= ' ' && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			out[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= size)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			if (o + 4 >= size)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

void nw_errline_print(FILE *f, const char *msg)
{
	char line[2048];

	fprintf(f, "netwatch-agent: %s\n", nw_errline_escape(line, sizeof(line), msg));
}
