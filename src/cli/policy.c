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

/* The options of the policy subcommands, parsed by one loop: each
 * subcommand says which it takes. */
enum { ARG_POLICY = 1, ARG_EMIT = 2, ARG_OWN_NETNS = 4 };
/* getopt values above any character, so a missing value is reported by
 * the option's long name */
enum { OPT_POLICY = 256, OPT_EMIT, OPT_OWN_NETNS };

struct policy_args {
	const char *file;
	const char *emit;
	bool own_netns;
	bool help;
};

static int parse_args(struct pc_cli *cli, int argc, char **argv, unsigned allowed,
                      struct policy_args *a)
{
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"emit", required_argument, NULL, OPT_EMIT},
	    {"own-netns", no_argument, NULL, OPT_OWN_NETNS},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct policy_args){.emit = "nft"};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == OPT_POLICY && (allowed & ARG_POLICY)) {
			a->file = optarg;
		} else if (c == OPT_EMIT && (allowed & ARG_EMIT)) {
			a->emit = optarg;
		} else if (c == OPT_OWN_NETNS && (allowed & ARG_OWN_NETNS)) {
			a->own_netns = true;
		} else if (c == 'h') {
			fputs(usage, stdout);
			a->help = true;
			return 0;
		} else if (c == OPT_POLICY || c == OPT_EMIT || c == OPT_OWN_NETNS) {
			/* known, but not this subcommand's (getopt took its value) */
			const char *name = c == OPT_POLICY ? "--policy"
			                   : c == OPT_EMIT ? "--emit"
			                                   : "--own-netns";
			return pc_cli_usage_error(cli, "option '%s' does not apply to 'policy %s'",
			                          name, argv[0]);
		} else {
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	return 0;
}

static int cmd_lint(struct pc_cli *cli, int argc, char **argv)
{
	struct policy_args a;
	int rc = parse_args(cli, argc, argv, ARG_POLICY, &a);
	if (rc || a.help)
		return rc;
	if (!a.file && optind < argc)
		a.file = argv[optind++];
	if (!a.file || optind < argc)
		return pc_cli_usage_error(cli, "policy lint takes one FILE");
	struct pc_policy *p;
	rc = pc_cli_policy_open(cli, a.file, &p);
	if (rc)
		return rc;
	if (!cli->quiet) {
		char clean[512];
		printf("%s: ok (%zu rules, %zu segments)\n",
		       pc_text_sanitize(a.file, clean, sizeof(clean)), p->n_rules, p->n_segments);
	}
	pc_policy_free(p);
	return 0;
}

/* What init and enforce write, from the host inventory. */
struct host_writer {
	const char *what; /* for the error message */
	int (*write)(FILE *f, const struct pc_snapshot *snap, const void *ctx);
	const void *ctx;
};

/* Take the host inventory (no live checks; every namespace or only ours),
 * then write the output through w: the file appears only when complete. */
static int write_from_host(struct pc_cli *cli, bool all_netns, const struct host_writer *w)
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
	int rc = 0;
	if (pc_audit_run(snap, &opts, &err) < 0) {
		rc = pc_cli_fail(cli, &err);
		goto out;
	}
	for (size_t i = 0; i < snap->n_warnings; i++) {
		char clean[1024];
		pc_cli_note(cli, "%s", pc_text_sanitize(snap->warnings[i], clean, sizeof(clean)));
	}
	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		rc = PC_EXIT_RUNTIME;
		goto out;
	}
	int r = w->write(f, snap, w->ctx);
	if (r < 0) {
		fprintf(stderr, "%s: error: writing %s: %s\n", cli->prog, w->what, pc_strerror(r));
		rc = PC_EXIT_RUNTIME;
	}
	rc = pc_cli_finish_output(cli, f, NULL, NULL, rc);
out:
	pc_snapshot_free(snap);
	return rc;
}

static int write_init(FILE *f, const struct pc_snapshot *snap, const void *ctx)
{
	(void)ctx;
	return pc_policy_init_write(f, snap, pc_policy_day_of_ms(pc_now_ms()));
}

static int cmd_init(struct pc_cli *cli, int argc, char **argv)
{
	struct policy_args a;
	int rc = parse_args(cli, argc, argv, ARG_OWN_NETNS, &a);
	if (rc || a.help)
		return rc;
	if (optind < argc)
		return pc_cli_usage_error(cli, "policy init takes no arguments");
	struct host_writer w = {.what = "the policy", .write = write_init};
	return write_from_host(cli, !a.own_netns, &w);
}

struct enforce_ctx {
	const struct pc_policy_emitter *em;
	const struct pc_policy *p;
	const char *file;
};

static int write_enforce(FILE *f, const struct pc_snapshot *snap, const void *ctx)
{
	const struct enforce_ctx *e = ctx;
	struct pc_policy_emit_opts eo = {.policy_file = e->file};
	return e->em->write(f, e->p, snap, &eo);
}

static int cmd_enforce(struct pc_cli *cli, int argc, char **argv)
{
	struct policy_args a;
	int rc = parse_args(cli, argc, argv, ARG_POLICY | ARG_EMIT, &a);
	if (rc || a.help)
		return rc;
	if (optind < argc)
		return pc_cli_usage_error(cli, "unexpected argument '%s'", argv[optind]);
	if (!a.file)
		return pc_cli_usage_error(cli, "policy enforce needs --policy FILE");
	const struct pc_policy_emitter *em = pc_policy_emitter_find(a.emit);
	if (!em)
		return pc_cli_usage_error(cli,
		                          "unknown --emit '%s' (choose from: nft, iptables, "
		                          "ip6tables)",
		                          a.emit);
	struct pc_policy *p;
	rc = pc_cli_policy_open(cli, a.file, &p);
	if (rc)
		return rc;
	/* a firewall table belongs to one namespace: this one */
	struct enforce_ctx ctx = {.em = em, .p = p, .file = a.file};
	struct host_writer w = {.what = "the rules", .write = write_enforce, .ctx = &ctx};
	rc = write_from_host(cli, false, &w);
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
