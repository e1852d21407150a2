/*
 * common.c - output handling and messages shared by the subcommands.
 *
 * Every message goes to stderr through pc_text_sanitize(): an error quotes
 * argv, a file's bytes or a peer's, and none of them may reach the terminal
 * as a control sequence. -o FILE is written through core/atomicfile.c: an
 * exclusive temporary next to FILE, renamed over it when the report is
 * whole.
 */
#include "classify/kb.h"
#include "cli/cli.h"
#include "core/atomicfile.h"
#include "core/text.h"
#include "inventory/inventory.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the -o file being written (one per run) */
static struct pc_atomicfile out_file = {.dirfd = -1, .fd = -1};

/* "prog: KIND: message" with the formatted message sanitised. */
__attribute__((format(printf, 3, 0))) static void message(const char *prog, const char *kind,
							    const char *fmt, va_list ap)
{
	char raw[1024], clean[1024];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	fprintf(stderr, "%s: %s: %s\n", prog, kind, pc_text_sanitize(raw, clean, sizeof(clean)));
}

int pc_cli_usage_error(struct pc_cli *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	message(cli->prog, "error", fmt, ap);
	va_end(ap);
	return PC_EXIT_USAGE;
}

int pc_cli_fail(struct pc_cli *cli, const struct pc_error *err)
{
	char msg[1024];
	pc_error_format(err, msg, sizeof(msg));
	pc_cli_usage_error(cli, "%s", msg);
	switch (err->code) {
	case PC_EINVAL:
	case PC_EPARSE:
	case PC_ESCOPE:
	case PC_ETOOBIG:
		return PC_EXIT_USAGE;
	}
	return PC_EXIT_RUNTIME;
}

int pc_cli_bad_option(struct pc_cli *cli, int c, char **argv)
{
	const char *opt = argv[optind - 1];
	char shortopt[3] = {'-', (char)optopt, '\0'};
	/* a short option inside a cluster (-xp) is not argv[optind - 1] */
	if (optopt > 0 && optopt < 256 && (opt[0] != '-' || opt[1] == '-' || opt[1] != optopt))
		opt = shortopt;
	if (c == ':')
		return pc_cli_usage_error(cli, "option '%s' needs a value (see 'portcensus help %s')",
					  opt, cli->command ? cli->command : "");
	return pc_cli_usage_error(cli, "unknown option '%s' (see 'portcensus help %s')", opt,
				  cli->command ? cli->command : "");
}

void pc_cli_note(struct pc_cli *cli, const char *fmt, ...)
{
	if (cli->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	message(cli->prog, "warning", fmt, ap);
	va_end(ap);
}

const struct pc_report_ops *pc_cli_format(struct pc_cli *cli, const char *def)
{
	const char *name = cli->format ? cli->format : def;
	const struct pc_report_ops *ops = pc_report_find(name);
	if (!ops) {
		char list[256] = "";
		for (size_t i = 0; pc_report_registry[i]; i++) {
			if (i)
				strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			strncat(list, pc_report_registry[i]->name, sizeof(list) - strlen(list) - 1);
		}
		pc_cli_usage_error(cli, "unknown format '%s' (choose from: %s)", name, list);
	}
	return ops;
}

FILE *pc_cli_open_output(struct pc_cli *cli)
{
	if (!cli->output || strcmp(cli->output, "-") == 0) {
		static char outbuf[1 << 20];
		static bool buffered;
		if (!buffered && !isatty(STDOUT_FILENO))
			setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
		buffered = true;
		return stdout;
	}
	struct pc_error err = {0};
	/* 0666 less the umask, as a shell redirection would create it */
	if (pc_atomicfile_open(&out_file, cli->output, 0666, &err) < 0) {
		pc_cli_fail(cli, &err);
		return NULL;
	}
	/* a host with 50,000 sockets makes tens of megabytes of JSON: write it
	 * in large blocks rather than the stream's default 4 KiB */
	static char filebuf[1 << 20];
	FILE *f = pc_atomicfile_stream(&out_file, filebuf, sizeof(filebuf));
	if (!f) {
		pc_atomicfile_abort(&out_file);
		pc_cli_usage_error(cli, "cannot write %s: out of memory", cli->output);
	}
	return f;
}

int pc_cli_close_output(struct pc_cli *cli, FILE *f, bool ok)
{
	if (f == stdout) {
		if (fflush(stdout) != 0 || ferror(stdout)) {
			pc_cli_usage_error(cli, "writing output: %s", strerror(errno));
			return PC_EXIT_RUNTIME;
		}
		return 0;
	}
	if (f != out_file.f || !ok) {
		/* a failed run leaves no temporary and an existing FILE as it was */
		pc_atomicfile_abort(&out_file);
		return 0;
	}
	/* rename makes the file appear whole: a reader never sees half a report */
	struct pc_error err = {0};
	if (pc_atomicfile_commit(&out_file, &err) < 0) {
		pc_cli_fail(cli, &err);
		return PC_EXIT_RUNTIME;
	}
	return 0;
}

int pc_cli_emit(struct pc_cli *cli, const struct pc_snapshot *snap,
		const struct pc_report_ops *fmt, enum pc_report_view view, FILE *f, bool streamed)
{
	struct pc_report_opts ro = {
		.view = view,
		.color = cli->color && f == stdout,
		.version = PC_VERSION,
	};
	int r = fmt->write(f, snap, &ro, streamed);
	if (r < 0) {
		pc_cli_usage_error(cli, "writing %s output: %s", fmt->name, pc_strerror(r));
		return PC_EXIT_RUNTIME;
	}
	return 0;
}

int pc_cli_finish_output(struct pc_cli *cli, FILE *f, const struct pc_snapshot *snap,
			 const struct pc_report_ops *fmt, int rc)
{
	int crc = pc_cli_close_output(cli, f, rc == 0);
	if (!rc)
		rc = crc;
	if (snap && fmt && strcmp(fmt->name, "table") != 0)
		for (size_t i = 0; i < snap->n_warnings; i++) {
			pc_cli_note(cli, "%s", snap->warnings[i]);
		}
	return rc;
}

int pc_cli_write_snapshot(struct pc_cli *cli, const struct pc_snapshot *snap,
			  const struct pc_report_ops *fmt, enum pc_report_view view)
{
	FILE *f = pc_cli_open_output(cli);
	if (!f)
		return PC_EXIT_RUNTIME;
	int rc = pc_cli_emit(cli, snap, fmt, view, f, false);
	return pc_cli_finish_output(cli, f, snap, fmt, rc);
}

struct pc_kb *pc_cli_kb(struct pc_cli *cli, int *ret_rc)
{
	struct pc_error err = {0};
	struct pc_kb *kb = NULL;
	int r = pc_kb_builtin(&kb, &err);
	if (r == 0 && cli->kb_path)
		r = pc_kb_load_file(kb, cli->kb_path, &err);
	if (r < 0) {
		pc_kb_free(kb);
		*ret_rc = pc_cli_fail(cli, &err);
		return NULL;
	}
	return kb;
}

void pc_cli_gate_init(const struct pc_cli *cli, struct pc_cli_gate *ret_gate)
{
	*ret_gate = (struct pc_cli_gate){
		.fail_on_set = cli->fail_on >= 0,
		.fail_on = cli->fail_on >= 0 ? (enum pc_severity)cli->fail_on : PC_SEV_INFO,
	};
}

int pc_cli_gate_rc(const struct pc_cli *cli, const struct pc_snapshot *snap, int rc)
{
	if (rc)
		return rc;
	struct pc_cli_gate gate;
	pc_cli_gate_init(cli, &gate);
	return pc_cli_gate_exit(snap, &gate);
}

bool pc_cli_parse_uint(const char *s, unsigned long long min, unsigned long long max,
		       unsigned long long *ret)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

int pc_cli_gate_exit(const struct pc_snapshot *snap, const struct pc_cli_gate *gate)
{
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (gate->policy && ep->policy &&
		    (ep->policy->verdict == PC_VERDICT_VIOLATION ||
		     (gate->undocumented_fails && ep->policy->verdict == PC_VERDICT_UNDOCUMENTED)))
			return PC_EXIT_FINDINGS;
		if (gate->fail_on_set && ep->risk && ep->risk->severity >= gate->fail_on)
			return PC_EXIT_FINDINGS;
	}
	if (gate->fail_on_set && gate->streamed_risk && gate->streamed_worst >= gate->fail_on)
		return PC_EXIT_FINDINGS;
	if (gate->fail_on_set)
		for (size_t i = 0; i < snap->n_findings; i++)
			if (snap->findings[i].severity >= gate->fail_on)
				return PC_EXIT_FINDINGS;
	return PC_EXIT_OK;
}

int pc_cli_parse_ms(struct pc_cli *cli, const char *option, const char *arg, double *ret_ms)
{
	unsigned long long v;
	if (!pc_cli_parse_uint(arg, 1, 600000, &v))
		return pc_cli_usage_error(cli, "%s takes milliseconds (1-600000), not '%s'", option,
					  arg);
	*ret_ms = (double)v;
	return 0;
}

int pc_cli_inventory_option(struct pc_inventory_opts *o, int code)
{
	switch (code) {
	case PC_CLI_OPT_ESTABLISHED:
		o->established = true;
		return 0;
	case PC_CLI_OPT_NO_OWNERS:
		o->owners = false;
		return 0;
	case PC_CLI_OPT_OWN_NETNS:
		o->all_netns = false;
		return 0;
	default:
		return 1;
	}
}

void pc_cli_audit_choice_init(struct pc_cli_audit_choice *ret)
{
	*ret = (struct pc_cli_audit_choice){.verify = true, .probe = true};
}

int pc_cli_audit_option(struct pc_cli_audit_choice *o, int code, const char *arg)
{
	switch (code) {
	case PC_CLI_OPT_NO_VERIFY:
		/* the probes speak over the checked connection: none without it */
		o->verify = false;
		o->probe = false;
		return 0;
	case PC_CLI_OPT_NO_PROBE:
		o->probe = false;
		return 0;
	case PC_CLI_OPT_POLICY:
		o->policy = arg;
		return 0;
	default:
		return 1;
	}
}

int pc_cli_format_kb(struct pc_cli *cli, const char *def, const struct pc_report_ops **ret_fmt,
		     struct pc_kb **ret_kb)
{
	const struct pc_report_ops *fmt = pc_cli_format(cli, def);
	if (!fmt)
		return PC_EXIT_USAGE;
	int rc = 0;
	struct pc_kb *kb = pc_cli_kb(cli, &rc);
	if (!kb)
		return rc;
	*ret_fmt = fmt;
	*ret_kb = kb;
	return 0;
}

struct pc_snapshot *pc_cli_snapshot_new(struct pc_cli *cli)
{
	struct pc_snapshot *snap = pc_snapshot_new(cli->cmdline);
	if (!snap)
		pc_cli_usage_error(cli, "out of memory");
	return snap;
}
