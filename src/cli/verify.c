/*
 * verify.c - `portcensus verify [FILE|-]`: re-check, live, every port that
 * a result file claims is open (ours, nmap -oX, masscan -oL/-oJ/-oD), and
 * say for each whether it is confirmed, closed now, filtered now or a
 * different service than the file says.
 *
 * Exit status, for CI: 0 when every claimed-open port is confirmed; 1 when
 * any is closed, filtered or different now (the file is no longer true);
 * 2 when the file cannot be read or is malformed (file:line:col: what), or
 * names an address outside the internal ranges without --allow-public (the
 * scope guard of scan, applied while reading, so nothing is sent); 3 on a
 * runtime failure. --exit-zero reports without failing. Checks are paced
 * (--rate, default PC_RECHECK_RATE per second). Open endpoints are
 * classified after the re-check; --fail-on SEVERITY also exits 1 when one's
 * risk is at or above it.
 */
#include "classify/classify.h"
#include "cli/cli.h"
#include "cli/scan_opts.h"
#include "import/import.h"
#include "privsep/privsep.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: portcensus verify [OPTIONS] [FILE|-]\n"
	"\n"
	"Re-check every port that FILE says is open, with a live connection from\n"
	"this network namespace and the service probes, and report each as\n"
	"confirmed, closed now, filtered now or a different service. FILE is our\n"
	"JSON or JSON Lines, nmap XML (-oX), or masscan -oL, -oJ or -oD output,\n"
	"detected from its content; '-' or no FILE reads standard input.\n"
	"\n"
	"Options:\n"
	"  --timeout MS        deadline of each connection check (default 1500)\n"
	"  --probe-timeout MS  deadline of each probe exchange (default 2000)\n"
	"  --parallel N        connections in flight (default 64)\n"
	"  --rate N            connection checks started per second (default 1000;\n"
	"                      0 = no limit)\n"
	"  --allow-public      allow entries outside the internal ranges (without it\n"
	"                      one such entry refuses the whole file: exit 2)\n"
	"  --no-probe          check reachability only; do not identify services\n"
	"  --input FORMAT      do not detect: nmap-xml, masscan-list, masscan-json,\n"
	"                      json or jsonl\n"
	"  --exit-zero         exit 0 even when some ports are not confirmed\n"
	PC_CLI_MAX_PROBED_USAGE("                      ")
	"\n"
	"Exit status: 0 all confirmed, 1 some closed, filtered or different now,\n"
	"2 unreadable or malformed input, 3 runtime failure.\n";

static int parse_input_format(const char *s, enum pc_import_format *ret)
{
	static const struct {
		const char *name;
		enum pc_import_format f;
	} names[] = {
		{"auto", PC_IMPORT_AUTO},
		{"nmap-xml", PC_IMPORT_NMAP_XML},
		{"masscan-list", PC_IMPORT_MASSCAN_LIST},
		{"masscan-json", PC_IMPORT_MASSCAN_JSON},
		{"json", PC_IMPORT_JSON},
		{"jsonl", PC_IMPORT_JSONL},
		{"masscan-ndjson", PC_IMPORT_JSONL},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*ret = names[i].f;
			return 0;
		}
	}
	return -1;
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	enum {
		OPT_TIMEOUT = 256,
		OPT_PROBE_TIMEOUT,
		OPT_PARALLEL,
		OPT_NO_PROBE,
		OPT_INPUT,
		OPT_EXIT_ZERO,
		OPT_RATE,
		OPT_ALLOW_PUBLIC,
		OPT_MAX_PROBED
	};
	static const struct option longopts[] = {
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT},
		{"parallel", required_argument, NULL, OPT_PARALLEL},
		{"no-probe", no_argument, NULL, OPT_NO_PROBE},
		{"input", required_argument, NULL, OPT_INPUT},
		{"exit-zero", no_argument, NULL, OPT_EXIT_ZERO},
		{"rate", required_argument, NULL, OPT_RATE},
		{"allow-public", no_argument, NULL, OPT_ALLOW_PUBLIC},
		{"max-probed-ports", required_argument, NULL, OPT_MAX_PROBED},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pc_recheck_opts ro;
	pc_recheck_opts_default(&ro);
	struct pc_import_opts io = {0};
	bool exit_zero = false;
	unsigned long long v;
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TIMEOUT:
			if ((rc = pc_cli_parse_ms(cli, "--timeout", optarg, &ro.timeout_ms)))
				return rc;
			break;
		case OPT_PROBE_TIMEOUT:
			if ((rc = pc_cli_parse_ms(cli, "--probe-timeout", optarg,
						  &ro.probe_opts.timeout_ms)))
				return rc;
			break;
		case OPT_PARALLEL:
			if (!pc_cli_parse_uint(optarg, 1, 4096, &v))
				return pc_cli_usage_error(cli, "--parallel takes 1-4096, not '%s'",
							  optarg);
			ro.parallel = (unsigned)v;
			ro.probe_opts.parallel = (unsigned)v;
			break;
		case OPT_NO_PROBE:
			ro.probe = false;
			break;
		case OPT_INPUT:
			if (parse_input_format(optarg, &io.format) < 0)
				return pc_cli_usage_error(cli, "--input takes nmap-xml, "
							       "masscan-list, masscan-json, json "
							       "or jsonl, not '%s'",
							  optarg);
			break;
		case OPT_EXIT_ZERO:
			exit_zero = true;
			break;
		case OPT_RATE:
			if (!pc_cli_parse_uint(optarg, 0, 100000000, &v))
				return pc_cli_usage_error(cli, "--rate takes checks per second "
							       "(0-100000000, 0 = no limit), not '%s'",
							  optarg);
			ro.rate = (double)v;
			break;
		case OPT_ALLOW_PUBLIC:
			io.allow_public = true;
			break;
		case OPT_MAX_PROBED: {
			int pr = pc_cli_parse_max_probed(cli, optarg,
							 &ro.probe_opts.max_probed_ports);
			if (pr)
				return pr;
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	if (argc - optind > 1)
		return pc_cli_usage_error(cli, "verify takes one FILE (or '-'), not %d",
					  argc - optind);
	const char *path = optind < argc ? argv[optind] : "-";
	if (strcmp(path, "-") == 0 && isatty(STDIN_FILENO))
		return pc_cli_usage_error(cli, "verify needs a FILE, or results on standard "
					       "input (see 'portcensus help verify')");

	struct pc_privsep_opts ps;
	int pr = pc_cli_privsep(cli, &ps);
	if (pr)
		return pr;
	ro.privsep = &ps;

	const struct pc_report_ops *fmt;
	struct pc_kb *kb;
	if ((rc = pc_cli_format_kb(cli, "table", &fmt, &kb)))
		return rc;
	struct pc_snapshot *snap = pc_cli_snapshot_new(cli);
	if (!snap) {
		pc_kb_free(kb);
		return PC_EXIT_RUNTIME;
	}
	struct pc_error err = {0};
	struct pc_import_stats st = {0};
	int r = pc_import_file(snap, path, &io, &st, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
		goto out;
	}
	if (st.other_proto)
		pc_snapshot_warn(snap, "%zu record%s of other protocols (sctp, icmp, ip) not "
				       "re-checked",
				 st.other_proto, st.other_proto == 1 ? "" : "s");
	if (!st.imported)
		pc_cli_note(cli, "%s lists no open TCP or UDP ports (%zu records read)",
			    strcmp(path, "-") == 0 ? "<stdin>" : path, st.records);
	r = pc_import_recheck(snap, st.claim_guessed, st.n_claim_guessed, &ro, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
		goto out;
	}
	r = pc_classify_run(snap, kb, NULL, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
		goto out;
	}
	pc_snapshot_finish(snap);
	pc_snapshot_sort(snap);

	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		rc = PC_EXIT_RUNTIME;
		goto out;
	}
	rc = pc_cli_emit(cli, snap, fmt, PC_VIEW_VERIFY, f, false);
	int crc = pc_cli_close_output(cli, f, rc == 0);
	if (!rc)
		rc = crc;
	if (!rc && !exit_zero) {
		for (size_t i = 0; i < snap->n_endpoints; i++) {
			enum pc_recheck k = snap->endpoints[i].recheck;
			if (k != PC_RECHECK_NONE && k != PC_RECHECK_CONFIRMED) {
				rc = PC_EXIT_FINDINGS;
				break;
			}
		}
	}
	rc = pc_cli_gate_rc(cli, snap, rc);
out:
	pc_import_stats_free(&st);
	pc_snapshot_free(snap);
	pc_kb_free(kb);
	return rc;
}

const struct pc_cli_command pc_cmd_verify = {
	.name = "verify",
	.summary = "re-check nmap, masscan or portcensus results with live connections",
	.usage = usage,
	.run = run,
};
