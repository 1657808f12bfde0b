// SPDX-License-Identifier: MIT
#include "health_state.h"

#include <string.h>

static const char *const health_names[NW_HEALTH__COUNT] = {
	[NW_HEALTH_HEALTHY] = "healthy",   [NW_HEALTH_WARNING] = "warning",
	[NW_HEALTH_CRITICAL] = "critical", [NW_HEALTH_DOWN] = "down",
	[NW_HEALTH_LEFT] = "left",         [NW_HEALTH_WARMING] = "warming",
};

const char *nw_health_name(enum nw_health h)
{
	return (unsigned)h < NW_HEALTH__COUNT ? health_names[h] : "unknown";
}

int nw_health_parse(const char *name, enum nw_health *out)
{
	for (int h = 0; h < NW_HEALTH__COUNT; h++)
		if (name && !strcmp(name, health_names[h])) {
			*out = (enum nw_health)h;
			return 0;
		}
	return -1;
}
