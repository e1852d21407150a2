/*
 * ledger_pg.c - the ledger on PostgreSQL: one central store that every agent
 * of a fleet writes to and every `fleet` question is asked of.
 *
 * Why it is built this way:
 * - The same tables as SQLite, from the same DDL (schema.c, with the row id
 *   swapped for an identity column) and the same row values: an audit
 *   stored here and there diffs the same (tests/unit/test_ledger.c runs its
 *   golden diff on both).
 * - Many agents write at once. A snapshot is one transaction that only adds
 *   rows under a new identity id, so writers never conflict (MVCC) and need
 *   no table lock. Migrations take a transaction-scoped advisory lock first,
 *   so two agents opening an empty database at once do not both create the
 *   tables: the second waits, re-reads the version and finds nothing to do.
 * - The version lives in a one-row table, schema_version (SQLite's PRAGMA
 *   user_version). A database with other tables and no version is refused,
 *   as SQLite refuses a foreign file.
 * - Parameters travel as text (PQexecParams), through prepared statements
 *   named per connection, so a 500-endpoint snapshot is parsed once.
 *   PostgreSQL refuses invalid UTF-8 where SQLite stores any bytes: a string
 *   that is not valid UTF-8 (a hostile banner) is stored with each invalid
 *   byte replaced by '?', never refused, so an audit is never lost to one.
 * - A connection failure is -ECONNREFUSED, which the store-and-forward path
 *   (outbox.c) tells apart from every other error.
 *
 * What is trusted: nothing read back. Numbers are parsed with bounds, enums
 * range-checked by the shared loader, strings copied into arenas. The URL
 * may carry a password: messages name the ledger by host and database only.
 */
#include "ledger/ledger.h"
#include "ledger/schema.h"
#include "core/text.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key for migrations: "pcledger" in ASCII */
#define MIGRATE_LOCK_KEY "8097846770173756786"

#define MAX_PARAMS 80

struct pg_ledger {
	struct pc_ledger base;
	PGconn *conn;
	char where[256]; /* "postgresql://HOST/DB", for messages */
	bool prepared;
};

/* Parameters of one statement, as text. */
struct params {
	int n;
	const char *v[MAX_PARAMS];
	char num[MAX_PARAMS][32];
	char *owned[MAX_PARAMS];
};

static void params_free(struct params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->owned[i]);
	memset(p, 0, sizeof(*p));
}

/* s cut at PC_LEDGER_TEXT_MAX and made valid UTF-8 (each invalid byte a
 * '?'); s itself when it already is. NULL on ENOMEM. */
static const char *pg_text(const char *s, char **owned)
{
	size_t len = strnlen(s, PC_LEDGER_TEXT_MAX);
	const unsigned char *u = (const unsigned char *)s;
	bool clean = s[len] == '\0';
	for (size_t i = 0; clean && i < len;) {
		int n = pc_utf8_seq_len(u + i, len - i);
		if (n <= 0) {
			clean = false;
			break;
		}
		i += (size_t)n;
	}
	if (clean)
		return s;
	char *c = malloc(len + 1);
	if (!c)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < len;) {
		int n = pc_utf8_seq_len(u + i, len - i);
		if (n <= 0) {
			c[k++] = '?';
			i++;
			continue;
		}
		memcpy(c + k, u + i, (size_t)n);
		k += (size_t)n;
		i += (size_t)n;
	}
	c[k] = '\0';
	*owned = c;
	return c;
}

static int params_add(struct params *p, const struct pc_ledger_value *v, int n)
{
	for (int i = 0; i < n; i++) {
		if (p->n >= MAX_PARAMS)
			return PC_ETOOBIG;
		int k = p->n++;
		switch (v[i].type) {
		case PC_V_NULL:
			p->v[k] = NULL;
			break;
		case PC_V_INT:
			snprintf(p->num[k], sizeof(p->num[k]), "%" PRId64, v[i].i);
			p->v[k] = p->num[k];
			break;
		case PC_V_DOUBLE:
			snprintf(p->num[k], sizeof(p->num[k]), "%.17g", v[i].d);
			p->v[k] = p->num[k];
			break;
		case PC_V_TEXT:
			p->v[k] = pg_text(v[i].s, &p->owned[k]);
			if (!p->v[k])
				return PC_ENOMEM;
			break;
		}
	}
	return 0;
}

static int params_int(struct params *p, int64_t i)
{
	struct pc_ledger_value v = {.type = PC_V_INT, .i = i};
	return params_add(p, &v, 1);
}

/* --- errors and statements ------------------------------------------------ */

static int pg_error(struct pg_ledger *l, struct pc_error *err, const char *what,
		    const PGresult *res)
{
	const char *why = res ? PQresultErrorMessage(res) : NULL;
	if (!why || !*why)
		why = PQerrorMessage(l->conn);
	/* libpq's messages span lines ("...failed: ...\n\tIs the server
	 * running...\n"): one line, then the one sanitizer */
	char flat[512], msg[512];
	snprintf(flat, sizeof(flat), "%s", why);
	for (char *c = flat; *c; c++)
		if (*c == '\n' || *c == '\t' || *c == '\r')
			*c = ' ';
	pc_text_sanitize(flat, msg, sizeof(msg));
	size_t n = strlen(msg);
	while (n && msg[n - 1] == ' ')
		msg[--n] = '\0';
	if (PQstatus(l->conn) != CONNECTION_OK)
		return pc_error_set_at(err, -ECONNREFUSED, l->where, 0, 0,
				       "ledger unreachable (%s: %s)", what, msg);
	return pc_error_set_at(err, PC_EIO, l->where, 0, 0, "ledger: %s: %s", what, msg);
}

/* A statement's result: an error (res cleared) or *ret (or cleared when
 * the caller wants no rows). */
static int result(struct pg_ledger *l, PGresult *res, PGresult **ret, struct pc_error *err,
		  const char *what)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int r = pg_error(l, err, what, res);
		PQclear(res);
		return r;
	}
	if (ret)
		*ret = res;
	else
		PQclear(res);
	return 0;
}

/* Run sql with params; *ret gets the result when the caller wants rows. */
static int run(struct pg_ledger *l, const char *sql, const struct params *p, PGresult **ret,
	       struct pc_error *err, const char *what)
{
	return result(l,
		      PQexecParams(l->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL,
				   0),
		      ret, err, what);
}

static int exec_sql(struct pg_ledger *l, const char *sql, struct pc_error *err)
{
	return run(l, sql, NULL, NULL, err, sql);
}

static int run_prepared(struct pg_ledger *l, const char *name, const struct params *p,
			PGresult **ret, struct pc_error *err)
{
	return result(l, PQexecPrepared(l->conn, name, p->n, p->v, NULL, NULL, 0), ret, err,
		      name);
}

static void rollback(struct pg_ledger *l)
{
	PQclear(PQexec(l->conn, "ROLLBACK"));
}

/* A column as int64 (0 when NULL or not a number: the loader checks
 * ranges). */
static int64_t get_i64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	const char *s = PQgetvalue(res, row, col);
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return 0;
	return (int64_t)v;
}

static const char *get_str(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* --- open, migrate, close ------------------------------------------------ */

static void pg_close(struct pc_ledger *base)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	if (!l)
		return;
	PQfinish(l->conn);
	free(l);
}

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* "relation exists, skipping" and the like */
}

static int pg_open(const char *url, bool create, struct pc_ledger **ret, struct pc_error *err)
{
	(void)create; /* the database must exist; the tables are made by migrate */
	struct pg_ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	l->base.ops = &pc_ledger_pg;
	l->conn = PQconnectdb(url);
	if (!l->conn) {
		free(l);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	const char *host = PQhost(l->conn), *db = PQdb(l->conn);
	char h[128], d[96];
	pc_text_sanitize(host && *host ? host : "localhost", h, sizeof(h));
	pc_text_sanitize(db ? db : "", d, sizeof(d));
	snprintf(l->where, sizeof(l->where), "postgresql://%s/%s", h, d);
	if (PQstatus(l->conn) != CONNECTION_OK) {
		int r = pg_error(l, err, "connect", NULL);
		pg_close(&l->base);
		return r;
	}
	PQsetNoticeProcessor(l->conn, quiet_notice, NULL);
	/* a writer waits for a migration's lock at most this long, then says so */
	int r = exec_sql(l, "SET lock_timeout = '60s'", err);
	if (r < 0) {
		pg_close(&l->base);
		return r;
	}
	*ret = &l->base;
	return 0;
}

static int schema_version(struct pg_ledger *l, int *ret, struct pc_error *err)
{
	PGresult *res;
	int r = run(l, "SELECT version FROM schema_version", NULL, &res, err, "schema version");
	if (r < 0)
		return r;
	*ret = PQntuples(res) ? (int)get_i64(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

static int pg_migrate(struct pc_ledger *base, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	PGresult *res;
	int v;
	int r = exec_sql(l, "BEGIN", err);
	if (r < 0)
		return r;
	/* one migrator at a time, whatever the state of the tables */
	if ((r = exec_sql(l, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", err)) < 0)
		goto fail;
	if ((r = run(l,
		     "SELECT count(*) FROM information_schema.tables"
		     " WHERE table_schema = current_schema() AND table_name = 'schema_version'",
		     NULL, &res, err, "schema version")) < 0)
		goto fail;
	bool versioned = get_i64(res, 0, 0) > 0;
	PQclear(res);
	if (versioned) {
		if ((r = schema_version(l, &v, err)) < 0)
			goto fail;
	} else {
		if ((r = run(l,
			     "SELECT count(*) FROM information_schema.tables"
			     " WHERE table_schema = current_schema()",
			     NULL, &res, err, "tables")) < 0)
			goto fail;
		int64_t n = get_i64(res, 0, 0);
		PQclear(res);
		if (n != 0) {
			r = pc_error_set_at(err, PC_EIO, l->where, 0, 0,
					    "not a portcensus ledger (a database with other "
					    "tables and no schema version)");
			goto fail;
		}
		if ((r = exec_sql(l, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
				  err)) < 0 ||
		    (r = exec_sql(l, "INSERT INTO schema_version VALUES (0)", err)) < 0)
			goto fail;
		v = 0;
	}
	if (v > PC_LEDGER_SCHEMA_VERSION || v < 0) {
		r = pc_error_set_at(err, PC_EIO, l->where, 0, 0,
				    "ledger schema version %d is newer than this portcensus "
				    "knows (%d): use a newer portcensus",
				    v, PC_LEDGER_SCHEMA_VERSION);
		goto fail;
	}
	char sql[2048];
	for (int step = v + 1; step <= PC_LEDGER_SCHEMA_VERSION; step++) {
		for (size_t i = 0; pc_ledger_migrations[step][i]; i++) {
			if (pc_ledger_schema_stmt(PC_ENGINE_PG, pc_ledger_migrations[step][i], sql,
						  sizeof(sql)) < 0) {
				r = pc_error_set(err, PC_ETOOBIG, "schema statement too long");
				goto fail;
			}
			if ((r = exec_sql(l, sql, err)) < 0)
				goto fail;
		}
	}
	if (v != PC_LEDGER_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
			 PC_LEDGER_SCHEMA_VERSION);
		if ((r = exec_sql(l, sql, err)) < 0)
			goto fail;
	}
	return exec_sql(l, "COMMIT", err);
fail:
	rollback(l);
	return r;
}

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
			r = pg_error(l, err, stmts[i].name, res);
		PQclear(res);
	}
	free(ep_sql);
	free(snap_sql);
	if (r == 0)
		l->prepared = true;
	return r;
}

/* One prepared INSERT: a leading snapshot id (0: none), then v. */
static int insert(struct pg_ledger *l, const char *name, int64_t id,
		  const struct pc_ledger_value *v, int n, struct pc_error *err)
{
	struct params p = {0};
	int r = 0;
	if (id)
		r = params_int(&p, id);
	if (r == 0)
		r = params_add(&p, v, n);
	if (r == 0)
		r = run_prepared(l, name, &p, NULL, err);
	else
		r = pc_error_set(err, r, "out of memory");
	params_free(&p);
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
	int r = params_add(&p, v, 2);
	if (r == 0)
		r = run(l, "SELECT id FROM snapshot WHERE host_id = $1 AND origin = $2", &p, &res,
			err, "find shipped snapshot");
	params_free(&p);
	if (r < 0)
		return r;
	*ret = PQntuples(res) == 1 ? get_i64(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

static int pg_store(struct pc_ledger *base, const struct pc_snapshot *snap,
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
	if ((r = prepare_store(l, err)) < 0 || (r = exec_sql(l, "BEGIN", err)) < 0) {
		free(idents);
		pc_arena_free(&arena);
		return r;
	}
	struct pc_ledger_value sv[PC_LEDGER_SNAPSHOT_NCOLS];
	struct pc_ledger_ids ids;
	if ((r = pc_ledger_snapshot_values(snap, meta, idents, &arena, sv, &ids)) < 0) {
		r = pc_error_set(err, r, r == PC_ENOMEM ? "out of memory"
							: "no random source for the snapshot's uuid");
		goto fail;
	}
	/* a snapshot shipped again (its commit acknowledgement was lost) is
	 * already here: its id, nothing stored twice */
	int64_t id = 0;
	if (meta->origin && (r = find_origin(l, &ids, &id, err)) < 0)
		goto fail;
	if (id > 0) {
		rollback(l);
		*ret_id = id;
		free(idents);
		pc_arena_free(&arena);
		return 0;
	}
	if ((r = params_add(&p, sv, PC_LEDGER_SNAPSHOT_NCOLS)) < 0) {
		r = pc_error_set(err, r, "out of memory");
		goto fail;
	}
	if ((r = run_prepared(l, "pc_snapshot", &p, &res, err)) < 0)
		goto fail;
	id = PQntuples(res) == 1 ? get_i64(res, 0, 0) : 0;
	PQclear(res);
	if (id <= 0) {
		r = pc_error_set_at(err, PC_EIO, l->where, 0, 0, "ledger: no id for the snapshot");
		goto fail;
	}
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
	if ((r = exec_sql(l, "COMMIT", err)) < 0)
		goto fail;
	*ret_id = id;
	params_free(&p);
	free(idents);
	pc_arena_free(&arena);
	return 0;
fail:
	rollback(l);
	params_free(&p);
	free(idents);
	pc_arena_free(&arena);
	return r;
}

/* --- history and selectors ------------------------------------------------ */

static int pg_list(struct pc_ledger *base, uint64_t limit,
		   int (*cb)(void *ctx, const struct pc_ledger_row *row), void *ctx,
		   struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	struct params p = {0};
	params_int(&p, limit && limit < INT64_MAX ? (int64_t)limit : INT64_MAX);
	PGresult *res;
	int r = run(l,
		    "SELECT id, started_at, finished_at, host, kind, scope, command,"
		    " n_endpoints, n_warnings, n_findings,"
		    " n_info, n_low, n_medium, n_high, n_critical"
		    " FROM snapshot ORDER BY id DESC LIMIT $1",
		    &p, &res, err, "list snapshots");
	params_free(&p);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		struct pc_ledger_row row = {
			.id = get_i64(res, i, 0),
			.started_at_ms = get_i64(res, i, 1),
			.finished_at_ms = get_i64(res, i, 2),
			.host = get_str(res, i, 3),
			.kind = get_str(res, i, 4),
			.scope = get_str(res, i, 5),
			.command = get_str(res, i, 6),
			.n_endpoints = (uint64_t)get_i64(res, i, 7),
			.n_warnings = (uint64_t)get_i64(res, i, 8),
			.n_findings = (uint64_t)get_i64(res, i, 9),
		};
		for (int k = 0; k < PC_SEV_COUNT; k++)
			row.by_severity[k] = (uint64_t)get_i64(res, i, 10 + k);
		r = cb(ctx, &row);
	}
	PQclear(res);
	return r;
}

static int pg_find(struct pc_ledger *base, const struct pc_ledger_find *q, int64_t *ret_id,
		   struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	const char *sql = NULL;
	struct params p = {0};
	switch (q->kind) {
	case PC_LEDGER_FIND_ID:
		sql = "SELECT id FROM snapshot WHERE id = $1";
		params_int(&p, q->id);
		break;
	case PC_LEDGER_FIND_NTH_LATEST:
		sql = "SELECT id FROM snapshot ORDER BY id DESC LIMIT 1 OFFSET $1";
		params_int(&p, q->n > INT64_MAX ? INT64_MAX : (int64_t)q->n);
		break;
	case PC_LEDGER_FIND_AT_TIME:
		sql = "SELECT id FROM snapshot WHERE started_at <= $1"
		      " ORDER BY started_at DESC, id DESC LIMIT 1";
		params_int(&p, q->time_ms);
		break;
	case PC_LEDGER_FIND_PREV_SCOPE:
		sql = "SELECT p.id FROM snapshot s JOIN snapshot p ON p.host = s.host"
		      " AND p.kind = s.kind AND p.scope = s.scope AND p.id < s.id"
		      " WHERE s.id = $1 ORDER BY p.id DESC LIMIT 1";
		params_int(&p, q->id);
		break;
	}
	if (!sql)
		return pc_error_set(err, PC_EINVAL, "bad snapshot query");
	PGresult *res;
	int r = run(l, sql, &p, &res, err, "find snapshot");
	params_free(&p);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1)
		*ret_id = get_i64(res, 0, 0);
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
	return i < PQnfields(p->res) ? get_i64(p->res, p->row, i) : 0;
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
		params_int(&p, ids[i]);
	PGresult *res;
	int r = run(l, q, &p, &res, err, what);
	params_free(&p);
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

static int pg_load(struct pc_ledger *base, int64_t id, struct pc_snapshot **ret,
		   struct pc_ledger_meta *ret_meta, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	/* one snapshot of the database for all the queries */
	int r = exec_sql(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (r < 0)
		return r;
	r = pc_ledger_load_with(read_rows, l, id, ret, ret_meta, l->where, err);
	PQclear(PQexec(l->conn, "COMMIT"));
	return r;
}

/* --- diff ---------------------------------------------------------------- */

static int pg_diff(struct pc_ledger *base, int64_t a, int64_t b, struct pc_ledger_diff *d,
		   struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	/* one snapshot of the database for the whole diff */
	int r = exec_sql(l, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (r < 0)
		return r;
	r = pc_ledger_diff_with(PC_ENGINE_PG, read_rows, l, a, b, d, l->where, err);
	PQclear(PQexec(l->conn, "COMMIT"));
	return r;
}

/* --- retention ----------------------------------------------------------- */

static int pg_retain(struct pc_ledger *base, const struct pc_ledger_keep *keep, int64_t now_ms,
		     uint64_t *ret_deleted, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	*ret_deleted = 0;
	if (!keep->count && !keep->max_age_ms)
		return 0;
	static const char *const tables[] = {"endpoint_text", "forward_target", "owner",
					     "endpoint",      "finding",        "snapshot_warning",
					     "outbox"};
	struct params p = {0};
	PGresult *res = NULL;
	int r = exec_sql(l, "BEGIN", err);
	if (r < 0)
		return r;
	/* two agents applying retention at once would each delete what the
	 * other is deleting: one at a time */
	if ((r = exec_sql(l, "LOCK TABLE snapshot IN SHARE ROW EXCLUSIVE MODE", err)) < 0)
		goto fail;
	int64_t cut_id = 0;
	if (keep->count) {
		params_int(&p, keep->count > INT64_MAX ? INT64_MAX : (int64_t)keep->count);
		r = run(l, "SELECT id FROM snapshot ORDER BY id DESC LIMIT 1 OFFSET $1", &p, &res,
			err, "retention");
		params_free(&p);
		if (r < 0)
			goto fail;
		if (PQntuples(res) == 1)
			cut_id = get_i64(res, 0, 0);
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
		params_int(&p, cut_id);
		params_int(&p, cut_time);
		r = run(l, sql, &p, &res, err, "retention");
		params_free(&p);
		if (r < 0)
			goto fail;
		if (i == sizeof(tables) / sizeof(tables[0]))
			*ret_deleted = (uint64_t)strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	return exec_sql(l, "COMMIT", err);
fail:
	rollback(l);
	return r;
}

/* --- fleet questions ------------------------------------------------------ */

#define QUERY_MAX_COLS 32

static int pg_query(struct pc_ledger *base, const char *sql, const char *const *params,
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
		r = params_add(&p, &v, 1);
	}
	PGresult *res = NULL;
	if (r < 0)
		r = pc_error_set(err, r, "ledger: query parameters");
	else
		r = run(l, q, &p, &res, err, "query");
	free(q);
	params_free(&p);
	if (r < 0)
		return r;
	int n = PQnfields(res);
	if (n > QUERY_MAX_COLS) {
		PQclear(res);
		return pc_error_set(err, PC_EINVAL, "ledger: query has too many columns");
	}
	const char *cols[QUERY_MAX_COLS];
	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		for (int c = 0; c < n; c++)
			cols[c] = get_str(res, i, c);
		r = cb(ctx, n, cols);
	}
	PQclear(res);
	return r;
}

const struct pc_ledger_ops pc_ledger_pg = {
	.name = "postgresql",
	.open = pg_open,
	.migrate = pg_migrate,
	.store = pg_store,
	.list = pg_list,
	.find = pg_find,
	.load = pg_load,
	.diff = pg_diff,
	.retain = pg_retain,
	.query = pg_query,
	.close = pg_close,
};
