/*
 * exposure.h - the host view joined to the network view, over any ledger
 * (exposure.c): what the sweeps of each segment saw of every listener the
 * agents report, and the open ports no agent explains. Used by
 * `portcensus fleet exposure` and `fleet unexplained`.
 */
#ifndef PC_LEDGER_EXPOSURE_H
#define PC_LEDGER_EXPOSURE_H

#include "ledger/ledger.h"

/* What the newest sweep of a segment that covered a port saw of it. */
enum pc_exposure_seen {
	PC_SEEN_NEVER = 0, /* no complete sweep of the segment covered it */
	PC_SEEN_OPEN,
	PC_SEEN_CLOSED,
	PC_SEEN_FILTERED,
	PC_SEEN_NOT_OPEN, /* scanned, no record kept: closed or filtered */
};
const char *pc_exposure_seen_name(enum pc_exposure_seen s);

/* One listener (or forwarded port) at one address, from one segment. The
 * strings live in the caller's arena. */
struct pc_exposure_row {
	const char *host_id, *host;
	const char *address;        /* where it answers; "*" when its namespace's
				     * addresses are unknown */
	const char *listen_address; /* as bound: "0.0.0.0", "198.18.1.2" */
	enum pc_proto proto;
	uint16_t port;
	bool forwarded;
	const char *service, *exe, *namespace_id; /* "" when unknown */
	const char *segment;                      /* "" for scans that named none */
	enum pc_exposure_seen seen;
	const char *sweep; /* the sweep id (or "snapshot N"); NULL for never */
	int64_t scanned_at_ms;
};

/* For every listener and forwarded port (not on loopback) of each host's
 * latest host audit, one row per segment (only segment when not NULL) to
 * cb, which may stop it by returning non-zero (returned). */
int pc_ledger_exposure(struct pc_ledger *l, const char *segment, struct pc_arena *arena,
		       int (*cb)(void *ctx, const struct pc_exposure_row *row), void *ctx,
		       struct pc_error *err);

/* A port the newest covering sweep of its segment saw open that no
 * agent's listener or forward explains. */
struct pc_unexplained {
	const char *address;
	enum pc_proto proto;
	uint16_t port;
	const char *segment, *sweep;
	int64_t scanned_at_ms;
	/* the agent host that reports the address (a hidden socket or a
	 * device in front of it), or NULL (a host without an agent) */
	const char *host_id, *host;
	enum pc_severity severity;
};

int pc_ledger_unexplained(struct pc_ledger *l, const char *segment, struct pc_arena *arena,
			  int (*cb)(void *ctx, const struct pc_unexplained *u), void *ctx,
			  struct pc_error *err);

/* The evidence the classifier takes from the ledger for the host
 * listeners of snap (not yet stored): for each, at each address it answers
 * on (snap->addresses for a wildcard), what the newest complete covering
 * sweep of every segment saw; never-scanned ones are left out. Read from
 * req's central ledger when it has one, else its local file; a ledger that
 * cannot be read gives no evidence (*ret_n 0), never a failed audit. The
 * array lives in snap's arena. 0 or PC_ENOMEM. */
struct pc_ledger_request;
int pc_ledger_evidence(const struct pc_ledger_request *req, struct pc_snapshot *snap,
		       const struct pc_exposure_evidence **ret, size_t *ret_n);

#endif
