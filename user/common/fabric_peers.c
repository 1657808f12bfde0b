// SPDX-License-Identifier: MIT
#include "fabric_peers.h"
#include "small_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

static int get_id(json_t *v, json_int_t max, json_int_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int parse_peer(json_t *e, struct nw_fabric_peers *p, size_t i, char *err, size_t errlen)
{
	const char *key, *addr;
	json_int_t id = -1;
	json_t *v;

	if (!json_is_object(e))
		return bad(err, errlen, "racks[]: each entry must be an object");
	json_object_foreach(e, key, v)
	{
		if (strcmp(key, "rack_id") && strcmp(key, "addr")) {
			snprintf(err, errlen, "racks[%zu]: unknown key \"%.40s\"", i, key);
			return -1;
		}
	}
	if (get_id(json_object_get(e, "rack_id"), 65535, &id))
		return bad(err, errlen, "racks[]: rack_id must be an integer 0..65535");
	addr = json_string_value(json_object_get(e, "addr"));
	if (!addr || !addr[0] || strlen(addr) >= NW_HOSTPORT_HOST_MAX)
		return bad(err, errlen, "racks[]: addr must be a non-empty host of < 256 bytes");
	if (id == p->self)
		return bad(err, errlen, "racks[]: a rack is not its own peer");
	for (size_t j = 0; j < i; j++)
		if (p->peer[j].rack_id == id) {
			snprintf(err, errlen, "racks[]: rack %u listed twice", (unsigned)id);
			return -1;
		}
	p->peer[i].rack_id = (uint16_t)id;
	snprintf(p->peer[i].addr, sizeof(p->peer[i].addr), "%s", addr);
	return 0;
}

int nw_fabric_peers_parse(const char *json, size_t len, struct nw_fabric_peers *p, char *err,
			  size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr), *racks, *v;
	const char *key;
	json_int_t id;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (!root) {
		snprintf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	if (!json_is_object(root)) {
		bad(err, errlen, "must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "self") && strcmp(key, "epoch") && strcmp(key, "racks")) {
			snprintf(err, errlen, "unknown key \"%.40s\"", key);
			goto out;
		}
	}
	if (get_id(json_object_get(root, "self"), 65535, &id)) {
		bad(err, errlen, "self must be an integer 0..65535");
		goto out;
	}
	p->self = (uint16_t)id;
	v = json_object_get(root, "epoch");
	if (v && get_id(v, INT64_MAX, &id)) {
		bad(err, errlen, "epoch must be a non-negative integer");
		goto out;
	}
	p->epoch = v ? (uint16_t)(id & 0xFFFF) : 0;
	racks = json_object_get(root, "racks");
	if (!json_is_array(racks)) {
		bad(err, errlen, "racks must be an array");
		goto out;
	}
	if (json_array_size(racks) > NW_FABRIC_PEERS_MAX) {
		snprintf(err, errlen, "racks: more than %u peers", NW_FABRIC_PEERS_MAX);
		goto out;
	}
	p->n = json_array_size(racks);
	p->peer = calloc(p->n ? p->n : 1, sizeof(*p->peer));
	if (!p->peer) {
		bad(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n; i++)
		if (parse_peer(json_array_get(racks, i), p, i, err, errlen))
			goto out;
	rc = 0;
out:
	json_decref(root);
	if (rc)
		nw_fabric_peers_free(p);
	return rc;
}

int nw_fabric_peers_load(const char *path, struct nw_fabric_peers *p, char *err, size_t errlen)
{
	size_t n;
	char *buf;
	int rc;

	memset(p, 0, sizeof(*p));
	buf = nw_small_file_read(path, NW_FABRIC_PEERS_FILE_MAX, &n, err, errlen);
	if (!buf)
		return -1;
	rc = nw_fabric_peers_parse(buf, n, p, err, errlen);
	free(buf);
	return rc;
}

void nw_fabric_peers_free(struct nw_fabric_peers *p)
{
	free(p->peer);
	memset(p, 0, sizeof(*p));
}
