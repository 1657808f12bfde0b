// SPDX-License-Identifier: MIT
#include "caps.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static int kept(cap_value_t c, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

int nw_caps_keep_only(const struct nw_log *log, const int *keep, size_t n)
{
	cap_value_t top = (cap_value_t)cap_max_bits();
	cap_t have = cap_get_proc(), want = cap_init();
	int err = 0;

	if (!have || !want) {
		err = -ENOMEM;
		goto out;
	}
	/* The bounding set needs CAP_SETPCAP, so it shrinks before the sets do:
	 * no later exec can regain what is dropped here. */
	for (cap_value_t c = 0; c < top; c++) {
		if (!kept(c, keep, n) && cap_drop_bound(c) && errno != EINVAL) {
			err = -errno;
			goto out;
		}
	}
	cap_reset_ambient();
	for (size_t i = 0; i < n; i++) {
		cap_value_t c = keep[i];
		cap_flag_value_t v = CAP_CLEAR;

		/* Asking to keep what we never had would fail the whole set. */
		if (c < 0 || c >= top || cap_get_flag(have, c, CAP_PERMITTED, &v) || v != CAP_SET)
			continue;
		if (cap_set_flag(want, CAP_PERMITTED, 1, &c, CAP_SET) ||
		    cap_set_flag(want, CAP_EFFECTIVE, 1, &c, CAP_SET)) {
			err = -errno;
			goto out;
		}
	}
	if (cap_set_proc(want))
		err = -errno;
out:
	if (err)
		nw_warn(log, "cannot drop capabilities", "err=%s", strerror(-err));
	else
		nw_debug(log, "dropped capabilities", "kept=%zu", n);
	cap_free(have);
	cap_free(want);
	return err;
}
