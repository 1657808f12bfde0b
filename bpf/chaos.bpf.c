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

#include "nw_parse.h"
#include "chaos_params.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_ARP_ 0x0806
#define ETH_P_IP_ 0x0800
#define ETH_HLEN_ 14
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

/* Flips one random bit of a sample's magic and fixes the UDP checksum.
 * A sample is what the collector's own parser (nw_parse_frame) reads as a
 * datagram to the sample port whose payload starts with the magic: so
 * fragments are left alone (their checksum covers bytes not seen here),
 * and VLAN-tagged samples are found as the collector finds them. */
static __always_inline void corrupt(struct __sk_buff *skb, const struct nw_chaos_params *p,
				    struct nw_chaos_stats *s)
{
	const struct nw_wire_view *w;
	struct nw_frame f = {};
	void *data, *data_end;
	__be32 old, new;
	__u32 off;

	/* The parser reads the linear part: pull the headers and a sample into
	 * it (as the collector's tc entry does); a shorter frame stays as it is. */
	bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (nw_parse_frame(data, data_end, p->sample_port, &f) != NW_FRAME_OURS)
		return; /* not a sample: corruption is only ever of samples */
	w = (const struct nw_wire_view *)f.payload;
	if (f.payload_len < sizeof(w->magic) || (const void *)(&w->magic + 1) > data_end ||
	    w->magic != bpf_htonl(NW_MAGIC))
		return;
	old = w->magic;
	off = f.udp_off;
	new = old ^ bpf_htonl(1U << (bpf_get_prandom_u32() & 31));
	if (bpf_skb_store_bytes(skb, off + sizeof(struct nw_udp), &new, sizeof(new), 0) ||
	    bpf_l4_csum_replace(skb, off + __builtin_offsetof(struct nw_udp, check), old, new,
				BPF_F_MARK_MANGLED_0_ | sizeof(new))) {
		s->corrupt_failed++;
		return;
	}
	s->corrupted++;
}

/* A fabric path's filter judges only the IPv4 packets between its two
 * prefixes (chaos_params.h): 1 when this one is such a packet. */
static __always_inline int matches(struct __sk_buff *skb, const struct nw_chaos_params *p)
{
	__be32 a[2]; /* saddr, daddr */

	if (skb->protocol != bpf_htons(ETH_P_IP_) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN_ + 12, a, sizeof(a)))
		return 0;
	return (a[0] & p->src_mask) == p->src_net && (a[1] & p->dst_mask) == p->dst_net;
}

SEC("tc")
int nw_chaos(struct __sk_buff *skb)
{
	__u32 k = 0, mark;
	int pass;
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
	/* A path's filter hands what is not its own (and what it lets
	 * through) to the next filter: the link's fault still sees it. */
	pass = (p->flags & NW_CHAOS_F_MATCH) ? TC_ACT_UNSPEC : TC_ACT_OK;
	if (!p->enabled || skb->protocol == bpf_htons(ETH_P_ARP_))
		return pass;
	if ((p->flags & NW_CHAOS_F_MATCH) && !matches(skb, p)) {
		s->unmatched++;
		return pass;
	}
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
	return pass;
}
