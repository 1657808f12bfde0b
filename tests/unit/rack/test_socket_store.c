// SPDX-License-Identifier: MIT
/* The socket hook's state file: counters continue across opens, and a file
 * that is damaged or belongs to another rack is never trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socket_store.h"

struct fixture {
	char dir[64];
	char path[128];
	char bad[160];
	struct nw_log log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/nw-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	nw_socket_store_path(f->path, sizeof(f->path), f->dir, 3);
	snprintf(f->bad, sizeof(f->bad), "%s.bad", f->path);
	f->log.min_level = NW_LOG_ERROR + 1; /* quiet */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	unlink(f->bad);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void open_ok(struct fixture *f, uint32_t *max, struct nw_socket_store_map *m)
{
	assert_int_equal(nw_socket_store_open(&f->log, f->path, 3, max, m), 0);
	assert_non_null(m->store);
	assert_int_equal(m->mapped, 1);
}

static void test_counters_continue(void **state)
{
	struct fixture *f = *state;
	struct nw_socket_store_map m;
	uint32_t max = 8;

	open_ok(f, &max, &m);
	assert_int_equal(m.store->count, 0);
	m.store->count = 2;
	m.store->state[0].rack_id = 3;
	m.store->state[0].server_id = 7;
	m.store->state[0].received = 1234;
	m.store->stats.packets = 99;
	nw_socket_store_close(&m);

	max = 64; /* another size asked for: the file keeps its own */
	open_ok(f, &max, &m);
	assert_int_equal(max, 8);
	assert_int_equal(m.store->count, 2);
	assert_int_equal(m.store->state[0].received, 1234);
	assert_int_equal(m.store->stats.packets, 99);
	assert_int_equal(m.store->restarts, 1);
	nw_socket_store_close(&m);
}

static void rewrite(const char *path, long off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

static void assert_fresh_after(struct fixture *f, void (*damage)(const char *path))
{
	struct nw_socket_store_map m;
	struct stat sb;
	uint32_t max = 8;

	open_ok(f, &max, &m);
	m.store->count = 1;
	m.store->state[0].rack_id = 3;
	m.store->state[0].received = 5;
	nw_socket_store_close(&m);
	damage(f->path);

	open_ok(f, &max, &m);
	assert_int_equal(m.store->count, 0);
	assert_int_equal(m.store->state[0].received, 0);
	assert_int_equal(m.store->rack_id, 3);
	nw_socket_store_close(&m);
	assert_int_equal(stat(f->bad, &sb), 0); /* kept aside for a post-mortem */
}

static void bad_magic(const char *path)
{
	rewrite(path, 0, "XXXXXXX", 8);
}
static void other_rack(const char *path)
{
	uint32_t rack = 4;

	rewrite(path, offsetof(struct nw_socket_store, rack_id), &rack, sizeof(rack));
}
static void count_over_max(const char *path)
{
	uint32_t count = 9;

	rewrite(path, offsetof(struct nw_socket_store, count), &count, sizeof(count));
}
static void huge_max(const char *path)
{
	uint32_t max = 0xFFFFFFFFU;

	rewrite(path, offsetof(struct nw_socket_store, max_slots), &max, sizeof(max));
}
static void cut_short(const char *path)
{
	assert_int_equal(truncate(path, 100), 0);
}
static void cut_to_nothing(const char *path)
{
	assert_int_equal(truncate(path, 0), 0);
}

static void test_bad_magic(void **state)
{
	assert_fresh_after(*state, bad_magic);
}
static void test_other_rack(void **state)
{
	assert_fresh_after(*state, other_rack);
}
static void test_count_over_max(void **state)
{
	assert_fresh_after(*state, count_over_max);
}
static void test_huge_max(void **state)
{
	assert_fresh_after(*state, huge_max);
}
static void test_cut_short(void **state)
{
	assert_fresh_after(*state, cut_short);
}
static void test_cut_to_nothing(void **state)
{
	assert_fresh_after(*state, cut_to_nothing);
}

static void test_symlink_refused(void **state)
{
	struct fixture *f = *state;
	struct nw_socket_store_map m;
	uint32_t max = 8;

	/* A planted link must not redirect our writes elsewhere. */
	assert_int_equal(symlink("/etc/hostname", f->path), 0);
	assert_int_not_equal(nw_socket_store_open(&f->log, f->path, 3, &max, &m), 0);
	assert_null(m.store);
	unlink(f->path);
}

static void test_memory_only(void **state)
{
	struct fixture *f = *state;
	struct nw_socket_store_map m;
	uint32_t max = 4;

	assert_int_equal(nw_socket_store_open(&f->log, NULL, 3, &max, &m), 0);
	assert_int_equal(m.mapped, 0);
	assert_int_equal(m.store->max_slots, 4);
	nw_socket_store_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_rack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_over_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_to_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_only, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
