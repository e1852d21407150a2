/*
 * test_classify.c - the classify stage and its knowledge base: the
 * reference cases of issue 8 (unauthenticated Redis, memcached, etcd, the
 * Docker API, kubelet, Elasticsearch, MongoDB, PostgreSQL trust, X11 and
 * VNC are critical beyond loopback, lower on loopback, lower with
 * authentication), every context rule with its reason text, the floors,
 * the KB loader's errors with their line and column, the output fields,
 * and a timing of 50,000 endpoints (printed, bounded loosely).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "classify/classify.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pc_kb *kb;

static int setup(void **state)
{
	(void)state;
	struct pc_error err = {0};
	if (pc_kb_builtin(&kb, &err) < 0) {
		fprintf(stderr, "built-in kb: %s:%d:%d: %s\n", err.file, err.line, err.col,
			err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pc_kb_free(kb);
	return 0;
}

/* One listener in snap: addr:port, bind derived from the address; service
 * name (or NULL for none), auth and evidence. */
static struct pc_endpoint *listener(struct pc_snapshot *s, const char *addr, uint16_t port,
				    const char *name, enum pc_auth auth, const char *evidence)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	assert_non_null(e);
	assert_int_equal(pc_addr_parse(addr, &e->addr), 0);
	e->port = port;
	e->state = PC_STATE_LISTEN;
	e->bind = pc_bind_of(&e->addr);
	if (name) {
		e->service = pc_snapshot_service(s);
		e->service->name = pc_snapshot_strdup(s, name);
		e->service->auth = auth;
		e->service->tls = PC_TRI_FALSE;
		e->service->evidence = evidence ? pc_snapshot_strdup(s, evidence) : NULL;
	}
	return e;
}

static void run(struct pc_snapshot *s)
{
	struct pc_error err = {0};
	struct pc_classify_opts o = {.now_ms = 1796083200000LL}; /* 2026-12-01T00:00:00Z */
	assert_int_equal(pc_classify_run(s, kb, &o, &err), 0);
}

static const char *find_reason(const struct pc_risk *r, const char *needle)
{
	for (size_t i = 0; i < r->n_reasons; i++)
		if (strstr(r->reasons[i], needle))
			return r->reasons[i];
	return NULL;
}

static void has_reason(const struct pc_endpoint *e, const char *needle)
{
	assert_non_null(e->risk);
	if (!find_reason(e->risk, needle)) {
		fprintf(stderr, "no reason containing '%s' in:\n", needle);
		for (size_t i = 0; i < e->risk->n_reasons; i++)
			fprintf(stderr, "  %s\n", e->risk->reasons[i]);
		fail();
	}
}

static void lacks_reason(const struct pc_endpoint *e, const char *needle)
{
	assert_non_null(e->risk);
	assert_null(find_reason(e->risk, needle));
}

/* A rule fired on `with` and not on `without`, which differ only in what
 * the rule looks at: its reason is there, and it moved the score by
 * exactly its weight. */
static void rule_fired(const struct pc_endpoint *with, const struct pc_endpoint *without,
		       const char *reason, const char *absent, double weight)
{
	has_reason(with, reason);
	lacks_reason(without, absent);
	assert_true(with->risk->score == without->risk->score + weight);
}

/* --- reference cases ----------------------------------------------------- */

static const struct {
	const char *name;
	uint16_t port;
	const char *none_evidence;
	const char *required_evidence;
} refs[] = {
	{"redis", 6379, "INFO answered without AUTH", "-NOAUTH Authentication required."},
	{"memcached", 11211, "VERSION answered (the text protocol has no authentication)",
	 "SASL required"},
	{"etcd", 2379, "POST /v3/kv/range answered with a header",
	 "POST /v3/kv/range: user name is empty"},
	{"docker", 2375, "/version answered", "client certificate required"},
	{"kubelet", 10250, "/pods returned a PodList", "/pods answered 401 Unauthorized"},
	{"elasticsearch", 9200, "/ answered", "401 security_exception"},
	{"mongodb", 27017, "listDatabases answered ok: 1", "code 13: requires authentication"},
	{"postgresql", 5432, "StartupMessage user=postgres accepted without a password "
			     "(AuthenticationOk)",
	 "server asked for SASL (SCRAM-SHA-256) for user postgres"},
	{"x11", 6000, "X11 setup Success without authorisation",
	 "Failed: No protocol specified"},
	{"vnc", 5900, "security type 1 (None) offered", "only VNC authentication offered"},
};

static void test_reference_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		struct pc_snapshot *s = pc_snapshot_new("test");
		struct pc_endpoint *any =
			listener(s, "0.0.0.0", refs[i].port, refs[i].name, PC_AUTH_NONE,
				 refs[i].none_evidence);
		listener(s, "198.18.1.1", refs[i].port, refs[i].name, PC_AUTH_NONE,
			 refs[i].none_evidence);
		listener(s, "127.0.0.1", refs[i].port, refs[i].name, PC_AUTH_NONE,
			 refs[i].none_evidence);
		listener(s, "0.0.0.0", refs[i].port, refs[i].name, PC_AUTH_REQUIRED,
			 refs[i].required_evidence);
		(void)any;
		run(s);
		struct pc_endpoint *e = s->endpoints;
		char want[400];
		fprintf(stderr, "%-14s any %s %.1f, one address %s %.1f, loopback %s %.1f, auth %s "
				"%.1f\n",
			refs[i].name, pc_severity_name(e[0].risk->severity), e[0].risk->score,
			pc_severity_name(e[1].risk->severity), e[1].risk->score,
			pc_severity_name(e[2].risk->severity), e[2].risk->score,
			pc_severity_name(e[3].risk->severity), e[3].risk->score);
		/* unauthenticated, beyond loopback: critical, with its reasons */
		assert_int_equal(e[0].risk->severity, PC_SEV_CRITICAL);
		assert_int_equal(e[1].risk->severity, PC_SEV_CRITICAL);
		snprintf(want, sizeof(want), "answers without authentication: %s",
			 refs[i].none_evidence);
		has_reason(&e[0], want);
		snprintf(want, sizeof(want),
			 "bound to every interface (0.0.0.0:%u): reachable from every network "
			 "this host is on",
			 refs[i].port);
		has_reason(&e[0], want);
		snprintf(want, sizeof(want),
			 "bound to one address (198.18.1.1:%u): reachable from the networks that "
			 "address is on",
			 refs[i].port);
		has_reason(&e[1], want);
		/* loopback only: lower */
		assert_true(e[2].risk->severity < PC_SEV_CRITICAL);
		assert_true(e[2].risk->score < e[0].risk->score);
		snprintf(want, sizeof(want),
			 "bound to loopback only (127.0.0.1:%u): only processes on this host can "
			 "connect",
			 refs[i].port);
		has_reason(&e[2], want);
		/* authentication required: lower */
		assert_true(e[3].risk->severity < PC_SEV_CRITICAL);
		assert_true(e[3].risk->score < e[0].risk->score);
		snprintf(want, sizeof(want), "requires authentication: %s",
			 refs[i].required_evidence);
		has_reason(&e[3], want);
		lacks_reason(&e[3], "without authentication");
		/* the knowledge base's sentence and remediation are there */
		const struct pc_kb_service *k = pc_kb_find(kb, refs[i].name);
		assert_non_null(k);
		has_reason(&e[0], k->why);
		assert_string_equal(e[0].risk->remediation, k->remediation);
		assert_string_equal(e[0].risk->category, k->category);
		pc_snapshot_free(s);
	}
}

/* The remediations name the exact settings the issue asks for. */
static void test_remediation_settings(void **state)
{
	(void)state;
	static const struct {
		const char *name, *setting;
	} want[] = {
		{"redis", "requirepass"},	  {"redis", "protected-mode yes"},
		{"memcached", "-l 127.0.0.1"},	  {"memcached", "SASL"},
		{"etcd", "--client-cert-auth"},	  {"postgresql", "scram-sha-256"},
		{"mongodb", "security.authorization"}, {"ssh", "PasswordAuthentication no"},
		{"docker", "--tlsverify"},	  {"kubelet", "--anonymous-auth=false"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct pc_kb_service *k = pc_kb_find(kb, want[i].name);
		assert_non_null(k);
		assert_non_null(strstr(k->remediation, want[i].setting));
	}
}

/* Every name the probes write (docs/probes.md, "Names") has an entry. */
static void test_kb_covers_probe_names(void **state)
{
	(void)state;
	static const char *const names[] = {
		"ssh",	      "http",	    "http-admin",    "docker",	   "kubernetes",
		"kubelet",    "etcd",	    "consul",	     "elasticsearch", "opensearch",
		"prometheus", "prometheus-metrics", "go-pprof", "spring-actuator", "tls",
		"redis",      "memcached",  "postgresql",    "mysql",	   "mongodb",
		"mqtt",	      "amqp",	    "zookeeper",     "smtp",	   "ftp",
		"pop3",	      "imap",	    "ldap",	     "dns",	   "snmp",
		"vnc",	      "rpcbind",    "smb",	     "rdp",	   "kafka",
		"cassandra",  "x11",	    "influxdb",	     "couchdb",	   "rabbitmq-management",
		"jenkins",    "kibana",	    "minio",	     "unknown",	   "telnet",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct pc_kb_service *k = pc_kb_find(kb, names[i]);
		if (!k)
			fprintf(stderr, "no kb entry for %s\n", names[i]);
		assert_non_null(k);
		assert_non_null(k->why);
		assert_non_null(k->remediation);
	}
}

/* --- each rule ------------------------------------------------------------ */

static void test_bind_scope(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "0.0.0.0", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
	listener(s, "198.18.1.1", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
	listener(s, "127.0.0.1", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
	listener(s, "::", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
	run(s);
	struct pc_endpoint *e = s->endpoints;
	/* base high 7, auth required -2, then the bind weight */
	assert_true(e[0].risk->score == 6.0);
	assert_true(e[1].risk->score == 5.5);
	assert_true(e[2].risk->score == 1.0);
	assert_int_equal(e[2].risk->severity, PC_SEV_INFO);
	has_reason(&e[3], "bound to every interface ([::]:6379): reachable from every network "
			  "this host is on");
	pc_snapshot_free(s);
}

static void test_beyond_host(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	/* a scan record, an import confirmed live, a host listener the scan in
	 * the same snapshot reached, one it did not, and a loopback one */
	struct pc_endpoint *e = listener(s, "198.18.1.2", 6379, "redis", PC_AUTH_REQUIRED, "x");
	e->source = PC_SOURCE_SCAN;
	e->state = PC_STATE_OPEN;
	e->bind = PC_BIND_UNKNOWN;
	e = listener(s, "198.18.1.3", 80, "http", PC_AUTH_REQUIRED, "x");
	e->source = PC_SOURCE_IMPORT;
	e->state = PC_STATE_OPEN;
	e->bind = PC_BIND_UNKNOWN;
	e->recheck = PC_RECHECK_CONFIRMED;
	listener(s, "198.18.1.2", 6379, "redis", PC_AUTH_REQUIRED, "x");
	listener(s, "198.18.1.2", 6380, "redis", PC_AUTH_REQUIRED, "x");
	e = pc_snapshot_add_endpoint(s); /* a closed scan record sees nothing */
	pc_addr_parse("198.18.1.2", &e->addr);
	e->port = 6380;
	e->source = PC_SOURCE_SCAN;
	e->state = PC_STATE_CLOSED;
	run(s);
	e = s->endpoints;
	has_reason(&e[0], "reachable beyond this host: a network scan found 198.18.1.2:6379/tcp "
			  "open");
	has_reason(&e[1], "reachable beyond this host: imported scan results list "
			  "198.18.1.3:80/tcp open, confirmed by a live re-check");
	has_reason(&e[2], "reachable beyond this host: a network scan in this snapshot found "
			  "198.18.1.2:6379/tcp open");
	lacks_reason(&e[3], "reachable beyond this host");
	assert_true(e[2].risk->score == e[3].risk->score + 1.0);
	assert_null(e[4].risk);
	/* one endpoint at a time gives the same */
	struct pc_error err = {0};
	struct pc_classify_opts o = {.now_ms = 1796083200000LL};
	double before = e[2].risk->score;
	assert_int_equal(pc_classify_endpoint(s, kb, &e[2], &o, &err), 0);
	assert_true(e[2].risk->score == before);
	has_reason(&e[2], "a network scan in this snapshot found");
	pc_snapshot_free(s);
}

/* The ledger's sweeps as evidence (audit --ledger): seen open from a
 * segment adds the weight and names the sweep; shut from every segment
 * that scanned it takes half a point off; no evidence, no change. */
static void test_sweep_evidence(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "0.0.0.0", 8080, "http", PC_AUTH_REQUIRED, "x");
	listener(s, "0.0.0.0", 8081, "http", PC_AUTH_REQUIRED, "x");
	listener(s, "0.0.0.0", 8082, "http", PC_AUTH_REQUIRED, "x");
	struct pc_exposure_evidence ev[3] = {
		{.port = 8080, .segment = "seg-b", .sweep = "s2", .seen = PC_STATE_FILTERED},
		{.port = 8080, .segment = "seg-a", .sweep = "s1", .seen = PC_STATE_OPEN},
		{.port = 8081, .segment = "seg-b", .sweep = "s2", .seen = PC_STATE_CLOSED},
	};
	for (int i = 0; i < 3; i++) {
		ev[i].proto = PC_PROTO_TCP;
		pc_addr_parse("0.0.0.0", &ev[i].bound);
		pc_addr_parse("198.18.1.2", &ev[i].addr);
	}
	struct pc_error err = {0};
	struct pc_classify_opts o = {.now_ms = 1796083200000LL, .evidence = ev, .n_evidence = 3};
	assert_int_equal(pc_classify_run(s, kb, &o, &err), 0);
	const struct pc_endpoint *e = s->endpoints;
	has_reason(&e[0], "reachable beyond this host: sweep s1 from segment seg-a found "
			  "198.18.1.2:8080 open");
	has_reason(&e[1], "not reached from the segments that scanned it: seg-b (sweep s2) "
			  "found");
	lacks_reason(&e[2], "sweep");
	assert_true(e[0].risk->score == e[2].risk->score + 1.0);
	assert_true(e[1].risk->score == e[2].risk->score - 0.5);
	pc_snapshot_free(s);
}

static void test_auth(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "198.18.1.1", 445, "smb", PC_AUTH_UNKNOWN,
		 "SMB 3.1.1, signing required; no session set up");
	listener(s, "198.18.1.1", 445, "smb", PC_AUTH_REQUIRED, "hypothetical");
	listener(s, "198.18.1.1", 9092, "kafka", PC_AUTH_UNKNOWN, "ApiVersions: 60 APIs");
	listener(s, "198.18.1.1", 9092, "kafka", PC_AUTH_NONE, "hypothetical");
	struct pc_endpoint *e = listener(s, "198.18.1.1", 9999, NULL, PC_AUTH_UNKNOWN, NULL);
	(void)e;
	run(s);
	e = s->endpoints;
	has_reason(&e[0], "authentication unknown (SMB 3.1.1, signing required; no session set "
			  "up): treated as unknown, not as safe");
	/* unknown is never scored as safe: above the authenticated case, below none */
	assert_true(e[0].risk->score > e[1].risk->score);
	assert_true(e[0].risk->severity >= e[1].risk->severity);
	has_reason(&e[2], "authentication unknown (ApiVersions: 60 APIs)");
	assert_true(e[2].risk->score < e[3].risk->score);
	has_reason(&e[3], "answers without authentication: hypothetical");
	has_reason(&e[4], "authentication unknown (not probed): treated as unknown, not as safe");
	pc_snapshot_free(s);

	/* evidence is cut at 200 bytes, never inside a UTF-8 character */
	char ev[260];
	memset(ev, 'a', 199);
	memcpy(ev + 199, "\xc3\xa9 and more", 12);
	s = pc_snapshot_new("test");
	listener(s, "198.18.1.1", 6379, "redis", PC_AUTH_NONE, ev);
	run(s);
	const char *r = find_reason(s->endpoints[0].risk, "answers without authentication: ");
	assert_non_null(r);
	assert_int_equal(strlen(r), strlen("answers without authentication: ") + 199);
	pc_snapshot_free(s);
}

static void test_plaintext(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "198.18.1.1", 21, "ftp", PC_AUTH_REQUIRED, "530 Login incorrect");
	struct pc_endpoint *e = listener(s, "198.18.1.1", 990, "ftp", PC_AUTH_REQUIRED, "530");
	e->service->tls = PC_TRI_TRUE;
	listener(s, "198.18.1.1", 80, "http", PC_AUTH_REQUIRED,
		 "GET / answered 401: WWW-Authenticate Basic realm=\"lab\"");
	e = listener(s, "198.18.1.1", 443, "http", PC_AUTH_REQUIRED,
		     "GET / answered 401: WWW-Authenticate Basic realm=\"lab\"");
	e->service->tls = PC_TRI_TRUE;
	listener(s, "198.18.1.1", 5432, "postgresql", PC_AUTH_REQUIRED,
		 "server asked for a cleartext password for user postgres");
	listener(s, "198.18.1.1", 110, "pop3", PC_AUTH_REQUIRED, "CAPA: USER SASL PLAIN");
	listener(s, "198.18.1.1", 143, "imap", PC_AUTH_REQUIRED, "AUTH=PLAIN");
	listener(s, "198.18.1.1", 25, "smtp", PC_AUTH_UNKNOWN, "EHLO: PIPELINING AUTH PLAIN");
	listener(s, "198.18.1.1", 23, "telnet", PC_AUTH_UNKNOWN, "imported");
	listener(s, "198.18.1.1", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
	run(s);
	e = s->endpoints;
	rule_fired(&e[0], &e[1],
		   "credentials and data cross the network in clear text: ftp without TLS (530 "
		   "Login incorrect)",
		   "cross the network in clear text:", 1.0);
	has_reason(&e[2], "HTTP basic authentication without TLS (GET / answered 401: "
			  "WWW-Authenticate Basic realm=\"lab\"): passwords cross the network only "
			  "base64-encoded");
	lacks_reason(&e[3], "basic authentication");
	has_reason(&e[4], "PostgreSQL password authentication without TLS (server asked for a "
			  "cleartext password for user postgres)");
	has_reason(&e[5], "clear text: pop3 without TLS");
	has_reason(&e[6], "clear text: imap without TLS");
	has_reason(&e[7], "clear text: smtp without TLS");
	has_reason(&e[8], "clear text: telnet without TLS");
	assert_int_equal(e[8].risk->severity, PC_SEV_CRITICAL);
	lacks_reason(&e[9], "cross the network in clear text:");
	pc_snapshot_free(s);
}

static void test_root(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	for (int i = 0; i < 2; i++) {
		struct pc_endpoint *e =
			listener(s, "198.18.1.1", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
		e->owners = pc_snapshot_owners(s, 1);
		e->n_owners = 1;
		e->owners[0].pid = 812;
		e->owners[0].comm = "redis-server";
		e->owners[0].uid = i == 0 ? 0 : 112;
	}
	/* nginx: a root master, workers as www-data; the workers parse requests */
	struct pc_endpoint *e =
		listener(s, "198.18.1.1", 80, "http", PC_AUTH_REQUIRED, "GET / answered 401");
	e->owners = pc_snapshot_owners(s, 2);
	e->n_owners = 2;
	e->owners[0] = (struct pc_owner){.pid = 10, .comm = "nginx", .uid = 0};
	e->owners[1] = (struct pc_owner){.pid = 11, .comm = "nginx", .uid = 33};
	run(s);
	e = s->endpoints;
	rule_fired(&e[0], &e[1],
		   "runs as root (pid 812 redis-server, uid 0): a flaw in the service is a flaw in "
		   "the whole host",
		   "runs as root", 0.5);
	lacks_reason(&e[2], "runs as root");
	pc_snapshot_free(s);
}

static void test_secrets(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "127.0.0.1", 2375, "docker", PC_AUTH_NONE, "/version answered");
	listener(s, "127.0.0.1", 2375, "docker", PC_AUTH_REQUIRED, "TLS client certificate");
	listener(s, "198.18.1.1", 8500, "consul", PC_AUTH_NONE, "/v1/agent/self answered");
	listener(s, "198.18.1.1", 8080, "http", PC_AUTH_NONE,
		 "GET / answered 200 without credentials; also open: /metrics, /debug/pprof/");
	listener(s, "198.18.1.1", 8081, "http", PC_AUTH_NONE,
		 "GET / answered 200 without credentials; also open: /metrics");
	listener(s, "198.18.1.1", 8082, "spring-actuator", PC_AUTH_NONE, "/actuator answered");
	listener(s, "198.18.1.1", 2379, "etcd", PC_AUTH_NONE,
		 "POST /v3/kv/range answered with a header");
	run(s);
	struct pc_endpoint *e = s->endpoints;
	has_reason(&e[0], "exposes configuration, secrets or control without authentication: "
			  "docker (/version answered)");
	lacks_reason(&e[1], "exposes configuration, secrets");
	has_reason(&e[2], "exposes configuration, secrets or control without authentication: "
			  "consul");
	has_reason(&e[3], "exposes a debug or configuration endpoint without authentication "
			  "(also open: /metrics, /debug/pprof/)");
	lacks_reason(&e[4], "exposes a debug");
	has_reason(&e[5], "without authentication: spring-actuator");
	has_reason(&e[6], "without authentication: etcd (POST /v3/kv/range");
	pc_snapshot_free(s);
}

static void test_certificate(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	static const char *const not_after[] = {"2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z"};
	for (int i = 0; i < 2; i++) {
		struct pc_endpoint *e =
			listener(s, "198.18.1.1", 443, "http", PC_AUTH_REQUIRED, "401");
		e->service->tls = PC_TRI_TRUE;
		e->service->tls_info = pc_arena_alloc(&s->arena, sizeof(struct pc_tls_info));
		e->service->tls_info->subject = "CN=lab.example";
		e->service->tls_info->not_after = not_after[i];
		e->service->tls_info->self_signed = i == 0 ? PC_TRI_TRUE : PC_TRI_FALSE;
	}
	run(s);
	struct pc_endpoint *e = s->endpoints;
	has_reason(&e[0], "presents a self-signed certificate (subject CN=lab.example): clients "
			  "cannot tell it from an impostor without pinning it");
	has_reason(&e[0], "presents an expired certificate (not after 2025-01-01T00:00:00Z)");
	lacks_reason(&e[1], "self-signed");
	lacks_reason(&e[1], "expired");
	assert_true(e[0].risk->score == e[1].risk->score + 1.5);
	pc_snapshot_free(s);
}

static void test_ssh_password(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	static const char *with[] = {"publickey", "password"};
	static const char *without[] = {"publickey", "keyboard-interactive"};
	struct pc_endpoint *e = listener(s, "0.0.0.0", 22, "ssh", PC_AUTH_REQUIRED, "none refused");
	e->service->auth_methods = with;
	e->service->n_auth_methods = 2;
	e = listener(s, "0.0.0.0", 22, "ssh", PC_AUTH_REQUIRED, "none refused");
	e->service->auth_methods = without;
	e->service->n_auth_methods = 2;
	run(s);
	e = s->endpoints;
	rule_fired(&e[0], &e[1],
		   "SSH accepts password authentication (methods offered: publickey, password): "
		   "passwords can be guessed from the network, keys cannot",
		   "password authentication", 1.0);
	pc_snapshot_free(s);
}

static void test_unidentified(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "127.0.0.1", 9999, NULL, PC_AUTH_UNKNOWN, NULL);
	struct pc_endpoint *e = listener(s, "127.0.0.1", 9998, "unknown", PC_AUTH_UNKNOWN, NULL);
	e->service->banner = "\\x00\\x01";
	listener(s, "127.0.0.1", 9997, "gopher", PC_AUTH_UNKNOWN, "a future probe");
	listener(s, "0.0.0.0", 9996, NULL, PC_AUTH_UNKNOWN, NULL);
	run(s);
	e = s->endpoints;
	for (int i = 0; i < 3; i++) {
		/* medium 5, loopback -4: 1.0 would be info; the floor says low */
		assert_int_equal(e[i].risk->severity, PC_SEV_LOW);
		assert_true(e[i].risk->score == 2.0);
		has_reason(&e[i], "unidentified: what answers here is not known, so it is rated at "
				  "least low, never info");
		assert_string_equal(e[i].risk->category, "unknown");
	}
	has_reason(&e[0], "no service identified (no probe got an answer it recognised)");
	has_reason(&e[1], "unidentified service (first bytes: \\x00\\x01)");
	has_reason(&e[2], "service 'gopher' is not in the knowledge base");
	assert_int_equal(e[3].risk->severity, PC_SEV_MEDIUM);
	pc_snapshot_free(s);
}

static void test_low_risk_raised(void **state)
{
	(void)state;
	/* a knowledge base in which http is info: reachable without
	 * authentication, it must still come out medium, and say why */
	struct pc_kb *k2 = pc_kb_new();
	struct pc_error err = {0};
	static const char doc[] = "version: 1\n"
				  "services:\n"
				  "  http:\n"
				  "    category: web\n"
				  "    severity: info\n"
				  "    why: Just a web page.\n"
				  "    remediation: Nothing.\n";
	assert_int_equal(pc_kb_load_buffer(k2, "t.yaml", doc, strlen(doc), &err), 0);
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "198.18.1.1", 80, "http", PC_AUTH_NONE, "GET / answered 200");
	listener(s, "127.0.0.1", 80, "http", PC_AUTH_NONE, "GET / answered 200");
	listener(s, "198.18.1.1", 80, "http", PC_AUTH_REQUIRED, "GET / answered 401");
	assert_int_equal(pc_classify_run(s, k2, NULL, &err), 0);
	struct pc_endpoint *e = s->endpoints;
	assert_int_equal(e[0].risk->severity, PC_SEV_MEDIUM);
	has_reason(&e[0], "http is info by its kind, but it answers without authentication from "
			  "beyond this host: rated at least medium");
	assert_int_equal(e[1].risk->severity, PC_SEV_INFO);
	lacks_reason(&e[1], "by its kind");
	lacks_reason(&e[2], "by its kind");
	pc_snapshot_free(s);
	pc_kb_free(k2);

	/* the built-in kb: http (low) answering on every interface */
	s = pc_snapshot_new("test");
	listener(s, "0.0.0.0", 80, "http", PC_AUTH_NONE, "GET / answered 200 without credentials");
	run(s);
	assert_int_equal(s->endpoints[0].risk->severity, PC_SEV_MEDIUM);
	has_reason(&s->endpoints[0], "http is low by its kind, but it answers without "
				     "authentication from beyond this host");
	pc_snapshot_free(s);
}

static void test_policy_undocumented(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "198.18.1.1", 6379, "redis", PC_AUTH_REQUIRED, "-NOAUTH");
	run(s);
	struct pc_endpoint *e = &s->endpoints[0];
	double before = e->risk->score;
	lacks_reason(e, "not covered by the policy");
	/* the policy stage runs after us, then asks for a new score */
	struct pc_policy_verdict *v = pc_arena_alloc(&s->arena, sizeof(*v));
	v->verdict = PC_VERDICT_UNDOCUMENTED;
	e->policy = v;
	struct pc_error err = {0};
	assert_int_equal(pc_classify_endpoint(s, kb, e, NULL, &err), 0);
	has_reason(e, "not covered by the policy: no rule documents this listener, so nobody has "
		      "said it should exist");
	assert_true(e->risk->score == before + 1.0);
	v->verdict = PC_VERDICT_ALLOWED;
	run(s);
	lacks_reason(e, "not covered by the policy");
	pc_snapshot_free(s);
}

static void test_which_endpoints(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	static const enum pc_state states[] = {PC_STATE_LISTEN, PC_STATE_OPEN,
					       PC_STATE_ESTABLISHED, PC_STATE_CLOSED,
					       PC_STATE_FILTERED, PC_STATE_OPEN_FILTERED};
	for (size_t i = 0; i < 6; i++)
		listener(s, "198.18.1.1", 6379, "redis", PC_AUTH_NONE, "x")->state = states[i];
	run(s);
	assert_non_null(s->endpoints[0].risk);
	assert_non_null(s->endpoints[1].risk);
	for (size_t i = 2; i < 6; i++)
		assert_null(s->endpoints[i].risk);
	enum pc_severity worst = PC_SEV_INFO;
	assert_true(pc_classify_worst(s, &worst));
	assert_int_equal(worst, PC_SEV_CRITICAL);
	pc_snapshot_free(s);
	s = pc_snapshot_new("test");
	assert_false(pc_classify_worst(s, &worst));
	pc_snapshot_free(s);
}

static void test_thresholds(void **state)
{
	(void)state;
	assert_int_equal(pc_classify_severity_of(10), PC_SEV_CRITICAL);
	assert_int_equal(pc_classify_severity_of(9.0), PC_SEV_CRITICAL);
	assert_int_equal(pc_classify_severity_of(8.9), PC_SEV_HIGH);
	assert_int_equal(pc_classify_severity_of(7.0), PC_SEV_HIGH);
	assert_int_equal(pc_classify_severity_of(6.9), PC_SEV_MEDIUM);
	assert_int_equal(pc_classify_severity_of(4.0), PC_SEV_MEDIUM);
	assert_int_equal(pc_classify_severity_of(3.9), PC_SEV_LOW);
	assert_int_equal(pc_classify_severity_of(2.0), PC_SEV_LOW);
	assert_int_equal(pc_classify_severity_of(1.9), PC_SEV_INFO);
	assert_int_equal(pc_classify_severity_of(0), PC_SEV_INFO);
	/* the score is clamped to 0..10 */
	struct pc_snapshot *s = pc_snapshot_new("test");
	struct pc_endpoint *e =
		listener(s, "0.0.0.0", 2375, "docker", PC_AUTH_NONE, "/version answered");
	e->owners = pc_snapshot_owners(s, 1);
	e->n_owners = 1;
	e->owners[0].uid = 0;
	listener(s, "127.0.0.1", 80, "http", PC_AUTH_REQUIRED, "401");
	run(s);
	assert_true(s->endpoints[0].risk->score == 10.0);
	assert_true(s->endpoints[1].risk->score == 0.0);
	pc_snapshot_free(s);
}

/* --- knowledge-base loader ----------------------------------------------- */

static void kb_error(const char *doc, int line, int col, const char *msg)
{
	struct pc_kb *k = pc_kb_new();
	struct pc_error err = {0};
	int r = pc_kb_load_buffer(k, "bad.yaml", doc, strlen(doc), &err);
	if (r == 0 || err.line != line || err.col != col || !strstr(err.msg, msg))
		fprintf(stderr, "doc:\n%s\n-> r=%d %s:%d:%d: %s (want %d:%d '%s')\n", doc, r,
			err.file, err.line, err.col, err.msg, line, col, msg);
	assert_int_equal(r, PC_EPARSE);
	assert_string_equal(err.file, "bad.yaml");
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	assert_non_null(strstr(err.msg, msg));
	assert_int_equal(k->n, 0);
	pc_kb_free(k);
}

#define HEAD "version: 1\nservices:\n  redis:\n"
#define FULL                                                                                     \
	"    category: cache\n    severity: high\n    why: W.\n    remediation: R.\n"

static void test_kb_errors(void **state)
{
	(void)state;
	kb_error(HEAD FULL "    colour: red\n", 8, 5,
		 "unknown key 'colour' in service 'redis' (expected category, severity, why, "
		 "remediation, secrets or plaintext)");
	kb_error(HEAD "    category: cache\n    severity: severe\n", 5, 15,
		 "unknown severity 'severe' (expected critical, high, medium, low or info)");
	kb_error(HEAD "    category: kitchen\n", 4, 15, "unknown category 'kitchen'");
	kb_error(HEAD "    category: cache\n    severity: high\n    why: W.\n", 4, 5,
		 "service 'redis' has no 'remediation'");
	kb_error(HEAD FULL "    category: cache\n", 8, 5,
		 "key 'category' repeated in service 'redis'");
	kb_error(HEAD FULL "  redis:\n" FULL, 8, 3, "service 'redis' defined twice");
	kb_error("version: 2\nservices: {}\n", 1, 10, "unsupported version '2' (expected 1)");
	kb_error("services: {}\n", 1, 1, "no 'version'");
	kb_error("version: 1\n", 1, 1, "no 'services' mapping");
	kb_error("version: 1\nextra: 1\n", 2, 1, "unknown key 'extra' at the top level");
	kb_error("- a\n- b\n", 1, 1, "expected a mapping with version and services, found a list");
	kb_error("version: 1\nservices:\n  - redis\n", 3, 3,
		 "expected a mapping of service names, found a list");
	kb_error(HEAD "    category: [cache]\n", 4, 15, "expected a category, found a list");
	kb_error(HEAD FULL "    secrets: yes\n", 8, 14,
		 "expected true or false for 'secrets', not 'yes'");
	kb_error("version: 1\nservices:\n  Redis Server:\n" FULL, 3, 3,
		 "bad service name 'Redis Server'");
	kb_error("version: 1\nservices:\n  redis: 1\n", 3, 10,
		 "expected a mapping of category, severity, why and remediation for service "
		 "'redis', found a scalar");
	kb_error(HEAD "    category: cache\n    why: \"two\\nlines\"\n", 5, 10,
		 "expected a non-empty one-line sentence for 'why'");
	kb_error("version: 1\nservices: {\n", 3, 1, "did not find expected node content");
	kb_error(HEAD FULL "---\nversion: 1\n", 9, 1, "a second document");
	kb_error("version: 1\nservices: [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]\n", 2, 18,
		 "nested deeper than 8 levels");
}

/* libyaml 0.2 scans deep nesting in time quadratic in the depth: 1 MiB of
 * '[' must be refused at once, not after minutes. */
static void test_kb_deep_nesting_is_fast(void **state)
{
	(void)state;
	size_t half = PC_KB_MAX_BYTES / 2 - 16;
	char *doc = malloc(PC_KB_MAX_BYTES);
	int n = snprintf(doc, PC_KB_MAX_BYTES, "version: 1\nservices: ");
	memset(doc + n, '[', half);
	memset(doc + n + half, ']', half);
	size_t len = (size_t)n + 2 * half;
	struct pc_kb *k = pc_kb_new();
	struct pc_error err = {0};
	double t0 = pc_monotonic_ms();
	assert_int_equal(pc_kb_load_buffer(k, "deep.yaml", doc, len, &err), PC_EPARSE);
	double ms = pc_monotonic_ms() - t0;
	assert_non_null(strstr(err.msg, "nested deeper than 8 levels"));
	assert_true(ms < 1000);
	free(doc);
	pc_kb_free(k);
}

static void test_kb_override_and_limits(void **state)
{
	(void)state;
	struct pc_kb *k = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_kb_builtin(&k, &err), 0);
	size_t n = k->n;
	static const char doc[] = "version: 1\n"
				  "services:\n"
				  "  redis:\n"
				  "    category: database\n"
				  "    severity: critical\n"
				  "    why: Ours holds the payments.\n"
				  "    remediation: Call the payments team.\n"
				  "  payments-api:\n"
				  "    category: web\n"
				  "    severity: medium\n"
				  "    why: The payments API.\n"
				  "    remediation: Keep it behind the gateway.\n"
				  "    plaintext: true\n";
	assert_int_equal(pc_kb_load_buffer(k, "ours.yaml", doc, strlen(doc), &err), 0);
	assert_int_equal(k->n, n + 1);
	const struct pc_kb_service *r = pc_kb_find(k, "redis");
	assert_string_equal(r->category, "database");
	assert_int_equal(r->severity, PC_SEV_CRITICAL);
	assert_string_equal(r->why, "Ours holds the payments.");
	assert_false(r->secrets);
	assert_true(pc_kb_find(k, "payments-api")->plaintext);
	assert_non_null(pc_kb_find(k, "memcached"));
	/* a failed load leaves everything as it was */
	static const char bad[] = "version: 1\nservices:\n  memcached:\n    category: cache\n"
				  "    severity: low\n    why: W.\n    remediation: R.\n"
				  "  zz:\n    severity: nope\n";
	assert_int_equal(pc_kb_load_buffer(k, "bad.yaml", bad, strlen(bad), &err), PC_EPARSE);
	assert_int_equal(pc_kb_find(k, "memcached")->severity, PC_SEV_HIGH);
	assert_int_equal(k->n, n + 1);
	/* size caps */
	char *big = malloc(PC_KB_MAX_BYTES + 2);
	memset(big, '#', PC_KB_MAX_BYTES + 1);
	big[PC_KB_MAX_BYTES + 1] = '\0';
	assert_int_equal(pc_kb_load_buffer(k, "big.yaml", big, PC_KB_MAX_BYTES + 1, &err),
			 PC_ETOOBIG);
	free(big);
	char longwhy[PC_KB_MAX_TEXT + 200];
	int len = snprintf(longwhy, sizeof(longwhy),
			   "version: 1\nservices:\n  x:\n    category: web\n    severity: low\n"
			   "    remediation: R.\n    why: ");
	memset(longwhy + len, 'a', PC_KB_MAX_TEXT + 1);
	longwhy[len + PC_KB_MAX_TEXT + 1] = '\n';
	longwhy[len + PC_KB_MAX_TEXT + 2] = '\0';
	assert_int_equal(pc_kb_load_buffer(k, "long.yaml", longwhy, strlen(longwhy), &err),
			 PC_EPARSE);
	assert_non_null(strstr(err.msg, "at most 2048 bytes"));
	/* a file that does not exist is an input error naming it */
	assert_int_equal(pc_kb_load_file(k, "/nonexistent/kb.yaml", &err), PC_EINVAL);
	assert_string_equal(err.file, "/nonexistent/kb.yaml");
	char path[] = PC_TEST_DATA "/../../../data/kb.yaml";
	assert_int_equal(pc_kb_load_file(k, path, &err), 0);
	assert_int_equal(pc_kb_find(k, "redis")->severity, PC_SEV_HIGH);
	pc_kb_free(k);
}

/* --- output -------------------------------------------------------------- */

static char *render(const char *fmt, const struct pc_snapshot *s, enum pc_report_view view)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct pc_report_opts ro = {.view = view, .version = "0.test"};
	assert_int_equal(pc_report_find(fmt)->write(f, s, &ro, false), 0);
	fclose(f);
	return out;
}

static void test_output(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	listener(s, "127.0.0.1", 80, "http", PC_AUTH_REQUIRED, "401");
	listener(s, "0.0.0.0", 6379, "redis", PC_AUTH_NONE, "INFO answered without AUTH");
	listener(s, "198.18.1.1", 22, "ssh", PC_AUTH_UNKNOWN, "banner")->state =
		PC_STATE_ESTABLISHED;
	run(s);
	char *j = render("json", s, PC_VIEW_AUDIT);
	assert_non_null(strstr(j, "\"risk\": {\n"));
	assert_non_null(strstr(j, "\"severity\": \"critical\""));
	assert_non_null(strstr(j, "\"score\": 9.5"));
	assert_non_null(strstr(j, "\"category\": \"cache\""));
	assert_non_null(strstr(j, "\"answers without authentication: INFO answered without AUTH\""));
	assert_non_null(strstr(j, "\"remediation\": \"Set requirepass"));
	assert_non_null(strstr(j, "\"risk\": null"));
	assert_non_null(strstr(j, "\"severity\": {\n"));
	assert_non_null(strstr(j, "\"critical\": 1,"));
	assert_non_null(strstr(j, "\"info\": 1\n"));
	free(j);
	char *t = render("table", s, PC_VIEW_AUDIT);
	assert_true(strncmp(t, "SEVERITY", 8) == 0);
	/* worst first: the redis row comes before the http row */
	char *redis = strstr(t, "critical 9.5");
	char *http = strstr(t, "info 0.0");
	assert_non_null(redis);
	assert_non_null(http);
	assert_true(redis < http);
	assert_non_null(strstr(t, "3 endpoints: 1 critical, 0 high, 0 medium, 0 low, 1 info\n"));
	free(t);
	t = render("table", s, PC_VIEW_LISTENERS);
	assert_null(strstr(t, "SEVERITY"));
	free(t);
	char *c = render("csv", s, PC_VIEW_AUDIT);
	assert_non_null(strstr(c, ",tls,severity,risk_score,risk_category,risk_reasons,container_name,"
				   "container_image,forward\n"));
	assert_non_null(strstr(c, ",false,critical,9.5,cache,\"redis is cache (high): "));
	free(c);
	pc_snapshot_free(s);
}

/* --- how fast ------------------------------------------------------------ */

static void test_bench_50k(void **state)
{
	(void)state;
	static const char *const names[] = {"redis", "http", "ssh", "postgresql", NULL};
	struct pc_snapshot *s = pc_snapshot_new("bench");
	for (uint32_t i = 0; i < 50000; i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		pc_addr_from_v4(&e->addr, 0xc6120000u + (i % 65536)); /* 198.18.0.0/16 */
		e->port = (uint16_t)(1024 + i % 50000);
		e->state = PC_STATE_LISTEN;
		e->bind = i % 3 == 0 ? PC_BIND_LOOPBACK : PC_BIND_SPECIFIC;
		e->source = i % 10 == 0 ? PC_SOURCE_SCAN : PC_SOURCE_HOST;
		if (e->source == PC_SOURCE_SCAN)
			e->state = PC_STATE_OPEN;
		const char *name = names[i % 5];
		if (name) {
			e->service = pc_snapshot_service(s);
			e->service->name = name;
			e->service->auth = (enum pc_auth)(i % 3);
			e->service->evidence = "bench evidence";
		}
	}
	double t0 = pc_monotonic_ms();
	run(s);
	double ms = pc_monotonic_ms() - t0;
	fprintf(stderr, "classified 50,000 endpoints in %.1f ms\n", ms);
	for (size_t i = 0; i < s->n_endpoints; i++)
		assert_non_null(s->endpoints[i].risk);
	/* loose: sanitizer builds on a loaded machine are several times slower */
	assert_true(ms < 2000);
	pc_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_cases),
		cmocka_unit_test(test_remediation_settings),
		cmocka_unit_test(test_kb_covers_probe_names),
		cmocka_unit_test(test_bind_scope),
		cmocka_unit_test(test_beyond_host),
		cmocka_unit_test(test_sweep_evidence),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_plaintext),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_ssh_password),
		cmocka_unit_test(test_unidentified),
		cmocka_unit_test(test_low_risk_raised),
		cmocka_unit_test(test_policy_undocumented),
		cmocka_unit_test(test_which_endpoints),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_kb_errors),
		cmocka_unit_test(test_kb_deep_nesting_is_fast),
		cmocka_unit_test(test_kb_override_and_limits),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_bench_50k),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
