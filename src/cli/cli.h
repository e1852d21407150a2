/*
 * cli.h - what every subcommand shares: global options, output, errors and
 * exit codes. Only src/main.c and src/cli/ may print or exit.
 *
 * Exit codes (DESIGN.md §4): 0 clean; 1 findings at or above --fail-on;
 * 2 usage, target, policy or input error; 3 runtime failure.
 */
#ifndef PC_CLI_CLI_H
#define PC_CLI_CLI_H

#include "core/error.h"
#include "core/model.h"
#include "report/report.h"

#include <stdbool.h>
#include <stdio.h>

enum { PC_EXIT_OK = 0, PC_EXIT_FINDINGS = 1, PC_EXIT_USAGE = 2, PC_EXIT_RUNTIME = 3 };

struct pc_cli {
	const char *prog;        /* "portcensus" */
	const char *command;     /* subcommand name */
	const char *format;      /* --format, NULL for the command's default */
	const char *output;      /* -o FILE, NULL for stdout */
	bool quiet;              /* --quiet: no progress, no notes */
	bool color;              /* colours allowed on stdout */
	bool progress;           /* progress on stderr (a terminal, not --quiet) */
	const char *cmdline;     /* argv joined, for snapshot.command */
	const char *privsep_user; /* --privsep-user, NULL for the default */
	const char *kb_path;     /* --kb FILE: extends the built-in knowledge base */
	int fail_on;             /* --fail-on: an enum pc_severity, or -1 when absent */
};

struct pc_cli_command {
	const char *name;
	const char *summary; /* one line for `portcensus help` */
	const char *usage;   /* full text for `portcensus help NAME` and --help */
	int (*run)(struct pc_cli *cli, int argc, char **argv);
};

/* Registry, NULL-terminated (main.c). */
extern const struct pc_cli_command *const pc_cli_commands[];
const struct pc_cli_command *pc_cli_find(const char *name);

/* "portcensus: error: ..." on stderr; returns PC_EXIT_USAGE. */
int pc_cli_usage_error(struct pc_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print err (file:line:col: msg) and return the exit code for its code:
 * input errors 2, everything else 3. */
int pc_cli_fail(struct pc_cli *cli, const struct pc_error *err);
/* After getopt_long (with an optstring that starts with ':' or "+:")
 * returned c == '?' or ':': say which option is unknown or lacks its value,
 * naming the command's help. Returns PC_EXIT_USAGE. */
int pc_cli_bad_option(struct pc_cli *cli, int c, char **argv);
/* "portcensus: warning: ..." on stderr unless quiet. */
void pc_cli_note(struct pc_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolve --format (default `def`); NULL after printing an error when the
 * name is unknown. */
const struct pc_report_ops *pc_cli_format(struct pc_cli *cli, const char *def);
/* Open -o FILE (or stdout). NULL after printing an error. The file is
 * written to a temporary name and renamed on pc_cli_close_output(ok). */
FILE *pc_cli_open_output(struct pc_cli *cli);
/* Flush and close; returns 0 or PC_EXIT_RUNTIME after printing the error. */
int pc_cli_close_output(struct pc_cli *cli, FILE *f, bool ok);
/* Write a whole snapshot in the chosen format to the chosen output. */
int pc_cli_emit(struct pc_cli *cli, const struct pc_snapshot *snap,
		const struct pc_report_ops *fmt, enum pc_report_view view, FILE *f, bool streamed);

/* Close the report's output (keeping the file only when rc is 0) and, for
 * formats other than the table, which prints them itself, repeat the
 * snapshot's warnings on stderr: jsonl carries no snapshot metadata, and a
 * person piping json into jq should still see them. snap may be NULL.
 * Returns rc, or the close failure when rc was 0. */
int pc_cli_finish_output(struct pc_cli *cli, FILE *f, const struct pc_snapshot *snap,
			 const struct pc_report_ops *fmt, int rc);
/* Open the output, write the whole snapshot, finish. */
int pc_cli_write_snapshot(struct pc_cli *cli, const struct pc_snapshot *snap,
			  const struct pc_report_ops *fmt, enum pc_report_view view);

/* Resolve --privsep-user (main.c) for the commands that fork a probe
 * worker. 0, or PC_EXIT_USAGE after printing why (no such user). */
struct pc_privsep_opts;
int pc_cli_privsep(struct pc_cli *cli, struct pc_privsep_opts *ret);
/* The knowledge base to classify with: the built-in one, extended by
 * --kb FILE. NULL after printing the error; *ret_rc is then the exit code
 * (2 for a bad file, 3 for a runtime failure). Free with pc_kb_free(). */
struct pc_kb *pc_cli_kb(struct pc_cli *cli, int *ret_rc);

/* What makes a finished run exit 1 (DESIGN.md §4). One function decides,
 * for --policy and --fail-on alike, so the two gates cannot disagree. */
struct pc_cli_gate {
	bool policy;             /* a policy judged the snapshot: violations fail */
	bool undocumented_fails; /* its defaults.unlisted is violation */
	bool fail_on_set;        /* --fail-on SEVERITY given */
	enum pc_severity fail_on;
	/* risks of endpoints written and not kept (a streamed scan): the worst */
	bool streamed_risk;
	enum pc_severity streamed_worst;
};
/* A gate holding --fail-on from the command line, and nothing else. */
void pc_cli_gate_init(const struct pc_cli *cli, struct pc_cli_gate *ret_gate);
/* PC_EXIT_FINDINGS when snap holds a policy violation (or an undocumented
 * listener when undocumented_fails), or, with --fail-on, an endpoint risk or
 * a finding at or above that severity; PC_EXIT_OK otherwise. */
int pc_cli_gate_exit(const struct pc_snapshot *snap, const struct pc_cli_gate *gate);
/* rc when it is not 0; otherwise the --fail-on gate over snap. */
int pc_cli_gate_rc(const struct pc_cli *cli, const struct pc_snapshot *snap, int rc);

struct pc_policy;
/* Load and lint a policy for a command: every problem printed on stderr as
 * "file:line:col: rule NAME: message", one per line. 0, or the exit code
 * (PC_EXIT_USAGE for a bad policy, PC_EXIT_RUNTIME otherwise). */
int pc_cli_policy_open(struct pc_cli *cli, const char *file, struct pc_policy **ret_policy);

/* Parse a non-negative integer in [min, max]; false on any junk. */
bool pc_cli_parse_uint(const char *s, unsigned long long min, unsigned long long max,
		       unsigned long long *ret);
/* Parse the milliseconds of option (e.g. "--timeout", named in the error)
 * in [1, 600000]. 0, or PC_EXIT_USAGE after printing the error. */
int pc_cli_parse_ms(struct pc_cli *cli, const char *option, const char *arg, double *ret_ms);

/* The options several commands share, one table row and one parser each,
 * so `listeners`, `audit` and `watch` cannot drift apart in spelling or
 * meaning. getopt codes (clear of scan's 0x5c00, the ledger's 0x5d00 and
 * fleet's 0x5e00): */
enum {
	PC_CLI_OPT_ESTABLISHED = 0x5f00,
	PC_CLI_OPT_NO_OWNERS,
	PC_CLI_OPT_OWN_NETNS,
	PC_CLI_OPT_NO_VERIFY,
	PC_CLI_OPT_NO_PROBE,
	PC_CLI_OPT_POLICY,
};

/* What the host inventory reads: --established, --no-owners, --own-netns
 * (listeners, audit). */
#define PC_CLI_INVENTORY_LONGOPTS                                         \
	{"established", no_argument, NULL, PC_CLI_OPT_ESTABLISHED},       \
	{"no-owners", no_argument, NULL, PC_CLI_OPT_NO_OWNERS},           \
	{"own-netns", no_argument, NULL, PC_CLI_OPT_OWN_NETNS}
struct pc_inventory_opts;
/* Apply a getopt code to o: 0 handled, 1 not an inventory option. */
int pc_cli_inventory_option(struct pc_inventory_opts *o, int code);

/* How far an audit goes and what judges it: --no-verify, --no-probe,
 * --policy FILE (audit, watch). */
#define PC_CLI_AUDIT_LONGOPTS                                             \
	{"no-verify", no_argument, NULL, PC_CLI_OPT_NO_VERIFY},           \
	{"no-probe", no_argument, NULL, PC_CLI_OPT_NO_PROBE},             \
	{"policy", required_argument, NULL, PC_CLI_OPT_POLICY}
struct pc_cli_audit_choice {
	bool verify;        /* live checks (default true) */
	bool probe;         /* service probes (default true; never without verify) */
	const char *policy; /* --policy FILE, or NULL */
};
/* Defaults: verify and probe, no policy. */
void pc_cli_audit_choice_init(struct pc_cli_audit_choice *ret);
/* Apply a getopt code (and its argument) to o: 0 handled, 1 not one of
 * these options. */
int pc_cli_audit_option(struct pc_cli_audit_choice *o, int code, const char *arg);

/* The start every reporting command shares: --format (default def) and
 * the knowledge base. 0, or the exit code after printing the error; on 0
 * the caller frees *ret_kb with pc_kb_free(). */
struct pc_kb;
int pc_cli_format_kb(struct pc_cli *cli, const char *def, const struct pc_report_ops **ret_fmt,
		     struct pc_kb **ret_kb);
/* A new snapshot for this command line, or NULL after printing "out of
 * memory" (the caller exits PC_EXIT_RUNTIME). */
struct pc_snapshot *pc_cli_snapshot_new(struct pc_cli *cli);

/* Each subcommand, cli/<name>.c. */
extern const struct pc_cli_command pc_cmd_listeners;
extern const struct pc_cli_command pc_cmd_connections;
extern const struct pc_cli_command pc_cmd_audit;
extern const struct pc_cli_command pc_cmd_scan;
extern const struct pc_cli_command pc_cmd_verify;
extern const struct pc_cli_command pc_cmd_history;
extern const struct pc_cli_command pc_cmd_diff;
extern const struct pc_cli_command pc_cmd_report;
extern const struct pc_cli_command pc_cmd_watch;
extern const struct pc_cli_command pc_cmd_policy;
extern const struct pc_cli_command pc_cmd_fleet;

#endif
