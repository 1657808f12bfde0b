// SPDX-License-Identifier: MIT
#include "socket_rx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostport.h"
#include "nw_account.h"
#include "nw_parse.h"
#include "nw_siphash.h"
#include "probation.h"

#define BATCH 64
#define DGRAM_MAX 2048
#define CTL_LEN (CMSG_SPACE(sizeof(struct timespec)) * 2)

static int bind_socket(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, zero = 0, rcvbuf = 16 << 20;
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* Kernel receive stamps: the arrival time, not when we got around to reading. */
	/* Samples arrive in bursts (one sendmmsg per tick from a simulated
	 * rack) while the loop analyses: room for a second of 10k servers.
	 * FORCE needs CAP_NET_ADMIN; without it the plain request is capped by
	 * net.core.rmem_max, which is still the best we can do. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero))) ||
	    bind(fd, (const struct sockaddr *)ss, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* A stream's key, as the kernel's nw_index has it: a server is (this
 * rack, its id), a path into this rack (source rack, NW_SERVER_FABRIC). */
static uint64_t key_of(uint32_t rack_id, uint32_t server_id)
{
	return (uint64_t)rack_id << 32 | server_id;
}

static uint32_t hash_key(uint64_t k)
{
	/* splitmix64's finaliser: the rack half must move every bit too, or
	 * the paths (one server id) would share a probe chain. */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	return (uint32_t)(k ^ (k >> 31));
}

static int lookup(const struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id,
		  uint32_t *slot)
{
	uint64_t key = key_of(rack_id, server_id);

	for (uint32_t h = hash_key(key) & s->hmask;; h = (h + 1) & s->hmask) {
		if (s->hslot[h] == UINT32_MAX)
			return 0;
		if (s->hkey[h] == key) {
			*slot = s->hslot[h];
			return 1;
		}
	}
}

/* Removes a key from the open-addressing index, moving later entries of
 * its probe chain back (no tombstones: lookups stay short). */
static void unindex(struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id)
{
	uint64_t key = key_of(rack_id, server_id);
	uint32_t i, j, k;

	for (i = hash_key(key) & s->hmask;; i = (i + 1) & s->hmask) {
		if (s->hslot[i] == UINT32_MAX)
			return;
		if (s->hkey[i] == key)
			break;
	}
	s->hslot[i] = UINT32_MAX;
	for (j = (i + 1) & s->hmask; s->hslot[j] != UINT32_MAX; j = (j + 1) & s->hmask) {
		k = hash_key(s->hkey[j]) & s->hmask;
		/* Entry j may move to the hole at i unless its home k lies
		 * cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->hkey[i] = s->hkey[j];
		s->hslot[i] = s->hslot[j];
		s->hslot[j] = UINT32_MAX;
		i = j;
	}
}

static void insert(struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id, uint32_t slot)
{
	uint64_t key = key_of(rack_id, server_id);
	uint32_t h;

	for (h = hash_key(key) & s->hmask; s->hslot[h] != UINT32_MAX; h = (h + 1) & s->hmask)
		;
	s->hkey[h] = key;
	s->hslot[h] = slot;
	nw_drain_register(s->drain, slot, server_id);
}

/* Slots a previous run registered, from the state file. */
static int reindex(struct nw_socket_rx *s)
{
	for (uint32_t i = 0; i < s->p->count; i++) {
		uint32_t id = s->p->state[i].server_id, rack = s->p->state[i].rack_id, other;

		if (rack == NW_SOCKET_SLOT_FREE) {
			s->nfree++;
			continue;
		}
		/* Another rack's id only as a path's source (rack ids are 16 bits). */
		if ((rack != s->rack_id && (id != NW_SERVER_FABRIC || rack > 0xFFFFU)) ||
		    lookup(s, rack, id, &other)) {
			nw_error(s->log, "socket state file is inconsistent",
				 "slot=%u rack=%u server=%u", i, rack, id);
			return -EBADMSG;
		}
		insert(s, rack, id, i);
	}
	return 0;
}

int nw_socket_rx_open(struct nw_socket_rx *s, const struct nw_log *log, struct nw_drain *drain,
		      const char *listen, uint16_t port, uint32_t rack_id, int discover,
		      struct nw_socket_store_map *store)
{
	uint32_t max_slots = store->store->max_slots;
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t cap = 2;
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->log = log;
	s->drain = drain;
	s->rack_id = rack_id;
	s->discover = discover;
	s->map = *store;
	store->store = NULL;
	s->p = s->map.store;
	s->max_slots = max_slots;
	s->quota = nw_probation_quota(max_slots);
	/* At least twice the slots: probe chains stay short when full. */
	while (cap < 2 * (uint64_t)max_slots)
		cap <<= 1;
	s->hmask = cap - 1;
	s->hkey = calloc(cap, sizeof(*s->hkey));
	s->hslot = malloc(cap * sizeof(*s->hslot));
	s->bufs = malloc((size_t)BATCH * DGRAM_MAX);
	s->ctl = malloc((size_t)BATCH * CTL_LEN);
	if (!s->hkey || !s->hslot || !s->bufs || !s->ctl) {
		nw_socket_rx_close(s);
		return -ENOMEM;
	}
	memset(s->hslot, 0xff, cap * sizeof(*s->hslot));
	err = reindex(s);
	if (err) {
		nw_socket_rx_close(s);
		return err;
	}

	if (nw_addr_parse(listen ? listen : "::", port, &ss, &len)) {
		nw_socket_rx_close(s);
		return -EINVAL;
	}
	fd = bind_socket(&ss, len);
	if (fd < 0 && !listen) {
		/* A host without IPv6: the dual-stack default degrades to IPv4. */
		nw_addr_parse("0.0.0.0", port, &ss, &len);
		fd = bind_socket(&ss, len);
	}
	if (fd < 0) {
		nw_socket_rx_close(s);
		return fd;
	}
	s->fd = fd;
	if (ss.ss_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
		snprintf(s->bound, sizeof(s->bound), "[%s]:%u", a, port);
	} else {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
		snprintf(s->bound, sizeof(s->bound), "%s:%u", a, port);
	}
	return 0;
}

void nw_socket_rx_set_key(struct nw_socket_rx *s, const uint8_t key[16])
{
	s->k0 = nw_sip_le64(key);
	s->k1 = nw_sip_le64(key + 8);
	s->keyed = 1;
}

void nw_socket_rx_close(struct nw_socket_rx *s)
{
	s->k0 = s->k1 = 0;
	s->keyed = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	nw_socket_store_close(&s->map);
	s->p = NULL;
	free(s->hkey);
	free(s->hslot);
	free(s->bufs);
	free(s->ctl);
	s->bufs = s->ctl = NULL;
	s->hkey = NULL;
	s->hslot = NULL;
}

int nw_socket_rx_add(struct nw_socket_rx *s, uint32_t server_id, int midstream, uint32_t *slot)
{
	return nw_socket_rx_add_key(s, s->rack_id, server_id, midstream, slot);
}

int nw_socket_rx_add_key(struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id,
			 int midstream, uint32_t *slot)
{
	uint32_t free_slot = UINT32_MAX;

	if (lookup(s, rack_id, server_id, slot))
		return 0;
	for (uint32_t i = 0; s->nfree && i < s->p->count; i++)
		if (s->p->state[i].rack_id == NW_SOCKET_SLOT_FREE) {
			free_slot = i;
			break;
		}
	if (free_slot == UINT32_MAX && s->p->count >= s->max_slots)
		return -ENOSPC;
	*slot = free_slot != UINT32_MAX ? free_slot : s->p->count;
	memset(&s->p->state[*slot], 0, sizeof(s->p->state[*slot]));
	s->p->state[*slot].server_id = server_id;
	s->p->state[*slot].status = midstream ? NW_ST_MIDSTREAM : 0;
	/* Last: a crash before it leaves no half-registered slot. */
	s->p->state[*slot].rack_id = rack_id;
	if (free_slot != UINT32_MAX)
		s->nfree--;
	else
		s->p->count++;
	insert(s, rack_id, server_id, *slot);
	return 0;
}

int nw_socket_rx_lookup(const struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id,
			uint32_t *slot)
{
	return lookup(s, rack_id, server_id, slot);
}

void nw_socket_rx_remove(struct nw_socket_rx *s, uint32_t slot)
{
	struct nw_server_state *st;

	if (slot >= s->p->count || s->p->state[slot].rack_id == NW_SOCKET_SLOT_FREE)
		return;
	st = &s->p->state[slot];
	if (s->drain->servers[slot].probation)
		s->on_probation--;
	unindex(s, st->rack_id, st->server_id);
	nw_drain_unregister(s->drain, slot);
	memset(st, 0, sizeof(*st));
	st->rack_id = NW_SOCKET_SLOT_FREE;
	s->nfree++;
}

static void evict(struct nw_socket_rx *s, uint32_t slot)
{
	nw_socket_rx_remove(s, slot);
	s->evicted++;
}

void nw_socket_rx_start_probation(struct nw_socket_rx *s, nw_socket_static_fn is_static, void *arg)
{
	for (uint32_t i = 0; i < s->p->count; i++) {
		const struct nw_server_state *st = &s->p->state[i];

		if (st->rack_id == NW_SOCKET_SLOT_FREE)
			continue;
		if (!is_static(arg, st->rack_id, st->server_id) && !nw_probation_earned(st) &&
		    !s->drain->servers[i].probation) {
			s->drain->servers[i].probation = 1;
			s->drain->servers[i].since_ns = st->last_rx_ns;
			s->on_probation++;
		}
	}
}

void nw_socket_rx_review(struct nw_socket_rx *s, uint64_t now)
{
	if (!s->on_probation || now < s->last_review_ns + 1000000000ULL)
		return;
	s->last_review_ns = now;
	for (uint32_t i = 0; i < s->p->count; i++) {
		struct nw_server_rx *rx = &s->drain->servers[i];

		if (!rx->probation || s->p->state[i].rack_id == NW_SOCKET_SLOT_FREE)
			continue;
		switch (nw_probation_judge(&s->p->state[i], rx->since_ns, now)) {
		case NW_PROBATION_PROMOTE:
			rx->probation = 0;
			s->on_probation--;
			s->promoted++;
			nw_info(s->log, "discovered server earned its place",
				"rack=%u server=%u slot=%u", s->p->state[i].rack_id, rx->server_id,
				i);
			break;
		case NW_PROBATION_EVICT:
			nw_debug(s->log, "evicted discovered server", "server=%u slot=%u reason=%s",
				 rx->server_id, i, "no sustained tone");
			evict(s, i);
			break;
		default:
			break;
		}
	}
}

/* A new sender (a server, or a path from another rack), within the
 * discovery rate and the probation quota (the probation server with the
 * fewest samples gives way if it has too few). */
static int discover(struct nw_socket_rx *s, uint32_t rack_id, uint32_t server_id, uint64_t rx_ns,
		    uint32_t *slot)
{
	uint32_t victim = UINT32_MAX;
	uint64_t fewest = UINT64_MAX;

	if (rx_ns - s->disc_window_ns >= 1000000000ULL) {
		s->disc_window_ns = rx_ns;
		s->disc_in_window = 0;
	}
	if (s->disc_in_window >= NW_DISCOVERY_PER_SEC_DEFAULT) {
		s->p->stats.discovery_suppressed++;
		return -EAGAIN;
	}
	s->disc_in_window++;
	if (s->on_probation >= s->quota) {
		for (uint32_t i = 0; i < s->p->count; i++)
			if (s->drain->servers[i].probation &&
			    s->p->state[i].rack_id != NW_SOCKET_SLOT_FREE &&
			    s->p->state[i].received < fewest) {
				fewest = s->p->state[i].received;
				victim = i;
			}
		if (victim == UINT32_MAX || fewest >= NW_PROBATION_MIN_SAMPLES)
			return -EBUSY; /* every probation slot holds a sender with samples */
		nw_debug(s->log, "evicted discovered server", "server=%u slot=%u reason=%s",
			 s->p->state[victim].server_id, victim, "replaced");
		evict(s, victim);
	}
	if (nw_socket_rx_add_key(s, rack_id, server_id, 1, slot))
		return -ENOSPC;
	s->drain->servers[*slot].probation = 1;
	s->drain->servers[*slot].since_ns = rx_ns;
	s->on_probation++;
	s->p->stats.discovery_sent++;
	nw_debug(s->log, "discovered server on probation", "rack=%u server=%u slot=%u", rack_id,
		 server_id, *slot);
	return 0;
}

/* TAI - UTC is a whole number of seconds; rounding removes the few ns
 * between the two clock reads. */
static int64_t tai_offset_ns(void)
{
	struct timespec tai, rt;
	double d;

	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &rt);
	d = (double)(tai.tv_sec - rt.tv_sec) + (double)(tai.tv_nsec - rt.tv_nsec) / 1e9;
	return (int64_t)llround(d) * 1000000000LL;
}

static uint64_t rx_time(struct msghdr *mh, int64_t tai_off)
{
	struct timespec ts;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(ts))) {
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (uint64_t)((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + tai_off);
		}
	}
	/* No stamp (should not happen): now is the best we have. */
	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void handle(struct nw_socket_rx *s, const uint8_t *buf, uint32_t len, int truncated,
		   uint64_t rx_ns)
{
	struct nw_sample smp;
	struct nw_outcome out;
	struct nw_record rec;
	uint32_t slot;
	int reason;

	s->p->stats.packets++;
	reason = truncated ? NW_MAL_LENGTH : nw_parse_sample(buf, buf + len, len, &smp);
	if (reason != NW_OK) {
		if (reason >= 0 && reason < NW_MAL__MAX)
			s->p->stats.malformed[reason]++;
		return;
	}
	/* Before discovery and accounting, as in the BPF collector. */
	if (s->keyed && (!(smp.flags & NW_FLAG_AUTH) ||
			 !nw_sip_tag_ok_len(buf, nw_wire_tagged_len(smp.version, smp.flags),
					    smp.tag, s->k0, s->k1))) {
		s->p->stats.malformed[NW_MAL_AUTH]++;
		return;
	}
	/* An inter-rack tone (docs/fabric.md), as the BPF collector keys it:
	 * rack_id is its source, the stream is the path (source,
	 * NW_SERVER_FABRIC) into this rack; the parser made sure no server's
	 * sample carries that id. */
	if (smp.flags & NW_FLAG_FABRIC) {
		if (smp.dst_rack != s->rack_id) {
			s->p->stats.fabric_misdirected++;
			return;
		}
	} else if (smp.rack_id != s->rack_id) {
		s->p->stats.wrong_rack++;
		return;
	}
	if (!lookup(s, smp.rack_id, smp.server_id, &slot)) {
		if (!s->discover) {
			s->p->stats.unknown_server++;
			return;
		}
		reason = discover(s, smp.rack_id, smp.server_id, rx_ns, &slot);
		if (reason) {
			if (reason == -ENOSPC || reason == -EBUSY) {
				if (!s->p->discovery_rejected)
					nw_warn(s->log,
						reason == -EBUSY
							? "probation slots full: not registering new senders"
							: "server table full: not registering new senders",
						"server=%u max_servers=%u", smp.server_id,
						s->max_slots);
				s->p->discovery_rejected++;
			}
			s->p->stats.unknown_server++;
			return;
		}
	}
	nw_account(&s->p->state[slot], &smp, rx_ns, &out);
	s->p->stats.samples++;
	if (smp.flags & NW_FLAG_FABRIC) {
		s->p->state[slot].mesh_epoch = smp.mesh_epoch;
		s->p->stats.fabric_samples++;
	}
	if (out.anomaly > 0 && out.anomaly <= NW_ANOM__MAX)
		s->p->stats.anomalies[out.anomaly - 1]++;
	if (!out.record)
		return;
	rec.seq = smp.seq;
	rec.tx_ns = smp.tx_ns;
	rec.rx_ns = rx_ns;
	rec.value_bits = smp.value_bits;
	rec.flags = out.rec_flags;
	rec.reserved = 0;
	nw_drain_deliver(s->drain, slot, &rec);
}

int nw_socket_rx_poll(struct nw_socket_rx *s)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int total = 0, n;

	for (;;) {
		int64_t tai_off = tai_offset_ns();

		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = s->bufs + (size_t)i * DGRAM_MAX;
			iov[i].iov_len = DGRAM_MAX;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = s->ctl + (size_t)i * CTL_LEN;
			msgs[i].msg_hdr.msg_controllen = CTL_LEN;
		}
		n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			total = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			uint32_t len = msgs[i].msg_len > DGRAM_MAX ? DGRAM_MAX : msgs[i].msg_len;

			handle(s, s->bufs + (size_t)i * DGRAM_MAX, len,
			       !!(msgs[i].msg_hdr.msg_flags & MSG_TRUNC),
			       rx_time(&msgs[i].msg_hdr, tai_off));
		}
		total += n;
		if (n < BATCH)
			break;
	}
	return total;
}
