/*
 * scan_opts.h - the target, port and engine options that `scan` and
 * `audit` share, parsed in one place so the two commands cannot drift.
 *
 * A command merges pc_cli_scan_longopts into its own getopt_long table
 * (pc_cli_scan_merge), hands every option it does not know itself to
 * pc_cli_scan_option, treats its positional arguments as targets
 * (pc_cli_scan_target), and finally calls pc_cli_scan_finish, which builds
 * the target set and the port list and fills `opts`.
 */
#ifndef PC_CLI_SCAN_OPTS_H
#define PC_CLI_SCAN_OPTS_H

#include "cli/cli.h"
#include "scan/scan.h"

#include <getopt.h>
#include <stdbool.h>

/* getopt codes of the shared options start here */
#define PC_CLI_SCAN_OPT_BASE 0x5c00

struct pc_cli_scan {
	struct pc_targets *targets;
	struct pc_ports *ports;
	struct pc_scan_opts opts;
	struct pc_addr *sources; /* --source-ip, IPv4 first */
	size_t n_sources;
	bool list_targets;
	bool allow_public;
	bool have_targets;  /* a target, -iL or nothing at all */
	bool have_ports;    /* -p or --top-ports given */
};

/* The option help text, for a command's usage string. */
#define PC_CLI_SCAN_USAGE \
	"Targets and ports:\n" \
	"  TARGET            address, CIDR, A-B range, A.B.C.D-N, or host name\n" \
	"  -iL FILE          targets from FILE (one or more per line, # comments)\n" \
	"  --exclude LIST    comma-separated specs never to probe (always win)\n" \
	"  --exclude-file F  specs never to probe, from F\n" \
	"  --allow-public    allow addresses outside the internal ranges\n" \
	"  -p PORTS          22,80,8000-8100,U:53,T:443; -p- for all TCP ports\n" \
	"  --top-ports N     the N most common internal TCP ports (default 100)\n" \
	"Engine and pacing:\n" \
	"  --connect         TCP connect scan (no privileges needed)\n" \
	"  --syn             SYN scan (needs CAP_NET_RAW; the default when held)\n" \
	"  --rate PPS        fixed probes per second, all hosts: a hard ceiling, no\n" \
	"                    adaptation (0 or max = no limit; default: adaptive)\n" \
	"  --max-rate PPS    ceiling of the adaptive rate (default: none)\n" \
	"  --host-inflight N probes in flight per host (default 64 connect, 256 SYN and UDP)\n" \
	"  --retries N       re-sends of an unanswered probe (default 1)\n" \
	"  --timeout MS      wait per probe (default 1000)\n" \
	"  --cooldown MS     wait for late replies after the last probe (SYN, UDP)\n" \
	"  --source-ip SPEC  send SYN and UDP probes from these addresses of this\n" \
	"                    host, in turn (ADDR, A-B or CIDR; repeatable): each\n" \
	"                    has its own share of a target's ICMP error budget\n" \
	"Order and output:\n" \
	"  --seed N          permutation seed (same seed, same order)\n" \
	"  --shard I/N       scan only part I of N (disjoint parts, union is all)\n" \
	"  --show LIST       also report closed,filtered (or all); open only by default\n" \
	"  --list-targets    print every probe (ADDRESS PROTO PORT) in scan order and\n" \
	"                    exit: a dry run that sends nothing\n"

/* The option table (NULL-terminated) and its help text. */
extern const struct option pc_cli_scan_longopts[];
extern const char pc_cli_scan_usage[];

/* Copy own (NULL-terminated) then the shared options not already named in
 * own into out (cap entries, NULL-terminated). */
void pc_cli_scan_merge(const struct option *own, struct option *out, size_t cap);

/* Rewrite nmap's two-letter "-iL" into "--input-list" in argv, in place. */
void pc_cli_scan_fix_argv(int argc, char **argv);

/* 0 or PC_EXIT_RUNTIME (no memory). */
int pc_cli_scan_init(struct pc_cli *cli, struct pc_cli_scan *s);
void pc_cli_scan_free(struct pc_cli_scan *s);

/* Handle a getopt code: 0 handled, 1 not a shared option, or an exit code
 * (2) after printing the error. The short option 'p' is shared too. */
int pc_cli_scan_option(struct pc_cli *cli, struct pc_cli_scan *s, int code, const char *arg);
/* A positional argument: one target spec. 0 or an exit code. */
int pc_cli_scan_target(struct pc_cli *cli, struct pc_cli_scan *s, const char *spec);
/* Build the target set and ports (default ports: the top 100) and fill
 * s->opts. 0 or an exit code after printing the error. */
int pc_cli_scan_finish(struct pc_cli *cli, struct pc_cli_scan *s);

/* A progress line on stderr (for opts.on_progress when cli->progress);
 * ctx is the struct pc_cli. pc_cli_scan_progress_end clears it. */
void pc_cli_scan_progress(void *ctx, const struct pc_scan_stats *stats, uint64_t found);
void pc_cli_scan_progress_end(struct pc_cli *cli);
/* The help of --max-probed-ports (audit, verify); pad indents the text to
 * the command's description column. */
#define PC_CLI_MAX_PROBED_USAGE(pad) \
	"  --max-probed-ports N\n" \
	pad "probe at most N open ports per target address, the most\n" \
	pad "common first; the rest are reported open but unprobed,\n" \
	pad "with a warning (default 256; 0 = no cap)\n"
/* Parse the argument of --max-probed-ports into a pc_probe_run_opts value
 * (0 on the command line means no cap). 0, or an exit code after printing
 * the error. */
int pc_cli_parse_max_probed(struct pc_cli *cli, const char *arg, unsigned *ret_max);

/* --list-targets: print every probe of the finished options to the output
 * and return the exit code. */
int pc_cli_scan_list(struct pc_cli *cli, struct pc_cli_scan *s);

#endif
