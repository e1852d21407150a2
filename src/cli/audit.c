/*
 * audit.c - `portcensus [audit] [TARGET...]`: the whole pipeline. Without
 * targets it audits this host: every listener in every namespace, with its
 * owner, each checked with a live connection.
 */
#include "audit.h"
#include "classify/kb.h"
#include "cli/cli.h"
#include "cli/ledger_opts.h"
#include "cli/scan_opts.h"
#include "privsep/privsep.h"
#include "policy/policy.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus [audit] [OPTIONS] [TARGET...]\n"
	"\n"
	"Map this host's listeners in every network namespace, with owners, and\n"
	"check each TCP listener with a live connection from inside its namespace.\n"
	"\n"
	"Options:\n"
	"  --established     include established TCP connections\n"
	"  --no-owners       do not attribute sockets to processes\n"
	"  --no-verify       skip the live connection check (and the probes)\n"
	"  --no-probe        skip the service probes\n"
	"  --timeout MS      deadline of each live check and probe exchange\n"
	"                    (default 1000 for the check, 2000 for a probe)\n"
	"  --own-netns       only the namespace portcensus runs in\n"
	PC_CLI_MAX_PROBED_USAGE("                    ")
	"  --policy FILE     judge every listener against a policy (docs/policy.md);\n"
	"                    violations make the exit code 1\n"
	"  --from SEGMENT    the segment (or CIDR) a network-side audit runs from,\n"
	"                    the evidence for reachable_from\n"
	"\n"
	"With TARGETs (or -iL), audit those addresses from the network side instead:\n"
	"scan them with the options of `portcensus scan`, then verify and probe what\n"
	"answers. --timeout then also bounds each scan probe.\n"
	"\n"
	"Every listening or open endpoint gets a risk (severity, score, reasons,\n"
	"remediation) from the knowledge base and its context (docs/classify.md);\n"
	"--fail-on SEVERITY exits 1 when one is at or above it, --kb FILE extends\n"
	"the knowledge base.\n"
	"\n" PC_CLI_LEDGER_USAGE "\n" PC_CLI_SCAN_USAGE;

static void stream(void *ctx, const struct pc_snapshot *snap, const struct pc_endpoint *ep)
{
	void **c = ctx;
	const struct pc_report_ops *fmt = c[0];
	FILE *f = c[1];
	struct pc_report_opts ro = {.view = PC_VIEW_AUDIT, .version = PC_VERSION};
	fmt->stream_endpoint(f, snap, ep, &ro);
}

static int run_audit(struct pc_cli *cli, int argc, char **argv, struct pc_cli_scan *s,
		     struct pc_policy **policy)
{
	enum { OPT_TIMEOUT = 256, OPT_MAX_PROBED, OPT_FROM };
	static const struct option longopts[] = {
		PC_CLI_INVENTORY_LONGOPTS,
		PC_CLI_AUDIT_LONGOPTS,
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"max-probed-ports", required_argument, NULL, OPT_MAX_PROBED},
		{"from", required_argument, NULL, OPT_FROM},
		{"help", no_argument, NULL, 'h'},
		PC_CLI_LEDGER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct pc_cli_audit_choice choice;
	pc_cli_audit_choice_init(&choice);
	struct option merged[64];
	struct pc_cli_ledger lo = {0};
	pc_cli_scan_merge(longopts, merged, sizeof(merged) / sizeof(merged[0]));
	pc_cli_scan_fix_argv(argc, argv);
	struct pc_audit_opts opts;
	pc_audit_opts_default(&opts);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hp:", merged, NULL)) != -1) {
		switch (c) {
		case OPT_TIMEOUT: {
			double ms;
			int tr = pc_cli_parse_ms(cli, "--timeout", optarg, &ms);
			if (tr)
				return tr;
			opts.verify_timeout_ms = ms;
			opts.probe_timeout_ms = ms;
			s->opts.timeout_ms = ms;
			break;
		}
		case OPT_MAX_PROBED: {
			int pr = pc_cli_parse_max_probed(cli, optarg, &opts.probe_max_ports);
			if (pr)
				return pr;
			break;
		}
		case OPT_FROM:
			opts.policy_opts.from = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: {
			if (c == '?' || c == ':')
				return pc_cli_bad_option(cli, c, argv);
			if (pc_cli_inventory_option(&opts.inventory, c) == 0 ||
			    pc_cli_audit_option(&choice, c, optarg) == 0)
				break;
			int lr = pc_cli_ledger_option(cli, &lo, c, optarg);
			if (lr != 1) {
				if (lr)
					return lr;
				break;
			}
			int sr = pc_cli_scan_option(cli, s, c, optarg);
			if (sr == 0)
				break;
			if (sr != 1)
				return sr;
			return pc_cli_bad_option(cli, '?', argv);
		}
		}
	}
	opts.verify = choice.verify;
	opts.probe = choice.probe;
	const char *policy_file = choice.policy;
	for (int i = optind; i < argc; i++) {
		int tr = pc_cli_scan_target(cli, s, argv[i]);
		if (tr)
			return tr;
	}
	if (s->have_targets) {
		int fr = pc_cli_scan_finish(cli, s);
		if (fr)
			return fr;
		if (s->list_targets)
			return pc_cli_scan_list(cli, s);
		/* the targets replace the host inventory; results are kept in
		 * the snapshot for the probes and streamed by the pipeline */
		opts.host = false;
		s->opts.store = true;
		s->opts.on_endpoint = NULL;
		s->opts.on_progress = cli->progress ? pc_cli_scan_progress : NULL;
		s->opts.ctx = cli;
		opts.scan = &s->opts;
	}

	struct pc_privsep_opts ps;
	int prc = pc_cli_privsep(cli, &ps);
	if (prc)
		return prc;
	opts.privsep = &ps;
	s->opts.privsep = &ps;

	if (opts.policy_opts.from && !policy_file)
		return pc_cli_usage_error(cli, "--from needs --policy");
	struct pc_policy_result presult = {0};
	if (policy_file) {
		int pr = pc_cli_policy_open(cli, policy_file, policy);
		if (pr)
			return pr;
		opts.policy = *policy;
		opts.policy_result = &presult;
	}
	const struct pc_report_ops *fmt;
	struct pc_kb *kb;
	int rc = pc_cli_format_kb(cli, "table", &fmt, &kb);
	if (rc)
		return rc;
	opts.kb = kb;
	const char *scope = s->have_targets ? pc_cli_ledger_net_scope(&lo, argc, argv, optind)
			    : !opts.inventory.all_netns ? "host:own-netns"
			    : opts.inventory.established ? "host:established"
							 : "host";
	int lrc;
	opts.ledger = pc_cli_ledger_request(cli, &lo, "audit", scope, &lrc);
	opts.ledger_result = &lo.res;
	if (lrc) {
		pc_kb_free(kb);
		return lrc;
	}
	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		pc_kb_free(kb);
		return PC_EXIT_RUNTIME;
	}
	void *ctx[2] = {(void *)fmt, f};
	if (fmt->stream_endpoint) {
		opts.on_endpoint = stream;
		opts.ctx = ctx;
	}

	struct pc_snapshot *snap = pc_cli_snapshot_new(cli);
	if (!snap) {
		pc_cli_close_output(cli, f, false);
		pc_kb_free(kb);
		return PC_EXIT_RUNTIME;
	}
	struct pc_error err = {0};
	int r = pc_audit_run(snap, &opts, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
	} else {
		rc = pc_cli_emit(cli, snap, fmt, PC_VIEW_AUDIT, f, fmt->stream_endpoint != NULL);
	}
	rc = pc_cli_finish_output(cli, f, snap, fmt, rc);
	if (rc == 0) {
		struct pc_cli_gate gate;
		pc_cli_gate_init(cli, &gate);
		if (opts.policy) {
			gate.policy = true;
			gate.undocumented_fails = presult.undocumented_fails;
			if (!cli->quiet)
				fprintf(stderr,
					"%s: policy: %zu allowed, %zu violations, %zu undocumented, "
					"%zu stale rules, %zu rules due for review\n",
					cli->prog, presult.allowed, presult.violation,
					presult.undocumented, presult.stale, presult.review_due);
		}
		rc = pc_cli_gate_exit(snap, &gate);
	}
	rc = pc_cli_ledger_finish(cli, &lo, rc);
	pc_snapshot_free(snap);
	pc_kb_free(kb);
	return rc;
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	struct pc_cli_scan s;
	int rc = pc_cli_scan_init(cli, &s);
	if (rc)
		return rc;
	struct pc_policy *policy = NULL;
	rc = run_audit(cli, argc, argv, &s, &policy);
	pc_cli_scan_progress_end(cli);
	pc_cli_scan_free(&s);
	pc_policy_free(policy);
	return rc;
}

const struct pc_cli_command pc_cmd_audit = {
	.name = "audit",
	.summary = "map, verify and report (the default command)",
	.usage = usage,
	.run = run,
};
