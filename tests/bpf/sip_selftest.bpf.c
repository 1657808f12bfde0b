// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Test-only: runs the collector's own SipHash (bpf/nw_siphash.h, the code
 * nw_auth_ok() in bpf/collector.bpf.c runs) on an arbitrary 40-byte message,
 * so tests/bpf/test_siphash_bpf.c can check the in-kernel build against the
 * reference implementation's test vectors, which are not valid samples and
 * so cannot reach the collector's own check.
 *
 * Frame: message[40], expected tag[8], room[8] where the computed tag is
 * written. XDP_PASS when the expected tag matches, XDP_DROP when not,
 * XDP_ABORTED when the frame is too short or no key was written.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "collector.h"
#include "nw_siphash.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The key as the collector keeps it (struct nw_key); only its bytes are
 * read here, enabled or not. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_key);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} sip_key SEC(".maps");

SEC("xdp")
int nw_sip_selftest(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	const struct nw_key *k = bpf_map_lookup_elem(&sip_key, &zero);
	__u64 tag;

	if (!k || (void *)(data + NW_WIRE_LEN + 2 * NW_TAG_LEN) > data_end)
		return XDP_ABORTED;
	tag = nw_siphash40(data, nw_sip_le64(k->key), nw_sip_le64(k->key + 8));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*(__u64 *)(data + NW_WIRE_LEN + NW_TAG_LEN) = __builtin_bswap64(tag);
#else
	*(__u64 *)(data + NW_WIRE_LEN + NW_TAG_LEN) = tag;
#endif
	return tag == nw_sip_le64(data + NW_WIRE_LEN) ? XDP_PASS : XDP_DROP;
}
