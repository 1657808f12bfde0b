// SPDX-License-Identifier: MIT
#include "pins.h"

#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "collector.h"

#define BPFFS_DEFAULT "/sys/fs/bpf"

int nw_pins_rack_dir(char *buf, size_t size, const char *pin_dir, uint32_t rack)
{
	size_t len = strlen(pin_dir);
	int n;

	while (len > 1 && pin_dir[len - 1] == '/')
		len--;
	n = snprintf(buf, size, "%.*s/rack%u", (int)len, pin_dir, rack);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int nw_pins_path(char *buf, size_t size, const char *rack_dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", rack_dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int nw_pins_exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int is_bpffs(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC;
}

int nw_mkdir_p(const char *path, mode_t mode)
{
	char tmp[NW_PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int nw_pins_prepare(const struct nw_log *log, const char *rack_dir)
{
	size_t blen = strlen(BPFFS_DEFAULT);
	int err;

	/* Containers and minimal hosts often start without bpffs; pins on a
	 * tmpfs would silently vanish the libbpf way (EPERM), so mount it. */
	if (strncmp(rack_dir, BPFFS_DEFAULT, blen) == 0 &&
	    (rack_dir[blen] == '/' || rack_dir[blen] == '\0') && !is_bpffs(BPFFS_DEFAULT)) {
		if (nw_mkdir_p(BPFFS_DEFAULT, 0755) ||
		    mount("bpf", BPFFS_DEFAULT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0700")) {
			err = -errno;
			nw_error(log, "cannot mount bpffs", "path=%s err=%s", BPFFS_DEFAULT,
				 strerror(errno));
			return err;
		}
		nw_info(log, "mounted bpffs", "path=%s", BPFFS_DEFAULT);
	}
	err = nw_mkdir_p(rack_dir, 0700);
	if (err) {
		char q[NW_PATH_MAX + 64];

		nw_error(log, "cannot create pin dir", "path=%s err=%s",
			 nw_log_quote(q, sizeof(q), rack_dir), strerror(-err));
		return err;
	}
	if (!is_bpffs(rack_dir)) {
		char q[NW_PATH_MAX + 64];

		nw_error(log, "pin dir is not on a bpf filesystem", "path=%s",
			 nw_log_quote(q, sizeof(q), rack_dir));
		return -ENOTSUP;
	}
	return 0;
}

/* Every map the collector pins is named nw_* (bpf/collector.h), every link
 * link_xdp_<ifname>: a prefix rule keeps a new map from being left behind. */
static int is_ours(const char *name)
{
	return strncmp(name, "nw_", 3) == 0 || strncmp(name, "link_xdp_", 9) == 0;
}

int nw_pins_remove_all(const struct nw_log *log, const char *rack_dir)
{
	char path[NW_PATH_MAX], q[NW_PATH_MAX + 64];
	struct dirent *de;
	DIR *d = opendir(rack_dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		/* Only names we pin: someone else's pin in our dir is not ours to drop. */
		if (!is_ours(de->d_name))
			continue;
		if (nw_pins_path(path, sizeof(path), rack_dir, de->d_name) || unlink(path)) {
			err = -errno;
			nw_warn(log, "cannot remove pin", "path=%s err=%s",
				nw_log_quote(q, sizeof(q), path), strerror(errno));
			continue;
		}
		nw_debug(log, "removed pin", "path=%s", nw_log_quote(q, sizeof(q), path));
	}
	closedir(d);
	if (rmdir(rack_dir) && errno != ENOENT && errno != ENOTEMPTY)
		err = -errno;
	return err;
}
