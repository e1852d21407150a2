/*
 * schema_values.c - the value of every column of an endpoint, owner and
 * snapshot row, and the statements that insert them, once for both engines.
 *
 * Why: each engine only binds what pc_ledger_*_values() returns, so a column
 * cannot be filled one way on SQLite and another on PostgreSQL. The identity
 * keys of a snapshot's endpoints (made unique within it) and its digest are
 * computed here too, because both go into the rows.
 */
#include "ledger/schema.h"

#include <errno.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	" digest, scan_shard, scan_shards";

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
	if (sc->present && sc->shard_count) {
		v_int(&v[30], sc->shard_index);
		v_int(&v[31], sc->shard_count);
	}
	return 0;
}

const char pc_ledger_address_insert_cols[] =
	"snapshot_id, seq, netns_inode, netns_name, address, prefix_len";
const char pc_ledger_cover_insert_cols[] =
	"snapshot_id, seq, kind, first_address, last_address, first_port, last_port";

int pc_ledger_address_values(struct pc_arena *arena, const struct pc_snapshot *snap, size_t i,
			     struct pc_ledger_value *v)
{
	const struct pc_ns_address *a = &snap->addresses[i];
	memset(v, 0, PC_LEDGER_ADDRESS_NCOLS * sizeof(*v));
	v_int(&v[0], (int64_t)i);
	if (a->netns_inode)
		v_int(&v[1], (int64_t)a->netns_inode);
	v_text(&v[2], a->netns_name);
	v_int(&v[4], a->prefix_len);
	return v_addr(&v[3], arena, &a->addr);
}

int pc_ledger_cover_values(struct pc_arena *arena, const struct pc_snapshot *snap, size_t i,
			   struct pc_ledger_value *v)
{
	const struct pc_scan_range *r = &snap->scan.cover[i];
	memset(v, 0, PC_LEDGER_COVER_NCOLS * sizeof(*v));
	v_int(&v[0], (int64_t)i);
	v_int(&v[1], r->kind);
	if (r->kind != PC_COVER_ADDRESSES) {
		v_int(&v[4], r->port_first);
		v_int(&v[5], r->port_last);
		return 0;
	}
	int e = v_addr(&v[2], arena, &r->first);
	return e ? e : v_addr(&v[3], arena, &r->last);
}

static size_t n_addresses(const struct pc_snapshot *snap)
{
	return snap->n_addresses;
}

static size_t n_cover(const struct pc_snapshot *snap)
{
	return snap->scan.present ? snap->scan.n_cover : 0;
}

const struct pc_ledger_rows pc_ledger_rows[PC_LEDGER_N_ROWS] = {
	{"snapshot_address", pc_ledger_address_insert_cols, "pc_address", PC_LEDGER_ADDRESS_NCOLS,
	 n_addresses, pc_ledger_address_values},
	{"scan_cover", pc_ledger_cover_insert_cols, "pc_cover", PC_LEDGER_COVER_NCOLS, n_cover,
	 pc_ledger_cover_values},
};

char *pc_ledger_insert_sql(enum pc_ledger_engine engine, const char *table, const char *cols,
			   int n)
{
	size_t len = strlen(table) + strlen(cols) + 40 + (size_t)n * 6;
	char *sql = malloc(len);
	if (!sql)
		return NULL;
	size_t k = (size_t)snprintf(sql, len, "INSERT INTO %s (%s) VALUES (", table, cols);
	for (int i = 0; i < n; i++) {
		if (i)
			k += (size_t)snprintf(sql + k, len - k, ", ");
		k += placeholder(engine, sql + k, len - k, i + 1);
	}
	snprintf(sql + k, len - k, ")");
	return sql;
}

char *pc_ledger_snapshot_sql(enum pc_ledger_engine engine)
{
	char *ins = pc_ledger_insert_sql(engine, "snapshot", pc_ledger_snapshot_insert_cols,
					 PC_LEDGER_SNAPSHOT_NCOLS);
	if (!ins)
		return NULL;
	size_t len = strlen(ins) + sizeof(" RETURNING id");
	char *sql = malloc(len);
	if (sql)
		snprintf(sql, len, "%s RETURNING id", ins);
	free(ins);
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
