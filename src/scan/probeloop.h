/*
 * probeloop.h - the loop one sender of a raw engine (SYN, UDP) runs: pull
 * probes, keep each in the in-flight ring (inflight.h) until its deadline,
 * re-send the unanswered ones up to --retries times and give up on them
 * after the last, hold each host to --host-inflight unanswered probes
 * (parking the rest), and sleep on the engine's sockets when there is
 * nothing to send.
 *
 * The engines differ only in what they send and how they read replies, so
 * those are callbacks (struct pc_probeloop_ops); the pacing, deadlines,
 * retries, park and the end of the run are written once here. An engine
 * embeds a struct pc_probeloop per sender and settles a probe from its
 * receive path with pc_probeloop_report().
 */
#ifndef PC_SCAN_PROBELOOP_H
#define PC_SCAN_PROBELOOP_H

#include "scan/inflight.h"
#include "scan/scan.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* probes per send batch (one sendmmsg per socket) */
#define PC_PROBELOOP_BATCH 64
/* probes parked while their host is at its cap */
#define PC_PROBELOOP_PARK_MAX 1024
/* probes held back by their path's pace, all paths together */
#define PC_PROBELOOP_DEFER_MAX (1u << 16)

struct pc_probeloop_deferred;

enum pc_queued {
	PC_QUEUED_SENT, /* in the batch */
	PC_QUEUED_WAIT, /* its next hop is being resolved: look again soon */
	PC_QUEUED_FAIL, /* cannot be sent (no route, no socket, host down) */
};

struct pc_probeloop_ops {
	/* Read the replies waiting; each settles its probe through
	 * pc_probeloop_report(). */
	void (*drain)(void *eng);
	/* Build a probe into the batch (and add 1 to n_batch) or say why not. */
	enum pc_queued (*queue)(void *eng, const struct pc_addr *addr, uint16_t port, uint64_t now);
	/* Send the batch and set n_batch to 0: 0 or a negative errno. */
	int (*flush)(void *eng);
	/* Optional: may a probe for addr start now (false: it is parked). */
	bool (*admit)(void *eng, const struct pc_addr *addr);
	/* Optional: a probe for addr left (settled, or its start undone). */
	void (*forget)(void *eng, const struct pc_addr *addr);
	/* Optional: a probe for addr got its final state. */
	void (*verdict)(void *eng, const struct pc_addr *addr, enum pc_state state);
	/* Optional: a try of a probe for addr went unanswered (it is about
	 * to be sent again): UDP reads ICMP rate limiting from it. */
	void (*unanswered)(void *eng, const struct pc_addr *addr, uint64_t now);
};

struct pc_probeloop {
	/* set by the engine before pc_probeloop_init */
	const struct pc_probeloop_ops *ops;
	void *eng;
	enum pc_proto proto;
	enum pc_state silent_state; /* the verdict after the last unanswered try */
	unsigned n_senders;         /* ring and host cap are split between them */
	atomic_bool *stop;          /* optional: another sender failed, end now */
	struct pollfd wait_fds[2];  /* slept on when idle (fd -1: ignored) */
	unsigned n_wait_fds;
	unsigned n_batch; /* probes in the engine's batch */
	/* set by pc_probeloop_init */
	struct pc_scan_ctx *ctx;
	unsigned retries;
	uint64_t timeout_us, last_us; /* every try waits timeout; the last, last_us */
	bool cooldown_set;            /* --cooldown given: the last try waits it */
	struct pc_inflight *inflight;
	uint64_t pending; /* in the ring and not yet reported */
	/* per-host cap: unanswered probes per host, and probes parked until
	 * their host has room */
	struct pc_hostcount *hosts;
	unsigned host_cap;
	bool count_hosts;
	struct pc_scan_probe park[PC_PROBELOOP_PARK_MAX];
	unsigned n_park;
	bool park_dirty; /* a probe was settled since the park was looked at */
	/* adaptive pacing (pace.h; NULL under a fixed --rate), and whether
	 * the last turn held a probe back for its path's pace */
	struct pc_pace *pace;
	bool paced;
	/* probes held back by their path's pace, in one FIFO per path (so a
	 * slow path's backlog never stands in front of a fast path's probes,
	 * as it would in the park), in a pool of PC_PROBELOOP_DEFER_MAX;
	 * when the pool is full, they are parked */
	struct pc_probeloop_deferred *defer;
	uint32_t *defer_head, *defer_tail; /* per path index; UINT32_MAX: none */
	uint16_t *active;                  /* paths with deferred probes */
	unsigned n_active;
	uint32_t defer_free; /* free list of the pool */
	uint32_t defer_used; /* entries of the pool ever used */
	uint64_t n_deferred;
};

/* Read the options, size the ring and the host table: 0 or a negative
 * PC_E* with err set. */
int pc_probeloop_init(struct pc_probeloop *l, struct pc_scan_ctx *ctx, struct pc_error *err);
/* Run until every probe is settled: 0; 1 when *stop ended it early; a
 * negative PC_E* or -errno with err set when sending or waiting failed. */
int pc_probeloop_run(struct pc_probeloop *l, struct pc_error *err);
/* Give probe e its final state (once). */
void pc_probeloop_report(struct pc_probeloop *l, struct pc_inflight_entry *e, enum pc_state state,
			 uint64_t now);
/* Free the ring and the host table (l itself belongs to the engine). */
void pc_probeloop_release(struct pc_probeloop *l);

static inline uint64_t pc_probeloop_now_us(void)
{
	return (uint64_t)(pc_monotonic_ms() * 1000.0);
}

#endif
