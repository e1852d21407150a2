/*
 * pace.h - the adaptive pacer: how fast a scan may send, per target network
 * path, learnt from what comes back (issue 12).
 *
 * Without --rate, every scan engine asks this pacer before it starts a
 * probe (pc_pace_take) and tells it what happened (pc_pace_answer,
 * pc_pace_signal). The pacer keeps one rate per path (a host for small
 * scans, else an IPv4 /24 or an IPv6 /64) and one total; each grows while
 * answers keep up and is cut when a sign of loss or overload appears.
 * See docs/scan.md, "Adaptive pacing", for the controller and its signals.
 *
 * All calls are thread-safe (one mutex): the SYN engine's senders and the
 * connect engine's workers share one pacer.
 */
#ifndef PC_SCAN_PACE_H
#define PC_SCAN_PACE_H

#include "core/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What holds a rate back (the newest reason wins). */
enum pc_pace_limit {
	PC_PACE_GROWING = 0, /* nothing yet: still growing */
	PC_PACE_CEILING,     /* --max-rate */
	PC_PACE_LOSS,        /* probes needed a retry to be answered */
	PC_PACE_RTT,         /* round trips rose (a queue is building) */
	PC_PACE_ICMP,        /* the target rate-limits its ICMP errors */
	PC_PACE_SENDBUF,     /* our send buffer was full */
	PC_PACE_CAPTURE,     /* our capture dropped replies */
};

enum pc_pace_signal {
	PC_PACE_SIG_ICMP,    /* a host answered closed, then left probes silent */
	PC_PACE_SIG_SENDBUF, /* a send failed with ENOBUFS/EAGAIN */
	PC_PACE_SIG_CAPTURE, /* the capture counted drops */
};

struct pc_pace_config {
	double max_pps;      /* ceiling of the total (--max-rate); 0 = none */
	double start_pps;    /* first rate of a path; 0 = default */
	double min_pps;      /* lowest rate of a path; 0 = default */
	uint64_t n_targets;  /* hosts in the scan: up to 256, one path per host */
	unsigned n_sources;  /* our source addresses (--source-ip); 0 = one */
};

#define PC_PACE_DEFAULT_START 2000.0 /* per path, probes/s */
#define PC_PACE_DEFAULT_MIN 1.0      /* per path: one probe a second */
#define PC_PACE_PATHS 4096           /* paths kept apart; more share one */

struct pc_pace;

/* 0 or PC_ENOMEM/PC_EINVAL. */
int pc_pace_new(const struct pc_pace_config *cfg, struct pc_pace **ret_pace);
void pc_pace_free(struct pc_pace *p);

/* May a probe to addr start now? true takes one token of its path; false:
 * not before the path's next token. */
bool pc_pace_take(struct pc_pace *p, const struct pc_addr *addr, uint64_t now_us);
/* The same in two steps, for a caller that queues probes per path: the
 * path of addr (made on first use), in [0, PC_PACE_PATHS), then a token
 * of that path. */
unsigned pc_pace_path_index(struct pc_pace *p, const struct pc_addr *addr, uint64_t now_us);
bool pc_pace_take_index(struct pc_pace *p, unsigned index, uint64_t now_us);
/* A probe to addr was answered (open or closed). rtt_us: of its last try;
 * first_us: when its first try was sent; retried: it needed a retry. */
void pc_pace_answer(struct pc_pace *p, const struct pc_addr *addr, uint64_t rtt_us,
		    uint64_t first_us, bool retried, uint64_t now_us);
/* A sign of overload: for one path (addr) or, with addr NULL, for all. */
void pc_pace_signal(struct pc_pace *p, const struct pc_addr *addr, enum pc_pace_signal sig,
		    uint64_t now_us);

/* Whether addr's path lost answered probes (some needed a retry): its
 * silent probes deserve more retries. */
bool pc_pace_lossy(const struct pc_pace *p, const struct pc_addr *addr);

/* How long a try of a probe to addr waits for its answer: twice the
 * path's smoothed RTT plus four deviations (RFC 6298's estimator, on
 * unretried answers), at least 200 ms, at most max_us (--timeout); max_us
 * until the path has answered 16 probes. */
uint64_t pc_pace_timeout_us(const struct pc_pace *p, const struct pc_addr *addr, uint64_t max_us);

/* When addr's path was found to rate-limit its ICMP errors (UDP), in
 * the callers' microseconds; 0: it was not. From then on the path is
 * paced to the budget of one error a second per source address, so a
 * try sent after that time is answered when its port is closed. */
uint64_t pc_pace_icmp_since(const struct pc_pace *p, const struct pc_addr *addr);

/* A probe to addr was sent again (a retry, not a first send). */
void pc_pace_resent(struct pc_pace *p, const struct pc_addr *addr, uint64_t now_us);

enum pc_pace_loss {
	PC_PACE_LOSS_NONE,            /* no answered probe needed a retry */
	PC_PACE_LOSS_SEEN,            /* some did */
	PC_PACE_LOSS_RETRIES_ANSWER, /* and its recent retries still bring answers */
};
/* What addr's path showed of reply loss: its silent probes deserve more
 * retries, and more again while retries keep being answered. */
enum pc_pace_loss pc_pace_loss(const struct pc_pace *p, const struct pc_addr *addr);

/* The total rate allowed now (probes/s; the sum of the paths' rates
 * within the ceiling). */
double pc_pace_total(const struct pc_pace *p);
/* What limits the scan most: the path with the lowest rate that was cut,
 * its network (ret_net/ret_prefix, may be NULL) and its reason. */
enum pc_pace_limit pc_pace_limit(const struct pc_pace *p, struct pc_addr *ret_net,
				 unsigned *ret_prefix);
/* "loss", "rtt", ... */
const char *pc_pace_limit_name(enum pc_pace_limit l);
/* The rate of addr's path (for tests and progress). */
double pc_pace_path_rate(const struct pc_pace *p, const struct pc_addr *addr);

#endif
