/*
 * registry.c - the subcommands, in the order `portcensus help` lists them.
 * Adding a command is one file in src/cli/ plus one line here.
 */
#include "cli/cli.h"

#include <stddef.h>

const struct pc_cli_command *const pc_cli_commands[] = {
	&pc_cmd_audit,
	&pc_cmd_scan,
	&pc_cmd_listeners,
	&pc_cmd_connections,
	&pc_cmd_verify,
	&pc_cmd_diff,
	&pc_cmd_history,
	&pc_cmd_report,
	&pc_cmd_watch,
	&pc_cmd_policy,
	NULL,
};
