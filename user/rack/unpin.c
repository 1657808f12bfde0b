// SPDX-License-Identifier: MIT
#include <bpf/bpf.h>
#include <unistd.h>

#include "socket_store.h"

#include "attach.h"
#include "meta.h"
#include "pins.h"
#include "rack.h"

int rack_unpin(const struct nw_log *log, const struct rack_opts *o)
{
	char dir[NW_PATH_MAX], path[NW_PATH_MAX], q[NW_PATH_MAX + 64];
	struct nw_meta meta = { 0 };
	int fd;

	if (nw_pins_rack_dir(dir, sizeof(dir), o->pin_dir, o->rack)) {
		nw_error(log, "pin dir path too long", NULL);
		return 1;
	}
	if (!nw_socket_store_path(path, sizeof(path), o->state_dir, o->rack) && !unlink(path))
		nw_info(log, "removed socket state", "file=%s", nw_log_quote(q, sizeof(q), path));
	if (nw_pins_exists(dir) != 1) {
		nw_info(log, "nothing pinned", "path=%s", nw_log_quote(q, sizeof(q), dir));
		return 0;
	}
	/* A controller killed with -9 left its tc filter behind; its nw_meta
	 * says exactly which one is ours. XDP links go with their pins. */
	if (!nw_pins_path(path, sizeof(path), dir, NW_MAP_META) && nw_pins_exists(path) == 1) {
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			if (!nw_meta_read(fd, &meta))
				nw_attach_remove_recorded_tc(log, &meta);
			close(fd);
		}
	}
	if (nw_pins_remove_all(log, dir)) {
		nw_error(log, "could not remove every pin", "path=%s",
			 nw_log_quote(q, sizeof(q), dir));
		return 1;
	}
	nw_info(log, "unpinned rack", "rack=%u path=%s", o->rack, nw_log_quote(q, sizeof(q), dir));
	return 0;
}
