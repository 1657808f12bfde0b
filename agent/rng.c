/* SPDX-License-Identifier: MIT */
#include "rng.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

double nw_normal(uint64_t a, uint64_t b)
{
	double u1 = nw_u01_open0(a);
	double u2 = nw_u01(b);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t nw_seed_from_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* Mixed twice so two agents started in the same ns with adjacent pids differ widely. */
	return nw_mix64(nw_mix64((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
			(uint64_t)getpid());
}
