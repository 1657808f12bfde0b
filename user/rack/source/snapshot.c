// SPDX-License-Identifier: MIT
#include "snapshot.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int nw_snapshot_stats(int stats_fd, struct nw_stats *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (sizeof(struct nw_stats) + 7) &
			~(size_t)7; /* kernel rounds per-CPU values to 8 */
	__u32 zero = 0;
	__u8 *vals;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, stride);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(stats_fd, &zero, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	for (int c = 0; c < ncpu; c++) {
		const __u64 *src = (const __u64 *)(vals + (size_t)c * stride);
		__u64 *dst = (__u64 *)sum;

		/* nw_stats is all __u64: sum it field-blind so a new counter needs no code here. */
		for (size_t i = 0; i < sizeof(*sum) / sizeof(__u64); i++)
			dst[i] += src[i];
	}
	free(vals);
	return 0;
}

int nw_snapshot_state(int state_fd, uint32_t slot, struct nw_server_state *st)
{
	memset(st, 0, sizeof(*st));
	return bpf_map_lookup_elem_flags(state_fd, &slot, st, BPF_F_LOCK) ? -errno : 0;
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t nw_now_tai_ns(void)
{
	return now_ns(CLOCK_TAI);
}

uint64_t nw_now_realtime_ns(void)
{
	return now_ns(CLOCK_REALTIME);
}
