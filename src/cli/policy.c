/*
 * policy.c - `portcensus policy lint|init|check|enforce`: the policy as code
 * (docs/policy.md). lint reads a file and reports every problem with its
 * file:line:column; init writes a starting policy from this host's
 * listeners; check is `audit --policy`; enforce writes the firewall rules
 * that make the policy true for the listeners of the namespace it runs in.
 */
#include "audit.h"
#include "cli/cli.h"
#include "core/json.h"
#include "policy/policy.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus policy lint FILE\n"
	"       portcensus policy init [--own-netns] [-o FILE]\n"
	"       portcensus policy check --policy FILE [AUDIT OPTIONS]\n"
	"       portcensus policy enforce --policy FILE [--emit nft|iptables|ip6tables] [-o FILE]\n"
	"\n"
	"Policy as code (docs/policy.md).\n"
	"\n"
	"  lint      check a policy: unknown keys, wrong types, bad CIDRs, undefined\n"
	"            segments, duplicate rule names, rules shadowed by an earlier one;\n"
	"            each problem on one line as file:line:col (exit 2 when any)\n"
	"  init      write a starting policy documenting every listener of this host,\n"
	"            grouped by owner, loopback listeners pinned to loopback\n"
	"  check     audit this host and judge it (same as audit --policy FILE)\n"
	"  enforce   write firewall rules for the listeners of this network namespace:\n"
	"            documented listeners reachable only from their reachable_from,\n"
	"            every other listening port dropped, SSH kept unless a rule names\n"
	"            it. --emit nft (default) writes a file for `nft -f`; iptables and\n"
	"            ip6tables write iptables-restore files\n";

int pc_cli_policy_open(struct pc_cli *cli, const char *file, struct pc_policy **ret_policy)
{
	struct pc_policy_diags diags = {0};
	struct pc_error err = {0};
	int r = pc_policy_open(file, ret_policy, &diags, &err);
	if (r == 0) {
		pc_policy_diags_free(&diags);
		return 0;
	}
	if (diags.n == 0) {
		pc_policy_diags_free(&diags);
		return pc_cli_fail(cli, &err);
	}
	for (size_t i = 0; i < diags.n; i++) {
		char line[1024], clean[1024];
		pc_policy_diag_format(file, &diags.items[i], line, sizeof(line));
		fprintf(stderr, "%s\n", pc_text_sanitize(line, clean, sizeof(clean)));
	}
	if (diags.dropped)
		fprintf(stderr, "%s: %zu more problems not shown\n", file, diags.dropped);
	pc_policy_diags_free(&diags);
	return PC_EXIT_USAGE;
}

static int cmd_lint(struct pc_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'P') {
			file = optarg;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	if (!file && optind < argc)
		file = argv[optind++];
	if (!file || optind < argc)
		return pc_cli_usage_error(cli, "policy lint takes one FILE");
	struct pc_policy *p;
	int rc = pc_cli_policy_open(cli, file, &p);
	if (rc)
		return rc;
	if (!cli->quiet) {
		char clean[512];
		printf("%s: ok (%zu rules, %zu segments)\n",
		       pc_text_sanitize(file, clean, sizeof(clean)), p->n_rules, p->n_segments);
	}
	pc_policy_free(p);
	return 0;
}

/* The host inventory enforce and init start from: no live checks. */
static int inventory(struct pc_cli *cli, bool all_netns, struct pc_snapshot **ret_snap)
{
	struct pc_audit_opts opts;
	pc_audit_opts_default(&opts);
	opts.verify = false;
	opts.probe = false;
	opts.inventory.all_netns = all_netns;
	struct pc_snapshot *snap = pc_snapshot_new(cli->cmdline);
	if (!snap)
		return pc_cli_usage_error(cli, "out of memory"), PC_EXIT_RUNTIME;
	struct pc_error err = {0};
	if (pc_audit_run(snap, &opts, &err) < 0) {
		int rc = pc_cli_fail(cli, &err);
		pc_snapshot_free(snap);
		return rc;
	}
	for (size_t i = 0; i < snap->n_warnings; i++) {
		char clean[1024];
		pc_cli_note(cli, "%s", pc_text_sanitize(snap->warnings[i], clean, sizeof(clean)));
	}
	*ret_snap = snap;
	return 0;
}

static int cmd_init(struct pc_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"own-netns", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool all_netns = true;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'n') {
			all_netns = false;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	if (optind < argc)
		return pc_cli_usage_error(cli, "policy init takes no arguments");
	struct pc_snapshot *snap;
	int rc = inventory(cli, all_netns, &snap);
	if (rc)
		return rc;
	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		pc_snapshot_free(snap);
		return PC_EXIT_RUNTIME;
	}
	int r = pc_policy_init_write(f, snap, pc_policy_day_of_ms(pc_now_ms()));
	if (r < 0) {
		fprintf(stderr, "%s: error: writing the policy: %s\n", cli->prog, pc_strerror(r));
		rc = PC_EXIT_RUNTIME;
	}
	rc = pc_cli_finish_output(cli, f, NULL, NULL, rc);
	pc_snapshot_free(snap);
	return rc;
}

static int cmd_enforce(struct pc_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'P'},
		{"emit", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *emit = "nft";
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'P') {
			file = optarg;
		} else if (c == 'e') {
			emit = optarg;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else {
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	if (optind < argc)
		return pc_cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!file)
		return pc_cli_usage_error(cli, "policy enforce needs --policy FILE");
	const struct pc_policy_emitter *em = pc_policy_emitter_find(emit);
	if (!em)
		return pc_cli_usage_error(cli, "unknown --emit '%s' (choose from: nft, iptables, "
					       "ip6tables)",
					  emit);
	struct pc_policy *p;
	int rc = pc_cli_policy_open(cli, file, &p);
	if (rc)
		return rc;
	/* a firewall table belongs to one namespace: this one */
	struct pc_snapshot *snap;
	rc = inventory(cli, false, &snap);
	if (rc) {
		pc_policy_free(p);
		return rc;
	}
	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		pc_snapshot_free(snap);
		pc_policy_free(p);
		return PC_EXIT_RUNTIME;
	}
	struct pc_policy_emit_opts eo = {.policy_file = file};
	int r = em->write(f, p, snap, &eo);
	if (r < 0) {
		fprintf(stderr, "%s: error: writing %s rules: %s\n", cli->prog, em->name,
			pc_strerror(r));
		rc = PC_EXIT_RUNTIME;
	}
	rc = pc_cli_finish_output(cli, f, NULL, NULL, rc);
	pc_snapshot_free(snap);
	pc_policy_free(p);
	return rc;
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PC_EXIT_USAGE : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "lint") == 0)
		return cmd_lint(cli, argc - 1, argv + 1);
	if (strcmp(sub, "init") == 0)
		return cmd_init(cli, argc - 1, argv + 1);
	if (strcmp(sub, "enforce") == 0)
		return cmd_enforce(cli, argc - 1, argv + 1);
	if (strcmp(sub, "check") == 0) {
		/* `policy check ARGS` is `audit ARGS`; --policy is required */
		bool has = false;
		for (int i = 2; i < argc; i++)
			has = has || strcmp(argv[i], "--policy") == 0 ||
			      strncmp(argv[i], "--policy=", 9) == 0;
		if (!has)
			return pc_cli_usage_error(cli, "policy check needs --policy FILE");
		argv[1] = (char *)"audit";
		return pc_cmd_audit.run(cli, argc - 1, argv + 1);
	}
	return pc_cli_usage_error(cli, "unknown policy command '%s' (lint, init, check, enforce)",
				  sub);
}

const struct pc_cli_command pc_cmd_policy = {
	.name = "policy",
	.summary = "policy as code: lint, init, check, enforce",
	.usage = usage,
	.run = run,
};
