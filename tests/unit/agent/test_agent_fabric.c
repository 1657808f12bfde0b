/* SPDX-License-Identifier: MIT */
/*
 * netwatch-agent --fabric end to end over loopback (docs/fabric.md section
 * 1): one stream per peer rack, each to its own address, FABRIC samples
 * with the source rack, NW_SERVER_FABRIC and the destination; then the
 * peers replaced at run time as the control socket does it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "nw_parse.h"
#include "options.h"
#include "run.h"

#define NPEERS 3 /* racks 10, 11, 12 at 127.0.0.10, .11, .12 */

struct peer_rx {
	int fd;
	unsigned samples, goodbyes;
	uint64_t first_seq, last_seq, first_tx;
	uint16_t dst_rack, src_rack, epoch;
};

/* Binds 127.0.0.<host>:port (port 0: any); returns the port. */
static uint16_t bind_peer(struct peer_rx *r, unsigned host, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	socklen_t len = sizeof(a);

	memset(r, 0, sizeof(*r));
	a.sin_addr.s_addr = htonl(0x7F000000U | host);
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void drain(struct peer_rx *r)
{
	uint8_t buf[128];
	ssize_t n;

	while ((n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct nw_sample s = { 0 };

		assert_int_equal(nw_parse_sample(buf, buf + n, (uint32_t)n, &s), NW_OK);
		assert_int_equal(n, NW_WIRE_FABRIC_LEN);
		assert_true(s.flags & NW_FLAG_FABRIC);
		assert_int_equal(s.server_id, NW_SERVER_FABRIC);
		r->src_rack = s.rack_id;
		r->dst_rack = s.dst_rack;
		r->epoch = s.mesh_epoch;
		if (s.flags & NW_FLAG_GOODBYE) {
			r->goodbyes++;
			continue;
		}
		if (!r->samples) {
			r->first_seq = s.seq;
			r->first_tx = s.tx_ns;
		}
		r->last_seq = s.seq;
		r->samples++;
	}
}

static void write_peers(const char *path, unsigned epoch, const unsigned *racks, int n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "{\"self\": 2, \"epoch\": %u, \"racks\": [", epoch);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s{\"rack_id\": %u, \"addr\": \"127.0.0.%u\"}", i ? "," : "", racks[i],
			racks[i]);
	fprintf(f, "]}");
	fclose(f);
}

static void test_fabric_streams(void **state)
{
	char path[] = "/tmp/nw-agent-fabric-XXXXXX", err[512];
	static const unsigned first[] = { 10, 11 }, second[] = { 11, 12 };
	struct peer_rx rx[NPEERS];
	volatile sig_atomic_t stop = 0;
	struct nw_agent a;
	struct nw_opts o;
	uint16_t p;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	p = bind_peer(&rx[0], 10, 0);
	for (int i = 1; i < NPEERS; i++)
		bind_peer(&rx[i], 10 + (unsigned)i, p);
	write_peers(path, 7, first, 2);
	{
		char *argv[] = { "netwatch-agent",
				 "--fabric",
				 "--fabric-peers",
				 path,
				 "--fabric-rate",
				 "200",
				 "--fabric-freq",
				 "10",
				 "--count",
				 "5",
				 "-q",
				 NULL };

		assert_int_equal(nw_opts_parse(11, argv, &o, err, sizeof(err)), NW_OPTS_RUN);
	}
	o.port = p; /* the peers file names hosts; every rack controller listens on one port */
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_OK);
	assert_int_equal(a.n, 2);
	nw_agent_run(&a, &stop);
	for (int i = 0; i < NPEERS; i++)
		drain(&rx[i]);
	/* Racks 10 and 11: seq 0..4 then goodbyes; rack 12 is not a peer yet. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rx[i].samples, 5);
		assert_true(rx[i].first_seq == 0 && rx[i].last_seq == 4);
		assert_int_equal(rx[i].goodbyes, NW_GOODBYE_REPEAT);
		assert_int_equal(rx[i].src_rack, 2);
		assert_int_equal(rx[i].dst_rack, 10 + i);
		assert_int_equal(rx[i].epoch, 7);
	}
	assert_int_equal(rx[2].samples + rx[2].goodbyes, 0);
	/* Spread over the period, not a burst: the second stream's samples
	 * leave half a period (200 Hz: 2.5 ms) after the first's, and say so. */
	assert_true(rx[1].first_tx - rx[0].first_tx == 2500000ULL);

	/* The mesh rotates: 10 leaves (its goodbye now), 11 stays, 12 joins. */
	a.next_tick = 5;
	write_peers(path, 8, second, 2);
	assert_int_equal(nw_agent_set_peers(&a, path, err, sizeof(err)), 0);
	assert_int_equal(a.n, 2);
	for (int i = 0; i < NPEERS; i++) {
		memset(&rx[i].samples, 0, sizeof(rx[i]) - offsetof(struct peer_rx, samples));
		drain(&rx[i]);
	}
	assert_int_equal(rx[0].goodbyes, NW_GOODBYE_REPEAT);
	assert_int_equal(rx[1].goodbyes + rx[2].goodbyes, 0);
	assert_int_equal(a.st[0].server, 11);
	assert_int_equal(a.st[0].c.generated, 5); /* its counters go on */
	assert_int_equal(a.st[1].server, 12);
	assert_int_equal(a.st[1].c.generated, 0);
	assert_true(a.start_k[1] == 5); /* the new stream's seq 0 is tick 5 */
	/* Refusals change nothing: another self, a missing file. */
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs("{\"self\": 3, \"racks\": [{\"rack_id\": 1, \"addr\": \"127.0.0.1\"}]}", f);
		fclose(f);
	}
	assert_int_equal(nw_agent_set_peers(&a, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "self is rack 3"));
	unlink(path);
	assert_int_equal(nw_agent_set_peers(&a, path, err, sizeof(err)), -1);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.st[1].server, 12);
	nw_agent_close(&a);
	for (int i = 0; i < NPEERS; i++)
		close(rx[i].fd);
}

/* A rotating mesh (docs/fabric.md section 4): the file lists every rack
 * with k = 1; the epoch comes from the clock given to nw_agent_rotate, and
 * at its boundary the stream moves to the next rack: the old one says
 * goodbye, the new one starts at seq 0 with the new mesh_epoch. */
static void test_fabric_rotation(void **state)
{
	char path[] = "/tmp/nw-agent-fabric-XXXXXX", err[512];
	/* Members sorted: [2, 10, 11, 12]; rack 2 is position 0 and probes
	 * position 1 + (e mod 3) in epoch e. */
	static const unsigned member[] = { 2, 10, 11, 12 };
	struct peer_rx rx[NPEERS];
	volatile sig_atomic_t stop = 0;
	struct nw_agent a;
	struct nw_opts o;
	uint64_t e;
	unsigned was, now;
	uint16_t p;
	FILE *f;
	int fd = mkstemp(path);
	char *argv[] = { "netwatch-agent",
			 "--fabric",
			 "--fabric-peers",
			 path,
			 "--fabric-rate",
			 "200",
			 "--count",
			 "3",
			 "-q",
			 NULL };

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	p = bind_peer(&rx[0], 10, 0);
	for (int i = 1; i < NPEERS; i++)
		bind_peer(&rx[i], 10 + (unsigned)i, p);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"self\": 2, \"k\": 1, \"epoch_s\": 20, \"racks\": ["
	      "{\"rack_id\": 12, \"addr\": \"127.0.0.12\"},"
	      "{\"rack_id\": 10, \"addr\": \"127.0.0.10\"},"
	      "{\"rack_id\": 2, \"addr\": \"127.0.0.2\"},"
	      "{\"rack_id\": 11, \"addr\": \"127.0.0.11\"}]}",
	      f);
	fclose(f);
	assert_int_equal(nw_opts_parse(9, argv, &o, err, sizeof(err)), NW_OPTS_RUN);
	o.port = p;
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_OK);
	e = a.epoch_cur;
	was = member[1 + e % 3];
	assert_int_equal(a.n, 1);
	assert_int_equal(a.st[0].server, was);
	assert_int_equal(ntohs(a.fab[0].mesh_epoch), (uint16_t)e);
	nw_agent_run(&a, &stop);
	for (int i = 0; i < NPEERS; i++)
		drain(&rx[i]);
	assert_int_equal(rx[was - 10].samples, 3);

	/* Within the epoch: nothing moves. */
	assert_int_equal(nw_agent_rotate(&a, e * 20 + 19, err, sizeof(err)), 0);
	assert_int_equal(a.st[0].server, was);
	/* At the boundary: the next rack. */
	a.next_tick = 3;
	for (int i = 0; i < NPEERS; i++)
		memset(&rx[i].samples, 0, sizeof(rx[i]) - offsetof(struct peer_rx, samples));
	assert_int_equal(nw_agent_rotate(&a, (e + 1) * 20, err, sizeof(err)), 1);
	now = member[1 + (e + 1) % 3];
	assert_int_not_equal(now, was);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.st[0].server, now);
	assert_int_equal(a.st[0].c.generated, 0);
	assert_true(a.start_k[0] == 3);
	assert_int_equal(ntohs(a.fab[0].dst_rack), now);
	assert_int_equal(ntohs(a.fab[0].mesh_epoch), (uint16_t)(e + 1));
	assert_int_equal(a.epoch_cur, e + 1);
	for (int i = 0; i < NPEERS; i++)
		drain(&rx[i]);
	assert_int_equal(rx[was - 10].goodbyes, NW_GOODBYE_REPEAT);
	/* A full mesh (k >= n - 1): only mesh_epoch moves at the boundary. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"self\": 2, \"k\": 3, \"epoch_s\": 20, \"racks\": ["
	      "{\"rack_id\": 12, \"addr\": \"127.0.0.12\"},"
	      "{\"rack_id\": 10, \"addr\": \"127.0.0.10\"},"
	      "{\"rack_id\": 11, \"addr\": \"127.0.0.11\"}]}",
	      f);
	fclose(f);
	assert_int_equal(nw_agent_set_peers(&a, path, err, sizeof(err)), 0);
	assert_int_equal(a.n, 3);
	a.st[0].c.generated = 7;
	assert_int_equal(nw_agent_rotate(&a, (a.epoch_cur + 1) * 20, err, sizeof(err)), 1);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.st[0].c.generated, 7); /* the same stream */
	assert_int_equal(ntohs(a.fab[2].mesh_epoch), (uint16_t)a.epoch_cur);
	/* A fixed file replaces the mesh: no more rotation. */
	write_peers(path, 4, member + 1, 1);
	assert_int_equal(nw_agent_set_peers(&a, path, err, sizeof(err)), 0);
	assert_int_equal(a.st[0].server, 10);
	assert_int_equal(nw_agent_rotate(&a, (e + 5) * 20, err, sizeof(err)), 0);
	assert_int_equal(a.st[0].server, 10);
	nw_agent_close(&a);
	unlink(path);
	for (int i = 0; i < NPEERS; i++)
		close(rx[i].fd);
}

/* A peers file whose self is not --rack, or with no rack, does not start. */
static void test_fabric_refusals(void **state)
{
	char path[] = "/tmp/nw-agent-fabric-XXXXXX", err[512];
	static const unsigned none[] = { 0 };
	struct nw_agent a;
	struct nw_opts o;
	int fd = mkstemp(path);
	char *argv[] = { "netwatch-agent", "--fabric", "--fabric-peers", path, "--rack", "5", NULL };

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_peers(path, 0, none, 1);
	assert_int_equal(nw_opts_parse(6, argv, &o, err, sizeof(err)), NW_OPTS_RUN);
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_BAD_INPUT);
	assert_non_null(strstr(err, "not --rack 5"));
	write_peers(path, 0, none, 0);
	argv[4] = NULL;
	assert_int_equal(nw_opts_parse(4, argv, &o, err, sizeof(err)), NW_OPTS_RUN);
	assert_int_equal(nw_agent_open(&a, &o, err, sizeof(err)), NW_OPEN_BAD_INPUT);
	assert_non_null(strstr(err, "no rack to send to"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fabric_streams),
		cmocka_unit_test(test_fabric_rotation),
		cmocka_unit_test(test_fabric_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
