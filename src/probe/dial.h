/*
 * dial.h - a bounded non-blocking dialler: one TCP connect (or one UDP
 * datagram) per job, each with its own deadline, at most `parallel` in
 * flight, in one epoll loop.
 *
 * The live check of `audit` (reach.c) and the re-check of `verify`
 * (import/recheck.c) both drive it. They choose the jobs (next) and read the
 * outcome their own way (done); the dialler only says what happened on the
 * wire. Jobs are pulled one at a time, so a million endpoints cost `parallel`
 * slots of memory, not a million.
 *
 * TCP: a connect; the handshake completing is OPEN (rtt_ms = the time
 * connect() took), an RST is REFUSED, a connection to our own source port
 * on the same address is SELF (loopback self-connect: it proves nothing).
 * UDP: a connected socket and one empty datagram; a reply is OPEN, an ICMP
 * port-unreachable is REFUSED, silence until the deadline is TIMEOUT.
 * Sockets are closed with SO_LINGER {1, 0}: a TCP check ends in an RST and
 * leaves no TIME_WAIT behind.
 */
#ifndef PC_PROBE_DIAL_H
#define PC_PROBE_DIAL_H

#include "core/error.h"
#include "core/model.h"
#include "probe/probe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_dial_status {
	PC_DIAL_OPEN,        /* TCP handshake done, or a UDP reply */
	PC_DIAL_REFUSED,     /* RST, or ICMP port-unreachable (ECONNREFUSED) */
	PC_DIAL_TIMEOUT,     /* the deadline passed (or the kernel's ETIMEDOUT) */
	PC_DIAL_UNREACHABLE, /* EHOSTUNREACH, ENETUNREACH */
	PC_DIAL_SELF,        /* connected to itself */
	PC_DIAL_FAILED,      /* another errno on the wire (error says which) */
	PC_DIAL_NO_SOCKET,   /* no socket could be made (error says why) */
};

struct pc_dial_job {
	/* filled by next() */
	size_t idx;                    /* the caller's own reference */
	const struct pc_endpoint *ep;  /* handed to make_socket (may be NULL) */
	struct pc_addr addr;
	uint16_t port;
	enum pc_proto proto;           /* PC_PROTO_TCP or PC_PROTO_UDP */
	/* filled before done() */
	enum pc_dial_status status;
	int error;                     /* errno behind status; 0 for OPEN */
	double rtt_ms;                 /* OPEN: connect (TCP) or reply (UDP) */
};

/* The next job: fill *job and return 1, return 0 when there are no more,
 * or a negative code to stop the run with that code. */
typedef int (*pc_dial_next_fn)(void *ctx, struct pc_dial_job *job);
/* A job is over. Return 0, or a negative code to stop the run with it. */
typedef int (*pc_dial_done_fn)(void *ctx, const struct pc_dial_job *job);

struct pc_dial_opts {
	double timeout_ms;        /* per job, > 0 */
	unsigned parallel;        /* jobs in flight, >= 1 */
	pc_socket_fn make_socket; /* NULL: socket() in the caller's namespace */
	void *socket_ctx;
	/* dial starts per second, 0: no limit. A token bucket as deep as
	 * `parallel` (at most `rate`): a handful of jobs start at once, a
	 * long list is paced at rate. */
	double rate;
};

/*
 * Run every job next() yields, calling done() once for each, in the order
 * they end. Returns 0, the negative code a callback returned (err is then
 * the callback's business), or a negative errno when the loop itself
 * failed (epoll, memory; err says so).
 */
int pc_dial_run(const struct pc_dial_opts *opts, pc_dial_next_fn next, pc_dial_done_fn done,
		void *ctx, struct pc_error *err);

/* "refused", "timeout", "unreachable", "self-connect"; NULL for the rest. */
const char *pc_dial_status_name(enum pc_dial_status s);

#endif
