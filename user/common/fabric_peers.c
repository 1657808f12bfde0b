// SPDX-License-Identifier: MIT
#include "fabric_peers.h"
#include "fabric_mesh.h"
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
	if (id == p->self && !p->k)
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

/* "k" and "epoch_s": the file is the whole mesh, rotating. */
static int parse_rotation(json_t *root, struct nw_fabric_peers *p, char *err, size_t errlen)
{
	json_t *k = json_object_get(root, "k"), *es = json_object_get(root, "epoch_s");
	json_int_t v;

	if (!k) {
		if (es)
			return bad(err, errlen, "epoch_s needs k (a rotating mesh)");
		return 0;
	}
	if (json_object_get(root, "epoch"))
		return bad(err, errlen,
			   "epoch with k: a rotating mesh takes its epoch from the clock");
	if (get_id(k, NW_FABRIC_PEERS_MAX, &v) || v < 1)
		return bad(err, errlen, "k must be an integer 1..4096");
	p->k = (uint32_t)v;
	p->epoch_s = NW_FABRIC_EPOCH_S_DEFAULT;
	if (es) {
		if (get_id(es, UINT32_MAX, &v) || v < 1)
			return bad(err, errlen, "epoch_s must be a positive integer (seconds)");
		p->epoch_s = (uint32_t)v;
	}
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
		if (strcmp(key, "self") && strcmp(key, "epoch") && strcmp(key, "racks") &&
		    strcmp(key, "k") && strcmp(key, "epoch_s")) {
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
	if (parse_rotation(root, p, err, errlen))
		goto out;
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

struct member {
	uint16_t id;
	int32_t peer; /* index into peer[], -1 for self */
};

static int by_id(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

size_t nw_fabric_peers_members(const struct nw_fabric_peers *mesh, uint16_t *ids)
{
	size_t n = 0;
	int listed = 0;

	for (size_t i = 0; i < mesh->n; i++) {
		listed |= mesh->peer[i].rack_id == mesh->self;
		ids[n++] = mesh->peer[i].rack_id;
	}
	if (!listed)
		ids[n++] = mesh->self;
	qsort(ids, n, sizeof(*ids), cmp_u16);
	return n;
}

int nw_fabric_peers_at(const struct nw_fabric_peers *mesh, uint64_t epoch, int incoming,
		       struct nw_fabric_peers *out)
{
	struct member *m;
	uint32_t *off, n = 0, me = 0, cnt;
	int listed = 0;

	memset(out, 0, sizeof(*out));
	out->self = mesh->self;
	out->epoch = mesh->epoch;
	if (!mesh->k) {
		out->peer = calloc(mesh->n ? mesh->n : 1, sizeof(*out->peer));
		if (!out->peer)
			return -1;
		memcpy(out->peer, mesh->peer, mesh->n * sizeof(*out->peer));
		out->n = mesh->n;
		return 0;
	}
	/* Positions: the members sorted by id, so every rack numbers them alike
	 * whatever the order of its file. */
	m = calloc(mesh->n + 1, sizeof(*m));
	off = calloc(mesh->n + 1, sizeof(*off));
	out->peer = calloc(mesh->n + 1, sizeof(*out->peer));
	if (!m || !off || !out->peer) {
		free(m), free(off);
		nw_fabric_peers_free(out);
		return -1;
	}
	for (size_t i = 0; i < mesh->n; i++) {
		listed |= mesh->peer[i].rack_id == mesh->self;
		m[n++] = (struct member){ mesh->peer[i].rack_id, (int32_t)i };
	}
	if (!listed)
		m[n++] = (struct member){ mesh->self, -1 };
	qsort(m, n, sizeof(*m), by_id);
	while (m[me].id != mesh->self)
		me++;
	cnt = nw_fabric_mesh_offsets(n, mesh->k, epoch, off);
	for (uint32_t j = 0; j < cnt; j++) {
		uint32_t at = incoming ? (me + n - off[j]) % n : (me + off[j]) % n;

		out->peer[out->n++] = mesh->peer[m[at].peer]; /* never self: 0 < o < n */
	}
	out->epoch = (uint16_t)(epoch & 0xFFFF);
	free(m), free(off);
	return 0;
}
