// SPDX-License-Identifier: MIT
/*
 * The fabric's targets: a rack's uplink and the path between two racks,
 * resolved from the topology's racks[].fabric_uplink and racks[].subnet
 * (docs/chaos.md). An uplink is faulted on the egress of both ends, so both
 * directions lose. A path A,B is faulted on the fabric end of each rack's
 * uplink, the egress toward the destination rack, matching only packets
 * from the other rack's subnet: traffic of any other pair on the same port
 * is handed on untouched.
 */
#include "chaos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct nw_chaos_rack *find_rack(const struct nw_chaos_topology *topo, uint32_t id)
{
	for (size_t i = 0; i < topo->nracks; i++)
		if (topo->racks[i].rack_id == id)
			return &topo->racks[i];
	return NULL;
}

static void set_end(struct nw_chaos_target *t, const struct nw_chaos_end *e)
{
	snprintf(t->netns, sizeof(t->netns), "%s", e->netns);
	snprintf(t->iface, sizeof(t->iface), "%s", e->iface);
}

static int need_uplink(const struct nw_chaos_rack *r, uint32_t id, const char *file, char *err,
		       size_t errlen)
{
	if (!r) {
		snprintf(err, errlen, "no rack %u in %s", id, file);
		return -1;
	}
	if (!r->fabric_end.iface[0]) {
		snprintf(err, errlen, "rack %u has no fabric_uplink in %s", id, file);
		return -1;
	}
	return 0;
}

/* The direction from -> to: on `to`'s fabric end, packets from `from`. */
static void path_dir(struct nw_chaos_target *t, const struct nw_chaos_rack *from,
		     const struct nw_chaos_rack *to)
{
	memset(t, 0, sizeof(*t));
	t->kind = NW_TARGET_PATH;
	t->rack_id = to->rack_id;
	t->peer = from->rack_id;
	set_end(t, &to->fabric_end);
	t->tc_handle = NW_CHAOS_PATH_HANDLE_BASE | from->rack_id;
	t->tc_prio = NW_CHAOS_PATH_PRIO;
	t->src_net = from->net;
	t->src_mask = from->mask;
	t->dst_net = to->net;
	t->dst_mask = to->mask;
}

int chaos_fabric_targets(const struct chaos_opts *o, const struct nw_chaos_topology *topo,
			 struct nw_chaos_target **out, size_t *n, char *err, size_t errlen)
{
	struct nw_chaos_target *t = calloc(2, sizeof(*t));

	*out = NULL;
	*n = 0;
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (o->uplink) {
		const struct nw_chaos_rack *r = find_rack(topo, o->rack);

		if (need_uplink(r, o->rack, o->topology, err, errlen))
			goto fail;
		for (int i = 0; i < 2; i++) {
			t[i].kind = NW_TARGET_UPLINK;
			t[i].rack_id = r->rack_id;
			t[i].peer = (uint32_t)i;
			set_end(&t[i], i ? &r->fabric_end : &r->rack_end);
		}
	} else if (o->have_path) {
		const struct nw_chaos_rack *a = find_rack(topo, o->path[0]),
					   *b = find_rack(topo, o->path[1]);

		if (need_uplink(a, o->path[0], o->topology, err, errlen) ||
		    need_uplink(b, o->path[1], o->topology, err, errlen))
			goto fail;
		if (!a->mask || !b->mask) {
			snprintf(err, errlen, "rack %u has no subnet in %s",
				 a->mask ? b->rack_id : a->rack_id, o->topology);
			goto fail;
		}
		path_dir(&t[0], a, b);
		path_dir(&t[1], b, a);
	} else {
		snprintf(err, errlen, "neither --uplink nor --path");
		goto fail;
	}
	*out = t;
	*n = 2;
	return 0;
fail:
	free(t);
	return -1;
}
