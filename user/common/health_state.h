/* SPDX-License-Identifier: MIT */
/* A server's health state as every tier shows it: rack view, /metrics,
 * reports to the DC. */
#ifndef NW_HEALTH_STATE_H
#define NW_HEALTH_STATE_H

enum nw_health {
	NW_HEALTH_HEALTHY = 0,
	NW_HEALTH_WARNING,
	NW_HEALTH_CRITICAL,
	NW_HEALTH_DOWN, /* silent for more than --down-after sample periods */
	NW_HEALTH_LEFT, /* the stream was closed by the agent's goodbye */
	/* Up, but no measurement backs a class yet: starting, or just back
	 * from an outage, until the short scale holds enough slots of its own
	 * (multiscale.h). Neither healthy nor a fault: the score leaves it
	 * out. Last, so the values above keep their meaning. */
	NW_HEALTH_WARMING,
	NW_HEALTH__COUNT,
};

/* "healthy", "warning", "critical", "down", "left", "warming"; "unknown"
 * out of range. */
const char *nw_health_name(enum nw_health h);
/* The inverse: 0 and *out set, or -1 for any other text. */
int nw_health_parse(const char *name, enum nw_health *out);

#endif
