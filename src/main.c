/*
 * main.c - the entry point: global options, subcommand dispatch, help and
 * version. Global options (--format, -o, --quiet, --no-color,
 * --privsep-user) may stand anywhere on the line, before or after the
 * subcommand, as users of nmap and ss expect; they are taken out before the
 * subcommand parses the rest.
 */
#include "cli/cli.h"
#include "core/text.h"
#include "privsep/privsep.h"

#include <locale.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const global_usage =
	"Global options (anywhere on the line):\n"
	"  --format FMT     output format: table, json, jsonl, csv, ...\n"
	"  -o, --output F   write the report to F (atomically) instead of stdout\n"
	"  -q, --quiet      no progress and no notes on stderr\n"
	"  --no-color       no colours (also when NO_COLOR is set)\n"
	"  --privsep-user U run the probe worker (everything that reads the\n"
	"                   network) as user U (default nobody)\n"
	"  --kb FILE        extend or override the service knowledge base (YAML)\n"
	"  --fail-on SEV    exit 1 when an endpoint's risk is SEV or worse\n"
	"                   (critical, high, medium, low, info)\n"
	"  -h, --help       help for the command\n";

static void print_help(FILE *f)
{
	fprintf(f, "usage: portcensus [COMMAND] [OPTIONS] [TARGET...]\n\n"
		   "Audit the ports of internal networks: what listens, who owns it, who can\n"
		   "reach it, what answers there.\n\nCommands:\n");
	for (size_t i = 0; pc_cli_commands[i]; i++)
		fprintf(f, "  %-12s %s\n", pc_cli_commands[i]->name, pc_cli_commands[i]->summary);
	fprintf(f, "  %-12s %s\n", "version", "print the version");
	fprintf(f, "  %-12s %s\n", "help", "help for a command: portcensus help COMMAND");
	fprintf(f, "\nWith no command, portcensus audits this host (portcensus audit).\n\n%s",
		global_usage);
	fprintf(f, "\nExit codes: 0 clean, 1 findings, 2 usage or input error, 3 runtime failure.\n"
		   "See portcensus(1).\n");
}

static int print_command_help(const char *prog, const char *name, FILE *f)
{
	const struct pc_cli_command *c = pc_cli_find(name);
	if (!c) {
		if (strcmp(name, "version") == 0) {
			fprintf(f, "usage: portcensus version\n\nPrint the version.\n");
			return 0;
		}
		if (strcmp(name, "help") == 0) {
			print_help(f);
			return 0;
		}
		char clean[256];
		fprintf(stderr, "%s: error: unknown command '%s' (see 'portcensus help')\n", prog,
			pc_text_sanitize(name, clean, sizeof(clean)));
		return PC_EXIT_USAGE;
	}
	fprintf(f, "%s\n%s", c->usage, global_usage);
	return 0;
}

const struct pc_cli_command *pc_cli_find(const char *name)
{
	for (size_t i = 0; pc_cli_commands[i]; i++)
		if (strcmp(pc_cli_commands[i]->name, name) == 0)
			return pc_cli_commands[i];
	return NULL;
}

/* Take the global options out of argv; returns the new argc, or -1 after
 * printing a usage error. */
static int take_globals(struct pc_cli *cli, int argc, char **argv)
{
	int out = 1;
	bool dashdash = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (dashdash) {
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			argv[out++] = argv[i];
			continue;
		}
		/* "--name VALUE", "--name=VALUE", and "-o VALUE" */
		static const char *const valued[] = {"--format", "--output", "--kb", "--fail-on",
						     "--privsep-user", NULL};
		const char *name = strcmp(a, "-o") == 0 ? "--output" : NULL;
		for (size_t k = 0; !name && valued[k]; k++) {
			size_t n = strlen(valued[k]);
			if (strncmp(a, valued[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
				name = valued[k];
				val = a[n] == '=' ? a + n + 1 : NULL;
			}
		}
		if (name && !val) {
			if (i + 1 >= argc) {
				pc_cli_usage_error(cli, "option '%s' needs a value", a);
				return -1;
			}
			val = argv[++i];
		}
		if (name) {
			if (strcmp(name, "--format") == 0) {
				cli->format = val;
			} else if (strcmp(name, "--privsep-user") == 0) {
				cli->privsep_user = val;
			} else if (strcmp(name, "--kb") == 0) {
				cli->kb_path = val;
			} else if (strcmp(name, "--fail-on") == 0) {
				enum pc_severity sev;
				if (pc_severity_parse(val, &sev) < 0) {
					pc_cli_usage_error(cli, "--fail-on takes critical, high, "
								"medium, low or info, not '%s'",
							   val);
					return -1;
				}
				cli->fail_on = (int)sev;
			} else {
				cli->output = val;
			}
			continue;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			cli->quiet = true;
			continue;
		}
		if (strcmp(a, "--no-color") == 0) {
			cli->color = false;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int pc_cli_privsep(struct pc_cli *cli, struct pc_privsep_opts *ret)
{
	struct pc_error err = {0};
	if (pc_privsep_opts_init(ret, cli->privsep_user, &err) < 0)
		return pc_cli_fail(cli, &err);
	return 0;
}

static char *join_argv(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " "); /* NOLINT: sized above */
		strcat(s, argv[i]);
	}
	return s;
}

int main(int argc, char **argv)
{
	setlocale(LC_CTYPE, "C");
	/* a closed pipe (| head) must end us quietly, not kill us mid-write of a
	 * file; writes then fail with EPIPE and we exit 3 */
	signal(SIGPIPE, SIG_IGN);
	/* one fd per namespace held open, one per connection in flight: the
	 * soft limit (often 1024) is the first wall a big host hits */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl); /* best effort: stay within the soft limit */
	}

	struct pc_cli cli = {
		.prog = "portcensus",
		.color = getenv("NO_COLOR") == NULL && isatty(STDOUT_FILENO),
		.fail_on = -1,
	};
	char *cmdline = join_argv(argc, argv);
	cli.cmdline = cmdline ? cmdline : "portcensus";
	argc = take_globals(&cli, argc, argv);
	if (argc < 0) {
		free(cmdline);
		return PC_EXIT_USAGE;
	}
	cli.progress = !cli.quiet && isatty(STDERR_FILENO);

	int rc;
	const char *name = argc > 1 ? argv[1] : NULL;
	if (name && (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0)) {
		printf("portcensus %s\n", PC_VERSION);
		rc = 0;
	} else if (name && (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 ||
			    strcmp(name, "-h") == 0)) {
		if (argc > 2) {
			rc = print_command_help(cli.prog, argv[2], stdout);
		} else {
			print_help(stdout);
			rc = 0;
		}
	} else {
		const struct pc_cli_command *c = name ? pc_cli_find(name) : NULL;
		if (c && (cli.kb_path || cli.fail_on >= 0) && strcmp(c->name, "audit") != 0 &&
		    strcmp(c->name, "scan") != 0 && strcmp(c->name, "verify") != 0 &&
		    strcmp(c->name, "listeners") != 0) {
			rc = pc_cli_usage_error(&cli, "--kb and --fail-on apply to audit, scan, "
						      "verify and listeners, not %s",
						c->name);
		} else if (c) {
			cli.command = c->name;
			rc = c->run(&cli, argc - 1, argv + 1);
		} else {
			/* no command: `portcensus [TARGET...] [OPTIONS]` is an audit */
			c = pc_cli_find("audit");
			if (!c) {
				rc = pc_cli_usage_error(&cli, "unknown command '%s'",
							name ? name : "");
			} else {
				cli.command = c->name;
				argv[0] = (char *)"audit";
				rc = c->run(&cli, argc, argv);
			}
		}
	}
	free(cmdline);
	return rc;
}
