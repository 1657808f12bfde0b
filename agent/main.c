/* SPDX-License-Identifier: MIT */
/*
 * netwatch-agent: sends a pure tone as NetWatch wire v1 samples for one or
 * many simulated servers. stdout carries exactly one JSON line (the report);
 * everything else goes to stderr.
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "errline.h"
#include "keyfile.h"
#include "options.h"
#include "plan.h"
#include "run.h"

#ifndef NW_VERSION_STRING
#define NW_VERSION_STRING "unknown"
#endif

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a signal must cut a sleep short */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct nw_opts o;
	struct nw_agent a;
	char err[512];
	char f0[32], f1[32], rate[32];

	switch (nw_opts_parse(argc, argv, &o, err, sizeof(err))) {
	case NW_OPTS_HELP:
		nw_opts_usage(stdout);
		return 0;
	case NW_OPTS_VERSION:
		printf("netwatch-agent %s (wire v%d)\n", NW_VERSION_STRING, NW_VERSION);
		return 0;
	case NW_OPTS_ERROR:
		nw_errline_print(stderr, err);
		return 2;
	case NW_OPTS_RUN:
		break;
	}

	if (o.key_file[0]) {
		struct nw_keys keys;
		const char *why = "";

		if (nw_keys_load(&keys, o.key_file, &why) < 0) {
			char line[sizeof(o.key_file) + 128];

			snprintf(line, sizeof(line), "--key-file %s: %s", o.key_file, why);
			nw_errline_print(stderr, line);
			return 2;
		}
		memcpy(o.sample_key, keys.sample, sizeof(o.sample_key));
		o.keyed = 1;
		nw_keys_wipe(&keys);
	}
	install_handlers();
	switch (nw_agent_open(&a, &o, err, sizeof(err))) {
	case NW_OPEN_OK:
		break;
	case NW_OPEN_BAD_INPUT:
		nw_errline_print(stderr, err);
		return 2;
	default:
		nw_errline_print(stderr, err);
		return 1;
	}

	if (o.verbosity >= 0 && o.fabric) {
		nw_uhz_format(o.freq_uhz, f0, sizeof(f0));
		nw_uhz_format(o.rate_uhz, rate, sizeof(rate));
		fprintf(stderr, "netwatch-agent: fabric: rack %u tone %s Hz at %s Hz -> %s%s\n",
			(unsigned)a.st[0].rack, f0, rate, a.peer,
			a.keyed ? " (samples tagged: SipHash-2-4)" : "");
	} else if (o.verbosity >= 0) {
		nw_uhz_format(nw_opts_tone_uhz(&o, 0), f0, sizeof(f0));
		nw_uhz_format(nw_opts_tone_uhz(&o, o.servers - 1), f1, sizeof(f1));
		nw_uhz_format(o.rate_uhz, rate, sizeof(rate));
		fprintf(stderr,
			"netwatch-agent: rack %u servers %u..%u tones %s..%s Hz at %s Hz -> %s%s\n",
			(unsigned)o.rack, o.server, o.server + o.servers - 1, f0, f1, rate, a.peer,
			a.keyed ? " (samples tagged: SipHash-2-4)" : "");
	}
	if (o.verbosity > 0 && a.impaired)
		fprintf(stderr,
			"netwatch-agent: impair loss=%g dup=%g delay=%gms jitter=%gms skew=%gppm seed=%llu\n",
			o.impair.loss, o.impair.dup, o.impair.delay_ms, o.impair.jitter_ms,
			o.impair.skew_ppm, (unsigned long long)a.seed);

	nw_agent_run(&a, &stop_requested);
	nw_agent_report(&a, stdout);
	nw_agent_close(&a);
	sodium_memzero(o.sample_key, sizeof(o.sample_key));
	return 0;
}
