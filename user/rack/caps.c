// SPDX-License-Identifier: MIT
#include "caps.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

static int kept(cap_value_t c, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

int nw_run_as_resolve(const char *user, struct nw_run_as *out, const char **why)
{
	struct passwd *pw;
	char *end;
	unsigned long v;

	memset(out, 0, sizeof(*out));
	if (!user || !*user || !strcmp(user, "root") || !strcmp(user, "0") || geteuid() != 0)
		return 0;
	snprintf(out->name, sizeof(out->name), "%s", user);
	pw = getpwnam(user);
	if (pw) {
		out->uid = pw->pw_uid;
		out->gid = pw->pw_gid;
	} else {
		errno = 0;
		v = strtoul(user, &end, 10);
		if (errno || *end || end == user || v == 0 || v >= 0xffffffffUL) {
			*why = "no such user (give a name from /etc/passwd or a numeric uid)";
			return -1;
		}
		pw = getpwuid((uid_t)v);
		out->uid = (uid_t)v;
		out->gid = pw ? pw->pw_gid : (gid_t)v;
	}
	if (out->uid == 0)
		return 0; /* another name for root: nothing to change */
	out->change = 1;
	return 0;
}

/* The bounding set needs CAP_SETPCAP, so it shrinks while we are root:
 * no later exec can regain what is dropped here. */
static int drop_bounding(const int *keep, size_t n)
{
	cap_value_t top = (cap_value_t)cap_max_bits();

	for (cap_value_t c = 0; c < top; c++)
		if (!kept(c, keep, n) && cap_drop_bound(c) && errno != EINVAL)
			return -errno;
	cap_reset_ambient();
	return 0;
}

static int have_effective(cap_value_t c)
{
	cap_t now = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (now) {
		cap_get_flag(now, c, CAP_EFFECTIVE, &v);
		cap_free(now);
	}
	return v == CAP_SET;
}

/* gid, supplementary groups, then uid; the permitted set survives the uid
 * change (PR_SET_KEEPCAPS), the effective one does not. */
static int become(const struct nw_run_as *as)
{
	uid_t r, e, s;

	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L))
		return -errno;
	if (setgroups(1, &as->gid) || setresgid(as->gid, as->gid, as->gid) ||
	    setresuid(as->uid, as->uid, as->uid))
		return -errno;
	prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	/* Never half done: every uid must be the new one. */
	if (getresuid(&r, &e, &s) || r != as->uid || e != as->uid || s != as->uid)
		return -EPERM;
	return 0;
}

/* permitted = effective = keep (what we still have of it). */
static int set_sets(const int *keep, size_t n)
{
	cap_value_t top = (cap_value_t)cap_max_bits();
	cap_t have = cap_get_proc(), want = cap_init();
	int err = 0;

	if (!have || !want) {
		err = -ENOMEM;
		goto out;
	}
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
	cap_free(have);
	cap_free(want);
	return err;
}

int nw_caps_drop(const struct nw_log *log, const struct nw_run_as *as, const char *own_dir,
		 const int *keep, size_t n)
{
	char q[300];
	int err = drop_bounding(keep, n), switched = 0, e;

	if (err)
		nw_warn(log, "cannot shrink the capability bounding set", "err=%s", strerror(-err));
	if (!err && as && as->change) {
		if (!have_effective(CAP_SETUID) || !have_effective(CAP_SETGID)) {
			/* The deployment does not allow it: say so, run on as
			 * before (uid 0, capabilities dropped below). */
			nw_warn(log,
				"cannot switch user without CAP_SETUID and CAP_SETGID; "
				"running on as uid 0",
				"user=%s", nw_log_quote(q, sizeof(q), as->name));
			err = -EPERM;
		} else {
			/* The pin dir is the user's from now on: the XDP link
			 * pin in it must be removable at shutdown. */
			if (own_dir && chown(own_dir, as->uid, as->gid))
				nw_warn(log, "cannot give the pin dir to the user",
					"path=%s err=%s", nw_log_quote(q, sizeof(q), own_dir),
					strerror(errno));
			err = become(as);
			if (err)
				nw_warn(log, "cannot switch user", "user=%s err=%s",
					nw_log_quote(q, sizeof(q), as->name), strerror(-err));
			switched = !err;
		}
	}
	/* Also after a failed switch: what can be dropped still is. */
	e = set_sets(keep, n);
	if (e)
		nw_warn(log, "cannot drop capabilities", "err=%s", strerror(-e));
	if (switched && !e)
		nw_info(log, "dropped privileges", "user=%s uid=%u gid=%u caps_kept=%zu",
			nw_log_quote(q, sizeof(q), as->name), (unsigned)as->uid, (unsigned)as->gid,
			n);
	else if (!e)
		nw_debug(log, "dropped capabilities", "kept=%zu", n);
	return err ? err : e;
}

int nw_caps_keep_only(const struct nw_log *log, const int *keep, size_t n)
{
	return nw_caps_drop(log, NULL, NULL, keep, n);
}
