/*
 * edges.h - established TCP connections aggregated into service edges:
 * client -> server, with a count. Pure functions over a snapshot, so the
 * whole model is testable without a socket.
 *
 * Input: the HOST endpoints of a snapshot (the inventory run with
 * listeners=true and established=true) and its NAT'd connections from
 * conntrack (snap->nat_conns). Every established socket is a "half" of a
 * connection. The rules, in order:
 *
 * 0. Through NAT: a conntrack entry whose original tuple (client -> front)
 *    is the (local, peer) of exactly one half on the host, and whose reply
 *    tuple (backend -> client as translated) that of exactly one other
 *    half, joins the two into one connection: the original tuple's source
 *    is the client (conntrack saw who opened it), the other half the
 *    server, the edge says where the client dialled (`via`) and its basis
 *    is "conntrack". A tuple that two halves share (copied address plans
 *    in two namespaces) is not joined: the halves keep the rules below.
 * 1. Two halves are the same connection when one's (local, peer) is the
 *    other's (peer, local): in the same namespace always; across namespaces
 *    only when that 4-tuple is unique on the whole host in both directions
 *    (NAT or copied address plans make it ambiguous otherwise). A paired
 *    connection is counted once, never twice. IPv4-mapped IPv6 addresses
 *    compare equal to their IPv4 form.
 * 2. The server side is the half whose local port is a TCP listening port
 *    of its namespace (same address, or a listener bound to any address).
 *    For an unpaired half: its own local port listening makes it the server
 *    end; else the peer port listening in the same namespace, with a
 *    loopback peer, makes it the client of that local listener.
 * 3. When no listener decides (both or neither side listens), the port
 *    heuristic pc_edges_server_port() decides and the edge says so
 *    (basis "heuristic").
 * 4. Edges aggregate connections with the same client and server:
 *    - a local client is (namespace, first owner pid, address); with no
 *      owner known, (namespace, address);
 *    - a remote client is its address (its port is ephemeral, so not kept);
 *    - a server is (namespace when local, address, port); its owners are
 *      the listener's, or the server half's when no listener matched.
 *
 * The edge set points into the snapshot (owners, names): free the edges
 * before the snapshot.
 */
#ifndef PC_INVENTORY_EDGES_H
#define PC_INVENTORY_EDGES_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_edge_basis {
	PC_EDGE_LISTENER = 0, /* a listening socket says which side serves */
	PC_EDGE_HEURISTIC,    /* decided by pc_edges_server_port() */
	PC_EDGE_CONNTRACK,    /* joined through NAT by a conntrack entry (rule 0) */
};

enum pc_edge_via_kind {
	PC_VIA_NONE = 0,  /* a direct edge */
	PC_VIA_DNAT,      /* the destination was rewritten to another namespace or host */
	PC_VIA_REDIRECT,  /* ... to a socket of the namespace that rewrote it */
	PC_VIA_SNAT,      /* only the source was rewritten (SNAT, masquerade) */
};

/* How a joined connection got from its client to its server. */
struct pc_edge_via {
	enum pc_edge_via_kind kind;
	struct pc_addr addr;   /* the front: what the client dialled */
	uint16_t port;
	struct pc_addr source; /* the client as the server saw it when SNAT
				* rewrote it; family 0 when not rewritten */
	struct pc_netns netns; /* the namespace whose conntrack table translated */
};

struct pc_edge_end {
	bool local;            /* a socket of this host (a namespace we read) */
	struct pc_addr addr;   /* IPv4-mapped forms are shown as IPv4 */
	uint16_t port;         /* server: its port; client: 0 (ephemeral) */
	struct pc_netns netns; /* {0, NULL} when not local */
	const struct pc_owner *owners; /* into the snapshot; NULL when none */
	size_t n_owners;
};

struct pc_edge {
	struct pc_edge_end client;
	struct pc_edge_end server;
	struct pc_edge_via via; /* kind PC_VIA_NONE for a direct edge */
	size_t count; /* connections aggregated into this edge */
	enum pc_edge_basis basis; /* heuristic when any of them was guessed */
};

struct pc_edge_stats {
	size_t sockets;     /* established TCP sockets read */
	size_t connections; /* connections after pairing (sockets - pairs) */
	size_t paired;      /* connections with both ends on this host */
	size_t heuristic;   /* connections whose server side was guessed */
	size_t nat;         /* connections joined through conntrack (rule 0) */
	size_t nat_entries; /* NAT'd TCP conntrack entries read (snap->n_nat_conns) */
};

struct pc_edges {
	struct pc_edge *edges; /* sorted: server (netns, address, port), then client */
	size_t n_edges;
	struct pc_edge_stats stats;
};

/*
 * Build the edges of snap. 0, or PC_ENOMEM (err filled). *ret_edges is
 * only written on success; free with pc_edges_free().
 */
int pc_edges_build(const struct pc_snapshot *snap, struct pc_edges **ret_edges,
		   struct pc_error *err);
void pc_edges_free(struct pc_edges *edges);

/*
 * The port heuristic, for a connection between two ports neither (or both)
 * of which is known to listen: returns the port that is taken for the
 * server's. In order: a port below 1024 (well known) against one that is
 * not; a port outside the default ephemeral range 32768-60999 against one
 * inside it; otherwise the lower port.
 */
uint16_t pc_edges_server_port(uint16_t a, uint16_t b);

/* Name of a basis: "listener", "heuristic", "conntrack". */
const char *pc_edge_basis_name(enum pc_edge_basis b);

/* Name of a via kind: "dnat", "redirect", "snat" (NULL for none). */
const char *pc_edge_via_name(enum pc_edge_via_kind k);

/* Stable text form of an end for display: "pid/comm" for an owned local
 * end, else its address ("[v6]:port" / "v4:port" for a server). */
const char *pc_edge_end_label(const struct pc_edge_end *end, char *buf, size_t len);

#endif
