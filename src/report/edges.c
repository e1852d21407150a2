/*
 * edges.c - the table, json, jsonl and csv writers of `portcensus
 * connections` (dot lives in dot.c). The JSON shape is documented in docs/formats.md;
 * the owner and endpoint objects are the ones of the endpoint contract, so a
 * consumer parses one kind of owner everywhere.
 *
 * Every table cell goes through pc_text_sanitize(); every JSON string
 * through the JSON escaper: process names are hostile input.
 */
#include "report/edges.h"

#include <string.h>
#include <sys/socket.h>

static const char *const formats[] = {"table", "json", "jsonl", "csv", "dot", NULL};

bool pc_report_edges_supports(const char *format)
{
	for (size_t i = 0; formats[i]; i++)
		if (strcmp(formats[i], format) == 0)
			return true;
	return false;
}

const char *pc_report_edges_formats(void)
{
	return "table, json, jsonl, csv, dot";
}

static void json_end(struct pc_json *j, const struct pc_edge_end *end, bool server)
{
	char a[PC_ADDR_STRLEN];
	pc_json_begin_object(j);
	pc_json_key(j, "local");
	pc_json_bool(j, end->local);
	pc_json_key(j, "address");
	if (end->addr.family)
		pc_json_string(j, pc_addr_format(&end->addr, a, sizeof(a)));
	else
		pc_json_null(j);
	if (server) {
		pc_json_key(j, "port");
		pc_json_uint(j, end->port);
	}
	pc_json_key(j, "netns");
	pc_report_json_netns(j, &end->netns);
	pc_json_key(j, "owners");
	pc_json_begin_array(j);
	for (size_t i = 0; i < end->n_owners; i++)
		pc_report_json_owner(j, &end->owners[i]);
	pc_json_end_array(j);
	pc_json_end_object(j);
}

const char *pc_report_edge_via(const struct pc_edge_via *via, char *buf, size_t len)
{
	const char *kind = pc_edge_via_name(via->kind);
	if (!kind) {
		snprintf(buf, len, "-");
		return buf;
	}
	char hp[PC_ADDR_STRLEN + 8];
	snprintf(buf, len, "%s (%s)", pc_report_hostport(&via->addr, via->port, hp, sizeof(hp)),
		 kind);
	return buf;
}

/* null for a direct edge; else how NAT took the client to the server */
static void json_via(struct pc_json *j, const struct pc_edge_via *via)
{
	const char *kind = pc_edge_via_name(via->kind);
	if (!kind) {
		pc_json_null(j);
		return;
	}
	char a[PC_ADDR_STRLEN];
	pc_json_begin_object(j);
	pc_json_key(j, "kind");
	pc_json_string(j, kind);
	pc_json_key(j, "address");
	pc_json_string(j, pc_addr_format(&via->addr, a, sizeof(a)));
	pc_json_key(j, "port");
	pc_json_uint(j, via->port);
	pc_json_key(j, "source");
	if (via->source.family)
		pc_json_string(j, pc_addr_format(&via->source, a, sizeof(a)));
	else
		pc_json_null(j);
	pc_json_key(j, "netns");
	pc_report_json_netns(j, &via->netns);
	pc_json_end_object(j);
}

static void json_edge(struct pc_json *j, const struct pc_edge *e)
{
	pc_json_begin_object(j);
	pc_json_key(j, "client");
	json_end(j, &e->client, false);
	pc_json_key(j, "via");
	json_via(j, &e->via);
	pc_json_key(j, "server");
	json_end(j, &e->server, true);
	pc_json_key(j, "count");
	pc_json_uint(j, e->count);
	pc_json_key(j, "basis");
	pc_json_string(j, pc_edge_basis_name(e->basis));
	pc_json_end_object(j);
}

static bool same_server(const struct pc_edge_end *a, const struct pc_edge_end *b)
{
	return a->local == b->local && a->netns.inode == b->netns.inode && a->port == b->port &&
	       pc_addr_equal(&a->addr, &b->addr);
}

static int write_json(FILE *f, const struct pc_snapshot *snap, const struct pc_edges *edges,
		      const struct pc_report_opts *opts)
{
	struct pc_json j;
	pc_report_json_begin(&j, f, opts->version, snap);
	pc_json_key(&j, "edges");
	pc_json_begin_array(&j);
	size_t servers = 0;
	for (size_t i = 0; i < edges->n_edges; i++) {
		json_edge(&j, &edges->edges[i]);
		/* edges are sorted by server first */
		if (i == 0 || !same_server(&edges->edges[i - 1].server, &edges->edges[i].server))
			servers++;
	}
	pc_json_end_array(&j);
	/* the established sockets themselves, as in `listeners --established` */
	pc_json_key(&j, "endpoints");
	pc_json_begin_array(&j);
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &snap->endpoints[i];
		if (e->source == PC_SOURCE_HOST && e->proto == PC_PROTO_TCP &&
		    e->state == PC_STATE_ESTABLISHED && e->has_peer)
			pc_report_json_endpoint(&j, e);
	}
	pc_json_end_array(&j);
	pc_json_key(&j, "summary");
	pc_json_begin_object(&j);
	pc_json_key(&j, "edges");
	pc_json_uint(&j, edges->n_edges);
	pc_json_key(&j, "servers");
	pc_json_uint(&j, servers);
	pc_json_key(&j, "sockets");
	pc_json_uint(&j, edges->stats.sockets);
	pc_json_key(&j, "connections");
	pc_json_uint(&j, edges->stats.connections);
	pc_json_key(&j, "paired");
	pc_json_uint(&j, edges->stats.paired);
	pc_json_key(&j, "heuristic");
	pc_json_uint(&j, edges->stats.heuristic);
	pc_json_key(&j, "nat");
	pc_json_uint(&j, edges->stats.nat);
	pc_json_key(&j, "nat_entries");
	pc_json_uint(&j, edges->stats.nat_entries);
	pc_json_key(&j, "warnings");
	pc_json_uint(&j, snap->n_warnings);
	pc_json_end_object(&j);
	pc_json_end_object(&j);
	fputc('\n', f);
	return 0;
}

static int write_jsonl(FILE *f, const struct pc_edges *edges)
{
	for (size_t i = 0; i < edges->n_edges; i++) {
		struct pc_json j;
		pc_json_init(&j, f, false);
		json_edge(&j, &edges->edges[i]);
		fputc('\n', f);
	}
	return 0;
}

/* ---- csv: one row per edge, the first owner of each end ---- */

static void csv_end(FILE *f, const struct pc_edge_end *end, bool server)
{
	char a[PC_ADDR_STRLEN], num[24], ino[24], pid[16];
	const struct pc_owner *o = end->n_owners ? &end->owners[0] : NULL;
	pc_report_csv_field(f, end->local ? "true" : "false", false);
	pc_report_csv_field(f, end->addr.family ? pc_addr_format(&end->addr, a, sizeof(a)) : NULL,
			    false);
	if (server) {
		snprintf(num, sizeof(num), "%u", (unsigned)end->port);
		pc_report_csv_field(f, num, false);
	}
	snprintf(ino, sizeof(ino), "%llu", (unsigned long long)end->netns.inode);
	pc_report_csv_field(f, end->local ? ino : NULL, false);
	pc_report_csv_field(f, end->netns.name, false);
	snprintf(pid, sizeof(pid), "%d", o ? o->pid : 0);
	pc_report_csv_field(f, o ? pid : NULL, false);
	pc_report_csv_field(f, o ? o->comm : NULL, false);
	pc_report_csv_field(f, o ? o->container.name : NULL, false);
	pc_report_csv_field(f, o ? o->container.image : NULL, false);
}

static int write_csv(FILE *f, const struct pc_edges *edges)
{
	fputs("client_local,client_address,client_netns_inode,client_netns_name,client_pid,"
	      "client_comm,client_container_name,client_container_image,via_kind,via_address,"
	      "via_port,via_source,server_local,server_address,server_port,server_netns_inode,"
	      "server_netns_name,server_pid,server_comm,server_container_name,"
	      "server_container_image,count,basis\n",
	      f);
	for (size_t i = 0; i < edges->n_edges; i++) {
		const struct pc_edge *e = &edges->edges[i];
		char a[PC_ADDR_STRLEN], s[PC_ADDR_STRLEN], port[8], count[24];
		bool via = e->via.kind != PC_VIA_NONE;
		csv_end(f, &e->client, false);
		pc_report_csv_field(f, pc_edge_via_name(e->via.kind), false);
		pc_report_csv_field(f, via ? pc_addr_format(&e->via.addr, a, sizeof(a)) : NULL, false);
		snprintf(port, sizeof(port), "%u", (unsigned)e->via.port);
		pc_report_csv_field(f, via ? port : NULL, false);
		pc_report_csv_field(
		    f, e->via.source.family ? pc_addr_format(&e->via.source, s, sizeof(s)) : NULL,
		    false);
		csv_end(f, &e->server, true);
		snprintf(count, sizeof(count), "%zu", e->count);
		pc_report_csv_field(f, count, false);
		pc_report_csv_field(f, pc_edge_basis_name(e->basis), true);
	}
	return 0;
}

/* ---- table ---- */

enum { COL_CLIENT, COL_CLIENT_NS, COL_VIA, COL_SERVER, COL_SERVER_NS, COL_OWNER, COL_COUNT,
       COL_BASIS, NCOL };
static const char *const headers[NCOL] = {"CLIENT", "CLIENT NETNS", "VIA", "SERVER",
					  "SERVER NETNS", "SERVER OWNER", "COUNT", "BASIS"};
#define CELL 200

static void owner_cell(const struct pc_edge_end *end, char *b, size_t n)
{
	if (!end->n_owners) {
		snprintf(b, n, "-");
		return;
	}
	const struct pc_owner *o = &end->owners[0];
	if (end->n_owners > 1)
		snprintf(b, n, "%d/%s (+%zu)", o->pid, o->comm ? o->comm : "?", end->n_owners - 1);
	else
		snprintf(b, n, "%d/%s", o->pid, o->comm ? o->comm : "?");
}

static void netns_cell(const struct pc_edge_end *end, char *b, size_t n)
{
	if (!end->local)
		snprintf(b, n, "-");
	else if (end->netns.name)
		snprintf(b, n, "%s", end->netns.name);
	else if (end->netns.inode)
		snprintf(b, n, "%llu", (unsigned long long)end->netns.inode);
	else
		snprintf(b, n, "-");
}

static void cell(const struct pc_edge *e, int col, char *out, size_t len)
{
	char raw[CELL], o[CELL / 2], a[PC_ADDR_STRLEN];
	switch (col) {
	case COL_CLIENT:
		pc_addr_format(&e->client.addr, a, sizeof(a));
		if (e->client.local && e->client.n_owners) {
			owner_cell(&e->client, o, sizeof(o));
			snprintf(raw, sizeof(raw), "%s %s", o, a);
		} else {
			snprintf(raw, sizeof(raw), "%s", a);
		}
		break;
	case COL_CLIENT_NS:
		netns_cell(&e->client, raw, sizeof(raw));
		break;
	case COL_VIA:
		pc_report_edge_via(&e->via, raw, sizeof(raw));
		break;
	case COL_SERVER:
		pc_report_hostport(&e->server.addr, e->server.port, raw, sizeof(raw));
		break;
	case COL_SERVER_NS:
		netns_cell(&e->server, raw, sizeof(raw));
		break;
	case COL_OWNER:
		owner_cell(&e->server, raw, sizeof(raw));
		break;
	case COL_COUNT:
		snprintf(raw, sizeof(raw), "%zu", e->count);
		break;
	default:
		snprintf(raw, sizeof(raw), "%s", pc_edge_basis_name(e->basis));
		break;
	}
	pc_text_sanitize(raw, out, len);
}

static int write_table(FILE *f, const struct pc_snapshot *snap, const struct pc_edges *edges)
{
	size_t width[NCOL];
	char buf[CELL];
	for (int c = 0; c < NCOL; c++)
		width[c] = strlen(headers[c]);
	for (size_t i = 0; i < edges->n_edges; i++)
		for (int c = 0; c < NCOL; c++) {
			cell(&edges->edges[i], c, buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	for (int c = 0; c < NCOL; c++) {
		if (c == NCOL - 1)
			fprintf(f, "%s\n", headers[c]);
		else
			fprintf(f, "%-*s  ", (int)width[c], headers[c]);
	}
	for (size_t i = 0; i < edges->n_edges; i++)
		for (int c = 0; c < NCOL; c++) {
			cell(&edges->edges[i], c, buf, sizeof(buf));
			if (c == NCOL - 1)
				fprintf(f, "%s\n", buf);
			else
				fprintf(f, "%-*s  ", (int)width[c], buf);
		}
	for (size_t i = 0; i < snap->n_warnings; i++) {
		char w[1024];
		fprintf(f, "warning: %s\n", pc_text_sanitize(snap->warnings[i], w, sizeof(w)));
	}
	const struct pc_edge_stats *st = &edges->stats;
	fprintf(f, "%zu edge%s, %zu connection%s (%zu with both ends on this host, %zu through "
		   "NAT, %zu by port heuristic)\n",
		edges->n_edges, edges->n_edges == 1 ? "" : "s", st->connections,
		st->connections == 1 ? "" : "s", st->paired, st->nat, st->heuristic);
	return 0;
}

int pc_report_edges(FILE *f, const char *format, const struct pc_snapshot *snap,
		    const struct pc_edges *edges, const struct pc_report_opts *opts)
{
	if (strcmp(format, "table") == 0)
		return write_table(f, snap, edges);
	if (strcmp(format, "json") == 0)
		return write_json(f, snap, edges, opts);
	if (strcmp(format, "jsonl") == 0)
		return write_jsonl(f, edges);
	if (strcmp(format, "csv") == 0)
		return write_csv(f, edges);
	if (strcmp(format, "dot") == 0)
		return pc_report_dot_edges(f, snap, edges);
	return PC_EINVAL;
}
