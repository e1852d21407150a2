/*
 * schema.h - the ledger's schema, written once for both engines (internal).
 *
 * SQLite (ledger_sqlite.c) and PostgreSQL (ledger_pg.c) hold the same
 * tables. The DDL of every version (schema.c), the endpoint column list and
 * the row values (schema_values.c), the loader (schema_load.c) and the diff
 * (schema_diff.c) are declared here; pc_ledger_schema_stmt() makes the few
 * per-engine substitutions (the row id), so the two engines cannot drift
 * apart. Internal to src/ledger.
 */
#ifndef PC_LEDGER_SCHEMA_H
#define PC_LEDGER_SCHEMA_H

#include "ledger/ledger.h"

enum pc_ledger_engine { PC_ENGINE_SQLITE = 0, PC_ENGINE_PG };

/* migrations[v] is a NULL-terminated list of statements taking version
 * v - 1 to v (migrations[0] is NULL). */
extern const char *const *const pc_ledger_migrations[PC_LEDGER_SCHEMA_VERSION + 1];

/* The statement for engine: copied into buf with the engine's words.
 * 0 or PC_ETOOBIG. */
int pc_ledger_schema_stmt(enum pc_ledger_engine engine, const char *stmt, char *buf, size_t len);

enum { PC_LIST_RISK = 0, PC_LIST_POLICY = 1, PC_LIST_AUTH = 2 };

/* Endpoint columns, in the order of enum ep_col. */
extern const char *const pc_ledger_ep_cols[];

enum ep_col {
	C_SEQ, C_IDENT, C_NS_ID, C_SOURCE, C_PROTO, C_ADDRESS, C_PORT, C_STATE, C_BIND,
	C_NETNS_INODE, C_NETNS_NAME, C_HOSTNAME, C_PEER_ADDRESS, C_PEER_PORT, C_RTT,
	C_VERIFIED, C_REACHABLE, C_VRTT, C_VERROR,
	C_SERVICE, C_SVC_NAME, C_SVC_PRODUCT, C_SVC_VERSION, C_SVC_TLS, C_SVC_AUTH,
	C_SVC_EVIDENCE, C_SVC_BANNER,
	C_TLS, C_TLS_VERSION, C_TLS_CIPHER, C_TLS_SUBJECT, C_TLS_ISSUER, C_TLS_NOT_AFTER,
	C_TLS_SELF_SIGNED,
	C_RECHECK, C_CLAIMED, C_RECHECK_REASON, C_N_OWNERS,
	C_SSH, C_SSH_TYPE, C_SSH_FP,
	C_RISK, C_RISK_SEVERITY, C_RISK_SCORE, C_RISK_CATEGORY, C_RISK_REMEDIATION,
	C_POLICY, C_POLICY_RULE, C_POLICY_VERDICT, C_POLICY_OWNER, C_POLICY_DOC,
	C_PROBE_SKIPPED, C_FORWARD, C_FORWARD_KIND, C_FORWARD_RULE,
	C_D_OWNER, C_D_FIRST, /* d_exe ... d_verdict: PC_DRIFT_COUNT columns */
	C_D_HASH = C_D_FIRST + PC_DRIFT_COUNT,
	C_COUNT,
};

/* One value to store: what either engine binds. Text is capped at
 * PC_LEDGER_TEXT_MAX when bound. */
enum pc_ledger_vtype { PC_V_NULL = 0, PC_V_INT, PC_V_DOUBLE, PC_V_TEXT };
struct pc_ledger_value {
	enum pc_ledger_vtype type;
	int64_t i;
	double d;
	const char *s;
};

/* The values of endpoint seq of snap, one per ep_col (C_SEQ first), strings
 * in arena. 0 or PC_ENOMEM. */
int pc_ledger_endpoint_values(struct pc_arena *arena, const struct pc_snapshot *snap,
			      size_t seq, const char *ident, struct pc_ledger_value *v);

/* The snapshot row's values, in the order of PC_LEDGER_SNAPSHOT_INSERT's
 * columns (PC_LEDGER_SNAPSHOT_NCOLS of them). */
#define PC_LEDGER_SNAPSHOT_NCOLS 32
extern const char pc_ledger_snapshot_insert_cols[];
/* The host id and origin a snapshot row gets: meta's, else the default
 * host id and a new uuid. */
struct pc_ledger_ids {
	char host_id[256];
	char origin[PC_LEDGER_UUID_LEN];
	char digest[17];
};
/* 0, PC_ENOMEM, or PC_EIO (no random source for the uuid). idents: the
 * endpoints' identity keys (pc_ledger_snapshot_idents), for the digest. */
int pc_ledger_snapshot_values(const struct pc_snapshot *snap, const struct pc_ledger_meta *meta,
			      const char *const *idents, struct pc_arena *arena,
			      struct pc_ledger_value *v, struct pc_ledger_ids *ids);
/* "INSERT INTO snapshot (...) VALUES (...) RETURNING id". Caller frees. */
char *pc_ledger_snapshot_sql(enum pc_ledger_engine engine);

/* Schema 4's rows: an address of the snapshot (seq, netns_inode,
 * netns_name, address, prefix_len) and a range its scan covered (seq, kind,
 * first_address, last_address, first_port, last_port), each after the
 * snapshot id. Strings in arena. 0 or PC_ENOMEM. */
#define PC_LEDGER_ADDRESS_NCOLS 5
#define PC_LEDGER_COVER_NCOLS 6
extern const char pc_ledger_address_insert_cols[];
extern const char pc_ledger_cover_insert_cols[];
int pc_ledger_address_values(struct pc_arena *arena, const struct pc_snapshot *snap, size_t i,
			     struct pc_ledger_value *v);
int pc_ledger_cover_values(struct pc_arena *arena, const struct pc_snapshot *snap, size_t i,
			   struct pc_ledger_value *v);
/* Both as a table the engines loop over: every row of table for snap is
 * values(arena, snap, i, v) for i < count(snap), inserted as the snapshot
 * id and then ncols values (stmt: PostgreSQL's prepared statement name). */
struct pc_ledger_rows {
	const char *table, *cols, *stmt;
	int ncols;
	size_t (*count)(const struct pc_snapshot *snap);
	int (*values)(struct pc_arena *arena, const struct pc_snapshot *snap, size_t i,
		      struct pc_ledger_value *v);
};
#define PC_LEDGER_N_ROWS 2
extern const struct pc_ledger_rows pc_ledger_rows[PC_LEDGER_N_ROWS];
/* "INSERT INTO table (cols) VALUES (n placeholders)". Caller frees. */
char *pc_ledger_insert_sql(enum pc_ledger_engine engine, const char *table, const char *cols,
			   int n);

/* An owner's row (17 values: snapshot_id, endpoint_seq, seq, ...). */
#define PC_LEDGER_OWNER_NCOLS 17
extern const char pc_ledger_owner_insert_cols[];
void pc_ledger_owner_values(int64_t id, size_t seq, size_t i, const struct pc_owner *o,
			    struct pc_ledger_value *v);

/* The endpoint INSERT (insert) or the SELECT of one snapshot's endpoints,
 * from ep_cols; placeholders are "?" (SQLite) or "$N" (PostgreSQL).
 * Caller frees. */
char *pc_ledger_endpoint_sql(enum pc_ledger_engine engine, bool insert);

/* Identity keys of every endpoint, unique within the snapshot ("#2", "#3"
 * for repeats). *ret is malloc'd, the strings in arena. 0 or PC_ENOMEM. */
int pc_ledger_snapshot_idents(struct pc_arena *arena, const struct pc_snapshot *snap,
			      const char ***ret);

/* Diff helpers both engines use. */
struct pc_ledger_change *pc_ledger_diff_add(struct pc_ledger_diff *d);
void pc_ledger_diff_sort(struct pc_ledger_diff *d);
bool pc_ledger_same_str(const char *a, const char *b);

/* --- reading rows back: one loader over either engine's result rows --- */

/* A row of a query result, read through the engine's accessors. text()
 * returns NULL for NULL and sets *len; i64()/dbl() return 0 for NULL. */
struct pc_ledger_rd {
	const void *ctx;
	int row;
	bool (*is_null)(const struct pc_ledger_rd *r, int col);
	int64_t (*i64)(const struct pc_ledger_rd *r, int col);
	double (*dbl)(const struct pc_ledger_rd *r, int col);
	const char *(*text)(const struct pc_ledger_rd *r, int col, size_t *len);
};

/* What the loaders mark: values out of range (bad), allocation failed. */
struct pc_ledger_load_state {
	struct pc_snapshot *snap;
	bool bad, oom;
};

/* One row to a reader; non-zero stops the query. */
typedef int (*pc_ledger_row_fn)(void *arg, const struct pc_ledger_rd *r);
/* How an engine runs one read query: sql has numbered parameters ?1, ?2
 * ... bound to ids[0..n_ids); every row goes to fn until it returns
 * non-zero. */
typedef int (*pc_ledger_query_fn)(void *engine, const char *sql, const int64_t *ids, int n_ids,
				  pc_ledger_row_fn fn, void *arg, struct pc_error *err,
				  const char *what);

/* Load snapshot id through query (the caller holds one read transaction
 * around it); where names the ledger in messages. */
int pc_ledger_load_with(pc_ledger_query_fn query, void *engine, int64_t id,
			struct pc_snapshot **ret, struct pc_ledger_meta *ret_meta,
			const char *where, struct pc_error *err);
/* Diff a to b (a 0: nothing before) through query, in one read transaction
 * the caller holds. */
int pc_ledger_diff_with(enum pc_ledger_engine engine, pc_ledger_query_fn query, void *conn,
			int64_t a, int64_t b, struct pc_ledger_diff *d, const char *where,
			struct pc_error *err);

/* Retention's cut, the snapshots it removes: by count (id <= ?1) or age
 * (started_at < ?2), never one still owed to the central ledger (outbox):
 * store and forward loses nothing to --keep. */
#define PC_LEDGER_RETAIN_CUT(P1, P2)                                                         \
	"(id <= " P1 " OR started_at < " P2 ")"                                            \
	" AND id NOT IN (SELECT snapshot_id FROM outbox WHERE central_id IS NULL)"

/* The columns a diff reads of each side. */
#define PC_LEDGER_DIFF_COLS "ident, ns_id, source, proto, address, port, hostname, d_owner, " \
			    "d_exe, d_unit, d_image, d_service, d_auth, d_bind, d_state, " \
			    "d_severity, d_verdict"
#define PC_LEDGER_DIFF_NCOLS 17

#endif
