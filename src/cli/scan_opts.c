/*
 * scan_opts.c - parsing of the shared scan options (see scan_opts.h).
 */
#include "cli/scan_opts.h"
#include "probe/probe.h"
#include "scan/ports.h"
#include "scan/sources.h"
#include "scan/targets.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	O_PORTS = 'p',
	O_TOP = PC_CLI_SCAN_OPT_BASE,
	O_INPUT,
	O_EXCLUDE,
	O_EXCLUDE_FILE,
	O_CONNECT,
	O_SYN,
	O_RATE,
	O_MAX_RATE,
	O_HOST_INFLIGHT,
	O_SHOW,
	O_SHARD,
	O_SEED,
	O_LIST,
	O_PUBLIC,
	O_RETRIES,
	O_TIMEOUT,
	O_COOLDOWN,
	O_SOURCE_IP,
};

const struct option pc_cli_scan_longopts[] = {
	{"ports", required_argument, NULL, O_PORTS},
	{"top-ports", required_argument, NULL, O_TOP},
	{"input-list", required_argument, NULL, O_INPUT},
	{"exclude", required_argument, NULL, O_EXCLUDE},
	{"exclude-file", required_argument, NULL, O_EXCLUDE_FILE},
	{"connect", no_argument, NULL, O_CONNECT},
	{"syn", no_argument, NULL, O_SYN},
	{"rate", required_argument, NULL, O_RATE},
	{"max-rate", required_argument, NULL, O_MAX_RATE},
	{"host-inflight", required_argument, NULL, O_HOST_INFLIGHT},
	{"show", required_argument, NULL, O_SHOW},
	{"shard", required_argument, NULL, O_SHARD},
	{"seed", required_argument, NULL, O_SEED},
	{"list-targets", no_argument, NULL, O_LIST},
	{"allow-public", no_argument, NULL, O_PUBLIC},
	{"retries", required_argument, NULL, O_RETRIES},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"cooldown", required_argument, NULL, O_COOLDOWN},
	{"source-ip", required_argument, NULL, O_SOURCE_IP},
	{NULL, 0, NULL, 0},
};

const char pc_cli_scan_usage[] = PC_CLI_SCAN_USAGE;

void pc_cli_scan_merge(const struct option *own, struct option *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; own[i].name && n + 1 < cap; i++)
		out[n++] = own[i];
	for (size_t i = 0; pc_cli_scan_longopts[i].name && n + 1 < cap; i++) {
		bool dup = false;
		for (size_t k = 0; own[k].name; k++)
			if (strcmp(own[k].name, pc_cli_scan_longopts[i].name) == 0)
				dup = true;
		if (!dup)
			out[n++] = pc_cli_scan_longopts[i];
	}
	memset(&out[n], 0, sizeof(out[n]));
}

void pc_cli_scan_fix_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "-iL") == 0)
			argv[i] = (char *)"--input-list";
	}
}

int pc_cli_scan_init(struct pc_cli *cli, struct pc_cli_scan *s)
{
	memset(s, 0, sizeof(*s));
	s->targets = pc_targets_new();
	s->ports = pc_ports_new();
	if (!s->targets || !s->ports) {
		pc_cli_scan_free(s);
		fprintf(stderr, "%s: error: out of memory\n", cli->prog);
		return PC_EXIT_RUNTIME;
	}
	s->opts.targets = s->targets;
	s->opts.ports = s->ports;
	s->opts.retries = 1;
	s->opts.store = true;
	return 0;
}

void pc_cli_scan_free(struct pc_cli_scan *s)
{
	pc_targets_free(s->targets);
	pc_ports_free(s->ports);
	free(s->sources);
	s->targets = NULL;
	s->ports = NULL;
	s->sources = NULL;
	s->n_sources = 0;
}

static int fail(struct pc_cli *cli, const struct pc_error *err)
{
	return pc_cli_fail(cli, err);
}

static int parse_show(struct pc_cli *cli, struct pc_cli_scan *s, const char *arg)
{
	const char *p = arg;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 6 && strncmp(p, "closed", 6) == 0) {
			s->opts.show_closed = true;
		} else if (n == 8 && strncmp(p, "filtered", 8) == 0) {
			s->opts.show_filtered = true;
		} else if (n == 3 && strncmp(p, "all", 3) == 0) {
			s->opts.show_closed = s->opts.show_filtered = true;
		} else if (n == 4 && strncmp(p, "open", 4) == 0) {
			/* always shown */
		} else {
			return pc_cli_usage_error(cli, "--show takes open, closed, filtered or all "
						       "(comma-separated), not '%s'",
						  arg);
		}
		if (!end)
			return 0;
		p = end + 1;
	}
}

int pc_cli_scan_option(struct pc_cli *cli, struct pc_cli_scan *s, int code, const char *arg)
{
	struct pc_error err = {0};
	unsigned long long v;
	switch (code) {
	case O_PORTS:
		if (pc_ports_add_spec(s->ports, arg, &err) < 0)
			return fail(cli, &err);
		s->have_ports = true;
		return 0;
	case O_TOP:
		if (!pc_cli_parse_uint(arg, 1, 65535, &v))
			return pc_cli_usage_error(cli, "--top-ports takes a number, not '%s'", arg);
		if (pc_ports_add_top(s->ports, (unsigned)v, &err) < 0)
			return fail(cli, &err);
		s->have_ports = true;
		return 0;
	case O_INPUT:
		if (pc_targets_add_file(s->targets, arg, false, &err) < 0)
			return fail(cli, &err);
		s->have_targets = true;
		return 0;
	case O_EXCLUDE:
		if (pc_targets_exclude_list(s->targets, arg, &err) < 0)
			return fail(cli, &err);
		return 0;
	case O_EXCLUDE_FILE:
		if (pc_targets_add_file(s->targets, arg, true, &err) < 0)
			return fail(cli, &err);
		return 0;
	case O_CONNECT:
		s->opts.engine = PC_ENGINE_CONNECT;
		return 0;
	case O_SYN:
		s->opts.engine = PC_ENGINE_SYN;
		return 0;
	case O_RATE:
		if (strcmp(arg, "max") == 0) {
			s->opts.rate_pps = PC_SCAN_RATE_UNLIMITED;
			return 0;
		}
		if (!pc_cli_parse_uint(arg, 0, 100000000, &v))
			return pc_cli_usage_error(cli, "--rate takes probes per second (0-100000000, "
						       "0 = no limit), not '%s'",
						  arg);
		s->opts.rate_pps = v ? v : PC_SCAN_RATE_UNLIMITED;
		return 0;
	case O_SOURCE_IP:
		if (pc_scan_sources_parse(arg, &s->sources, &s->n_sources, &err) < 0)
			return fail(cli, &err);
		s->opts.sources = s->sources;
		s->opts.n_sources = s->n_sources;
		return 0;
	case O_MAX_RATE:
		if (!pc_cli_parse_uint(arg, 1, 100000000, &v))
			return pc_cli_usage_error(cli, "--max-rate takes probes per second "
						       "(1-100000000), not '%s'",
						  arg);
		s->opts.max_rate_pps = v;
		return 0;
	case O_HOST_INFLIGHT:
		if (!pc_cli_parse_uint(arg, 1, 1000000, &v))
			return pc_cli_usage_error(cli, "--host-inflight takes 1-1000000, not '%s'",
						  arg);
		s->opts.host_inflight = (unsigned)v;
		return 0;
	case O_SHOW:
		return parse_show(cli, s, arg);
	case O_SHARD: {
		const char *slash = strchr(arg, '/');
		char a[32];
		unsigned long long i, n;
		if (!slash || (size_t)(slash - arg) >= sizeof(a))
			return pc_cli_usage_error(cli, "--shard takes I/N (e.g. 1/4), not '%s'", arg);
		memcpy(a, arg, (size_t)(slash - arg));
		a[slash - arg] = '\0';
		if (!pc_cli_parse_uint(a, 1, 1u << 30, &i) ||
		    !pc_cli_parse_uint(slash + 1, 1, 1u << 30, &n) || i > n)
			return pc_cli_usage_error(cli, "--shard takes I/N with 1 <= I <= N, not '%s'",
						  arg);
		s->opts.shard_index = (unsigned)i;
		s->opts.shard_count = (unsigned)n;
		return 0;
	}
	case O_SEED:
		if (!pc_cli_parse_uint(arg, 0, UINT64_MAX, &v))
			return pc_cli_usage_error(cli, "--seed takes a number, not '%s'", arg);
		s->opts.seed = v;
		s->opts.seed_set = true;
		return 0;
	case O_LIST:
		s->list_targets = true;
		return 0;
	case O_PUBLIC:
		s->allow_public = true;
		return 0;
	case O_RETRIES:
		if (!pc_cli_parse_uint(arg, 0, 20, &v))
			return pc_cli_usage_error(cli, "--retries takes 0-20, not '%s'", arg);
		s->opts.retries = (unsigned)v;
		return 0;
	case O_TIMEOUT:
		if (!pc_cli_parse_uint(arg, 1, 600000, &v))
			return pc_cli_usage_error(cli, "--timeout takes milliseconds (1-600000), not "
						       "'%s'",
						  arg);
		s->opts.timeout_ms = (double)v;
		return 0;
	case O_COOLDOWN:
		if (!pc_cli_parse_uint(arg, 0, 600000, &v))
			return pc_cli_usage_error(cli, "--cooldown takes milliseconds (0-600000), not "
						       "'%s'",
						  arg);
		s->opts.cooldown_ms = (double)v;
		return 0;
	}
	return 1;
}

int pc_cli_parse_max_probed(struct pc_cli *cli, const char *arg, unsigned *ret_max)
{
	unsigned long long v;
	if (!pc_cli_parse_uint(arg, 0, 65536, &v))
		return pc_cli_usage_error(cli, "--max-probed-ports takes 0-65536 (0 = no cap), "
					       "not '%s'",
					  arg);
	*ret_max = v ? (unsigned)v : PC_PROBE_NO_CAP;
	return 0;
}

int pc_cli_scan_target(struct pc_cli *cli, struct pc_cli_scan *s, const char *spec)
{
	struct pc_error err = {0};
	if (pc_targets_add(s->targets, spec, &err) < 0)
		return fail(cli, &err);
	s->have_targets = true;
	return 0;
}

int pc_cli_scan_finish(struct pc_cli *cli, struct pc_cli_scan *s)
{
	struct pc_error err = {0};
	if (!s->have_ports && pc_ports_add_top(s->ports, 100, &err) < 0)
		return fail(cli, &err);
	if (pc_targets_finish(s->targets, s->allow_public, &err) < 0)
		return fail(cli, &err);
	return 0;
}

static bool progress_shown;

void pc_cli_scan_progress(void *ctx, const struct pc_scan_stats *st, uint64_t found)
{
	(void)ctx;
	uint64_t done = st->sent >= st->retries ? st->sent - st->retries : 0;
	double pct = st->probes_planned ? 100.0 * (double)done / (double)st->probes_planned : 100;
	if (pct > 100)
		pct = 100;
	double eta = st->rate_pps > 0 && st->probes_planned > done
			     ? (double)(st->probes_planned - done) / st->rate_pps
			     : 0;
	char why[PC_ADDR_STRLEN + 48] = "";
	pc_scan_limit_text(st, why, sizeof(why));
	fprintf(stderr, "\r\033[Kscan: %5.1f%% done, %.0f probes/s (pace %.0f, %s), ETA %.0fs, %llu found",
		pct, st->rate_pps, st->pace_pps, why, isfinite(eta) ? eta : 0,
		(unsigned long long)found);
	progress_shown = true;
}

void pc_cli_scan_progress_end(struct pc_cli *cli)
{
	(void)cli;
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

int pc_cli_scan_list(struct pc_cli *cli, struct pc_cli_scan *s)
{
	FILE *f = pc_cli_open_output(cli);
	if (!f)
		return PC_EXIT_RUNTIME;
	/* millions of short lines: the output's big buffer, no flush per line */
	struct pc_error err = {0};
	int rc = pc_scan_list_targets(&s->opts, f, &err) < 0 ? pc_cli_fail(cli, &err) : 0;
	return pc_cli_finish_output(cli, f, NULL, NULL, rc);
}
