/*
 * syn_arp.c - on-link IPv4 hosts for the SYN engine: our own ARP, and the
 * per-sender table of hosts whose probes wait for (or use) the answer.
 *
 * Raw IP sockets leave next-hop resolution to the kernel, whose neighbour
 * table holds about a thousand entries (gc_thresh3) and frees them only
 * after seconds: a sweep of a large on-link range would find the table
 * full and lose its probes. So for targets on a directly connected
 * Ethernet we ask for the MAC ourselves (ARP request on the packet
 * socket, answer through the capture filter) and send the SYN as a frame
 * to that MAC; routed targets (one next hop, the gateway) and IPv6 stay
 * with the kernel.
 *
 * A request or its answer can be lost like any probe: on a loaded host
 * the softirq backlog (net.core.netdev_max_backlog) drops packets, and a
 * whole sweep's requests leave within a few hundred milliseconds. So
 * --retries applies to ARP as to SYNs: each try of a probe is worth one
 * resolution of ARP_TRIES requests, one per timeout, and only a host that
 * answers none of its ARP_TRIES x (1 + retries) requests is down: its
 * probes are reported filtered. They never vanish. Until then they wait
 * in the ring (tries 0: not sent, so not counted as sent); the SYN that
 * follows the answer is their first send, not a retry.
 */
#include "scan/syn_int.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static uint32_t ip_of(const struct pc_addr *a)
{
	uint32_t v;
	memcpy(&v, a->bytes, 4);
	return v;
}

static size_t neigh_home(uint32_t ip)
{
	uint32_t h = ip * 0x9e3779b1u;
	return (size_t)(h ^ (h >> 15)) & (NEIGH_SLOTS - 1);
}

/* The entry for a, or NULL. */
struct neigh *pc_syn_neigh_find(struct syn_worker *s, const struct pc_addr *a)
{
	if (!s->neigh)
		return NULL;
	uint32_t ip = ip_of(a);
	for (size_t i = neigh_home(ip); s->neigh[i].ip; i = (i + 1) & (NEIGH_SLOTS - 1))
		if (s->neigh[i].ip == ip)
			return &s->neigh[i];
	return NULL;
}

/* Take a reference on a's entry, making it (resolving) when absent: 0; 1
 * when the table holds as many hosts as it may (the probe waits); -1 when
 * we cannot track it (no memory, address 0): the kernel resolves it. */
int pc_syn_neigh_ref(struct syn_worker *s, const struct pc_addr *a)
{
	uint32_t ip = ip_of(a);
	if (ip == 0)
		return -1;
	if (!s->neigh) {
		s->neigh = calloc(NEIGH_SLOTS, sizeof(*s->neigh));
		if (!s->neigh)
			return -1;
	}
	size_t i = neigh_home(ip);
	for (; s->neigh[i].ip; i = (i + 1) & (NEIGH_SLOTS - 1)) {
		if (s->neigh[i].ip == ip) {
			s->neigh[i].refs++;
			return 0;
		}
	}
	if (s->n_neigh >= NEIGH_SLOTS / 2)
		return 1;
	struct neigh *n = &s->neigh[i];
	memset(n, 0, sizeof(*n));
	n->ip = ip;
	n->refs = 1;
	n->state = NEIGH_RESOLVING;
	s->n_neigh++;
	return 0;
}

/* Drop a reference; the entry leaves with its last probe (backward-shift
 * deletion keeps the probe chains whole). */
void pc_syn_neigh_unref(struct syn_worker *s, const struct pc_addr *a)
{
	struct neigh *n = pc_syn_neigh_find(s, a);
	if (!n || --n->refs > 0)
		return;
	size_t i = (size_t)(n - s->neigh), j = i;
	s->n_neigh--;
	for (;;) {
		memset(&s->neigh[i], 0, sizeof(s->neigh[i]));
		for (;;) {
			j = (j + 1) & (NEIGH_SLOTS - 1);
			if (!s->neigh[j].ip)
				return;
			size_t home = neigh_home(s->neigh[j].ip);
			bool stay = i <= j ? (i < home && home <= j) : (i < home || home <= j);
			if (!stay)
				break;
		}
		s->neigh[i] = s->neigh[j];
		i = j;
	}
}

/* Whether dst is on a directly connected Ethernet (then: its route). */
bool pc_syn_on_link(struct syn_worker *s, const struct pc_addr *dst, struct pc_route *ret_rt,
		    uint8_t ret_mac[6])
{
	return dst->family == AF_INET && pc_route_lookup(s->routes, dst, ret_rt) == 0 &&
	       ret_rt->gateway.family == 0 && ret_rt->oif > 0 &&
	       pc_route_link_mac(s->routes, ret_rt->oif, ret_mac) == 0;
}

void pc_syn_send_arp(struct syn_worker *s, int ifindex, const uint8_t our_mac[6],
		     const struct pc_addr *our_ip, const struct pc_addr *target)
{
	uint8_t req[PC_PACKET_ARP_LEN];
	if (!pc_packet_build_arp_request(req, sizeof(req), our_mac, our_ip, target))
		return;
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = ifindex;
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	/* a lost request is asked again after the timeout */
	(void)sendto(s->rx, req, sizeof(req), 0, (struct sockaddr *)&sll, sizeof(sll));
}

void pc_syn_handle_arp(struct syn_worker *s, const uint8_t *p, size_t n)
{
	struct pc_addr ip;
	uint8_t mac[6];
	if (pc_packet_parse_arp_reply(p, n, &ip, mac) < 0)
		return;
	/* only hosts we asked about: an unsolicited reply adds nothing */
	struct neigh *ne = pc_syn_neigh_find(s, &ip);
	if (!ne || ne->state != NEIGH_RESOLVING)
		return;
	memcpy(ne->mac, mac, 6);
	ne->state = NEIGH_RESOLVED;
}
