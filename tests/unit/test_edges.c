/*
 * test_edges.c - established sockets -> service edges, from hand-built
 * snapshots: counts, local and remote clients, both ends on the host (same
 * namespace and across namespaces) counted once, IPv6 and IPv4-mapped
 * addresses, no listener (the port heuristic); then the edge writers
 * (json, jsonl, table, dot) with hostile process names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inventory/edges.h"
#include "report/edges.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
	assert_false(pc_report_edges_supports("csv"));
	pc_edges_free(edges);
	pc_snapshot_free(s);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
