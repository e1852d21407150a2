/*
 * ledger_pg_store.c - a snapshot stored in the central ledger: one
 * transaction of prepared INSERTs under a new identity id.
 *
 * Why: many agents write at once; a snapshot only adds rows under its own
 * id, so writers never conflict and need no table lock. (host_id, origin)
 * is unique, so a snapshot shipped twice (a lost acknowledgement) is found
 * and not stored again. The values come from schema_values.c, as SQLite's.
 * The rows after the snapshot's own go through libpq's pipeline mode in
 * bounded batches (see PIPE_BATCH): round trips, not the server, were the
 * cost of a store.
 */
#include "ledger/ledger_pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- store --------------------------------------------------------------- */

/* The INSERTs, prepared once per connection. */
static int prepare_store(struct pg_ledger *l, struct pc_error *err)
{
	if (l->prepared)
		return 0;
	char *ep_sql = pc_ledger_endpoint_sql(PC_ENGINE_PG, true);
	char *snap_sql = pc_ledger_snapshot_sql(PC_ENGINE_PG);
	if (!ep_sql || !snap_sql) {
		free(ep_sql);
		free(snap_sql);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	const struct {
		const char *name, *sql;
	} stmts[] = {
		{"pc_snapshot", snap_sql},
		{"pc_endpoint", ep_sql},
		{"pc_owner", "INSERT INTO owner (snapshot_id, endpoint_seq, seq, pid, comm, exe,"
			     " uid, user_name, unit, c_id, c_runtime, c_pod_uid, c_name, c_image,"
			     " c_image_id, c_pod, c_pod_namespace) VALUES ($1, $2, $3, $4, $5,"
			     " $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"},
		{"pc_forward", "INSERT INTO forward_target (snapshot_id, endpoint_seq, seq,"
			       " address, port, weight, backend_index)"
			       " VALUES ($1, $2, $3, $4, $5, $6, $7)"},
		{"pc_text", "INSERT INTO endpoint_text (snapshot_id, endpoint_seq, list, seq,"
			    " value) VALUES ($1, $2, $3, $4, $5)"},
		{"pc_warning", "INSERT INTO snapshot_warning (snapshot_id, seq, message)"
			       " VALUES ($1, $2, $3)"},
		{"pc_finding", "INSERT INTO finding (snapshot_id, seq, kind, severity, rule,"
			       " message) VALUES ($1, $2, $3, $4, $5, $6)"},
	};
	int r = 0;
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]) && r == 0; i++) {
		PGresult *res = PQprepare(l->conn, stmts[i].name, stmts[i].sql, 0, NULL);
		if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
			r = pc_ledger_pg_error(l, err, stmts[i].name, res);
		PQclear(res);
	}
	for (int k = 0; k < PC_LEDGER_N_ROWS && r == 0; k++) {
		const struct pc_ledger_rows *t = &pc_ledger_rows[k];
		char *sql = pc_ledger_insert_sql(PC_ENGINE_PG, t->table, t->cols, t->ncols + 1);
		PGresult *res = sql ? PQprepare(l->conn, t->stmt, sql, 0, NULL) : NULL;
		if (!sql)
			r = pc_error_set(err, PC_ENOMEM, "out of memory");
		else if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
			r = pc_ledger_pg_error(l, err, t->stmt, res);
		PQclear(res);
		free(sql);
	}
	free(ep_sql);
	free(snap_sql);
	if (r == 0)
		l->prepared = true;
	return r;
}

/*
 * Pipeline mode (libpq 14): the INSERTs after the snapshot row need no
 * answer one by one, so they go out in batches and their results are read
 * at each sync: one round trip per PIPE_BATCH rows instead of one per row.
 * A batch is bounded so that the results nobody reads yet cannot fill the
 * server's socket buffer while ours fills with queries: on a blocking
 * connection that would deadlock. A failed INSERT aborts the rest of its
 * batch (PGRES_PIPELINE_ABORTED), the first error is reported, and the
 * store rolls back as before.
 */
#define PIPE_BATCH 256

/* Sync and read back everything sent: 0 or the first error. */
static int pipe_drain(struct pg_ledger *l, struct pc_error *err)
{
	if (!l->pipe_pending)
		return 0;
	l->pipe_pending = 0;
	if (PQpipelineSync(l->conn) != 1)
		return pc_ledger_pg_error(l, err, "pipeline sync", NULL);
	int r = 0, nulls = 0;
	for (;;) {
		PGresult *res = PQgetResult(l->conn);
		if (!res) {
			/* one NULL ends each statement's results; two in a
			 * row: nothing more will come (the connection broke) */
			if (++nulls > 1)
				return r ? r : pc_ledger_pg_error(l, err, "pipeline", NULL);
			continue;
		}
		nulls = 0;
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return r;
		}
		if (r == 0 && st != PGRES_COMMAND_OK)
			r = pc_ledger_pg_error(l, err, "insert", res);
		PQclear(res);
	}
}

/* Leave pipeline mode, with everything read back. */
static int pipe_end(struct pg_ledger *l, struct pc_error *err)
{
	if (!l->pipe)
		return 0;
	int r = pipe_drain(l, err);
	if (PQexitPipelineMode(l->conn) != 1 && r == 0)
		r = pc_ledger_pg_error(l, err, "pipeline end", NULL);
	l->pipe = false;
	return r;
}

/* One prepared INSERT: a leading snapshot id (0: none), then v; sent in
 * the pipeline when one is open. */
static int insert(struct pg_ledger *l, const char *name, int64_t id,
		  const struct pc_ledger_value *v, int n, struct pc_error *err)
{
	struct params p = {0};
	int r = 0;
	if (id)
		r = pc_ledger_pg_params_int(&p, id);
	if (r == 0)
		r = pc_ledger_pg_params_add(&p, v, n);
	if (r < 0)
		r = pc_error_set(err, r, "out of memory");
	else if (!l->pipe)
		r = pc_ledger_pg_run_prepared(l, name, &p, NULL, err);
	else if (PQsendQueryPrepared(l->conn, name, p.n, p.v, NULL, NULL, 0) != 1)
		r = pc_ledger_pg_error(l, err, name, NULL);
	else if (++l->pipe_pending >= PIPE_BATCH)
		r = pipe_drain(l, err);
	pc_ledger_pg_params_free(&p);
	return r;
}

static int store_texts(struct pg_ledger *l, int64_t id, size_t seq, int list,
		       const char *const *s, size_t n, struct pc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!s[i])
			continue;
		struct pc_ledger_value v[4] = {
			{.type = PC_V_INT, .i = (int64_t)seq},
			{.type = PC_V_INT, .i = list},
			{.type = PC_V_INT, .i = (int64_t)i},
			{.type = PC_V_TEXT, .s = s[i]},
		};
		int r = insert(l, "pc_text", id, v, 4, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int store_endpoint(struct pg_ledger *l, int64_t id, const struct pc_snapshot *snap,
			  size_t seq, const char *ident, struct pc_arena *arena,
			  struct pc_error *err)
{
	const struct pc_endpoint *ep = &snap->endpoints[seq];
	struct pc_ledger_value v[C_COUNT];
	if (pc_ledger_endpoint_values(arena, snap, seq, ident, v) < 0)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	int r = insert(l, "pc_endpoint", id, v, C_COUNT, err);
	for (size_t i = 0; r == 0 && i < ep->n_owners; i++) {
		struct pc_ledger_value ov[PC_LEDGER_OWNER_NCOLS];
		pc_ledger_owner_values(id, seq, i, &ep->owners[i], ov);
		r = insert(l, "pc_owner", 0, ov, PC_LEDGER_OWNER_NCOLS, err);
	}
	const struct pc_forward *fw = ep->forward;
	for (size_t i = 0; r == 0 && fw && i < fw->n_to; i++) {
		const struct pc_forward_target *to = &fw->to[i];
		char a[PC_ADDR_STRLEN];
		if (to->addr.family)
			pc_addr_format(&to->addr, a, sizeof(a));
		struct pc_ledger_value fv[6] = {
			{.type = PC_V_INT, .i = (int64_t)seq},
			{.type = PC_V_INT, .i = (int64_t)i},
			{.type = to->addr.family ? PC_V_TEXT : PC_V_NULL, .s = a},
			{.type = PC_V_INT, .i = to->port},
			{.type = to->weight >= 0 ? PC_V_DOUBLE : PC_V_NULL, .d = to->weight},
			{.type = PC_V_INT, .i = to->backend_index},
		};
		r = insert(l, "pc_forward", id, fv, 6, err);
	}
	const struct pc_service *sv = ep->service;
	if (r == 0 && ep->risk)
		r = store_texts(l, id, seq, PC_LIST_RISK, ep->risk->reasons, ep->risk->n_reasons,
				err);
	if (r == 0 && ep->policy)
		r = store_texts(l, id, seq, PC_LIST_POLICY, ep->policy->reasons,
				ep->policy->n_reasons, err);
	if (r == 0 && sv)
		r = store_texts(l, id, seq, PC_LIST_AUTH, sv->auth_methods, sv->n_auth_methods,
				err);
	return r;
}

/* The id of the snapshot with this host id and origin, 0 when none. */
static int find_origin(struct pg_ledger *l, const struct pc_ledger_ids *ids, int64_t *ret,
		       struct pc_error *err)
{
	struct params p = {0};
	PGresult *res;
	struct pc_ledger_value v[2] = {{.type = PC_V_TEXT, .s = ids->host_id},
				       {.type = PC_V_TEXT, .s = ids->origin}};
	int r = pc_ledger_pg_params_add(&p, v, 2);
	if (r == 0)
		r = pc_ledger_pg_run(l,
		                     "SELECT id FROM snapshot WHERE host_id = $1 AND origin = $2",
		                     &p, &res, err, "find shipped snapshot");
	pc_ledger_pg_params_free(&p);
	if (r < 0)
		return r;
	*ret = PQntuples(res) == 1 ? pc_ledger_pg_get_i64(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

int pc_ledger_pg_store(struct pc_ledger *base, const struct pc_snapshot *snap,
		       const struct pc_ledger_meta *meta, int64_t *ret_id, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	struct pc_arena arena;
	pc_arena_init(&arena);
	const char **idents = NULL;
	struct params p = {0};
	PGresult *res = NULL;
	int r = pc_ledger_snapshot_idents(&arena, snap, &idents);
	if (r < 0) {
		pc_arena_free(&arena);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	if ((r = prepare_store(l, err)) < 0 || (r = pc_ledger_pg_exec(l, "BEGIN", err)) < 0) {
		free(idents);
		pc_arena_free(&arena);
		return r;
	}
	struct pc_ledger_value sv[PC_LEDGER_SNAPSHOT_NCOLS];
	struct pc_ledger_ids ids;
	if ((r = pc_ledger_snapshot_values(snap, meta, idents, &arena, sv, &ids)) < 0) {
		r = pc_error_set(err, r,
		                 r == PC_ENOMEM ? "out of memory"
		                                : "no random source for the snapshot's uuid");
		goto fail;
	}
	/* a snapshot shipped again (its commit acknowledgement was lost) is
	 * already here: its id, nothing stored twice */
	int64_t id = 0;
	if (meta->origin && (r = find_origin(l, &ids, &id, err)) < 0)
		goto fail;
	if (id > 0) {
		pc_ledger_pg_rollback(l);
		*ret_id = id;
		free(idents);
		pc_arena_free(&arena);
		return 0;
	}
	if ((r = pc_ledger_pg_params_add(&p, sv, PC_LEDGER_SNAPSHOT_NCOLS)) < 0) {
		r = pc_error_set(err, r, "out of memory");
		goto fail;
	}
	if ((r = pc_ledger_pg_run_prepared(l, "pc_snapshot", &p, &res, err)) < 0)
		goto fail;
	id = PQntuples(res) == 1 ? pc_ledger_pg_get_i64(res, 0, 0) : 0;
	PQclear(res);
	if (id <= 0) {
		r = pc_error_set_at(err, PC_EIO, l->where, 0, 0, "ledger: no id for the snapshot");
		goto fail;
	}
	/* the rest needs no answer row by row: batched (falls back to one
	 * round trip per row where pipeline mode cannot be entered) */
	l->pipe = PQenterPipelineMode(l->conn) == 1;
	l->pipe_pending = 0;
	for (size_t i = 0; i < snap->n_warnings; i++) {
		struct pc_ledger_value v[2] = {
			{.type = PC_V_INT, .i = (int64_t)i},
			{.type = PC_V_TEXT, .s = snap->warnings[i] ? snap->warnings[i] : ""},
		};
		if ((r = insert(l, "pc_warning", id, v, 2, err)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if ((r = store_endpoint(l, id, snap, i, idents[i], &arena, err)) < 0)
			goto fail;
	for (size_t i = 0; i < snap->n_findings; i++) {
		const struct pc_finding *f = &snap->findings[i];
		struct pc_ledger_value v[5] = {
			{.type = PC_V_INT, .i = (int64_t)i},
			{.type = PC_V_TEXT, .s = f->kind ? f->kind : ""},
			{.type = PC_V_INT, .i = f->severity},
			{.type = f->rule ? PC_V_TEXT : PC_V_NULL, .s = f->rule},
			{.type = PC_V_TEXT, .s = f->message ? f->message : ""},
		};
		if ((r = insert(l, "pc_finding", id, v, 5, err)) < 0)
			goto fail;
	}
	/* schema 4's rows: the addresses, the scan's coverage */
	for (int k = 0; k < PC_LEDGER_N_ROWS; k++) {
		const struct pc_ledger_rows *t = &pc_ledger_rows[k];
		for (size_t i = 0; i < t->count(snap); i++) {
			struct pc_ledger_value v[8];
			if (t->values(&arena, snap, i, v) < 0) {
				r = pc_error_set(err, PC_ENOMEM, "out of memory");
				goto fail;
			}
			if ((r = insert(l, t->stmt, id, v, t->ncols, err)) < 0)
				goto fail;
		}
	}
	if ((r = pipe_end(l, err)) < 0 || (r = pc_ledger_pg_exec(l, "COMMIT", err)) < 0)
		goto fail;
	*ret_id = id;
	pc_ledger_pg_params_free(&p);
	free(idents);
	pc_arena_free(&arena);
	return 0;
fail:
	if (l->pipe) {
		struct pc_error ignored = {0};
		pipe_end(l, &ignored); /* the first error is already in err */
	}
	pc_ledger_pg_rollback(l);
	pc_ledger_pg_params_free(&p);
	free(idents);
	pc_arena_free(&arena);
	return r;
}
