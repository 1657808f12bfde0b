/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "errline.h"

static int path_to_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof(sa->sun_path)) {
		snprintf(err, errlen, "--control '%s': want a path of 1..%zu characters", path,
			 sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A socket file nobody answers on is what a killed agent leaves behind: it may
 * go. One that still answers belongs to a live agent, and so does anything
 * that is not a socket: refusing beats silently stealing either. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0
				       : (snprintf(err, errlen, "--control %s: %s", sa->sun_path,
						   strerror(errno)),
					  -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--control %s: exists and is not a socket", sa->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--control: socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "--control %s: another process is listening on it",
			 sa->sun_path);
		return -1;
	}
	if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "--control %s: removing the stale socket: %s", sa->sun_path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int nw_control_open(struct nw_control *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (path_to_addr(path, &sa, err, errlen) < 0 || clear_stale(&sa, err, errlen) < 0)
		return -1;
	c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "--control: socket: %s", strerror(errno));
		return -1;
	}
	if (bind(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "--control %s: bind: %s", path, strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	/* Whoever may write here changes what the agent puts on the wire: owner only. */
	if (chmod(path, 0600) < 0) {
		snprintf(err, errlen, "--control %s: chmod: %s", path, strerror(errno));
		nw_control_close(c);
		return -1;
	}
	return 0;
}

int nw_control_parse(const char *buf, size_t len, struct nw_impair *imp, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v;
	int rc = -1;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "not JSON: %s", jerr.text);
		return -1;
	}
	v = json_object_get(root, "impair");
	if (!json_is_object(root))
		snprintf(err, errlen, "want a JSON object {\"impair\": \"SPEC\"}");
	else if (json_object_size(root) != 1 || !v)
		snprintf(err, errlen, "want exactly one key, \"impair\"");
	else if (!json_is_string(v))
		snprintf(err, errlen, "\"impair\" must be a string");
	else if (strlen(json_string_value(v)) != json_string_length(v))
		snprintf(err, errlen, "\"impair\" contains a NUL character");
	else
		rc = nw_impair_parse(json_string_value(v), imp, err, errlen);
	json_decref(root);
	return rc;
}

int nw_control_parse_peers(const char *buf, size_t len, char *path, size_t pathlen, char *err,
			   size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	int rc = -1;

	if (!root)
		return 0; /* nw_control_parse says why */
	v = json_object_get(root, "fabric_peers");
	if (!json_is_object(root) || !v)
		rc = 0;
	else if (json_object_size(root) != 1)
		snprintf(err, errlen, "want exactly one key, \"fabric_peers\"");
	else if (!json_is_string(v) || !json_string_length(v))
		snprintf(err, errlen, "\"fabric_peers\" must be a file name");
	else if (strlen(json_string_value(v)) != json_string_length(v))
		snprintf(err, errlen, "\"fabric_peers\" contains a NUL character");
	else if (json_string_length(v) >= pathlen)
		snprintf(err, errlen, "\"fabric_peers\": path too long");
	else {
		snprintf(path, pathlen, "%s", json_string_value(v));
		rc = 1;
	}
	json_decref(root);
	return rc;
}

static void answer(int fd, const struct sockaddr_un *to, socklen_t tolen, const char *error)
{
	json_t *doc = error ? json_pack("{s:b, s:s}", "ok", 0, "error", error)
			    : json_pack("{s:b}", "ok", 1);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	/* A sender that bound no address cannot be answered; a full or gone peer
	 * loses its answer rather than stalling the agent. */
	if (text && tolen > (socklen_t)sizeof(sa_family_t))
		(void)sendto(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL,
			     (const struct sockaddr *)to, tolen);
	free(text);
	json_decref(doc);
}

int nw_control_poll(struct nw_control *c, nw_control_apply_fn apply, void *ctx)
{
	char buf[NW_CONTROL_MAX_DGRAM];
	int handled = 0;

	if (c->fd < 0)
		return 0;
	while (handled < NW_CONTROL_BATCH) {
		struct sockaddr_un from;
		socklen_t fromlen = sizeof(from);
		struct nw_impair imp;
		char err[256];
		ssize_t n;
		int ok;

		memset(&from, 0, sizeof(from));
		n = recvfrom(c->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: nothing waiting; anything else: try next time */
		}
		handled++;
		if ((size_t)n > sizeof(buf)) {
			snprintf(err, sizeof(err), "request longer than %d bytes",
				 NW_CONTROL_MAX_DGRAM);
			ok = -1;
		} else {
			char path[4096];

			ok = nw_control_parse_peers(buf, (size_t)n, path, sizeof(path), err,
						    sizeof(err));
			if (ok == 1 && !c->peers) {
				snprintf(err, sizeof(err), "fabric_peers needs --fabric");
				ok = -1;
			} else if (ok == 1) {
				ok = c->peers(ctx, path, err, sizeof(err));
			} else if (ok == 0) {
				ok = nw_control_parse(buf, (size_t)n, &imp, err, sizeof(err));
				if (ok == 0)
					ok = apply(ctx, &imp, err, sizeof(err));
			}
		}
		if (ok == 0) {
			c->accepted++;
			answer(c->fd, &from, fromlen, NULL);
		} else {
			c->rejected++;
			/* Powers of two: the first few in full, then ever rarer. */
			if ((c->rejected & (c->rejected - 1)) == 0) {
				char line[sizeof(err) + 64];

				snprintf(line, sizeof(line), "control: refused (%llu so far): %s",
					 (unsigned long long)c->rejected, err);
				nw_errline_print(stderr, line);
			}
			answer(c->fd, &from, fromlen, err);
		}
	}
	return handled;
}

void nw_control_close(struct nw_control *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	if (c->path[0])
		(void)unlink(c->path);
	c->path[0] = '\0';
}
