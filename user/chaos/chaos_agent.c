// SPDX-License-Identifier: MIT
#include "chaos_agent.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define ANSWER_MAX 4096

char *nw_chaos_agent_request(const char *spec)
{
	json_t *doc = json_pack("{s:s}", "impair", spec);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	return text;
}

int nw_chaos_agent_answer(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(buf, len, 0, &jerr), *ok, *why;
	int ret = -1;

	if (!root) {
		snprintf(err, errlen, "the agent's answer is not JSON");
		return -1;
	}
	ok = json_object_get(root, "ok");
	why = json_object_get(root, "error");
	if (json_is_true(ok))
		ret = 0;
	else if (json_is_false(ok))
		snprintf(err, errlen, "the agent refused: %.200s",
			 json_is_string(why) ? json_string_value(why) : "(no reason given)");
	else
		snprintf(err, errlen, "the agent's answer has no boolean \"ok\"");
	json_decref(root);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nw_chaos_agent_send(const char *path, const char *spec, int timeout_ms, char *err,
			size_t errlen)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	sa_family_t autobind = AF_UNIX;
	char *req = NULL, buf[ANSWER_MAX];
	long long deadline = now_ms() + timeout_ms;
	int fd, ret = -1;

	if (strlen(path) >= sizeof(to.sun_path)) {
		snprintf(err, errlen, "control socket path too long");
		return -1;
	}
	memcpy(to.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Bound so the agent can answer; an unbound sender gets no answer. */
	if (bind(fd, (struct sockaddr *)&autobind, sizeof(autobind))) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		goto out;
	}
	req = nw_chaos_agent_request(spec);
	if (!req) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (sendto(fd, req, strlen(req), MSG_NOSIGNAL, (struct sockaddr *)&to, sizeof(to)) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s%s", path, strerror(e),
			 e == ENOENT || e == ECONNREFUSED
				 ? " (is the agent running with --control?)"
				 : "");
		ret = e == ENOENT || e == ECONNREFUSED ? -2 : -1;
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0) {
			snprintf(err, errlen, "%s: no answer within %d ms", path, timeout_ms);
			goto out;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(err, errlen, "recv: %s", strerror(errno));
			goto out;
		}
		if ((size_t)n > sizeof(buf)) {
			snprintf(err, errlen, "the agent's answer is longer than %d bytes",
				 ANSWER_MAX);
			goto out;
		}
		ret = nw_chaos_agent_answer(buf, (size_t)n, err, errlen);
		goto out;
	}
out:
	free(req);
	close(fd);
	return ret;
}
