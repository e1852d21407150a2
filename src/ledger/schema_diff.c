/*
 * schema_diff.c - the drift between two stored snapshots, by a join on the
 * identity key, over either engine's rows.
 *
 * Why: the diff is three queries (added, removed, changed) whose rows come
 * back through the engine's accessors (struct pc_ledger_rd), so the same
 * code decides what changed on SQLite and PostgreSQL and the golden diff
 * test holds on both. Rows whose drift hashes are equal are never read.
 */
#include "ledger/schema.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- diff helpers --------------------------------------------------------- */

struct pc_ledger_change *pc_ledger_diff_add(struct pc_ledger_diff *d)
{
	if (d->n_changes == d->cap_changes) {
		size_t n = d->cap_changes ? d->cap_changes * 2 : 64;
		struct pc_ledger_change *p = realloc(d->changes, n * sizeof(*p));
		if (!p)
			return NULL;
		d->changes = p;
		d->cap_changes = n;
	}
	struct pc_ledger_change *c = &d->changes[d->n_changes++];
	memset(c, 0, sizeof(*c));
	return c;
}

bool pc_ledger_same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static int cmp_change(const void *pa, const void *pb)
{
	const struct pc_ledger_change *a = pa, *b = pb;
	int c = strcmp(a->ident ? a->ident : "", b->ident ? b->ident : "");
	if (c)
		return c;
	return (int)a->action - (int)b->action;
}

void pc_ledger_diff_sort(struct pc_ledger_diff *d)
{
	if (d->n_changes)
		qsort(d->changes, d->n_changes, sizeof(*d->changes), cmp_change);
}

/* --- diff -------------------------------------------------------------------- */

struct diff_ctx {
	struct pc_ledger_diff *d;
	enum pc_ledger_action action;
	const char *host;
	bool oom;
};

static const char *diff_str(struct diff_ctx *c, const struct pc_ledger_rd *r, int i)
{
	size_t len;
	const char *v = r->text(r, i, &len);
	if (!v)
		return NULL;
	const char *copy = pc_arena_strndup(&c->d->arena, v, len);
	if (!copy)
		c->oom = true;
	return copy;
}

/* The identity and `drift` of ch from PC_LEDGER_DIFF_COLS at column base. */
static void diff_fill(struct diff_ctx *c, struct pc_ledger_change *ch,
		      const struct pc_ledger_rd *r, int base, struct pc_ledger_drift *drift)
{
	ch->ident = diff_str(c, r, base + 0);
	ch->namespace_id = diff_str(c, r, base + 1);
	int64_t src = r->i64(r, base + 2);
	ch->source = pc_source_name((enum pc_source)(src >= 0 && src <= PC_SOURCE_IMPORT ? src : 0));
	ch->proto = r->i64(r, base + 3) == PC_PROTO_UDP ? "udp" : "tcp";
	ch->address = diff_str(c, r, base + 4);
	ch->port = (unsigned)r->i64(r, base + 5) & 0xffffu;
	ch->hostname = diff_str(c, r, base + 6);
	drift->owner = diff_str(c, r, base + 7);
	for (int f = 0; f < PC_DRIFT_COUNT; f++)
		drift->v[f] = diff_str(c, r, base + 8 + f);
}

static int diff_host(void *arg, const struct pc_ledger_rd *r)
{
	struct diff_ctx *c = arg;
	c->host = diff_str(c, r, 0);
	return 0;
}

static int diff_only(void *arg, const struct pc_ledger_rd *r)
{
	struct diff_ctx *c = arg;
	struct pc_ledger_change *ch = pc_ledger_diff_add(c->d);
	if (!ch) {
		c->oom = true;
		return 1;
	}
	ch->action = c->action;
	ch->host = c->host;
	diff_fill(c, ch, r, 0, &ch->now);
	return c->oom;
}

static bool col_same(const struct pc_ledger_rd *r, int a, int b)
{
	size_t la, lb;
	const char *va = r->text(r, a, &la);
	if (!va)
		return !r->text(r, b, &lb);
	const char *vb = r->text(r, b, &lb);
	return vb && la == lb && memcmp(va, vb, la) == 0;
}

static int diff_changed(void *arg, const struct pc_ledger_rd *r)
{
	struct diff_ctx *c = arg;
	bool differs[PC_DRIFT_COUNT], any = false;
	for (int f = 0; f < PC_DRIFT_COUNT; f++) {
		differs[f] = !col_same(r, 8 + f, PC_LEDGER_DIFF_NCOLS + 8 + f);
		any |= differs[f];
	}
	if (!any)
		return 0;
	struct pc_ledger_change *ch = pc_ledger_diff_add(c->d);
	if (!ch) {
		c->oom = true;
		return 1;
	}
	ch->action = PC_CHANGE_CHANGED;
	ch->host = c->host;
	struct pc_ledger_change before = {0};
	diff_fill(c, &before, r, 0, &ch->before);
	diff_fill(c, ch, r, PC_LEDGER_DIFF_NCOLS, &ch->now);
	memcpy(ch->differs, differs, sizeof(differs));
	return c->oom;
}

#define CHANGED_COLS                                                                         \
	"SELECT a.ident, a.ns_id, a.source, a.proto, a.address, a.port,"                     \
	" a.hostname, a.d_owner, a.d_exe, a.d_unit, a.d_image, a.d_service,"                 \
	" a.d_auth, a.d_bind, a.d_state, a.d_severity, a.d_verdict,"                         \
	" b.ident, b.ns_id, b.source, b.proto, b.address, b.port,"                           \
	" b.hostname, b.d_owner, b.d_exe, b.d_unit, b.d_image, b.d_service,"                 \
	" b.d_auth, b.d_bind, b.d_state, b.d_severity, b.d_verdict"
#define CHANGED_WHERE                                                                        \
	" WHERE a.snapshot_id = ?1 AND b.snapshot_id = ?2 AND b.ident = a.ident"             \
	" AND (a.d_hash IS NULL OR b.d_hash IS NULL OR a.d_hash <> b.d_hash)"

int pc_ledger_diff_with(enum pc_ledger_engine engine, pc_ledger_query_fn query, void *conn,
			int64_t a, int64_t b, struct pc_ledger_diff *d, const char *where,
			struct pc_error *err)
{
	d->a = a;
	d->b = b;
	struct diff_ctx c = {.d = d};
	const char *host[2] = {"", ""};
	int64_t ids[2] = {a, b};
	int r = 0;
	for (int i = 0; i < 2 && r == 0; i++) {
		if (!ids[i])
			continue;
		c.host = NULL;
		r = query(conn, "SELECT host FROM snapshot WHERE id = ?1", &ids[i], 1, diff_host, &c,
			  err, "diff");
		if (r == 0 && !c.host)
			r = c.oom ? pc_error_set(err, PC_ENOMEM, "out of memory")
				  : pc_error_set_at(err, -ENOENT, where, 0, 0,
						    "no snapshot %lld in the ledger",
						    (long long)ids[i]);
		host[i] = c.host;
	}
	/* added (in b, not a) and removed (in a, not b): anti-joins on the key,
	 * in key order (SQLite then walks x by the identity index and reads a
	 * row only when it is reported) */
	static const char only_sql[] =
		"SELECT " PC_LEDGER_DIFF_COLS " FROM endpoint x WHERE x.snapshot_id = ?1"
		" AND NOT EXISTS (SELECT 1 FROM endpoint y WHERE y.snapshot_id = ?2"
		" AND y.ident = x.ident) ORDER BY x.ident";
	for (int pass = 0; pass < 2 && r == 0 && !c.oom; pass++) {
		int64_t xy[2] = {pass == 0 ? b : a, pass == 0 ? a : b};
		if (!xy[0])
			continue;
		c.action = pass == 0 ? PC_CHANGE_ADDED : PC_CHANGE_REMOVED;
		c.host = pass == 0 ? host[1] : host[0];
		r = query(conn, only_sql, xy, 2, diff_only, &c, err, "diff");
	}
	/* changed: the join on the key, rows only where the hashes differ;
	 * SQLite's CROSS JOIN keeps a outside so both sides read only the
	 * (snapshot_id, ident, d_hash) index (PostgreSQL plans it itself) */
	if (a && b && r == 0 && !c.oom) {
		c.host = host[1];
		r = query(conn,
			  engine == PC_ENGINE_SQLITE
				  ? CHANGED_COLS " FROM endpoint a CROSS JOIN endpoint b" CHANGED_WHERE
				  : CHANGED_COLS " FROM endpoint a JOIN endpoint b ON b.ident = a.ident"
						 CHANGED_WHERE,
			  ids, 2, diff_changed, &c, err, "diff");
	}
	if (r > 0)
		r = 0; /* stopped by oom */
	if (r == 0 && c.oom)
		r = pc_error_set(err, PC_ENOMEM, "out of memory");
	if (r == 0)
		pc_ledger_diff_sort(d);
	return r;
}
