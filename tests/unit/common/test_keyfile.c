/* SPDX-License-Identifier: MIT */
/*
 * user/common/keyfile.c against hostile key files: a FIFO is refused at
 * once (never waited on), so is a file owned by another user, a symbolic
 * link, one readable by others, and malformed text; a good file loads.
 * Every refusal comes with a reason and leaves the keys wiped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "keyfile.h"

#define KEY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nw-keyfile-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text, mode_t mode, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void refused(const char *path, const char *reason_part)
{
	struct nw_keys k;
	const char *why = NULL;

	memset(&k, 0xa5, sizeof(k));
	assert_int_equal(nw_keys_load(&k, path, &why), -1);
	assert_non_null(why);
	if (!strstr(why, reason_part))
		fail_msg("%s: reason \"%s\" lacks \"%s\"", path, why, reason_part);
	assert_int_equal(k.present, 0);
	for (size_t i = 0; i < sizeof(k.sample); i++)
		assert_int_equal(k.sample[i], 0);
}

static void test_good_file_loads(void **state)
{
	struct nw_keys k;
	const char *why = NULL;
	char path[128];

	(void)state;
	put("good", KEY_HEX, 0600, path, sizeof(path));
	assert_int_equal(nw_keys_load(&k, path, &why), 0);
	assert_int_equal(k.present, 1);
	nw_keys_wipe(&k);
}

static void on_alarm(int sig)
{
	(void)sig;
	/* The only way to get here is a load stuck on the FIFO. */
	_exit(3);
}

/* A FIFO would block open() (and read()) until a writer came: refused
 * at once. The alarm turns a hang into a failure. */
static void test_fifo_refused_without_waiting(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(10);
	refused(path, "not a regular file");
	alarm(0);
	signal(SIGALRM, SIG_DFL);
}

static void test_other_owner_refused(void **state)
{
	char path[128];

	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	put("theirs", KEY_HEX, 0600, path, sizeof(path));
	assert_int_equal(chown(path, 4242, 4242), 0);
	refused(path, "owned by another user");
}

static void test_symlink_refused(void **state)
{
	char good[128], link[128];

	(void)state;
	put("target", KEY_HEX, 0600, good, sizeof(good));
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(good, link), 0);
	refused(link, "symbolic link");
}

static void test_loose_mode_and_bad_text_refused(void **state)
{
	char path[128];

	(void)state;
	put("loose", KEY_HEX, 0640, path, sizeof(path));
	refused(path, "readable by group or others");
	put("short", "0011\n", 0600, path, sizeof(path));
	refused(path, "64 hex digits");
	put("nothex", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 0600,
	    path, sizeof(path));
	refused(path, "other than hex");
	snprintf(path, sizeof(path), "%s/missing", dir);
	refused(path, "does not exist");
	refused(dir, "not a regular file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file_loads),
		cmocka_unit_test(test_fifo_refused_without_waiting),
		cmocka_unit_test(test_other_owner_refused),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_loose_mode_and_bad_text_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
