/*
 * ledger.h - the ledger: every audit and scan remembered, and the drift
 * between any two.
 *
 * One small store interface, `const struct pc_ledger_ops`, with SQLite as
 * its first implementation (ledger_sqlite.c). The fleet ledger puts the same
 * schema on PostgreSQL later, so the interface speaks in snapshots, history
 * rows and changes, never in SQL, and the schema stays portable SQL
 * (docs/ledger.md says where SQLite needed its own words).
 *
 * What is trusted: the ledger file is ours (0600 in a 0700 directory), but a
 * corrupt or foreign file must give a clear error naming it, never a crash;
 * every string read back is length-checked by SQLite and copied into the
 * loaded snapshot's arena.
 *
 * Identity (identity.c): an endpoint's key for drift is computed by ONE
 * function, pc_ledger_identity(), when the snapshot is stored, and kept as
 * an indexed column, so a diff is a join on that key over two snapshots, not
 * a load of every snapshot.
 */
#ifndef PC_LEDGER_LEDGER_H
#define PC_LEDGER_LEDGER_H

#include "core/arena.h"
#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Newest schema version (PRAGMA user_version in SQLite). */
#define PC_LEDGER_SCHEMA_VERSION 4

/* Bounds of what the ledger keeps of one value, so a hostile banner cannot
 * grow the file without limit (the writers cap them already; this is the
 * last line). */
#define PC_LEDGER_TEXT_MAX 8192

struct pc_ledger; /* an open store; its first member is its ops */

/* What the snapshot row carries beyond struct pc_snapshot. */
struct pc_ledger_meta {
	const char *kind;  /* "audit" or "scan" */
	const char *scope; /* what was audited: "host", "net:198.18.0.0/24", ... */
	/* the fleet (schema 3); each may be NULL */
	const char *host_id;  /* --host-id: the machine id by default */
	const char *origin;   /* the snapshot's uuid where it was first stored */
	const char *sweep_id; /* --sweep-id: the shards of one sweep share it */
	const char *segment;  /* --segment: the scanner's network segment */
};

/* One line of `history`. Strings live until the next row. */
struct pc_ledger_row {
	int64_t id;
	int64_t started_at_ms, finished_at_ms;
	const char *host, *kind, *scope, *command;
	uint64_t n_endpoints, n_warnings, n_findings;
	/* endpoints whose risk has that severity, plus findings of it */
	uint64_t by_severity[PC_SEV_COUNT];
};

/* Which snapshot a selector names (see pc_ledger_resolve). */
enum pc_ledger_find_kind {
	PC_LEDGER_FIND_ID = 0,     /* exactly id */
	PC_LEDGER_FIND_NTH_LATEST, /* n = 0 the latest, 1 the one before, ... */
	PC_LEDGER_FIND_AT_TIME,    /* the latest started at or before time_ms */
	PC_LEDGER_FIND_PREV_SCOPE, /* the latest before id with id's host and scope */
};

struct pc_ledger_find {
	enum pc_ledger_find_kind kind;
	int64_t id;
	uint64_t n;
	int64_t time_ms;
};

/* Retention: keep the newest `count` snapshots (0: no limit) and those
 * started within `max_age_ms` (0: no limit). */
struct pc_ledger_keep {
	uint64_t count;
	int64_t max_age_ms;
};

enum pc_ledger_action { PC_CHANGE_ADDED = 0, PC_CHANGE_REMOVED, PC_CHANGE_CHANGED };

/* The columns whose change is drift (a pid is not among them). */
enum pc_ledger_drift_field {
	PC_DRIFT_EXE = 0,
	PC_DRIFT_UNIT,
	PC_DRIFT_IMAGE,
	PC_DRIFT_SERVICE,
	PC_DRIFT_AUTH,
	PC_DRIFT_BIND,
	PC_DRIFT_STATE,
	PC_DRIFT_SEVERITY,
	PC_DRIFT_VERDICT,
};
#define PC_DRIFT_COUNT 9

/* An endpoint's drift values, each a string or NULL (unknown / none). */
struct pc_ledger_drift {
	const char *v[PC_DRIFT_COUNT];
	const char *owner; /* "pid/comm", for display only: never compared */
};

struct pc_ledger_change {
	enum pc_ledger_action action;
	const char *ident;
	/* the endpoint as it is now (added, changed) or was (removed) */
	const char *host;
	const char *namespace_id; /* namespace identity, "" for the host's own */
	const char *source, *proto, *address, *hostname;
	unsigned port;
	struct pc_ledger_drift now;
	/* changed only: the values before, and which fields differ */
	struct pc_ledger_drift before;
	bool differs[PC_DRIFT_COUNT];
};

struct pc_ledger_diff {
	struct pc_arena arena; /* every string below */
	int64_t a, b;          /* a is 0 when there was nothing before */
	struct pc_ledger_change *changes; /* sorted by identity */
	size_t n_changes, cap_changes;
};

/*
 * The store interface. Every function returns 0 or a negative PC_E* or errno
 * code and fills err with a message that names the ledger. Missing
 * snapshots are -ENOENT.
 */
struct pc_ledger_ops {
	const char *name;
	/* Open (create when `create`) the store at location. Sets the busy
	 * timeout before anything else. */
	int (*open)(const char *location, bool create, struct pc_ledger **ret,
		    struct pc_error *err);
	/* Bring the schema to PC_LEDGER_SCHEMA_VERSION; refuses a newer one. */
	int (*migrate)(struct pc_ledger *l, struct pc_error *err);
	/* Store a whole snapshot in one transaction: visible whole or not at
	 * all. */
	int (*store)(struct pc_ledger *l, const struct pc_snapshot *snap,
		     const struct pc_ledger_meta *meta, int64_t *ret_id, struct pc_error *err);
	/* Snapshots, newest first, at most limit (0: all); cb returning
	 * non-zero stops and is returned. */
	int (*list)(struct pc_ledger *l, uint64_t limit,
		    int (*cb)(void *ctx, const struct pc_ledger_row *row), void *ctx,
		    struct pc_error *err);
	int (*find)(struct pc_ledger *l, const struct pc_ledger_find *q, int64_t *ret_id,
		    struct pc_error *err);
	/* Load a stored snapshot back; *ret_meta strings live in the snapshot. */
	int (*load)(struct pc_ledger *l, int64_t id, struct pc_snapshot **ret,
		    struct pc_ledger_meta *ret_meta, struct pc_error *err);
	/* Changes from snapshot a (0: nothing) to b, by identity join. */
	int (*diff)(struct pc_ledger *l, int64_t a, int64_t b, struct pc_ledger_diff *ret,
		    struct pc_error *err);
	/* Delete what keep does not keep; *ret_deleted snapshots. */
	int (*retain)(struct pc_ledger *l, const struct pc_ledger_keep *keep, int64_t now_ms,
		      uint64_t *ret_deleted, struct pc_error *err);
	/* A read-only question (`portcensus fleet`): portable SQL with "?"
	 * placeholders bound to params as text (NULL allowed); every row's
	 * columns as text (NULL for NULL) to cb, which may stop it by
	 * returning non-zero (returned). Both engines call cb while rows are
	 * still arriving (SQLite steps, PostgreSQL reads in single-row mode),
	 * so cb must not use the same ledger before query returns. */
	int (*query)(struct pc_ledger *l, const char *sql, const char *const *params,
		     int n_params, int (*cb)(void *ctx, int ncols, const char *const *cols),
		     void *ctx, struct pc_error *err);
	void (*close)(struct pc_ledger *l);
};

struct pc_ledger {
	const struct pc_ledger_ops *ops;
};

extern const struct pc_ledger_ops pc_ledger_sqlite;
extern const struct pc_ledger_ops pc_ledger_pg; /* ledger_pg.c */

/* A random (version 4) uuid, "xxxxxxxx-xxxx-...": 0 or -errno. */
#define PC_LEDGER_UUID_LEN 37
int pc_ledger_new_uuid(char buf[PC_LEDGER_UUID_LEN]);
/* The host id: the first line of /etc/machine-id (PORTCENSUS_MACHINE_ID
 * names another file, for tests), else the host name. 0 or PC_EIO. */
int pc_ledger_default_host_id(char *buf, size_t len);

/* The scan permutation seed of a sweep id (FNV-1a), so that the shards of
 * one sweep, started apart, scan disjoint parts of the same order. */
uint64_t pc_ledger_sweep_seed(const char *sweep_id);

/* Whether location names a PostgreSQL ledger (postgresql:// or postgres://). */
bool pc_ledger_is_url(const char *location);

/* --- identity.c ---------------------------------------------------------- */

/* The identity key of ep in snap (host-side: host, namespace identity,
 * proto, bind address, port, and the peer of an established connection;
 * network-side: scanned address, proto, port). Allocated in arena. */
const char *pc_ledger_identity(struct pc_arena *arena, const struct pc_snapshot *snap,
			       const struct pc_endpoint *ep);
/* The namespace identity: "pod:NAMESPACE/NAME" when an owner is in a
 * Kubernetes pod, else the namespace's name (a /run/netns name or the
 * container's name, which the inventory sets), else the owners' container
 * name, else "" (the host's own namespace, or one nothing names). In arena
 * when composed; NULL on ENOMEM. */
const char *pc_ledger_namespace_id(struct pc_arena *arena, const struct pc_endpoint *ep);
/* The drift values of ep, strings in arena. 0 or PC_ENOMEM. */
int pc_ledger_drift_of(struct pc_arena *arena, const struct pc_endpoint *ep,
		       struct pc_ledger_drift *ret);
/* A 64-bit hash (FNV-1a) of the drift values, stored in the identity index
 * so a diff compares two snapshots without reading unchanged rows; equal
 * hashes are trusted (a collision hides one change with odds of 2^-64),
 * unequal ones are compared value by value. */
uint64_t pc_ledger_drift_hash(const struct pc_ledger_drift *d);
/* "exe", "unit", ... */
const char *pc_ledger_drift_name(enum pc_ledger_drift_field f);
const char *pc_ledger_action_name(enum pc_ledger_action a);

/* --- ledger.c: the front end the CLI and the pipeline use ----------------- */

/* The ledger path: PORTCENSUS_DB, else /var/lib/portcensus/ledger.db as
 * root, else $XDG_STATE_HOME (default ~/.local/state)/portcensus/ledger.db.
 * 0 or PC_EINVAL (no usable home) / PC_ETOOBIG. */
int pc_ledger_default_path(char *buf, size_t len, struct pc_error *err);

/* Open the ledger at path, migrated: a postgresql:// (or postgres://) URL
 * is the central ledger (ledger_pg.c; the database must exist), anything
 * else an SQLite file. For a file, with create, make the missing
 * directories (0700) and the file (0600); a symbolic link as the file is
 * refused. */
int pc_ledger_open(const char *path, bool create, struct pc_ledger **ret,
		   struct pc_error *err);
void pc_ledger_close(struct pc_ledger *l);

/* What the ledger stage of the pipeline does with a finished snapshot. */
struct pc_ledger_request {
	const char *path;
	/* an agent of a fleet: the central ledger's URL; the snapshot is
	 * stored at path (local) and shipped there (outbox.c). NULL: none */
	const char *central;
	struct pc_ledger_meta meta;
	struct pc_ledger_keep keep;
};
struct pc_ledger_result {
	int rc;        /* 0 stored, or the failure */
	int64_t id;    /* the stored snapshot's id */
	uint64_t deleted; /* snapshots retention removed */
	struct pc_error err;
	/* with a central ledger: the shipping's outcome (ship_rc < 0: the
	 * snapshots stay owed, pending of them) */
	int ship_rc;
	uint64_t shipped, pending;
	struct pc_error ship_err;
};
/* Open, store, apply retention, close. Never fails the audit: the outcome
 * is in res, and the return is res->rc. */
int pc_ledger_record(const struct pc_snapshot *snap, const struct pc_ledger_request *req,
		     struct pc_ledger_result *res);

/* Parse a snapshot selector: an id, "latest", "latest~N", a time
 * ("2026-12-01", "2026-12-01T10:00:00Z") or an age ("-7d", "-12h"; units
 * s m h d w). 0 or PC_EINVAL with a message. */
int pc_ledger_parse_selector(const char *s, int64_t now_ms, struct pc_ledger_find *ret,
			     struct pc_error *err);
/* Resolve a selector to an id; -ENOENT with a message when none. */
int pc_ledger_resolve(struct pc_ledger *l, const struct pc_ledger_find *q, int64_t *ret_id,
		      struct pc_error *err);
/* Parse --keep: "N" snapshots or "Nd" days. 0 or PC_EINVAL. */
int pc_ledger_parse_keep(const char *s, struct pc_ledger_keep *ret, struct pc_error *err);

/* --- outbox.c: store and forward ---------------------------------------- */

/* Mark local snapshot local_id of the ledger at local_path as owed to the
 * central ledger. */
int pc_ledger_outbox_add(const char *local_path, int64_t local_id, struct pc_error *err);
struct pc_ledger_ship {
	uint64_t shipped; /* stored centrally now (or found there already) */
	uint64_t pending; /* still owed afterwards */
	uint64_t lost;    /* gone from the local ledger before shipping */
};
/* Ship what the local ledger owes to central, oldest first, each exactly
 * once; stops at the first failure (-ECONNREFUSED: unreachable). */
int pc_ledger_ship(const char *local_path, const char *central, struct pc_ledger_ship *res,
		   struct pc_error *err);

void pc_ledger_diff_init(struct pc_ledger_diff *d);
void pc_ledger_diff_free(struct pc_ledger_diff *d);

#endif
