// SPDX-License-Identifier: MIT
/*
 * user/common/tc_hook.c on a real interface: the loopback of a network
 * namespace of the test's own (unshare, no name: it vanishes with the
 * process whatever happens). "Another tool" is played with libbpf's tc
 * calls directly, on other handles and on the other direction, as a tc
 * collector beside netwatch-chaos would be. Needs root.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "tc_hook.h"

#define LO 1 /* the loopback's ifindex in a fresh namespace */

static int prog_fd = -1;

/* "r0 = 0 (TC_ACT_OK); exit": a filter that is there and does nothing. */
static int load_pass_prog(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nwt_pass", "GPL", insns, 2, NULL);
}

/* Back to an interface without clsact, whatever the test left. */
static int clean(void **state)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = LO,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	(void)state;
	bpf_tc_hook_destroy(&hook);
	return 0;
}

static void other_tool_filter(int egress, uint32_t handle)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = LO,
		    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = handle, .priority = 1);

	assert_int_equal(bpf_tc_attach(&hook, &opts), 0);
}

static int clsact_there(void)
{
	int r = nw_tc_clsact_ensure(LO);

	assert_true(r >= 0);
	if (r == 1)
		assert_int_equal(nw_tc_clsact_release(LO, 1), 1); /* put back as it was */
	return r == 0;
}

/* The whole life of a filter on a clsact we create: attach, query, a second
 * attach refused unless we say it is ours, detach once, release. */
static void test_own_clsact_lifecycle(void **state)
{
	struct nw_tc_filter f = { .ifindex = LO, .handle = 0x4e57, .priority = 3 };
	uint32_t id = 0, qid = 0;

	(void)state;
	assert_int_equal(nw_tc_filter_count(LO), 0);
	assert_int_equal(nw_tc_filter_query(&f, &qid), 0);
	assert_int_equal(nw_tc_filter_detach(&f), 0); /* no clsact at all */
	assert_int_equal(nw_tc_clsact_ensure(LO), 1);
	assert_int_equal(nw_tc_clsact_ensure(LO), 0);
	assert_int_equal(nw_tc_filter_attach(&f, prog_fd, 0, &id), 0);
	assert_true(id != 0);
	assert_int_equal(nw_tc_filter_query(&f, &qid), 1);
	assert_int_equal(qid, id);
	assert_int_equal(nw_tc_filter_count(LO), 1);
	assert_int_equal(nw_tc_filter_attach(&f, prog_fd, 0, NULL), -EEXIST);
	assert_int_equal(nw_tc_filter_attach(&f, prog_fd, 1, NULL), 0);
	assert_int_equal(nw_tc_filter_count(LO), 1);
	/* Still carrying our filter: even the owner leaves it. */
	assert_int_equal(nw_tc_clsact_release(LO, 1), 0);
	assert_true(clsact_there());
	assert_int_equal(nw_tc_filter_detach(&f), 1);
	assert_int_equal(nw_tc_filter_detach(&f), 0);
	assert_int_equal(nw_tc_filter_count(LO), 0);
	assert_int_equal(nw_tc_clsact_release(LO, 1), 1);
	assert_false(clsact_there());
	assert_int_equal(nw_tc_clsact_release(LO, 1), 0); /* already gone */
}

/* Our clsact, and another tool's filter on the other direction: our detach
 * leaves it, and so does the release, until that filter is gone too. */
static void test_other_filter_keeps_our_clsact(void **state)
{
	struct nw_tc_filter ours = { .ifindex = LO, .egress = 1, .handle = 0x4e5c, .priority = 7 };
	struct nw_tc_filter theirs = { .ifindex = LO, .handle = 0x77, .priority = 1 };
	uint32_t id;

	(void)state;
	assert_int_equal(nw_tc_clsact_ensure(LO), 1);
	assert_int_equal(nw_tc_filter_attach(&ours, prog_fd, 1, NULL), 0);
	other_tool_filter(0, theirs.handle);
	assert_int_equal(nw_tc_filter_count(LO), 2);
	assert_int_equal(nw_tc_filter_detach(&ours), 1);
	assert_int_equal(nw_tc_clsact_release(LO, 1), 0);
	assert_int_equal(nw_tc_filter_query(&theirs, &id), 1);
	assert_int_equal(nw_tc_filter_count(LO), 1);
	/* Same direction, same priority, another handle: still theirs. */
	other_tool_filter(1, 0x78);
	assert_int_equal(nw_tc_filter_count(LO), 2);
	assert_int_equal(nw_tc_filter_detach(&theirs), 1);
	theirs.egress = 1;
	theirs.handle = 0x78;
	assert_int_equal(nw_tc_clsact_release(LO, 1), 0);
	assert_int_equal(nw_tc_filter_detach(&theirs), 1);
	assert_int_equal(nw_tc_clsact_release(LO, 1), 1);
}

/* Another tool's empty clsact: ours to use, never to remove. */
static void test_foreign_clsact_stays(void **state)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = LO, .attach_point = BPF_TC_INGRESS);
	struct nw_tc_filter f = { .ifindex = LO, .handle = 0x4e57, .priority = 3 };
	int ensured;

	(void)state;
	assert_int_equal(bpf_tc_hook_create(&hook), 0);
	ensured = nw_tc_clsact_ensure(LO);
	assert_int_equal(ensured, 0);
	assert_false(nw_tc_clsact_owned(ensured, 0));
	assert_int_equal(nw_tc_filter_attach(&f, prog_fd, 0, NULL), 0);
	assert_int_equal(nw_tc_filter_detach(&f), 1);
	assert_int_equal(nw_tc_clsact_release(LO, nw_tc_clsact_owned(ensured, 0)), 0);
	assert_true(clsact_there());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_clsact_lifecycle, clean, clean),
		cmocka_unit_test_setup_teardown(test_other_filter_keeps_our_clsact, clean, clean),
		cmocka_unit_test_setup_teardown(test_foreign_clsact_stays, clean, clean),
	};
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "test_tc_hook: needs root (namespaces, tc, BPF)\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	prog_fd = load_pass_prog();
	if (prog_fd < 0) {
		perror("bpf_prog_load");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	close(prog_fd);
	return rc;
}
