/*
 * listeners.c - `portcensus listeners`: the host inventory on its own,
 * every listening socket in every network namespace with its owners, and
 * no live checks (that is `audit`). Turns argv into inventory options,
 * runs the inventory, classifies (without probes, every service is
 * unidentified: the risk rests on bind scope and owner), prints.
 */
#include "classify/classify.h"
#include "cli/cli.h"
#include "inventory/inventory.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus listeners [OPTIONS]\n"
	"\n"
	"List every listening TCP socket and every bound UDP socket, IPv4 and IPv6,\n"
	"in every network namespace of this host, with the processes that hold\n"
	"them (pid, command, executable, user, systemd unit, container). Sockets\n"
	"are read with NETLINK_SOCK_DIAG; /proc/net is the fallback. Without root\n"
	"it lists what it can see and says what is missing.\n"
	"\n"
	"Options:\n"
	"  --established     also list established TCP connections, with peer\n"
	"  --no-owners       do not attribute sockets to processes (faster)\n"
	"  --proc            read /proc/net/{tcp,udp}[6] instead of netlink\n"
	"  --own-netns       only the network namespace portcensus runs in\n";

/* The table prints the warnings under itself; the machine formats carry
 * them in their data, and a person running them should see them too. */
static int run(struct pc_cli *cli, int argc, char **argv)
{
	enum { OPT_PROC = 256 };
	static const struct option longopts[] = {
		PC_CLI_INVENTORY_LONGOPTS,
		{"proc", no_argument, NULL, OPT_PROC},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pc_inventory_opts opts;
	pc_inventory_opts_default(&opts);
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PROC:
			opts.force_proc = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (pc_cli_inventory_option(&opts, c) != 0)
				return pc_cli_bad_option(cli, c, argv);
			break;
		}
	}
	if (optind < argc)
		return pc_cli_usage_error(cli, "listeners takes no arguments, not '%s' (see "
					       "'portcensus help listeners')",
					  argv[optind]);

	const struct pc_report_ops *fmt;
	struct pc_kb *kb;
	int rc = pc_cli_format_kb(cli, "table", &fmt, &kb);
	if (rc)
		return rc;
	struct pc_snapshot *snap = pc_cli_snapshot_new(cli);
	if (!snap) {
		pc_kb_free(kb);
		return PC_EXIT_RUNTIME;
	}
	struct pc_error err = {0};
	int r = pc_inventory_collect(snap, &opts, NULL, &err);
	if (r == 0)
		r = pc_classify_run(snap, kb, NULL, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
		pc_snapshot_free(snap);
		pc_kb_free(kb);
		return rc;
	}
	pc_snapshot_sort(snap);
	pc_snapshot_finish(snap);

	rc = pc_cli_write_snapshot(cli, snap, fmt, PC_VIEW_LISTENERS);
	rc = pc_cli_gate_rc(cli, snap, rc);
	pc_snapshot_free(snap);
	pc_kb_free(kb);
	return rc;
}

const struct pc_cli_command pc_cmd_listeners = {
	.name = "listeners",
	.summary = "every listening socket in every network namespace, with owners",
	.usage = usage,
	.run = run,
};
