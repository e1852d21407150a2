/*
 * ledger_pg.c - the ledger on PostgreSQL: one central store that every agent
 * of a fleet writes to and every `fleet` question is asked of. This file
 * holds the connection, the statement helpers and the migrations; the store
 * is in ledger_pg_store.c, the reads (history, load, diff, retention, fleet
 * questions) in ledger_pg_query.c, and what they share in ledger_pg_int.h.
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
#include "ledger/ledger_pg_int.h"
#include "core/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock key for migrations: "pcledger" in ASCII */
#define MIGRATE_LOCK_KEY "8097846770173756786"

void pc_ledger_pg_params_free(struct params *p)
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

int pc_ledger_pg_params_add(struct params *p, const struct pc_ledger_value *v, int n)
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

int pc_ledger_pg_params_int(struct params *p, int64_t i)
{
	struct pc_ledger_value v = {.type = PC_V_INT, .i = i};
	return pc_ledger_pg_params_add(p, &v, 1);
}

/* --- errors and statements ------------------------------------------------ */

int pc_ledger_pg_error(struct pg_ledger *l, struct pc_error *err, const char *what,
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
int pc_ledger_pg_result(struct pg_ledger *l, PGresult *res, PGresult **ret, struct pc_error *err,
			const char *what)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int r = pc_ledger_pg_error(l, err, what, res);
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
int pc_ledger_pg_run(struct pg_ledger *l, const char *sql, const struct params *p, PGresult **ret,
		     struct pc_error *err, const char *what)
{
	return pc_ledger_pg_result(l,
		      PQexecParams(l->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL,
				   0),
		      ret, err, what);
}

int pc_ledger_pg_exec(struct pg_ledger *l, const char *sql, struct pc_error *err)
{
	return pc_ledger_pg_run(l, sql, NULL, NULL, err, sql);
}

int pc_ledger_pg_run_prepared(struct pg_ledger *l, const char *name, const struct params *p,
			      PGresult **ret, struct pc_error *err)
{
	return pc_ledger_pg_result(l, PQexecPrepared(l->conn, name, p->n, p->v, NULL, NULL, 0), ret,
	                           err, name);
}

void pc_ledger_pg_rollback(struct pg_ledger *l)
{
	PQclear(PQexec(l->conn, "ROLLBACK"));
}

/* A column as int64 (0 when NULL or not a number: the loader checks
 * ranges). */
int64_t pc_ledger_pg_get_i64(const PGresult *res, int row, int col)
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

const char *pc_ledger_pg_get_str(const PGresult *res, int row, int col)
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
		int r = pc_ledger_pg_error(l, err, "connect", NULL);
		pg_close(&l->base);
		return r;
	}
	PQsetNoticeProcessor(l->conn, quiet_notice, NULL);
	/* a writer waits for a migration's lock at most this long, then says so */
	int r = pc_ledger_pg_exec(l, "SET lock_timeout = '60s'", err);
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
	int r = pc_ledger_pg_run(l, "SELECT version FROM schema_version", NULL, &res, err,
	                         "schema version");
	if (r < 0)
		return r;
	*ret = PQntuples(res) ? (int)pc_ledger_pg_get_i64(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

static int pg_migrate(struct pc_ledger *base, struct pc_error *err)
{
	struct pg_ledger *l = (struct pg_ledger *)base;
	PGresult *res;
	int v;
	int r = pc_ledger_pg_exec(l, "BEGIN", err);
	if (r < 0)
		return r;
	/* one migrator at a time, whatever the state of the tables */
	if ((r = pc_ledger_pg_exec(l, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", err)) <
	    0)
		goto fail;
	if ((r = pc_ledger_pg_run(l,
		     "SELECT count(*) FROM information_schema.tables"
		     " WHERE table_schema = current_schema() AND table_name = 'schema_version'",
		     NULL, &res, err, "schema version")) < 0)
		goto fail;
	bool versioned = pc_ledger_pg_get_i64(res, 0, 0) > 0;
	PQclear(res);
	if (versioned) {
		if ((r = schema_version(l, &v, err)) < 0)
			goto fail;
	} else {
		if ((r = pc_ledger_pg_run(l,
			     "SELECT count(*) FROM information_schema.tables"
			     " WHERE table_schema = current_schema()",
			     NULL, &res, err, "tables")) < 0)
			goto fail;
		int64_t n = pc_ledger_pg_get_i64(res, 0, 0);
		PQclear(res);
		if (n != 0) {
			r = pc_error_set_at(err, PC_EIO, l->where, 0, 0,
					    "not a portcensus ledger (a database with other "
					    "tables and no schema version)");
			goto fail;
		}
		if ((r = pc_ledger_pg_exec(
		         l, "CREATE TABLE schema_version (version INTEGER NOT NULL)", err)) < 0 ||
		    (r = pc_ledger_pg_exec(l, "INSERT INTO schema_version VALUES (0)", err)) < 0)
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
			if ((r = pc_ledger_pg_exec(l, sql, err)) < 0)
				goto fail;
		}
	}
	if (v != PC_LEDGER_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
			 PC_LEDGER_SCHEMA_VERSION);
		if ((r = pc_ledger_pg_exec(l, sql, err)) < 0)
			goto fail;
	}
	return pc_ledger_pg_exec(l, "COMMIT", err);
fail:
	pc_ledger_pg_rollback(l);
	return r;
}

const struct pc_ledger_ops pc_ledger_pg = {
	.name = "postgresql",
	.open = pg_open,
	.migrate = pg_migrate,
	.store = pc_ledger_pg_store,
	.list = pc_ledger_pg_list,
	.find = pc_ledger_pg_find,
	.load = pc_ledger_pg_load,
	.diff = pc_ledger_pg_diff,
	.retain = pc_ledger_pg_retain,
	.query = pc_ledger_pg_query,
	.close = pg_close,
};
