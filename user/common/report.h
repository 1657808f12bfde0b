/* SPDX-License-Identifier: MIT */
/*
 * Rack -> DC reports: one frame per rack per interval over TCP. This header
 * is the contract between netwatch-rack (encoder, reporter) and netwatch-dc
 * (parser, checks); docs/report-protocol.md describes the same bytes for
 * people.
 *
 * Frame (all integers big-endian):
 *     0  3  magic "NWR"
 *     3  1  version (1)
 *     4  1  flags: at most one MAC kind (report_mac.h):
 *             NW_REPORT_FLAG_MAC         HMAC-SHA-256 (racks before BLAKE2b)
 *             NW_REPORT_FLAG_MAC_BLAKE2B keyed BLAKE2b-256 (racks before 0x04)
 *             NW_REPORT_FLAG_MAC_XCHACHA XChaCha20-Poly1305 (what racks send)
 *             two MAC bits, or any other bit: NW_REJ_BAD_FRAME
 *     5  3  reserved, zero
 *     8  4  payload length L, 2 .. NW_REPORT_MAX_PAYLOAD
 *    12  L  payload: one JSON object, UTF-8 (written by jansson, read by
 *             yajl's streaming parser: report_parse.c)
 *  12+L 32  MAC(report key, bytes 0 .. 12+L-1), when flagged 0x01 or 0x02:
 *             HMAC-SHA-256 (crypto_auth_hmacsha256) or BLAKE2b with a 32-byte
 *             output keyed with the report key (crypto_generichash)
 *  12+L 40  when flagged 0x04: a 24-byte random nonce, then the 16-byte tag
 *             of crypto_aead_xchacha20poly1305_ietf_encrypt_detached with an
 *             empty message and bytes 0 .. 12+L-1 as additional data
 *
 * Payload (unknown keys are ignored, duplicate keys refused):
 *   {"v":1, "rack_id":3, "boot_ns":<u64>, "seq":<u64>, "time_ns":<u64>,
 *    "interval_s":1.0, "rack_score":0.97,
 *    "servers":[{"id":12, "class":"healthy", "error":0.013, "snr_db":18.9,
 *                "loss_ratio":0.0, "jitter_s":0.00012, "up":true}, ...]}
 *   boot_ns: CLOCK_REALTIME of the rack controller's start; seq counts from
 *   1 per boot. (boot_ns, seq) increases strictly per rack, so the DC can
 *   refuse a replayed report (NW_REJ_REPLAY) across rack restarts.
 *   class: "healthy" | "warning" | "critical" | "down" | "left".
 *   error, snr_db: null until the server has been analysed.
 */
#ifndef NW_REPORT_H
#define NW_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"
#include "buf.h"
#include "health_state.h"
#include "report_mac.h"

#define NW_REPORT_DEFAULT_PORT 9990
#define NW_REPORT_VERSION 1
#define NW_REPORT_HDR_LEN 12U
#define NW_REPORT_MAX_PAYLOAD (4U << 20) /* 4 MiB: 16384 servers fit with room */
#define NW_REPORT_MAX_SERVERS 16384U
#define NW_REPORT_MAX_RACK 65535U /* the wire's rack id is 16 bits */
#define NW_REPORT_MAX_SERVER_ID 0xFFFFFFFFU
#define NW_REPORT_SNR_LIMIT_DB 400.0 /* |snr_db| above this is out of range */
#define NW_REPORT_MAX_INTERVAL_S 3600.0
/* Budgets checked on the payload's bytes before jansson sees it: every JSON
 * value jansson allocates follows a '{', '[', ',' or ':' byte, so these
 * bound its memory (measured: at most ~40 MiB instead of ~320 MiB for 4 MiB
 * of "{},{},..."). A full report needs 1 container and 14 separators per
 * server; the rest is room for keys a later v1 may add. Over: TOO_LARGE. */
#define NW_REPORT_MAX_CONTAINERS (2U * NW_REPORT_MAX_SERVERS + 64U)  /* '{' and '[' bytes */
#define NW_REPORT_MAX_SEPARATORS (24U * NW_REPORT_MAX_SERVERS + 64U) /* ',' and ':' bytes */
/* Keys the DC does not know, over the whole payload: each is remembered to
 * refuse a duplicate (report_parse.c). A power of two. Over: TOO_LARGE. */
#define NW_REPORT_MAX_UNKNOWN_KEYS 4096U

/* Why a report (or its frame) was refused: the DC's
 * netwatch_dc_reports_rejected_total{reason} label. */
enum nw_report_reject {
	NW_REJ_OK = 0,
	NW_REJ_BAD_FRAME, /* wrong magic, version, flags (unknown bit, two MAC
			   * kinds) or reserved bytes */
	NW_REJ_TOO_LARGE, /* payload length 0, 1 or over NW_REPORT_MAX_PAYLOAD,
				  * or over NW_REPORT_MAX_CONTAINERS/_SEPARATORS,
				  * or more than NW_REPORT_MAX_UNKNOWN_KEYS keys */
	NW_REJ_TRUNCATED, /* connection ended or stalled inside a frame */
	NW_REJ_JSON,      /* not JSON (NaN / Infinity literals included) */
	NW_REJ_DUPLICATE_KEY,
	NW_REJ_TYPE,             /* a field missing or of the wrong JSON type */
	NW_REJ_RANGE,            /* a number out of its range, non-finite, negative id ... */
	NW_REJ_TOO_MANY_SERVERS, /* more than NW_REPORT_MAX_SERVERS entries */
	NW_REJ_AUTH,             /* MAC missing (DC has a key) or wrong */
	NW_REJ_REPLAY,           /* (boot_ns, seq) not above the rack's last accepted one */
	NW_REJ_RACK_CLAIMED,     /* another open connection reports this rack */
	NW_REJ__COUNT,
};

/* "bad_frame", "too_large", "truncated", "json", "duplicate_key", "type",
 * "range", "too_many_servers", "auth", "replay", "rack_claimed". */
const char *nw_report_reject_name(enum nw_report_reject r);

struct nw_report_server {
	uint32_t id;
	enum nw_health cls;
	double error;      /* 0..1; NAN: not analysed yet (JSON null) */
	double snr_db;     /* NAN: not analysed yet */
	double loss_ratio; /* 0..1 */
	double jitter_s;   /* >= 0, <= 3600 */
	int up;
	/* Optional keys (absent in reports of racks before issue 16: 0 / NAN).
	 * The fault-scope rules (docs/fabric.md section 6) need when a server
	 * left healthy and its disturbance period to tell a common cause. */
	uint64_t since_ns; /* CLOCK_REALTIME it left healthy; 0: healthy */
	double period_s;   /* strongest significant period, s; NAN or 0: none */
};

/* One inter-rack path as its destination (the reporting rack) measured
 * it: the tone rack src_rack's host sends here (docs/fabric.md). The
 * report's "paths_in" key is optional, so racks without --fabric and DCs
 * from before it interoperate. */
#define NW_REPORT_MAX_PATHS 4096U
struct nw_report_path {
	uint32_t src_rack; /* 0..65535 */
	enum nw_health cls;
	double error;         /* 0..1; NAN: not analysed yet */
	double loss_ratio;    /* 0..1 */
	double latency_p50_s; /* one-way, s; NAN: unknown */
	double latency_p99_s; /* NAN: unknown */
	double period_s;      /* strongest significant period, s; NAN or 0: none */
	uint32_t mesh_epoch;  /* 0..65535 */
	uint64_t since_ns;    /* CLOCK_REALTIME it left healthy; 0: healthy */
};

struct nw_report {
	uint32_t rack_id;
	uint64_t boot_ns, seq, time_ns;
	double interval_s;
	double rack_score; /* 0..1 */
	uint32_t nservers;
	struct nw_report_server *servers; /* [nservers] */
	uint32_t npaths;
	struct nw_report_path *paths; /* [npaths], sorted by src_rack; optional */
	int authenticated;            /* parse: the frame carried a MAC that verified */
};

/* Encodes one frame into `out` (reset first). With keys->present an
 * XChaCha20-Poly1305 trailer is appended (NW_REPORT_FLAG_MAC_XCHACHA): a DC
 * older than that flag refuses the frame as bad_frame, so DCs are upgraded
 * first (docs/report-protocol.md). 0, or -1 (out of memory, a value JSON
 * cannot hold). */
int nw_report_encode(const struct nw_report *r, const struct nw_keys *keys, struct nw_buf *out);

/* Checks a frame's first NW_REPORT_HDR_LEN bytes; on success *frame_len is
 * the whole frame's length (header, payload, MAC). NW_REJ_OK, BAD_FRAME or
 * TOO_LARGE. */
enum nw_report_reject nw_report_frame_header(const uint8_t hdr[NW_REPORT_HDR_LEN],
					     size_t *frame_len);

/* Verifies (when keys->present) and parses one whole frame (report_parse.c:
 * streaming, no document tree). Each MAC kind verifies, with libsodium, in
 * constant time (report_mac.c). On NW_REJ_OK
 * *out is filled, its servers in a malloc'ed array the caller frees with
 * nw_report_free. With a key, a frame without a MAC is NW_REJ_AUTH; without
 * one, a MAC is ignored (authenticated stays 0). Never reads past `len`;
 * `len` other than the header's claim is NW_REJ_TRUNCATED. The servers come
 * out sorted by id (bsearch-able); an id listed twice is NW_REJ_RANGE.
 * boot_ns, seq, time_ns above INT64_MAX are NW_REJ_RANGE (JSON integers are
 * signed 64-bit in jansson); nw_report_encode refuses them likewise. On any
 * reject *out holds no allocation (nw_report_free is still safe). */
enum nw_report_reject nw_report_parse(const uint8_t *frame, size_t len, const struct nw_keys *keys,
				      struct nw_report *out);
void nw_report_free(struct nw_report *r);

/* (boot_ns, seq) of `next` strictly above `last`? */
int nw_report_is_newer(uint64_t last_boot_ns, uint64_t last_seq, uint64_t boot_ns, uint64_t seq);

#endif
