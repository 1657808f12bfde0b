// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * NetWatch in-kernel collector: recognises tone samples, stamps them with
 * CLOCK_TAI, counts them exactly per server and writes them to that server's
 * own ring buffer. One parse-and-record function behind an XDP and a tc entry.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "collector.h"
#include "nw_parse.h"
#include "nw_account.h"
#include "nw_siphash.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader before load. */
const volatile __u16 nw_port = NW_DEFAULT_PORT;
const volatile __u32 nw_rack_id = 0;
const volatile __u32 nw_discovery_per_sec = NW_DISCOVERY_PER_SEC_DEFAULT;

struct nw_ring_tmpl {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NW_RING_BYTES_DEFAULT);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NW_MAX_SLOTS_DEFAULT);
	__type(key, __u32);
	__type(value, struct nw_server_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NW_MAX_SLOTS_DEFAULT);
	__type(key, struct nw_server_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_index SEC(".maps");

/* server_id -> slot + 1 (0: ask nw_index) for server ids below max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NW_MAX_SLOTS_DEFAULT);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_direct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, NW_MAX_SLOTS_DEFAULT);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct nw_ring_tmpl);
} nw_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NW_DISCOVERY_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_discovery SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_disc_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_disc_limit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_meta SEC(".maps");

/* The rack's sample key (struct nw_key): written by userspace before the
 * program is attached, read-only to the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nw_key);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nw_key SEC(".maps");

enum nw_action { NW_ACT_PASS, NW_ACT_CONSUME };

/* With a key, a sample must carry the flag and the tag of its 40 bytes.
 * Without one (or before userspace has written the map) the tag is not
 * looked at: a keyed agent still reaches a rack that has no key. */
static __always_inline int nw_auth_ok(const __u8 *payload, const void *end,
				      const struct nw_sample *s)
{
	__u32 zero = 0;
	const struct nw_key *k = bpf_map_lookup_elem(&nw_key, &zero);

	if (!k || !k->enabled)
		return 1;
	if (!(s->flags & NW_FLAG_AUTH))
		return 0;
	/* v2: the nonce is tagged too, binding the sample to its sender's
	 * current lifetime (the bound is for the verifier; the parser checked). */
	if (s->flags & NW_FLAG_FABRIC) {
		if ((const void *)(payload + NW_WIRE_FABRIC_LEN) > end)
			return 0;
		return nw_sip_tag_ok_len(payload, NW_WIRE_FABRIC_LEN, s->tag, nw_sip_le64(k->key),
					 nw_sip_le64(k->key + 8));
	}
	if (s->version == NW_VERSION) {
		if ((const void *)(payload + NW_WIRE_V2_LEN) > end)
			return 0;
		return nw_sip_tag_ok_len(payload, NW_WIRE_V2_LEN, s->tag, nw_sip_le64(k->key),
					 nw_sip_le64(k->key + 8));
	}
	return nw_sip_tag_ok(payload, s->tag, nw_sip_le64(k->key), nw_sip_le64(k->key + 8));
}

static __always_inline void nw_discover(struct nw_stats *stats, const struct nw_sample *s,
					const struct nw_frame *f, __u64 now)
{
	__u32 zero = 0;
	struct nw_disc_limit *lim = bpf_map_lookup_elem(&nw_disc_limit, &zero);
	struct nw_discovery *ev;

	if (!lim)
		return;
	/* Per-CPU fixed window: an unknown flood costs userspace at most
	 * nw_discovery_per_sec events per CPU per second. */
	if (now - lim->window_start_ns >= 1000000000ULL) {
		lim->window_start_ns = now;
		lim->sent_in_window = 0;
	}
	if (lim->sent_in_window >= nw_discovery_per_sec) {
		stats->discovery_suppressed++;
		return;
	}
	ev = bpf_ringbuf_reserve(&nw_discovery, sizeof(*ev), 0);
	if (!ev) {
		stats->discovery_suppressed++;
		return;
	}
	lim->sent_in_window++;
	ev->rack_id = s->rack_id;
	ev->server_id = s->server_id;
	ev->freq_uhz = s->freq_uhz;
	ev->rate_uhz = s->rate_uhz;
	ev->seq = s->seq;
	ev->rx_ns = now;
	ev->family = f->family;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	__builtin_memcpy(ev->addr, f->addr, sizeof(ev->addr));
	bpf_ringbuf_submit(ev, 0);
	stats->discovery_sent++;
}

static __always_inline enum nw_action nw_collect(void *data, void *data_end)
{
	struct nw_frame f = {};
	struct nw_sample s = {};
	struct nw_outcome out = {};
	struct nw_server_key key = {};
	struct nw_server_state *st;
	struct nw_stats *stats;
	struct nw_record *rec;
	__u32 zero = 0, *slot, *direct, dslot;
	void *ring;
	__u64 now;
	int verdict, reason;

	stats = bpf_map_lookup_elem(&nw_stats, &zero);
	if (!stats)
		return NW_ACT_PASS;
	stats->packets++;

	verdict = nw_parse_frame(data, data_end, nw_port, &f);
	if (verdict == NW_FRAME_PASS)
		return NW_ACT_PASS;
	if (verdict == NW_FRAME_MALFORMED) {
		reason = f.reason;
		goto malformed;
	}
	reason = nw_parse_sample(f.payload, data_end, f.payload_len, &s);
	if (reason != NW_OK)
		goto malformed;
	/* What the IP stack would drop is not a sample either. */
	reason = nw_check_sums(data, data_end, &f);
	if (reason != NW_OK)
		goto malformed;
	/* Before anything reads or writes per-server state, discovery included:
	 * with a key, a forged sender can only raise malformed[auth]. */
	if (!nw_auth_ok(f.payload, data_end, &s)) {
		reason = NW_MAL_AUTH;
		goto malformed;
	}

	now = bpf_ktime_get_tai_ns();
	/* An inter-rack tone (docs/fabric.md): rack_id is its source, the
	 * stream is the path (source, NW_SERVER_FABRIC) into this rack. The
	 * parser made sure server_id is NW_SERVER_FABRIC exactly when the
	 * flag is set, so no server's key can name a path. */
	if (s.flags & NW_FLAG_FABRIC) {
		if (s.dst_rack != nw_rack_id) {
			stats->fabric_misdirected++;
			return NW_ACT_CONSUME;
		}
	} else if (s.rack_id != nw_rack_id) {
		stats->wrong_rack++;
		return NW_ACT_CONSUME;
	}
	/* Fast path: nw_direct[server_id] holds slot + 1 (an inlined array
	 * lookup instead of hashing the key). It is only a hint: the slot's
	 * state must name this server, else the index decides as before.
	 * NW_SERVER_FABRIC is past the array's end: paths take the index. */
	st = NULL;
	direct = bpf_map_lookup_elem(&nw_direct, &s.server_id);
	if (direct && *direct) {
		dslot = *direct - 1;
		st = bpf_map_lookup_elem(&nw_state, &dslot);
		if (st && (st->server_id != s.server_id || st->rack_id != s.rack_id))
			st = NULL;
	}
	if (st) {
		slot = &dslot;
	} else {
		key.rack_id = s.rack_id;
		key.server_id = s.server_id;
		slot = bpf_map_lookup_elem(&nw_index, &key);
		if (!slot) {
			stats->unknown_server++;
			nw_discover(stats, &s, &f, now);
			return NW_ACT_CONSUME;
		}
		st = bpf_map_lookup_elem(&nw_state, slot);
		if (!st) {
			stats->unknown_server++;
			return NW_ACT_CONSUME;
		}
	}

	bpf_spin_lock(&st->lock);
	nw_account(st, &s, now, &out);
	if (s.flags & NW_FLAG_FABRIC)
		st->mesh_epoch = s.mesh_epoch;
	bpf_spin_unlock(&st->lock);
	stats->samples++;
	if (s.flags & NW_FLAG_FABRIC)
		stats->fabric_samples++;
	if (out.anomaly > 0 && out.anomaly <= NW_ANOM__MAX)
		stats->anomalies[out.anomaly - 1]++;

	if (!out.record)
		return NW_ACT_CONSUME;
	ring = bpf_map_lookup_elem(&nw_rings, slot);
	if (!ring) {
		stats->no_ring++;
		return NW_ACT_CONSUME;
	}
	rec = bpf_ringbuf_reserve(ring, sizeof(*rec), 0);
	if (!rec) {
		stats->ring_full++;
		__sync_fetch_and_add(&st->ring_full, 1);
		return NW_ACT_CONSUME;
	}
	rec->seq = s.seq;
	rec->tx_ns = s.tx_ns;
	rec->rx_ns = now;
	rec->value_bits = s.value_bits;
	rec->flags = out.rec_flags;
	rec->reserved = 0;
	/* The drain empties every ring on its own short timer (NW_DRAIN_PERIOD_MS),
	 * so a record wakes it only when its ring is a quarter full: a wake-up per
	 * record costs an irq_work and an epoll wake-up on the sender's CPU, which
	 * at 10k servers x 20 Hz is most of the collector's cost. */
	if (bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 4)
		bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
	else
		bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return NW_ACT_CONSUME;

malformed:
	if (reason >= 0 && reason < NW_MAL__MAX)
		stats->malformed[reason]++;
	return NW_ACT_CONSUME;
}

SEC("xdp")
int nw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return nw_collect(data, data_end) == NW_ACT_CONSUME ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int nw_tc(struct __sk_buff *skb)
{
	void *data, *data_end;

	/* Pull the headers and a whole sample into the linear part, when the
	 * frame is that long; a shorter frame stays as it is. */
	bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	return nw_collect(data, data_end) == NW_ACT_CONSUME ? TC_ACT_SHOT : TC_ACT_OK;
}
