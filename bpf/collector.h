/* SPDX-License-Identifier: MIT */
/*
 * Shared by the collector (collector.bpf.c) and its loader in the rack
 * controller (user/rack/source/): the record the kernel hands to userspace,
 * the layouts and names of every collector map, and the sizes they are
 * created with. Included by bpf/ (against vmlinux.h) and user/rack (UAPI).
 */
#ifndef NW_COLLECTOR_H
#define NW_COLLECTOR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */
#endif

#include "nw_wire.h"

/* ------------------------------------------------------ kernel -> userspace */

#define NW_REC_REORDERED 0x0001U    /* arrived after a higher sequence */
#define NW_REC_STREAM_START 0x0002U /* first sample of a stream (start, restart) */
#define NW_REC_GOODBYE 0x0004U      /* goodbye; seq is the last generated sequence */
#define NW_REC_RESTART 0x0008U      /* stream start caused by a sender restart */

/* One record per accepted sample (and per goodbye) in the server's own ring. */
struct nw_record {
	__u64 seq;
	__u64 tx_ns; /* sender's CLOCK_TAI */
	__u64 rx_ns; /* receiver's CLOCK_TAI (bpf_ktime_get_tai_ns) */
	__u32 value_bits;
	__u16 flags; /* NW_REC_* */
	__u16 reserved;
};
_Static_assert(sizeof(struct nw_record) == 32, "record is 32 bytes");

/* ------------------------------------------------------------ map layouts */

#define NW_SEQ_WINDOW 64U /* bits in nw_server_state.seq_window */
/* A forward jump wider than this (9.7 days at 20 Hz) starts a new stream
 * instead of counting the gap lost: one forged or corrupt sequence number
 * must not add 2^63 to a counter that can never go down again. */
#define NW_SEQ_JUMP_MAX (1ULL << 24)

/* Plausibility of a sample against its stream (nw_account.h, docs/security.md
 * "Sample path"). The receiver's clock is the only one the collector trusts:
 * a sample may move a stream only as far as the time since the stream's last
 * accepted sample explains, at the stream's own rate. */
#define NW_CLOCK_MAX_NS (86400ULL * 1000000000ULL) /* |rx - tx| above a day: not a clock */
#define NW_SLACK_NS (5ULL * 1000000000ULL)         /* latency variation and reordering */
#define NW_REORDER_SEQS 32ULL                      /* sequences of reordering allowed on top */
#define NW_ELAPSED_CAP_NS 1000000000000000000ULL   /* 31 years: keeps the arithmetic in u64 */
/* A stream nothing was accepted from for this long gives way to the samples
 * that do arrive: state one forged sample set cannot outlive it. */
#define NW_RESYNC_NS (10ULL * 1000000000ULL)

/* Latency histogram of rx - tx: upper bounds (inclusive), in ns. The seed's
 * Prometheus buckets (1..1000 ms) plus finer ones below 1 ms and coarser
 * ones above 1 s; the last bucket is +Inf. */
#define NW_HIST_BOUNDS_NS                                                                         \
	{                                                                                         \
		50000ULL, 100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL, 5000000ULL,    \
			10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL,        \
			500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL \
	}
#define NW_HIST_FINITE 17U
#define NW_HIST_BUCKETS (NW_HIST_FINITE + 1U)

/* Why a valid, authenticated sample of a known server did not move its
 * stream (or, for resync, replaced it). Index into nw_stats.anomalies. */
enum nw_anomaly {
	NW_ANOM_SEQ_JUMP = 0, /* forward seq jump wider than the elapsed time explains */
	NW_ANOM_TIME_JUMP,    /* tx_ns went back, or further ahead than the elapsed time */
	NW_ANOM_CLOCK,        /* tx_ns more than NW_CLOCK_MAX_NS away from the receiver's clock */
	NW_ANOM_RESTART,      /* lower seq, newer tx, but too high for a sender started since
			       * the last sample: another sender with the same ids */
	NW_ANOM_GOODBYE,      /* a goodbye below the stream's highest seq or of another lifetime */
	NW_ANOM_LIFETIME,     /* wire v2: another nonce, not newer than the stream: a sample of
			       * an earlier sender lifetime (a replay) */
	NW_ANOM_RESYNC,       /* accepted: replaced a stream silent for NW_RESYNC_NS */
	NW_ANOM__MAX,
};

/* nw_server_state.status bits */
#define NW_ST_STARTED 0x01U   /* a stream is open */
#define NW_ST_CLOSED 0x02U    /* the last stream ended with a goodbye */
#define NW_ST_MIDSTREAM 0x04U /* registered from discovery: earlier seqs are not ours */
#define NW_ST_NONCE 0x08U     /* the stream is wire v2: `nonce` names its sender lifetime */

/* Per-server state, one array element per slot, updated under its lock. */
struct nw_server_state {
	struct bpf_spin_lock lock;
	__u32 status; /* NW_ST_* */
	__u32 rack_id;
	__u32 server_id;
	__u32 freq_uhz; /* as last announced by the sender */
	__u32 rate_uhz;
	__u64 received;   /* unique samples accepted into the window */
	__u64 lost;       /* sequences that left the window unseen */
	__u64 duplicates; /* copies of a sequence already accepted */
	__u64 reordered;  /* accepted after a higher sequence */
	__u64 late;       /* arrived after their sequence left the window */
	__u64 restarts;   /* sender restarted its sequence */
	__u64 goodbyes;
	__u64 ring_full;  /* accepted but the ring had no room */
	__u64 max_seq;    /* highest sequence of the open stream */
	__u64 seq_window; /* bit i set: max_seq - i was seen */
	__u64 max_tx_ns;  /* tx of max_seq: orders restarts against late packets */
	__u64 first_rx_ns;
	__u64 last_rx_ns;
	__s64 last_transit_ns;  /* rx - tx of the previous accepted sample */
	__u64 jitter_x16_ns;    /* RFC 3550 interarrival jitter J, scaled by 16 */
	__u64 latency_sum_ns;   /* sum of positive rx - tx */
	__u64 latency_negative; /* rx - tx < 0: sender clock ahead */
	__u64 latency_hist[NW_HIST_BUCKETS];
	__u64 anomalous;  /* samples dropped as implausible (nw_stats.anomalies by reason) */
	__u64 nonce;      /* with NW_ST_NONCE: the open stream's sender lifetime */
	__u32 mesh_epoch; /* a path (server_id NW_SERVER_FABRIC): the last sample's epoch */
	__u32 reserved;
};

/* Key of the slot index (hash map): which server owns which slot. A path
 * into this rack is {source rack, NW_SERVER_FABRIC}. */
struct nw_server_key {
	__u32 rack_id;
	__u32 server_id;
};

/* Global counters, one per CPU (BPF_MAP_TYPE_PERCPU_ARRAY, key 0). */
struct nw_stats {
	__u64 packets; /* frames the hook looked at */
	__u64 samples; /* valid samples of known servers */
	__u64 malformed[NW_MAL__MAX];
	__u64 unknown_server; /* valid sample, sender has no slot */
	__u64 wrong_rack;     /* valid sample for another rack id */
	__u64 no_ring;        /* slot registered but its ring is missing */
	__u64 ring_full;
	__u64 discovery_sent;
	__u64 discovery_suppressed; /* over the discovery rate limit or ring full */
	__u64 anomalies[NW_ANOM__MAX];
	/* Userspace only (0 in the kernel's map): discovered servers that earned
	 * their place, and those evicted from probation (probation.h). */
	__u64 discovery_promoted;
	__u64 discovery_evicted;
	__u64 discovery_probation; /* a gauge: servers on probation now */
	/* Inter-rack tones (docs/fabric.md): valid FABRIC samples addressed to
	 * another rack (dropped), and those accounted on a path (in `samples`
	 * too). Kept last so the userspace-only fields above keep their place. */
	__u64 fabric_misdirected;
	__u64 fabric_samples;
};

/* An unknown sender, reported to userspace through the discovery ring. */
struct nw_discovery {
	__u32 rack_id;
	__u32 server_id;
	__u32 freq_uhz;
	__u32 rate_uhz;
	__u64 seq;
	__u64 rx_ns;
	__u8 family; /* 4 or 6 */
	__u8 pad[7];
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
};

/* Discovery limiter state, one per CPU. */
struct nw_disc_limit {
	__u64 window_start_ns;
	__u64 sent_in_window;
};

/* Attach bookkeeping kept with the pinned maps, written by userspace only,
 * so a restarted controller (even after kill -9) knows what it owns. */
#define NW_HOOK_NONE 0U
#define NW_HOOK_XDP 1U
#define NW_HOOK_XDPGENERIC 2U
#define NW_HOOK_TC 3U
#define NW_HOOK_SOCKET 4U
struct nw_meta {
	__u32 hook; /* NW_HOOK_* */
	__u32 ifindex;
	__u32 created_clsact; /* we made the clsact qdisc and may remove it */
	__u32 tc_handle;
	__u32 tc_priority;
	__u32 port;
	__u32 rack_id;
	__u32 ring_bytes;
	__u64 started_ns; /* first start of this pinned set (CLOCK_REALTIME) */
	__u64 restarts;   /* controller starts that reused the pins */
};

/* The sample key (nw_key, one element, written by userspace before the
 * collector is attached; BPF_F_RDONLY_PROG: the program only reads it).
 * enabled 0: the rack has no key, tags are not checked (a tagged sample is
 * accepted as if untagged). enabled 1: every sample must carry the
 * SipHash-2-4 tag under `key` or it is counted NW_MAL_AUTH and dropped
 * before any lookup, accounting or discovery. */
struct nw_key {
	__u32 enabled;
	__u32 reserved;
	__u8 key[16]; /* crypto_shorthash key bytes; 8-aligned: read as two words */
};

/* Map names (at most 15 characters: the kernel's BPF_OBJ_NAME_LEN). */
#define NW_MAP_STATE "nw_state"
#define NW_MAP_INDEX "nw_index"
#define NW_MAP_RINGS "nw_rings"
#define NW_MAP_STATS "nw_stats"
#define NW_MAP_DISCOVERY "nw_discovery"
#define NW_MAP_DISC_LIMIT "nw_disc_limit"
#define NW_MAP_META "nw_meta"
#define NW_MAP_KEY "nw_key"
/* Array, server_id -> slot + 1 (0: not there, ask nw_index): a hint that
 * spares the collector the hash lookup; it trusts a hit only when the slot's
 * nw_server_state names the same rack and server. */
#define NW_MAP_DIRECT "nw_direct"
#define NW_PIN_ROOT "/sys/fs/bpf/netwatch"

#define NW_MAX_SLOTS_DEFAULT 1024U
#define NW_MAX_SLOTS_LIMIT 65536U
#define NW_RING_BYTES_DEFAULT 16384U /* 512 records: 25 s at 20 Hz */
/* The rack controller empties every ring at least this often; the collector
 * wakes it earlier only for a ring a quarter full (see collector.bpf.c). */
#define NW_DRAIN_PERIOD_MS 50U
#define NW_DISCOVERY_BYTES 65536U
#define NW_DISCOVERY_PER_SEC_DEFAULT 64U

#endif /* NW_COLLECTOR_H */
