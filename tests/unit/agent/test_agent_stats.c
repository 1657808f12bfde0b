/* SPDX-License-Identifier: MIT */
/* netwatch-agent: exact accounting of batch outcomes and the JSON report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sender.h"
#include "stats.h"

static void add(struct nw_batch *b, uint32_t owner, enum nw_msg_kind kind, int ok)
{
	nw_batch_add(b, owner, kind);
	b->ok[b->n - 1] = (uint8_t)ok;
}

static void test_account(void **state)
{
	struct nw_batch *b = nw_batch_new();
	struct nw_server_stats st[2];

	(void)state;
	assert_non_null(b);
	memset(st, 0, sizeof(st));
	add(b, 0, NW_MSG_FIRST, 1);
	add(b, 0, NW_MSG_DUP, 1); /* a real duplicate */
	add(b, 0, NW_MSG_FIRST, 0);
	add(b, 0, NW_MSG_DUP, 1); /* stands in for the failed first */
	add(b, 1, NW_MSG_FIRST, 0);
	add(b, 1, NW_MSG_DUP, 0); /* both failed: one send_failed */
	add(b, 1, NW_MSG_FIRST, 1);
	add(b, 1, NW_MSG_DUP, 0); /* a failed copy changes nothing */
	add(b, 1, NW_MSG_FIRST, 0);
	add(b, 0, NW_MSG_GOODBYE, 1);
	add(b, 0, NW_MSG_GOODBYE, 0);
	nw_stats_account(st, b);
	assert_int_equal(st[0].c.sent, 2);
	assert_int_equal(st[0].c.duplicated, 1);
	assert_int_equal(st[0].c.send_failed, 0);
	assert_int_equal(st[0].c.goodbyes, 1);
	assert_int_equal(st[1].c.sent, 1);
	assert_int_equal(st[1].c.duplicated, 0);
	assert_int_equal(st[1].c.send_failed, 2);
	free(b);
}

static void test_batch_layout(void **state)
{
	struct nw_batch *b = nw_batch_new();
	struct nw_wire_sample *m;

	(void)state;
	assert_non_null(b);
	assert_int_equal(nw_batch_room(b), NW_BATCH_MAX);
	m = nw_batch_add(b, 42, NW_MSG_FIRST);
	assert_ptr_equal(m, &b->buf[0]);
	assert_ptr_equal(b->mm[0].msg_hdr.msg_iov->iov_base, m);
	assert_int_equal(b->mm[0].msg_hdr.msg_iov->iov_len, NW_WIRE_V2_LEN);
	assert_int_equal(b->owner[0], 42);
	assert_int_equal(nw_batch_room(b), NW_BATCH_MAX - 1);
	free(b);
}

static void test_report_json(void **state)
{
	struct nw_server_stats st[2] = {
		{ .rack = 1,
		  .server = 5,
		  .freq_uhz = 2250000,
		  .c = { .generated = 10,
			 .sent = 7,
			 .dropped = 2,
			 .duplicated = 1,
			 .send_failed = 1,
			 .late_skipped = 1,
			 .goodbyes = 3 } },
		{ .rack = 1, .server = 6, .freq_uhz = 2300000, .c = { 0 } },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	nw_report_json(f, st, 2, 1000, 1, 77);
	fclose(f);
	assert_string_equal(
		buf,
		"{\"generated\":10,\"sent\":7,\"dropped\":2,\"duplicated\":1,\"send_failed\":1,"
		"\"late_skipped\":1,\"goodbyes\":3,\"seed\":77,\"servers\":["
		"{\"rack\":1,\"server\":5,\"freq_hz\":2.250000,\"generated\":10,\"sent\":7,"
		"\"dropped\":2,\"duplicated\":1,\"send_failed\":1,\"late_skipped\":1,\"last_seq\":9},"
		"{\"rack\":1,\"server\":6,\"freq_hz\":2.300000,\"generated\":0,\"sent\":0,"
		"\"dropped\":0,\"duplicated\":0,\"send_failed\":0,\"late_skipped\":0,\"last_seq\":null}]}\n");
	free(buf);

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	nw_report_json(f, st, 2, 1, 0, 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"servers_omitted\":true}\n"));
	assert_null(strstr(buf, "\"servers\":["));
	assert_null(strstr(buf, "seed"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_batch_layout),
		cmocka_unit_test(test_report_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
