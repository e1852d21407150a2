/*
 * ledger_sqlite.c - the ledger on SQLite, the embedded default.
 *
 * Why it is built this way:
 * - The busy timeout is set before any other statement, the file is in WAL
 *   mode (readers never block the writer), and every writer takes the write
 *   lock up front with BEGIN IMMEDIATE, so two audits finishing at once
 *   queue instead of failing halfway with "database is locked".
 * - A snapshot is stored in one transaction: it becomes visible whole or not
 *   at all, whatever kills the process (tests/e2e/ledger_kill.sh).
 * - The schema is portable SQL (INTEGER, BIGINT, TEXT, DOUBLE PRECISION;
 *   INSERT ... RETURNING; no AUTOINCREMENT, no SQLite-only functions) so the
 *   fleet ledger can put it on PostgreSQL. Where this file needs SQLite's own
 *   words - PRAGMA user_version, journal_mode, sqlite_master, INTEGER PRIMARY
 *   KEY as the row id - docs/ledger.md lists the PostgreSQL equivalent.
 * - The version is PRAGMA user_version; migrations run forward, one step per
 *   version, inside one BEGIN IMMEDIATE transaction, and every earlier
 *   version has a fixture database in tests/unit/data/ledger/.
 * - Endpoint columns are listed once (pc_ledger_ep_cols, schema.c) and both the INSERT and the
 *   SELECT are built from that list, so the two cannot disagree.
 * - Each endpoint's identity key (identity.c) is a column with an index on
 *   (snapshot_id, ident): a diff is a join of two snapshots on it.
 *
 * What is trusted: nothing read back. Every enum is range-checked, every
 * address is parsed, every string is copied into the loaded snapshot's arena;
 * a file that is not a ledger gives an error naming it.
 */
#include "ledger/ledger.h"
#include "ledger/schema.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_TIMEOUT_MS 30000

struct sq_ledger {
	struct pc_ledger base;
	sqlite3 *db;
	char path[4096];
};

/* The schema, the endpoint columns and the row values are in schema.c. */

/* --- errors and small helpers ------------------------------------------- */

static int sq_error(struct sq_ledger *l, struct pc_error *err, const char *what)
{
	int ext = sqlite3_extended_errcode(l->db);
	int prim = ext & 0xff;
	const char *why = sqlite3_errmsg(l->db);
	if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
		return pc_error_set_at(err, PC_EIO, l->path, 0, 0,
				       "ledger is corrupt or not a portcensus ledger (%s: %s)",
				       what, why);
	if (prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN || prim == SQLITE_PERM ||
	    prim == SQLITE_AUTH)
		return pc_error_set_at(err, PC_EIO, l->path, 0, 0,
				       "cannot write the ledger (%s: %s)", what, why);
	return pc_error_set_at(err, PC_EIO, l->path, 0, 0, "ledger: %s: %s", what, why);
}

static int exec_sql(struct sq_ledger *l, const char *sql, struct pc_error *err)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_error(l, err, sql);
	return 0;
}

static int prepare(struct sq_ledger *l, const char *sql, sqlite3_stmt **st,
		   struct pc_error *err)
{
	if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return sq_error(l, err, "prepare");
	}
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (!s) {
		sqlite3_bind_null(st, i);
		return;
	}
	size_t n = strnlen(s, PC_LEDGER_TEXT_MAX);
	sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
}

static void bind_double_or_null(sqlite3_stmt *st, int i, bool present, double v)
{
	if (present)
		sqlite3_bind_double(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void bind_addr(sqlite3_stmt *st, int i, const struct pc_addr *a, char *buf, size_t len)
{
	if (!a->family) {
		sqlite3_bind_null(st, i);
		return;
	}
	pc_addr_format(a, buf, len);
	sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
}

/* Bind values[0..n) to parameters first..first+n-1. */
static void bind_values(sqlite3_stmt *st, int first, const struct pc_ledger_value *v, int n)
{
	for (int i = 0; i < n; i++) {
		switch (v[i].type) {
		case PC_V_NULL:
			sqlite3_bind_null(st, first + i);
			break;
		case PC_V_INT:
			sqlite3_bind_int64(st, first + i, v[i].i);
			break;
		case PC_V_DOUBLE:
			sqlite3_bind_double(st, first + i, v[i].d);
			break;
		case PC_V_TEXT:
			bind_text(st, first + i, v[i].s);
			break;
		}
	}
}

/* --- open, migrate, close ------------------------------------------------ */

static void sq_close(struct pc_ledger *base)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	if (!l)
		return;
	sqlite3_close_v2(l->db);
	free(l);
}

static int sq_open(const char *path, bool create, struct pc_ledger **ret, struct pc_error *err)
{
	struct sq_ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	l->base.ops = &pc_ledger_sqlite;
	snprintf(l->path, sizeof(l->path), "%s", path);
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
		    (create ? SQLITE_OPEN_CREATE : 0);
	int rc = sqlite3_open_v2(path, &l->db, flags, NULL);
	if (rc != SQLITE_OK) {
		int r = l->db ? sq_error(l, err, "open")
			      : pc_error_set_at(err, PC_EIO, path, 0, 0, "cannot open the ledger");
		sq_close(&l->base);
		return r;
	}
	/* before anything else: every later statement may meet another
	 * writer's lock and must wait for it, not fail */
	sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(l->db, 1);
	/* switching to WAL needs a moment alone with the file; two first
	 * audits racing on a new ledger may both ask, so ask again */
	for (int tries = 0;; tries++) {
		sqlite3_stmt *st = NULL;
		rc = sqlite3_prepare_v2(l->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		bool wal = rc == SQLITE_ROW &&
			   sqlite3_column_text(st, 0) &&
			   strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
		sqlite3_finalize(st);
		if (wal)
			break;
		if ((rc & 0xff) == SQLITE_BUSY && tries < 200) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		int r = rc == SQLITE_ROW
				? pc_error_set_at(err, PC_EIO, path, 0, 0,
						  "ledger: cannot switch to WAL mode")
				: sq_error(l, err, "PRAGMA journal_mode=WAL");
		sq_close(&l->base);
		return r;
	}
	/* WAL with synchronous=NORMAL cannot corrupt on a crash; at worst a
	 * power loss forgets the last commit */
	int r = exec_sql(l, "PRAGMA synchronous=NORMAL", err);
	if (r < 0) {
		sq_close(&l->base);
		return r;
	}
	*ret = &l->base;
	return 0;
}

static int user_version(struct sq_ledger *l, int *ret, struct pc_error *err)
{
	sqlite3_stmt *st;
	int r = prepare(l, "PRAGMA user_version", &st, err);
	if (r < 0)
		return r;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = sq_error(l, err, "PRAGMA user_version");
		sqlite3_finalize(st);
		return r;
	}
	*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int sq_migrate(struct pc_ledger *base, struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	int v;
	int r = user_version(l, &v, err);
	if (r < 0)
		return r;
	if (v == PC_LEDGER_SCHEMA_VERSION)
		return 0;
	if (v > PC_LEDGER_SCHEMA_VERSION || v < 0)
		return pc_error_set_at(err, PC_EIO, l->path, 0, 0,
				       "ledger schema version %d is newer than this portcensus "
				       "knows (%d): use a newer portcensus",
				       v, PC_LEDGER_SCHEMA_VERSION);
	r = exec_sql(l, "BEGIN IMMEDIATE", err);
	if (r < 0)
		return r;
	/* another process may have migrated while we waited for the lock */
	r = user_version(l, &v, err);
	if (r < 0)
		goto fail;
	if (v == 0) {
		sqlite3_stmt *st;
		r = prepare(l, "SELECT count(*) FROM sqlite_master", &st, err);
		if (r < 0)
			goto fail;
		int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
		sqlite3_finalize(st);
		if (n != 0) {
			r = pc_error_set_at(err, PC_EIO, l->path, 0, 0,
					    "not a portcensus ledger (a database with other "
					    "tables and no schema version)");
			goto fail;
		}
	}
	for (int step = v + 1; step <= PC_LEDGER_SCHEMA_VERSION; step++) {
		for (size_t i = 0; pc_ledger_migrations[step][i]; i++) {
			r = exec_sql(l, pc_ledger_migrations[step][i], err);
			if (r < 0)
				goto fail;
		}
	}
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", PC_LEDGER_SCHEMA_VERSION);
	r = exec_sql(l, sql, err);
	if (r < 0)
		goto fail;
	return exec_sql(l, "COMMIT", err);
fail:
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* --- store --------------------------------------------------------------- */

struct store_stmts {
	sqlite3_stmt *ep, *owner, *text, *warning, *finding, *forward;
};

static void store_stmts_free(struct store_stmts *s)
{
	sqlite3_finalize(s->ep);
	sqlite3_finalize(s->owner);
	sqlite3_finalize(s->text);
	sqlite3_finalize(s->warning);
	sqlite3_finalize(s->finding);
	sqlite3_finalize(s->forward);
}

static int step_done(struct sq_ledger *l, sqlite3_stmt *st, struct pc_error *err,
		     const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_error(l, err, what);
	return 0;
}

static int store_texts(struct sq_ledger *l, struct store_stmts *s, int64_t id, size_t seq,
		       int list, const char *const *v, size_t n, struct pc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		sqlite3_bind_int64(s->text, 1, id);
		sqlite3_bind_int64(s->text, 2, (sqlite3_int64)seq);
		sqlite3_bind_int(s->text, 3, list);
		sqlite3_bind_int64(s->text, 4, (sqlite3_int64)i);
		bind_text(s->text, 5, v[i]);
		int r = step_done(l, s->text, err, "insert endpoint_text");
		if (r < 0)
			return r;
	}
	return 0;
}

static int store_endpoint(struct sq_ledger *l, struct store_stmts *s, int64_t id,
			  const struct pc_snapshot *snap, size_t seq, const char *ident,
			  struct pc_arena *arena, struct pc_error *err)
{
	const struct pc_endpoint *ep = &snap->endpoints[seq];
	sqlite3_stmt *st = s->ep;
	struct pc_ledger_value v[C_COUNT];
	if (pc_ledger_endpoint_values(arena, snap, seq, ident, v) < 0)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	sqlite3_bind_int64(st, 1, id); /* parameter 1 is snapshot_id */
	bind_values(st, 2, v, C_COUNT);
	const struct pc_service *sv = ep->service;
	const struct pc_forward *fw = ep->forward;
	int r = step_done(l, st, err, "insert endpoint");
	if (r < 0)
		return r;

	for (size_t i = 0; i < ep->n_owners; i++) {
		const struct pc_owner *o = &ep->owners[i];
		sqlite3_stmt *os = s->owner;
		struct pc_ledger_value ov[PC_LEDGER_OWNER_NCOLS];
		pc_ledger_owner_values(id, seq, i, o, ov);
		bind_values(os, 1, ov, PC_LEDGER_OWNER_NCOLS);
		r = step_done(l, os, err, "insert owner");
		if (r < 0)
			return r;
	}
	for (size_t i = 0; fw && i < fw->n_to; i++) {
		const struct pc_forward_target *to = &fw->to[i];
		sqlite3_stmt *fs = s->forward;
		char a3[PC_ADDR_STRLEN];
		sqlite3_bind_int64(fs, 1, id);
		sqlite3_bind_int64(fs, 2, (sqlite3_int64)seq);
		sqlite3_bind_int64(fs, 3, (sqlite3_int64)i);
		bind_addr(fs, 4, &to->addr, a3, sizeof(a3));
		sqlite3_bind_int(fs, 5, to->port);
		bind_double_or_null(fs, 6, to->weight >= 0, to->weight);
		sqlite3_bind_int64(fs, 7, to->backend_index);
		r = step_done(l, fs, err, "insert forward_target");
		if (r < 0)
			return r;
	}
	if (ep->risk && (r = store_texts(l, s, id, seq, PC_LIST_RISK, ep->risk->reasons,
					 ep->risk->n_reasons, err)) < 0)
		return r;
	if (ep->policy && (r = store_texts(l, s, id, seq, PC_LIST_POLICY, ep->policy->reasons,
					   ep->policy->n_reasons, err)) < 0)
		return r;
	if (sv && (r = store_texts(l, s, id, seq, PC_LIST_AUTH, sv->auth_methods,
				   sv->n_auth_methods, err)) < 0)
		return r;
	return 0;
}

/* Schema 4's rows (pc_ledger_rows): the addresses, the scan's coverage. */
static int store_rows(struct sq_ledger *l, int64_t id, const struct pc_snapshot *snap,
		      struct pc_arena *arena, struct pc_error *err)
{
	for (int k = 0; k < PC_LEDGER_N_ROWS; k++) {
		const struct pc_ledger_rows *t = &pc_ledger_rows[k];
		size_t n = t->count(snap);
		if (!n)
			continue;
		char *sql = pc_ledger_insert_sql(PC_ENGINE_SQLITE, t->table, t->cols, t->ncols + 1);
		sqlite3_stmt *st = NULL;
		int r = sql ? prepare(l, sql, &st, err) : pc_error_set(err, PC_ENOMEM, "out of memory");
		free(sql);
		for (size_t i = 0; i < n && r == 0; i++) {
			struct pc_ledger_value v[8];
			if (t->values(arena, snap, i, v) < 0) {
				r = pc_error_set(err, PC_ENOMEM, "out of memory");
				break;
			}
			sqlite3_bind_int64(st, 1, id);
			bind_values(st, 2, v, t->ncols);
			r = step_done(l, st, err, t->table);
		}
		sqlite3_finalize(st);
		if (r < 0)
			return r;
	}
	return 0;
}

static int store_once(struct sq_ledger *l, const struct pc_snapshot *snap,
		      const struct pc_ledger_meta *meta, const char **idents,
		      struct pc_arena *arena, int64_t *ret_id, struct pc_error *err)
{
	struct store_stmts s = {0};
	sqlite3_stmt *ins = NULL;
	int64_t id = 0;
	int r = exec_sql(l, "BEGIN IMMEDIATE", err);
	if (r < 0)
		return r;
	char *ins_sql = pc_ledger_snapshot_sql(PC_ENGINE_SQLITE);
	r = ins_sql ? prepare(l, ins_sql, &ins, err)
		    : pc_error_set(err, PC_ENOMEM, "out of memory");
	free(ins_sql);
	if (r < 0)
		goto fail;
	struct pc_ledger_value sv[PC_LEDGER_SNAPSHOT_NCOLS];
	struct pc_ledger_ids ids;
	if ((r = pc_ledger_snapshot_values(snap, meta, idents, arena, sv, &ids)) < 0) {
		r = pc_error_set(err, r, r == PC_ENOMEM ? "out of memory"
							: "no random source for the snapshot's uuid");
		goto fail;
	}
	bind_values(ins, 1, sv, PC_LEDGER_SNAPSHOT_NCOLS);
	if (sqlite3_step(ins) != SQLITE_ROW) {
		r = sq_error(l, err, "insert snapshot");
		goto fail;
	}
	id = sqlite3_column_int64(ins, 0);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		r = sq_error(l, err, "insert snapshot");
		goto fail;
	}

	char *sql = pc_ledger_endpoint_sql(PC_ENGINE_SQLITE, true);
	if (!sql) {
		r = pc_error_set(err, PC_ENOMEM, "out of memory");
		goto fail;
	}
	r = prepare(l, sql, &s.ep, err);
	free(sql);
	if (r < 0 ||
	    (r = prepare(l,
			 "INSERT INTO owner (snapshot_id, endpoint_seq, seq, pid, comm, exe, uid,"
			 " user_name, unit, c_id, c_runtime, c_pod_uid, c_name, c_image,"
			 " c_image_id, c_pod, c_pod_namespace)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 &s.owner, err)) < 0 ||
	    (r = prepare(l,
			 "INSERT INTO forward_target (snapshot_id, endpoint_seq, seq, address,"
			 " port, weight, backend_index) VALUES (?, ?, ?, ?, ?, ?, ?)",
			 &s.forward, err)) < 0 ||
	    (r = prepare(l,
			 "INSERT INTO endpoint_text (snapshot_id, endpoint_seq, list, seq, value)"
			 " VALUES (?, ?, ?, ?, ?)",
			 &s.text, err)) < 0 ||
	    (r = prepare(l,
			 "INSERT INTO snapshot_warning (snapshot_id, seq, message) VALUES (?, ?, ?)",
			 &s.warning, err)) < 0 ||
	    (r = prepare(l,
			 "INSERT INTO finding (snapshot_id, seq, kind, severity, rule, message)"
			 " VALUES (?, ?, ?, ?, ?, ?)",
			 &s.finding, err)) < 0)
		goto fail;
	for (size_t i = 0; i < snap->n_warnings; i++) {
		sqlite3_bind_int64(s.warning, 1, id);
		sqlite3_bind_int64(s.warning, 2, (sqlite3_int64)i);
		bind_text(s.warning, 3, snap->warnings[i] ? snap->warnings[i] : "");
		if ((r = step_done(l, s.warning, err, "insert warning")) < 0)
			goto fail;
	}
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if ((r = store_endpoint(l, &s, id, snap, i, idents[i], arena, err)) < 0)
			goto fail;
	for (size_t i = 0; i < snap->n_findings; i++) {
		const struct pc_finding *f = &snap->findings[i];
		sqlite3_bind_int64(s.finding, 1, id);
		sqlite3_bind_int64(s.finding, 2, (sqlite3_int64)i);
		bind_text(s.finding, 3, f->kind ? f->kind : "");
		sqlite3_bind_int(s.finding, 4, f->severity);
		bind_text(s.finding, 5, f->rule);
		bind_text(s.finding, 6, f->message ? f->message : "");
		if ((r = step_done(l, s.finding, err, "insert finding")) < 0)
			goto fail;
	}
	if ((r = store_rows(l, id, snap, arena, err)) < 0)
		goto fail;
	sqlite3_finalize(ins);
	ins = NULL;
	store_stmts_free(&s);
	r = exec_sql(l, "COMMIT", err);
	if (r < 0)
		goto fail;
	*ret_id = id;
	return 0;
fail:
	sqlite3_finalize(ins);
	store_stmts_free(&s);
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int sq_store(struct pc_ledger *base, const struct pc_snapshot *snap,
		    const struct pc_ledger_meta *meta, int64_t *ret_id, struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	struct pc_arena arena;
	pc_arena_init(&arena);
	const char **idents = NULL;
	int r = pc_ledger_snapshot_idents(&arena, snap, &idents);
	if (r < 0) {
		pc_arena_free(&arena);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	r = store_once(l, snap, meta, idents, &arena, ret_id, err);
	free(idents);
	pc_arena_free(&arena);
	return r;
}

/* --- history and selectors ------------------------------------------------ */

static int sq_list(struct pc_ledger *base, uint64_t limit,
		   int (*cb)(void *ctx, const struct pc_ledger_row *row), void *ctx,
		   struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	sqlite3_stmt *st;
	int r = prepare(l,
			"SELECT id, started_at, finished_at, host, kind, scope, command,"
			" n_endpoints, n_warnings, n_findings,"
			" n_info, n_low, n_medium, n_high, n_critical"
			" FROM snapshot ORDER BY id DESC LIMIT ?",
			&st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, limit ? (sqlite3_int64)limit : INT64_MAX);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pc_ledger_row row = {
			.id = sqlite3_column_int64(st, 0),
			.started_at_ms = sqlite3_column_int64(st, 1),
			.finished_at_ms = sqlite3_column_int64(st, 2),
			.host = (const char *)sqlite3_column_text(st, 3),
			.kind = (const char *)sqlite3_column_text(st, 4),
			.scope = (const char *)sqlite3_column_text(st, 5),
			.command = (const char *)sqlite3_column_text(st, 6),
			.n_endpoints = (uint64_t)sqlite3_column_int64(st, 7),
			.n_warnings = (uint64_t)sqlite3_column_int64(st, 8),
			.n_findings = (uint64_t)sqlite3_column_int64(st, 9),
		};
		for (int k = 0; k < PC_SEV_COUNT; k++)
			row.by_severity[k] = (uint64_t)sqlite3_column_int64(st, 10 + k);
		r = cb(ctx, &row);
		if (r) {
			sqlite3_finalize(st);
			return r;
		}
	}
	if (rc != SQLITE_DONE)
		r = sq_error(l, err, "list snapshots");
	sqlite3_finalize(st);
	return r;
}

static int sq_find(struct pc_ledger *base, const struct pc_ledger_find *q, int64_t *ret_id,
		   struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	const char *sql = NULL;
	switch (q->kind) {
	case PC_LEDGER_FIND_ID:
		sql = "SELECT id FROM snapshot WHERE id = ?";
		break;
	case PC_LEDGER_FIND_NTH_LATEST:
		sql = "SELECT id FROM snapshot ORDER BY id DESC LIMIT 1 OFFSET ?";
		break;
	case PC_LEDGER_FIND_AT_TIME:
		sql = "SELECT id FROM snapshot WHERE started_at <= ?"
		      " ORDER BY started_at DESC, id DESC LIMIT 1";
		break;
	case PC_LEDGER_FIND_PREV_SCOPE:
		sql = "SELECT p.id FROM snapshot s JOIN snapshot p ON p.host = s.host"
		      " AND p.kind = s.kind AND p.scope = s.scope AND p.id < s.id"
		      " WHERE s.id = ? ORDER BY p.id DESC LIMIT 1";
		break;
	}
	if (!sql)
		return pc_error_set(err, PC_EINVAL, "bad snapshot query");
	sqlite3_stmt *st;
	int r = prepare(l, sql, &st, err);
	if (r < 0)
		return r;
	switch (q->kind) {
	case PC_LEDGER_FIND_NTH_LATEST:
		sqlite3_bind_int64(st, 1, q->n > INT64_MAX ? INT64_MAX : (sqlite3_int64)q->n);
		break;
	case PC_LEDGER_FIND_AT_TIME:
		sqlite3_bind_int64(st, 1, q->time_ms);
		break;
	default:
		sqlite3_bind_int64(st, 1, q->id);
		break;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = sq_error(l, err, "find snapshot");
	sqlite3_finalize(st);
	return r;
}

/* --- load ---------------------------------------------------------------- */

/* The shared loaders (schema.c) read a row through these. */
static bool rd_null(const struct pc_ledger_rd *r, int i)
{
	return sqlite3_column_type((sqlite3_stmt *)r->ctx, i) == SQLITE_NULL;
}

static int64_t rd_i64(const struct pc_ledger_rd *r, int i)
{
	return sqlite3_column_int64((sqlite3_stmt *)r->ctx, i);
}

static double rd_dbl(const struct pc_ledger_rd *r, int i)
{
	return sqlite3_column_double((sqlite3_stmt *)r->ctx, i);
}

static const char *rd_text(const struct pc_ledger_rd *r, int i, size_t *len)
{
	sqlite3_stmt *st = (sqlite3_stmt *)r->ctx;
	const unsigned char *v = sqlite3_column_text(st, i);
	*len = v ? (size_t)sqlite3_column_bytes(st, i) : 0;
	return (const char *)v;
}

/* Every row of sql, its parameters ?1.. bound to ids, to fn (the shared
 * loader and diff in schema.c); fn's non-zero stops and is returned. */
static int read_rows(void *engine, const char *sql, const int64_t *ids, int n_ids,
		     pc_ledger_row_fn fn, void *arg, struct pc_error *err, const char *what)
{
	struct sq_ledger *l = engine;
	sqlite3_stmt *st;
	int r = prepare(l, sql, &st, err);
	if (r < 0)
		return r;
	for (int i = 0; i < n_ids; i++)
		sqlite3_bind_int64(st, i + 1, ids[i]);
	struct pc_ledger_rd rd = {.ctx = st, .is_null = rd_null, .i64 = rd_i64, .dbl = rd_dbl,
				  .text = rd_text};
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = fn(arg, &rd)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_error(l, err, what);
	sqlite3_finalize(st);
	return r;
}

static int sq_load(struct pc_ledger *base, int64_t id, struct pc_snapshot **ret,
		   struct pc_ledger_meta *ret_meta, struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	/* one read transaction: the snapshot cannot change between queries
	 * (retention in another process) */
	int r = exec_sql(l, "BEGIN", err);
	if (r < 0)
		return r;
	r = pc_ledger_load_with(read_rows, l, id, ret, ret_meta, l->path, err);
	sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

/* --- diff ---------------------------------------------------------------- */

static int sq_diff(struct pc_ledger *base, int64_t a, int64_t b, struct pc_ledger_diff *d,
		   struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	/* one read transaction: both snapshots as they were at one moment */
	int r = exec_sql(l, "BEGIN", err);
	if (r < 0)
		return r;
	r = pc_ledger_diff_with(PC_ENGINE_SQLITE, read_rows, l, a, b, d, l->path, err);
	sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

/* --- retention ----------------------------------------------------------- */

static int sq_retain(struct pc_ledger *base, const struct pc_ledger_keep *keep, int64_t now_ms,
		     uint64_t *ret_deleted, struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	*ret_deleted = 0;
	if (!keep->count && !keep->max_age_ms)
		return 0;
	static const char *const tables[] = {"endpoint_text", "forward_target", "owner",
					     "endpoint",      "finding",        "snapshot_warning",
					     "outbox",        "snapshot_address", "scan_cover"};
	int r = exec_sql(l, "BEGIN IMMEDIATE", err);
	if (r < 0)
		return r;
	/* the cut: the newest id that goes (by count), and the oldest start
	 * time that stays (by age) */
	int64_t cut_id = 0;
	sqlite3_stmt *st = NULL;
	if (keep->count) {
		if ((r = prepare(l, "SELECT id FROM snapshot ORDER BY id DESC LIMIT 1 OFFSET ?",
				 &st, err)) < 0)
			goto fail;
		sqlite3_bind_int64(st, 1, keep->count > INT64_MAX ? INT64_MAX
								 : (sqlite3_int64)keep->count);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			cut_id = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE) {
			r = sq_error(l, err, "retention");
			goto fail;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	int64_t cut_time = keep->max_age_ms ? now_ms - keep->max_age_ms : INT64_MIN;
	char sql[512];
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM %s WHERE snapshot_id IN (SELECT id FROM snapshot"
			 " WHERE " PC_LEDGER_RETAIN_CUT("?1", "?2") ")",
			 tables[i]);
		if ((r = prepare(l, sql, &st, err)) < 0)
			goto fail;
		sqlite3_bind_int64(st, 1, cut_id);
		sqlite3_bind_int64(st, 2, cut_time);
		if ((r = step_done(l, st, err, "retention")) < 0)
			goto fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	if ((r = prepare(l, "DELETE FROM snapshot WHERE " PC_LEDGER_RETAIN_CUT("?1", "?2"), &st, err)) <
	    0)
		goto fail;
	sqlite3_bind_int64(st, 1, cut_id);
	sqlite3_bind_int64(st, 2, cut_time);
	if ((r = step_done(l, st, err, "retention")) < 0)
		goto fail;
	*ret_deleted = (uint64_t)sqlite3_changes(l->db);
	sqlite3_finalize(st);
	return exec_sql(l, "COMMIT", err);
fail:
	sqlite3_finalize(st);
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* --- fleet questions ------------------------------------------------------ */

#define QUERY_MAX_COLS 32

static int sq_query(struct pc_ledger *base, const char *sql, const char *const *params,
		    int n_params, int (*cb)(void *ctx, int ncols, const char *const *cols),
		    void *ctx, struct pc_error *err)
{
	struct sq_ledger *l = (struct sq_ledger *)base;
	sqlite3_stmt *st;
	int r = prepare(l, sql, &st, err);
	if (r < 0)
		return r;
	for (int i = 0; i < n_params; i++)
		bind_text(st, i + 1, params[i]);
	int n = sqlite3_column_count(st), rc;
	if (n > QUERY_MAX_COLS) {
		sqlite3_finalize(st);
		return pc_error_set(err, PC_EINVAL, "ledger: query has too many columns");
	}
	const char *cols[QUERY_MAX_COLS];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if ((r = cb(ctx, n, cols)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_error(l, err, "query");
	sqlite3_finalize(st);
	return r;
}

const struct pc_ledger_ops pc_ledger_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.migrate = sq_migrate,
	.store = sq_store,
	.list = sq_list,
	.find = sq_find,
	.load = sq_load,
	.diff = sq_diff,
	.retain = sq_retain,
	.query = sq_query,
	.close = sq_close,
};
