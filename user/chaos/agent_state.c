// SPDX-License-Identifier: MIT
/*
 * What the tool asked each agent for, one small file per server. The agent's
 * control socket can only replace its whole run-time impairment and cannot be
 * read back: without this note --clear would reset agents the tool never
 * touched (wiping an impairment they were started with), and --list could
 * not say what an agent is doing.
 */
#include "chaos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Named after the control socket, not the rack and server: two labs (or a
 * lab and a hand-written topology) number their servers alike. */
static int state_path(const char *dir, const struct nw_chaos_target *t, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/agent", dir);

	if (n < 0 || (size_t)n >= size)
		return -1;
	for (const char *c = t->control; *c && (size_t)n + 1 < size; c++)
		out[n++] = *c == '/' ? '_' : *c;
	if ((size_t)n + 1 >= size)
		return -1;
	out[n] = '\0';
	return 0;
}

int chaos_agent_note_write(const char *dir, const struct nw_chaos_target *t, const char *spec)
{
	char path[512], tmp[520];
	FILE *f;

	if (state_path(dir, t, path, sizeof(path)) || (mkdir(dir, 0700) && errno != EEXIST))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	/* The control path is kept too: '_' in a name could stand for '/'. */
	fprintf(f, "%s\n%s\n", t->control, spec);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int chaos_agent_note_read(const char *dir, const struct nw_chaos_target *t, char *spec, size_t size)
{
	char path[512], control[NW_CONTROL_PATH_MAX + 2];
	FILE *f;
	int ok;

	if (state_path(dir, t, path, sizeof(path)))
		return 0;
	f = fopen(path, "r");
	if (!f)
		return 0;
	ok = fgets(control, sizeof(control), f) && fgets(spec, (int)size, f);
	fclose(f);
	if (!ok)
		return 0;
	control[strcspn(control, "\n")] = '\0';
	spec[strcspn(spec, "\n")] = '\0';
	return !strcmp(control, t->control);
}

void chaos_agent_note_remove(const char *dir, const struct nw_chaos_target *t)
{
	char path[512];

	if (!state_path(dir, t, path, sizeof(path)))
		unlink(path);
}
