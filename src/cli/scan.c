/*
 * scan.c - `portcensus scan TARGET... [-p PORTS]`: the network side on its
 * own. Parses the shared scan options (scan_opts.c), runs the scan, and
 * writes the report; streaming formats (jsonl) get each result as soon as
 * it is confirmed and the snapshot keeps none, so memory stays flat on any
 * range. Open ports are classified (src/classify): all at once when the
 * snapshot keeps them, one by one in a scratch snapshot when streamed
 * (emptied every 256 KiB). `--list-targets` is a dry run that only prints the probes.
 */
#include "classify/classify.h"
#include "cli/cli.h"
#include "cli/ledger_opts.h"
#include "cli/scan_opts.h"
#include "privsep/privsep.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
	"usage: portcensus scan [OPTIONS] TARGET... [-p PORTS]\n"
	"\n"
	"Find the open TCP (and UDP) ports of internal addresses, from the network\n"
	"side. Only internal ranges are scanned unless --allow-public.\n"
	"\n" PC_CLI_SCAN_USAGE "\n" PC_CLI_LEDGER_USAGE;

struct stream_ctx {
	const struct pc_report_ops *fmt;
	FILE *f;
	struct pc_cli *cli;
	const struct pc_kb *kb;
	struct pc_snapshot *scratch; /* holds the risks of streamed endpoints */
	bool any;                    /* worst risk so far, for --fail-on */
	enum pc_severity worst;
	int error;
};

/* Called with the scan's lock held, one result at a time: the copy and the
 * scratch snapshot are ours alone. */
static void stream(void *ctx, const struct pc_snapshot *snap, const struct pc_endpoint *ep)
{
	struct stream_ctx *c = ctx;
	struct pc_report_opts ro = {.view = PC_VIEW_SCAN, .version = PC_VERSION};
	struct pc_endpoint copy = *ep;
	struct pc_error err = {0};
	if (pc_classify_endpoint(c->scratch, c->kb, &copy, NULL, &err) < 0)
		c->error = err.code;
	if (copy.risk && (!c->any || copy.risk->severity > c->worst))
		c->worst = copy.risk->severity;
	c->any = c->any || copy.risk;
	if (c->cli->progress)
		pc_cli_scan_progress_end(c->cli);
	c->fmt->stream_endpoint(c->f, snap, &copy, &ro);
	/* the risks are written: drop them now and then, so memory stays flat
	 * on any range without a malloc and free per result */
	if (c->scratch->arena.total > (256u << 10)) {
		pc_arena_free(&c->scratch->arena);
		pc_arena_init(&c->scratch->arena);
	}
}

static void progress(void *ctx, const struct pc_scan_stats *st, uint64_t found)
{
	pc_cli_scan_progress(ctx, st, found);
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	static const struct option own[] = {
		{"help", no_argument, NULL, 'h'},
		PC_CLI_LEDGER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct option longopts[64];
	struct pc_cli_ledger lo = {0};
	pc_cli_scan_merge(own, longopts, sizeof(longopts) / sizeof(longopts[0]));
	pc_cli_scan_fix_argv(argc, argv);

	struct pc_cli_scan s;
	int rc = pc_cli_scan_init(cli, &s);
	if (rc)
		return rc;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_head, stdout);
			goto out;
		}
		if (c == '?' || c == ':') {
			rc = pc_cli_bad_option(cli, c, argv);
			goto out;
		}
		rc = pc_cli_ledger_option(cli, &lo, c, optarg);
		if (rc == 1)
			rc = pc_cli_scan_option(cli, &s, c, optarg);
		if (rc == 1)
			rc = pc_cli_bad_option(cli, '?', argv);
		if (rc)
			goto out;
	}
	for (int i = optind; i < argc; i++) {
		rc = pc_cli_scan_target(cli, &s, argv[i]);
		if (rc)
			goto out;
	}
	if (!s.have_targets) {
		rc = pc_cli_usage_error(cli, "no targets (see 'portcensus help scan')");
		goto out;
	}
	rc = pc_cli_scan_finish(cli, &s);
	if (rc)
		goto out;

	if (s.list_targets) {
		rc = pc_cli_scan_list(cli, &s);
		goto out;
	}

	struct pc_privsep_opts ps;
	rc = pc_cli_privsep(cli, &ps);
	if (rc)
		goto out;
	s.opts.privsep = &ps;

	const struct pc_report_ops *fmt = pc_cli_format(cli, "table");
	if (!fmt) {
		rc = PC_EXIT_USAGE;
		goto out;
	}
	struct pc_kb *kb = pc_cli_kb(cli, &rc);
	if (!kb)
		goto out;
	const struct pc_ledger_request *ledger =
		pc_cli_ledger_request(cli, &lo, "scan",
				      pc_cli_ledger_net_scope(&lo, argc, argv, optind), &rc);
	if (rc) {
		pc_kb_free(kb);
		goto out;
	}
	struct pc_snapshot *scratch = pc_snapshot_new(cli->cmdline);
	FILE *f = scratch ? pc_cli_open_output(cli) : NULL;
	if (!f) {
		if (!scratch)
			fprintf(stderr, "%s: error: out of memory\n", cli->prog);
		pc_snapshot_free(scratch);
		pc_kb_free(kb);
		rc = PC_EXIT_RUNTIME;
		goto out;
	}
	struct stream_ctx sc = {.fmt = fmt, .f = f, .cli = cli, .kb = kb, .scratch = scratch};
	bool streamed = fmt->stream_endpoint != NULL;
	/* streaming formats keep nothing in memory, unless the ledger needs
	 * the whole snapshot */
	s.opts.store = !streamed || ledger;
	s.opts.on_endpoint = streamed ? stream : NULL;
	s.opts.on_progress = cli->progress ? progress : NULL;
	s.opts.ctx = &sc;
	s.opts.drop_caps = true;

	struct pc_snapshot *snap = pc_snapshot_new(cli->cmdline);
	if (!snap) {
		pc_cli_close_output(cli, f, false);
		fprintf(stderr, "%s: error: out of memory\n", cli->prog);
		pc_snapshot_free(scratch);
		pc_kb_free(kb);
		rc = PC_EXIT_RUNTIME;
		goto out;
	}
	struct pc_error err = {0};
	int r = pc_scan_run(snap, &s.opts, &err);
	pc_cli_scan_progress_end(cli);
	pc_snapshot_finish(snap);
	if (r == 0 && sc.error)
		r = pc_error_set(&err, sc.error, "classifying the results: %s",
				 pc_strerror(sc.error));
	/* what the snapshot keeps (not streamed, or for the ledger) is
	 * classified whole, before the ledger stores it */
	if (r == 0 && s.opts.store)
		r = pc_classify_run(snap, kb, NULL, &err);
	if (r == 0 && ledger)
		pc_ledger_record(snap, ledger, &lo.res);
	if (r < 0)
		rc = pc_cli_fail(cli, &err);
	else
		rc = pc_cli_emit(cli, snap, fmt, PC_VIEW_SCAN, f, streamed);
	rc = pc_cli_finish_output(cli, f, snap, fmt, rc);
	if (rc == 0) {
		struct pc_cli_gate gate;
		pc_cli_gate_init(cli, &gate);
		gate.streamed_risk = sc.any;
		gate.streamed_worst = sc.worst;
		rc = pc_cli_gate_exit(snap, &gate);
	}
	rc = pc_cli_ledger_finish(cli, &lo, rc);
	pc_snapshot_free(snap);
	pc_snapshot_free(scratch);
	pc_kb_free(kb);
out:
	pc_cli_scan_free(&s);
	return rc;
}


const struct pc_cli_command pc_cmd_scan = {
	.name = "scan",
	.summary = "find open ports of internal addresses from the network side",
	.usage = usage_head,
	.run = run,
};
