// SPDX-License-Identifier: MIT
/*
 * Raw capset(2) rather than libcap: the build links libbpf, jansson and libm
 * only, and three capability words are all this needs.
 */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int kept(int c, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

static int last_cap(void)
{
	int c = CAP_LAST_CAP;

	/* The running kernel may know more capabilities than our headers. */
	while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

int nw_caps_keep_only(const struct nw_log *log, const int *keep, size_t n)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int top = last_cap(), err = 0;

	/* The bounding set needs CAP_SETPCAP, so it goes first. */
	for (int c = 0; c <= top; c++) {
		if (kept(c, keep, n))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) {
			err = -errno;
			break;
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

	struct __user_cap_data_struct have[_LINUX_CAPABILITY_U32S_3];

	/* Asking to keep a capability we never had would fail the whole capset. */
	if (syscall(SYS_capget, &hdr, have))
		memset(have, 0, sizeof(have));
	memset(data, 0, sizeof(data));
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0 || keep[i] > top)
			continue;
		data[keep[i] / 32].effective |= 1U << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1U << (keep[i] % 32);
	}
	for (int w = 0; w < _LINUX_CAPABILITY_U32S_3; w++) {
		data[w].permitted &= have[w].permitted;
		data[w].effective &= have[w].permitted;
	}
	if (!err && syscall(SYS_capset, &hdr, data))
		err = -errno;
	if (err)
		nw_warn(log, "cannot drop capabilities", "err=%s", strerror(-err));
	else
		nw_debug(log, "dropped capabilities", "kept=%zu", n);
	return err;
}
