/*
 * svg.c - the service-connection map of the html format, as an inline SVG
 * element: clients in a column on the left, servers on the right, one
 * arrow per service edge (src/inventory/edges.c) labelled with its number
 * of connections; a dashed arrow means the server side was guessed by the
 * port heuristic. An edge joined through NAT (basis conntrack) also says
 * where the client dialled, as the dot format does: "via 198.18.60.1:8080
 * (dnat)" at the middle of its arrow, and a tooltip (<title>) that adds
 * the namespace whose conntrack table translated it and, after SNAT, the
 * address the server saw.
 *
 * Why two columns rather than a force layout: it needs no iteration, is the
 * same for the same snapshot, and reads at once ("who talks to whom"). A
 * process that is both a client and a server appears once in each column.
 * Each column is capped at MAX_NODES so a busy host still gives a page a
 * browser can draw; the rest is counted in a note.
 *
 * Trust: a label is cut to LABEL bytes, cleaned and HTML-escaped
 * (pc_report_html_text), and lands only in <text> or <title>; attributes
 * hold only numbers and this file's own words.
 */
#include "report/document.h"
#include "report/edges.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NODES 150
#define LABEL 46 /* bytes per line of a node: fits the box at 12px */
#define BOX_W 360
#define BOX_H 40
#define ROW 52
#define TOP 44
#define WIDTH 1000
#define RIGHT_X (WIDTH - 20 - BOX_W)

struct node {
	char line1[LABEL + 1];
	char line2[LABEL + 1];
	size_t row; /* after sorting and de-duplication */
};

static void end_labels(const struct pc_edge_end *end, bool server, struct node *n)
{
	char raw[PC_DOC_CELL], hp[PC_ADDR_STRLEN + 16], ns[PC_DOC_LABEL];
	if (end->netns.name)
		snprintf(ns, sizeof(ns), "netns %s", end->netns.name);
	else if (end->netns.inode)
		snprintf(ns, sizeof(ns), "netns %llu", (unsigned long long)end->netns.inode);
	else
		snprintf(ns, sizeof(ns), "remote");
	if (end->local && end->n_owners) {
		const struct pc_owner *o = &end->owners[0];
		snprintf(raw, sizeof(raw), "%s (pid %d%s)", o->comm ? o->comm : "?", o->pid,
		         end->n_owners > 1 ? ", +more" : "");
	} else if (end->local) {
		snprintf(raw, sizeof(raw), "owner unknown");
	} else {
		pc_edge_end_label(end, raw, sizeof(raw));
	}
	/* the sanitizer cuts on a character boundary */
	pc_text_sanitize(raw, n->line1, sizeof(n->line1));
	if (server)
		snprintf(raw, sizeof(raw), "%s, %s",
		         pc_report_hostport(&end->addr, end->port, hp, sizeof(hp)), ns);
	else
		snprintf(raw, sizeof(raw), "%s", end->local ? ns : "remote client");
	pc_text_sanitize(raw, n->line2, sizeof(n->line2));
}

/* The front of an edge through NAT: the short label drawn on the arrow
 * (as dot.c words it) and the tooltip, both cleaned, to be HTML-escaped. */
static void via_labels(const struct pc_edge_via *via, char label[LABEL + 1], char *tip,
                       size_t tiplen)
{
	char front[PC_ADDR_STRLEN + 24], raw[PC_DOC_CELL], ns[PC_DOC_LABEL], seen[PC_ADDR_STRLEN];
	pc_report_edge_via(via, front, sizeof(front));
	snprintf(raw, sizeof(raw), "via %s", front);
	pc_text_sanitize(raw, label, LABEL + 1);
	if (via->netns.name)
		snprintf(ns, sizeof(ns), "netns %s", via->netns.name);
	else
		snprintf(ns, sizeof(ns), "netns %llu", (unsigned long long)via->netns.inode);
	if (via->source.family)
		snprintf(raw, sizeof(raw), "via %s, translated in %s; %s %s", front, ns,
		         "the server saw the client as",
		         pc_addr_format(&via->source, seen, sizeof(seen)));
	else
		snprintf(raw, sizeof(raw), "via %s, translated in %s", front, ns);
	pc_text_sanitize(raw, tip, tiplen);
}

static int cmp_node(const void *pa, const void *pb)
{
	const struct node *a = *(const struct node *const *)pa,
	                  *b = *(const struct node *const *)pb;
	int c = strcmp(a->line1, b->line1);
	return c ? c : strcmp(a->line2, b->line2);
}

/* Sort the column's nodes and give equal labels the same row. Returns the
 * number of rows. */
static size_t assign_rows(struct node *nodes, struct node **order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = &nodes[i];
	if (n > 1)
		qsort(order, n, sizeof(*order), cmp_node);
	size_t rows = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && cmp_node(&order[i - 1], &order[i]) != 0)
			rows++;
		order[i]->row = rows;
	}
	return n ? rows + 1 : 0;
}

static void draw_column(FILE *f, struct node **order, size_t n, int x, const char *cls)
{
	for (size_t i = 0; i < n; i++) {
		if ((i && order[i]->row == order[i - 1]->row) || order[i]->row >= MAX_NODES)
			continue;
		int y = TOP + (int)order[i]->row * ROW;
		fprintf(f,
		        "<g class=\"node %s\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
		        "rx=\"6\" fill=\"#eef3fb\" stroke=\"#7d93b5\"/>",
		        cls, x, y, BOX_W, BOX_H);
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-weight=\"600\">", x + 10,
		        y + 16);
		pc_report_html_text(f, order[i]->line1);
		fprintf(f, "</text><text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#5b6576\">",
		        x + 10, y + 32);
		pc_report_html_text(f, order[i]->line2);
		fputs("</text></g>\n", f);
	}
}

int pc_report_svg_map(FILE *f, const struct pc_snapshot *snap)
{
	struct pc_edges *edges = NULL;
	int r = pc_edges_build(snap, &edges, NULL);
	if (r < 0)
		return r;
	size_t n = edges->n_edges;
	if (!n) {
		fputs("<p class=\"muted\" id=\"map-empty\">No established TCP connection in this "
		      "snapshot (listeners --established or audit --established draw who talks "
		      "to whom).</p>\n",
		      f);
		pc_edges_free(edges);
		return 0;
	}
	struct node *nodes = calloc(2 * n, sizeof(*nodes)); /* [e] client, [n+e] server */
	struct node **order = calloc(2 * n, sizeof(*order));
	if (!nodes || !order) {
		free(nodes);
		free(order);
		pc_edges_free(edges);
		return PC_ENOMEM;
	}
	for (size_t e = 0; e < n; e++) {
		end_labels(&edges->edges[e].client, false, &nodes[e]);
		end_labels(&edges->edges[e].server, true, &nodes[n + e]);
	}
	size_t left = assign_rows(nodes, order, n);
	size_t right = assign_rows(nodes + n, order + n, n);
	size_t rows = left > right ? left : right;
	if (rows > MAX_NODES)
		rows = MAX_NODES;
	int height = TOP + (int)rows * ROW + 10;
	fprintf(f,
	        "<svg id=\"connections\" viewBox=\"0 0 %d %d\" "
	        "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"service connections\" "
	        "font-family=\"system-ui, sans-serif\">\n",
	        WIDTH, height, WIDTH, height);
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
	      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" "
	      "fill=\"#51607a\"/></marker></defs>\n",
	      f);
	fprintf(
	    f,
	    "<text x=\"20\" y=\"26\" font-size=\"13\" font-weight=\"700\">Clients (%zu)</text>"
	    "<text x=\"%d\" y=\"26\" font-size=\"13\" font-weight=\"700\">Servers (%zu)</text>\n",
	    left, RIGHT_X, right);
	size_t hidden = 0;
	for (size_t e = 0; e < n; e++) {
		const struct pc_edge *edge = &edges->edges[e];
		size_t a = nodes[e].row, b = nodes[n + e].row;
		if (a >= MAX_NODES || b >= MAX_NODES) {
			hidden++;
			continue;
		}
		int x1 = 20 + BOX_W, y1 = TOP + (int)a * ROW + BOX_H / 2;
		int x2 = RIGHT_X, y2 = TOP + (int)b * ROW + BOX_H / 2;
		double w = 1.5;
		for (size_t c = edge->count; c > 1 && w < 6.0; c /= 4)
			w += 1.0; /* thicker for busier edges, capped */
		bool nat = edge->via.kind != PC_VIA_NONE;
		fprintf(f,
		        "<path class=\"edge%s\" d=\"M%d,%d C%d,%d %d,%d %d,%d\" fill=\"none\" "
		        "stroke=\"#51607a\" stroke-width=\"%.1f\"%s marker-end=\"url(#arrow)\"",
		        nat ? " nat" : "", x1, y1, x1 + 110, y1, x2 - 110, y2, x2, y2, w,
		        edge->basis == PC_EDGE_HEURISTIC ? " stroke-dasharray=\"6 4\"" : "");
		if (nat) {
			char label[LABEL + 1], tip[PC_DOC_CELL];
			via_labels(&edge->via, label, tip, sizeof(tip));
			fputs("><title>", f);
			pc_report_html_text(f, tip);
			fputs("</title></path>", f);
			/* the middle of the curve (its control points are symmetric),
			 * just above it, where dot puts an edge's label; a white
			 * halo keeps it legible where other arrows cross */
			fprintf(f,
			        "<text class=\"via\" x=\"%d\" y=\"%d\" font-size=\"10\" "
			        "text-anchor=\"middle\" fill=\"#7a4b00\" stroke=\"#ffffff\" "
			        "stroke-width=\"3\" paint-order=\"stroke\">",
			        (x1 + x2) / 2, (y1 + y2) / 2 - 5);
			pc_report_html_text(f, label);
			fputs("</text>", f);
		} else {
			fputs("/>", f);
		}
		/* the count sits by the arrow head, where arrows no longer cross */
		fprintf(f,
		        "<text class=\"count\" x=\"%d\" y=\"%d\" font-size=\"11\" "
		        "text-anchor=\"middle\" fill=\"#1d2430\">%zu</text>\n",
		        x2 - 40, y2 - 7, edge->count);
	}
	draw_column(f, order, n, 20, "client");
	draw_column(f, order + n, n, RIGHT_X, "server");
	fputs("</svg>\n", f);
	fprintf(f,
	        "<p class=\"muted\">%zu service edge%s from %zu established connection%s; a "
	        "number is the connections on that edge; a dashed arrow means the server side "
	        "was guessed from the port numbers.",
	        n, n == 1 ? "" : "s", edges->stats.connections,
	        edges->stats.connections == 1 ? "" : "s");
	if (edges->stats.nat)
		fputs(" \"via\" names the front a client dialled when NAT took it to the server "
		      "(hover the arrow for the namespace that translated it).",
		      f);
	if (hidden || left > MAX_NODES || right > MAX_NODES)
		fprintf(f,
		        " Only the first %d nodes of each column are drawn; %zu edge%s not shown.",
		        MAX_NODES, hidden, hidden == 1 ? "" : "s");
	fputs("</p>\n", f);
	free(nodes);
	free(order);
	pc_edges_free(edges);
	return 0;
}
