/*
 * schema_load.c - a stored snapshot read back into a struct pc_snapshot, from
 * either engine's result rows.
 *
 * What is trusted: nothing read back. Enums are range-checked (a value out
 * of range marks the snapshot corrupt), addresses parsed, strings copied
 * into the snapshot's arena with their lengths. One loader serves both
 * engines through struct pc_ledger_rd, so a snapshot loads the same from
 * SQLite and PostgreSQL.
 */
#include "ledger/schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PC_LEDGER_OWNER_COLS "endpoint_seq, seq, pid, comm, exe, uid, user_name, unit, c_id," \
	" c_runtime, c_pod_uid, c_name, c_image, c_image_id, c_pod, c_pod_namespace"
#define PC_LEDGER_FORWARD_COLS "endpoint_seq, address, port, weight, backend_index"
#define PC_LEDGER_META_COLS "host, kind, scope, command, started_at, finished_at, scan," \
	" scan_engine, scan_targets, scan_ports, scan_probes_planned, scan_sent," \
	" scan_replies, scan_retries, scan_capture_drops, scan_duration_s, scan_rate_pps," \
	" host_id, origin, sweep_id, segment, scan_shard, scan_shards"

/* endpoint_text rows gathered into runs, one per endpoint and list */
struct texts {
	const char **run;
	size_t n, cap;
	int64_t e;
	int list;
};

/* --- reading rows back ----------------------------------------------------- */

static const char *col_str(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r, int i)
{
	size_t len = 0;
	const char *v = r->text(r, i, &len);
	if (!v)
		return NULL;
	const char *c = pc_arena_strndup(&s->snap->arena, v, len);
	if (!c)
		s->oom = true;
	return c;
}

/* An enum column, or `bad` when out of [lo, hi]. */
static int col_enum(const struct pc_ledger_rd *r, int i, int lo, int hi, bool *bad)
{
	int64_t v = r->i64(r, i);
	if (v < lo || v > hi) {
		*bad = true;
		return lo;
	}
	return (int)v;
}

static bool col_addr(const struct pc_ledger_rd *r, int i, struct pc_addr *a)
{
	size_t len;
	const char *s = r->text(r, i, &len);
	memset(a, 0, sizeof(*a));
	if (!s)
		return true;
	char buf[PC_ADDR_STRLEN + 8];
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return pc_addr_parse(buf, a) == 0;
}

static void load_endpoint(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	struct pc_snapshot *snap = s->snap;
	struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
	if (!ep) {
		s->oom = true;
		return;
	}
	ep->source = (enum pc_source)col_enum(r, C_SOURCE, 0, PC_SOURCE_IMPORT, &s->bad);
	ep->proto = (enum pc_proto)col_enum(r, C_PROTO, 0, PC_PROTO_UDP, &s->bad);
	if (!col_addr(r, C_ADDRESS, &ep->addr))
		s->bad = true;
	ep->port = (uint16_t)col_enum(r, C_PORT, 0, 65535, &s->bad);
	ep->state = (enum pc_state)col_enum(r, C_STATE, 0, PC_STATE_FORWARDED, &s->bad);
	ep->bind = (enum pc_bind)col_enum(r, C_BIND, 0, PC_BIND_SPECIFIC, &s->bad);
	ep->netns.inode = (uint64_t)r->i64(r, C_NETNS_INODE);
	ep->netns.name = col_str(s, r, C_NETNS_NAME);
	ep->hostname = col_str(s, r, C_HOSTNAME);
	if (!r->is_null(r, C_PEER_PORT)) {
		ep->has_peer = true;
		if (!col_addr(r, C_PEER_ADDRESS, &ep->peer_addr))
			s->bad = true;
		ep->peer_port = (uint16_t)col_enum(r, C_PEER_PORT, 0, 65535, &s->bad);
	}
	ep->rtt_ms = r->is_null(r, C_RTT) ? -1 : r->dbl(r, C_RTT);
	ep->verified.done = r->i64(r, C_VERIFIED) != 0;
	ep->verified.reachable = r->i64(r, C_REACHABLE) != 0;
	ep->verified.rtt_ms = r->is_null(r, C_VRTT) ? -1 : r->dbl(r, C_VRTT);
	ep->verified.error = col_str(s, r, C_VERROR);
	if (r->i64(r, C_SERVICE)) {
		struct pc_service *sv = pc_snapshot_service(snap);
		if (!sv) {
			s->oom = true;
			return;
		}
		sv->name = col_str(s, r, C_SVC_NAME);
		sv->product = col_str(s, r, C_SVC_PRODUCT);
		sv->version = col_str(s, r, C_SVC_VERSION);
		sv->tls = (enum pc_tristate)col_enum(r, C_SVC_TLS, -1, 1, &s->bad);
		sv->auth = (enum pc_auth)col_enum(r, C_SVC_AUTH, 0, PC_AUTH_REQUIRED, &s->bad);
		sv->evidence = col_str(s, r, C_SVC_EVIDENCE);
		sv->banner = col_str(s, r, C_SVC_BANNER);
		if (r->i64(r, C_TLS)) {
			struct pc_tls_info *t = pc_arena_alloc(&snap->arena, sizeof(*t));
			if (!t) {
				s->oom = true;
				return;
			}
			t->version = col_str(s, r, C_TLS_VERSION);
			t->cipher = col_str(s, r, C_TLS_CIPHER);
			t->subject = col_str(s, r, C_TLS_SUBJECT);
			t->issuer = col_str(s, r, C_TLS_ISSUER);
			t->not_after = col_str(s, r, C_TLS_NOT_AFTER);
			t->self_signed = (enum pc_tristate)col_enum(r, C_TLS_SELF_SIGNED, -1, 1, &s->bad);
			sv->tls_info = t;
		}
		if (r->i64(r, C_SSH)) {
			struct pc_ssh_info *sh = pc_arena_alloc(&snap->arena, sizeof(*sh));
			if (!sh) {
				s->oom = true;
				return;
			}
			sh->hostkey_type = col_str(s, r, C_SSH_TYPE);
			sh->hostkey_fingerprint = col_str(s, r, C_SSH_FP);
			sv->ssh_info = sh;
		}
		ep->service = sv;
	}
	ep->recheck = (enum pc_recheck)col_enum(r, C_RECHECK, 0, PC_RECHECK_DIFFERENT, &s->bad);
	ep->claimed_service = col_str(s, r, C_CLAIMED);
	ep->recheck_reason = col_str(s, r, C_RECHECK_REASON);
	int64_t n_owners = r->i64(r, C_N_OWNERS);
	if (n_owners < 0 || n_owners > 1000000) {
		s->bad = true;
	} else if (n_owners > 0) {
		ep->owners = pc_snapshot_owners(snap, (size_t)n_owners);
		if (!ep->owners)
			s->oom = true;
		else
			ep->n_owners = (size_t)n_owners;
	}
	ep->probe_skipped = col_str(s, r, C_PROBE_SKIPPED);
	if (r->i64(r, C_FORWARD)) {
		struct pc_forward *fw = pc_arena_alloc(&snap->arena, sizeof(*fw));
		if (!fw) {
			s->oom = true;
			return;
		}
		fw->kind = (enum pc_forward_kind)col_enum(r, C_FORWARD_KIND, 0, PC_FORWARD_PROXY, &s->bad);
		fw->rule = col_str(s, r, C_FORWARD_RULE);
		ep->forward = fw; /* targets: load_forward_targets */
	}
	if (r->i64(r, C_RISK)) {
		struct pc_risk *k = pc_arena_alloc(&snap->arena, sizeof(*k));
		if (!k) {
			s->oom = true;
			return;
		}
		k->severity = (enum pc_severity)col_enum(r, C_RISK_SEVERITY, 0, PC_SEV_CRITICAL, &s->bad);
		k->score = r->dbl(r, C_RISK_SCORE);
		k->category = col_str(s, r, C_RISK_CATEGORY);
		k->remediation = col_str(s, r, C_RISK_REMEDIATION);
		ep->risk = k;
	}
	if (r->i64(r, C_POLICY)) {
		struct pc_policy_verdict *p = pc_arena_alloc(&snap->arena, sizeof(*p));
		if (!p) {
			s->oom = true;
			return;
		}
		p->rule = col_str(s, r, C_POLICY_RULE);
		p->verdict = (enum pc_verdict)col_enum(r, C_POLICY_VERDICT, 0,
						       PC_VERDICT_UNDOCUMENTED, &s->bad);
		p->owner = col_str(s, r, C_POLICY_OWNER);
		p->doc = col_str(s, r, C_POLICY_DOC);
		ep->policy = p;
	}
	return;
}

static void load_owner(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	struct pc_snapshot *snap = s->snap;
	int64_t e = r->i64(r, 0), k = r->i64(r, 1);
	if (e < 0 || (uint64_t)e >= snap->n_endpoints || k < 0 ||
	    (uint64_t)k >= snap->endpoints[e].n_owners) {
		s->bad = true;
		return;
	}
	struct pc_owner *o = &snap->endpoints[e].owners[k];
	o->pid = (int)r->i64(r, 2);
	o->comm = col_str(s, r, 3);
	o->exe = col_str(s, r, 4);
	o->uid = (long)r->i64(r, 5);
	o->user = col_str(s, r, 6);
	o->unit = col_str(s, r, 7);
	o->container.id = col_str(s, r, 8);
	o->container.runtime = col_str(s, r, 9);
	o->container.pod_uid = col_str(s, r, 10);
	o->container.name = col_str(s, r, 11);
	o->container.image = col_str(s, r, 12);
	o->container.image_id = col_str(s, r, 13);
	o->container.pod = col_str(s, r, 14);
	o->container.pod_namespace = col_str(s, r, 15);
}

static void load_forward_count(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	struct pc_snapshot *snap = s->snap;
	int64_t e = r->i64(r, 0), n = r->i64(r, 1);
	if (e < 0 || (uint64_t)e >= snap->n_endpoints || !snap->endpoints[e].forward || n <= 0 ||
	    n > 1000000) {
		s->bad = true;
		return;
	}
	struct pc_forward *fw = snap->endpoints[e].forward;
	fw->to = pc_arena_alloc(&snap->arena, (size_t)n * sizeof(*fw->to));
	if (!fw->to)
		s->oom = true;
}

static void load_forward(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	struct pc_snapshot *snap = s->snap;
	int64_t e = r->i64(r, 0);
	if (e < 0 || (uint64_t)e >= snap->n_endpoints || !snap->endpoints[e].forward ||
	    !snap->endpoints[e].forward->to)
		return; /* already marked bad */
	struct pc_forward *fw = snap->endpoints[e].forward;
	struct pc_forward_target *t = &fw->to[fw->n_to++];
	if (!col_addr(r, 1, &t->addr))
		s->bad = true;
	t->port = (uint16_t)col_enum(r, 2, 0, 65535, &s->bad);
	t->weight = r->is_null(r, 3) ? -1 : r->dbl(r, 3);
	t->backend_index = (long)r->i64(r, 4);
	if (t->backend_index < -1 || t->backend_index >= (long)snap->n_endpoints)
		s->bad = true;
}

/* Attach a run of list values to its endpoint (copied into the arena). */
static void attach_list(struct pc_ledger_load_state *s, int64_t e, int list, const char **v,
			size_t n)
{
	if (!n)
		return;
	if (e < 0 || (uint64_t)e >= s->snap->n_endpoints) {
		s->bad = true;
		return;
	}
	const char **copy = pc_arena_alloc(&s->snap->arena, n * sizeof(*copy));
	if (!copy) {
		s->oom = true;
		return;
	}
	memcpy(copy, v, n * sizeof(*copy));
	struct pc_endpoint *ep = &s->snap->endpoints[e];
	if (list == PC_LIST_RISK && ep->risk) {
		ep->risk->reasons = copy;
		ep->risk->n_reasons = n;
	} else if (list == PC_LIST_POLICY && ep->policy) {
		ep->policy->reasons = copy;
		ep->policy->n_reasons = n;
	} else if (list == PC_LIST_AUTH && ep->service) {
		ep->service->auth_methods = copy;
		ep->service->n_auth_methods = n;
	} else {
		s->bad = true;
	}
}

static void load_text(struct pc_ledger_load_state *s, struct texts *t,
			 const struct pc_ledger_rd *r)
{
	if (!r) {
		attach_list(s, t->e, t->list, t->run, t->n);
		free(t->run);
		memset(t, 0, sizeof(*t));
		return;
	}
	int64_t e = r->i64(r, 0);
	int list = (int)r->i64(r, 1);
	if (!t->cap && !t->n) {
		t->e = -1;
		t->list = -1;
	}
	if (e != t->e || list != t->list) {
		attach_list(s, t->e, t->list, t->run, t->n);
		t->n = 0;
		t->e = e;
		t->list = list;
	}
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 8;
		const char **p = realloc(t->run, nc * sizeof(*p));
		if (!p) {
			s->oom = true;
			return;
		}
		t->run = p;
		t->cap = nc;
	}
	t->run[t->n] = col_str(s, r, 2);
	if (t->run[t->n])
		t->n++;
}

static void load_meta(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r,
			 struct pc_ledger_meta *meta)
{
	struct pc_snapshot *snap = s->snap;
	snap->host = col_str(s, r, 0);
	meta->kind = col_str(s, r, 1);
	meta->scope = col_str(s, r, 2);
	snap->command = col_str(s, r, 3);
	snap->started_at_ms = r->i64(r, 4);
	snap->finished_at_ms = r->i64(r, 5);
	struct pc_scan_stats *sc = &snap->scan;
	sc->present = r->i64(r, 6) != 0;
	if (sc->present) {
		sc->engine = col_str(s, r, 7);
		sc->targets = (uint64_t)r->i64(r, 8);
		sc->ports = (uint64_t)r->i64(r, 9);
		sc->probes_planned = (uint64_t)r->i64(r, 10);
		sc->sent = (uint64_t)r->i64(r, 11);
		sc->replies = (uint64_t)r->i64(r, 12);
		sc->retries = (uint64_t)r->i64(r, 13);
		sc->capture_drops = (uint64_t)r->i64(r, 14);
		sc->duration_s = r->dbl(r, 15);
		sc->rate_pps = r->dbl(r, 16);
		int64_t shard = r->i64(r, 21), shards = r->i64(r, 22);
		if (shards < 0 || shards > UINT32_MAX || shard < 0 || shard > shards)
			s->bad = true;
		else if (shards > 1) {
			sc->shard_index = (uint32_t)shard;
			sc->shard_count = (uint32_t)shards;
		}
	}
	meta->host_id = col_str(s, r, 17);
	meta->origin = col_str(s, r, 18);
	meta->sweep_id = col_str(s, r, 19);
	meta->segment = col_str(s, r, 20);
}

/* snapshot_address: netns_inode, netns_name, address, prefix_len */
static void load_address(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	struct pc_addr a;
	int64_t prefix = r->i64(r, 3);
	if (!col_addr(r, 2, &a) || !a.family || prefix < 0 ||
	    prefix > (a.family == AF_INET ? 32 : 128)) {
		s->bad = true;
		return;
	}
	const char *name = col_str(s, r, 1);
	if (pc_snapshot_add_address(s->snap, (uint64_t)r->i64(r, 0), name, &a, (uint8_t)prefix) < 0)
		s->oom = true;
}

/* scan_cover: kind, first_address, last_address, first_port, last_port;
 * kept in the arena, grown by doubling (the capacity is implied by the
 * count: 16, then each power of two) */
static void load_cover(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	struct pc_scan_stats *st = &s->snap->scan;
	size_t n = st->n_cover;
	if (!st->present || n >= PC_SCAN_COVER_MAX) {
		s->bad = true;
		return;
	}
	if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
		size_t cap = n ? n * 2 : 16;
		struct pc_scan_range *p = pc_arena_alloc(&s->snap->arena, cap * sizeof(*p));
		if (!p) {
			s->oom = true;
			return;
		}
		if (n)
			memcpy(p, st->cover, n * sizeof(*p));
		st->cover = p;
	}
	struct pc_scan_range *c = &st->cover[n];
	memset(c, 0, sizeof(*c));
	c->kind = (enum pc_cover_kind)col_enum(r, 0, PC_COVER_ADDRESSES, PC_COVER_UDP, &s->bad);
	if (c->kind == PC_COVER_ADDRESSES) {
		if (!col_addr(r, 1, &c->first) || !col_addr(r, 2, &c->last) || !c->first.family ||
		    c->first.family != c->last.family) {
			s->bad = true;
			return;
		}
	} else {
		int64_t a = r->i64(r, 3), b = r->i64(r, 4);
		if (a < 0 || b < a || b > 65535) {
			s->bad = true;
			return;
		}
		c->port_first = (uint16_t)a;
		c->port_last = (uint16_t)b;
	}
	st->n_cover = n + 1;
}

static void load_warning(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	const char *m = col_str(s, r, 0);
	/* pc_snapshot_warn de-duplicates, as when the audit ran */
	if (m && pc_snapshot_warn(s->snap, "%s", m) < 0)
		s->oom = true;
}

static void load_finding(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r)
{
	int64_t sev = r->i64(r, 1);
	if (sev < 0 || sev > PC_SEV_CRITICAL)
		sev = PC_SEV_INFO;
	if (pc_snapshot_add_finding(s->snap, col_str(s, r, 0), (enum pc_severity)sev,
				    col_str(s, r, 2), col_str(s, r, 3)) < 0)
		s->oom = true;
}

struct load_ctx {
	struct pc_ledger_load_state s;
	struct pc_ledger_meta *meta;
	bool found;
	struct texts t;
	void (*fn)(struct pc_ledger_load_state *s, const struct pc_ledger_rd *r);
};

/* a loader of one row, through the query's callback */
static int row_load(void *arg, const struct pc_ledger_rd *r)
{
	struct load_ctx *c = arg;
	c->fn(&c->s, r);
	return c->s.oom;
}

static int row_text(void *arg, const struct pc_ledger_rd *r)
{
	struct load_ctx *c = arg;
	load_text(&c->s, &c->t, r);
	return c->s.oom;
}

static int row_meta(void *arg, const struct pc_ledger_rd *r)
{
	struct load_ctx *c = arg;
	load_meta(&c->s, r, c->meta);
	c->found = true;
	return c->s.oom;
}

/* query with one id; each row to the loader fn */
static int load_query(pc_ledger_query_fn query, void *engine, struct load_ctx *c, const char *sql,
		      int64_t id, void (*fn)(struct pc_ledger_load_state *, const struct pc_ledger_rd *),
		      pc_ledger_row_fn row, struct pc_error *err, const char *what)
{
	c->fn = fn;
	int r = query(engine, sql, &id, 1, row ? row : row_load, c, err, what);
	return r > 0 ? 0 : r; /* stopped by oom: reported below */
}

int pc_ledger_load_with(pc_ledger_query_fn query, void *engine, int64_t id,
			struct pc_snapshot **ret, struct pc_ledger_meta *ret_meta,
			const char *where, struct pc_error *err)
{
	struct pc_snapshot *snap = pc_snapshot_new("");
	if (!snap)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	struct pc_ledger_meta meta = {0};
	struct load_ctx c = {.s = {.snap = snap}, .meta = &meta, .t = {.e = -1, .list = -1}};
	struct pc_ledger_load_state *sp = &c.s;
	char *ep_sql = pc_ledger_endpoint_sql(PC_ENGINE_SQLITE, false);
	int r = ep_sql ? 0 : pc_error_set(err, PC_ENOMEM, "out of memory");
	if (r == 0)
		r = load_query(query, engine, &c,
			       "SELECT " PC_LEDGER_META_COLS " FROM snapshot WHERE id = ?1", id, NULL,
			       row_meta, err, "load snapshot");
	if (r == 0 && !c.found)
		r = pc_error_set_at(err, -ENOENT, where, 0, 0, "no snapshot %lld in the ledger",
				    (long long)id);
	if (r == 0)
		r = load_query(query, engine, &c,
			       "SELECT message FROM snapshot_warning WHERE snapshot_id = ?1"
			       " ORDER BY seq",
			       id, load_warning, NULL, err, "load warnings");
	if (r == 0)
		r = load_query(query, engine, &c,
			       "SELECT kind, severity, rule, message FROM finding"
			       " WHERE snapshot_id = ?1 ORDER BY seq",
			       id, load_finding, NULL, err, "load findings");
	if (r == 0)
		r = load_query(query, engine, &c, ep_sql, id, load_endpoint, NULL, err,
			       "load endpoints");
	if (r == 0)
		r = load_query(query, engine, &c,
			       "SELECT " PC_LEDGER_OWNER_COLS " FROM owner WHERE snapshot_id = ?1"
			       " ORDER BY endpoint_seq, seq",
			       id, load_owner, NULL, err, "load owners");
	if (r == 0)
		r = load_query(query, engine, &c,
			       "SELECT endpoint_seq, list, value FROM endpoint_text"
			       " WHERE snapshot_id = ?1 ORDER BY endpoint_seq, list, seq",
			       id, NULL, row_text, err, "load lists");
	load_text(sp, &c.t, NULL);
	if (r == 0)
		r = load_query(query, engine, &c,
			       "SELECT endpoint_seq, count(*) FROM forward_target"
			       " WHERE snapshot_id = ?1 GROUP BY endpoint_seq ORDER BY endpoint_seq",
			       id, load_forward_count, NULL, err, "load forward targets");
	if (r == 0 && !sp->oom)
		r = load_query(query, engine, &c,
			       "SELECT " PC_LEDGER_FORWARD_COLS " FROM forward_target"
			       " WHERE snapshot_id = ?1 ORDER BY endpoint_seq, seq",
			       id, load_forward, NULL, err, "load forward targets");
	if (r == 0 && !sp->oom)
		r = load_query(query, engine, &c,
			       "SELECT netns_inode, netns_name, address, prefix_len"
			       " FROM snapshot_address WHERE snapshot_id = ?1 ORDER BY seq",
			       id, load_address, NULL, err, "load addresses");
	if (r == 0 && !sp->oom)
		r = load_query(query, engine, &c,
			       "SELECT kind, first_address, last_address, first_port, last_port"
			       " FROM scan_cover WHERE snapshot_id = ?1 ORDER BY seq",
			       id, load_cover, NULL, err, "load scan coverage");
	free(ep_sql);
	if (r == 0 && sp->oom)
		r = pc_error_set(err, PC_ENOMEM, "out of memory");
	if (r == 0 && sp->bad)
		r = pc_error_set_at(err, PC_EIO, where, 0, 0,
				    "ledger is corrupt: snapshot %lld has values out of range",
				    (long long)id);
	if (r < 0) {
		pc_snapshot_free(snap);
		return r;
	}
	if (!snap->host)
		snap->host = "";
	if (!snap->command)
		snap->command = "";
	*ret = snap;
	if (ret_meta)
		*ret_meta = meta;
	return 0;
}
