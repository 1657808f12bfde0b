/* SPDX-License-Identifier: MIT */
/*
 * The socket hook: no BPF at all. A UDP socket with kernel receive
 * timestamps, the shared parser and accounting on an in-memory state
 * array, records delivered through the same nw_drain as the ring path.
 * The counters live in a mapped state file (socket_store.h), so like the
 * BPF hooks' pinned maps they continue across restarts.
 */
#ifndef NW_SOCKET_RX_H
#define NW_SOCKET_RX_H

#include <stdint.h>
#include <sys/socket.h>

#include "drain.h"
#include "log.h"
#include "collector.h"
#include "socket_store.h"

struct nw_socket_rx {
	const struct nw_log *log;
	struct nw_drain *drain;
	int fd;
	uint32_t rack_id;
	uint32_t max_slots;
	int discover;
	struct nw_socket_store_map map;
	struct nw_socket_store *p; /* == map.store: counters, slots, state */
	/* (rack, server id) -> slot, open addressing; slot UINT32_MAX = empty.
	 * A server is (rack_id, id), a path (source rack, NW_SERVER_FABRIC). */
	uint64_t *hkey;
	uint32_t *hslot, hmask;
	char bound[80];      /* where we listen, for the log */
	uint8_t *bufs, *ctl; /* recvmmsg batch space, allocated once */
	int keyed;           /* samples need a valid SipHash-2-4 tag (nw_siphash.h) */
	uint64_t k0, k1;     /* the sample key as SipHash's two words */
	/* Discovery, as the kernel limits it: at most
	 * NW_DISCOVERY_PER_SEC_DEFAULT new senders a second, each on
	 * probation (probation.h) in one of `quota` slots. */
	uint64_t disc_window_ns, disc_in_window;
	uint32_t quota, on_probation, nfree;
	uint64_t promoted, evicted, last_review_ns;
};

/* A slot an evicted server or a retired path left (socket_store's state
 * array is append-only): its rack_id, which no real rack has (rack ids are
 * 16 bits). */
#define NW_SOCKET_SLOT_FREE 0xFFFFFFFFU

/* `listen` is an address literal (nw_addr_parse, hostport.h); NULL means
 * :: dual-stack, falling back to 0.0.0.0. Takes over
 * `store` (opened with nw_socket_store_open), also when it fails. */
int nw_socket_rx_open(struct nw_socket_rx *s, const struct nw_log *log, struct nw_drain *drain,
		      const char *listen, uint16_t port, uint32_t rack_id, int discover,
		      struct nw_socket_store_map *store);
void nw_socket_rx_close(struct nw_socket_rx *s);

/* From now on refuse (malformed[NW_MAL_AUTH]) every sample without a valid
 * tag under this 16-byte sample key, as the BPF collector does with nw_key. */
void nw_socket_rx_set_key(struct nw_socket_rx *s, const uint8_t key[16]);

/* Static registration of a server of this rack; -ENOSPC when full. */
int nw_socket_rx_add(struct nw_socket_rx *s, uint32_t server_id, int midstream, uint32_t *slot);
/* The same for any key: a path into this rack is (source rack,
 * NW_SERVER_FABRIC), as in the kernel's nw_index (registry.h). */
int nw_socket_rx_add_key(struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id,
			 int midstream, uint32_t *slot);
/* Whether the key has a slot; the slot in *slot when it has. */
int nw_socket_rx_lookup(const struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id,
			uint32_t *slot);
/* Frees a slot (a path no longer probed): it stops counting at once. */
void nw_socket_rx_remove(struct nw_socket_rx *s, uint32_t slot);

/* Whether a key was listed (--servers, --fabric-peers): never on probation. */
typedef int (*nw_socket_static_fn)(void *arg, uint32_t rack_id, uint32_t server_id);

/* After the static servers are in: slots an earlier run discovered that
 * have not earned their place start on probation. */
void nw_socket_rx_start_probation(struct nw_socket_rx *s, nw_socket_static_fn is_static, void *arg);

/* Promotes or evicts servers on probation (at most once a second). */
void nw_socket_rx_review(struct nw_socket_rx *s, uint64_t now_tai_ns);

/* Reads every datagram that is waiting, without blocking. */
int nw_socket_rx_poll(struct nw_socket_rx *s);

#endif
