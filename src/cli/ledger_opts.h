/*
 * ledger_opts.h - the ledger options that `audit` and `scan` share
 * (--db, --no-store, --keep) and the opening of the ledger for `history`,
 * `diff` and `report`, parsed and reported in one place.
 */
#ifndef PC_CLI_LEDGER_OPTS_H
#define PC_CLI_LEDGER_OPTS_H

#include "cli/cli.h"
#include "ledger/ledger.h"

#include <getopt.h>

/* getopt codes of the ledger options */
enum {
	PC_CLI_OPT_DB = 0x5d00,
	PC_CLI_OPT_NO_STORE,
	PC_CLI_OPT_KEEP,
	PC_CLI_OPT_LEDGER,
	PC_CLI_OPT_HOST_ID,
	PC_CLI_OPT_SWEEP_ID,
	PC_CLI_OPT_SEGMENT,
};

#define PC_CLI_LEDGER_LONGOPTS                                          \
	{"db", required_argument, NULL, PC_CLI_OPT_DB},                 \
	{"no-store", no_argument, NULL, PC_CLI_OPT_NO_STORE},           \
	{"keep", required_argument, NULL, PC_CLI_OPT_KEEP},             \
	{"ledger", required_argument, NULL, PC_CLI_OPT_LEDGER},         \
	{"host-id", required_argument, NULL, PC_CLI_OPT_HOST_ID},       \
	{"sweep-id", required_argument, NULL, PC_CLI_OPT_SWEEP_ID},     \
	{"segment", required_argument, NULL, PC_CLI_OPT_SEGMENT}

#define PC_CLI_LEDGER_USAGE \
	"Ledger (every run is stored; see `portcensus history`, `diff`):\n" \
	"  --db PATH         the ledger (default $PORTCENSUS_DB, else\n" \
	"                    /var/lib/portcensus/ledger.db as root,\n" \
	"                    $XDG_STATE_HOME/portcensus/ledger.db otherwise)\n" \
	"  --no-store        do not store this run\n" \
	"  --keep N|AGE      after storing, keep only the newest N snapshots,\n" \
	"                    or those younger than AGE (90d, 12w, 36h)\n" \
	"  --ledger URL      also a fleet's central ledger (postgresql://...,\n" \
	"                    default $PORTCENSUS_LEDGER): stored locally first,\n" \
	"                    then shipped, kept for later when unreachable\n" \
	"  --host-id ID      this host in the ledger (default /etc/machine-id)\n" \
	"  --sweep-id ID     the sweep this scan is a shard of (--shard I/N)\n" \
	"  --segment NAME    the network segment this scanner sits in\n"

struct pc_cli_ledger {
	const char *db;
	const char *ledger; /* --ledger, else $PORTCENSUS_LEDGER */
	const char *host_id, *sweep_id, *segment;
	bool no_store;
	struct pc_ledger_keep keep;
	char path[4096];
	char scope[1024];
	struct pc_ledger_request req;
	struct pc_ledger_result res;
};

/* Handle a getopt code: 0 handled, 1 not a ledger option, or an exit code
 * after printing the error. */
int pc_cli_ledger_option(struct pc_cli *cli, struct pc_cli_ledger *lo, int code,
			 const char *arg);
/* The ledger path: --db, else pc_ledger_default_path(). 0 or an exit code
 * after printing the error. */
int pc_cli_ledger_path(struct pc_cli *cli, const char *db, char *buf, size_t len);
/* Fill lo->req for a run of kind ("audit", "scan") over scope. Returns the
 * request, or NULL with --no-store; *rc is 0 or an exit code. */
const struct pc_ledger_request *pc_cli_ledger_request(struct pc_cli *cli,
						      struct pc_cli_ledger *lo, const char *kind,
						      const char *scope, int *rc);
/* "net:" and the positional targets (and -iL files) joined by spaces. */
const char *pc_cli_ledger_net_scope(struct pc_cli_ledger *lo, int argc, char **argv,
				    int first);
/* After the report: print a ledger failure (naming the file) and return
 * the exit code, the ledger's failure (3) winning over rc. */
int pc_cli_ledger_finish(struct pc_cli *cli, const struct pc_cli_ledger *lo, int rc);
/* Parse the options of history, diff and report: --db, --help, and with
 * limit non-NULL -n/--limit. Returns -1 to go on (optind at the first
 * argument), or an exit code: 0 after printing usage for --help. */
int pc_cli_ledger_args(struct pc_cli *cli, int argc, char **argv, const char *usage,
		       const char **ret_db, unsigned long long *limit);
/* Open an existing ledger for reading (--db or the default). 0 or an exit
 * code after printing the error. */
int pc_cli_ledger_open(struct pc_cli *cli, const char *db, struct pc_ledger **ret);
/* The ledger history, diff, report and fleet read: --ledger or --db as
 * given, else $PORTCENSUS_LEDGER, else the local default. */
const char *pc_cli_ledger_location(const char *db);

#endif
