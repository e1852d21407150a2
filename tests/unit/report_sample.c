/*
 * report_sample.c - see report_sample.h. Times and the host are fixed so
 * the rendered documents are byte-for-byte the same on every machine.
 */
#include "report_sample.h"

#include "inventory/conntrack.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

struct sample_owner {
	int pid;
	const char *comm, *user, *unit, *runtime, *container, *image;
};

static const char *hostile_or(bool hostile, const char *s)
{
	return hostile ? PC_TEST_HOSTILE : s;
}

static struct pc_endpoint *add(struct pc_snapshot *s, enum pc_source src, enum pc_proto proto,
                               const char *addr, uint16_t port, enum pc_state state, const char *ns,
                               uint64_t inode, const struct sample_owner *o)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = src;
	e->proto = proto;
	pc_addr_parse(addr, &e->addr);
	e->port = port;
	e->state = state;
	e->bind = src == PC_SOURCE_HOST ? pc_bind_of(&e->addr) : PC_BIND_UNKNOWN;
	e->netns.name = ns ? pc_snapshot_strdup(s, ns) : NULL;
	e->netns.inode = inode;
	if (o) {
		e->owners = pc_snapshot_owners(s, 1);
		e->n_owners = 1;
		e->owners[0].pid = o->pid;
		e->owners[0].comm = pc_snapshot_strdup(s, o->comm);
		e->owners[0].user = o->user;
		e->owners[0].uid = o->user && strcmp(o->user, "root") == 0 ? 0 : 1000;
		e->owners[0].unit = o->unit;
		e->owners[0].container.runtime = o->runtime;
		e->owners[0].container.name =
		    o->container ? pc_snapshot_strdup(s, o->container) : NULL;
		e->owners[0].container.id =
		    o->container ? "3f2a9c1d7e4b5a6c8d9e0f1a2b3c4d5e" : NULL;
		e->owners[0].container.image = o->image ? pc_snapshot_strdup(s, o->image) : NULL;
	}
	return e;
}

static void service(struct pc_snapshot *s, struct pc_endpoint *e, const char *name,
                    const char *product, const char *version, enum pc_auth auth,
                    enum pc_tristate tls, const char *banner)
{
	struct pc_service *sv = pc_snapshot_service(s);
	sv->name = name;
	sv->product = product ? pc_snapshot_strdup(s, product) : NULL;
	sv->version = version;
	sv->auth = auth;
	sv->tls = tls;
	sv->banner = banner ? pc_snapshot_strdup(s, banner) : NULL;
	e->service = sv;
}

static void risk(struct pc_snapshot *s, struct pc_endpoint *e, enum pc_severity sev, double score,
                 const char *category, const char **reasons, size_t n, const char *fix)
{
	struct pc_risk *r = pc_arena_alloc(&s->arena, sizeof(*r));
	memset(r, 0, sizeof(*r));
	r->severity = sev;
	r->score = score;
	r->category = category;
	r->reasons = reasons;
	r->n_reasons = n;
	r->remediation = fix;
	e->risk = r;
}

static void verdict(struct pc_snapshot *s, struct pc_endpoint *e, enum pc_verdict v,
                    const char *rule, const char **reasons, size_t n, const char *owner,
                    const char *doc)
{
	struct pc_policy_verdict *p = pc_arena_alloc(&s->arena, sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->verdict = v;
	p->rule = rule;
	p->reasons = reasons;
	p->n_reasons = n;
	p->owner = owner;
	p->doc = doc;
	e->policy = p;
}

static const char *redis_why[] = {
    "Redis answers PING without authentication.",
    "Bound to every interface (0.0.0.0), so reachable beyond this host.",
};
static const char *redis_broken[] = {
    "bound to any, policy says loopback",
    "no authentication, policy requires it",
};
static const char *pg_why[] = {"Bound to loopback only.", "Authentication is required."};
static const char *pg_ok[] = {"matches rule db-postgres"};
static const char *web_why[] = {"HTTP without TLS on every interface."};
static const char *web_undoc[] = {"no rule of the policy matches this listener"};
static const char *ssh_why[] = {"SSH offers password authentication."};
static const char *es_why[] = {
    "Elasticsearch answers without authentication, seen from the network."};
static const char *es_broken[] = {"reachable from segment ops, policy allows app only"};
static const char *hostile_list[] = {PC_TEST_HOSTILE};

struct pc_snapshot *pc_test_report_sample(bool hostile)
{
	struct pc_snapshot *s = pc_snapshot_new("portcensus audit --policy ports.yaml");
	if (!s)
		return NULL;
	s->host = hostile ? PC_TEST_HOSTILE : "db01";
	s->started_at_ms = 1796000000123;
	s->finished_at_ms = 1796000002456;
	const char **why = hostile ? hostile_list : NULL;

	const struct sample_owner redis = {
	    812, hostile_or(hostile, "redis-server"), "redis", "redis-server.service", NULL, NULL};
	struct pc_endpoint *e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "0.0.0.0", 6379,
	                            PC_STATE_LISTEN, "app", 4026532001u, &redis);
	service(s, e, "redis", hostile_or(hostile, "Redis"), "7.0.15", PC_AUTH_NONE, PC_TRI_FALSE,
	        hostile_or(hostile, "+PONG"));
	risk(s, e, PC_SEV_CRITICAL, 9.5, "cache", why ? why : redis_why, why ? 1 : 2,
	     "Set requirepass in redis.conf and bind 127.0.0.1.");
	verdict(s, e, PC_VERDICT_VIOLATION, hostile_or(hostile, "cache-redis"),
	        why ? why : redis_broken, why ? 1 : 2, "team-cache",
	        "https://wiki.example.internal/ports/redis");

	const struct sample_owner pg = {901,  "postgres", "postgres", "postgresql@15-main.service",
	                                NULL, NULL};
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "127.0.0.1", 5432, PC_STATE_LISTEN, "app",
	        4026532001u, &pg);
	service(s, e, "postgresql", "PostgreSQL", NULL, PC_AUTH_REQUIRED, PC_TRI_TRUE, NULL);
	risk(s, e, PC_SEV_LOW, 2.0, "database", pg_why, 2, NULL);
	verdict(s, e, PC_VERDICT_ALLOWED, "db-postgres", pg_ok, 1, "team-db",
	        "https://wiki.example.internal/ports/postgres");

	const struct sample_owner web = {1200, "nginx",  "root",
	                                 NULL, "docker", hostile_or(hostile, "web-frontend"),
	                                 hostile_or(hostile, "registry.lab/acme/web:2.4")};
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "::", 8080, PC_STATE_LISTEN, "app", 4026532001u,
	        &web);
	service(s, e, "http", "nginx", "1.22.1", PC_AUTH_UNKNOWN, PC_TRI_FALSE, NULL);
	risk(s, e, PC_SEV_MEDIUM, 5.0, "web", web_why, 1, "Put TLS in front.");
	verdict(s, e, PC_VERDICT_UNDOCUMENTED, NULL, web_undoc, 1, NULL, NULL);

	const struct sample_owner avahi = {
	    640, "avahi-daemon", "avahi", "avahi-daemon.service", NULL, NULL};
	add(s, PC_SOURCE_HOST, PC_PROTO_UDP, "0.0.0.0", 5353, PC_STATE_LISTEN, "app", 4026532001u,
	    &avahi); /* neither classified nor judged */

	const struct sample_owner sshd = {555, "sshd", "root", "ssh.service", NULL, NULL};
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "198.18.0.10", 22, PC_STATE_LISTEN, "edge",
	        4026532002u, &sshd);
	service(s, e, "ssh", "OpenSSH", "9.2p1", PC_AUTH_REQUIRED, PC_TRI_TRUE, NULL);
	risk(s, e, PC_SEV_HIGH, 7.0, "remote administration", ssh_why, 1,
	     "Set PasswordAuthentication no in sshd_config.");
	verdict(s, e, PC_VERDICT_ALLOWED, "ssh-admin", NULL, 0, "team-ops", "docs/ssh.md");

	e = add(s, PC_SOURCE_SCAN, PC_PROTO_TCP, "198.18.5.7", 9200, PC_STATE_OPEN, NULL, 0, NULL);
	e->hostname = hostile_or(hostile, "search.lab");
	service(s, e, "elasticsearch", "Elasticsearch", "8.11.1", PC_AUTH_NONE, PC_TRI_FALSE, NULL);
	risk(s, e, PC_SEV_CRITICAL, 9.0, "database", es_why, 1, NULL);
	verdict(s, e, PC_VERDICT_VIOLATION, "search", es_broken, 1, "team-search",
	        "javascript:alert(1)");
	/* a closed port from scan --show closed: not a listener, not listed */
	add(s, PC_SOURCE_SCAN, PC_PROTO_TCP, "198.18.5.7", 9300, PC_STATE_CLOSED, NULL, 0, NULL);

	/* connections: php-fpm -> redis (both halves), two remote ssh clients */
	const struct sample_owner php = {
	    1300, hostile_or(hostile, "php-fpm"), "www-data", NULL, NULL, NULL};
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "127.0.0.1", 41000, PC_STATE_ESTABLISHED, "app",
	        4026532001u, &php);
	e->has_peer = true;
	pc_addr_parse("127.0.0.1", &e->peer_addr);
	e->peer_port = 6379;
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "127.0.0.1", 6379, PC_STATE_ESTABLISHED, "app",
	        4026532001u, &redis);
	e->has_peer = true;
	pc_addr_parse("127.0.0.1", &e->peer_addr);
	e->peer_port = 41000;
	for (uint16_t p = 50000; p < 50002; p++) {
		e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "198.18.0.10", 22, PC_STATE_ESTABLISHED,
		        "edge", 4026532002u, &sshd);
		e->has_peer = true;
		pc_addr_parse("198.18.0.50", &e->peer_addr);
		e->peer_port = p;
	}

	/* one connection through NAT (masqueraded): the client php-fpm dials
	 * gw's 198.18.60.1:8080, httpd in "web" sees gw's 198.18.61.1; gw's
	 * conntrack entry joins the halves into one edge with a via (its
	 * namespace name is the hostile string in the hostile sample) */
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "198.18.60.2", 40100, PC_STATE_ESTABLISHED, "app",
	        4026532001u, &php);
	e->has_peer = true;
	pc_addr_parse("198.18.60.1", &e->peer_addr);
	e->peer_port = 8080;
	const struct sample_owner httpd = {1400, "httpd", "www-data", NULL, NULL, NULL};
	e = add(s, PC_SOURCE_HOST, PC_PROTO_TCP, "198.18.61.2", 80, PC_STATE_ESTABLISHED, "web",
	        4026532003u, &httpd);
	e->has_peer = true;
	pc_addr_parse("198.18.61.1", &e->peer_addr);
	e->peer_port = 40100;
	struct pc_ct_entry ct = {.l3family = AF_INET, .l4proto = IPPROTO_TCP};
	pc_addr_parse("198.18.60.2", &ct.orig_src);
	pc_addr_parse("198.18.60.1", &ct.orig_dst);
	pc_addr_parse("198.18.61.2", &ct.reply_src);
	pc_addr_parse("198.18.61.1", &ct.reply_dst);
	ct.orig_sport = ct.reply_dport = 40100;
	ct.orig_dport = 8080;
	ct.reply_sport = 80;
	const struct pc_netns gw = {4026532004u, pc_snapshot_strdup(s, hostile_or(hostile, "gw"))};
	pc_conntrack_add(s, &gw, &ct);

	pc_snapshot_add_finding(s, "stale_rule", PC_SEV_MEDIUM, hostile_or(hostile, "legacy-ftp"),
	                        hostile_or(hostile, "rule legacy-ftp matched no listener: its "
	                                            "documentation is stale"));
	pc_snapshot_add_finding(
	    s, "review_due", PC_SEV_LOW, "ssh-admin",
	    "rule ssh-admin was last reviewed 2025-01-10, more than 180 days ago");
	pc_snapshot_warn(s, "%s",
	                 hostile_or(hostile, "cannot read /proc/77/fd: permission denied"));
	return s;
}
