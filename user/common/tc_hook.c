// SPDX-License-Identifier: MIT
#include "tc_hook.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

/* libbpf has no way to list filters; this rtnetlink dump is the one place
 * that reads them. Big enough for any batch the kernel sends a reader
 * whose buffer it has not seen yet. */
#define DUMP_BUF 32768

static enum bpf_tc_attach_point point(const struct nw_tc_filter *f)
{
	return f->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

int nw_tc_clsact_ensure(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	int err = bpf_tc_hook_create(&hook);

	if (err == 0)
		return 1;
	return err == -EEXIST ? 0 : err;
}

int nw_tc_clsact_owned(int ensured, int recorded)
{
	return ensured == 1 || (ensured == 0 && recorded);
}

int nw_tc_filter_attach(const struct nw_tc_filter *f, int prog_fd, int replace_ours,
			uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = point(f));
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = f->handle,
		    .priority = f->priority, .flags = replace_ours ? BPF_TC_F_REPLACE : 0);
	int err = bpf_tc_attach(&hook, &opts);

	if (err == 0 && prog_id)
		*prog_id = opts.prog_id;
	return err;
}

int nw_tc_filter_detach(const struct nw_tc_filter *f)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = point(f));
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->priority);
	int err = bpf_tc_detach(&hook, &opts);

	/* EINVAL: no clsact at all, so no filter of ours either. */
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	return err ? err : 1;
}

int nw_tc_filter_query(const struct nw_tc_filter *f, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = point(f));
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->priority);
	int err = bpf_tc_query(&hook, &opts);

	if (err == -ENOENT || err == -EINVAL)
		return 0;
	if (err)
		return err;
	if (prog_id)
		*prog_id = opts.prog_id;
	return 1;
}

int nw_tc_filter_detach_if(const struct nw_tc_filter *f, uint32_t prog_id)
{
	uint32_t there = 0;
	int err = nw_tc_filter_query(f, &there);

	/* No such interface in this namespace: no filter of ours either. */
	if (err == -ENODEV)
		return 0;
	if (err <= 0)
		return err;
	if (!prog_id || there != prog_id)
		return 0;
	return nw_tc_filter_detach(f);
}

/* Filters under one clsact parent: how many, or -errno. */
static int count_under(int fd, int ifindex, uint32_t parent, uint32_t seq, char *buf)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req;
	int n = 0;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.tc.tcm_family = AF_UNSPEC;
	req.tc.tcm_ifindex = ifindex;
	req.tc.tcm_parent = parent;
	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t got = recv(fd, buf, DUMP_BUF, 0);
		int left = (int)got;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		     nh = NLMSG_NEXT(nh, left)) {
			const struct tcmsg *tcm = NLMSG_DATA(nh);

			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return n;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				return e->error ? (e->error < 0 ? e->error : -e->error) : n;
			}
			/* A dump also lists each priority's chain head (no
			 * options, handle 0): not a filter. */
			if (nh->nlmsg_type == RTM_NEWTFILTER &&
			    nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*tcm)) && tcm->tcm_handle)
				n++;
		}
	}
}

int nw_tc_filter_count(int ifindex)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	uint32_t seq = (uint32_t)time(NULL);
	char *buf = malloc(DUMP_BUF); /* malloc's alignment suits nlmsghdr */
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int in, eg = 0;

	if (!buf || fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local))) {
		in = buf ? -errno : -ENOMEM;
	} else {
		in = count_under(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), seq, buf);
		if (in >= 0)
			eg = count_under(fd, ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS),
					 seq + 1, buf);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	if (in < 0)
		return in;
	return eg < 0 ? eg : in + eg;
}

int nw_tc_clsact_removable(int owned, int filters)
{
	return owned && filters == 0;
}

int nw_tc_clsact_release(int ifindex, int owned)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	/* Not ours: not even worth a count. */
	if (!owned || !nw_tc_clsact_removable(owned, nw_tc_filter_count(ifindex)))
		return 0;
	/* INGRESS|EGRESS is what makes libbpf delete the qdisc itself;
	 * INGRESS alone would flush every filter on that side instead. */
	err = bpf_tc_hook_destroy(&hook);
	if (err == -ENOENT || err == -EINVAL)
		return 0;
	return err ? err : 1;
}
