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

#include <errno.h>
#include <sys/random.h>
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

/* Version 3: the fleet. Which host stored a snapshot (host_id: the
 * machine id by default, stable across renames), the snapshot's key where it
 * was first stored (origin: a random uuid; a snapshot shipped from an
 * agent's local ledger to the central one keeps it, and (host_id, origin)
 * is unique, so a retry after a lost acknowledgement cannot store it
 * twice), the sweep a sharded scan belongs to and the scanner's segment;
 * and the outbox, where a local ledger remembers what it has shipped. */
static const char *const schema_v3[] = {
	"ALTER TABLE snapshot ADD COLUMN host_id TEXT",
	"ALTER TABLE snapshot ADD COLUMN origin TEXT",
	"ALTER TABLE snapshot ADD COLUMN sweep_id TEXT",
	"ALTER TABLE snapshot ADD COLUMN segment TEXT",
	/* what a diff compares, in one value: equal digests, no drift */
	"ALTER TABLE snapshot ADD COLUMN digest TEXT",
	"CREATE UNIQUE INDEX snapshot_origin ON snapshot (host_id, origin)",
	"CREATE INDEX snapshot_host_id ON snapshot (host_id, kind, id)",
	"CREATE INDEX snapshot_sweep ON snapshot (sweep_id, id)",
	"CREATE TABLE outbox ("
	" snapshot_id BIGINT NOT NULL PRIMARY KEY, target TEXT NOT NULL,"
	" central_id BIGINT, shipped_at BIGINT)",
	NULL,
};

const char *const *const pc_ledger_migrations[PC_LEDGER_SCHEMA_VERSION + 1] = {
	NULL, schema_v1, schema_v2, schema_v3,
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

/* One placeholder: "?" or "$n". */
static size_t placeholder(enum pc_ledger_engine engine, char *buf, size_t len, int n)
{
	int k = engine == PC_ENGINE_PG ? snprintf(buf, len, "$%d", n) : snprintf(buf, len, "?");
	return k < 0 ? 0 : (size_t)k;
}

const char pc_ledger_snapshot_insert_cols[] =
	"host, kind, scope, command, started_at, finished_at,"
	" n_endpoints, n_warnings, scan, scan_engine, scan_targets, scan_ports,"
	" scan_probes_planned, scan_sent, scan_replies, scan_retries,"
	" scan_capture_drops, scan_duration_s, scan_rate_pps, n_findings,"
	" n_info, n_low, n_medium, n_high, n_critical, host_id, origin, sweep_id, segment,"
	" digest";

int pc_ledger_new_uuid(char buf[PC_LEDGER_UUID_LEN])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(buf, PC_LEDGER_UUID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
	return 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The sum (order does not matter) of a mix of each endpoint's identity
 * key and drift hash: two snapshots with the same digest have the same
 * keys with the same drift values, which is what a diff compares (equal
 * digests are trusted as equal hashes are, at odds of 2^-64). */
static int snapshot_digest(struct pc_arena *arena, const struct pc_snapshot *snap,
			   const char *const *idents, uint64_t *ret)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		struct pc_ledger_drift d;
		if (pc_ledger_drift_of(arena, &snap->endpoints[i], &d) < 0)
			return PC_ENOMEM;
		uint64_t h = 0xcbf29ce484222325ULL;
		for (const unsigned char *p = (const unsigned char *)idents[i]; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		sum += mix64(h ^ mix64(pc_ledger_drift_hash(&d)));
	}
	*ret = sum;
	return 0;
}

int pc_ledger_snapshot_values(const struct pc_snapshot *snap, const struct pc_ledger_meta *meta,
			      const char *const *idents, struct pc_arena *arena,
			      struct pc_ledger_value *v, struct pc_ledger_ids *ids)
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
	/* every snapshot has a host id and an origin: the pair is its key
	 * across ledgers (store and forward) */
	if (meta->host_id)
		snprintf(ids->host_id, sizeof(ids->host_id), "%s", meta->host_id);
	else if (pc_ledger_default_host_id(ids->host_id, sizeof(ids->host_id)) < 0)
		snprintf(ids->host_id, sizeof(ids->host_id), "%s", snap->host ? snap->host : "");
	if (meta->origin)
		snprintf(ids->origin, sizeof(ids->origin), "%s", meta->origin);
	else if (pc_ledger_new_uuid(ids->origin) < 0)
		return PC_EIO;
	v_text(&v[25], ids->host_id);
	v_text(&v[26], ids->origin);
	v_text(&v[27], meta->sweep_id);
	v_text(&v[28], meta->segment);
	uint64_t digest;
	if (snapshot_digest(arena, snap, idents, &digest) < 0)
		return PC_ENOMEM;
	snprintf(ids->digest, sizeof(ids->digest), "%016llx", (unsigned long long)digest);
	v_text(&v[29], ids->digest);
	return 0;
}

char *pc_ledger_snapshot_sql(enum pc_ledger_engine engine)
{
	size_t len = sizeof(pc_ledger_snapshot_insert_cols) + 64 + PC_LEDGER_SNAPSHOT_NCOLS * 6;
	char *sql = malloc(len);
	if (!sql)
		return NULL;
	size_t k = (size_t)snprintf(sql, len, "INSERT INTO snapshot (%s) VALUES (",
				    pc_ledger_snapshot_insert_cols);
	for (int i = 0; i < PC_LEDGER_SNAPSHOT_NCOLS; i++) {
		if (i)
			k += (size_t)snprintf(sql + k, len - k, ", ");
		k += placeholder(engine, sql + k, len - k, i + 1);
	}
	snprintf(sql + k, len - k, ") RETURNING id");
	return sql;
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
		/* for the read path's numbered parameters (pc_ledger_query_fn) */
		snprintf(sql + k, len - k, " FROM endpoint WHERE snapshot_id = ?1 ORDER BY seq");
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

#define PC_LEDGER_OWNER_COLS "endpoint_seq, seq, pid, comm, exe, uid, user_name, unit, c_id," \
	" c_runtime, c_pod_uid, c_name, c_image, c_image_id, c_pod, c_pod_namespace"
#define PC_LEDGER_FORWARD_COLS "endpoint_seq, address, port, weight, backend_index"
#define PC_LEDGER_META_COLS "host, kind, scope, command, started_at, finished_at, scan," \
	" scan_engine, scan_targets, scan_ports, scan_probes_planned, scan_sent," \
	" scan_replies, scan_retries, scan_capture_drops, scan_duration_s, scan_rate_pps," \
	" host_id, origin, sweep_id, segment"

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
	}
	meta->host_id = col_str(s, r, 17);
	meta->origin = col_str(s, r, 18);
	meta->sweep_id = col_str(s, r, 19);
	meta->segment = col_str(s, r, 20);
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
