// SPDX-License-Identifier: MIT
#include "meta.h"

#include <bpf/bpf.h>
#include <errno.h>

int nw_meta_read(int meta_fd, struct nw_meta *m)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(meta_fd, &zero, m) ? -errno : 0;
}

int nw_meta_write(int meta_fd, const struct nw_meta *m)
{
	__u32 zero = 0;

	return bpf_map_update_elem(meta_fd, &zero, m, BPF_ANY) ? -errno : 0;
}

const char *nw_hook_name(__u32 hook)
{
	switch (hook) {
	case NW_HOOK_XDP:
		return "xdp";
	case NW_HOOK_XDPGENERIC:
		return "xdpgeneric";
	case NW_HOOK_TC:
		return "tc";
	case NW_HOOK_SOCKET:
		return "socket";
	default:
		return "none";
	}
}
