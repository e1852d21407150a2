/*
 * syn_int.h - what the files of the SYN engine share, and nothing else
 * includes: the per-sender state (struct syn_worker), the engine that
 * holds the senders, and the calls between the engine glue (syn.c), the
 * sender (syn_tx.c), the receiver (syn_rx.c) and on-link ARP (syn_arp.c).
 *
 * One struct for all four files, rather than one per file, because every
 * part works on the same sender and the hot path must not pay for
 * indirection: a sender's batch, ring, park and neighbour table are used
 * together on every turn of its loop.
 */
#ifndef PC_SCAN_SYN_INT_H
#define PC_SCAN_SYN_INT_H

#include "scan/cookie.h"
#include "scan/inflight.h"
#include "scan/packet.h"
#include "scan/probeloop.h"
#include "scan/route.h"
#include "scan/scan.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define BATCH PC_PROBELOOP_BATCH
#define SNAPLEN 256
#define SPORT_COUNT 64
#define RCVBUF (32 << 20)
#define WARN_NOROUTE_MAX 8
#define MAX_WORKERS 4
/* on-link hosts with pending probes, per sender: twice the largest ring
 * (probeloop.c), so the table is never more than half full */
#define NEIGH_SLOTS (2u << 16)
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
	/* ring, park, per-host cap, the batch count: the shared loop */
	struct pc_probeloop loop;
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
	uint64_t n_queued; /* rotates --source-ip addresses */
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

/* syn_tx.c: raw IP sockets, the send batch */
int pc_syn_open_tx(int family, int *ret_fd, struct pc_error *err);
/* Build a probe into the batch: PC_QUEUED_SENT; PC_QUEUED_WAIT while its on-link host is
 * being resolved; PC_QUEUED_FAIL when it cannot be sent. */
enum pc_queued pc_syn_queue_probe(struct syn_worker *s, const struct pc_addr *dst, uint16_t dport,
				  uint64_t now);
int pc_syn_flush(struct syn_worker *s, struct pc_scan_stats *st);

/* syn_rx.c: the capture socket and reply classification */
int pc_syn_open_rx(struct syn_worker *s, struct pc_error *err);
unsigned pc_syn_drain_rx(struct pc_scan_ctx *ctx, struct syn_worker *s);
void pc_syn_count_drops(struct syn_worker *s, struct pc_scan_stats *st);

/* syn_arp.c: on-link IPv4 hosts resolved by our own ARP */
struct neigh *pc_syn_neigh_find(struct syn_worker *s, const struct pc_addr *a);
int pc_syn_neigh_ref(struct syn_worker *s, const struct pc_addr *a);
void pc_syn_neigh_unref(struct syn_worker *s, const struct pc_addr *a);
bool pc_syn_on_link(struct syn_worker *s, const struct pc_addr *dst, struct pc_route *ret_rt,
		    uint8_t ret_mac[6]);
void pc_syn_send_arp(struct syn_worker *s, int ifindex, const uint8_t our_mac[6],
		     const struct pc_addr *our_ip, const struct pc_addr *target);
void pc_syn_handle_arp(struct syn_worker *s, const uint8_t *p, size_t n);

#endif
