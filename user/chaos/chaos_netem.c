// SPDX-License-Identifier: MIT
#include "chaos_netem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

/* netem's qopt carries times in psched ticks: the kernel reads them as
 * PSCHED_TICKS2NS(t) = t << 6. The 64-bit ns attributes, sent as well,
 * take precedence on every kernel that knows them (4.15+). */
#define PSCHED_SHIFT_ 6

static uint32_t ticks(uint64_t ns)
{
	uint64_t t = ns >> PSCHED_SHIFT_;

	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static struct nlmsghdr *put_tcmsg(void *buf, size_t size, uint16_t type, uint16_t flags,
				  int ifindex, uint32_t handle, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	if (size < NW_NETEM_MSG_SIZE)
		return NULL;
	memset(buf, 0, NW_NETEM_MSG_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_handle = handle;
	tcm->tcm_parent = TC_H_ROOT;
	return nlh;
}

struct nlmsghdr *nw_netem_msg_add(void *buf, size_t size, int ifindex,
				  const struct nw_chaos_faults *f, unsigned which, uint32_t seq)
{
	struct nlmsghdr *nlh = put_tcmsg(buf, size, RTM_NEWQDISC,
					 NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, ifindex,
					 NW_NETEM_HANDLE, seq);
	struct tc_netem_qopt q;
	struct nlattr *opts;

	if (!nlh)
		return NULL;
	which &= f->set;
	memset(&q, 0, sizeof(q));
	q.limit = NW_NETEM_LIMIT;
	if (which & NW_FAULT_DELAY)
		q.latency = ticks(f->delay_ns);
	if (which & NW_FAULT_JITTER)
		q.jitter = ticks(f->jitter_ns);
	if (which & NW_FAULT_LOSS)
		q.loss = nw_chaos_prob(f->loss); /* the mean, also with bursts */
	if (which & NW_FAULT_DUPLICATE)
		q.duplicate = nw_chaos_prob(f->duplicate);

	mnl_attr_put_strz(nlh, TCA_KIND, "netem");
	/* netem's TCA_OPTIONS is not a plain nest: the fixed qopt comes first,
	 * then attributes, all inside one TCA_OPTIONS (as tc sends it). */
	opts = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_put(nlh, TCA_OPTIONS, sizeof(q), &q);
	if (which & NW_FAULT_DELAY) {
		int64_t v = (int64_t)f->delay_ns;

		mnl_attr_put(nlh, TCA_NETEM_LATENCY64, sizeof(v), &v);
	}
	if (which & NW_FAULT_JITTER) {
		int64_t v = (int64_t)f->jitter_ns;

		mnl_attr_put(nlh, TCA_NETEM_JITTER64, sizeof(v), &v);
	}
	if (which & NW_FAULT_CORRUPT) {
		struct tc_netem_corrupt c = { .probability = nw_chaos_prob(f->corrupt) };

		mnl_attr_put(nlh, TCA_NETEM_CORRUPT, sizeof(c), &c);
	}
	if ((which & NW_FAULT_LOSS) && f->burst > 1.0) {
		double p_gb, p_bg;
		const char *why;
		struct nlattr *loss;
		/* Bad state always loses (netem loses there when rand > h), good never. */
		struct tc_netem_gemodel ge = { .h = 0, .k1 = 0 };

		if (nw_chaos_gilbert(f->loss, f->burst, &p_gb, &p_bg, &why))
			return NULL;
		ge.p = nw_chaos_prob(p_gb);
		ge.r = nw_chaos_prob(p_bg);
		loss = mnl_attr_nest_start(nlh, TCA_NETEM_LOSS);
		mnl_attr_put(nlh, NETEM_LOSS_GE, sizeof(ge), &ge);
		mnl_attr_nest_end(nlh, loss);
	}
	opts->nla_len = (uint16_t)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)opts);
	return nlh;
}

struct nlmsghdr *nw_netem_msg_del(void *buf, size_t size, int ifindex, uint32_t seq)
{
	return put_tcmsg(buf, size, RTM_DELQDISC, NLM_F_ACK, ifindex, NW_NETEM_HANDLE, seq);
}

struct nlmsghdr *nw_netem_msg_dump(void *buf, size_t size, uint32_t seq)
{
	struct nlmsghdr *nlh = put_tcmsg(buf, size, RTM_GETQDISC, NLM_F_DUMP, 0, 0, seq);

	if (nlh) {
		struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);

		tcm->tcm_parent = 0;
	}
	return nlh;
}

struct attrs {
	const struct nlattr *tb[TCA_NETEM_MAX + 1];
	int max;
};

static int keep_attr(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	int type = mnl_attr_get_type(a);

	if (type >= 0 && type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static int decode_opts(const struct nlattr *opts, struct nw_chaos_faults *f)
{
	struct attrs t = { .max = TCA_NETEM_MAX };
	uint16_t len = mnl_attr_get_payload_len(opts);
	const char *p = mnl_attr_get_payload(opts);
	struct tc_netem_qopt q;

	if (len < sizeof(q))
		return -1;
	memcpy(&q, p, sizeof(q));
	memset(f, 0, sizeof(*f));
	if (q.latency) {
		f->set |= NW_FAULT_DELAY;
		f->delay_ns = (uint64_t)q.latency << PSCHED_SHIFT_;
	}
	if (q.jitter) {
		f->set |= NW_FAULT_JITTER;
		f->jitter_ns = (uint64_t)q.jitter << PSCHED_SHIFT_;
	}
	if (q.loss) {
		f->set |= NW_FAULT_LOSS;
		f->loss = q.loss / 4294967296.0;
	}
	if (q.duplicate) {
		f->set |= NW_FAULT_DUPLICATE;
		f->duplicate = q.duplicate / 4294967296.0;
	}
	if (len > MNL_ALIGN(sizeof(q)) &&
	    mnl_attr_parse_payload(p + MNL_ALIGN(sizeof(q)), len - MNL_ALIGN(sizeof(q)), keep_attr,
				   &t) < 0)
		return -1;
	if (t.tb[TCA_NETEM_LATENCY64] && mnl_attr_get_payload_len(t.tb[TCA_NETEM_LATENCY64]) == 8) {
		int64_t v;

		memcpy(&v, mnl_attr_get_payload(t.tb[TCA_NETEM_LATENCY64]), 8);
		f->delay_ns = v > 0 ? (uint64_t)v : 0;
		f->set = v > 0 ? f->set | NW_FAULT_DELAY : f->set & ~NW_FAULT_DELAY;
	}
	if (t.tb[TCA_NETEM_JITTER64] && mnl_attr_get_payload_len(t.tb[TCA_NETEM_JITTER64]) == 8) {
		int64_t v;

		memcpy(&v, mnl_attr_get_payload(t.tb[TCA_NETEM_JITTER64]), 8);
		f->jitter_ns = v > 0 ? (uint64_t)v : 0;
		f->set = v > 0 ? f->set | NW_FAULT_JITTER : f->set & ~NW_FAULT_JITTER;
	}
	if (t.tb[TCA_NETEM_CORRUPT] &&
	    mnl_attr_get_payload_len(t.tb[TCA_NETEM_CORRUPT]) >= sizeof(struct tc_netem_corrupt)) {
		struct tc_netem_corrupt c;

		memcpy(&c, mnl_attr_get_payload(t.tb[TCA_NETEM_CORRUPT]), sizeof(c));
		if (c.probability) {
			f->set |= NW_FAULT_CORRUPT;
			f->corrupt = c.probability / 4294967296.0;
		}
	}
	if (t.tb[TCA_NETEM_LOSS]) {
		struct attrs l = { .max = NETEM_LOSS_MAX };
		struct tc_netem_gemodel ge;

		if (mnl_attr_parse_nested(t.tb[TCA_NETEM_LOSS], keep_attr, &l) < 0)
			return -1;
		if (l.tb[NETEM_LOSS_GE] &&
		    mnl_attr_get_payload_len(l.tb[NETEM_LOSS_GE]) >= sizeof(ge)) {
			memcpy(&ge, mnl_attr_get_payload(l.tb[NETEM_LOSS_GE]), sizeof(ge));
			if (ge.r) {
				double p_gb = ge.p / 4294967296.0, p_bg = ge.r / 4294967296.0;

				f->set |= NW_FAULT_LOSS;
				f->burst = 1.0 / p_bg;
				f->loss = p_gb / (p_gb + p_bg);
			}
		}
	}
	return 0;
}

int nw_netem_decode(const struct nlmsghdr *nlh, struct nw_netem_seen *out)
{
	const struct nlattr *tb[TCA_MAX + 1] = { 0 };
	const struct tcmsg *tcm;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWQDISC || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*tcm)))
		return -1;
	tcm = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	out->ifindex = tcm->tcm_ifindex;
	out->handle = tcm->tcm_handle;
	out->parent = tcm->tcm_parent;
	mnl_attr_for_each(a, nlh, sizeof(*tcm))
	{
		int type = mnl_attr_get_type(a);

		if (mnl_attr_validate(a, MNL_TYPE_UNSPEC) < 0)
			return -1;
		if (type >= 0 && type <= TCA_MAX)
			tb[type] = a;
	}
	if (!tb[TCA_KIND] || mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) < 0)
		return -1;
	out->is_netem = !strcmp(mnl_attr_get_str(tb[TCA_KIND]), "netem");
	if (out->is_netem && tb[TCA_OPTIONS] && decode_opts(tb[TCA_OPTIONS], &out->faults))
		return -1;
	return 0;
}

/* ------------------------------------------------------------ the socket */

typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *ctx);

static void extack_msg(const struct nlmsghdr *nlh, char *err, size_t errlen)
{
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	mnl_attr_for_each(a, nlh, sizeof(struct nlmsgerr))
	{
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(err, errlen, "%s", mnl_attr_get_str(a));
			return;
		}
	}
}

/* Sends req and reads until its ack, error or dump end; data messages go
 * to fn. 0 or -errno. */
static int talk(const struct nlmsghdr *req, msg_fn fn, void *ctx, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int one = 1, ret = 0, done = 0;
	unsigned int portid;

	if (err && errlen)
		err[0] = '\0';
	if (!nl)
		return -errno;
	/* Capped acks put the kernel's extack message right after the error. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int left = (int)n;

		if (n < 0) {
			ret = -errno;
			break;
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != req->nlmsg_seq || nlh->nlmsg_pid != portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
					ret = -EBADMSG;
				} else if (e->error) {
					ret = e->error < 0 ? e->error : -e->error;
					if (err && errlen)
						extack_msg(nlh, err, errlen);
				}
				done = 1;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (fn && fn(nlh, ctx) < 0) {
				ret = -EBADMSG;
				done = 1;
				break;
			}
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static uint32_t next_seq(void)
{
	return (uint32_t)time(NULL);
}

int nw_netem_apply(int ifindex, const struct nw_chaos_faults *f, unsigned which, char *err,
		   size_t errlen)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct nlmsghdr *req = nw_netem_msg_add(buf, sizeof(buf), ifindex, f, which, next_seq());
	int ret;

	if (!req) {
		snprintf(err, errlen, "cannot express this impairment for netem");
		return -EINVAL;
	}
	ret = talk(req, NULL, NULL, err, errlen);
	/* The kernel answers EAGAIN once after loading sch_netem on demand. */
	if (ret == -EAGAIN)
		ret = talk(req, NULL, NULL, err, errlen);
	return ret;
}

struct query {
	int ifindex;
	int found;
	struct nw_netem_seen seen;
};

static int on_qdisc(const struct nlmsghdr *nlh, void *ctx)
{
	struct query *q = ctx;
	struct nw_netem_seen s;

	if (nw_netem_decode(nlh, &s))
		return 0; /* another kind we cannot read is not ours anyway */
	if (s.ifindex == q->ifindex && s.parent == TC_H_ROOT && s.handle == NW_NETEM_HANDLE &&
	    s.is_netem) {
		q->seen = s;
		q->found = 1;
	}
	return 0;
}

int nw_netem_query(int ifindex, struct nw_netem_seen *out, char *err, size_t errlen)
{
	char buf[NW_NETEM_MSG_SIZE];
	struct query q = { .ifindex = ifindex };
	int ret = talk(nw_netem_msg_dump(buf, sizeof(buf), next_seq()), on_qdisc, &q, err, errlen);

	if (ret)
		return ret;
	if (q.found && out)
		*out = q.seen;
	return q.found;
}

int nw_netem_clear(int ifindex, char *err, size_t errlen)
{
	char buf[NW_NETEM_MSG_SIZE];
	int ret = nw_netem_query(ifindex, NULL, err, errlen);

	if (ret <= 0)
		return ret;
	ret = talk(nw_netem_msg_del(buf, sizeof(buf), ifindex, next_seq()), NULL, NULL, err,
		   errlen);
	return ret ? ret : 1;
}
