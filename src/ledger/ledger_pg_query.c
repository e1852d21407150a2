/*
 * ledger_pg_query.c - the reads of the central ledger: history, selectors,
 * load, diff, retention and the `fleet` questions.
 *
 * What is trusted: nothing read back. Rows reach the shared loader and diff
 * (schema_load.c, schema_diff.c) through struct pc_ledger_rd, which bounds
 * numbers and copies strings; fleet answers go to the caller as text.
 */
#include "ledger/ledger_pg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- history and selectors ------------------------------------------------ */

int pc_ledger_pg_list(struct pc_ledger *base, uint64_t limit,
		      int (*cb)(void *ctx, const struct pc_ledger_row *row), void *ctx,
		      struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	struct params p = {0};
	pc_ledger_pg_params_int(&p, limit && limit < INT64_MAX ? (int64_t)limit : INT64_MAX);
	PGresult *res;
	int r = pc_ledger_pg_run(l,
		    "SELECT id, started_at, finished_at, host, kind, scope, command,"
		    " n_endpoints, n_warnings, n_findings,"
		    " n_info, n_low, n_medium, n_high, n_critical"
		    " FROM snapshot ORDER BY id DESC LIMIT $1",
		    &p, &res, err, "list snapshots");
	pc_ledger_pg_params_free(&p);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		struct pc_ledger_row row = {
			.id = pc_ledger_pg_get_i64(res, i, 0),
			.started_at_ms = pc_ledger_pg_get_i64(res, i, 1),
			.finished_at_ms = pc_ledger_pg_get_i64(res, i, 2),
			.host = pc_ledger_pg_get_str(res, i, 3),
			.kind = pc_ledger_pg_get_str(res, i, 4),
			.scope = pc_ledger_pg_get_str(res, i, 5),
			.command = pc_ledger_pg_get_str(res, i, 6),
			.n_endpoints = (uint64_t)pc_ledger_pg_get_i64(res, i, 7),
			.n_warnings = (uint64_t)pc_ledger_pg_get_i64(res, i, 8),
			.n_findings = (uint64_t)pc_ledger_pg_get_i64(res, i, 9),
		};
		for (int k = 0; k < PC_SEV_COUNT; k++)
			row.by_severity[k] = (uint64_t)pc_ledger_pg_get_i64(res, i, 10 + k);
		r = cb(ctx, &row);
	}
	PQclear(res);
	return r;
}

int pc_ledger_pg_find(struct pc_ledger *base, const struct pc_ledger_find *q, int64_t *ret_id,
		      struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	const char *sql = NULL;
	struct params p = {0};
	switch (q->kind) {
	case PC_LEDGER_FIND_ID:
		sql = "SELECT id FROM snapshot WHERE id = $1";
		pc_ledger_pg_params_int(&p, q->id);
		break;
	case PC_LEDGER_FIND_NTH_LATEST:
		sql = "SELECT id FROM snapshot ORDER BY id DESC LIMIT 1 OFFSET $1";
		pc_ledger_pg_params_int(&p, q->n > INT64_MAX ? INT64_MAX : (int64_t)q->n);
		break;
	case PC_LEDGER_FIND_AT_TIME:
		sql = "SELECT id FROM snapshot WHERE started_at <= $1"
		      " ORDER BY started_at DESC, id DESC LIMIT 1";
		pc_ledger_pg_params_int(&p, q->time_ms);
		break;
	case PC_LEDGER_FIND_PREV_SCOPE:
		sql = "SELECT p.id FROM snapshot s JOIN snapshot p ON p.host = s.host"
		      " AND p.kind = s.kind AND p.scope = s.scope AND p.id < s.id"
		      " WHERE s.id = $1 ORDER BY p.id DESC LIMIT 1";
		pc_ledger_pg_params_int(&p, q->id);
		break;
	}
	if (!sql)
		return pc_error_set(err, PC_EINVAL, "bad snapshot query");
	PGresult *res;
	int r = pc_ledger_pg_run(l, sql, &p, &res, err, "find snapshot");
	pc_ledger_pg_params_free(&p);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1)
		*ret_id = pc_ledger_pg_get_i64(res, 0, 0);
	else
		r = -ENOENT;
	PQclear(res);
	return r;
}

/* --- load ---------------------------------------------------------------- */

struct pg_row {
	const PGresult *res;
	int row;
};

static bool rd_null(const struct pc_ledger_rd *r, int i)
{
	const struct pg_row *p = r->ctx;
	return i >= PQnfields(p->res) || PQgetisnull(p->res, p->row, i);
}

static int64_t rd_i64(const struct pc_ledger_rd *r, int i)
{
	const struct pg_row *p = r->ctx;
	return i < PQnfields(p->res) ? pc_ledger_pg_get_i64(p->res, p->row, i) : 0;
}

static double rd_dbl(const struct pc_ledger_rd *r, int i)
{
	if (rd_null(r, i))
		return 0;
	const struct pg_row *p = r->ctx;
	return strtod(PQgetvalue(p->res, p->row, i), NULL);
}

static const char *rd_text(const struct pc_ledger_rd *r, int i, size_t *len)
{
	*len = 0;
	if (rd_null(r, i))
		return NULL;
	const struct pg_row *p = r->ctx;
	*len = (size_t)PQgetlength(p->res, p->row, i);
	return PQgetvalue(p->res, p->row, i);
}

/* The shared loader's and diff's queries (schema.c): their ?N become $N. */
static int read_rows(void *engine, const char *sql, const int64_t *ids, int n_ids,
		     pc_ledger_row_fn fn, void *arg, struct pc_error *err, const char *what)
{
	struct pg_ledger *l = engine;
	size_t len = strlen(sql) + 1;
	char *q = malloc(len);
	if (!q)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++)
		q[i] = sql[i] == '?' ? '$' : sql[i];
	struct params p = {0};
	for (int i = 0; i < n_ids; i++)
		pc_ledger_pg_params_int(&p, ids[i]);
	PGresult *res;
	int r = pc_ledger_pg_run(l, q, &p, &res, err, what);
	pc_ledger_pg_params_free(&p);
	free(q);
	if (r < 0)
		return r;
	struct pg_row row = {.res = res};
	struct pc_ledger_rd rd = {.ctx = &row, .is_null = rd_null, .i64 = rd_i64, .dbl = rd_dbl,
				  .text = rd_text};
	for (row.row = 0; row.row < PQntuples(res) && r == 0; row.row++)
		r = fn(arg, &rd);
	PQclear(res);
	return r;
}

int pc_ledger_pg_load(struct pc_ledger *base, int64_t id, struct pc_snapshot **ret,
		      struct pc_ledger_meta *ret_meta, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	/* one snapshot of the database for all the queries */
	int r = pc_ledger_pg_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (r < 0)
		return r;
	r = pc_ledger_load_with(read_rows, l, id, ret, ret_meta, l->where, err);
	PQclear(PQexec(l->conn, "COMMIT"));
	return r;
}

/* --- diff ---------------------------------------------------------------- */

int pc_ledger_pg_diff(struct pc_ledger *base, int64_t a, int64_t b, struct pc_ledger_diff *d,
		      struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	/* one snapshot of the database for the whole diff */
	int r = pc_ledger_pg_exec(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (r < 0)
		return r;
	r = pc_ledger_diff_with(PC_ENGINE_PG, read_rows, l, a, b, d, l->where, err);
	PQclear(PQexec(l->conn, "COMMIT"));
	return r;
}

/* --- retention ----------------------------------------------------------- */

int pc_ledger_pg_retain(struct pc_ledger *base, const struct pc_ledger_keep *keep, int64_t now_ms,
			uint64_t *ret_deleted, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	*ret_deleted = 0;
	if (!keep->count && !keep->max_age_ms)
		return 0;
	static const char *const tables[] = {"endpoint_text", "forward_target", "owner",
					     "endpoint",      "finding",        "snapshot_warning",
					     "snapshot_address", "scan_cover",
					     "outbox"};
	struct params p = {0};
	PGresult *res = NULL;
	int r = pc_ledger_pg_exec(l, "BEGIN", err);
	if (r < 0)
		return r;
	/* two agents applying retention at once would each delete what the
	 * other is deleting: one at a time */
	if ((r = pc_ledger_pg_exec(l, "LOCK TABLE snapshot IN SHARE ROW EXCLUSIVE MODE", err)) < 0)
		goto fail;
	int64_t cut_id = 0;
	if (keep->count) {
		pc_ledger_pg_params_int(&p,
		                        keep->count > INT64_MAX ? INT64_MAX : (int64_t)keep->count);
		r = pc_ledger_pg_run(l,
		                     "SELECT id FROM snapshot ORDER BY id DESC LIMIT 1 OFFSET $1",
		                     &p, &res, err, "retention");
		pc_ledger_pg_params_free(&p);
		if (r < 0)
			goto fail;
		if (PQntuples(res) == 1)
			cut_id = pc_ledger_pg_get_i64(res, 0, 0);
		PQclear(res);
		res = NULL;
	}
	int64_t cut_time = keep->max_age_ms ? now_ms - keep->max_age_ms : INT64_MIN;
	char sql[512];
	for (size_t i = 0; i <= sizeof(tables) / sizeof(tables[0]); i++) {
		if (i < sizeof(tables) / sizeof(tables[0]))
			snprintf(sql, sizeof(sql),
				 "DELETE FROM %s WHERE snapshot_id IN (SELECT id FROM snapshot"
				 " WHERE " PC_LEDGER_RETAIN_CUT("$1", "$2") ")",
				 tables[i]);
		else
			snprintf(sql, sizeof(sql),
				 "DELETE FROM snapshot WHERE " PC_LEDGER_RETAIN_CUT("$1", "$2"));
		pc_ledger_pg_params_int(&p, cut_id);
		pc_ledger_pg_params_int(&p, cut_time);
		r = pc_ledger_pg_run(l, sql, &p, &res, err, "retention");
		pc_ledger_pg_params_free(&p);
		if (r < 0)
			goto fail;
		if (i == sizeof(tables) / sizeof(tables[0]))
			*ret_deleted = (uint64_t)strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	return pc_ledger_pg_exec(l, "COMMIT", err);
fail:
	pc_ledger_pg_rollback(l);
	return r;
}

/* --- fleet questions ------------------------------------------------------ */

#define QUERY_MAX_COLS 32

int pc_ledger_pg_query(struct pc_ledger *base, const char *sql, const char *const *params,
		       int n_params, int (*cb)(void *ctx, int ncols, const char *const *cols),
		       void *ctx, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	/* "?" placeholders become $1, $2, ... (the questions hold no "?" in
	 * string literals) */
	size_t len = strlen(sql) + 4 * (size_t)(n_params + 1) + 1;
	char *q = malloc(len);
	if (!q)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	size_t k = 0;
	int np = 0;
	for (const char *c = sql; *c; c++) {
		if (*c == '?' && np < n_params)
			k += (size_t)snprintf(q + k, len - k, "$%d", ++np);
		else if (k + 1 < len)
			q[k++] = *c;
	}
	q[k] = '\0';
	struct params p = {0};
	int r = 0;
	for (int i = 0; i < n_params && r == 0; i++) {
		struct pc_ledger_value v = {.type = params[i] ? PC_V_TEXT : PC_V_NULL,
					    .s = params[i]};
		r = pc_ledger_pg_params_add(&p, &v, 1);
	}
	if (r < 0) {
		free(q);
		pc_ledger_pg_params_free(&p);
		return pc_error_set(err, r, "ledger: query parameters");
	}
	/* Rows one at a time as the server sends them (single-row mode), so
	 * the callback's work overlaps the server's instead of following it
	 * (`fleet exposure`: 85,000 rows). As with SQLite's stepping, cb must
	 * not use this ledger before the query returns. */
	int sent = PQsendQueryParams(l->conn, q, p.n, NULL, p.v, NULL, NULL, 0);
	free(q);
	pc_ledger_pg_params_free(&p);
	if (!sent)
		return pc_ledger_pg_result(l, NULL, NULL, err, "query");
	PQsetSingleRowMode(l->conn);
	/* every result up to the NULL that ends the query, also after an error
	 * or a stop, so the connection is ready for the next statement */
	PGresult *res;
	while ((res = PQgetResult(l->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (r == 0 && st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			r = pc_ledger_pg_result(l, res, NULL, err, "query"); /* clears it */
			continue;
		}
		/* one row each, or all of them if single-row mode was refused */
		int n = PQnfields(res);
		if (r == 0 && n > QUERY_MAX_COLS)
			r = pc_error_set(err, PC_EINVAL, "ledger: query has too many columns");
		const char *cols[QUERY_MAX_COLS];
		for (int i = 0; r == 0 && i < PQntuples(res); i++) {
			for (int c = 0; c < n; c++)
				cols[c] = pc_ledger_pg_get_str(res, i, c);
			r = cb(ctx, n, cols);
		}
		PQclear(res);
	}
	return r;
}
