/*
 * schema.c - the ledger's schema and row values, once for both engines.
 *
 * Why: SQLite and PostgreSQL must hold the same tables, and a column added
 * to one and forgotten in the other would show up only as a diff that
 * differs by engine. So the DDL of every version, the endpoint column list,
 * the value of every column of an endpoint, owner and snapshot row, and the
 * diff's small helpers are here; each engine only binds values and runs
 * statements. The DDL is written in the portable subset (INTEGER, BIGINT,
 * TEXT, DOUBLE PRECISION); pc_ledger_schema_stmt() swaps the one phrase that
 * differs, SQLite's row id "id INTEGER PRIMARY KEY", for PostgreSQL's
 * identity column.
 */
#include "ledger/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- DDL ------------------------------------------------------------------ */

/* Version 1: snapshots, their warnings, endpoints and owners. */
static const char *const schema_v1[] = {
	"CREATE TABLE snapshot ("
	" id INTEGER PRIMARY KEY,"
	" host TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL, command TEXT NOT NULL,"
	" started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL,"
	" n_endpoints BIGINT NOT NULL, n_warnings BIGINT NOT NULL,"
	" scan INTEGER NOT NULL, scan_engine TEXT, scan_targets BIGINT, scan_ports BIGINT,"
	" scan_probes_planned BIGINT, scan_sent BIGINT, scan_replies BIGINT,"
	" scan_retries BIGINT, scan_capture_drops BIGINT,"
	" scan_duration_s DOUBLE PRECISION, scan_rate_pps DOUBLE PRECISION)",
	"CREATE INDEX snapshot_scope ON snapshot (host, kind, scope, id)",
	"CREATE INDEX snapshot_started ON snapshot (started_at)",
	"CREATE TABLE snapshot_warning ("
	" snapshot_id BIGINT NOT NULL, seq INTEGER NOT NULL, message TEXT NOT NULL,"
	" PRIMARY KEY (snapshot_id, seq))",
	"CREATE TABLE endpoint ("
	" snapshot_id BIGINT NOT NULL, seq INTEGER NOT NULL, ident TEXT NOT NULL,"
	" ns_id TEXT NOT NULL,"
	" source INTEGER NOT NULL, proto INTEGER NOT NULL, address TEXT, port INTEGER NOT NULL,"
	" state INTEGER NOT NULL, bind INTEGER NOT NULL, netns_inode BIGINT, netns_name TEXT,"
	" hostname TEXT, peer_address TEXT, peer_port INTEGER, rtt_ms DOUBLE PRECISION,"
	" verified INTEGER NOT NULL, reachable INTEGER NOT NULL,"
	" verified_rtt_ms DOUBLE PRECISION, verified_error TEXT,"
	" service INTEGER NOT NULL, svc_name TEXT, svc_product TEXT, svc_version TEXT,"
	" svc_tls INTEGER, svc_auth INTEGER, svc_evidence TEXT, svc_banner TEXT,"
	" tls INTEGER NOT NULL, tls_version TEXT, tls_cipher TEXT, tls_subject TEXT,"
	" tls_issuer TEXT, tls_not_after TEXT, tls_self_signed INTEGER,"
	" recheck INTEGER NOT NULL, claimed_service TEXT, recheck_reason TEXT,"
	" n_owners INTEGER NOT NULL,"
	" d_owner TEXT, d_exe TEXT, d_unit TEXT, d_service TEXT, d_auth TEXT, d_bind TEXT,"
	" d_state TEXT,"
	" PRIMARY KEY (snapshot_id, seq))",
	"CREATE INDEX endpoint_ident ON endpoint (snapshot_id, ident)",
	"CREATE TABLE owner ("
	" snapshot_id BIGINT NOT NULL, endpoint_seq INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" pid INTEGER NOT NULL, comm TEXT, exe TEXT, uid BIGINT NOT NULL, user_name TEXT,"
	" unit TEXT, c_id TEXT, c_runtime TEXT, c_pod_uid TEXT, c_name TEXT,"
	" PRIMARY KEY (snapshot_id, endpoint_seq, seq))",
	NULL,
};

/* Version 2: what issue 8's stages add - risk, policy verdict, SSH
 * evidence, findings, the container image - and the counts `history` shows
 * without reading endpoints. */
static const char *const schema_v2[] = {
	"ALTER TABLE snapshot ADD COLUMN n_findings BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE snapshot ADD COLUMN n_info BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE snapshot ADD COLUMN n_low BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE snapshot ADD COLUMN n_medium BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE snapshot ADD COLUMN n_high BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE snapshot ADD COLUMN n_critical BIGINT NOT NULL DEFAULT 0",
	"ALTER TABLE endpoint ADD COLUMN ssh INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE endpoint ADD COLUMN ssh_hostkey_type TEXT",
	"ALTER TABLE endpoint ADD COLUMN ssh_hostkey_fingerprint TEXT",
	"ALTER TABLE endpoint ADD COLUMN risk INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE endpoint ADD COLUMN risk_severity INTEGER",
	"ALTER TABLE endpoint ADD COLUMN risk_score DOUBLE PRECISION",
	"ALTER TABLE endpoint ADD COLUMN risk_category TEXT",
	"ALTER TABLE endpoint ADD COLUMN risk_remediation TEXT",
	"ALTER TABLE endpoint ADD COLUMN policy INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE endpoint ADD COLUMN policy_rule TEXT",
	"ALTER TABLE endpoint ADD COLUMN policy_verdict INTEGER",
	"ALTER TABLE endpoint ADD COLUMN policy_owner TEXT",
	"ALTER TABLE endpoint ADD COLUMN policy_doc TEXT",
	"ALTER TABLE endpoint ADD COLUMN d_image TEXT",
	"ALTER TABLE endpoint ADD COLUMN d_severity TEXT",
	"ALTER TABLE endpoint ADD COLUMN d_verdict TEXT",
	"ALTER TABLE owner ADD COLUMN c_image TEXT",
	"ALTER TABLE owner ADD COLUMN c_image_id TEXT",
	"ALTER TABLE owner ADD COLUMN c_pod TEXT",
	"ALTER TABLE owner ADD COLUMN c_pod_namespace TEXT",
	"ALTER TABLE endpoint ADD COLUMN probe_skipped TEXT",
	"ALTER TABLE endpoint ADD COLUMN forward INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE endpoint ADD COLUMN forward_kind INTEGER",
	"ALTER TABLE endpoint ADD COLUMN forward_rule TEXT",
	"CREATE TABLE forward_target ("
	" snapshot_id BIGINT NOT NULL, endpoint_seq INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" address TEXT, port INTEGER NOT NULL, weight DOUBLE PRECISION, backend_index BIGINT,"
	" PRIMARY KEY (snapshot_id, endpoint_seq, seq))",
	/* the drift hash joins the identity index: a diff reads two index
	 * ranges and only the rows whose hash differs (NULL in rows that
	 * version 1 wrote: those are compared value by value) */
	"ALTER TABLE endpoint ADD COLUMN d_hash BIGINT",
	"DROP INDEX endpoint_ident",
	"CREATE INDEX endpoint_ident_hash ON endpoint (snapshot_id, ident, d_hash)",
	/* lists of strings: risk reasons (0), policy reasons (1), auth methods (2) */
	"CREATE TABLE endpoint_text ("
	" snapshot_id BIGINT NOT NULL, endpoint_seq INTEGER NOT NULL, list INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, value TEXT NOT NULL,"
	" PRIMARY KEY (snapshot_id, endpoint_seq, list, seq))",
	"CREATE TABLE finding ("
	" snapshot_id BIGINT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
	" severity INTEGER NOT NULL, rule TEXT, message TEXT NOT NULL,"
	" PRIMARY KEY (snapshot_id, seq))",
	NULL,
};

const char *const *const pc_ledger_migrations[PC_LEDGER_SCHEMA_VERSION + 1] = {
	NULL, schema_v1, schema_v2,
};

static const struct {
	const char *sqlite, *pg;
} subst[] = {
	{"id INTEGER PRIMARY KEY", "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"},
};

int pc_ledger_schema_stmt(enum pc_ledger_engine engine, const char *stmt, char *buf, size_t len)
{
	size_t k = 0;
	const char *p = stmt;
	while (*p) {
		const char *rep = NULL;
		size_t skip = 0;
		for (size_t i = 0; engine == PC_ENGINE_PG && i < sizeof(subst) / sizeof(subst[0]);
		     i++) {
			size_t n = strlen(subst[i].sqlite);
			if (strncmp(p, subst[i].sqlite, n) == 0) {
				rep = subst[i].pg;
				skip = n;
				break;
			}
		}
		size_t n = rep ? strlen(rep) : 1;
		if (k + n + 1 > len)
			return PC_ETOOBIG;
		memcpy(buf + k, rep ? rep : p, n);
		k += n;
		p += rep ? skip : 1;
	}
	buf[k] = '\0';
	return 0;
}

/* --- endpoint columns and values ------------------------------------------ */

const char *const pc_ledger_ep_cols[] = {
	"seq", "ident", "ns_id", "source", "proto", "address", "port", "state", "bind",
	"netns_inode", "netns_name", "hostname", "peer_address", "peer_port", "rtt_ms",
	"verified", "reachable", "verified_rtt_ms", "verified_error",
	"service", "svc_name", "svc_product", "svc_version", "svc_tls", "svc_auth",
	"svc_evidence", "svc_banner",
	"tls", "tls_version", "tls_cipher", "tls_subject", "tls_issuer", "tls_not_after",
	"tls_self_signed",
	"recheck", "claimed_service", "recheck_reason", "n_owners",
	"ssh", "ssh_hostkey_type", "ssh_hostkey_fingerprint",
	"risk", "risk_severity", "risk_score", "risk_category", "risk_remediation",
	"policy", "policy_rule", "policy_verdict", "policy_owner", "policy_doc",
	"probe_skipped", "forward", "forward_kind", "forward_rule",
	"d_owner", "d_exe", "d_unit", "d_image", "d_service", "d_auth", "d_bind", "d_state",
	"d_severity", "d_verdict", "d_hash",
};

_Static_assert(sizeof(pc_ledger_ep_cols) / sizeof(pc_ledger_ep_cols[0]) == C_COUNT,
	       "pc_ledger_ep_cols and enum ep_col");

static void v_int(struct pc_ledger_value *v, int64_t i)
{
	v->type = PC_V_INT;
	v->i = i;
}

static void v_text(struct pc_ledger_value *v, const char *s)
{
	v->type = s ? PC_V_TEXT : PC_V_NULL;
	v->s = s;
}

static void v_double_or_null(struct pc_ledger_value *v, bool present, double d)
{
	v->type = present ? PC_V_DOUBLE : PC_V_NULL;
	v->d = d;
}

static int v_addr(struct pc_ledger_value *v, struct pc_arena *arena, const struct pc_addr *a)
{
	if (!a->family) {
		v->type = PC_V_NULL;
		return 0;
	}
	char buf[PC_ADDR_STRLEN];
	pc_addr_format(a, buf, sizeof(buf));
	v_text(v, pc_arena_strdup(arena, buf));
	return v->s ? 0 : PC_ENOMEM;
}

int pc_ledger_endpoint_values(struct pc_arena *arena, const struct pc_snapshot *snap,
			      size_t seq, const char *ident, struct pc_ledger_value *v)
{
	const struct pc_endpoint *ep = &snap->endpoints[seq];
	struct pc_ledger_drift d;
	memset(v, 0, C_COUNT * sizeof(*v));
	if (pc_ledger_drift_of(arena, ep, &d) < 0)
		return PC_ENOMEM;
	v_int(&v[C_SEQ], (int64_t)seq);
	v_text(&v[C_IDENT], ident);
	const char *ns = ep->source == PC_SOURCE_HOST ? pc_ledger_namespace_id(arena, ep) : "";
	if (!ns)
		return PC_ENOMEM;
	v_text(&v[C_NS_ID], ns);
	v_int(&v[C_SOURCE], ep->source);
	v_int(&v[C_PROTO], ep->proto);
	if (v_addr(&v[C_ADDRESS], arena, &ep->addr) < 0)
		return PC_ENOMEM;
	v_int(&v[C_PORT], ep->port);
	v_int(&v[C_STATE], ep->state);
	v_int(&v[C_BIND], ep->bind);
	if (ep->netns.inode)
		v_int(&v[C_NETNS_INODE], (int64_t)ep->netns.inode);
	v_text(&v[C_NETNS_NAME], ep->netns.name);
	v_text(&v[C_HOSTNAME], ep->hostname);
	if (ep->has_peer) {
		if (v_addr(&v[C_PEER_ADDRESS], arena, &ep->peer_addr) < 0)
			return PC_ENOMEM;
		v_int(&v[C_PEER_PORT], ep->peer_port);
	}
	v_double_or_null(&v[C_RTT], ep->rtt_ms >= 0, ep->rtt_ms);
	v_int(&v[C_VERIFIED], ep->verified.done);
	v_int(&v[C_REACHABLE], ep->verified.reachable);
	v_double_or_null(&v[C_VRTT], ep->verified.rtt_ms >= 0, ep->verified.rtt_ms);
	v_text(&v[C_VERROR], ep->verified.error);
	const struct pc_service *sv = ep->service;
	v_int(&v[C_SERVICE], sv != NULL);
	if (sv) {
		v_text(&v[C_SVC_NAME], sv->name);
		v_text(&v[C_SVC_PRODUCT], sv->product);
		v_text(&v[C_SVC_VERSION], sv->version);
		v_int(&v[C_SVC_TLS], sv->tls);
		v_int(&v[C_SVC_AUTH], sv->auth);
		v_text(&v[C_SVC_EVIDENCE], sv->evidence);
		v_text(&v[C_SVC_BANNER], sv->banner);
	}
	const struct pc_tls_info *t = sv ? sv->tls_info : NULL;
	v_int(&v[C_TLS], t != NULL);
	if (t) {
		v_text(&v[C_TLS_VERSION], t->version);
		v_text(&v[C_TLS_CIPHER], t->cipher);
		v_text(&v[C_TLS_SUBJECT], t->subject);
		v_text(&v[C_TLS_ISSUER], t->issuer);
		v_text(&v[C_TLS_NOT_AFTER], t->not_after);
		v_int(&v[C_TLS_SELF_SIGNED], t->self_signed);
	}
	v_int(&v[C_RECHECK], ep->recheck);
	v_text(&v[C_CLAIMED], ep->claimed_service);
	v_text(&v[C_RECHECK_REASON], ep->recheck_reason);
	v_int(&v[C_N_OWNERS], (int64_t)ep->n_owners);
	const struct pc_ssh_info *ssh = sv ? sv->ssh_info : NULL;
	v_int(&v[C_SSH], ssh != NULL);
	if (ssh) {
		v_text(&v[C_SSH_TYPE], ssh->hostkey_type);
		v_text(&v[C_SSH_FP], ssh->hostkey_fingerprint);
	}
	v_int(&v[C_RISK], ep->risk != NULL);
	if (ep->risk) {
		v_int(&v[C_RISK_SEVERITY], ep->risk->severity);
		v_double_or_null(&v[C_RISK_SCORE], true, ep->risk->score);
		v_text(&v[C_RISK_CATEGORY], ep->risk->category);
		v_text(&v[C_RISK_REMEDIATION], ep->risk->remediation);
	}
	v_int(&v[C_POLICY], ep->policy != NULL);
	if (ep->policy) {
		v_text(&v[C_POLICY_RULE], ep->policy->rule);
		v_int(&v[C_POLICY_VERDICT], ep->policy->verdict);
		v_text(&v[C_POLICY_OWNER], ep->policy->owner);
		v_text(&v[C_POLICY_DOC], ep->policy->doc);
	}
	v_text(&v[C_PROBE_SKIPPED], ep->probe_skipped);
	const struct pc_forward *fw = ep->forward;
	v_int(&v[C_FORWARD], fw != NULL);
	if (fw) {
		v_int(&v[C_FORWARD_KIND], fw->kind);
		v_text(&v[C_FORWARD_RULE], fw->rule);
	}
	v_text(&v[C_D_OWNER], d.owner);
	for (int f = 0; f < PC_DRIFT_COUNT; f++)
		v_text(&v[C_D_FIRST + f], d.v[f]);
	v_int(&v[C_D_HASH], (int64_t)pc_ledger_drift_hash(&d));
	return 0;
}

const char pc_ledger_snapshot_insert_cols[] =
	"host, kind, scope, command, started_at, finished_at,"
	" n_endpoints, n_warnings, scan, scan_engine, scan_targets, scan_ports,"
	" scan_probes_planned, scan_sent, scan_replies, scan_retries,"
	" scan_capture_drops, scan_duration_s, scan_rate_pps, n_findings,"
	" n_info, n_low, n_medium, n_high, n_critical";

void pc_ledger_snapshot_values(const struct pc_snapshot *snap, const struct pc_ledger_meta *meta,
			       struct pc_ledger_value *v)
{
	uint64_t sev[PC_SEV_COUNT] = {0};
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (snap->endpoints[i].risk &&
		    (unsigned)snap->endpoints[i].risk->severity < PC_SEV_COUNT)
			sev[snap->endpoints[i].risk->severity]++;
	for (size_t i = 0; i < snap->n_findings; i++)
		if ((unsigned)snap->findings[i].severity < PC_SEV_COUNT)
			sev[snap->findings[i].severity]++;
	memset(v, 0, PC_LEDGER_SNAPSHOT_NCOLS * sizeof(*v));
	v_text(&v[0], snap->host ? snap->host : "");
	v_text(&v[1], meta->kind);
	v_text(&v[2], meta->scope);
	v_text(&v[3], snap->command ? snap->command : "");
	v_int(&v[4], snap->started_at_ms);
	v_int(&v[5], snap->finished_at_ms);
	v_int(&v[6], (int64_t)snap->n_endpoints);
	v_int(&v[7], (int64_t)snap->n_warnings);
	const struct pc_scan_stats *sc = &snap->scan;
	v_int(&v[8], sc->present);
	if (sc->present) {
		v_text(&v[9], sc->engine);
		v_int(&v[10], (int64_t)sc->targets);
		v_int(&v[11], (int64_t)sc->ports);
		v_int(&v[12], (int64_t)sc->probes_planned);
		v_int(&v[13], (int64_t)sc->sent);
		v_int(&v[14], (int64_t)sc->replies);
		v_int(&v[15], (int64_t)sc->retries);
		v_int(&v[16], (int64_t)sc->capture_drops);
		v_double_or_null(&v[17], true, sc->duration_s);
		v_double_or_null(&v[18], true, sc->rate_pps);
	}
	v_int(&v[19], (int64_t)snap->n_findings);
	for (int k = 0; k < PC_SEV_COUNT; k++)
		v_int(&v[20 + k], (int64_t)sev[k]);
}

const char pc_ledger_owner_insert_cols[] =
	"snapshot_id, endpoint_seq, seq, pid, comm, exe, uid,"
	" user_name, unit, c_id, c_runtime, c_pod_uid, c_name, c_image,"
	" c_image_id, c_pod, c_pod_namespace";

void pc_ledger_owner_values(int64_t id, size_t seq, size_t i, const struct pc_owner *o,
			    struct pc_ledger_value *v)
{
	memset(v, 0, PC_LEDGER_OWNER_NCOLS * sizeof(*v));
	v_int(&v[0], id);
	v_int(&v[1], (int64_t)seq);
	v_int(&v[2], (int64_t)i);
	v_int(&v[3], o->pid);
	v_text(&v[4], o->comm);
	v_text(&v[5], o->exe);
	v_int(&v[6], o->uid);
	v_text(&v[7], o->user);
	v_text(&v[8], o->unit);
	v_text(&v[9], o->container.id);
	v_text(&v[10], o->container.runtime);
	v_text(&v[11], o->container.pod_uid);
	v_text(&v[12], o->container.name);
	v_text(&v[13], o->container.image);
	v_text(&v[14], o->container.image_id);
	v_text(&v[15], o->container.pod);
	v_text(&v[16], o->container.pod_namespace);
}

/* One placeholder: "?" or "$n". */
static size_t placeholder(enum pc_ledger_engine engine, char *buf, size_t len, int n)
{
	int k = engine == PC_ENGINE_PG ? snprintf(buf, len, "$%d", n) : snprintf(buf, len, "?");
	return k < 0 ? 0 : (size_t)k;
}

char *pc_ledger_endpoint_sql(enum pc_ledger_engine engine, bool insert)
{
	size_t len = 160;
	for (int i = 0; i < C_COUNT; i++)
		len += strlen(pc_ledger_ep_cols[i]) + 12;
	char *sql = malloc(len);
	if (!sql)
		return NULL;
	size_t k = (size_t)snprintf(sql, len, insert ? "INSERT INTO endpoint (snapshot_id, "
						     : "SELECT ");
	for (int i = 0; i < C_COUNT; i++)
		k += (size_t)snprintf(sql + k, len - k, "%s%s", i ? ", " : "",
				      pc_ledger_ep_cols[i]);
	if (!insert) {
		k += (size_t)snprintf(sql + k, len - k, " FROM endpoint WHERE snapshot_id = ");
		k += placeholder(engine, sql + k, len - k, 1);
		snprintf(sql + k, len - k, " ORDER BY seq");
		return sql;
	}
	k += (size_t)snprintf(sql + k, len - k, ") VALUES (");
	for (int i = 0; i <= C_COUNT; i++) {
		if (i)
			k += (size_t)snprintf(sql + k, len - k, ", ");
		k += placeholder(engine, sql + k, len - k, i + 1);
	}
	snprintf(sql + k, len - k, ")");
	return sql;
}

/* --- identity keys --------------------------------------------------------- */

struct ident_slot {
	const char *ident;
	size_t index;
};

static int cmp_slot(const void *pa, const void *pb)
{
	const struct ident_slot *a = pa, *b = pb;
	int c = strcmp(a->ident, b->ident);
	if (c)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Identity keys of every endpoint, unique within the snapshot: a key seen
 * again (two unnamed namespaces with the same listener) gets "#2", "#3" in
 * endpoint order, which pc_snapshot_sort keeps stable between audits. */
int pc_ledger_snapshot_idents(struct pc_arena *arena, const struct pc_snapshot *snap,
			      const char ***ret)
{
	size_t n = snap->n_endpoints;
	const char **idents = calloc(n ? n : 1, sizeof(*idents));
	struct ident_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	if (!idents || !slots)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		slots[i].ident = pc_ledger_identity(arena, snap, &snap->endpoints[i]);
		slots[i].index = i;
		if (!slots[i].ident)
			goto oom;
	}
	qsort(slots, n, sizeof(*slots), cmp_slot);
	unsigned dup = 1;
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(slots[i].ident, slots[i - 1].ident) == 0)
			dup++;
		else
			dup = 1;
		idents[slots[i].index] =
			dup == 1 ? slots[i].ident
				 : pc_arena_printf(arena, "%s#%u", slots[i].ident, dup);
		if (!idents[slots[i].index])
			goto oom;
	}
	free(slots);
	*ret = idents;
	return 0;
oom:
	free(idents);
	free(slots);
	return PC_ENOMEM;
}

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
