/*
 * scan_int.h - what scan.c, scan_worker.c and scan_dryrun.c share: the
 * scan context, the set of reported values and the run of the passes.
 * Internal to src/scan/: engines see only scan.h.
 */
#ifndef PC_SCAN_INT_H
#define PC_SCAN_INT_H

#include "scan/scan.h"
#include "scan/permute.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BITMAP_MAX_BITS (UINT64_C(1) << 36)
#define NAME_CACHE 64

struct seen_set {
	uint8_t *bits; /* mmap'ed bitmap, or NULL */
	size_t bits_len;
	uint64_t *hash; /* open addressing of value + 1, when no bitmap */
	size_t hash_cap, hash_n;
};

struct pc_scan_ctx {
	const struct pc_scan_opts *opts;
	struct pc_snapshot *snap;
	const struct pc_targets *targets;
	const struct pc_ports *ports;
	uint64_t n_addrs;

	/* the current pass */
	enum pc_proto proto;
	uint64_t n_ports;
	uint64_t n;
	struct pc_permute perm;
	uint64_t shard_first, shard_step, shard_len;
	_Atomic uint64_t next;

	/* pacing: a token bucket, at a fixed --rate or at the adaptive
	 * pacer's total (pace != NULL) */
	pthread_mutex_t pace_lock;
	double rate, burst, tokens, refilled_ms;
	struct pc_pace *pace;
	double hist_sum, hist_t0; /* rate history: the open interval */
	uint64_t hist_sent;

	/* results */
	pthread_mutex_t lock;
	struct seen_set seen;
	uint64_t results, found;
	double last_progress_ms;
	double t0; /* start of the first pass */
	int error; /* first failure inside pc_scan_result (ENOMEM) */
	struct {
		const char *key, *copy;
	} names[NAME_CACHE];
};

/* ---- the passes, here or in the worker ---- */

struct pc_scan_run_ctx {
	struct pc_scan_ctx *ctx;
	const struct pc_scan_engine_ops **ops;
	void **state;
	uint64_t seed;
	/* the worker: its channel and the options its engines see */
	struct pc_privsep *ps;
	struct pc_scan_opts wopts;
	/* the parent: the caller's options, what was reported per proto, the
	 * fds the worker must close */
	const struct pc_scan_opts *opts;
	struct seen_set seen[2];
	const int *close_list;
	size_t n_close_list;
};

uint64_t pc_scan_random_seed(void);
/* Set ctx up for one pass over proto. */
void pc_scan_pass_init(struct pc_scan_ctx *ctx, enum pc_proto proto, uint64_t seed);
int pc_scan_check_opts(const struct pc_scan_opts *o, struct pc_error *err);
/* 0, or PC_ENOMEM (the adaptive pacer); pc_scan_ctx_free either way */
int pc_scan_ctx_init(struct pc_scan_ctx *ctx, const struct pc_scan_opts *o, struct pc_snapshot *snap);
void pc_scan_ctx_free(struct pc_scan_ctx *ctx);

/* The set of reported index values: 0 or PC_ENOMEM; add: 1 new, 0 seen. */
int pc_scan_seen_init(struct seen_set *s, uint64_t n);
void pc_scan_seen_free(struct seen_set *s);
int pc_scan_seen_add(struct seen_set *s, uint64_t v);

/* Whether a result in state st is reported under o's --show. */
bool pc_scan_shown(const struct pc_scan_opts *o, enum pc_state st);
/* A shown result becomes an endpoint: 0 or PC_ENOMEM. */
int pc_scan_emit(struct pc_scan_ctx *ctx, const struct pc_addr *addr, enum pc_proto proto,
		 uint16_t port, enum pc_state state, double rtt_ms);

/* Both passes, in this process (or in the worker, under scan_worker). */
int pc_scan_run_passes(struct pc_scan_run_ctx *run, struct pc_error *err);
/* Fork the confined worker, which runs the passes (scan_worker.c). */
int pc_scan_run_split(struct pc_scan_run_ctx *run, struct pc_error *err);

#endif
