/*
 * test_ledger.c - the ledger: a stored snapshot loads back whole (its JSON
 * byte for byte), the golden drift cases (first audit, identical audits, a
 * pid change, an executable or image change, a new listener with its
 * owner, one gone), migrations from the fixture of every earlier schema
 * version, retention, selectors, and the file-safety rules (0700/0600, no
 * symbolic link, a corrupt or newer ledger is a clear error naming it).
 *
 * Built twice: test_ledger runs everything on SQLite; test_ledger_pg
 * (-DPC_TEST_PG) runs the engine-neutral tests - round trip, golden drift,
 * risk and policy drift, duplicate identities, history and retention - on a
 * real PostgreSQL at $PC_TEST_PG_URL (tests/e2e/fleet_pg.sh starts one),
 * plus concurrent first migrations and a foreign database refused, so the
 * two engines are held to the same answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ledger/exposure.h"
#include "ledger/ledger.h"
#include "report/report.h"

#include <errno.h>
#include <sqlite3.h>
#ifdef PC_TEST_PG
#include <libpq-fe.h>
#include <sys/wait.h>
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pc-test-ledger.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	/* the test's own temporary directory; popen keeps clear of system() */
	FILE *p = popen(cmd, "r");
	if (p)
		pclose(p);
	return 0;
}

static const char *tpath(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
	return buf[k];
}

/* A listener with an owner in a named namespace. */
static struct pc_endpoint *add_listener(struct pc_snapshot *s, const char *ns, const char *addr,
					uint16_t port, int pid, const char *exe, const char *image)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	pc_addr_parse(addr, &e->addr);
	e->port = port;
	e->bind = pc_bind_of(&e->addr);
	e->state = PC_STATE_LISTEN;
	e->netns.inode = 4026531840u + (uint64_t)pid; /* changes with the pid: not identity */
	e->netns.name = ns ? pc_snapshot_strdup(s, ns) : NULL;
	e->n_owners = 1;
	e->owners = pc_snapshot_owners(s, 1);
	e->owners[0].pid = pid;
	e->owners[0].comm = "daemon";
	e->owners[0].exe = exe ? pc_snapshot_strdup(s, exe) : NULL;
	e->owners[0].uid = 0;
	e->owners[0].user = "root";
	e->owners[0].unit = "daemon.service";
	if (image) {
		e->owners[0].container.id = "0123456789abcdef";
		e->owners[0].container.runtime = "docker";
		e->owners[0].container.name = "web";
		e->owners[0].container.image = pc_snapshot_strdup(s, image);
	}
	e->verified.done = true;
	e->verified.reachable = true;
	e->verified.rtt_ms = 0.125;
	return e;
}

/* A range of snap->scan.cover: addresses (first, last) or TCP ports. */
static void add_cover(struct pc_snapshot *s, const char *first, const char *last, uint16_t lo,
		      uint16_t hi)
{
	if (!s->scan.cover)
		s->scan.cover = pc_arena_alloc(&s->arena, 8 * sizeof(*s->scan.cover));
	assert_true(s->scan.n_cover < 8);
	struct pc_scan_range *r = &s->scan.cover[s->scan.n_cover++];
	memset(r, 0, sizeof(*r));
	if (first) {
		r->kind = PC_COVER_ADDRESSES;
		assert_int_equal(pc_addr_parse(first, &r->first), 0);
		assert_int_equal(pc_addr_parse(last, &r->last), 0);
	} else {
		r->kind = PC_COVER_TCP;
		r->port_first = lo;
		r->port_last = hi;
	}
}

/* Every field a writer prints, set. */
static struct pc_snapshot *full_snapshot(void)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus audit --format json");
	s->host = "lab-host";
	s->started_at_ms = 1796000000123;
	s->finished_at_ms = 1796000004567;
	pc_snapshot_warn(s, "not permitted to read %d processes", 3);
	pc_snapshot_warn(s, "a second warning with \"quotes\"");
	s->scan = (struct pc_scan_stats){.present = true, .engine = "syn", .targets = 256,
					 .ports = 100, .probes_planned = 25600, .sent = 25700,
					 .replies = 12, .retries = 100, .capture_drops = 1,
					 .duration_s = 2.5, .rate_pps = 10000};
	/* schema 4: the namespaces' addresses, the scan's coverage */
	add_cover(s, "198.18.0.0", "198.18.0.255", 0, 0);
	add_cover(s, NULL, NULL, 22, 22);
	add_cover(s, NULL, NULL, 6379, 6380);
	s->scan.shard_index = 2;
	s->scan.shard_count = 4;
	struct pc_addr ad;
	pc_addr_parse("198.18.0.5", &ad);
	pc_snapshot_add_address(s, 4026531940u, "lab-a", &ad, 24);
	pc_addr_parse("fd00:198:18::5", &ad);
	pc_snapshot_add_address(s, 4026531940u, NULL, &ad, 64);
	struct pc_endpoint *e = add_listener(s, "lab-a", "0.0.0.0", 6379, 100,
					     "/usr/bin/redis-server", NULL);
	struct pc_service *sv = pc_snapshot_service(s);
	sv->name = "redis";
	sv->product = "Redis";
	sv->version = "7.0.15";
	sv->tls = PC_TRI_FALSE;
	sv->auth = PC_AUTH_NONE;
	sv->evidence = "PING answered +PONG";
	sv->banner = "+PONG";
	e->service = sv;
	struct pc_risk *r = pc_arena_alloc(&s->arena, sizeof(*r));
	static const char *reasons[] = {"no authentication", "bound to all interfaces"};
	*r = (struct pc_risk){.severity = PC_SEV_CRITICAL, .score = 9.5, .category = "cache",
			      .reasons = reasons, .n_reasons = 2,
			      .remediation = "requirepass"};
	e->risk = r;
	struct pc_policy_verdict *p = pc_arena_alloc(&s->arena, sizeof(*p));
	static const char *why[] = {"bind 0.0.0.0 not allowed"};
	*p = (struct pc_policy_verdict){.rule = "redis", .verdict = PC_VERDICT_VIOLATION,
					.reasons = why, .n_reasons = 1, .owner = "team-a",
					.doc = "https://wiki/redis"};
	e->policy = p;

	e = add_listener(s, NULL, "::", 22, 200, "/usr/sbin/sshd", NULL);
	sv = pc_snapshot_service(s);
	sv->name = "ssh";
	sv->tls = PC_TRI_UNKNOWN;
	sv->auth = PC_AUTH_REQUIRED;
	static const char *methods[] = {"publickey", "password"};
	sv->auth_methods = methods;
	sv->n_auth_methods = 2;
	struct pc_ssh_info *ssh = pc_arena_alloc(&s->arena, sizeof(*ssh));
	ssh->hostkey_type = "ssh-ed25519";
	ssh->hostkey_fingerprint = "SHA256:abc";
	sv->ssh_info = ssh;
	e->service = sv;

	e = add_listener(s, "web", "198.18.0.5", 443, 300, "/usr/sbin/nginx", "nginx:1.25");
	sv = pc_snapshot_service(s);
	sv->name = "https";
	sv->tls = PC_TRI_TRUE;
	sv->auth = PC_AUTH_UNKNOWN;
	struct pc_tls_info *t = pc_arena_alloc(&s->arena, sizeof(*t));
	*t = (struct pc_tls_info){.version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
				  .subject = "CN=web", .issuer = "CN=web",
				  .not_after = "2027-01-01T00:00:00Z",
				  .self_signed = PC_TRI_TRUE};
	sv->tls_info = t;
	e->service = sv;
	e->owners[0].container.image_id = "sha256:0123";
	e->owners[0].container.pod = "web-0";
	e->owners[0].container.pod_namespace = "shop";
	e->probe_skipped = "per-host cap";

	/* an established connection, a UDP socket without owners */
	e = add_listener(s, "lab-a", "198.18.0.1", 40000, 400, "/usr/bin/curl", NULL);
	e->state = PC_STATE_ESTABLISHED;
	e->has_peer = true;
	pc_addr_parse("198.18.0.2", &e->peer_addr);
	e->peer_port = 80;
	e->verified = (struct pc_verified){.rtt_ms = -1};
	e = pc_snapshot_add_endpoint(s);
	e->proto = PC_PROTO_UDP;
	pc_addr_parse("127.0.0.1", &e->addr);
	e->port = 53;
	e->bind = PC_BIND_LOOPBACK;

	/* a forwarded port with no socket: two targets, one a local listener */
	e = pc_snapshot_add_endpoint(s);
	pc_addr_parse("198.18.0.5", &e->addr);
	e->port = 8443;
	e->state = PC_STATE_FORWARDED;
	e->bind = PC_BIND_SPECIFIC;
	struct pc_forward *fw = pc_arena_alloc(&s->arena, sizeof(*fw));
	fw->kind = PC_FORWARD_DNAT;
	fw->rule = "nat/PREROUTING: web";
	fw->to = pc_arena_alloc(&s->arena, 2 * sizeof(*fw->to));
	fw->n_to = 2;
	pc_addr_parse("198.18.0.5", &fw->to[0].addr);
	fw->to[0].port = 443;
	fw->to[0].weight = -1;
	fw->to[0].backend_index = 2;
	pc_addr_parse("fd00:198:18::9", &fw->to[1].addr);
	fw->to[1].port = 8443;
	fw->to[1].weight = 0.5;
	fw->to[1].backend_index = -1;
	e->forward = fw;

	/* network side: rtt, hostname, a re-check */
	e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_SCAN;
	pc_addr_parse("198.18.1.9", &e->addr);
	e->port = 80;
	e->state = PC_STATE_OPEN;
	e->hostname = "web.lab";
	e->rtt_ms = 0.5;
	e->verified = (struct pc_verified){.done = true, .reachable = false, .rtt_ms = -1,
					   .error = "refused"};
	e->recheck = PC_RECHECK_CLOSED;
	e->claimed_service = "http";
	e->recheck_reason = "refused now";

	pc_snapshot_add_finding(s, "stale_rule", PC_SEV_MEDIUM, "old-rule", "rule matches nothing");
	pc_snapshot_add_finding(s, "review_due", PC_SEV_LOW, NULL, "review overdue");
	return s;
}

static char *json_of(const struct pc_snapshot *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	struct pc_report_opts ro = {.view = PC_VIEW_AUDIT, .version = "test"};
	assert_int_equal(pc_report_json.write(f, s, &ro, false), 0);
	fclose(f);
	return out;
}

#ifdef PC_TEST_PG
static const char *pg_url(void)
{
	const char *u = getenv("PC_TEST_PG_URL");
	return u && *u ? u : NULL;
}

/* Run sql on the test database directly (not through the ledger). */
static void pg_exec(const char *sql)
{
	PGconn *c = PQconnectdb(pg_url());
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", pg_url(), PQerrorMessage(c));
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* An empty database for every test: the ledger then creates its schema. */
static void pg_reset(void)
{
	pg_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
}

static struct pc_ledger *open_ok(const char *path)
{
	(void)path;
	pg_reset();
	struct pc_ledger *l = NULL;
	struct pc_error err = {0};
	int r = pc_ledger_open(pg_url(), true, &l, &err);
	if (r < 0)
		fail_msg("open %s: %s", pg_url(), err.msg);
	assert_string_equal(l->ops->name, "postgresql");
	return l;
}
#else
static struct pc_ledger *open_ok(const char *path)
{
	struct pc_ledger *l = NULL;
	struct pc_error err = {0};
	int r = pc_ledger_open(path, true, &l, &err);
	if (r < 0)
		fail_msg("open %s: %s", path, err.msg);
	return l;
}

#endif

static int64_t store_ok(struct pc_ledger *l, const struct pc_snapshot *s, const char *scope)
{
	struct pc_error err = {0};
	struct pc_ledger_meta meta = {.kind = "audit", .scope = scope};
	int64_t id = 0;
	int r = l->ops->store(l, s, &meta, &id, &err);
	if (r < 0)
		fail_msg("store: %s", err.msg);
	assert_true(id > 0);
	return id;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct pc_snapshot *s = full_snapshot();
	struct pc_ledger *l = open_ok(tpath("rt.db"));
	int64_t id = store_ok(l, s, "host");
	struct pc_snapshot *back = NULL;
	struct pc_ledger_meta meta;
	struct pc_error err = {0};
	assert_int_equal(l->ops->load(l, id, &back, &meta, &err), 0);
	assert_string_equal(meta.kind, "audit");
	assert_string_equal(meta.scope, "host");
	char *a = json_of(s), *b = json_of(back);
	assert_string_equal(a, b);
	/* what JSON does not print but the ledger keeps */
	assert_int_equal(back->n_findings, 2);
	assert_string_equal(back->findings[0].kind, "stale_rule");
	assert_int_equal(back->findings[0].severity, PC_SEV_MEDIUM);
	assert_null(back->findings[1].rule);
	const struct pc_endpoint *e0 = &back->endpoints[0];
	assert_non_null(e0->risk);
	assert_int_equal(e0->risk->severity, PC_SEV_CRITICAL);
	assert_int_equal(e0->risk->n_reasons, 2);
	assert_string_equal(e0->risk->reasons[1], "bound to all interfaces");
	assert_string_equal(e0->risk->remediation, "requirepass");
	assert_non_null(e0->policy);
	assert_int_equal(e0->policy->verdict, PC_VERDICT_VIOLATION);
	assert_string_equal(e0->policy->reasons[0], "bind 0.0.0.0 not allowed");
	assert_string_equal(e0->policy->doc, "https://wiki/redis");
	const struct pc_endpoint *e1 = &back->endpoints[1];
	assert_int_equal(e1->service->n_auth_methods, 2);
	assert_string_equal(e1->service->auth_methods[1], "password");
	assert_string_equal(e1->service->ssh_info->hostkey_fingerprint, "SHA256:abc");
	assert_string_equal(back->endpoints[2].owners[0].container.image, "nginx:1.25");
	assert_string_equal(back->endpoints[2].owners[0].container.image_id, "sha256:0123");
	assert_string_equal(back->endpoints[2].owners[0].container.pod_namespace, "shop");
	assert_string_equal(back->endpoints[2].probe_skipped, "per-host cap");
	const struct pc_forward *fw = back->endpoints[5].forward;
	assert_non_null(fw);
	assert_int_equal(back->endpoints[5].state, PC_STATE_FORWARDED);
	assert_int_equal(fw->kind, PC_FORWARD_DNAT);
	assert_string_equal(fw->rule, "nat/PREROUTING: web");
	assert_int_equal(fw->n_to, 2);
	assert_int_equal(fw->to[0].port, 443);
	assert_true(fw->to[0].weight < 0);
	assert_int_equal(fw->to[0].backend_index, 2);
	assert_true(fw->to[1].weight == 0.5);
	assert_int_equal(fw->to[1].backend_index, -1);
	assert_true(pc_addr_equal(&fw->to[1].addr, &s->endpoints[5].forward->to[1].addr));
	/* the pod names the namespace in the identity */
	struct pc_arena ar;
	pc_arena_init(&ar);
	assert_string_equal(pc_ledger_identity(&ar, back, &back->endpoints[2]),
			    "host|lab-host|pod:shop/web-0|tcp|198.18.0.5|443");
	pc_arena_free(&ar);
	assert_true(back->endpoints[2].risk == NULL && back->endpoints[2].policy == NULL);
	/* schema 4 (JSON compared them too) */
	assert_int_equal(back->n_addresses, 2);
	assert_int_equal(back->addresses[0].netns_inode, 4026531940u);
	assert_string_equal(back->addresses[0].netns_name, "lab-a");
	assert_null(back->addresses[1].netns_name);
	assert_int_equal(back->addresses[1].prefix_len, 64);
	assert_int_equal(back->scan.n_cover, 3);
	assert_int_equal(back->scan.cover[2].port_last, 6380);
	assert_int_equal(back->scan.shard_count, 4);
	free(a);
	free(b);
	pc_snapshot_free(back);
	pc_snapshot_free(s);
	pc_ledger_close(l);
}

/* --- the host view joined to the network view ---------------------------- */

static void store_meta(struct pc_ledger *l, const struct pc_snapshot *s,
		       const struct pc_ledger_meta *meta)
{
	struct pc_error err = {0};
	int64_t id = 0;
	if (l->ops->store(l, s, meta, &id, &err) < 0)
		fail_msg("store: %s", err.msg);
}

/* A shard of sweep `sweep` from segment seg over 198.18.1.0/24, ports
 * 22 and 80, that saw `open` open (and 22 closed). */
static void store_scan(struct pc_ledger *l, const char *sweep, const char *seg,
		       unsigned shard, unsigned shards, const char *open, uint16_t port)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus scan");
	s->host = "scanner";
	s->scan = (struct pc_scan_stats){.present = true, .engine = "syn",
					 .shard_index = shard, .shard_count = shards};
	add_cover(s, "198.18.1.0", "198.18.1.255", 0, 0);
	add_cover(s, NULL, NULL, 22, 22);
	add_cover(s, NULL, NULL, 80, 80);
	if (open) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		e->source = PC_SOURCE_SCAN;
		pc_addr_parse(open, &e->addr);
		e->port = port;
		e->state = PC_STATE_OPEN;
		e = pc_snapshot_add_endpoint(s);
		e->source = PC_SOURCE_SCAN;
		pc_addr_parse(open, &e->addr);
		e->port = 22;
		e->state = PC_STATE_CLOSED;
	}
	struct pc_ledger_meta meta = {.kind = "scan", .scope = "net:198.18.1.0/24",
				      .sweep_id = sweep, .segment = seg};
	store_meta(l, s, &meta);
	pc_snapshot_free(s);
}

struct seen {
	char rows[16][128];
	size_t n;
};

static int seen_row(void *ctx, const struct pc_exposure_row *r)
{
	struct seen *v = ctx;
	if (v->n < 16)
		snprintf(v->rows[v->n], sizeof(v->rows[0]), "%s %s:%u %s %s %s", r->host_id,
			 r->address, r->port, r->segment, pc_exposure_seen_name(r->seen),
			 r->sweep ? r->sweep : "-");
	v->n++;
	return 0;
}

static int unexplained_row(void *ctx, const struct pc_unexplained *u)
{
	struct seen *v = ctx;
	if (v->n < 16)
		snprintf(v->rows[v->n], sizeof(v->rows[0]), "%s:%u %s %s %s", u->address, u->port,
			 u->segment, pc_severity_name(u->severity), u->host_id ? u->host_id : "-");
	v->n++;
	return 0;
}

/* One agent host's audit with listeners in two namespaces (inode 4026531850
 * with two IPv4 addresses and one IPv6, 4026531851 with none). */
static void store_agent(struct pc_ledger *l, const char *host_id, const char *v4a,
			const char *v4b, const char *v6, uint16_t base)
{
	struct pc_snapshot *a = pc_snapshot_new("portcensus audit");
	a->host = host_id;
	/* the pid picks the namespace (add_listener): 10 -> ...850, 11 -> ...851 */
	add_listener(a, NULL, "0.0.0.0", base, 10, "/usr/sbin/nginx", NULL);
	add_listener(a, NULL, "::", (uint16_t)(base + 1), 10, "/usr/sbin/sshd", NULL);
	add_listener(a, NULL, v4b, (uint16_t)(base + 2), 10, "/usr/bin/redis-server", NULL);
	add_listener(a, NULL, "0.0.0.0", (uint16_t)(base + 3), 11, NULL, NULL);
	add_listener(a, NULL, "127.0.0.1", (uint16_t)(base + 4), 10, NULL, NULL);
	struct pc_endpoint *f = add_listener(a, NULL, v4a, (uint16_t)(base + 5), 10, NULL, NULL);
	f->state = PC_STATE_FORWARDED;
	struct pc_addr ad;
	pc_addr_parse(v4a, &ad);
	pc_snapshot_add_address(a, 4026531850u, NULL, &ad, 24);
	pc_addr_parse(v6, &ad);
	pc_snapshot_add_address(a, 4026531850u, NULL, &ad, 64);
	pc_addr_parse(v4b, &ad);
	pc_snapshot_add_address(a, 4026531850u, NULL, &ad, 24);
	struct pc_ledger_meta am = {.kind = "audit", .scope = "host", .host_id = host_id};
	store_meta(l, a, &am);
	pc_snapshot_free(a);
}

/* a row as bound (seen_row's struct seen, another line) */
static int listed_row(void *ctx, const struct pc_exposure_row *r)
{
	struct seen *v = ctx;
	if (v->n < 16)
		snprintf(v->rows[v->n], sizeof(v->rows[0]), "%s %s:%u %s%s %s", r->host_id,
			 r->address, r->port, r->listen_address, r->forwarded ? " fwd" : "",
			 pc_exposure_seen_name(r->seen));
	v->n++;
	return 0;
}

/* fleet exposure's agents' side, joined in C since 2026-12-06: each host's
 * latest audit only, its listeners in (snapshot, seq) order, a wildcard
 * expanded to its namespace's addresses in their stored order (0.0.0.0 to
 * the IPv4 ones, :: to all), "*" for a namespace with none, loopback left
 * out, a forwarded front marked; the same on both engines. */
static void test_exposure_agents(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("agents.db"));
	store_agent(l, "h1", "198.18.7.1", "198.18.7.2", "fd00:198:18::7", 7000);
	store_agent(l, "h2", "198.18.8.1", "198.18.8.2", "fd00:198:18::8", 8000);
	/* h1 again, other addresses: only this audit counts */
	store_agent(l, "h1", "198.18.9.1", "198.18.9.2", "fd00:198:18::9", 9000);
	struct pc_arena ar;
	pc_arena_init(&ar);
	struct pc_error err = {0};
	struct seen v = {0};
	assert_int_equal(pc_ledger_exposure(l, NULL, &ar, listed_row, &v, &err), 0);
	static const char *const want[] = {
		"h2 198.18.8.1:8000 0.0.0.0 never",
		"h2 198.18.8.2:8000 0.0.0.0 never",
		"h2 198.18.8.1:8001 :: never",
		"h2 fd00:198:18::8:8001 :: never",
		"h2 198.18.8.2:8001 :: never",
		"h2 198.18.8.2:8002 198.18.8.2 never",
		"h2 *:8003 0.0.0.0 never",
		"h2 198.18.8.1:8005 198.18.8.1 fwd never",
		"h1 198.18.9.1:9000 0.0.0.0 never",
		"h1 198.18.9.2:9000 0.0.0.0 never",
		"h1 198.18.9.1:9001 :: never",
		"h1 fd00:198:18::9:9001 :: never",
		"h1 198.18.9.2:9001 :: never",
		"h1 198.18.9.2:9002 198.18.9.2 never",
		"h1 *:9003 0.0.0.0 never",
		"h1 198.18.9.1:9005 198.18.9.1 fwd never",
	};
	assert_int_equal(v.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < v.n; i++)
		assert_string_equal(v.rows[i], want[i]);
	/* a sweep that saw 198.18.9.2 open on 22: the host's own address,
	 * no listener there, so unexplained and pinned on h1 */
	struct pc_snapshot *s = pc_snapshot_new("portcensus scan");
	s->host = "scanner";
	s->scan = (struct pc_scan_stats){.present = true, .engine = "syn"};
	add_cover(s, "198.18.9.0", "198.18.9.255", 0, 0);
	add_cover(s, NULL, NULL, 22, 22);
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_SCAN;
	pc_addr_parse("198.18.9.2", &e->addr);
	e->port = 22;
	e->state = PC_STATE_OPEN;
	struct pc_ledger_meta sm = {.kind = "scan", .scope = "net:198.18.9.0/24"};
	store_meta(l, s, &sm);
	pc_snapshot_free(s);
	struct seen u = {0};
	assert_int_equal(pc_ledger_unexplained(l, NULL, &ar, unexplained_row, &u, &err), 0);
	assert_int_equal(u.n, 1);
	assert_string_equal(u.rows[0], "198.18.9.2:22  high h1");
	pc_arena_free(&ar);
	pc_ledger_close(l);
}

/* An agent h1 with 0.0.0.0:80 (its namespace holds 198.18.1.2 and an
 * IPv6 address), 198.18.1.2:22 and 127.0.0.1:6379; sweep s1 of seg-a in two
 * shards saw 80 open on 198.18.1.2 and 198.18.1.9; s2 of seg-b, one shard
 * of two, never complete, saw 198.18.1.7:80 open. */
static void test_exposure_join(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("exp.db"));
	struct pc_snapshot *a = pc_snapshot_new("portcensus audit");
	a->host = "lab-host";
	add_listener(a, NULL, "0.0.0.0", 80, 10, "/usr/bin/python3", NULL);
	add_listener(a, NULL, "198.18.1.2", 22, 10, "/usr/sbin/sshd", NULL);
	add_listener(a, NULL, "127.0.0.1", 6379, 10, "/usr/bin/redis-server", NULL);
	struct pc_addr ad;
	pc_addr_parse("198.18.1.2", &ad);
	pc_snapshot_add_address(a, 4026531850u, NULL, &ad, 24);
	pc_addr_parse("fd00:198:18::2", &ad);
	pc_snapshot_add_address(a, 4026531850u, NULL, &ad, 64);
	struct pc_ledger_meta am = {.kind = "audit", .scope = "host", .host_id = "h1"};
	store_meta(l, a, &am);

	/* one shard of s1 only: a sweep not yet whole covers nothing */
	store_scan(l, "s1", "seg-a", 1, 2, "198.18.1.2", 80);
	struct pc_arena ar;
	pc_arena_init(&ar);
	struct pc_error err = {0};
	struct seen v = {0};
	assert_int_equal(pc_ledger_exposure(l, NULL, &ar, seen_row, &v, &err), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.rows[0], "h1 198.18.1.2:80 seg-a never -");
	assert_string_equal(v.rows[1], "h1 198.18.1.2:22 seg-a never -");

	store_scan(l, "s1", "seg-a", 2, 2, "198.18.1.9", 80);
	store_scan(l, "s2", "seg-b", 1, 2, "198.18.1.7", 80);
	memset(&v, 0, sizeof(v));
	assert_int_equal(pc_ledger_exposure(l, NULL, &ar, seen_row, &v, &err), 0);
	assert_int_equal(v.n, 4);
	assert_string_equal(v.rows[0], "h1 198.18.1.2:80 seg-a open s1");
	assert_string_equal(v.rows[1], "h1 198.18.1.2:80 seg-b never -");
	assert_string_equal(v.rows[2], "h1 198.18.1.2:22 seg-a closed s1");
	assert_string_equal(v.rows[3], "h1 198.18.1.2:22 seg-b never -");
	memset(&v, 0, sizeof(v));
	assert_int_equal(pc_ledger_exposure(l, "seg-a", &ar, seen_row, &v, &err), 0);
	assert_int_equal(v.n, 2);
	memset(&v, 0, sizeof(v));
	assert_int_equal(pc_ledger_exposure(l, "nowhere", &ar, seen_row, &v, &err), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.rows[0], "h1 198.18.1.2:80 nowhere never -");

	/* 198.18.1.9:80, which no agent reports, is the one unexplained port
	 * (s2 is not whole: what it saw is not evidence yet) */
	memset(&v, 0, sizeof(v));
	assert_int_equal(pc_ledger_unexplained(l, NULL, &ar, unexplained_row, &v, &err), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.rows[0], "198.18.1.9:80 seg-a medium -");

	/* the classifier's evidence for the audit, from the same ledger: s1
	 * saw 80 open and 22 closed; s2 is no evidence; 6379 is loopback */
#ifdef PC_TEST_PG
	struct pc_ledger_request req = {.central = pg_url()};
#else
	struct pc_ledger_request req = {.path = tpath("exp.db")};
#endif
	const struct pc_exposure_evidence *ev = NULL;
	size_t n_ev = 0;
	assert_int_equal(pc_ledger_evidence(&req, a, &ev, &n_ev), 0);
	assert_int_equal(n_ev, 2);
	for (size_t i = 0; i < n_ev; i++) {
		char t[PC_ADDR_STRLEN];
		assert_string_equal(pc_addr_format(&ev[i].addr, t, sizeof(t)), "198.18.1.2");
		assert_string_equal(ev[i].segment, "seg-a");
		assert_string_equal(ev[i].sweep, "s1");
		assert_int_equal(ev[i].seen, ev[i].port == 80 ? PC_STATE_OPEN : PC_STATE_CLOSED);
	}
	/* no ledger there: no evidence, no failure */
	struct pc_ledger_request none = {.path = tpath("missing.db")};
	assert_int_equal(pc_ledger_evidence(&none, a, &ev, &n_ev), 0);
	assert_int_equal(n_ev, 0);
	pc_snapshot_free(a);
	pc_arena_free(&ar);
	pc_ledger_close(l);
}

/* --- golden drift --------------------------------------------------------- */

struct scenario {
	int ssh_pid;
	const char *ssh_exe;
	const char *web_image;
	bool extra;  /* a new listener on 8080 */
	bool no_dns; /* the resolver on 53 gone */
};

static struct pc_snapshot *scenario_snapshot(const struct scenario *sc)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus audit");
	s->host = "lab-host";
	add_listener(s, NULL, "0.0.0.0", 22, sc->ssh_pid, sc->ssh_exe, NULL);
	add_listener(s, "web", "0.0.0.0", 443, 300, "/usr/sbin/nginx", sc->web_image);
	if (!sc->no_dns)
		add_listener(s, "lab-a", "127.0.0.53", 53, 50, "/usr/lib/resolved", NULL);
	if (sc->extra)
		add_listener(s, "lab-a", "0.0.0.0", 8080, 777, "/usr/bin/python3", NULL);
	pc_snapshot_sort(s);
	return s;
}

static const struct pc_ledger_change *find_change(const struct pc_ledger_diff *d,
						  const char *ident)
{
	for (size_t i = 0; i < d->n_changes; i++)
		if (strcmp(d->changes[i].ident, ident) == 0)
			return &d->changes[i];
	fail_msg("no change for %s", ident);
	return NULL;
}

static void diff_ok(struct pc_ledger *l, int64_t a, int64_t b, struct pc_ledger_diff *d)
{
	struct pc_error err = {0};
	pc_ledger_diff_init(d);
	if (l->ops->diff(l, a, b, d, &err) < 0)
		fail_msg("diff: %s", err.msg);
}

static void test_golden_diff(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("golden.db"));
	const struct scenario base = {.ssh_pid = 10, .ssh_exe = "/usr/sbin/sshd",
				      .web_image = "nginx:1.25"};
	struct pc_snapshot *s = scenario_snapshot(&base);
	int64_t first = store_ok(l, s, "host");
	pc_snapshot_free(s);
	struct pc_ledger_diff d;

	/* the first audit: everything added, with its owner */
	diff_ok(l, 0, first, &d);
	assert_int_equal(d.n_changes, 3);
	for (size_t i = 0; i < d.n_changes; i++)
		assert_int_equal(d.changes[i].action, PC_CHANGE_ADDED);
	const struct pc_ledger_change *c = find_change(&d, "host|lab-host||tcp|0.0.0.0|22");
	assert_string_equal(c->now.owner, "10/daemon");
	assert_string_equal(c->now.v[PC_DRIFT_EXE], "/usr/sbin/sshd");
	assert_string_equal(c->now.v[PC_DRIFT_BIND], "any");
	pc_ledger_diff_free(&d);

	/* identical audits: no drift */
	s = scenario_snapshot(&base);
	int64_t same = store_ok(l, s, "host");
	pc_snapshot_free(s);
	diff_ok(l, first, same, &d);
	assert_int_equal(d.n_changes, 0);
	pc_ledger_diff_free(&d);

	/* a restart: new pid (and namespace inode), no drift */
	struct scenario sc = base;
	sc.ssh_pid = 99;
	s = scenario_snapshot(&sc);
	int64_t restarted = store_ok(l, s, "host");
	pc_snapshot_free(s);
	diff_ok(l, same, restarted, &d);
	assert_int_equal(d.n_changes, 0);
	pc_ledger_diff_free(&d);

	/* another executable and another image: two changed records, never
	 * removed + added */
	sc.ssh_exe = "/opt/evil/sshd";
	sc.web_image = "nginx:1.27";
	s = scenario_snapshot(&sc);
	int64_t changed = store_ok(l, s, "host");
	pc_snapshot_free(s);
	diff_ok(l, restarted, changed, &d);
	assert_int_equal(d.n_changes, 2);
	c = find_change(&d, "host|lab-host||tcp|0.0.0.0|22");
	assert_int_equal(c->action, PC_CHANGE_CHANGED);
	assert_true(c->differs[PC_DRIFT_EXE]);
	assert_string_equal(c->before.v[PC_DRIFT_EXE], "/usr/sbin/sshd");
	assert_string_equal(c->now.v[PC_DRIFT_EXE], "/opt/evil/sshd");
	for (int f = 0; f < PC_DRIFT_COUNT; f++)
		if (f != PC_DRIFT_EXE)
			assert_false(c->differs[f]);
	c = find_change(&d, "host|lab-host|web|tcp|0.0.0.0|443");
	assert_int_equal(c->action, PC_CHANGE_CHANGED);
	assert_true(c->differs[PC_DRIFT_IMAGE]);
	assert_string_equal(c->before.v[PC_DRIFT_IMAGE], "nginx:1.25");
	assert_string_equal(c->now.v[PC_DRIFT_IMAGE], "nginx:1.27");
	pc_ledger_diff_free(&d);

	/* a new listener (added, with owner) and one gone (removed) */
	sc.extra = true;
	sc.no_dns = true;
	s = scenario_snapshot(&sc);
	int64_t moved = store_ok(l, s, "host");
	pc_snapshot_free(s);
	diff_ok(l, changed, moved, &d);
	assert_int_equal(d.n_changes, 2);
	c = find_change(&d, "host|lab-host|lab-a|tcp|127.0.0.53|53");
	assert_int_equal(c->action, PC_CHANGE_REMOVED);
	assert_int_equal(c->port, 53);
	assert_string_equal(c->address, "127.0.0.53");
	c = find_change(&d, "host|lab-host|lab-a|tcp|0.0.0.0|8080");
	assert_int_equal(c->action, PC_CHANGE_ADDED);
	assert_string_equal(c->now.owner, "777/daemon");
	assert_string_equal(c->now.v[PC_DRIFT_EXE], "/usr/bin/python3");
	assert_string_equal(c->namespace_id, "lab-a");
	pc_ledger_diff_free(&d);

	/* the previous snapshot of the same scope skips other scopes */
	s = scenario_snapshot(&sc);
	int64_t other = store_ok(l, s, "net:198.18.0.0/24");
	pc_snapshot_free(s);
	struct pc_ledger_find q = {.kind = PC_LEDGER_FIND_PREV_SCOPE, .id = other};
	int64_t prev = 0;
	struct pc_error err = {0};
	assert_int_equal(l->ops->find(l, &q, &prev, &err), -ENOENT);
	s = scenario_snapshot(&sc);
	int64_t last = store_ok(l, s, "host");
	pc_snapshot_free(s);
	q.id = last;
	assert_int_equal(l->ops->find(l, &q, &prev, &err), 0);
	assert_int_equal(prev, moved);
	pc_ledger_close(l);
}

/* Severity and verdict changes are drift; a changed pid with both is one
 * record. */
static void test_diff_risk_policy(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("risk.db"));
	struct pc_snapshot *s = full_snapshot();
	int64_t a = store_ok(l, s, "host");
	s->endpoints[0].risk->severity = PC_SEV_HIGH;
	s->endpoints[0].policy->verdict = PC_VERDICT_ALLOWED;
	s->endpoints[0].owners[0].pid = 12345;
	int64_t b = store_ok(l, s, "host");
	pc_snapshot_free(s);
	struct pc_ledger_diff d;
	diff_ok(l, a, b, &d);
	assert_int_equal(d.n_changes, 1);
	assert_int_equal(d.changes[0].action, PC_CHANGE_CHANGED);
	assert_true(d.changes[0].differs[PC_DRIFT_SEVERITY]);
	assert_true(d.changes[0].differs[PC_DRIFT_VERDICT]);
	assert_string_equal(d.changes[0].before.v[PC_DRIFT_SEVERITY], "critical");
	assert_string_equal(d.changes[0].now.v[PC_DRIFT_SEVERITY], "high");
	assert_false(d.changes[0].differs[PC_DRIFT_EXE]);
	pc_ledger_diff_free(&d);
	pc_ledger_close(l);
}

/* Two listeners nothing tells apart get #2: both stored, no drift. */
static void test_duplicate_identity(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("dup.db"));
	struct pc_snapshot *s = pc_snapshot_new("x");
	add_listener(s, NULL, "0.0.0.0", 80, 1, "/a", NULL);
	add_listener(s, NULL, "0.0.0.0", 80, 2, "/a", NULL);
	int64_t a = store_ok(l, s, "host");
	int64_t b = store_ok(l, s, "host");
	pc_snapshot_free(s);
	struct pc_ledger_diff d;
	diff_ok(l, 0, a, &d);
	assert_int_equal(d.n_changes, 2);
	assert_non_null(strstr(d.changes[1].ident, "#2"));
	pc_ledger_diff_free(&d);
	diff_ok(l, a, b, &d);
	assert_int_equal(d.n_changes, 0);
	pc_ledger_diff_free(&d);
	pc_ledger_close(l);
}

/* --- history, selectors, retention --------------------------------------- */

static int count_row(void *ctx, const struct pc_ledger_row *r)
{
	int64_t *ids = ctx;
	ids[++ids[0]] = r->id;
	return 0;
}

static int first_row(void *ctx, const struct pc_ledger_row *r)
{
	struct pc_ledger_row *out = ctx;
	*out = *r;
	out->host = out->kind = out->scope = out->command = NULL; /* not kept */
	return 0;
}

static void test_history_retention(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("keep.db"));
	struct pc_snapshot *s = full_snapshot();
	int64_t ids[6];
	for (int i = 0; i < 6; i++) {
		/* 5.5, 4.5, ... 0.5 days old */
		s->started_at_ms = pc_now_ms() - (int64_t)(6 - i) * 86400000 + 43200000;
		ids[i] = store_ok(l, s, "host");
	}
	pc_snapshot_free(s);
	struct pc_error err = {0};
	int64_t seen[16] = {0};
	assert_int_equal(l->ops->list(l, 0, count_row, seen, &err), 0);
	assert_int_equal(seen[0], 6);
	assert_int_equal(seen[1], ids[5]); /* newest first */

	struct pc_ledger_find q;
	int64_t id;
	assert_int_equal(pc_ledger_parse_selector("latest~2", pc_now_ms(), &q, &err), 0);
	assert_int_equal(pc_ledger_resolve(l, &q, &id, &err), 0);
	assert_int_equal(id, ids[3]);
	assert_int_equal(pc_ledger_parse_selector("-3d", pc_now_ms(), &q, &err), 0);
	assert_int_equal(pc_ledger_resolve(l, &q, &id, &err), 0);
	assert_int_equal(id, ids[2]);
	assert_int_equal(pc_ledger_parse_selector("latest~9", pc_now_ms(), &q, &err), 0);
	assert_int_equal(pc_ledger_resolve(l, &q, &id, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "fewer than 10"));

	/* history's counts by severity: endpoint risks plus findings */
	struct pc_ledger_row row = {0};
	assert_int_equal(l->ops->list(l, 1, first_row, &row, &err), 0);
	assert_int_equal(row.id, ids[5]);
	assert_int_equal(row.by_severity[PC_SEV_CRITICAL], 1);
	assert_int_equal(row.by_severity[PC_SEV_MEDIUM], 1);
	assert_int_equal(row.by_severity[PC_SEV_LOW], 1);
	assert_int_equal(row.by_severity[PC_SEV_HIGH], 0);
	assert_int_equal(row.n_endpoints, 7);
	assert_int_equal(row.n_findings, 2);

	struct pc_ledger_keep keep;
	uint64_t deleted = 0;
	assert_int_equal(pc_ledger_parse_keep("4", &keep, &err), 0);
	assert_int_equal(l->ops->retain(l, &keep, pc_now_ms(), &deleted, &err), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(pc_ledger_parse_keep("3d", &keep, &err), 0);
	assert_int_equal(keep.max_age_ms, 3 * 86400000LL);
	assert_int_equal(l->ops->retain(l, &keep, pc_now_ms(), &deleted, &err), 0);
	assert_int_equal(deleted, 1); /* 3.5 days old; 4.5 and 5.5 were gone */
	memset(seen, 0, sizeof(seen));
	assert_int_equal(l->ops->list(l, 0, count_row, seen, &err), 0);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[3], ids[3]);
	/* nothing of a deleted snapshot is left behind */
	struct pc_snapshot *gone = NULL;
	assert_int_equal(l->ops->load(l, ids[0], &gone, NULL, &err), -ENOENT);
	pc_ledger_close(l);
}

static void test_parse(void **state)
{
	(void)state;
	struct pc_error err = {0};
	struct pc_ledger_find q;
	assert_int_equal(pc_ledger_parse_selector("42", 0, &q, &err), 0);
	assert_int_equal(q.kind, PC_LEDGER_FIND_ID);
	assert_int_equal(q.id, 42);
	assert_int_equal(pc_ledger_parse_selector("2026-12-01", 0, &q, &err), 0);
	assert_int_equal(q.kind, PC_LEDGER_FIND_AT_TIME);
	assert_int_equal(q.time_ms, 1796083200000LL);
	assert_int_equal(pc_ledger_parse_selector("2026-12-01T10:00:00Z", 0, &q, &err), 0);
	assert_int_equal(q.time_ms, 1796083200000LL + 36000000);
	assert_int_equal(pc_ledger_parse_selector("-12h", 100000000, &q, &err), 0);
	assert_int_equal(q.time_ms, 100000000 - 43200000);
	const char *bad[] = {"0", "latest~", "latest~x", "-7", "-7y", "2026-13-45", "abc", "",
			     "12 ", "-0d"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pc_ledger_parse_selector(bad[i], 0, &q, &err), PC_EINVAL);
	/* the default path: PORTCENSUS_DB, else root's or the user's */
	char path[4096];
	const char *saved = getenv("PORTCENSUS_DB");
	char *copy = saved ? strdup(saved) : NULL;
	setenv("PORTCENSUS_DB", "/srv/x/ledger.db", 1);
	assert_int_equal(pc_ledger_default_path(path, sizeof(path), &err), 0);
	assert_string_equal(path, "/srv/x/ledger.db");
	unsetenv("PORTCENSUS_DB");
	assert_int_equal(pc_ledger_default_path(path, sizeof(path), &err), 0);
	if (geteuid() == 0)
		assert_string_equal(path, "/var/lib/portcensus/ledger.db");
	else
		assert_non_null(strstr(path, "/portcensus/ledger.db"));
	assert_int_equal(pc_ledger_default_path(path, 8, &err), PC_ETOOBIG);
	if (copy) {
		setenv("PORTCENSUS_DB", copy, 1);
		free(copy);
	}

	struct pc_ledger_keep k;
	assert_int_equal(pc_ledger_parse_keep("0", &k, &err), PC_EINVAL);
	assert_int_equal(pc_ledger_parse_keep("90x", &k, &err), PC_EINVAL);
	assert_int_equal(pc_ledger_parse_keep("90d", &k, &err), 0);
	assert_int_equal(k.count, 0);
}

/* --- files: permissions, links, corruption, versions --------------------- */

static void test_file_safety(void **state)
{
	(void)state;
	const char *path = tpath("state/portcensus/ledger.db");
	struct pc_ledger *l = open_ok(path);
	pc_ledger_close(l);
	struct stat st;
	assert_int_equal(stat(tpath("state/portcensus"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a planted symbolic link is refused, and its target untouched */
	int fd = open(tpath("target"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(tpath("target"), tpath("link.db")), 0);
	struct pc_error err = {0};
	assert_int_equal(pc_ledger_open(tpath("link.db"), true, &l, &err), PC_EIO);
	assert_string_equal(err.file, tpath("link.db"));
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(stat(tpath("target"), &st), 0);
	assert_int_equal(st.st_size, 0);

	/* nor is a link planted as its write-ahead log */
	l = open_ok(tpath("wal.db"));
	pc_ledger_close(l);
	assert_int_equal(symlink(tpath("target"), tpath("wal.db-wal")), 0);
	struct pc_snapshot *s = full_snapshot();
	struct pc_ledger_request req = {.path = tpath("wal.db"),
					.meta = {.kind = "audit", .scope = "host"}};
	struct pc_ledger_result res;
	assert_int_equal(pc_ledger_record(s, &req, &res), PC_EIO);
	assert_string_equal(res.err.file, tpath("wal.db"));
	pc_snapshot_free(s);
	assert_int_equal(stat(tpath("target"), &st), 0);
	assert_int_equal(st.st_size, 0);

	/* a file that is not a ledger */
	FILE *f = fopen(tpath("junk.db"), "we");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not a database at all\n", f);
	fclose(f);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pc_ledger_open(tpath("junk.db"), true, &l, &err), PC_EIO);
	assert_string_equal(err.file, tpath("junk.db"));
	assert_non_null(strstr(err.msg, "corrupt or not a portcensus ledger"));

	/* reading a ledger that does not exist does not create it */
	assert_int_equal(pc_ledger_open(tpath("none.db"), false, &l, &err), -ENOENT);
	assert_int_equal(stat(tpath("none.db"), &st), -1);
}

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rbe");
	if (!in)
		fail_msg("fixture %s missing", from);
	FILE *out = fopen(to, "wbe");
	assert_non_null(out);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

/* Every schema version has a fixture; each opens, migrates to the newest
 * version, keeps its snapshots, diffs, and takes a new snapshot. */
static void test_migrations(void **state)
{
	(void)state;
	for (int v = 1; v <= PC_LEDGER_SCHEMA_VERSION; v++) {
		char from[512], name[32];
		snprintf(from, sizeof(from), "%s/ledger/v%d.db", PC_TEST_DATA, v);
		snprintf(name, sizeof(name), "v%d.db", v);
		copy_file(from, tpath(name));
		struct pc_ledger *l = open_ok(tpath(name));
		struct pc_error err = {0};
		int64_t seen[16] = {0};
		assert_int_equal(l->ops->list(l, 0, count_row, seen, &err), 0);
		assert_int_equal(seen[0], 2);
		struct pc_snapshot *s = NULL;
		assert_int_equal(l->ops->load(l, 1, &s, NULL, &err), 0);
		assert_int_equal(s->n_endpoints, 2);
		assert_string_equal(s->endpoints[0].owners[0].exe, "/usr/sbin/sshd");
		assert_string_equal(s->warnings[0], "fixture warning");
		pc_snapshot_free(s);
		struct pc_ledger_diff d;
		diff_ok(l, 1, 2, &d);
		/* the fixture's second snapshot changed sshd's executable and
		 * added a listener on 8080 */
		assert_int_equal(d.n_changes, 2);
		assert_int_equal(d.changes[0].action, PC_CHANGE_CHANGED);
		assert_true(d.changes[0].differs[PC_DRIFT_EXE]);
		assert_int_equal(d.changes[1].action, PC_CHANGE_ADDED);
		pc_ledger_diff_free(&d);
		s = full_snapshot();
		store_ok(l, s, "host");
		pc_snapshot_free(s);
		pc_ledger_close(l);
	}
	/* a newer schema than we know is refused, naming the file */
	copy_file(PC_TEST_DATA "/ledger/v1.db", tpath("future.db"));
	sqlite3 *db;
	assert_int_equal(sqlite3_open(tpath("future.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct pc_ledger *l = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_ledger_open(tpath("future.db"), false, &l, &err), PC_EIO);
	assert_string_equal(err.file, tpath("future.db"));
	assert_non_null(strstr(err.msg, "newer"));
}

/* The snapshot digest (fleet drift's quick test) sums exactly what a diff
 * compares: a pid change keeps it, an executable change moves it. */
static int digest_row(void *ctx, int ncols, const char *const *cols)
{
	char (*d)[32] = ctx;
	assert_int_equal(ncols, 1);
	assert_non_null(cols[0]);
	snprintf(d[0], sizeof(d[0]), "%s", cols[0]);
	return 0;
}

static void test_digest(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(tpath("digest.db"));
	struct scenario sc[] = {
		{.ssh_pid = 100, .ssh_exe = "/usr/sbin/sshd"},
		{.ssh_pid = 200, .ssh_exe = "/usr/sbin/sshd"},
		{.ssh_pid = 200, .ssh_exe = "/opt/ssh/sshd"},
	};
	char digest[3][32];
	for (int i = 0; i < 3; i++) {
		struct pc_snapshot *s = scenario_snapshot(&sc[i]);
		int64_t id = store_ok(l, s, "host");
		pc_snapshot_free(s);
		char ids[24];
		snprintf(ids, sizeof(ids), "%lld", (long long)id);
		const char *const p[] = {ids};
		struct pc_error err = {0};
		assert_int_equal(l->ops->query(l, "SELECT digest FROM snapshot WHERE id = ?", p, 1,
					       digest_row, &digest[i], &err),
				 0);
	}
	assert_string_equal(digest[0], digest[1]);
	assert_string_not_equal(digest[1], digest[2]);
	assert_int_equal(strlen(digest[0]), 16);
	pc_ledger_close(l);
}

#ifdef PC_TEST_PG
/* Eight agents opening an empty database at once: the advisory lock lets
 * one create the schema, the others wait and find it made; each stores. */
static void test_pg_concurrent_migrate(void **state)
{
	(void)state;
	pg_reset();
	pid_t pids[8];
	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct pc_ledger *l = NULL;
			struct pc_error err = {0};
			if (pc_ledger_open(pg_url(), true, &l, &err) < 0) {
				fprintf(stderr, "agent %d: %s\n", i, err.msg);
				_exit(1);
			}
			struct pc_snapshot *s = scenario_snapshot(&(struct scenario){
				.ssh_pid = 100 + i, .ssh_exe = "/usr/sbin/sshd"});
			struct pc_ledger_meta meta = {.kind = "audit", .scope = "host"};
			int64_t id;
			int r = l->ops->store(l, s, &meta, &id, &err);
			if (r < 0)
				fprintf(stderr, "agent %d: %s\n", i, err.msg);
			pc_snapshot_free(s);
			pc_ledger_close(l);
			_exit(r < 0 ? 1 : 0);
		}
	}
	for (int i = 0; i < 8; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct pc_ledger *l = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_ledger_open(pg_url(), false, &l, &err), 0);
	int64_t seen[16] = {0};
	assert_int_equal(l->ops->list(l, 0, count_row, seen, &err), 0);
	assert_int_equal(seen[0], 8);
	pc_ledger_close(l);
}

/* The same tables and columns, in the same order, on both engines. */
static void test_pg_schema_parity(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(NULL);
	pc_ledger_close(l);
	struct pc_error err = {0};
	assert_int_equal(pc_ledger_open(tpath("parity.db"), true, &l, &err), 0);
	pc_ledger_close(l);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(tpath("parity.db"), &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT m.name, p.name FROM sqlite_master m,"
					    " pragma_table_info(m.name) p WHERE m.type = 'table'"
					    " ORDER BY m.name, p.cid",
					    -1, &st, NULL),
			 SQLITE_OK);
	char *lite = NULL, *pg = NULL;
	size_t ll = 0, pl = 0;
	FILE *f = open_memstream(&lite, &ll);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(f, "%s.%s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
	fclose(f);
	sqlite3_finalize(st);
	sqlite3_close(db);
	PGconn *c = PQconnectdb(pg_url());
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *r = PQexec(c, "SELECT table_name, column_name FROM information_schema.columns"
				" WHERE table_schema = 'public' AND table_name <> 'schema_version'"
				" ORDER BY table_name, ordinal_position");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	f = open_memstream(&pg, &pl);
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(f, "%s.%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	fclose(f);
	PQclear(r);
	PQfinish(c);
	assert_true(ll > 1000);
	assert_string_equal(pg, lite);
	free(lite);
	free(pg);
}

/* A database with tables of its own and no schema version is not ours. */
/* A row the server refuses in the middle of a pipelined store (a trigger
 * here; a full disk or a constraint in life): the store fails with the
 * server's message, nothing of the snapshot is kept, and the connection
 * is usable for the next store. 600 endpoints with an owner each: the
 * refused row is statement 1,101, in the fifth batch of 256. */
static void test_pg_pipeline_error(void **state)
{
	(void)state;
	struct pc_ledger *l = open_ok(NULL);
	pg_exec("CREATE FUNCTION pc_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
		" BEGIN IF NEW.port = 7550 THEN RAISE EXCEPTION 'refused by the test'; END IF;"
		" RETURN NEW; END $$");
	pg_exec("CREATE TRIGGER pc_test_refuse BEFORE INSERT ON endpoint"
		" FOR EACH ROW EXECUTE FUNCTION pc_test_refuse()");
	struct pc_snapshot *s = pc_snapshot_new("portcensus audit");
	s->host = "lab-host";
	for (int i = 0; i < 600; i++)
		add_listener(s, NULL, "198.18.0.9", (uint16_t)(7000 + i), 10, "/bin/x", NULL);
	struct pc_error err = {0};
	struct pc_ledger_meta meta = {.kind = "audit", .scope = "host"};
	int64_t id = 0;
	assert_true(l->ops->store(l, s, &meta, &id, &err) < 0);
	assert_non_null(strstr(err.msg, "refused by the test"));
	int64_t seen[16] = {0};
	assert_int_equal(l->ops->list(l, 0, count_row, seen, &err), 0);
	assert_int_equal(seen[0], 0);
	pg_exec("DROP TRIGGER pc_test_refuse ON endpoint");
	id = store_ok(l, s, "host");
	struct pc_snapshot *back = NULL;
	assert_int_equal(l->ops->load(l, id, &back, NULL, &err), 0);
	assert_int_equal(back->n_endpoints, 600);
	pc_snapshot_free(back);
	pc_snapshot_free(s);
	pc_ledger_close(l);
}

static void test_pg_foreign(void **state)
{
	(void)state;
	pg_reset();
	pg_exec("CREATE TABLE accounts (id INTEGER)");
	struct pc_ledger *l = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_ledger_open(pg_url(), true, &l, &err), PC_EIO);
	assert_non_null(strstr(err.msg, "not a portcensus ledger"));
	/* and an unreachable server is told apart from every other error */
	assert_int_equal(pc_ledger_open("postgresql:///none?host=/nonexistent-pc-test", true, &l,
					&err),
			 -ECONNREFUSED);
}

int main(void)
{
	if (!pg_url()) {
		const char *ci = getenv("CI");
		fprintf(stderr, "PC_TEST_PG_URL is not set (tests/e2e/fleet_pg.sh sets it)\n");
		return ci && strcmp(ci, "true") == 0 ? 1 : 77;
	}
	/* SQLite only: the file rules, the fixtures of earlier versions, and
	 * the selector parsers (no engine below them) */
	(void)test_parse;
	(void)test_file_safety;
	(void)test_migrations;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_exposure_join),
		cmocka_unit_test(test_exposure_agents),
		cmocka_unit_test(test_golden_diff),
		cmocka_unit_test(test_diff_risk_policy),
		cmocka_unit_test(test_duplicate_identity),
		cmocka_unit_test(test_history_retention),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_pg_schema_parity),
		cmocka_unit_test(test_pg_concurrent_migrate),
		cmocka_unit_test(test_pg_pipeline_error),
		cmocka_unit_test(test_pg_foreign),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
#else
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_exposure_join),
		cmocka_unit_test(test_exposure_agents),
		cmocka_unit_test(test_golden_diff),
		cmocka_unit_test(test_diff_risk_policy),
		cmocka_unit_test(test_duplicate_identity),
		cmocka_unit_test(test_history_retention),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_file_safety),
		cmocka_unit_test(test_migrations),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
#endif
