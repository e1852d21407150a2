/*
 * ledger_pg_int.h - what the PostgreSQL ledger's files share (internal to
 * src/ledger): the connection, statement parameters as text, the statement
 * helpers (ledger_pg.c) and the ops each file implements.
 */
#ifndef PC_LEDGER_PG_INT_H
#define PC_LEDGER_PG_INT_H

#include "ledger/ledger.h"
#include "ledger/schema.h"

#include <libpq-fe.h>

#define MAX_PARAMS 80

struct pg_ledger {
	struct pc_ledger base;
	PGconn *conn;
	char where[256]; /* "postgresql://HOST/DB", for messages */
	bool prepared;
	/* a store's INSERTs in pipeline mode (ledger_pg_store.c): sent, and
	 * not yet read back */
	bool pipe;
	int pipe_pending;
};

/* Parameters of one statement, as text. */
struct params {
	int n;
	const char *v[MAX_PARAMS];
	char num[MAX_PARAMS][32];
	char *owned[MAX_PARAMS];
};

void pc_ledger_pg_params_free(struct params *p);
/* Append n values (text cut at PC_LEDGER_TEXT_MAX, made valid UTF-8).
 * 0, PC_ETOOBIG or PC_ENOMEM. */
int pc_ledger_pg_params_add(struct params *p, const struct pc_ledger_value *v, int n);
int pc_ledger_pg_params_int(struct params *p, int64_t i);

/* The error of what on l (res may be NULL): -ECONNREFUSED when the
 * connection is gone, else PC_EIO; the message names the ledger. */
int pc_ledger_pg_error(struct pg_ledger *l, struct pc_error *err, const char *what,
                       const PGresult *res);
/* A statement's result: an error (res cleared) or *ret (or cleared when
 * the caller wants no rows). */
int pc_ledger_pg_result(struct pg_ledger *l, PGresult *res, PGresult **ret, struct pc_error *err,
			const char *what);
/* Run sql with params; *ret gets the result when the caller wants rows. */
int pc_ledger_pg_run(struct pg_ledger *l, const char *sql, const struct params *p, PGresult **ret,
		     struct pc_error *err, const char *what);
int pc_ledger_pg_exec(struct pg_ledger *l, const char *sql, struct pc_error *err);
int pc_ledger_pg_run_prepared(struct pg_ledger *l, const char *name, const struct params *p,
			      PGresult **ret, struct pc_error *err);
void pc_ledger_pg_rollback(struct pg_ledger *l);
/* A column as int64 (0 when NULL or not a number: the loader checks
 * ranges), or as a string (NULL for NULL). */
int64_t pc_ledger_pg_get_i64(const PGresult *res, int row, int col);
const char *pc_ledger_pg_get_str(const PGresult *res, int row, int col);

/* The ops (struct pc_ledger_ops) of ledger_pg_store.c and ledger_pg_query.c. */
int pc_ledger_pg_store(struct pc_ledger *base, const struct pc_snapshot *snap,
		       const struct pc_ledger_meta *meta, int64_t *ret_id, struct pc_error *err);
int pc_ledger_pg_list(struct pc_ledger *base, uint64_t limit,
		      int (*cb)(void *ctx, const struct pc_ledger_row *row), void *ctx,
		      struct pc_error *err);
int pc_ledger_pg_find(struct pc_ledger *base, const struct pc_ledger_find *q, int64_t *ret_id,
		      struct pc_error *err);
int pc_ledger_pg_load(struct pc_ledger *base, int64_t id, struct pc_snapshot **ret,
		      struct pc_ledger_meta *ret_meta, struct pc_error *err);
int pc_ledger_pg_diff(struct pc_ledger *base, int64_t a, int64_t b, struct pc_ledger_diff *d,
		      struct pc_error *err);
int pc_ledger_pg_retain(struct pc_ledger *base, const struct pc_ledger_keep *keep, int64_t now_ms,
			uint64_t *ret_deleted, struct pc_error *err);
int pc_ledger_pg_query(struct pc_ledger *base, const char *sql, const char *const *params,
                       int n_params, int (*cb)(void *ctx, int ncols, const char *const *cols),
                       void *ctx, struct pc_error *err);

#endif
