/*
 * ledger_opts.c - the ledger options of `audit` and `scan`, and opening
 * the ledger for `history`, `diff` and `report` (see ledger_opts.h).
 *
 * A ledger that cannot be written never costs the audit its output: the
 * pipeline records the failure, the report is written, and only then is the
 * failure printed (naming the file) and the exit code made 3.
 */
#include "cli/ledger_opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pc_cli_ledger_option(struct pc_cli *cli, struct pc_cli_ledger *lo, int code,
			 const char *arg)
{
	struct pc_error err = {0};
	switch (code) {
	case PC_CLI_OPT_DB:
		if (!*arg)
			return pc_cli_usage_error(cli, "--db needs a path");
		lo->db = arg;
		return 0;
	case PC_CLI_OPT_NO_STORE:
		lo->no_store = true;
		return 0;
	case PC_CLI_OPT_KEEP:
		if (pc_ledger_parse_keep(arg, &lo->keep, &err) < 0)
			return pc_cli_usage_error(cli, "%s", err.msg);
		return 0;
	case PC_CLI_OPT_LEDGER:
		if (!pc_ledger_is_url(arg))
			return pc_cli_usage_error(cli, "--ledger takes a postgresql:// URL, not '%s'"
						  " (a local file is --db)", arg);
		lo->ledger = arg;
		return 0;
	case PC_CLI_OPT_HOST_ID:
	case PC_CLI_OPT_SWEEP_ID:
	case PC_CLI_OPT_SEGMENT:
		if (!*arg || strlen(arg) > 200)
			return pc_cli_usage_error(cli, "--%s takes 1 to 200 characters",
						  code == PC_CLI_OPT_HOST_ID    ? "host-id"
						  : code == PC_CLI_OPT_SWEEP_ID ? "sweep-id"
										: "segment");
		*(code == PC_CLI_OPT_HOST_ID    ? &lo->host_id
		  : code == PC_CLI_OPT_SWEEP_ID ? &lo->sweep_id
						: &lo->segment) = arg;
		return 0;
	}
	return 1;
}

int pc_cli_ledger_path(struct pc_cli *cli, const char *db, char *buf, size_t len)
{
	struct pc_error err = {0};
	if (db) {
		int n = snprintf(buf, len, "%s", db);
		if (n < 0 || (size_t)n >= len)
			return pc_cli_usage_error(cli, "--db path too long");
		return 0;
	}
	if (pc_ledger_default_path(buf, len, &err) < 0)
		return pc_cli_fail(cli, &err);
	return 0;
}

const struct pc_ledger_request *pc_cli_ledger_request(struct pc_cli *cli,
						      struct pc_cli_ledger *lo, const char *kind,
						      const char *scope, int *rc)
{
	*rc = 0;
	if (lo->no_store)
		return NULL;
	*rc = pc_cli_ledger_path(cli, lo->db, lo->path, sizeof(lo->path));
	if (*rc)
		return NULL;
	const char *env = getenv("PORTCENSUS_LEDGER");
	if (!lo->ledger && env && *env) {
		if (!pc_ledger_is_url(env)) {
			*rc = pc_cli_usage_error(cli, "PORTCENSUS_LEDGER takes a postgresql:// URL");
			return NULL;
		}
		lo->ledger = env;
	}
	lo->req = (struct pc_ledger_request){
		.path = lo->path,
		.central = lo->ledger,
		.meta = {.kind = kind,
			 .scope = scope,
			 .host_id = lo->host_id,
			 .sweep_id = lo->sweep_id,
			 .segment = lo->segment},
		.keep = lo->keep,
	};
	return &lo->req;
}

const char *pc_cli_ledger_net_scope(struct pc_cli_ledger *lo, int argc, char **argv,
				    int first)
{
	size_t k = (size_t)snprintf(lo->scope, sizeof(lo->scope), "net:");
	for (int i = 1; i < argc && k < sizeof(lo->scope); i++) {
		/* -iL was rewritten to --input-list before getopt */
		bool list = strcmp(argv[i], "--input-list") == 0 && i + 1 < argc;
		const char *v = list ? argv[i + 1] : argv[i];
		if (!list && (i < first || v[0] == '-'))
			continue;
		k += (size_t)snprintf(lo->scope + k, sizeof(lo->scope) - k, "%s%s%s",
				      k > 4 ? " " : "", list ? "@" : "", v);
		if (list)
			i++;
	}
	return lo->scope;
}

int pc_cli_ledger_finish(struct pc_cli *cli, const struct pc_cli_ledger *lo, int rc)
{
	if (lo->no_store || !lo->req.path)
		return rc;
	if (lo->res.rc < 0) {
		pc_cli_fail(cli, &lo->res.err);
		return PC_EXIT_RUNTIME;
	}
	if (lo->ledger && lo->res.ship_rc < 0) {
		char why[512];
		pc_cli_note(cli, "ledger: %s; %llu snapshot(s) kept in %s, shipped when it answers",
			    pc_text_sanitize(lo->res.ship_err.msg, why, sizeof(why)),
			    (unsigned long long)lo->res.pending, lo->path);
	}
	if (lo->res.deleted)
		pc_cli_note(cli, "ledger: retention removed %llu old snapshot(s)",
			    (unsigned long long)lo->res.deleted);
	return rc;
}

const char *pc_cli_ledger_location(const char *db)
{
	const char *env = getenv("PORTCENSUS_LEDGER");
	if (!db && env && *env)
		return env;
	return db;
}

int pc_cli_ledger_open(struct pc_cli *cli, const char *db, struct pc_ledger **ret)
{
	char path[4096];
	int rc = pc_cli_ledger_path(cli, pc_cli_ledger_location(db), path, sizeof(path));
	if (rc)
		return rc;
	struct pc_error err = {0};
	if (pc_ledger_open(path, false, ret, &err) < 0) {
		pc_cli_fail(cli, &err);
		return PC_EXIT_RUNTIME;
	}
	return 0;
}

int pc_cli_ledger_args(struct pc_cli *cli, int argc, char **argv, const char *usage,
		       const char **ret_db, unsigned long long *limit)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, PC_CLI_OPT_DB},
		{"ledger", required_argument, NULL, PC_CLI_OPT_DB},
		{"limit", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, limit ? ":hn:" : ":h", longopts, NULL)) != -1) {
		if (c == PC_CLI_OPT_DB) {
			*ret_db = optarg;
		} else if (c == 'n' && limit) {
			if (!pc_cli_parse_uint(optarg, 1, 1000000000, limit))
				return pc_cli_usage_error(cli, "--limit takes a count, not '%s'",
							  optarg);
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			return pc_cli_bad_option(cli, c == 'n' ? '?' : c, argv);
		}
	}
	return -1;
}
