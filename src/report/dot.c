/*
 * dot.c - the "dot" format: the service-connection map for Graphviz
 * (`portcensus connections --format dot | dot -Tsvg > map.svg`).
 *
 * Nodes are the parties, not the sockets: a local process (namespace, pid),
 * a local address whose owner is unknown, or a remote address. So a process
 * that serves and also connects elsewhere is one node with edges in and out.
 * Local nodes are drawn inside one cluster per network namespace. Each
 * service edge is one arrow client -> server, labelled with the server's
 * address:port and the number of connections (and, for a connection
 * through NAT, the front the client dialled: "via 198.18.60.1:8080
 * (dnat)"); a dashed arrow means the server side was guessed by the port
 * heuristic. A process of a container is named with the container and its
 * image: "podman:web (pcweb:2)".
 *
 * Node ids are generated (n0, n1, ...); every label is sanitised for the
 * terminal and then escaped for a DOT quoted string, so a process name
 * cannot break out of its label.
 */
#include "report/edges.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct node_ref {
	const struct pc_edge_end *end;
	int pid;     /* lowest owner pid of a local end, -1 when none */
	size_t edge; /* which edge */
	bool server;
	size_t id;   /* filled after sorting */
};

static int lowest_pid(const struct pc_edge_end *end)
{
	int pid = -1;
	if (!end->local)
		return -1;
	for (size_t i = 0; i < end->n_owners; i++)
		if (end->owners[i].pid > 0 && (pid < 0 || end->owners[i].pid < pid))
			pid = end->owners[i].pid;
	return pid;
}

/* local before remote, by namespace (so clusters come out whole), then pid,
 * then address for unowned and remote ends */
static int cmp_ref(const void *pa, const void *pb)
{
	const struct node_ref *a = pa, *b = pb;
	if (a->end->local != b->end->local)
		return a->end->local ? -1 : 1;
	if (a->end->netns.inode != b->end->netns.inode)
		return a->end->netns.inode < b->end->netns.inode ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->pid >= 0)
		return 0;
	return pc_addr_compare(&a->end->addr, &b->end->addr);
}

/* One DOT quoted string: the parts, each sanitised, joined by "\n". */
static void quoted(FILE *f, const char *const *parts, size_t n)
{
	fputc('"', f);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		char clean[256];
		if (!parts[i])
			continue;
		if (!first)
			fputs("\\n", f);
		first = false;
		pc_text_sanitize(parts[i], clean, sizeof(clean));
		for (const char *p = clean; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', f);
			fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void quoted1(FILE *f, const char *s)
{
	quoted(f, &s, 1);
}

static void write_node(FILE *f, const struct node_ref *r, const char *indent)
{
	const struct pc_edge_end *end = r->end;
	char addr[PC_ADDR_STRLEN], pid[40], extra[240];
	pc_addr_format(&end->addr, addr, sizeof(addr));
	fprintf(f, "%sn%zu [", indent, r->id);
	if (end->local && end->n_owners) {
		const struct pc_owner *o = &end->owners[0];
		const char *parts[3] = {o->comm ? o->comm : "?", pid, NULL};
		if (end->n_owners > 1)
			snprintf(pid, sizeof(pid), "pid %d (+%zu)", r->pid, end->n_owners - 1);
		else
			snprintf(pid, sizeof(pid), "pid %d", r->pid);
		if (o->container.id || o->container.name) {
			/* a name in full (64 at most), an id as docker shows it */
			int n = o->container.name ? 64 : 12;
			const char *img = o->container.image;
			snprintf(extra, sizeof(extra), "%s:%.*s%s%.128s%s",
				 o->container.runtime ? o->container.runtime : "container", n,
				 o->container.name ? o->container.name : o->container.id,
				 img ? " (" : "", img ? img : "", img ? ")" : "");
			parts[2] = extra;
		} else if (o->unit) {
			parts[2] = o->unit;
		}
		fputs("shape=box, label=", f);
		quoted(f, parts, 3);
	} else if (end->local) {
		const char *parts[2] = {addr, "owner unknown"};
		fputs("shape=box, style=dashed, label=", f);
		quoted(f, parts, 2);
	} else {
		fputs("shape=ellipse, label=", f);
		quoted1(f, addr);
	}
	fputs("];\n", f);
}

int pc_report_dot_edges(FILE *f, const struct pc_snapshot *snap, const struct pc_edges *edges)
{
	size_t n = edges->n_edges * 2;
	struct node_ref *refs = calloc(n ? n : 1, sizeof(*refs));
	size_t *ids = calloc(n ? n : 1, sizeof(*ids)); /* [2e] client, [2e+1] server */
	if (!refs || !ids) {
		free(refs);
		free(ids);
		return PC_ENOMEM;
	}
	for (size_t e = 0; e < edges->n_edges; e++) {
		for (int s = 0; s < 2; s++) {
			struct node_ref *r = &refs[2 * e + (size_t)s];
			r->end = s ? &edges->edges[e].server : &edges->edges[e].client;
			r->pid = lowest_pid(r->end);
			r->edge = e;
			r->server = s;
		}
	}
	if (n > 1)
		qsort(refs, n, sizeof(*refs), cmp_ref);
	size_t next_id = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && cmp_ref(&refs[i - 1], &refs[i]) != 0)
			next_id++;
		refs[i].id = next_id;
		ids[2 * refs[i].edge + (refs[i].server ? 1 : 0)] = next_id;
	}

	char t[40], title[512];
	pc_format_time(snap->finished_at_ms ? snap->finished_at_ms : snap->started_at_ms, t,
		       sizeof(t));
	snprintf(title, sizeof(title), "portcensus: service connections on %s, %s",
		 snap->host ? snap->host : "?", t);
	fputs("digraph portcensus {\n", f);
	fputs("\tgraph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, labelloc=t, label=", f);
	quoted1(f, title);
	fputs("];\n", f);
	fputs("\tnode [fontname=\"Helvetica\", fontsize=10];\n", f);
	fputs("\tedge [fontname=\"Helvetica\", fontsize=9];\n", f);
	if (edges->n_edges == 0)
		fputs("\tnone [shape=plaintext, label=\"no established TCP connections\"];\n", f);

	size_t cluster = 0;
	bool in_cluster = false;
	for (size_t i = 0; i < n; i++) {
		if (i && refs[i].id == refs[i - 1].id)
			continue; /* the node is written once */
		const struct pc_edge_end *end = refs[i].end;
		bool starts = end->local && (!in_cluster || refs[i - 1].end->netns.inode !=
								    end->netns.inode);
		if (in_cluster && (!end->local || starts)) {
			fputs("\t}\n", f);
			in_cluster = false;
		}
		if (starts) {
			char label[300];
			if (end->netns.name)
				snprintf(label, sizeof(label), "netns %s", end->netns.name);
			else
				snprintf(label, sizeof(label), "netns %llu",
					 (unsigned long long)end->netns.inode);
			fprintf(f, "\tsubgraph cluster_%zu {\n\t\tstyle=rounded;\n\t\tlabel=",
				cluster++);
			quoted1(f, label);
			fputs(";\n", f);
			in_cluster = true;
		}
		write_node(f, &refs[i], in_cluster ? "\t\t" : "\t");
	}
	if (in_cluster)
		fputs("\t}\n", f);

	for (size_t e = 0; e < edges->n_edges; e++) {
		const struct pc_edge *edge = &edges->edges[e];
		char hp[PC_ADDR_STRLEN + 16], count[48], via[PC_ADDR_STRLEN + 32];
		pc_report_hostport(&edge->server.addr, edge->server.port, hp, sizeof(hp));
		snprintf(count, sizeof(count), "%zu connection%s", edge->count,
			 edge->count == 1 ? "" : "s");
		const char *parts[3] = {NULL, hp, count};
		if (edge->via.kind != PC_VIA_NONE) {
			char v[PC_ADDR_STRLEN + 24];
			snprintf(via, sizeof(via), "via %s",
				 pc_report_edge_via(&edge->via, v, sizeof(v)));
			parts[0] = via;
		}
		fprintf(f, "\tn%zu -> n%zu [label=", ids[2 * e], ids[2 * e + 1]);
		quoted(f, parts, 3);
		if (edge->basis == PC_EDGE_HEURISTIC)
			fputs(", style=dashed", f);
		if (edge->count > 1) {
			/* thicker for busier edges, capped so a hot edge stays readable */
			double w = 1.0;
			for (size_t c = edge->count; c > 1 && w < 6.0; c /= 4)
				w += 1.0;
			fprintf(f, ", penwidth=%.0f", w);
		}
		fputs("];\n", f);
	}
	fputs("}\n", f);
	free(refs);
	free(ids);
	return 0;
}

static int write_dot(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		     bool streamed)
{
	(void)opts;
	(void)streamed;
	struct pc_edges *edges = NULL;
	int r = pc_edges_build(snap, &edges, NULL);
	if (r < 0)
		return r;
	r = pc_report_dot_edges(f, snap, edges);
	pc_edges_free(edges);
	return r;
}

const struct pc_report_ops pc_report_dot = {
	.name = "dot",
	.description = "Graphviz map of established service connections",
	.write = write_dot,
};
