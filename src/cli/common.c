/*
 * common.c - output handling and messages shared by the subcommands.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_path[PATH_MAX];

int pc_cli_usage_error(struct pc_cli *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", cli->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return PC_EXIT_USAGE;
}

int pc_cli_fail(struct pc_cli *cli, const struct pc_error *err)
{
	char msg[1024];
	pc_error_format(err, msg, sizeof(msg));
	char clean[1024];
	pc_text_sanitize(msg, clean, sizeof(clean));
	fprintf(stderr, "%s: error: %s\n", cli->prog, clean);
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
	fprintf(stderr, "%s: warning: ", cli->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
	int n = snprintf(tmp_path, sizeof(tmp_path), "%s.tmp.%ld", cli->output, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp_path)) {
		pc_cli_usage_error(cli, "output path too long: %s", cli->output);
		return NULL;
	}
	FILE *f = fopen(tmp_path, "we");
	if (!f) {
		fprintf(stderr, "%s: error: cannot write %s: %s\n", cli->prog, cli->output,
			strerror(errno));
		return NULL;
	}
	/* a host with 50,000 sockets makes tens of megabytes of JSON: write it
	 * in large blocks rather than the stream's default 4 KiB */
	static char filebuf[1 << 20];
	setvbuf(f, filebuf, _IOFBF, sizeof(filebuf));
	return f;
}

int pc_cli_close_output(struct pc_cli *cli, FILE *f, bool ok)
{
	if (f == stdout) {
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "%s: error: writing output: %s\n", cli->prog,
				strerror(errno));
			return PC_EXIT_RUNTIME;
		}
		return 0;
	}
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0)
		bad = true;
	if (bad || !ok) {
		unlink(tmp_path);
		if (bad) {
			fprintf(stderr, "%s: error: writing %s failed\n", cli->prog, cli->output);
			return PC_EXIT_RUNTIME;
		}
		return 0;
	}
	/* rename makes the file appear whole: a reader never sees half a report */
	if (rename(tmp_path, cli->output) != 0) {
		fprintf(stderr, "%s: error: cannot write %s: %s\n", cli->prog, cli->output,
			strerror(errno));
		unlink(tmp_path);
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
		fprintf(stderr, "%s: error: writing %s output: %s\n", cli->prog, fmt->name,
			pc_strerror(r));
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
			char clean[1024];
			pc_cli_note(cli, "%s",
				    pc_text_sanitize(snap->warnings[i], clean, sizeof(clean)));
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
	if (gate->fail_on_set)
		for (size_t i = 0; i < snap->n_findings; i++)
			if (snap->findings[i].severity >= gate->fail_on)
				return PC_EXIT_FINDINGS;
	return PC_EXIT_OK;
}
