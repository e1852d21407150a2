/*
 * report.c - `portcensus report [ID]`: render a stored snapshot (default
 * the latest) with the same writers `audit` uses, in any format they know.
 * The snapshot is loaded back whole from the ledger, so the output is what
 * the audit itself printed (tests/unit/test_ledger.c checks the JSON byte
 * for byte).
 */
#include "cli/cli.h"
#include "cli/ledger_opts.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus report [ID] [--db PATH] [--format FMT] [-o FILE]\n"
	"\n"
	"Render a stored snapshot (default: the latest) in any output format of\n"
	"`audit` (table, json, jsonl, csv, nmap-xml, ...). ID is a snapshot id,\n"
	"latest, latest~N, a time (2026-12-01, 2026-12-01T10:00:00Z: the last\n"
	"snapshot started at or before it) or an age (-7d).\n"
	"\n"
	"Options:\n"
	"  --db PATH         the ledger (default as for `audit`)\n";

static int run(struct pc_cli *cli, int argc, char **argv)
{
	const char *db = NULL;
	int arc = pc_cli_ledger_args(cli, argc, argv, usage, &db, NULL);
	if (arc >= 0)
		return arc;
	if (argc - optind > 1)
		return pc_cli_usage_error(cli, "report takes one snapshot (got '%s' too)",
					  argv[optind + 1]);
	struct pc_error err = {0};
	struct pc_ledger_find q = {.kind = PC_LEDGER_FIND_NTH_LATEST};
	if (optind < argc && pc_ledger_parse_selector(argv[optind], pc_now_ms(), &q, &err) < 0)
		return pc_cli_fail(cli, &err);
	const struct pc_report_ops *fmt = pc_cli_format(cli, "table");
	if (!fmt)
		return PC_EXIT_USAGE;

	struct pc_ledger *l;
	int rc = pc_cli_ledger_open(cli, db, &l);
	if (rc)
		return rc;
	int64_t id;
	struct pc_snapshot *snap = NULL;
	struct pc_ledger_meta meta;
	int r = pc_ledger_resolve(l, &q, &id, &err);
	if (r == 0)
		r = l->ops->load(l, id, &snap, &meta, &err);
	pc_ledger_close(l);
	if (r < 0)
		return pc_cli_fail(cli, &err);
	enum pc_report_view view = meta.kind && strcmp(meta.kind, "scan") == 0 ? PC_VIEW_SCAN
										  : PC_VIEW_AUDIT;
	rc = pc_cli_write_snapshot(cli, snap, fmt, view);
	pc_snapshot_free(snap);
	return rc;
}

const struct pc_cli_command pc_cmd_report = {
	.name = "report",
	.summary = "render a stored snapshot (default the latest)",
	.usage = usage,
	.run = run,
};
