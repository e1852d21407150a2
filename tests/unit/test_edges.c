/*
 * test_edges.c - established sockets -> service edges, from hand-built
 * snapshots: counts, local and remote clients, both ends on the host (same
 * namespace and across namespaces) counted once, IPv6 and IPv4-mapped
 * addresses, no listener (the port heuristic); then the edge writers
 * (json, jsonl, table, dot) with hostile process names. Then connections
 * through NAT joined into one edge by the snapshot's conntrack entries
 * (rule 0): DNAT across namespaces, DNAT with masquerade, REDIRECT, SNAT
 * alone, IPv6 and IPv4-mapped ends; the joins that must not be made (a
 * client tuple two namespaces share, a missing half, a second entry for
 * halves already joined); random snapshots against the invariants; the
 * writers (json `via`, the table's VIA column, the dot label, a container
 * owner's name and image) with hostile names; and the cost on 100,000
 * connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inventory/conntrack.h"
#include "inventory/edges.h"
#include "report/edges.h"
#include "report/report.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define NS_A 4026531001u
#define NS_B 4026531002u
#define NS_C 4026531003u

static void owner(struct pc_snapshot *s, struct pc_endpoint *e, int pid, const char *comm)
{
	if (pid <= 0)
		return;
	e->owners = pc_snapshot_owners(s, 1);
	e->n_owners = 1;
	e->owners[0].pid = pid;
	e->owners[0].comm = pc_snapshot_strdup(s, comm);
}

static void listener(struct pc_snapshot *s, uint64_t ns, const char *addr, uint16_t port,
		     int pid, const char *comm)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	assert_non_null(e);
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_LISTEN;
	assert_int_equal(pc_addr_parse(addr, &e->addr), 0);
	e->port = port;
	e->netns.inode = ns;
	owner(s, e, pid, comm);
}

static void est(struct pc_snapshot *s, uint64_t ns, const char *local, uint16_t lport,
		const char *peer, uint16_t pport, int pid, const char *comm)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	assert_non_null(e);
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_ESTABLISHED;
	assert_int_equal(pc_addr_parse(local, &e->addr), 0);
	e->port = lport;
	e->has_peer = true;
	assert_int_equal(pc_addr_parse(peer, &e->peer_addr), 0);
	e->peer_port = pport;
	e->netns.inode = ns;
	owner(s, e, pid, comm);
}

static struct pc_edges *build(struct pc_snapshot *s)
{
	struct pc_edges *edges = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_edges_build(s, &edges, &err), 0);
	assert_non_null(edges);
	return edges;
}

static void assert_addr(const struct pc_addr *a, const char *want)
{
	char buf[PC_ADDR_STRLEN];
	assert_string_equal(pc_addr_format(a, buf, sizeof(buf)), want);
}

/* the edge whose server is port and whose client has this pid (or address) */
static const struct pc_edge *find(const struct pc_edges *edges, uint16_t port, int pid,
				  const char *client_addr)
{
	for (size_t i = 0; i < edges->n_edges; i++) {
		const struct pc_edge *e = &edges->edges[i];
		if (e->server.port != port)
			continue;
		if (pid > 0 && (!e->client.n_owners || e->client.owners[0].pid != pid))
			continue;
		if (client_addr) {
			char buf[PC_ADDR_STRLEN];
			if (strcmp(pc_addr_format(&e->client.addr, buf, sizeof(buf)), client_addr))
				continue;
		}
		return e;
	}
	return NULL;
}

/* Both ends in one namespace over loopback: one connection each, not two;
 * the server's owner is the listener's even when a worker holds the socket. */
static void test_same_namespace(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_A, "0.0.0.0", 80, 10, "nginx");
	for (uint16_t i = 0; i < 3; i++) {
		est(s, NS_A, "127.0.0.1", (uint16_t)(40000 + i), "127.0.0.1", 80, 20, "curl");
		est(s, NS_A, "127.0.0.1", 80, "127.0.0.1", (uint16_t)(40000 + i), 11, "nginx-worker");
	}
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 1);
	const struct pc_edge *e = &edges->edges[0];
	assert_int_equal(e->count, 3);
	assert_int_equal(e->basis, PC_EDGE_LISTENER);
	assert_true(e->client.local);
	assert_int_equal(e->client.netns.inode, NS_A);
	assert_int_equal(e->client.owners[0].pid, 20);
	assert_int_equal(e->client.port, 0);
	assert_true(e->server.local);
	assert_int_equal(e->server.port, 80);
	assert_addr(&e->server.addr, "127.0.0.1");
	assert_int_equal(e->server.n_owners, 1);
	assert_int_equal(e->server.owners[0].pid, 10);
	assert_int_equal(edges->stats.sockets, 6);
	assert_int_equal(edges->stats.connections, 3);
	assert_int_equal(edges->stats.paired, 3);
	assert_int_equal(edges->stats.heuristic, 0);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Clients that are not on this host are known by address; their ports are
 * ephemeral and do not split edges. */
static void test_remote_clients(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_B, "198.18.0.2", 5432, 30, "postgres");
	est(s, NS_B, "198.18.0.2", 5432, "198.18.0.9", 50001, 31, "postgres");
	est(s, NS_B, "198.18.0.2", 5432, "198.18.0.9", 50002, 32, "postgres");
	est(s, NS_B, "198.18.0.2", 5432, "198.18.0.10", 50001, 33, "postgres");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 2);
	const struct pc_edge *e9 = find(edges, 5432, 0, "198.18.0.9");
	const struct pc_edge *e10 = find(edges, 5432, 0, "198.18.0.10");
	assert_non_null(e9);
	assert_non_null(e10);
	assert_int_equal(e9->count, 2);
	assert_int_equal(e10->count, 1);
	assert_false(e9->client.local);
	assert_int_equal(e9->client.n_owners, 0);
	assert_int_equal(e9->client.netns.inode, 0);
	assert_true(e9->server.local);
	assert_int_equal(e9->server.netns.inode, NS_B);
	assert_int_equal(e9->server.owners[0].pid, 30);
	assert_int_equal(e9->basis, PC_EDGE_LISTENER);
	assert_int_equal(edges->stats.paired, 0);
	assert_int_equal(edges->stats.connections, 3);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* A local client of a server we cannot see: the port heuristic decides and
 * says so. */
static void test_remote_server(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	est(s, NS_A, "198.18.0.1", 45000, "198.18.5.5", 443, 40, "wget");
	est(s, NS_A, "198.18.0.1", 45001, "198.18.5.5", 443, 40, "wget");
	est(s, NS_A, "198.18.0.1", 45002, "198.18.5.5", 443, 41, "wget");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 2);
	const struct pc_edge *e = find(edges, 443, 40, NULL);
	assert_non_null(e);
	assert_int_equal(e->count, 2);
	assert_true(e->client.local);
	assert_false(e->server.local);
	assert_null(e->server.owners);
	assert_addr(&e->server.addr, "198.18.5.5");
	assert_int_equal(e->basis, PC_EDGE_HEURISTIC);
	assert_non_null(find(edges, 443, 41, NULL));
	assert_int_equal(edges->stats.heuristic, 3);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Client in one namespace, server in another, over a veth pair: one
 * connection joining both owners. */
static void test_cross_namespace(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_B, "0.0.0.0", 80, 50, "httpd");
	est(s, NS_A, "198.18.0.1", 41000, "198.18.0.2", 80, 60, "client");
	est(s, NS_B, "198.18.0.2", 80, "198.18.0.1", 41000, 50, "httpd");
	est(s, NS_A, "198.18.0.1", 41001, "198.18.0.2", 80, 60, "client");
	est(s, NS_B, "198.18.0.2", 80, "198.18.0.1", 41001, 50, "httpd");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 1);
	const struct pc_edge *e = &edges->edges[0];
	assert_int_equal(e->count, 2);
	assert_true(e->client.local);
	assert_int_equal(e->client.netns.inode, NS_A);
	assert_int_equal(e->client.owners[0].pid, 60);
	assert_int_equal(e->server.netns.inode, NS_B);
	assert_int_equal(e->server.owners[0].pid, 50);
	assert_int_equal(edges->stats.paired, 2);
	assert_int_equal(edges->stats.connections, 2);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* The same 4-tuple in two namespaces (copied address plans): joining
 * across namespaces would be a guess, so nothing is joined. */
static void test_cross_namespace_ambiguous(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_B, "0.0.0.0", 80, 50, "httpd");
	listener(s, NS_C, "0.0.0.0", 80, 70, "httpd");
	est(s, NS_A, "198.18.0.1", 41000, "198.18.0.2", 80, 60, "client");
	est(s, NS_B, "198.18.0.2", 80, "198.18.0.1", 41000, 50, "httpd");
	est(s, NS_C, "198.18.0.2", 80, "198.18.0.1", 41000, 70, "httpd");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->stats.paired, 0);
	assert_int_equal(edges->stats.connections, 3);
	assert_int_equal(edges->n_edges, 3);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; the client's
 * own socket is plain IPv4. Both are one connection, shown in IPv4. */
static void test_ipv6_and_mapped(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_B, "::", 8080, 80, "app");
	est(s, NS_B, "::ffff:198.18.0.2", 8080, "::ffff:198.18.0.1", 50000, 80, "app");
	est(s, NS_A, "198.18.0.1", 50000, "198.18.0.2", 8080, 81, "client");
	listener(s, NS_B, "fd00:198:18::2", 22, 90, "sshd");
	est(s, NS_B, "fd00:198:18::2", 22, "fd00:198:18::1", 51000, 91, "sshd");
	est(s, NS_A, "fd00:198:18::1", 51000, "fd00:198:18::2", 22, 92, "ssh");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 2);
	assert_int_equal(edges->stats.paired, 2);
	const struct pc_edge *e = find(edges, 8080, 81, NULL);
	assert_non_null(e);
	assert_addr(&e->server.addr, "198.18.0.2");
	assert_int_equal(e->server.addr.family, AF_INET);
	assert_int_equal(e->server.owners[0].pid, 80);
	e = find(edges, 22, 92, NULL);
	assert_non_null(e);
	assert_addr(&e->server.addr, "fd00:198:18::2");
	assert_addr(&e->client.addr, "fd00:198:18::1");
	assert_int_equal(e->server.owners[0].pid, 90);
	assert_int_equal(e->basis, PC_EDGE_LISTENER);
	char buf[80];
	assert_string_equal(pc_edge_end_label(&e->server, buf, sizeof(buf)), "[fd00:198:18::2]:22");
	assert_string_equal(pc_edge_end_label(&e->client, buf, sizeof(buf)), "92/ssh");
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* No listener anywhere: the well-known or non-ephemeral port serves. */
static void test_no_listener(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	/* server half of an ssh session whose listener we did not see */
	est(s, NS_A, "198.18.0.1", 22, "198.18.7.7", 50123, 100, "sshd");
	/* client half towards a redis elsewhere */
	est(s, NS_A, "198.18.0.1", 45000, "198.18.0.3", 6379, 101, "app");
	/* a listener on another address of the same port does not count */
	listener(s, NS_A, "198.18.0.99", 45000, 102, "other");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 2);
	const struct pc_edge *e = find(edges, 22, 0, "198.18.7.7");
	assert_non_null(e);
	assert_true(e->server.local);
	assert_false(e->client.local);
	assert_int_equal(e->server.owners[0].pid, 100);
	assert_int_equal(e->basis, PC_EDGE_HEURISTIC);
	e = find(edges, 6379, 101, NULL);
	assert_non_null(e);
	assert_false(e->server.local);
	assert_int_equal(e->basis, PC_EDGE_HEURISTIC);
	assert_int_equal(edges->stats.heuristic, 2);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Our peer listens here over loopback but its half is gone (it closed while
 * we read): the listener still names the server. */
static void test_loopback_half(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_A, "127.0.0.1", 40500, 110, "cache");
	est(s, NS_A, "127.0.0.1", 50500, "127.0.0.1", 40500, 111, "app");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 1);
	const struct pc_edge *e = &edges->edges[0];
	assert_int_equal(e->basis, PC_EDGE_LISTENER);
	assert_true(e->server.local);
	assert_int_equal(e->server.netns.inode, NS_A);
	assert_int_equal(e->server.port, 40500);
	assert_int_equal(e->server.owners[0].pid, 110);
	assert_int_equal(e->client.owners[0].pid, 111);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Unowned local clients aggregate by address; other processes and other
 * sources are kept apart or ignored. */
static void test_aggregation_keys(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_B, "198.18.0.2", 6379, 120, "redis");
	est(s, NS_A, "198.18.0.1", 40001, "198.18.0.2", 6379, 0, NULL);
	est(s, NS_A, "198.18.0.1", 40002, "198.18.0.2", 6379, 0, NULL);
	est(s, NS_A, "198.18.0.1", 40003, "198.18.0.2", 6379, 121, "worker");
	est(s, NS_A, "198.18.0.1", 40004, "198.18.0.2", 6379, 122, "worker");
	/* not host inventory, not TCP: ignored */
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_SCAN;
	e->state = PC_STATE_ESTABLISHED;
	e->has_peer = true;
	pc_addr_parse("198.18.0.1", &e->addr);
	pc_addr_parse("198.18.0.2", &e->peer_addr);
	e->port = 40009;
	e->peer_port = 6379;
	e = pc_snapshot_add_endpoint(s);
	e->proto = PC_PROTO_UDP;
	e->state = PC_STATE_ESTABLISHED;
	e->has_peer = true;
	pc_addr_parse("198.18.0.1", &e->addr);
	pc_addr_parse("198.18.0.2", &e->peer_addr);
	e->port = 40010;
	e->peer_port = 6379;
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->stats.sockets, 4);
	assert_int_equal(edges->n_edges, 3);
	size_t unowned = 0;
	for (size_t i = 0; i < edges->n_edges; i++) {
		const struct pc_edge *x = &edges->edges[i];
		/* the remote redis is not seen, so the heuristic decides */
		assert_false(x->server.local);
		assert_int_equal(x->server.port, 6379);
		if (x->client.n_owners == 0) {
			unowned++;
			assert_int_equal(x->count, 2);
		} else {
			assert_int_equal(x->count, 1);
		}
	}
	assert_int_equal(unowned, 1);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

static void test_empty(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_A, "0.0.0.0", 22, 1, "sshd");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 0);
	assert_int_equal(edges->stats.sockets, 0);
	pc_edges_free(edges);
	pc_edges_free(NULL);
	pc_snapshot_free(s);
}

static void test_server_port(void **state)
{
	(void)state;
	assert_int_equal(pc_edges_server_port(80, 40000), 80);
	assert_int_equal(pc_edges_server_port(40000, 80), 80);
	assert_int_equal(pc_edges_server_port(5432, 40000), 5432);
	assert_int_equal(pc_edges_server_port(40000, 5432), 5432);
	assert_int_equal(pc_edges_server_port(8080, 9090), 8080);
	assert_int_equal(pc_edges_server_port(1023, 1024), 1023);
	assert_int_equal(pc_edges_server_port(33000, 61000), 61000);
	assert_int_equal(pc_edges_server_port(443, 22), 22);
	assert_string_equal(pc_edge_basis_name(PC_EDGE_LISTENER), "listener");
	assert_string_equal(pc_edge_basis_name(PC_EDGE_HEURISTIC), "heuristic");
}

/* Random snapshots (fixed seed) with mirrors, duplicates across namespaces,
 * mapped addresses and listeners: whatever the input, every socket is in
 * exactly one connection, a pair is two sockets, and the counts add up. */
static void test_invariants(void **state)
{
	(void)state;
	unsigned seed = 12345;
	for (int round = 0; round < 200; round++) {
		struct pc_snapshot *s = pc_snapshot_new("test");
		int n = (int)(rand_r(&seed) % 60);
		for (int i = 0; i < n; i++) {
			uint64_t ns = NS_A + (uint64_t)(rand_r(&seed) % 3);
			char la[32], pa[32];
			bool mapped = rand_r(&seed) % 4 == 0;
			snprintf(la, sizeof(la), "%s198.18.0.%u", mapped ? "::ffff:" : "",
				 rand_r(&seed) % 3 + 1);
			snprintf(pa, sizeof(pa), "%s198.18.0.%u", mapped ? "::ffff:" : "",
				 rand_r(&seed) % 3 + 1);
			uint16_t lp = (uint16_t)(rand_r(&seed) % 2 ? 80 : 40000 + rand_r(&seed) % 4);
			uint16_t pp = (uint16_t)(rand_r(&seed) % 2 ? 80 : 40000 + rand_r(&seed) % 4);
			switch (rand_r(&seed) % 4) {
			case 0:
				listener(s, ns, rand_r(&seed) % 2 ? "0.0.0.0" : la, lp, i + 1, "l");
				break;
			case 1: /* both halves */
				est(s, ns, la, lp, pa, pp, i + 1, "a");
				est(s, rand_r(&seed) % 2 ? ns : NS_A, pa, pp, la, lp, i + 1000, "b");
				break;
			default:
				est(s, ns, la, lp, pa, pp, rand_r(&seed) % 2 ? i + 1 : 0, "c");
				break;
			}
		}
		size_t sockets = 0;
		for (size_t i = 0; i < s->n_endpoints; i++)
			sockets += s->endpoints[i].state == PC_STATE_ESTABLISHED;
		struct pc_edges *edges = build(s);
		assert_int_equal(edges->stats.sockets, sockets);
		assert_int_equal(edges->stats.connections, sockets - edges->stats.paired);
		size_t total = 0;
		for (size_t i = 0; i < edges->n_edges; i++) {
			const struct pc_edge *e = &edges->edges[i];
			assert_true(e->count >= 1);
			assert_int_equal(e->client.port, 0);
			assert_true(e->server.local || e->server.n_owners == 0);
			assert_true(e->client.local || e->client.n_owners == 0);
			assert_int_not_equal(e->server.addr.family, 0);
			total += e->count;
		}
		assert_int_equal(total, edges->stats.connections);
		assert_true(edges->stats.heuristic <= edges->stats.connections);
		pc_edges_free(edges);
		pc_snapshot_free(s);
	}
}

/* ---- writers ---- */

static struct pc_snapshot *hostile(void)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus connections");
	listener(s, NS_B, "0.0.0.0", 80, 50, "ht\"tp\\d\x1b[2J");
	est(s, NS_A, "198.18.0.1", 41000, "198.18.0.2", 80, 60, "cli\nent}");
	est(s, NS_B, "198.18.0.2", 80, "198.18.0.1", 41000, 50, "x");
	est(s, NS_B, "198.18.0.2", 80, "198.18.0.77", 41000, 50, "x");
	s->endpoints[1].netns.name = pc_snapshot_strdup(s, "lab\"a");
	pc_snapshot_warn(s, "cannot read /proc/1/fd: permission denied");
	pc_snapshot_finish(s);
	return s;
}

static char *render(const char *format, const struct pc_snapshot *s,
		    const struct pc_edges *edges)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	struct pc_report_opts ro = {.version = "0.test"};
	assert_true(pc_report_edges_supports(format));
	assert_int_equal(pc_report_edges(f, format, s, edges, &ro), 0);
	fclose(f);
	return out;
}

static void test_write_json(void **state)
{
	(void)state;
	struct pc_snapshot *s = hostile();
	struct pc_edges *edges = build(s);
	char *out = render("json", s, edges);
	assert_non_null(strstr(out, "\"portcensus\": \"0.test\""));
	assert_non_null(strstr(out, "\"edges\": ["));
	assert_non_null(strstr(out, "\"count\": 1"));
	assert_non_null(strstr(out, "\"basis\": \"listener\""));
	assert_non_null(strstr(out, "\"comm\": \"cli\\nent}\""));
	assert_non_null(strstr(out, "\"name\": \"lab\\\"a\""));
	assert_non_null(strstr(out, "\"address\": \"198.18.0.77\""));
	assert_non_null(strstr(out, "\"paired\": 1"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	out = render("jsonl", s, edges);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, edges->n_edges);
	assert_int_equal(out[0], '{');
	free(out);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

static void test_write_table(void **state)
{
	(void)state;
	struct pc_snapshot *s = hostile();
	struct pc_edges *edges = build(s);
	char *out = render("table", s, edges);
	assert_non_null(strstr(out, "CLIENT"));
	assert_non_null(strstr(out, "SERVER"));
	assert_non_null(strstr(out, "198.18.0.2:80"));
	assert_non_null(strstr(out, "warning: cannot read /proc/1/fd"));
	assert_non_null(strstr(out, "2 edges, 2 connections"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Quotes and backslashes escaped, no raw control byte, balanced braces
 * outside quoted strings. (Graphviz itself checks it in the lab test.) */
static void test_write_dot(void **state)
{
	(void)state;
	struct pc_snapshot *s = hostile();
	struct pc_edges *edges = build(s);
	char *out = render("dot", s, edges);
	assert_true(strncmp(out, "digraph", 7) == 0);
	assert_non_null(strstr(out, "->"));
	assert_null(strchr(out, '\x1b'));
	int depth = 0;
	bool quoted = false;
	for (const char *p = out; *p; p++) {
		if (quoted) {
			if (*p == '\\') {
				assert_true(p[1] == '"' || p[1] == '\\' || p[1] == 'n');
				p++;
			} else if (*p == '"') {
				quoted = false;
			} else {
				assert_true(*p != '\n');
			}
			continue;
		}
		if (*p == '"')
			quoted = true;
		else if (*p == '{')
			depth++;
		else if (*p == '}')
			assert_true(--depth >= 0);
	}
	assert_false(quoted);
	assert_int_equal(depth, 0);
	free(out);
	/* the registry's dot format builds the edges itself */
	const struct pc_report_ops *ops = pc_report_find("dot");
	assert_non_null(ops);
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct pc_report_opts ro = {.version = "0.test"};
	assert_int_equal(ops->write(f, s, &ro, false), 0);
	fclose(f);
	assert_non_null(strstr(out, "->"));
	free(out);
	assert_false(pc_report_edges_supports("nmap-xml"));
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* ---- through NAT: rule 0 (conntrack) ---- */

#define NS_CL 4026531011u /* the client's */
#define NS_GW 4026531012u /* the namespace that translates */
#define NS_BE 4026531013u /* the backend's */
#define NS_X 4026531014u  /* an unrelated one */

/* A conntrack entry of namespace ns: client csrc:csport dialled
 * front:fport; the server ssrc:ssport answers to cdst:cdport. */
static void nat(struct pc_snapshot *s, uint64_t ns, const char *csrc, uint16_t csport,
		const char *front, uint16_t fport, const char *ssrc, uint16_t ssport,
		const char *cdst, uint16_t cdport)
{
	struct pc_ct_entry e = {.l4proto = IPPROTO_TCP};
	assert_int_equal(pc_addr_parse(csrc, &e.orig_src), 0);
	assert_int_equal(pc_addr_parse(front, &e.orig_dst), 0);
	assert_int_equal(pc_addr_parse(ssrc, &e.reply_src), 0);
	assert_int_equal(pc_addr_parse(cdst, &e.reply_dst), 0);
	e.l3family = e.orig_src.family;
	e.orig_sport = csport;
	e.orig_dport = fport;
	e.reply_sport = ssport;
	e.reply_dport = cdport;
	struct pc_netns n = {.inode = ns, .name = ns == NS_GW ? "gw" : NULL};
	assert_int_equal(pc_conntrack_add(s, &n, &e), 1);
}

/* One connection through gw's NAT as the host holds it: curl's socket in
 * NS_CL (client:cport -> front:fport), the server's socket in sns
 * (server:sport -> seen:seen_port, the client as NAT left it) and gw's
 * conntrack entry. */
static void nat_conn(struct pc_snapshot *s, const char *client, uint16_t cport, const char *front,
		     uint16_t fport, uint64_t sns, const char *server, uint16_t sport,
		     const char *seen, uint16_t seen_port, int spid, const char *scomm)
{
	est(s, NS_CL, client, cport, front, fport, 20, "curl");
	est(s, sns, server, sport, seen, seen_port, spid, scomm);
	nat(s, NS_GW, client, cport, front, fport, server, sport, seen, seen_port);
}

/* The edges whose basis is conntrack. */
static size_t n_joined(const struct pc_edges *edges)
{
	size_t n = 0;
	for (size_t i = 0; i < edges->n_edges; i++)
		n += edges->edges[i].basis == PC_EDGE_CONNTRACK;
	return n;
}

/* cl -> gw 198.18.60.1:8080 -> DNAT -> be 198.18.61.2:80: three
 * connections are one edge from the client process to the backend's
 * listener (its owners, not the worker holding the socket); no halves. */
static void test_nat_dnat(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "0.0.0.0", 80, 10, "httpd");
	for (uint16_t i = 0; i < 3; i++) {
		uint16_t p = (uint16_t)(40000 + i);
		nat_conn(s, "198.18.60.2", p, "198.18.60.1", 8080, NS_BE, "198.18.61.2", 80,
			 "198.18.60.2", p, 11, "httpd-worker");
	}
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 1);
	const struct pc_edge *e = &edges->edges[0];
	assert_int_equal(e->count, 3);
	assert_int_equal(e->basis, PC_EDGE_CONNTRACK);
	assert_true(e->client.local);
	assert_int_equal(e->client.netns.inode, NS_CL);
	assert_int_equal(e->client.owners[0].pid, 20);
	assert_addr(&e->client.addr, "198.18.60.2");
	assert_true(e->server.local);
	assert_int_equal(e->server.netns.inode, NS_BE);
	assert_addr(&e->server.addr, "198.18.61.2");
	assert_int_equal(e->server.port, 80);
	assert_int_equal(e->server.owners[0].pid, 10);
	assert_int_equal(e->via.kind, PC_VIA_DNAT);
	assert_addr(&e->via.addr, "198.18.60.1");
	assert_int_equal(e->via.port, 8080);
	assert_int_equal(e->via.source.family, 0);
	assert_int_equal(e->via.netns.inode, NS_GW);
	assert_string_equal(e->via.netns.name, "gw");
	assert_int_equal(edges->stats.sockets, 6);
	assert_int_equal(edges->stats.connections, 3);
	assert_int_equal(edges->stats.paired, 3);
	assert_int_equal(edges->stats.nat, 3);
	assert_int_equal(edges->stats.nat_entries, 3);
	assert_int_equal(edges->stats.heuristic, 0);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Masquerade: the server sees gw's address; the edge keeps the real
 * client and says what the server saw. REDIRECT: the server is a socket of
 * the translating namespace. SNAT alone: the front is the server itself.
 * A direct connection beside them stays a listener edge with no via. */
static void test_nat_kinds(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "0.0.0.0", 81, 10, "app");
	listener(s, NS_GW, "0.0.0.0", 9090, 30, "proxy");
	listener(s, NS_BE, "198.18.61.2", 82, 40, "db");
	/* DNAT + masquerade */
	nat_conn(s, "198.18.60.2", 40001, "198.18.60.1", 8081, NS_BE, "198.18.61.2", 81,
		 "198.18.61.1", 50001, 10, "app");
	/* REDIRECT */
	nat_conn(s, "198.18.60.2", 40002, "198.18.60.1", 9000, NS_GW, "198.18.60.1", 9090,
		 "198.18.60.2", 40002, 30, "proxy");
	/* SNAT only (masquerade of routed traffic) */
	nat_conn(s, "198.18.60.2", 40003, "198.18.61.2", 82, NS_BE, "198.18.61.2", 82,
		 "198.18.61.1", 50003, 40, "db");
	/* direct, no entry */
	est(s, NS_CL, "198.18.61.3", 40004, "198.18.61.2", 82, 20, "curl");
	est(s, NS_BE, "198.18.61.2", 82, "198.18.61.3", 40004, 40, "db");
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 4);
	assert_int_equal(edges->stats.nat, 3);
	assert_int_equal(edges->stats.paired, 4);
	size_t seen = 0;
	for (size_t i = 0; i < edges->n_edges; i++) {
		const struct pc_edge *e = &edges->edges[i];
		assert_int_equal(e->count, 1);
		assert_int_equal(e->client.owners[0].pid, 20);
		if (e->server.port == 81) {
			assert_int_equal(e->via.kind, PC_VIA_DNAT);
			assert_int_equal(e->via.port, 8081);
			assert_addr(&e->via.source, "198.18.61.1");
			assert_addr(&e->client.addr, "198.18.60.2");
			seen |= 1;
		} else if (e->server.port == 9090) {
			assert_int_equal(e->via.kind, PC_VIA_REDIRECT);
			assert_int_equal(e->via.port, 9000);
			assert_int_equal(e->server.netns.inode, NS_GW);
			assert_int_equal(e->server.owners[0].pid, 30);
			seen |= 2;
		} else if (e->via.kind == PC_VIA_SNAT) {
			assert_int_equal(e->server.port, 82);
			assert_addr(&e->via.addr, "198.18.61.2");
			assert_int_equal(e->via.port, 82);
			assert_addr(&e->via.source, "198.18.61.1");
			assert_int_equal(e->basis, PC_EDGE_CONNTRACK);
			seen |= 4;
		} else {
			assert_int_equal(e->via.kind, PC_VIA_NONE);
			assert_int_equal(e->basis, PC_EDGE_LISTENER);
			assert_int_equal(e->server.port, 82);
			seen |= 8;
		}
	}
	assert_int_equal(seen, 15);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* IPv6 DNAT, and a backend listening on :: that sees an IPv4 client as
 * ::ffff:198.18.60.2 while conntrack speaks IPv4. */
static void test_nat_ipv6_and_mapped(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "::", 80, 10, "httpd");
	nat_conn(s, "fd00:198:18:60::2", 40000, "fd00:198:18:60::1", 8080, NS_BE,
		 "fd00:198:18:61::2", 80, "fd00:198:18:60::2", 40000, 10, "httpd");
	est(s, NS_CL, "198.18.60.2", 40001, "198.18.60.1", 8080, 20, "curl");
	est(s, NS_BE, "::ffff:198.18.61.2", 80, "::ffff:198.18.60.2", 40001, 10, "httpd");
	nat(s, NS_GW, "198.18.60.2", 40001, "198.18.60.1", 8080, "198.18.61.2", 80, "198.18.60.2",
	    40001);
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 2);
	assert_int_equal(n_joined(edges), 2);
	for (size_t i = 0; i < 2; i++) {
		const struct pc_edge *e = &edges->edges[i];
		assert_int_equal(e->server.owners[0].pid, 10);
		assert_int_equal(e->via.kind, PC_VIA_DNAT);
		assert_int_equal(e->via.addr.family, e->server.addr.family);
		if (e->server.addr.family == AF_INET)
			assert_addr(&e->server.addr, "198.18.61.2"); /* mapped shown as IPv4 */
		else
			assert_addr(&e->via.addr, "fd00:198:18:60::1");
	}
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Not joined: the client's tuple is held by two namespaces (a copied
 * address plan); the backend's tuple by two; the backend lives on another
 * host (no server half); the client lives on another host (no client
 * half). Each half then follows the socket rules, as before. */
static void test_nat_not_joined(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "0.0.0.0", 80, 10, "httpd");
	listener(s, NS_X, "198.18.60.1", 8080, 50, "other");
	/* 1. client tuple twice: cl's NATed one and X's direct one */
	nat_conn(s, "198.18.62.2", 40001, "198.18.60.1", 8080, NS_BE, "198.18.61.2", 80,
		 "198.18.62.2", 40001, 10, "httpd");
	est(s, NS_X + 1, "198.18.62.2", 40001, "198.18.60.1", 8080, 60, "curl2");
	est(s, NS_X, "198.18.60.1", 8080, "198.18.62.2", 40001, 50, "other");
	/* 2. server tuple twice */
	nat_conn(s, "198.18.60.2", 40002, "198.18.60.1", 8080, NS_BE, "198.18.61.2", 80,
		 "198.18.60.2", 40002, 10, "httpd");
	est(s, NS_X + 2, "198.18.61.2", 80, "198.18.60.2", 40002, 70, "copy");
	/* 3. backend elsewhere: only the client's half */
	est(s, NS_CL, "198.18.60.2", 40003, "198.18.60.1", 8090, 20, "curl");
	nat(s, NS_GW, "198.18.60.2", 40003, "198.18.60.1", 8090, "198.18.99.9", 80, "198.18.60.2",
	    40003);
	/* 4. client elsewhere: only the backend's half */
	est(s, NS_BE, "198.18.61.2", 80, "198.18.70.7", 40004, 10, "httpd");
	nat(s, NS_GW, "198.18.70.7", 40004, "198.18.60.1", 8080, "198.18.61.2", 80, "198.18.70.7",
	    40004);
	struct pc_edges *edges = build(s);
	assert_int_equal(n_joined(edges), 0);
	assert_int_equal(edges->stats.nat, 0);
	assert_int_equal(edges->stats.nat_entries, 4);
	for (size_t i = 0; i < edges->n_edges; i++)
		assert_int_equal(edges->edges[i].via.kind, PC_VIA_NONE);
	/* 9 sockets, none paired (the X pair's tuple is not unique either) */
	assert_int_equal(edges->stats.sockets, 9);
	assert_int_equal(edges->stats.paired, 0);
	assert_int_equal(edges->stats.connections, 9);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* The same connection in two tables (an entry repeated, or two zones):
 * joined once, counted once. */
static void test_nat_two_entries(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "0.0.0.0", 80, 10, "httpd");
	nat_conn(s, "198.18.60.2", 40000, "198.18.60.1", 8080, NS_BE, "198.18.61.2", 80,
		 "198.18.60.2", 40000, 10, "httpd");
	nat(s, NS_X, "198.18.60.2", 40000, "198.18.60.1", 8080, "198.18.61.2", 80, "198.18.60.2",
	    40000);
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 1);
	assert_int_equal(edges->edges[0].count, 1);
	assert_int_equal(edges->edges[0].via.netns.inode, NS_GW); /* the first holds */
	assert_int_equal(edges->stats.nat, 1);
	assert_int_equal(edges->stats.connections, 1);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Direct and NATed connections to one backend are two edges (the via is
 * part of the edge), and two fronts to one backend are two edges too. */
static void test_nat_aggregation(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "0.0.0.0", 80, 10, "httpd");
	est(s, NS_CL, "198.18.61.3", 40000, "198.18.61.2", 80, 20, "curl");
	est(s, NS_BE, "198.18.61.2", 80, "198.18.61.3", 40000, 10, "httpd");
	for (uint16_t i = 0; i < 2; i++) {
		uint16_t fport = (uint16_t)(8080 + i), p = (uint16_t)(40001 + i);
		nat_conn(s, "198.18.60.2", p, "198.18.60.1", fport, NS_BE, "198.18.61.2", 80,
			 "198.18.60.2", p, 10, "httpd");
	}
	struct pc_edges *edges = build(s);
	assert_int_equal(edges->n_edges, 3);
	/* sorted by server, then via (none first), then client */
	assert_int_equal(edges->edges[0].via.kind, PC_VIA_NONE);
	assert_int_equal(edges->edges[1].via.port, 8080);
	assert_int_equal(edges->edges[2].via.port, 8081);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* Random snapshots: whatever the entries say, every socket is in exactly
 * one connection, every connection in one edge, and a via only on a
 * conntrack edge. */
static void test_nat_invariants(void **state)
{
	(void)state;
	unsigned seed = 4242;
	static const char *const addrs[] = {"198.18.60.1", "198.18.60.2", "198.18.61.2",
					    "::ffff:198.18.60.2"};
	for (int round = 0; round < 300; round++) {
		struct pc_snapshot *s = pc_snapshot_new("test");
		int n = (int)(rand_r(&seed) % 40);
		for (int i = 0; i < n; i++) {
			uint64_t ns = NS_CL + (uint64_t)(rand_r(&seed) % 4);
			const char *a = addrs[rand_r(&seed) % 4], *b = addrs[rand_r(&seed) % 4];
			uint16_t pa = (uint16_t)(rand_r(&seed) % 2 ? 80 : 40000 + rand_r(&seed) % 3);
			uint16_t pb = (uint16_t)(rand_r(&seed) % 2 ? 8080 : 40000 + rand_r(&seed) % 3);
			switch (rand_r(&seed) % 4) {
			case 0:
				listener(s, ns, rand_r(&seed) % 2 ? "0.0.0.0" : a, pa, i + 1, "l");
				break;
			case 1:
				est(s, ns, a, pa, b, pb, i + 1, "c");
				break;
			default: {
				/* an entry with (some of) its halves */
				const char *c = addrs[rand_r(&seed) % 3];
				if (strchr(a, ':') || strchr(b, ':'))
					break;
				if (rand_r(&seed) % 4)
					est(s, ns, a, pa, b, pb, i + 1, "cl");
				if (rand_r(&seed) % 4)
					est(s, NS_BE, c, 80, a, pa, i + 100, "sv");
				nat(s, NS_GW, a, pa, b, pb, c, 80, a, pa);
				break;
			}
			}
		}
		size_t sockets = 0;
		for (size_t i = 0; i < s->n_endpoints; i++)
			sockets += s->endpoints[i].state == PC_STATE_ESTABLISHED;
		struct pc_edges *edges = build(s);
		assert_int_equal(edges->stats.sockets, sockets);
		assert_int_equal(edges->stats.connections, sockets - edges->stats.paired);
		assert_true(edges->stats.nat <= edges->stats.paired);
		size_t total = 0, nat_total = 0;
		for (size_t i = 0; i < edges->n_edges; i++) {
			const struct pc_edge *e = &edges->edges[i];
			assert_true(e->count >= 1);
			assert_int_equal(e->basis == PC_EDGE_CONNTRACK, e->via.kind != PC_VIA_NONE);
			if (e->basis == PC_EDGE_CONNTRACK) {
				assert_true(e->client.local && e->server.local);
				nat_total += e->count;
			}
			total += e->count;
		}
		assert_int_equal(total, edges->stats.connections);
		assert_int_equal(nat_total, edges->stats.nat);
		pc_edges_free(edges);
		pc_snapshot_free(s);
	}
}

/* O(n log n): 100,000 connections through NAT (200,000 sockets, 100,000
 * entries) next to 100,000 direct ones, built well within a second even
 * under ASan. The figure is printed for docs/benchmarks.md. */
static void test_nat_scale(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, NS_BE, "0.0.0.0", 80, 10, "httpd");
	char cl[32], sv[32];
	for (unsigned i = 0; i < 100000; i++) {
		uint16_t p = (uint16_t)(10000 + i % 50000);
		snprintf(cl, sizeof(cl), "198.18.%u.%u", 100 + i / 50000 / 250, 1 + (i / 50000) % 250);
		snprintf(sv, sizeof(sv), "198.19.%u.%u", (i / 250) % 250, 1 + i % 250);
		est(s, NS_CL, cl, p, "198.18.60.1", 8080, 20, "curl");
		est(s, NS_BE, "198.18.61.2", 80, cl, p, 10, "httpd");
		nat(s, NS_GW, cl, p, "198.18.60.1", 8080, "198.18.61.2", 80, cl, p);
		est(s, NS_X, sv, 5432, "198.18.62.2", p, 30, "pg");
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct pc_edges *edges = build(s);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	print_message("edges of 300,000 sockets and 100,000 NAT entries: %.0f ms\n", ms);
	assert_int_equal(edges->stats.nat, 100000);
	assert_int_equal(edges->stats.sockets, 300000);
	assert_true(ms < 5000);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* ---- writers ---- */

static struct pc_snapshot *nat_sample(void)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus connections");
	listener(s, NS_BE, "0.0.0.0", 80, 10, "ht\"tp\\d\x1b[2J");
	est(s, NS_CL, "198.18.60.2", 40000, "198.18.60.1", 8080, 20, "cli\nent}");
	est(s, NS_BE, "198.18.61.2", 80, "198.18.61.1", 40000, 10, "x"); /* masqueraded */
	struct pc_ct_entry e = {.l3family = AF_INET, .l4proto = IPPROTO_TCP};
	pc_addr_parse("198.18.60.2", &e.orig_src);
	pc_addr_parse("198.18.60.1", &e.orig_dst);
	pc_addr_parse("198.18.61.2", &e.reply_src);
	pc_addr_parse("198.18.61.1", &e.reply_dst);
	e.orig_sport = 40000;
	e.orig_dport = 8080;
	e.reply_sport = 80;
	e.reply_dport = 40000;
	struct pc_netns ns = {.inode = NS_GW, .name = pc_snapshot_strdup(s, "g\"w\x1b]0;x\a")};
	assert_int_equal(pc_conntrack_add(s, &ns, &e), 1);
	/* a direct edge beside it */
	est(s, NS_CL, "198.18.61.3", 40001, "198.18.61.2", 80, 20, "cli\nent}");
	est(s, NS_BE, "198.18.61.2", 80, "198.18.61.3", 40001, 10, "x");
	pc_snapshot_finish(s);
	return s;
}

static void test_nat_write_json(void **state)
{
	(void)state;
	struct pc_snapshot *s = nat_sample();
	struct pc_edges *edges = build(s);
	char *out = render("json", s, edges);
	assert_non_null(strstr(out, "\"via\": {\n"));
	assert_non_null(strstr(out, "\"kind\": \"dnat\""));
	assert_non_null(strstr(out, "\"address\": \"198.18.60.1\",\n"));
	assert_non_null(strstr(out, "\"port\": 8080"));
	assert_non_null(strstr(out, "\"source\": \"198.18.61.1\""));
	assert_non_null(strstr(out, "\"name\": \"g\\\"w"));
	assert_non_null(strstr(out, "\"via\": null"));
	assert_non_null(strstr(out, "\"basis\": \"conntrack\""));
	assert_non_null(strstr(out, "\"nat\": 1"));
	assert_non_null(strstr(out, "\"nat_entries\": 1"));
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\a'));
	free(out);
	out = render("jsonl", s, edges);
	assert_non_null(strstr(out, "\"via\":{\"kind\":\"dnat\""));
	assert_non_null(strstr(out, "\"via\":null"));
	free(out);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

static void test_nat_write_table(void **state)
{
	(void)state;
	struct pc_snapshot *s = nat_sample();
	struct pc_edges *edges = build(s);
	char *out = render("table", s, edges);
	assert_non_null(strstr(out, "VIA"));
	assert_non_null(strstr(out, "198.18.60.1:8080 (dnat)  198.18.61.2:80"));
	assert_non_null(strstr(out, "conntrack\n"));
	assert_non_null(
	    strstr(out, "2 edges, 2 connections (2 with both ends on this host, 1 through NAT, "
			"0 by port heuristic)\n"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

/* One row per edge, the via in four columns, hostile names sanitised and
 * quoted, a would-be formula defused. */
static void test_nat_write_csv(void **state)
{
	(void)state;
	struct pc_snapshot *s = nat_sample();
	s->endpoints[1].owners[0].comm = "=cmd|' /C calc'!A0";
	struct pc_edges *edges = build(s);
	char *out = render("csv", s, edges);
	assert_true(strncmp(out, "client_local,client_address,client_netns_inode,", 47) == 0);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1 + edges->n_edges);
	assert_non_null(strstr(out, ",dnat,198.18.60.1,8080,198.18.61.1,true,198.18.61.2,80,"));
	assert_non_null(strstr(out, ",,,,,true,198.18.61.2,80,")); /* the direct edge */
	assert_non_null(strstr(out, ",1,conntrack\n"));
	assert_non_null(strstr(out, ",\"'=cmd|' /C calc'!A0\","));
	assert_non_null(strstr(out, "\"ht\"\"tp\\d?[2J\""));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

static void test_nat_write_dot(void **state)
{
	(void)state;
	struct pc_snapshot *s = nat_sample();
	struct pc_edges *edges = build(s);
	char *out = render("dot", s, edges);
	assert_non_null(
	    strstr(out, "[label=\"via 198.18.60.1:8080 (dnat)\\n198.18.61.2:80\\n1 connection\""));
	/* the direct edge has no via line */
	assert_non_null(strstr(out, "[label=\"198.18.61.2:80\\n1 connection\""));
	assert_null(strchr(out, '\x1b'));
	free(out);
	/* a container owner is named with its image, sanitised and escaped */
	struct pc_owner *o = (struct pc_owner *)edges->edges[0].server.owners;
	o->container.runtime = "podman";
	o->container.id = "9491326133b3d1e2f3a4b5c6d7e8f9a0";
	o->container.name = "web";
	o->container.image = "pcweb:2\"\x1b[0m";
	out = render("dot", s, edges);
	assert_non_null(strstr(out, "\\npodman:web (pcweb:2\\\"?[0m)\"]"));
	o->container.name = NULL; /* no name: the id as docker shows it */
	o->container.image = NULL;
	free(out);
	out = render("dot", s, edges);
	assert_non_null(strstr(out, "\\npodman:9491326133b3\"]"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	pc_edges_free(edges);
	pc_snapshot_free(s);
}

static void test_nat_via_label(void **state)
{
	(void)state;
	struct pc_edge_via v = {.kind = PC_VIA_REDIRECT, .port = 443};
	char buf[80];
	pc_addr_parse("fd00:198:18::1", &v.addr);
	assert_string_equal(pc_report_edge_via(&v, buf, sizeof(buf)), "[fd00:198:18::1]:443 (redirect)");
	v.kind = PC_VIA_NONE;
	assert_string_equal(pc_report_edge_via(&v, buf, sizeof(buf)), "-");
	assert_null(pc_edge_via_name(PC_VIA_NONE));
	assert_string_equal(pc_edge_via_name(PC_VIA_SNAT), "snat");
	assert_string_equal(pc_edge_basis_name(PC_EDGE_CONNTRACK), "conntrack");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_namespace),
		cmocka_unit_test(test_remote_clients),
		cmocka_unit_test(test_remote_server),
		cmocka_unit_test(test_cross_namespace),
		cmocka_unit_test(test_cross_namespace_ambiguous),
		cmocka_unit_test(test_ipv6_and_mapped),
		cmocka_unit_test(test_no_listener),
		cmocka_unit_test(test_loopback_half),
		cmocka_unit_test(test_aggregation_keys),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_server_port),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_write_json),
		cmocka_unit_test(test_write_table),
		cmocka_unit_test(test_write_dot),
		cmocka_unit_test(test_nat_dnat),
		cmocka_unit_test(test_nat_kinds),
		cmocka_unit_test(test_nat_ipv6_and_mapped),
		cmocka_unit_test(test_nat_not_joined),
		cmocka_unit_test(test_nat_two_entries),
		cmocka_unit_test(test_nat_aggregation),
		cmocka_unit_test(test_nat_invariants),
		cmocka_unit_test(test_nat_scale),
		cmocka_unit_test(test_nat_write_json),
		cmocka_unit_test(test_nat_write_table),
		cmocka_unit_test(test_nat_write_csv),
		cmocka_unit_test(test_nat_write_dot),
		cmocka_unit_test(test_nat_via_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
