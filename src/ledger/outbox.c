/*
 * outbox.c - store and forward: an agent's audits reach the central
 * PostgreSQL ledger in order and exactly once, even when it is down.
 *
 * Why it is built this way:
 * - Every audit of an agent is first stored in its local SQLite ledger
 *   (which never depends on the network), and an outbox row names it as
 *   owed to the central ledger. Then the outbox is shipped, oldest first;
 *   when the central ledger is unreachable nothing is lost: the rows wait
 *   for the next audit or for `portcensus fleet ship`.
 * - Exactly once: a snapshot keeps its (host_id, origin uuid) when shipped,
 *   and the central ledger has a unique index on that pair and looks it up
 *   before storing. When the commit succeeded but its acknowledgement was
 *   lost, the retry finds the snapshot and only marks the outbox row; two
 *   shippers racing on one outbox cannot store one snapshot twice either.
 * - In order: shipping stops at the first failure, so the central ledger
 *   never holds a later audit of a host without the earlier ones (a diff
 *   there compares neighbours).
 * - The outbox row is written in its own transaction right after the
 *   snapshot's: a crash between the two leaves that one snapshot local only
 *   (never a duplicate); the window is one statement.
 * - The outbox is plain SQL on the local ledger through SQLite's API: it is
 *   local by nature, never on PostgreSQL.
 */
#include "ledger/ledger.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_TARGET "central"
#define BUSY_TIMEOUT_MS 30000

static int ob_error(sqlite3 *db, const char *path, struct pc_error *err, const char *what)
{
	return pc_error_set_at(err, PC_EIO, path, 0, 0, "ledger outbox: %s: %s", what,
			       db ? sqlite3_errmsg(db) : "cannot open");
}

/* The local ledger's file, opened for the outbox (the ledger itself made it
 * and migrated it: no create, no link followed). */
static int ob_open(const char *path, sqlite3 **ret, struct pc_error *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		int r = ob_error(db, path, err, "open");
		sqlite3_close_v2(db);
		return r;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	*ret = db;
	return 0;
}

static int ob_exec_id(sqlite3 *db, const char *path, const char *sql, int64_t a, int64_t b,
		      struct pc_error *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return ob_error(db, path, err, "prepare");
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : ob_error(db, path, err, sql);
}

int pc_ledger_outbox_add(const char *local_path, int64_t local_id, struct pc_error *err)
{
	sqlite3 *db;
	int r = ob_open(local_path, &db, err);
	if (r < 0)
		return r;
	r = ob_exec_id(db, local_path,
		       "INSERT INTO outbox (snapshot_id, target) VALUES (?1, '" OUTBOX_TARGET "')",
		       local_id, 0, err);
	sqlite3_close_v2(db);
	return r;
}

/* Up to cap pending ids, oldest first. */
static int ob_pending(sqlite3 *db, const char *path, int64_t *ids, size_t cap, size_t *ret_n,
		      uint64_t *ret_total, struct pc_error *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT snapshot_id FROM outbox WHERE central_id IS NULL"
			       " ORDER BY snapshot_id",
			       -1, &st, NULL) != SQLITE_OK)
		return ob_error(db, path, err, "pending");
	size_t n = 0;
	uint64_t total = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n < cap)
			ids[n++] = sqlite3_column_int64(st, 0);
		total++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ob_error(db, path, err, "pending");
	*ret_n = n;
	*ret_total = total;
	return 0;
}

int pc_ledger_ship(const char *local_path, const char *central, struct pc_ledger_ship *res,
		   struct pc_error *err)
{
	memset(res, 0, sizeof(*res));
	sqlite3 *db = NULL;
	struct pc_ledger *local = NULL, *remote = NULL;
	int64_t ids[256];
	size_t n = 0;
	int r = pc_ledger_open(local_path, false, &local, err);
	if (r == 0)
		r = ob_open(local_path, &db, err);
	if (r == 0)
		r = ob_pending(db, local_path, ids, sizeof(ids) / sizeof(ids[0]), &n,
			       &res->pending, err);
	if (r < 0 || res->pending == 0)
		goto out;
	r = pc_ledger_open(central, true, &remote, err);
	if (r < 0)
		goto out;
	/* in batches of 256, oldest first, stopping at the first failure */
	while (n > 0) {
		for (size_t i = 0; i < n; i++) {
			struct pc_snapshot *snap = NULL;
			struct pc_ledger_meta meta;
			int64_t cid = 0;
			r = local->ops->load(local, ids[i], &snap, &meta, err);
			if (r == -ENOENT) {
				/* gone before it could ship (retention keeps
				 * owed snapshots, so removed by hand): nothing
				 * to ship, say so in the count */
				res->lost++;
				r = ob_exec_id(db, local_path,
					       "UPDATE outbox SET central_id = 0, shipped_at = ?2"
					       " WHERE snapshot_id = ?1",
					       ids[i], pc_now_ms(), err);
				if (r < 0)
					goto out;
				continue;
			}
			if (r < 0)
				goto out;
			r = remote->ops->store(remote, snap, &meta, &cid, err);
			pc_snapshot_free(snap);
			if (r < 0)
				goto out;
			r = ob_exec_id(db, local_path,
				       "UPDATE outbox SET central_id = ?2, shipped_at ="
				       " CAST(strftime('%s', 'now') AS INTEGER) * 1000"
				       " WHERE snapshot_id = ?1",
				       ids[i], cid, err);
			if (r < 0)
				goto out;
			res->shipped++;
		}
		uint64_t total;
		if ((r = ob_pending(db, local_path, ids, sizeof(ids) / sizeof(ids[0]), &n, &total,
				    err)) < 0)
			goto out;
	}
out:
	if (db) {
		uint64_t left = res->pending;
		size_t k;
		int64_t one;
		if (ob_pending(db, local_path, &one, 1, &k, &left, &(struct pc_error){0}) == 0)
			res->pending = left;
		sqlite3_close_v2(db);
	}
	pc_ledger_close(remote);
	pc_ledger_close(local);
	return r;
}
