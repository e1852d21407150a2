/*
 * exposure_int.h - the working set of the exposure join (exposure.c), shared
 * with the classifier's evidence (exposure_evidence.c). Internal to
 * src/ledger/exposure*.c.
 */
#ifndef PC_LEDGER_EXPOSURE_INT_H
#define PC_LEDGER_EXPOSURE_INT_H

#include "ledger/exposure.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Addresses one host's evidence asks about at most; a host with more
 * reads every scan endpoint instead. */
#define ONLY_MAX 64

/* Distinct service, executable and namespace names kept once each. */
#define INTERN_SLOTS 1024

struct sweep {
	const char *name;    /* the sweep id, or "snapshot N" */
	const char *segment; /* "" when the scan named none */
	int64_t started_at, newest_id;
	uint32_t shards;     /* 0: not sharded */
	uint64_t shard_seen; /* bit i: shard i + 1 stored (up to 64 shards) */
	struct pc_scan_range *cover;
	size_t n_cover, cap_cover;
	size_t order; /* index before sort_sweeps */
};

/* A scan snapshot and the sweep it belongs to. */
struct snap_sweep {
	int64_t id;
	size_t sweep;
};

struct scan_ep {
	size_t sweep;
	enum pc_proto proto;
	uint16_t port;
	struct pc_addr addr;
	enum pc_state state;
};

struct point {
	struct pc_exposure_row row;
	struct pc_addr addr; /* family 0: none known */
};

struct host_addr {
	struct pc_addr addr;
	const char *host_id, *host;
};

/* What the agents' query returns: a host's latest audit, ... */
struct agent_host {
	int64_t id;
	const char *host_id, *host;
};

/* ... an address of one of its namespaces, ... */
struct agent_addr {
	int64_t snap, inode, seq;
	bool has_inode, parsed;
	struct pc_addr addr;
	const char *text;
};

/* ... and a listener or forwarded front of it, not on loopback. */
struct listener {
	int64_t snap, seq, inode;
	size_t host; /* index in hosts, once sorted */
	bool has_inode, have_listen, forwarded;
	enum pc_proto proto;
	uint16_t port;
	enum pc_bind bind;
	struct pc_addr listen;
	const char *listen_text, *service, *exe, *ns;
};

struct work {
	struct pc_ledger *l;
	struct pc_arena *arena;
	struct pc_error *err;
	const char *segment; /* filter, or NULL */
	/* only the scan endpoints at these addresses (the classifier's
	 * evidence for one host), or all when n_only is 0 */
	const char *only[ONLY_MAX];
	int n_only;
	struct snap_sweep *snaps; /* sorted by id */
	size_t n_snaps, cap_snaps;
	struct sweep *sweeps;
	size_t n_sweeps, cap_sweeps;
	struct scan_ep *eps;
	size_t n_eps, cap_eps;
	struct point *points;
	size_t n_points, cap_points;
	struct host_addr *addrs;
	size_t n_addrs, cap_addrs;
	const char **segments;
	size_t n_segments, cap_segments;
	struct agent_host *hosts;
	size_t n_hosts, cap_hosts;
	struct agent_addr *agent_addrs;
	size_t n_agent_addrs, cap_agent_addrs;
	struct listener *listeners;
	size_t n_listeners, cap_listeners;
	const char *interned[INTERN_SLOTS];
	/* where an agent's point goes: kept (add_point: unexplained looks
	 * them up) or written out as it is made (emit_point: exposure) */
	int (*sink)(struct work *w, const struct point *p);
	int (*emit)(void *ctx, const struct pc_exposure_row *row);
	void *emit_ctx;
	bool oom, bad;
};

bool pc_exposure_grow(void **v, size_t *cap, size_t n, size_t size);
size_t pc_exposure_newest_cover(const struct work *w, const char *segment,
                                const struct pc_addr *addr, enum pc_proto proto, uint16_t port);
enum pc_exposure_seen pc_exposure_seen_by(const struct work *w, size_t k,
                                          const struct pc_addr *addr, enum pc_proto proto,
                                          uint16_t port);
int pc_exposure_prepare(struct work *w, struct pc_ledger *l, const char *segment,
                        struct pc_arena *arena, struct pc_error *err);
void pc_exposure_work_free(struct work *w);

#endif
