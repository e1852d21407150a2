/*
 * syn.c - the SYN scan engine (CAP_NET_RAW): half-open TCP probes sent in
 * batches through raw IP sockets, replies captured on an AF_PACKET socket
 * behind a kernel BPF filter and validated statelessly with a SYN cookie.
 *
 * Why raw IP sockets for sending rather than hand-built Ethernet frames on
 * AF_PACKET: the kernel then routes each packet, picks the interface and
 * resolves the next hop's MAC itself (ARP/NDP, with its own queue while it
 * resolves), so there is no second copy of the route and neighbour tables
 * to get wrong; only the source address is asked of the kernel (route.c).
 * On this machine the raw path reaches the same rate as AF_PACKET
 * (docs/bench-scan.md): the target's kernel, not the send path, is the limit.
 * One exception: IPv4 targets on a directly connected Ethernet. The
 * kernel's neighbour table holds about a thousand hosts, so a large
 * on-link sweep would lose probes; those hosts are resolved by our own ARP
 * and their SYNs go out as frames to the resolved MAC on the packet socket
 * (see "on-link IPv4 hosts" below).
 *
 * Why AF_PACKET for receiving: one socket sees TCP and ICMP for IPv4 and
 * IPv6, a classic BPF program keeps everything but replies to our source
 * port range (and ICMP errors) in the kernel, and PACKET_STATISTICS counts
 * what the socket dropped, so capture drops are reported, not silent.
 *
 * Which probes are unanswered: every probe sits in an in-flight ring
 * (inflight.h) from its send until its deadline; a reply marks it done; a
 * probe reaching the head of the ring unanswered is sent again (up to
 * --retries more times) or, on its last try, reported filtered. Memory is
 * O(rate x timeout), whatever the size of the target set.
 *
 * Senders: above 30,000 probes/s one sender per CPU (at most 4), each with
 * its own sockets, its own block of 64 source ports (so its capture filter
 * only passes replies to its own probes) and its own ring; they share the
 * scan context, whose calls are thread-safe. Over a veth pair, or to any
 * target on our CPUs, the target's kernel answers inside the sender's
 * softirq, and a second sender is what lifts the rate.
 *
 * Per-host cap (--host-inflight): a host never has more unanswered probes
 * than the cap (split between senders); a probe for a full host is parked
 * (up to 1,024) while later probes for other hosts go on.
 *
 * Our own kernel sees the SYN-ACKs too and, since no socket of ours owns the
 * source port, answers them with an RST. That is harmless for a SYN scan
 * (the target just drops its half-open connection; the reply was already
 * captured) and we do not touch the firewall of the scanning host to stop
 * it. The source ports are chosen outside ip_local_port_range, so no
 * connection of this host can share their 4-tuples.
 */
#include "scan/cookie.h"
#include "scan/inflight.h"
#include "scan/packet.h"
#include "scan/ports.h"
#include "scan/route.h"
#include "scan/scan.h"
#include "scan/syn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
/* In-flight ring per sender: its pages are all touched once the scan is
 * longer than the ring, so this bounds the memory (64 Ki x 40 bytes plus
 * the index: about 3 MiB). Answered probes leave from the head at once,
 * but one unanswered probe holds every later one in the ring until its
 * deadline: when silence is common, a sender sends at most 64 Ki probes
 * per timeout (65,000/s per sender at the default 1 s). */
#define RING_MAX (1u << 16)
#define SNAPLEN 256
#define SPORT_COUNT 64
#define RCVBUF (32 << 20)
#define WARN_NOROUTE_MAX 8
#define MAX_WORKERS 4
#define PARK_MAX 1024
#define NEIGH_SLOTS (2 * RING_MAX) /* on-link hosts with pending probes, per sender */
/* ARP requests per try of a probe, one per timeout: the kernel's own
 * resolution (mcast_solicit) asks 3 times too. A host gets ARP_TRIES x
 * (1 + --retries) requests before its probes are reported filtered */
#define ARP_TRIES 3
/* hosts with unanswered probes counted at once per sender; when more
 * are, new hosts wait in the park like hosts at their cap */
#define HOSTS_TRACKED 16384

struct syn_engine;

enum neigh_state { NEIGH_EMPTY = 0, NEIGH_RESOLVING, NEIGH_RESOLVED, NEIGH_FAILED };

/* An on-link IPv4 host with probes pending: its MAC once it answered our
 * ARP request. The entry lives as long as it has pending probes (refs). */
struct neigh {
	uint32_t ip; /* network order; 0: empty */
	uint32_t refs;
	uint8_t mac[6];
	uint8_t state;
	uint8_t arp_tries;
	uint64_t next_arp_us;
};

/* One sender/receiver: its own sockets, its own block of source ports (so
 * its capture filter sees only the replies to its own probes), its own
 * route cache and in-flight ring. Workers share only the scan context
 * (whose calls are thread-safe) and the engine's warning list. */
struct syn_worker {
	struct syn_engine *eng;
	int tx4, tx6, rx;
	struct pc_route_cache *routes;
	struct pc_cookie_key key;
	uint16_t sport_lo; /* source ports sport_lo .. sport_lo + SPORT_COUNT - 1 */
	struct pc_inflight *inflight;
	uint64_t pending; /* in the ring and not yet reported */
	/* per-host cap: unanswered probes per host, and probes parked until
	 * their host has room */
	struct pc_hostcount *hosts;
	unsigned host_cap;
	bool count_hosts;
	struct pc_scan_probe park[PARK_MAX];
	unsigned n_park;
	bool park_dirty; /* a probe was settled since the park was looked at */
	/* on-link IPv4 hosts, resolved by our own ARP (NEIGH_SLOTS, open
	 * addressing; allocated on first use) */
	struct neigh *neigh;
	size_t n_neigh;
	uint64_t arp_interval_us;
	unsigned arp_tries_max; /* requests per host: ARP_TRIES x (1 + retries) */
	pthread_t thread;
	bool started;
	int ret;
	struct pc_error err;
	/* send batch */
	uint8_t pkt[BATCH][PC_PACKET_SYN_MAX];
	struct sockaddr_storage dst[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	int fam[BATCH];
	unsigned n_batch;
	/* receive batch */
	uint8_t rbuf[BATCH][SNAPLEN];
	struct iovec riov[BATCH];
	struct mmsghdr rmsg[BATCH];
};

struct syn_engine {
	struct syn_worker *w[MAX_WORKERS];
	unsigned n_workers;
	struct pc_scan_ctx *ctx;
	atomic_bool stop; /* a worker failed: the others end too */
	pthread_mutex_t lock; /* the no-route list */
	struct pc_addr noroute[WARN_NOROUTE_MAX];
	unsigned n_noroute;
};

static uint64_t now_us(void)
{
	return (uint64_t)(pc_monotonic_ms() * 1000.0);
}

/* ---- privileged setup ---- */

/* Source ports: a random block of n SPORT_COUNT-port blocks outside the
 * kernel's ephemeral range, so that no local connection can collide with
 * ours. */
static uint16_t pick_sport_lo(const struct pc_cookie_key *key, unsigned n)
{
	unsigned need = SPORT_COUNT * n;
	unsigned lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f) {
		unsigned a, b;
		if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
			lo = a;
			hi = b;
		}
		fclose(f);
	}
	unsigned above = 65535 - hi, below = lo > 1024 ? lo - 1024 : 0;
	unsigned r = (unsigned)(key->k0 >> 20);
	if (above >= need * 2)
		return (uint16_t)(hi + 1 + r % (above - need));
	if (below >= need * 2)
		return (uint16_t)(1024 + r % (below - need));
	/* the ephemeral range covers nearly everything: use its top */
	return (uint16_t)(65535 - need + 1);
}

/*
 * Classic BPF over the network header (SOCK_DGRAM): accept, unless it is a
 * packet we send, ARP (answers to our requests for on-link hosts),
 * IPv4/IPv6 TCP to our port range (first fragment only) or an ICMP/ICMPv6
 * destination-unreachable; cut it to SNAPLEN bytes.
 */
static int attach_filter(int fd, uint16_t lo, uint16_t hi)
{
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 28, 0),
		/* 2 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_ARP, 25, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 13),
		/* IPv4 */
		/* 5 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 2, 0),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMP, 7, 0),
		/* 8 */ BPF_STMT(BPF_RET | BPF_K, 0),
		/* 9 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 19, 0),
		/* 11 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		/* 12 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 16),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 15, 14),
		/* ICMP */
		/* 15 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		/* 16 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),
		/* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 3, 11, 12),
		/* 18: not IPv4 */
		/* 18 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 11),
		/* 19 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
		/* 20 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 2, 0),
		/* 21 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMPV6, 4, 0),
		/* 22 */ BPF_STMT(BPF_RET | BPF_K, 0),
		/* 23 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 42),
		/* 24 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 5),
		/* 25 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 4, 3),
		/* 26 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40),
		/* 27 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 2),
		/* 28 */ BPF_STMT(BPF_RET | BPF_K, 0),
		/* 29: accept */
		/* 29 */ BPF_STMT(BPF_RET | BPF_K, SNAPLEN),
		/* 30: reject */
		/* 30 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

static int open_rx(struct syn_worker *s, struct pc_error *err)
{
	/* protocol 0: receives nothing until bound, so no packet slips in
	 * before the filter is attached */
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int e = -errno;
		if (e == -EPERM || e == -EACCES)
			return pc_error_set(err, PC_EPERM,
					    "SYN scan needs CAP_NET_RAW (run as root or use --connect)");
		return pc_error_set(err, e, "cannot open a packet socket: %s", strerror(-e));
	}
	s->rx = fd;
	int ret = attach_filter(fd, s->sport_lo, (uint16_t)(s->sport_lo + SPORT_COUNT - 1));
	if (ret < 0)
		return pc_error_set(err, ret, "cannot attach the capture filter: %s", strerror(-ret));
	int sz = RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* it also sends (ARP requests, SYN frames to on-link hosts), and a
	 * frame can stay charged to the socket until it is consumed (over
	 * veth: by the peer's softirq, from the per-CPU backlog); on a loaded
	 * host the default 208 KiB could fill and a send fail with EAGAIN
	 * (not seen here, but cheap to rule out): as much room as the raw IP
	 * sockets have */
	sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = 0; /* every interface: the route decides which one */
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = -errno;
		return pc_error_set(err, e, "cannot bind the packet socket: %s", strerror(-e));
	}
	/* start the drop counter from zero */
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	(void)getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	return 0;
}

static int open_tx(int family, int *ret_fd, struct pc_error *err)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		int e = -errno;
		if (e == -EAFNOSUPPORT && family == AF_INET6) {
			*ret_fd = -1; /* no IPv6 on this host: IPv6 probes fail later */
			return 0;
		}
		if (e == -EPERM || e == -EACCES)
			return pc_error_set(err, PC_EPERM,
					    "SYN scan needs CAP_NET_RAW (run as root or use --connect)");
		return pc_error_set(err, e, "cannot open a raw socket: %s", strerror(-e));
	}
	int sz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	*ret_fd = fd;
	return 0;
}

static void worker_free(struct syn_worker *s)
{
	if (!s)
		return;
	if (s->tx4 >= 0)
		close(s->tx4);
	if (s->tx6 >= 0)
		close(s->tx6);
	if (s->rx >= 0)
		close(s->rx);
	pc_route_close(s->routes);
	pc_inflight_free(s->inflight);
	pc_hostcount_free(s->hosts);
	free(s->neigh);
	free(s);
}

static void syn_release(void *state)
{
	struct syn_engine *e = state;
	if (!e)
		return;
	for (unsigned i = 0; i < e->n_workers; i++)
		worker_free(e->w[i]);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* Senders: one per CPU (at most MAX_WORKERS) when the rate needs more than
 * one. Over a veth pair, or to any target that shares our CPUs, the
 * target's kernel answers inside the sender's softirq: a second sender on
 * the other CPU is what doubles the rate (docs/bench-scan.md). */
static unsigned worker_count(const struct pc_scan_opts *o)
{
	uint64_t rate = o->rate_pps ? o->rate_pps : PC_SCAN_DEFAULT_RATE;
	if (rate <= 30000)
		return 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	return cpus > MAX_WORKERS ? MAX_WORKERS : (unsigned)cpus;
}

static int worker_open(struct syn_engine *e, const struct pc_cookie_key *key, uint16_t sport_lo,
		       struct syn_worker **ret_worker, struct pc_error *err)
{
	struct syn_worker *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	s->eng = e;
	s->tx4 = s->tx6 = s->rx = -1;
	s->key = *key;
	s->sport_lo = sport_lo;
	int ret = open_tx(AF_INET, &s->tx4, err);
	if (ret == 0)
		ret = open_tx(AF_INET6, &s->tx6, err);
	if (ret == 0)
		ret = open_rx(s, err);
	if (ret == 0)
		ret = pc_route_open(&s->routes, err);
	if (ret < 0) {
		worker_free(s);
		return ret;
	}
	*ret_worker = s;
	return 0;
}

static int syn_prepare(struct pc_scan_ctx *ctx, void **ret_state, struct pc_error *err)
{
	struct syn_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	pthread_mutex_init(&e->lock, NULL);
	e->ctx = ctx;
	struct pc_cookie_key key;
	int ret = pc_cookie_key_random(&key);
	if (ret < 0) {
		pc_error_set(err, ret, "cannot get random bytes: %s", strerror(-ret));
		goto fail;
	}
	unsigned n = worker_count(pc_scan_ctx_opts(ctx));
	uint16_t lo = pick_sport_lo(&key, n);
	for (unsigned i = 0; i < n; i++) {
		ret = worker_open(e, &key, (uint16_t)(lo + i * SPORT_COUNT), &e->w[i], err);
		if (ret < 0)
			goto fail;
		e->n_workers++;
	}
	*ret_state = e;
	return 0;
fail:
	syn_release(e);
	return ret;
}

/* ---- on-link IPv4 hosts: our own ARP ----
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
 * follows the answer is their first send, not a retry. */

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
static struct neigh *neigh_find(struct syn_worker *s, const struct pc_addr *a)
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
static int neigh_ref(struct syn_worker *s, const struct pc_addr *a)
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
static void neigh_unref(struct syn_worker *s, const struct pc_addr *a)
{
	struct neigh *n = neigh_find(s, a);
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
static bool on_link(struct syn_worker *s, const struct pc_addr *dst, struct pc_route *ret_rt,
		    uint8_t ret_mac[6])
{
	return dst->family == AF_INET && pc_route_lookup(s->routes, dst, ret_rt) == 0 &&
	       ret_rt->gateway.family == 0 && ret_rt->oif > 0 &&
	       pc_route_link_mac(s->routes, ret_rt->oif, ret_mac) == 0;
}

static void send_arp(struct syn_worker *s, int ifindex, const uint8_t our_mac[6],
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

static void handle_arp(struct syn_worker *s, const uint8_t *p, size_t n)
{
	struct pc_addr ip;
	uint8_t mac[6];
	if (pc_packet_parse_arp_reply(p, n, &ip, mac) < 0)
		return;
	/* only hosts we asked about: an unsolicited reply adds nothing */
	struct neigh *ne = neigh_find(s, &ip);
	if (!ne || ne->state != NEIGH_RESOLVING)
		return;
	memcpy(ne->mac, mac, 6);
	ne->state = NEIGH_RESOLVED;
}

enum queued { Q_SENT, Q_WAIT, Q_FAIL };

/* ---- the run ---- */

static void count_drops(struct syn_worker *s, struct pc_scan_stats *st)
{
	struct tpacket_stats ts;
	socklen_t sl = sizeof(ts);
	if (getsockopt(s->rx, SOL_PACKET, PACKET_STATISTICS, &ts, &sl) == 0)
		__atomic_fetch_add(&st->capture_drops, ts.tp_drops, __ATOMIC_RELAXED);
}

static void report(struct pc_scan_ctx *ctx, struct syn_worker *s, struct pc_inflight_entry *e,
		   enum pc_state state, uint64_t now)
{
	double rtt = e->tries && state != PC_STATE_FILTERED ? (double)(now - e->sent_us) / 1000.0 : -1;
	e->done = true;
	s->pending--;
	if (s->count_hosts)
		pc_hostcount_dec(s->hosts, &e->addr);
	if (s->neigh && e->addr.family == AF_INET)
		neigh_unref(s, &e->addr);
	s->park_dirty = true;
	pc_scan_result(ctx, &e->addr, PC_PROTO_TCP, e->port, state, rtt);
}

static void handle_reply(struct pc_scan_ctx *ctx, struct syn_worker *s, const uint8_t *p, size_t n,
			 uint64_t now)
{
	struct pc_reply r;
	if (pc_packet_parse_reply(p, n, &r) < 0 || r.proto != IPPROTO_TCP)
		return;
	if (r.local_port < s->sport_lo || r.local_port >= s->sport_lo + SPORT_COUNT)
		return;
	if (!pc_cookie_check(&s->key, &r.remote, r.remote_port, &r.local, r.local_port, r.ack))
		return;
	struct pc_scan_stats *st = pc_scan_ctx_stats(ctx);
	__atomic_fetch_add(&st->replies, 1, __ATOMIC_RELAXED);
	struct pc_inflight_entry *e = pc_inflight_find(s->inflight, &r.remote, r.remote_port);
	if (!e || e->done)
		return; /* a duplicate, or later than its deadline */
	switch (r.kind) {
	case PC_REPLY_SYNACK:
		report(ctx, s, e, PC_STATE_OPEN, now);
		break;
	case PC_REPLY_RST:
		report(ctx, s, e, PC_STATE_CLOSED, now);
		break;
	case PC_REPLY_UNREACH:
		/* as nmap: an unreachable of any code means a filter */
		report(ctx, s, e, PC_STATE_FILTERED, now);
		break;
	}
}

/* Read what the capture holds; returns how many packets were read. */
static unsigned drain_rx(struct pc_scan_ctx *ctx, struct syn_worker *s)
{
	unsigned total = 0;
	for (int round = 0; round < 64; round++) {
		for (unsigned i = 0; i < BATCH; i++) {
			s->riov[i].iov_base = s->rbuf[i];
			s->riov[i].iov_len = SNAPLEN;
			memset(&s->rmsg[i].msg_hdr, 0, sizeof(s->rmsg[i].msg_hdr));
			s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
			s->rmsg[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(s->rx, s->rmsg, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		uint64_t now = now_us();
		for (int i = 0; i < n; i++) {
			size_t len = s->rmsg[i].msg_len;
			if (len > SNAPLEN)
				len = SNAPLEN;
			/* ARP starts with hardware type 0x0001, IP with its
			 * version nibble: the first byte tells them apart */
			if (len && s->rbuf[i][0] >> 4 == 0)
				handle_arp(s, s->rbuf[i], len);
			else
				handle_reply(ctx, s, s->rbuf[i], len, now);
		}
		total += (unsigned)n;
		if (n < BATCH)
			break;
	}
	return total;
}

static int flush_family(struct syn_worker *s, struct pc_scan_stats *st, int family,
			struct mmsghdr *msgs, unsigned n)
{
	int fd = family == AF_INET ? s->tx4 : family == AF_INET6 ? s->tx6 : s->rx;
	unsigned off = 0;
	while (off < n) {
		int r = sendmmsg(fd, msgs + off, n - off, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN) {
				/* a full queue: the probe counts as sent and
				 * lost; its deadline brings the retry */
				off++;
				continue;
			}
			if (errno == EBADF || errno == ENOTSOCK || errno == EFAULT ||
			    errno == ENOMEM)
				return -errno; /* our own fault: stop */
			/* no route now, a local firewall (EPERM), an address
			 * the kernel refuses (EINVAL: e.g. link-local without
			 * a scope), a device gone: this packet is lost, its
			 * deadline retries it and silence means filtered; one
			 * bad target must not end the whole scan */
			off++;
			continue;
		}
		off += (unsigned)r;
	}
	__atomic_fetch_add(&st->sent, n, __ATOMIC_RELAXED);
	return 0;
}

/* Send the batch: IPv4 and IPv6 packets go to their own sockets. */
static int flush(struct syn_worker *s, struct pc_scan_stats *st)
{
	struct mmsghdr v4[BATCH], v6[BATCH], ll[BATCH];
	unsigned n4 = 0, n6 = 0, nl = 0;
	for (unsigned i = 0; i < s->n_batch; i++) {
		if (s->fam[i] == AF_INET)
			v4[n4++] = s->msg[i];
		else if (s->fam[i] == AF_INET6)
			v6[n6++] = s->msg[i];
		else
			ll[nl++] = s->msg[i];
	}
	s->n_batch = 0;
	int ret = 0;
	if (n4)
		ret = flush_family(s, st, AF_INET, v4, n4);
	if (!ret && n6)
		ret = flush_family(s, st, AF_INET6, v6, n6);
	if (!ret && nl)
		ret = flush_family(s, st, AF_PACKET, ll, nl);
	return ret;
}

/* Build a probe into the batch: Q_SENT; Q_WAIT while its on-link host is
 * being resolved (the caller tries again after the timeout); Q_FAIL when it
 * cannot be sent (no route, no IPv6 socket, host down): the caller reports
 * it. */
static enum queued queue_probe(struct syn_worker *s, const struct pc_addr *dst, uint16_t dport,
			       uint64_t now)
{
	struct pc_route rt;
	if ((dst->family == AF_INET6 && s->tx6 < 0) ||
	    pc_route_lookup(s->routes, dst, &rt) < 0) {
		/* the snapshot is not ours to touch from a worker: keep
		 * the first few and warn after the run */
		struct syn_engine *e = s->eng;
		pthread_mutex_lock(&e->lock);
		if (e->n_noroute < WARN_NOROUTE_MAX)
			e->noroute[e->n_noroute++] = *dst;
		pthread_mutex_unlock(&e->lock);
		return Q_FAIL;
	}
	uint8_t our_mac[6];
	struct neigh *ne = NULL;
	if (dst->family == AF_INET && rt.gateway.family == 0 && rt.oif > 0 &&
	    pc_route_link_mac(s->routes, rt.oif, our_mac) == 0) {
		ne = neigh_find(s, dst); /* NULL: not tracked, the kernel resolves it */
		if (ne && ne->state == NEIGH_FAILED)
			return Q_FAIL;
		if (ne && ne->state == NEIGH_RESOLVING) {
			if (now >= ne->next_arp_us) {
				if (ne->arp_tries >= s->arp_tries_max) {
					ne->state = NEIGH_FAILED;
					return Q_FAIL;
				}
				send_arp(s, rt.oif, our_mac, &rt.src, dst);
				ne->arp_tries++;
				ne->next_arp_us = now + s->arp_interval_us;
			}
			return Q_WAIT;
		}
	}
	unsigned i = s->n_batch;
	struct pc_syn_spec sp;
	memset(&sp, 0, sizeof(sp));
	sp.src = rt.src;
	sp.dst = *dst;
	/* spread over the port block by target, so one flow never
	 * carries every probe */
	uint32_t h = pc_cookie_make(&s->key, dst, dport, dst, 0);
	sp.sport = (uint16_t)(s->sport_lo + (h % SPORT_COUNT));
	sp.dport = dport;
	sp.seq = pc_cookie_make(&s->key, dst, dport, &rt.src, sp.sport);
	sp.ip_id = (uint16_t)(h >> 16);
	size_t n = pc_packet_build_syn(s->pkt[i], sizeof(s->pkt[i]), &sp);
	if (!n)
		return Q_FAIL;
	size_t sl;
	if (ne) {
		/* an on-link host we resolved: a frame to its MAC */
		struct sockaddr_ll *sll = (struct sockaddr_ll *)&s->dst[i];
		memset(sll, 0, sizeof(*sll));
		sll->sll_family = AF_PACKET;
		sll->sll_protocol = htons(ETH_P_IP);
		sll->sll_ifindex = rt.oif;
		sll->sll_halen = 6;
		memcpy(sll->sll_addr, ne->mac, 6);
		sl = sizeof(*sll);
	} else {
		sl = pc_addr_to_sockaddr(dst, 0, &s->dst[i]);
	}
	s->iov[i].iov_base = s->pkt[i];
	s->iov[i].iov_len = n;
	memset(&s->msg[i], 0, sizeof(s->msg[i]));
	s->msg[i].msg_hdr.msg_name = &s->dst[i];
	s->msg[i].msg_hdr.msg_namelen = (socklen_t)sl;
	s->msg[i].msg_hdr.msg_iov = &s->iov[i];
	s->msg[i].msg_hdr.msg_iovlen = 1;
	s->fam[i] = ne ? AF_PACKET : dst->family;
	s->n_batch++;
	return Q_SENT;
}

/* How long a probe waits for its host's ARP answer before looking again:
 * 10 ms, doubling, at most the timeout. ARP on a LAN answers within a
 * millisecond, so most probes go on their first look; a host that never
 * answers fails after arp_tries_max requests, one per timeout. */
static uint64_t arp_wait(unsigned waits, uint64_t timeout_us)
{
	unsigned shift = waits > 1 ? waits - 1 : 0;
	uint64_t w = (uint64_t)10000 << (shift > 10 ? 10 : shift);
	return w < timeout_us ? w : timeout_us;
}

/* First send of a probe: into the host's count, the ring and the batch.
 * false, doing nothing, when the host is at its cap (or too many hosts
 * are counted): the caller parks the probe. */
static bool start_probe(struct pc_scan_ctx *ctx, struct syn_worker *s,
			const struct pc_scan_probe *p, uint64_t now, unsigned retries,
			uint64_t timeout_us, uint64_t last_us)
{
	if (s->count_hosts && (pc_hostcount_get(s->hosts, &p->addr) >= s->host_cap ||
			       !pc_hostcount_inc(s->hosts, &p->addr)))
		return false;
	struct pc_route rt;
	uint8_t mac[6];
	if (on_link(s, &p->addr, &rt, mac) && neigh_ref(s, &p->addr) == 1) {
		/* as many on-link hosts pending as the table holds: wait */
		if (s->count_hosts)
			pc_hostcount_dec(s->hosts, &p->addr);
		return false;
	}
	struct pc_inflight_entry *e = pc_inflight_push(s->inflight, &p->addr, p->port);
	if (!e) {
		/* cannot happen (the caller checked the room); if it did,
		 * the probe must not vanish: undo and let it be parked */
		if (s->count_hosts)
			pc_hostcount_dec(s->hosts, &p->addr);
		if (s->neigh && p->addr.family == AF_INET)
			neigh_unref(s, &p->addr);
		return false;
	}
	s->pending++;
	switch (queue_probe(s, &p->addr, p->port, now)) {
	case Q_FAIL:
		report(ctx, s, e, PC_STATE_FILTERED, now);
		return true;
	case Q_WAIT:
		/* asked for its host's MAC: look again soon */
		e->waits = 1;
		e->deadline_us = now + arp_wait(1, timeout_us);
		return true;
	case Q_SENT:
		break;
	}
	e->tries = 1;
	e->sent_us = now;
	e->deadline_us = now + (retries == 0 ? last_us : timeout_us);
	return true;
}

static int worker_run(struct syn_worker *s, struct pc_error *err)
{
	struct pc_scan_ctx *ctx = s->eng->ctx;
	const struct pc_scan_opts *o = pc_scan_ctx_opts(ctx);
	struct pc_scan_stats *st = pc_scan_ctx_stats(ctx);
	double timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : PC_SCAN_DEFAULT_TIMEOUT_MS;
	double cooldown_ms = o->cooldown_ms > 0 ? o->cooldown_ms : PC_SCAN_DEFAULT_COOLDOWN_MS;
	/* every try waits the timeout; the last one waits the cooldown too */
	uint64_t timeout_us = (uint64_t)(timeout_ms * 1000.0);
	uint64_t last_us = (uint64_t)(cooldown_ms * 1000.0);
	if (last_us < timeout_us)
		last_us = timeout_us;
	unsigned retries = o->retries;
	if (retries > 10)
		retries = 10;
	s->arp_interval_us = timeout_us;
	s->arp_tries_max = ARP_TRIES * (retries + 1);

	/* enough room for every probe sent within one deadline at the rate
	 * asked (or a generous default), within bounds */
	bool unlimited = o->rate_pps == PC_SCAN_RATE_UNLIMITED;
	double rate = !o->rate_pps ? PC_SCAN_DEFAULT_RATE : unlimited ? 150000.0 : (double)o->rate_pps;
	double need = rate * (double)last_us / 1e6 * 1.25 / s->eng->n_workers + BATCH * 2;
	size_t cap = need > RING_MAX ? RING_MAX : need < 4096 ? 4096 : (size_t)need;
	int ret = pc_inflight_new(cap, &s->inflight);
	if (ret < 0)
		return pc_error_set(err, ret, "out of memory for %zu probes in flight", cap);
	unsigned host_cap = o->host_inflight ? o->host_inflight : PC_SCAN_DEFAULT_HOST_INFLIGHT;
	s->host_cap = host_cap / s->eng->n_workers;
	if (s->host_cap < 1)
		s->host_cap = 1;
	/* with no more ports per host than the cap, it can never bind:
	 * skip the counting (and the memory its table would touch) */
	s->count_hosts = pc_ports_count(o->ports, PC_PROTO_TCP) > s->host_cap;
	if (s->count_hosts) {
		ret = pc_hostcount_new(HOSTS_TRACKED, &s->hosts);
		if (ret < 0)
			return pc_error_set(err, ret, "out of memory");
	}

	bool exhausted = false;
	for (;;) {
		if (atomic_load_explicit(&s->eng->stop, memory_order_relaxed))
			return 0;
		drain_rx(ctx, s);
		uint64_t now = now_us();

		/* settle what reached its deadline: answered ones leave,
		 * unanswered ones are sent again or given up */
		unsigned resend = 0;
		struct pc_inflight_entry *h;
		/* answered probes leave at once; others at their deadline */
		while ((h = pc_inflight_head(s->inflight)) && (h->done || h->deadline_us <= now)) {
			if (h->done) {
				pc_inflight_pop(s->inflight);
				continue;
			}
			if (h->tries > retries) {
				report(ctx, s, h, PC_STATE_FILTERED, now);
				pc_inflight_pop(s->inflight);
				continue;
			}
			if (s->n_batch == BATCH || pc_scan_pace(ctx, 1, 0) == 0)
				break;
			h = pc_inflight_requeue(s->inflight);
			struct pc_addr a = h->addr;
			uint16_t port = h->port;
			enum queued q = queue_probe(s, &a, port, now);
			if (q == Q_WAIT && h->waits < 250) {
				h->waits++;
				h->deadline_us = now + arp_wait(h->waits, timeout_us);
				continue;
			}
			if (q != Q_SENT) {
				report(ctx, s, h, PC_STATE_FILTERED, now);
				continue;
			}
			bool first = h->tries == 0;
			h->tries++;
			h->sent_us = now;
			h->deadline_us = now + (h->tries > retries ? last_us : timeout_us);
			if (!first) /* a first send after ARP is not a retry */
				__atomic_fetch_add(&st->retries, 1, __ATOMIC_RELAXED);
			resend++;
		}

		/* new probes, as the pace and the ring allow */
		size_t room = pc_inflight_capacity(s->inflight) - pc_inflight_count(s->inflight);
		unsigned want = BATCH - s->n_batch;
		if (want > room)
			want = (unsigned)room;
		if (want && (!exhausted || (s->n_park && s->park_dirty))) {
			uint64_t may = pc_scan_pace(ctx, want, resend ? 0 : 1);
			uint64_t k = 0;
			/* parked probes first, in order, when their host has room;
			 * the park is clean again only when every parked probe was
			 * tried: one the pace cut off was not, and with nothing
			 * left in flight no report would ever mark it dirty again
			 * (the pass then never ended) */
			if (s->park_dirty && s->n_park) {
				unsigned kept = 0;
				bool cut = false;
				for (unsigned i = 0; i < s->n_park; i++) {
					struct pc_scan_probe *p = &s->park[i];
					if (k >= may)
						cut = true;
					if (k < may &&
					    start_probe(ctx, s, p, now, retries, timeout_us, last_us)) {
						k++;
					} else {
						s->park[kept++] = *p;
					}
				}
				s->n_park = kept;
				s->park_dirty = cut;
			}
			while (k < may && !exhausted && s->n_park < PARK_MAX) {
				struct pc_scan_probe p;
				if (!pc_scan_next(ctx, &p)) {
					exhausted = true;
					break;
				}
				if (p.proto != PC_PROTO_TCP)
					continue;
				if (!start_probe(ctx, s, &p, now, retries, timeout_us, last_us)) {
					s->park[s->n_park++] = p;
					continue;
				}
				k++;
			}
		}
		if (s->n_batch) {
			ret = flush(s, st);
			if (ret < 0)
				return pc_error_set(err, ret, "cannot send: %s", strerror(-ret));
		}

		if (exhausted && s->pending == 0 && s->n_park == 0)
			break;
		/* idle: wait for a reply or the next deadline */
		if (exhausted || room == 0 || s->n_park == PARK_MAX) {
			h = pc_inflight_head(s->inflight);
			now = now_us();
			int wait_ms = 0;
			if (h && h->deadline_us > now)
				wait_ms = (int)((h->deadline_us - now + 999) / 1000);
			if (wait_ms > 50)
				wait_ms = 50;
			struct pollfd pfd = {.fd = s->rx, .events = POLLIN};
			if (wait_ms > 0 && poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
				return pc_error_set(err, -errno, "poll: %s", strerror(errno));
		}
	}
	drain_rx(ctx, s);
	count_drops(s, st);
	return 0;
}

static void *worker_thread(void *arg)
{
	struct syn_worker *s = arg;
	s->ret = worker_run(s, &s->err);
	if (s->ret < 0)
		atomic_store(&s->eng->stop, true);
	return NULL;
}

static int syn_run(struct pc_scan_ctx *ctx, void *state, struct pc_error *err)
{
	struct syn_engine *e = state;
	e->ctx = ctx;
	/* the port list's lookup arrays were built by pc_scan_run
	 * (pc_ports_seal) before any engine thread starts */
	for (unsigned i = 1; i < e->n_workers; i++) {
		int r = pthread_create(&e->w[i]->thread, NULL, worker_thread, e->w[i]);
		if (r != 0) {
			/* fewer senders is slower, not wrong: worker 0 and the
			 * started ones pull every remaining probe */
			break;
		}
		e->w[i]->started = true;
	}
	int ret = worker_run(e->w[0], err);
	if (ret < 0)
		atomic_store(&e->stop, true);
	for (unsigned i = 1; i < e->n_workers; i++) {
		if (!e->w[i]->started)
			continue;
		pthread_join(e->w[i]->thread, NULL);
		if (ret == 0 && e->w[i]->ret < 0) {
			ret = e->w[i]->ret;
			*err = e->w[i]->err;
		}
	}
	char a[PC_ADDR_STRLEN];
	for (unsigned i = 0; i < e->n_noroute; i++)
		pc_snapshot_warn(pc_scan_ctx_snapshot(ctx), "no route to %s: not probed",
				 pc_addr_format(&e->noroute[i], a, sizeof(a)));
	return ret;
}

const struct pc_scan_engine_ops pc_scan_engine_syn = {
	.name = "syn",
	.proto = PC_PROTO_TCP,
	.needs_raw = true,
	.prepare = syn_prepare,
	.run = syn_run,
	.release = syn_release,
};
