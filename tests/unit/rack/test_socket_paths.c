// SPDX-License-Identifier: MIT
/* Inter-rack paths on the socket hook (user/rack/source/socket_rx.c and the
 * shared fabric_paths.c): a FABRIC sample counts on the slot (source rack,
 * NW_SERVER_FABRIC) as the BPF collector keys it, next to the servers; it is
 * misdirected when meant for another rack; forged paths are bounded by the
 * discovery rate and the probation quota; the slots survive a restart; and a
 * rotating mesh's epoch boundary retires the paths no longer probed. Real
 * datagrams on 127.0.0.1 (an ephemeral port), the mesh's clock controlled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fabric_paths.h"
#include "nw_wire.h"
#include "packet_builder.h"
#include "probation.h"
#include "socket_rx.h"

#define RACK 7U
#define MAX_SLOTS 8U

struct fixture {
	struct nw_log log;
	struct nw_drain drain;
	struct nw_socket_rx rx;
	struct sockaddr_in to;
	int tx;
	char dir[64];
	char state[128];
	uint64_t records[MAX_SLOTS];
};

static void on_record(void *user, const struct nw_server_rx *srv, const struct nw_record *rec)
{
	struct fixture *f = user;

	(void)rec;
	f->records[srv->slot]++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Opens the hook on 127.0.0.1, port chosen by the kernel; state in the
 * fixture's file when `file`, else in memory. */
static void open_rx(struct fixture *f, int discover, int file)
{
	struct nw_socket_store_map m;
	uint32_t max = MAX_SLOTS;
	socklen_t len = sizeof(f->to);

	assert_int_equal(nw_socket_store_open(&f->log, file ? f->state : NULL, RACK, &max, &m), 0);
	assert_int_equal(nw_drain_init(&f->drain, max, on_record, f), 0);
	assert_int_equal(nw_socket_rx_open(&f->rx, &f->log, &f->drain, "127.0.0.1", 0, RACK,
					   discover, &m),
			 0);
	assert_int_equal(getsockname(f->rx.fd, (struct sockaddr *)&f->to, &len), 0);
}

static void close_rx(struct fixture *f)
{
	nw_socket_rx_close(&f->rx);
	nw_drain_free(&f->drain);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->log.min_level = NW_LOG_ERROR + 1; /* quiet */
	strcpy(f->dir, "/tmp/nw-paths-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	nw_socket_store_path(f->state, sizeof(f->state), f->dir, RACK);
	f->tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*state = f;
	return f->tx < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char peers[160];

	close(f->tx);
	unlink(f->state);
	snprintf(peers, sizeof(peers), "%s/peers.json", f->dir);
	unlink(peers);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void send_sample(struct fixture *f, const struct pb_sample *s)
{
	uint8_t buf[NW_WIRE_MAX];
	size_t len = pb_put_sample(buf, s);

	assert_int_equal(sendto(f->tx, buf, len, 0, (const struct sockaddr *)&f->to, sizeof(f->to)),
			 (ssize_t)len);
}

static void send_path(struct fixture *f, uint16_t src, uint16_t dst, uint64_t seq, uint16_t epoch)
{
	struct pb_sample s = pb_fabric_make(src, dst, seq, now_ns());

	s.mesh_epoch = epoch;
	send_sample(f, &s);
}

static uint32_t live_slots(const struct fixture *f)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < f->rx.p->count; i++)
		n += f->rx.p->state[i].rack_id != NW_SOCKET_SLOT_FREE;
	return n;
}

/* A listed path counts on its own slot, keyed as the kernel keys it; a
 * server of the rack beside it keeps its own; another rack's server sample
 * is still wrong_rack, never a path's. */
static void test_path_counts_on_its_slot(void **state)
{
	struct fixture *f = *state;
	struct pb_sample srv;
	uint32_t path, server, slot;

	open_rx(f, 0, 0);
	assert_int_equal(nw_socket_rx_add(&f->rx, 3, 0, &server), 0);
	assert_int_equal(nw_socket_rx_add_key(&f->rx, 1, NW_SERVER_FABRIC, 0, &path), 0);
	assert_int_not_equal(path, server);
	assert_true(nw_socket_rx_lookup(&f->rx, 1, NW_SERVER_FABRIC, &slot) && slot == path);
	assert_false(nw_socket_rx_lookup(&f->rx, 2, NW_SERVER_FABRIC, &slot));
	assert_false(nw_socket_rx_lookup(&f->rx, RACK, NW_SERVER_FABRIC, &slot));

	for (uint64_t seq = 0; seq < 20; seq++)
		if (seq != 5) /* one lost on the path */
			send_path(f, 1, RACK, seq, 41);
	srv = pb_sample_make(RACK, 3, 0, now_ns());
	send_sample(f, &srv);
	srv = pb_sample_make(1, 3, 0, now_ns()); /* rack 1's server 3: not ours */
	send_sample(f, &srv);
	assert_int_equal(nw_socket_rx_poll(&f->rx), 21);

	assert_int_equal(f->rx.p->state[path].rack_id, 1);
	assert_int_equal(f->rx.p->state[path].server_id, NW_SERVER_FABRIC);
	assert_int_equal(f->rx.p->state[path].received, 19);
	assert_int_equal(f->rx.p->state[path].max_seq, 19);
	assert_int_equal(f->rx.p->state[path].mesh_epoch, 41);
	assert_int_equal(f->rx.p->state[server].received, 1);
	assert_int_equal(f->rx.p->stats.samples, 20);
	assert_int_equal(f->rx.p->stats.fabric_samples, 19);
	assert_int_equal(f->rx.p->stats.wrong_rack, 1);
	assert_int_equal(f->rx.p->stats.unknown_server, 0);
	/* Records reach the analysis under the path's name. */
	assert_int_equal(f->records[path], 19);
	assert_int_equal(f->drain.servers[path].server_id, NW_SERVER_FABRIC);
	close_rx(f);
}

/* Meant for another rack: counted, never a slot, even with discovery on. */
static void test_misdirected(void **state)
{
	struct fixture *f = *state;

	open_rx(f, 1, 0);
	for (uint64_t seq = 0; seq < 4; seq++)
		send_path(f, 1, RACK + 1, seq, 0);
	assert_int_equal(nw_socket_rx_poll(&f->rx), 4);
	assert_int_equal(f->rx.p->stats.fabric_misdirected, 4);
	assert_int_equal(f->rx.p->stats.fabric_samples, 0);
	assert_int_equal(f->rx.p->stats.discovery_sent, 0);
	assert_int_equal(live_slots(f), 0);
	close_rx(f);
}

/* A forger naming 300 source racks: with discovery off every sample is an
 * unknown sender; with it on, discoveries are rate-limited and share the
 * probation quota, so the table holds the listed path and at most quota
 * phantoms, whatever the flood. */
static void test_forged_paths_are_bounded(void **state)
{
	struct fixture *f = *state;
	const uint32_t n = 300;
	uint32_t listed;

	open_rx(f, 0, 0);
	for (uint32_t r = 0; r < n; r++)
		send_path(f, (uint16_t)(1000 + r), RACK, 0, 0);
	assert_int_equal(nw_socket_rx_poll(&f->rx), n);
	assert_int_equal(f->rx.p->stats.unknown_server, n);
	assert_int_equal(live_slots(f), 0);
	close_rx(f);

	memset(f->records, 0, sizeof(f->records));
	open_rx(f, 1, 0);
	assert_int_equal(nw_socket_rx_add_key(&f->rx, 1, NW_SERVER_FABRIC, 0, &listed), 0);
	for (uint32_t r = 0; r < n; r++)
		send_path(f, (uint16_t)(1000 + r), RACK, 0, 0);
	send_path(f, 1, RACK, 0, 0);
	assert_int_equal(nw_socket_rx_poll(&f->rx), n + 1);
	assert_true(live_slots(f) <= 1 + nw_probation_quota(MAX_SLOTS));
	assert_true(f->rx.on_probation <= nw_probation_quota(MAX_SLOTS));
	/* The burst arrives within one rate window (a second), give or take one
	 * window boundary: far fewer discoveries than forged senders. */
	assert_true(f->rx.p->stats.discovery_sent <= 2 * NW_DISCOVERY_PER_SEC_DEFAULT);
	assert_int_equal(f->rx.p->stats.discovery_sent + f->rx.p->stats.discovery_suppressed +
				 f->rx.p->discovery_rejected,
			 n);
	/* Every forged sample is either an unknown sender or on a probation slot. */
	assert_int_equal(f->rx.p->stats.unknown_server + f->rx.p->stats.samples, n + 1);
	assert_int_equal(f->rx.p->state[listed].received, 1);
	assert_false(f->drain.servers[listed].probation);
	close_rx(f);
}

/* The state file keeps path slots across a restart, under their key; a file
 * whose slot claims a foreign rack for a server is not trusted. */
static void test_paths_survive_restart(void **state)
{
	struct fixture *f = *state;
	struct nw_socket_store_map m;
	uint32_t path, slot, max = MAX_SLOTS;

	open_rx(f, 0, 1);
	assert_int_equal(nw_socket_rx_add_key(&f->rx, 2, NW_SERVER_FABRIC, 0, &path), 0);
	for (uint64_t seq = 0; seq < 3; seq++)
		send_path(f, 2, RACK, seq, 9);
	assert_int_equal(nw_socket_rx_poll(&f->rx), 3);
	close_rx(f);

	open_rx(f, 0, 1);
	assert_true(nw_socket_rx_lookup(&f->rx, 2, NW_SERVER_FABRIC, &slot));
	assert_int_equal(slot, path);
	send_path(f, 2, RACK, 3, 9);
	assert_int_equal(nw_socket_rx_poll(&f->rx), 1);
	assert_int_equal(f->rx.p->state[path].received, 4);
	assert_int_equal(f->rx.p->state[path].max_seq, 3);
	/* Damage: the path's slot now names a server of rack 2. */
	f->rx.p->state[path].server_id = 5;
	close_rx(f);

	assert_int_equal(nw_socket_store_open(&f->log, f->state, RACK, &max, &m), 0);
	assert_int_equal(nw_drain_init(&f->drain, max, NULL, NULL), 0);
	assert_int_equal(nw_socket_rx_open(&f->rx, &f->log, &f->drain, "127.0.0.1", 0, RACK, 0, &m),
			 -EBADMSG);
	nw_drain_free(&f->drain);
}

/* The socket source's slot operations for the shared path logic. */
static int path_add(void *ctx, uint32_t src_rack, uint32_t *slot, int *created)
{
	struct nw_socket_rx *rx = ctx;

	*created = !nw_socket_rx_lookup(rx, src_rack, NW_SERVER_FABRIC, slot);
	return nw_socket_rx_add_key(rx, src_rack, NW_SERVER_FABRIC, 0, slot);
}

static uint32_t path_src_rack(void *ctx, uint32_t slot)
{
	return ((struct nw_socket_rx *)ctx)->p->state[slot].rack_id;
}

static int path_forget(void *ctx, uint32_t slot)
{
	nw_socket_rx_remove(ctx, slot);
	return 0;
}

/* Members [7, 8, 9, 10] with k = 1: rack 7 (index 0) is probed in epoch e by
 * the member at offset -(1 + e mod 3): 10, 9, 8, 10, ... (test_fabric_expect.c). */
static void test_rotation_retires_paths(void **state)
{
	struct fixture *f = *state;
	struct nw_fabric_paths paths;
	struct nw_fabric_slots ops = {
		.ctx = &f->rx, .add = path_add, .src_rack = path_src_rack, .forget = path_forget
	};
	struct rack_opts o = { .rack = RACK, .max_servers = 4, .fabric_peers_max = 4 };
	char peers[160];
	uint32_t slot, server;
	FILE *fp;

	snprintf(peers, sizeof(peers), "%s/peers.json", f->dir);
	fp = fopen(peers, "w");
	assert_non_null(fp);
	fputs("{\"self\": 7, \"k\": 1, \"epoch_s\": 20, \"racks\": [{\"rack_id\": 8, \"addr\": "
	      "\"a\"}, {\"rack_id\": 9, \"addr\": \"b\"}, {\"rack_id\": 10, \"addr\": \"c\"}]}",
	      fp);
	fclose(fp);
	o.fabric_peers = peers;
	assert_int_equal(nw_fabric_paths_slots(&o), 8);

	open_rx(f, 0, 0);
	assert_int_equal(nw_socket_rx_add(&f->rx, 0, 0, &server), 0);
	assert_int_equal(nw_fabric_paths_load(&paths, &f->log, &o, 19), 0); /* epoch 0 */
	assert_int_equal(nw_fabric_paths_register(&paths, &ops), 0);
	assert_true(nw_socket_rx_lookup(&f->rx, 10, NW_SERVER_FABRIC, &slot));
	assert_false(nw_socket_rx_lookup(&f->rx, 9, NW_SERVER_FABRIC, &slot));
	assert_true(nw_fabric_paths_is_static(&paths, &o, 10, NW_SERVER_FABRIC));
	assert_false(nw_fabric_paths_is_static(&paths, &o, 9, NW_SERVER_FABRIC));
	assert_false(nw_fabric_paths_is_static(&paths, &o, RACK, 0)); /* not in --servers */

	/* Epoch 1: 9 probes now, 10 stays for its late samples. */
	nw_fabric_paths_rotate(&paths, &f->drain, &ops, 1000000000ULL, 21);
	assert_true(nw_socket_rx_lookup(&f->rx, 9, NW_SERVER_FABRIC, &slot));
	assert_true(nw_socket_rx_lookup(&f->rx, 10, NW_SERVER_FABRIC, &slot));
	/* Within the second since the last check: not even looked at. */
	nw_fabric_paths_rotate(&paths, &f->drain, &ops, 1500000000ULL, 45);
	assert_true(nw_socket_rx_lookup(&f->rx, 10, NW_SERVER_FABRIC, &slot));
	/* Epoch 2: 8 and 9 expected, 10 is retired and its samples are unknown. */
	nw_fabric_paths_rotate(&paths, &f->drain, &ops, 2000000000ULL, 45);
	assert_false(nw_socket_rx_lookup(&f->rx, 10, NW_SERVER_FABRIC, &slot));
	assert_true(nw_socket_rx_lookup(&f->rx, 8, NW_SERVER_FABRIC, &slot));
	assert_int_equal(paths.retired, 1);
	assert_int_equal(live_slots(f), 3); /* server 0, paths from 8 and 9 */
	assert_true(nw_socket_rx_lookup(&f->rx, RACK, 0, &slot) && slot == server);
	send_path(f, 10, RACK, 0, 0);
	assert_int_equal(nw_socket_rx_poll(&f->rx), 1);
	assert_int_equal(f->rx.p->stats.unknown_server, 1);
	nw_fabric_paths_free(&paths);
	close_rx(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_counts_on_its_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misdirected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_paths_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_survive_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_retires_paths, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
