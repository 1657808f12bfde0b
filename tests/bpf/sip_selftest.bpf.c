// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Test-only: runs the collector's own SipHash (bpf/nw_siphash.h, the code
 * nw_auth_ok() in bpf/collector.bpf.c runs) on an arbitrary 40-byte message,
 * so tests/bpf/test_siphash_bpf.c can check the in-kernel build against the
 * reference implementation's test vectors, which are not valid samples and
 * so cannot reach the collector's own check.
 *
 * Frame: key[16], message[40], expected tag[8], room[8] where the computed
 * tag is written. XDP_PASS when the expected tag matches, XDP_DROP when
 * not, XDP_ABORTED when the frame is too short. The key travels in the
 * frame, not in a map, so nothing here restates the collector's nw_key.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "nw_siphash.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define KEY_OFF 0
#define MSG_OFF NW_SIP_KEY_LEN
#define WANT_OFF (MSG_OFF + NW_SIP_MSG_LEN)
#define ROOM_OFF (WANT_OFF + NW_TAG_LEN)

SEC("xdp")
int nw_sip_selftest(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 tag;

	if ((void *)(data + ROOM_OFF + NW_TAG_LEN) > data_end)
		return XDP_ABORTED;
	tag = nw_siphash40(data + MSG_OFF, nw_sip_le64(data + KEY_OFF),
			   nw_sip_le64(data + KEY_OFF + 8));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*(__u64 *)(data + ROOM_OFF) = __builtin_bswap64(tag);
#else
	*(__u64 *)(data + ROOM_OFF) = tag;
#endif
	return tag == nw_sip_le64(data + WANT_OFF) ? XDP_PASS : XDP_DROP;
}
