/*
 * connections.c - `portcensus connections`: the established TCP connections
 * of every network namespace, joined to their owners and aggregated into
 * service edges (client -> server, with a count; client -> front ->
 * backend through NAT, from the conntrack tables the inventory reads with
 * established sockets). `--format dot` draws the map for Graphviz.
 *
 * This file only turns argv into options: the sockets come from the
 * inventory, the edges from inventory/edges.c, the text from report/.
 */
#include "cli/cli.h"
#include "inventory/edges.h"
#include "inventory/inventory.h"
#include "report/edges.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
	"usage: portcensus connections [OPTIONS]\n"
	"\n"
	"Established TCP connections in every network namespace, each joined to\n"
	"the processes that own its ends, aggregated into service edges:\n"
	"client (process, or address when remote) -> server (address:port and its\n"
	"owner when it listens on this host), with the number of connections.\n"
	"A connection with both ends on this host is counted once. The server end\n"
	"is the one whose port listens; when no listener says, the lower\n"
	"well-known port (basis \"heuristic\", see docs/formats.md). A connection\n"
	"through NAT is one edge, client -> front -> backend, when the conntrack\n"
	"table of the namespace that translated it pairs its two sockets (basis\n"
	"\"conntrack\"; the VIA column, json \"via\", names the front).\n"
	"\n"
	"Formats: table (default), json, jsonl (one edge per line), csv (one row\n"
	"per edge), dot (Graphviz: portcensus connections --format dot | dot -Tsvg\n"
	"> map.svg).\n"
	"\n"
	"Options:\n"
	"  --no-owners       do not attribute sockets to processes\n"
	"  --own-netns       only the namespace portcensus runs in\n";

static int run(struct pc_cli *cli, int argc, char **argv)
{
	enum { OPT_NO_OWNERS = 256, OPT_OWN_NETNS };
	static const struct option longopts[] = {
		{"no-owners", no_argument, NULL, OPT_NO_OWNERS},
		{"own-netns", no_argument, NULL, OPT_OWN_NETNS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pc_inventory_opts opts;
	pc_inventory_opts_default(&opts);
	opts.listeners = true; /* a listening port is what tells the server end */
	opts.established = true;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NO_OWNERS:
			opts.owners = false;
			break;
		case OPT_OWN_NETNS:
			opts.all_netns = false;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return pc_cli_bad_option(cli, c, argv);
		}
	}
	if (optind < argc)
		return pc_cli_usage_error(cli, "connections takes no arguments: '%s'", argv[optind]);
	const char *format = cli->format ? cli->format : "table";
	if (!pc_report_edges_supports(format))
		return pc_cli_usage_error(cli, "unknown format '%s' for connections (choose from: %s)",
					  format, pc_report_edges_formats());

	struct pc_snapshot *snap = pc_snapshot_new(cli->cmdline);
	if (!snap) {
		pc_cli_usage_error(cli, "out of memory");
		return PC_EXIT_RUNTIME;
	}
	struct pc_error err = {0};
	struct pc_edges *edges = NULL;
	int rc = 0;
	int r = pc_inventory_collect(snap, &opts, NULL, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
		goto out;
	}
	pc_snapshot_sort(snap);
	pc_snapshot_finish(snap);
	r = pc_edges_build(snap, &edges, &err);
	if (r < 0) {
		rc = pc_cli_fail(cli, &err);
		goto out;
	}

	FILE *f = pc_cli_open_output(cli);
	if (!f) {
		rc = PC_EXIT_RUNTIME;
		goto out;
	}
	struct pc_report_opts ro = {
		.view = PC_VIEW_LISTENERS,
		.color = cli->color && f == stdout,
		.version = PC_VERSION,
	};
	r = pc_report_edges(f, format, snap, edges, &ro);
	if (r < 0) {
		pc_cli_usage_error(cli, "writing %s output: %s", format, pc_strerror(r));
		rc = PC_EXIT_RUNTIME;
	}
	int crc = pc_cli_close_output(cli, f, rc == 0);
	if (!rc)
		rc = crc;
out:
	pc_edges_free(edges);
	pc_snapshot_free(snap);
	return rc;
}

const struct pc_cli_command pc_cmd_connections = {
	.name = "connections",
	.summary = "established service connections; --format dot draws the map",
	.usage = usage,
	.run = run,
};
