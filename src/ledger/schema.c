/*
 * schema.c - the ledger's schema: the DDL of every version, once for both
 * engines.
 *
 * Why: SQLite and PostgreSQL must hold the same tables, and a column added
 * to one and forgotten in the other would show up only as a diff that
 * differs by engine. So the DDL of every version is here and each engine
 * only runs it. The DDL is written in the portable subset (INTEGER, BIGINT,
 * TEXT, DOUBLE PRECISION); pc_ledger_schema_stmt() swaps the one phrase that
 * differs, SQLite's row id "id INTEGER PRIMARY KEY", for PostgreSQL's
 * identity column. The row values are in schema_values.c, the loader in
 * schema_load.c, the diff in schema_diff.c.
 */
#include "ledger/schema.h"

#include <stdio.h>
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

/* Version 4: the host view joined to the network view (`fleet exposure`).
 * An audit's own addresses, per namespace (snapshot_address: a listener
 * bound to any address answers on these), and what a scan covered
 * (scan_cover: target ranges, kind 0, and port ranges, kind 1 TCP and 2 UDP;
 * "scanned and not open" without a row per closed port), with the shard of
 * a sharded sweep (a sweep covers a port once all its shards are in). */
static const char *const schema_v4[] = {
	"ALTER TABLE snapshot ADD COLUMN scan_shard INTEGER",
	"ALTER TABLE snapshot ADD COLUMN scan_shards INTEGER",
	"CREATE TABLE snapshot_address ("
	" snapshot_id BIGINT NOT NULL, seq INTEGER NOT NULL, netns_inode BIGINT,"
	" netns_name TEXT, address TEXT NOT NULL, prefix_len INTEGER NOT NULL,"
	" PRIMARY KEY (snapshot_id, seq))",
	"CREATE INDEX snapshot_address_address ON snapshot_address (address, snapshot_id)",
	"CREATE TABLE scan_cover ("
	" snapshot_id BIGINT NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,"
	" first_address TEXT, last_address TEXT, first_port INTEGER, last_port INTEGER,"
	" PRIMARY KEY (snapshot_id, seq))",
	NULL,
};

const char *const *const pc_ledger_migrations[PC_LEDGER_SCHEMA_VERSION + 1] = {
	NULL, schema_v1, schema_v2, schema_v3, schema_v4,
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

