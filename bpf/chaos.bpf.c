// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * netwatch-chaos's impairment for kernels without sch_netem: a tc (clsact
 * egress) program that drops (independently or in Gilbert-Elliott bursts),
 * duplicates and corrupts what an interface sends. Parameters live in a map
 * the tool writes and pins, so a later invocation can read or change them.
 *
 * A periodic outage drops everything for a fixed part of every period.
 *
 * Corruption flips one random bit of a NetWatch sample's magic and fixes the
 * UDP checksum: the frame reaches the collector intact as a datagram and is
 * counted there as malformed (reason magic), never as a lost sample or as a
 * plausible value (docs/chaos.md says why).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "nw_wire.h"
#include "chaos_params.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_HLEN_ 14
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_ARP_ 0x0806
#define IPPROTO_UDP_ 17
#define UDP_CSUM_OFF 6
#define BPF_F_MARK_MANGLED_0_ (1ULL << 5)

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_chaos_params);
} chaos_params SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_chaos_state);
} chaos_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_chaos_stats);
} chaos_stats SEC(".maps");

static __always_inline int chance(__u32 p)
{
	if (!p)
		return 0;
	if (p == NW_CHAOS_ALWAYS)
		return 1;
	return bpf_get_prandom_u32() < p;
}

/* Offset of the UDP header of a datagram to `port`, or -1. Fragments other
 * than the first carry no UDP header; first fragments are left alone too,
 * their checksum covers bytes this program cannot see. */
static __always_inline int udp_offset(struct __sk_buff *skb, __u16 port)
{
	__u8 b[2];
	__be16 dport;
	int off;

	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		struct { __u8 ver_ihl, tos; __be16 tot, id, frag; __u8 ttl, proto; } ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN_, &ip, sizeof(ip)))
			return -1;
		if ((ip.ver_ihl >> 4) != 4 || ip.proto != IPPROTO_UDP_ ||
		    (ip.frag & bpf_htons(0x3FFF)))
			return -1;
		off = ETH_HLEN_ + (ip.ver_ihl & 0x0F) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN_ + 6, b, 1) || b[0] != IPPROTO_UDP_)
			return -1;
		off = ETH_HLEN_ + 40;
	} else {
		return -1;
	}
	if (bpf_skb_load_bytes(skb, off + 2, &dport, sizeof(dport)) || dport != bpf_htons(port))
		return -1;
	return off;
}

static __always_inline void corrupt(struct __sk_buff *skb, const struct nw_chaos_params *p,
				    struct nw_chaos_stats *s)
{
	__be32 old, new;
	int off = udp_offset(skb, p->sample_port);

	if (off < 0 || off > 128)
		return; /* not a sample: corruption is only ever of samples */
	if (bpf_skb_load_bytes(skb, off + 8, &old, sizeof(old)) || old != bpf_htonl(NW_MAGIC))
		return;
	new = old ^ bpf_htonl(1U << (bpf_get_prandom_u32() & 31));
	if (bpf_skb_store_bytes(skb, off + 8, &new, sizeof(new), 0) ||
	    bpf_l4_csum_replace(skb, off + UDP_CSUM_OFF, old, new,
				BPF_F_MARK_MANGLED_0_ | sizeof(new))) {
		s->corrupt_failed++;
		return;
	}
	s->corrupted++;
}

SEC("tc")
int nw_chaos(struct __sk_buff *skb)
{
	__u32 k = 0, mark;
	struct nw_chaos_params *p = bpf_map_lookup_elem(&chaos_params, &k);
	struct nw_chaos_state *st = bpf_map_lookup_elem(&chaos_state, &k);
	struct nw_chaos_stats *s = bpf_map_lookup_elem(&chaos_stats, &k);
	int lost;

	if (!p || !st || !s)
		return TC_ACT_OK;
	if (skb->mark == NW_CHAOS_CLONE_MARK) {
		skb->mark = 0; /* our own duplicate on its second pass */
		return TC_ACT_OK;
	}
	/* Neighbour resolution is left alone: a lost ARP request stalls the
	 * whole stream for a second, which is not the loss that was asked for. */
	if (!p->enabled || skb->protocol == bpf_htons(ETH_P_ARP_))
		return TC_ACT_OK;
	s->packets++;

	/* An outage is a fixed schedule, not a draw: the monotonic clock's
	 * phase decides, so every server of a rack goes dark at its own phase
	 * but for the same length. */
	if (p->outage_period_ns && bpf_ktime_get_ns() % p->outage_period_ns < p->outage_len_ns) {
		s->dropped++;
		s->outage_dropped++;
		return TC_ACT_SHOT;
	}
	lost = chance(st->bad ? p->loss_bad : p->loss_good);
	if (st->bad) {
		if (chance(p->p_bg))
			st->bad = 0;
	} else if (chance(p->p_gb)) {
		st->bad = 1;
		s->bad_entries++;
	}
	if (lost) {
		s->dropped++;
		return TC_ACT_SHOT;
	}

	/* The copy is made before any corruption, as netem does: a duplicate
	 * and a corrupted original are two separate events downstream. */
	if (chance(p->duplicate)) {
		mark = skb->mark;
		skb->mark = NW_CHAOS_CLONE_MARK;
		if (bpf_clone_redirect(skb, skb->ifindex, 0) == 0)
			s->duplicated++;
		else
			s->dup_failed++;
		skb->mark = mark;
	}
	if (chance(p->corrupt))
		corrupt(skb, p, s);
	return TC_ACT_OK;
}
