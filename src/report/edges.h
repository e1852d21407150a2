/*
 * edges.h - writers for the service edges of `portcensus connections`
 * (docs/formats.md, "connections"): table, json, jsonl, csv and dot.
 *
 * The edge formats are not pc_report_ops entries, except dot: an edge list
 * is another document than an endpoint list, and `connections` is the only
 * command that prints it. The registry's "dot" format (dot.c) builds the
 * edges of any snapshot and draws them, so `listeners --established
 * --format dot` draws the same map.
 */
#ifndef PC_REPORT_EDGES_H
#define PC_REPORT_EDGES_H

#include "inventory/edges.h"
#include "report/report.h"

#include <stdbool.h>
#include <stdio.h>

/* Formats the edge writer knows: "table", "json", "jsonl", "csv", "dot". */
bool pc_report_edges_supports(const char *format);
/* Comma-separated list of them, for messages. */
const char *pc_report_edges_formats(void);

/* Write edges (built from snap) in format. 0, or PC_EINVAL for an unknown
 * format; I/O errors are the caller's ferror(). */
int pc_report_edges(FILE *f, const char *format, const struct pc_snapshot *snap,
		    const struct pc_edges *edges, const struct pc_report_opts *opts);

/* Text form of a via for display (table, dot): "198.18.60.1:8080 (dnat)",
 * "[fd00::1]:443 (redirect)", "-" for none. */
const char *pc_report_edge_via(const struct pc_edge_via *via, char *buf, size_t len);

/* The Graphviz document (dot.c). */
int pc_report_dot_edges(FILE *f, const struct pc_snapshot *snap, const struct pc_edges *edges);

#endif
