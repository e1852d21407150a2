/*
 * history.c - `portcensus history`: the snapshots in the ledger, newest
 * first, with their counts by severity. One query over the snapshot table
 * (the counts are stored with each snapshot), so a ledger of thousands of
 * large audits answers at once.
 */
#include "cli/cli.h"
#include "cli/ledger_opts.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus history [--db PATH] [-n N] [--format table|json]\n"
	"\n"
	"List the snapshots in the ledger, newest first: id, start time, host,\n"
	"command, scope, endpoints, and counts by severity (endpoint risks and\n"
	"findings).\n"
	"\n"
	"Options:\n"
	"  --db PATH         the ledger (default as for `audit`)\n"
	"  -n, --limit N     only the newest N\n";

struct history_ctx {
	struct pc_cli *cli;
	FILE *f;
	bool json;
	struct pc_json *j;
	bool header;
};

static int row_table(struct history_ctx *c, const struct pc_ledger_row *r)
{
	char t[40], host[128], scope[160], kind[32];
	if (!c->header) {
		fprintf(c->f, "%-6s %-24s %-20s %-6s %-28s %9s %4s %4s %4s %4s %4s\n", "ID",
			"STARTED", "HOST", "CMD", "SCOPE", "ENDPOINTS", "CRIT", "HIGH", "MED",
			"LOW", "INFO");
		c->header = true;
	}
	fprintf(c->f, "%-6lld %-24s %-20s %-6s %-28s %9llu %4llu %4llu %4llu %4llu %4llu\n",
		(long long)r->id, pc_format_time(r->started_at_ms, t, sizeof(t)),
		pc_text_sanitize(r->host ? r->host : "", host, sizeof(host)),
		pc_text_sanitize(r->kind ? r->kind : "", kind, sizeof(kind)),
		pc_text_sanitize(r->scope ? r->scope : "", scope, sizeof(scope)),
		(unsigned long long)r->n_endpoints,
		(unsigned long long)r->by_severity[PC_SEV_CRITICAL],
		(unsigned long long)r->by_severity[PC_SEV_HIGH],
		(unsigned long long)r->by_severity[PC_SEV_MEDIUM],
		(unsigned long long)r->by_severity[PC_SEV_LOW],
		(unsigned long long)r->by_severity[PC_SEV_INFO]);
	return 0;
}

static int row_json(struct history_ctx *c, const struct pc_ledger_row *r)
{
	struct pc_json *j = c->j;
	char t[40];
	pc_json_begin_object(j);
	pc_json_key(j, "id");
	pc_json_int(j, r->id);
	pc_json_key(j, "started_at");
	pc_json_string(j, pc_format_time(r->started_at_ms, t, sizeof(t)));
	pc_json_key(j, "finished_at");
	pc_json_string(j, pc_format_time(r->finished_at_ms, t, sizeof(t)));
	pc_json_key(j, "host");
	pc_json_string(j, r->host);
	pc_json_key(j, "kind");
	pc_json_string(j, r->kind);
	pc_json_key(j, "scope");
	pc_json_string(j, r->scope);
	pc_json_key(j, "command");
	pc_json_string(j, r->command);
	pc_json_key(j, "endpoints");
	pc_json_uint(j, r->n_endpoints);
	pc_json_key(j, "warnings");
	pc_json_uint(j, r->n_warnings);
	pc_json_key(j, "findings");
	pc_json_uint(j, r->n_findings);
	pc_json_key(j, "by_severity");
	pc_json_begin_object(j);
	for (int s = PC_SEV_CRITICAL; s >= PC_SEV_INFO; s--) {
		pc_json_key(j, pc_severity_name((enum pc_severity)s));
		pc_json_uint(j, r->by_severity[s]);
	}
	pc_json_end_object(j);
	pc_json_end_object(j);
	return 0;
}

static int on_row(void *ctx, const struct pc_ledger_row *r)
{
	struct history_ctx *c = ctx;
	return c->json ? row_json(c, r) : row_table(c, r);
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	const char *db = NULL;
	unsigned long long limit = 0;
	int arc = pc_cli_ledger_args(cli, argc, argv, usage, &db, &limit);
	if (arc >= 0)
		return arc;
	if (optind < argc)
		return pc_cli_usage_error(cli, "history takes no arguments (got '%s')",
					  argv[optind]);
	const char *format = cli->format ? cli->format : "table";
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "table") != 0)
		return pc_cli_usage_error(cli, "history writes table or json, not '%s'", format);

	struct pc_ledger *l;
	int rc = pc_cli_ledger_open(cli, db, &l);
	if (rc)
		return rc;
	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		pc_ledger_close(l);
		return PC_EXIT_RUNTIME;
	}
	struct pc_json j;
	struct history_ctx hc = {.cli = cli, .f = f, .json = json, .j = &j};
	if (json) {
		pc_json_init(&j, f, true);
		pc_json_begin_array(&j);
	}
	struct pc_error err = {0};
	int r = l->ops->list(l, limit, on_row, &hc, &err);
	if (json) {
		pc_json_end_array(&j);
		fputc('\n', f);
	}
	pc_ledger_close(l);
	rc = r < 0 ? pc_cli_fail(cli, &err) : 0;
	return pc_cli_finish_output(cli, f, NULL, NULL, rc);
}

const struct pc_cli_command pc_cmd_history = {
	.name = "history",
	.summary = "list the snapshots in the ledger",
	.usage = usage,
	.run = run,
};
