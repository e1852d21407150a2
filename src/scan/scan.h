/*
 * scan.h - the network side of the map: which (address, proto, port) of a
 * target set are open, closed or filtered.
 *
 * Shape (zmap's split): scan.c owns the target set, the permutation order,
 * sharding, pacing, de-duplication of results and the statistics; an engine
 * (connect, SYN, UDP) only sends probes and classifies replies. Engines are
 * `const struct pc_scan_engine_ops` tables listed in one registry.
 *
 * An engine pulls probes with pc_scan_next() until it returns false, sends
 * them at the pace pc_scan_pace() allows, and reports each probe's final
 * state exactly once with pc_scan_result(). Everything else is scan.c's.
 */
#ifndef PC_SCAN_SCAN_H
#define PC_SCAN_SCAN_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pc_targets; /* parsed target set with exclusions (targets.h) */
struct pc_ports;   /* parsed TCP and UDP port lists (ports.h) */
struct pc_privsep_opts;

enum pc_scan_engine { PC_ENGINE_AUTO = 0, PC_ENGINE_CONNECT, PC_ENGINE_SYN };

struct pc_scan_opts {
	const struct pc_targets *targets;
	const struct pc_ports *ports;
	enum pc_scan_engine engine;
	uint64_t rate_pps;          /* fixed global probe rate (--rate, a hard
				     * ceiling, no adaptation); 0 = adaptive */
	uint64_t max_rate_pps;      /* ceiling of the adaptive rate; 0 = none */
	unsigned host_inflight;     /* per-host cap of probes in flight; 0 = default */
	uint64_t seed;              /* permutation seed; 0 = random */
	bool seed_set;
	unsigned shard_index, shard_count; /* 1-based index; count 0 or 1 = whole */
	bool show_closed, show_filtered;
	unsigned retries;           /* re-sends of unanswered probes */
	double timeout_ms;          /* per probe */
	double cooldown_ms;         /* wait for late replies after the last send */
	bool store;                 /* keep endpoints in the snapshot (false: only stream) */
	bool drop_caps;             /* drop every capability once the engines are
				     * prepared (the `scan` command; not `audit`,
				     * whose later stages still need them) */
	/* run the engines (which parse every reply) in a confined worker as
	 * this user, once `prepare` has opened the privileged sockets here
	 * (privsep.h); NULL: in this process */
	const struct pc_privsep_opts *privsep;
	/* --source-ip: our source addresses for the SYN and UDP engines, IPv4
	 * first (sources.h); NULL/0: the kernel's choice */
	const struct pc_addr *sources;
	size_t n_sources;
	/* optional: each reported endpoint, as soon as it is final */
	void (*on_endpoint)(void *ctx, const struct pc_snapshot *snap,
			    const struct pc_endpoint *ep);
	/* optional: progress, at most a few times a second */
	void (*on_progress)(void *ctx, const struct pc_scan_stats *stats, uint64_t found);
	void *ctx;
};

/* Run the scan; results go to snap (and on_endpoint), statistics to
 * snap->scan. */
int pc_scan_run(struct pc_snapshot *snap, const struct pc_scan_opts *opts,
		struct pc_error *err);

/* What limits the pace, as text: "limited by loss on 198.18.0.0/24",
 * "limited by the ceiling", "growing", "fixed rate". */
void pc_scan_limit_text(const struct pc_scan_stats *st, char *buf, size_t len);

/* Dry run (--list-targets): write every probe of opts (this shard) once, in
 * scan order, one "ADDRESS PROTO PORT" line each, and send nothing. Memory
 * stays constant whatever the size of the target set. */
int pc_scan_list_targets(const struct pc_scan_opts *opts, FILE *f, struct pc_error *err);

/* Defaults used when an option is 0. */
#define PC_SCAN_DEFAULT_RATE 10000      /* sizing hint for adaptive pacing */
#define PC_SCAN_RATE_UNLIMITED UINT64_MAX
#define PC_SCAN_DEFAULT_HOST_INFLIGHT 256
#define PC_SCAN_DEFAULT_TIMEOUT_MS 1000
#define PC_SCAN_DEFAULT_COOLDOWN_MS 1000

/* ---- the engine side ---- */

struct pc_scan_ctx;

struct pc_scan_probe {
	struct pc_addr addr;
	enum pc_proto proto;
	uint16_t port;
	uint64_t index; /* position in the permutation, for engines that keep state */
};

/* Next probe in scan order for this pass; false when the pass is done. */
bool pc_scan_next(struct pc_scan_ctx *ctx, struct pc_scan_probe *ret_probe);
/* How many probes may be sent now under --rate (token bucket); blocks for
 * at most max_wait_ms when none may. */
uint64_t pc_scan_pace(struct pc_scan_ctx *ctx, uint64_t want, double max_wait_ms);
/* Final state of one probe; duplicates are ignored. rtt_ms < 0 if unknown. */
void pc_scan_result(struct pc_scan_ctx *ctx, const struct pc_addr *addr, enum pc_proto proto,
		    uint16_t port, enum pc_state state, double rtt_ms);
/* The index of (addr, proto, port) in this pass (the same value as
 * pc_scan_probe.index: dense in [0, probes of the pass before sharding));
 * false when it is not a probe of this pass, e.g. a stray reply. */
bool pc_scan_index(const struct pc_scan_ctx *ctx, const struct pc_addr *addr, enum pc_proto proto,
		   uint16_t port, uint64_t *ret_index);
/* Whether a final state was already reported for that index: lets an engine
 * re-send only what is still unanswered. */
bool pc_scan_reported(const struct pc_scan_ctx *ctx, uint64_t index);
/* Start this pass's order again from its first probe (a retransmission
 * round); pc_scan_next then yields the same sequence once more. */
void pc_scan_rewind(struct pc_scan_ctx *ctx);
const struct pc_scan_opts *pc_scan_ctx_opts(const struct pc_scan_ctx *ctx);
/* The adaptive pacer (scan/pace.h), or NULL under a fixed --rate: engines
 * ask it per probe (pc_pace_take) and feed it answers and signals. */
struct pc_pace *pc_scan_ctx_pace(struct pc_scan_ctx *ctx);
struct pc_scan_stats *pc_scan_ctx_stats(struct pc_scan_ctx *ctx);
struct pc_snapshot *pc_scan_ctx_snapshot(struct pc_scan_ctx *ctx);

struct pc_scan_engine_ops {
	const char *name;   /* "connect", "syn", "udp" */
	enum pc_proto proto;
	bool needs_raw;     /* needs CAP_NET_RAW */
	/* Open what needs privileges (raw sockets) before capabilities drop. */
	int (*prepare)(struct pc_scan_ctx *ctx, void **ret_state, struct pc_error *err);
	/* Run the whole pass. */
	int (*run)(struct pc_scan_ctx *ctx, void *state, struct pc_error *err);
	void (*release)(void *state);
};

#endif
