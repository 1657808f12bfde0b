/* SPDX-License-Identifier: MIT */
/*
 * The fabric peers file (docs/fabric.md section 1): which racks' controllers
 * a rack sends its inter-rack tones to (netwatch-agent --fabric) and which
 * paths it expects to receive (netwatch-rack --fabric-peers). Written by
 * netwatch-lab up --fabric or deploy tooling, one per rack:
 *
 *   {"self": 1, "epoch": 0,
 *    "racks": [{"rack_id": 2, "addr": "198.18.3.1"}, ...]}
 *
 * `epoch` (optional, default 0) is the limited mesh's rotation epoch the
 * file belongs to; it goes on the wire as mesh_epoch (mod 65536).
 *
 * With `k` (and optionally `epoch_s`, default 600) the file is the whole
 * mesh instead and means "rotate" (docs/fabric.md section 4): `racks` lists
 * every member of the DC's mesh (self may be listed too), and who probes
 * whom in each epoch comes from fabric_mesh.h, the epoch from the wall
 * clock. `epoch` is then refused: it is not the file's to say.
 *
 *   {"self": 1, "k": 16, "epoch_s": 600, "racks": [all racks]}
 */
#ifndef NW_FABRIC_PEERS_H
#define NW_FABRIC_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "hostport.h"

#define NW_FABRIC_PEERS_MAX 4096U           /* racks in one file */
#define NW_FABRIC_PEERS_FILE_MAX (1U << 20) /* bytes: a bigger file is refused */

struct nw_fabric_peer {
	uint16_t rack_id;
	char addr[NW_HOSTPORT_HOST_MAX]; /* a host name or literal, no port */
};

struct nw_fabric_peers {
	uint16_t self;
	uint16_t epoch;   /* mod 65536 */
	uint32_t k;       /* 0: exactly these peers; else the whole mesh, rotating */
	uint32_t epoch_s; /* with k: seconds per epoch */
	size_t n;
	struct nw_fabric_peer *peer; /* [n], in the file's order */
};

/* Parses `len` bytes of JSON. 0, or -1 with one line in err (nothing to
 * free then). Refuses unknown keys, duplicates, self as a peer, ids above
 * 65535, empty or over-long addresses and more than NW_FABRIC_PEERS_MAX. */
int nw_fabric_peers_parse(const char *json, size_t len, struct nw_fabric_peers *p, char *err,
			  size_t errlen);
/* Reads `path` (at most NW_FABRIC_PEERS_FILE_MAX bytes) and parses it. */
int nw_fabric_peers_load(const char *path, struct nw_fabric_peers *p, char *err, size_t errlen);
void nw_fabric_peers_free(struct nw_fabric_peers *p);
/* The mesh's members (its racks and self, once each) sorted by id into
 * ids[0..n] (room for n + 1): position i of fabric_mesh.h is ids[i].
 * Returns how many. */
size_t nw_fabric_peers_members(const struct nw_fabric_peers *mesh, uint16_t *ids);
/* A rotating mesh (k > 0) narrowed to one epoch: into *out (a fixed file,
 * epoch = epoch mod 65536) the racks self probes in `epoch` (incoming 0) or
 * the racks probing self (incoming 1), in offset order. A fixed file is
 * copied as it is. 0, or -1 when out of memory. */
int nw_fabric_peers_at(const struct nw_fabric_peers *mesh, uint64_t epoch, int incoming,
		       struct nw_fabric_peers *out);

#endif
