// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Benchmark baseline: the least an XDP program on this path must do --
 * parse Ethernet/IPv4/UDP up to the destination port and pass the frame.
 * tests/bench/bench_collector.c compares the collector against it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u16 pt_port = 9999;

/* Counted so the parse cannot be optimised away. */
__u64 pt_ours = 0;

SEC("xdp")
int pt_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (udp->dest == bpf_htons(pt_port))
		pt_ours++;
	return XDP_PASS;
}
