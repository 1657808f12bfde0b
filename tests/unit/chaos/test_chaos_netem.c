/* SPDX-License-Identifier: MIT */
/*
 * netwatch-chaos's netem messages, read back the way the kernel reads them:
 * RTM_NEWQDISC on the root, TCA_KIND "netem", TCA_OPTIONS = struct
 * tc_netem_qopt followed by netem attributes, in netem's units (psched ticks
 * of 64 ns, ns for the 64-bit times, probabilities as fractions of 2^32).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "chaos_netem.h"

#define IFX 42

/* The TCA_* attributes of a qdisc message, as rtnetlink would split them. */
struct parsed {
	const struct tcmsg *tcm;
	const struct nlattr *kind, *options;
	struct tc_netem_qopt qopt;
	const struct nlattr *netem[TCA_NETEM_MAX + 1];
};

static void parse(const struct nlmsghdr *nlh, struct parsed *p)
{
	const struct nlattr *a;
	const char *opt;
	size_t len, off;

	memset(p, 0, sizeof(*p));
	assert_true(nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(struct tcmsg)));
	p->tcm = mnl_nlmsg_get_payload(nlh);
	mnl_attr_for_each(a, nlh, sizeof(struct tcmsg))
	{
		if (mnl_attr_get_type(a) == TCA_KIND)
			p->kind = a;
		if (mnl_attr_get_type(a) == TCA_OPTIONS)
			p->options = a;
	}
	if (!p->options)
		return;
	/* The attribute's own bounds must hold the qopt and every attribute after it. */
	assert_false(p->options->nla_type & NLA_F_NESTED);
	opt = mnl_attr_get_payload(p->options);
	len = mnl_attr_get_payload_len(p->options);
	assert_true(len >= sizeof(p->qopt));
	memcpy(&p->qopt, opt, sizeof(p->qopt));
	for (off = NLA_ALIGN(sizeof(p->qopt)); off + sizeof(struct nlattr) <= len;) {
		const struct nlattr *n = (const struct nlattr *)(opt + off);

		assert_true(n->nla_len >= sizeof(struct nlattr));
		assert_true(off + n->nla_len <= len);
		assert_true((n->nla_type & NLA_TYPE_MASK) <= TCA_NETEM_MAX);
		p->netem[n->nla_type & NLA_TYPE_MASK] = n;
		off += NLA_ALIGN(n->nla_len);
	}
	assert_int_equal(off, len);
	/* Nothing of the message lies outside TCA_OPTIONS' end. */
	assert_ptr_equal((const char *)p->options + NLA_ALIGN(p->options->nla_len),
			 (const char *)nlh + nlh->nlmsg_len);
}

static int64_t get_s64(const struct nlattr *a)
{
	int64_t v;

	assert_non_null(a);
	assert_int_equal(mnl_attr_get_payload_len(a), 8);
	memcpy(&v, mnl_attr_get_payload(a), 8);
	return v;
}

static void test_delay_loss(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nw_chaos_faults f = { .set = NW_FAULT_DELAY | NW_FAULT_JITTER | NW_FAULT_LOSS,
				     .delay_ns = 200000000ULL,
				     .jitter_ns = 25000000ULL,
				     .loss = 0.20 };
	struct nlmsghdr *nlh = nw_netem_msg_add(buf, sizeof(buf), IFX, &f, f.set, 77);
	struct parsed p;

	(void)state;
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWQDISC);
	assert_int_equal(nlh->nlmsg_flags,
			 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	assert_int_equal(nlh->nlmsg_seq, 77);
	parse(nlh, &p);
	assert_int_equal(p.tcm->tcm_family, AF_UNSPEC);
	assert_int_equal(p.tcm->tcm_ifindex, IFX);
	assert_int_equal(p.tcm->tcm_parent, TC_H_ROOT);
	assert_int_equal(p.tcm->tcm_handle, 0x4E5C0000U);
	assert_non_null(p.kind);
	assert_string_equal(mnl_attr_get_str(p.kind), "netem");
	assert_non_null(p.options);
	/* 200 ms = 200e6 ns = 3125000 ticks of 64 ns; 25 ms = 390625 ticks. */
	assert_int_equal(p.qopt.latency, 3125000U);
	assert_int_equal(p.qopt.jitter, 390625U);
	assert_int_equal(p.qopt.limit, 1000U);
	/* 20% of 2^32, rounded: what tc's percent_to_prob gives too. */
	assert_int_equal(p.qopt.loss, 858993459U);
	assert_int_equal(p.qopt.duplicate, 0);
	assert_int_equal(get_s64(p.netem[TCA_NETEM_LATENCY64]), 200000000LL);
	assert_int_equal(get_s64(p.netem[TCA_NETEM_JITTER64]), 25000000LL);
	assert_null(p.netem[TCA_NETEM_CORRUPT]);
	assert_null(p.netem[TCA_NETEM_LOSS]);
}

static void test_duplicate_corrupt(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nw_chaos_faults f = { .set = NW_FAULT_DUPLICATE | NW_FAULT_CORRUPT,
				     .duplicate = 0.05,
				     .corrupt = 0.001 };
	struct parsed p;
	struct tc_netem_corrupt c;

	(void)state;
	parse(nw_netem_msg_add(buf, sizeof(buf), IFX, &f, f.set, 1), &p);
	assert_int_equal(p.qopt.latency, 0);
	assert_int_equal(p.qopt.jitter, 0);
	assert_int_equal(p.qopt.loss, 0);
	assert_int_equal(p.qopt.duplicate, 214748365U); /* 5% */
	assert_null(p.netem[TCA_NETEM_LATENCY64]);
	assert_null(p.netem[TCA_NETEM_JITTER64]);
	assert_non_null(p.netem[TCA_NETEM_CORRUPT]);
	assert_int_equal(mnl_attr_get_payload_len(p.netem[TCA_NETEM_CORRUPT]), sizeof(c));
	memcpy(&c, mnl_attr_get_payload(p.netem[TCA_NETEM_CORRUPT]), sizeof(c));
	assert_int_equal(c.probability, 4294967U); /* 0.1% */
	assert_int_equal(c.correlation, 0);
}

static void test_only_selected_faults(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nw_chaos_faults f = { .set = NW_FAULT_DELAY | NW_FAULT_LOSS,
				     .delay_ns = 1000000ULL,
				     .loss = 0.5 };
	struct parsed p;

	(void)state;
	/* auto sends netem only what it routes there. */
	parse(nw_netem_msg_add(buf, sizeof(buf), IFX, &f, NW_FAULT_LOSS, 1), &p);
	assert_int_equal(p.qopt.latency, 0);
	assert_null(p.netem[TCA_NETEM_LATENCY64]);
	assert_int_equal(p.qopt.loss, 2147483648U);
}

static void test_burst_gemodel(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nw_chaos_faults f = { .set = NW_FAULT_LOSS, .loss = 0.20, .burst = 5.0 };
	struct parsed p;
	const struct nlattr *a, *ge = NULL;
	struct tc_netem_gemodel g;

	(void)state;
	parse(nw_netem_msg_add(buf, sizeof(buf), IFX, &f, f.set, 1), &p);
	assert_non_null(p.netem[TCA_NETEM_LOSS]);
	mnl_attr_for_each_nested(a, p.netem[TCA_NETEM_LOSS])
	{
		assert_int_equal(mnl_attr_get_type(a), NETEM_LOSS_GE);
		ge = a;
	}
	assert_non_null(ge);
	assert_int_equal(mnl_attr_get_payload_len(ge), sizeof(g));
	memcpy(&g, mnl_attr_get_payload(ge), sizeof(g));
	/* r = 1/5 (mean burst 5); p = 0.2 * 0.2 / 0.8 = 0.05, so p/(p+r) = 20%. */
	assert_int_equal(g.r, 858993459U);
	assert_int_equal(g.p, 214748365U);
	assert_int_equal(g.h, 0);  /* bad state: lose unless rand <= h */
	assert_int_equal(g.k1, 0); /* good state: never lose */
}

static void test_long_delay_saturates_ticks(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nw_chaos_faults f = { .set = NW_FAULT_DELAY, .delay_ns = 3600000000000ULL };
	struct parsed p;

	(void)state;
	parse(nw_netem_msg_add(buf, sizeof(buf), IFX, &f, f.set, 1), &p);
	/* An hour is 5.6e10 ticks: the 32-bit field saturates, the 64-bit ns attribute rules. */
	assert_int_equal(p.qopt.latency, UINT32_MAX);
	assert_int_equal(get_s64(p.netem[TCA_NETEM_LATENCY64]), 3600000000000LL);
}

static void test_del_and_dump(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nlmsghdr *nlh = nw_netem_msg_del(buf, sizeof(buf), IFX, 9);
	const struct tcmsg *tcm;

	(void)state;
	assert_int_equal(nlh->nlmsg_type, RTM_DELQDISC);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	tcm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(tcm->tcm_ifindex, IFX);
	assert_int_equal(tcm->tcm_parent, TC_H_ROOT);
	assert_int_equal(tcm->tcm_handle, 0x4E5C0000U);
	assert_int_equal(nlh->nlmsg_len, mnl_nlmsg_size(sizeof(*tcm)));

	nlh = nw_netem_msg_dump(buf, sizeof(buf), 10);
	assert_int_equal(nlh->nlmsg_type, RTM_GETQDISC);
	assert_true(nlh->nlmsg_flags & NLM_F_DUMP);
	assert_null(nw_netem_msg_add(buf, NW_NETEM_MSG_SIZE - 1, IFX,
				     &(struct nw_chaos_faults){ .set = NW_FAULT_LOSS },
				     NW_FAULT_LOSS, 1));
}

/* --list reads the kernel's RTM_NEWQDISC back; the kernel echoes the same layout. */
static void test_decode_round_trip(void **state)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nw_chaos_faults f = { .set = NW_FAULT_DELAY | NW_FAULT_JITTER | NW_FAULT_LOSS |
					    NW_FAULT_DUPLICATE | NW_FAULT_CORRUPT,
				     .delay_ns = 200000000ULL,
				     .jitter_ns = 25000000ULL,
				     .loss = 0.2,
				     .burst = 4.0,
				     .duplicate = 0.01,
				     .corrupt = 0.02 };
	struct nw_netem_seen s;
	struct nlmsghdr *nlh = nw_netem_msg_add(buf, sizeof(buf), IFX, &f, f.set, 1);

	(void)state;
	assert_int_equal(nw_netem_decode(nlh, &s), 0);
	assert_true(s.is_netem);
	assert_int_equal(s.ifindex, IFX);
	assert_int_equal(s.handle, NW_NETEM_HANDLE);
	assert_int_equal(s.faults.set, f.set);
	assert_int_equal(s.faults.delay_ns, f.delay_ns);
	assert_int_equal(s.faults.jitter_ns, f.jitter_ns);
	assert_float_equal(s.faults.loss, 0.2, 1e-6);
	assert_float_equal(s.faults.burst, 4.0, 1e-6);
	assert_float_equal(s.faults.duplicate, 0.01, 1e-6);
	assert_float_equal(s.faults.corrupt, 0.02, 1e-6);

	/* A truncated TCA_OPTIONS is refused, not read past. */
	nlh = nw_netem_msg_add(buf, sizeof(buf), IFX, &f, NW_FAULT_LOSS, 1);
	{
		struct nlattr *a;

		mnl_attr_for_each(a, nlh,
				  sizeof(struct tcmsg)) if (mnl_attr_get_type(a) == TCA_OPTIONS)
			a->nla_len = sizeof(struct nlattr) + 8;
	}
	assert_int_equal(nw_netem_decode(nlh, &s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_loss),
		cmocka_unit_test(test_duplicate_corrupt),
		cmocka_unit_test(test_only_selected_faults),
		cmocka_unit_test(test_burst_gemodel),
		cmocka_unit_test(test_long_delay_saturates_ticks),
		cmocka_unit_test(test_del_and_dump),
		cmocka_unit_test(test_decode_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
