// SPDX-License-Identifier: MIT
#include "chaos.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int chaos_netns_enter(const char *name, char *err, size_t errlen)
{
	char path[128];
	int fd;

	if (!name[0])
		return 0;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "network namespace %s: %s", name, strerror(errno));
		return -1;
	}
	/* Only the network namespace: the mount namespace (and with it the
	 * bpffs where the maps are pinned) stays the caller's. */
	if (setns(fd, CLONE_NEWNET)) {
		snprintf(err, errlen, "entering network namespace %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int chaos_netns_home(int home_ns)
{
	return setns(home_ns, CLONE_NEWNET);
}
