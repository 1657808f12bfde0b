// SPDX-License-Identifier: MIT
#include "chaos_topology.h"
#include "small_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>

/* Names end up in paths (/run/netns/NAME, bpffs directories): no slashes,
 * no dot names, nothing unprintable. */
static int safe_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '/')
			return 0;
	return 1;
}

static int get_id(json_t *o, const char *key, uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -1;
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* Optional string: absent or null -> "", else it must fit and be safe. */
static int get_str(json_t *o, const char *key, char *out, size_t size, int path)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (path) {
		if (!*s || strlen(s) >= size || s[0] != '/')
			return -1;
	} else if (!safe_name(s, size)) {
		return -1;
	}
	snprintf(out, size, "%s", s);
	return 0;
}

static int parse_server(json_t *rack, json_t *srv, uint32_t rack_id, struct nw_chaos_target *t,
			char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->rack_id = rack_id;
	if (!json_is_object(srv) || get_id(srv, "server_id", UINT32_MAX, &t->server_id)) {
		snprintf(err, errlen, "rack %u: a server without a valid server_id", rack_id);
		return -1;
	}
	/* A server without its own netns runs in the rack's (or the host's). */
	if (get_str(srv, "netns", t->netns, sizeof(t->netns), 0) ||
	    (!json_object_get(srv, "netns") &&
	     get_str(rack, "netns", t->netns, sizeof(t->netns), 0))) {
		snprintf(err, errlen, "rack %u server %u: netns is not a namespace name", rack_id,
			 t->server_id);
		return -1;
	}
	if (get_str(srv, "iface", t->iface, sizeof(t->iface), 0) || !t->iface[0]) {
		snprintf(err, errlen, "rack %u server %u: iface missing or not an interface name",
			 rack_id, t->server_id);
		return -1;
	}
	if (get_str(srv, "control", t->control, sizeof(t->control), 1)) {
		snprintf(err, errlen,
			 "rack %u server %u: control must be null or an absolute path "
			 "shorter than %u",
			 rack_id, t->server_id, NW_CONTROL_PATH_MAX);
		return -1;
	}
	return 0;
}

/* "A.B.C.D/N" with no host bits set. */
static int parse_subnet(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[24], *slash, *end;
	struct in_addr a;
	unsigned long n;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash || !slash[1])
		return -1;
	*slash = '\0';
	n = strtoul(slash + 1, &end, 10);
	if (*end || n > 32 || slash[1] < '0' || slash[1] > '9' || inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*mask = htonl(n ? 0xFFFFFFFFU << (32 - n) : 0);
	if (a.s_addr & ~*mask)
		return -1;
	*net = a.s_addr;
	return 0;
}

static int parse_end(json_t *up, const char *key, struct nw_chaos_end *e)
{
	json_t *o = json_object_get(up, key);

	if (!json_is_object(o) || get_str(o, "netns", e->netns, sizeof(e->netns), 0) ||
	    get_str(o, "iface", e->iface, sizeof(e->iface), 0) || !e->iface[0])
		return -1;
	return 0;
}

/* racks[].subnet and racks[].fabric_uplink: both optional (a topology
 * from before them names servers only), checked when present. */
static int parse_rack_fabric(json_t *rack, uint32_t rack_id, struct nw_chaos_rack *r, char *err,
			     size_t errlen)
{
	json_t *sub = json_object_get(rack, "subnet"), *up = json_object_get(rack, "fabric_uplink");

	memset(r, 0, sizeof(*r));
	r->rack_id = rack_id;
	if (sub && !json_is_null(sub) &&
	    (!json_is_string(sub) || parse_subnet(json_string_value(sub), &r->net, &r->mask) ||
	     !r->mask)) {
		snprintf(err, errlen,
			 "rack %u: subnet must be an IPv4 prefix such as 198.18.1.0/24", rack_id);
		return -1;
	}
	if (up && !json_is_null(up) &&
	    (!json_is_object(up) || parse_end(up, "rack_end", &r->rack_end) ||
	     parse_end(up, "fabric_end", &r->fabric_end))) {
		snprintf(err, errlen,
			 "rack %u: fabric_uplink wants rack_end and fabric_end, each "
			 "{\"netns\": NAME or null, \"iface\": NAME}",
			 rack_id);
		return -1;
	}
	return 0;
}

int nw_chaos_topology_parse(const char *json, size_t len, struct nw_chaos_topology *t, char *err,
			    size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr), *racks, *rack;
	size_t i, j, total = 0;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	if (!root) {
		snprintf(err, errlen, "not JSON: line %d: %s", jerr.line, jerr.text);
		return -1;
	}
	racks = json_object_get(root, "racks");
	if (!json_is_object(root) || !json_is_array(racks)) {
		snprintf(err, errlen, "want an object with a \"racks\" array");
		goto out;
	}
	/* A later format may mean something else by the same fields. */
	if (json_object_get(root, "version") &&
	    !(json_is_integer(json_object_get(root, "version")) &&
	      json_integer_value(json_object_get(root, "version")) == 1)) {
		snprintf(err, errlen, "unknown \"version\" (this netwatch-chaos reads version 1)");
		goto out;
	}
	json_array_foreach(racks, i, rack)
	{
		json_t *servers = json_object_get(rack, "servers");

		if (!json_is_array(servers)) {
			snprintf(err, errlen, "racks[%zu]: want a \"servers\" array", i);
			goto out;
		}
		total += json_array_size(servers);
	}
	if (total > NW_TOPOLOGY_MAX_TARGETS) {
		snprintf(err, errlen, "more than %u servers", NW_TOPOLOGY_MAX_TARGETS);
		goto out;
	}
	if (json_array_size(racks) > NW_TOPOLOGY_MAX_TARGETS) {
		snprintf(err, errlen, "more than %u racks", NW_TOPOLOGY_MAX_TARGETS);
		goto out;
	}
	t->targets = calloc(total ? total : 1, sizeof(*t->targets));
	t->racks = calloc(json_array_size(racks) ? json_array_size(racks) : 1, sizeof(*t->racks));
	if (!t->targets || !t->racks) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	json_array_foreach(racks, i, rack)
	{
		json_t *servers = json_object_get(rack, "servers"), *srv;
		uint32_t rack_id;

		if (get_id(rack, "rack_id", 65535, &rack_id)) {
			snprintf(err, errlen, "racks[%zu]: rack_id must be an integer 0..65535", i);
			goto out;
		}
		for (size_t k = 0; k < t->nracks; k++)
			if (t->racks[k].rack_id == rack_id) {
				snprintf(err, errlen, "rack %u listed twice", rack_id);
				goto out;
			}
		if (parse_rack_fabric(rack, rack_id, &t->racks[t->nracks], err, errlen))
			goto out;
		t->nracks++;
		json_array_foreach(servers, j, srv)
		{
			struct nw_chaos_target *n = &t->targets[t->count];

			if (parse_server(rack, srv, rack_id, n, err, errlen))
				goto out;
			for (size_t k = 0; k < t->count; k++)
				if (t->targets[k].rack_id == rack_id &&
				    t->targets[k].server_id == n->server_id) {
					snprintf(err, errlen, "rack %u server %u listed twice",
						 rack_id, n->server_id);
					goto out;
				}
			t->count++;
		}
	}
	ret = 0;
out:
	json_decref(root);
	if (ret)
		nw_chaos_topology_free(t);
	return ret;
}

int nw_chaos_topology_load(const char *path, struct nw_chaos_topology *t, char *err, size_t errlen)
{
	char tmp[256];
	size_t n;
	char *buf;
	int ret;

	memset(t, 0, sizeof(*t));
	buf = nw_small_file_read(path, NW_TOPOLOGY_MAX_BYTES, &n, tmp, sizeof(tmp));
	if (!buf) {
		snprintf(err, errlen, "%s: %s%s", path, tmp,
			 errno == ENOENT ? " (is the lab up? or give --topology FILE)" : "");
		return -1;
	}
	ret = nw_chaos_topology_parse(buf, n, t, err, errlen);
	free(buf);
	if (ret) {
		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", path, tmp);
	}
	return ret;
}

void nw_chaos_topology_free(struct nw_chaos_topology *t)
{
	free(t->targets);
	free(t->racks);
	t->targets = NULL;
	t->racks = NULL;
	t->count = 0;
	t->nracks = 0;
}
