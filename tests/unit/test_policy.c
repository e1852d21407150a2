/*
 * test_policy.c - policy as code: the loader's diagnostics (every bad file of
 * tests/unit/data/policy/ with its line and column), good files, every
 * verdict and its reason text, stale and due-for-review findings, `policy
 * init` output that lint accepts and that documents every listener, and the
 * nftables / iptables emitters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/policy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA PC_TEST_DATA "/policy/"

/* ---- the corpus of bad files ---- */

struct bad_case {
	const char *file;
	int line, col;
	const char *rule; /* "" outside a rule */
	const char *msg;  /* substring of the message */
};

static const struct bad_case bad_cases[] = {
    {"bad_unknown_top.yaml", 2, 1, "", "unknown key 'listners' (expected one of: version"},
    {"bad_unknown_rule_key.yaml", 5, 5, "web", "unknown key 'owners'"},
    {"bad_unknown_match_key.yaml", 6, 7, "web", "unknown key 'program' (expected one of: ports"},
    {"bad_type_ports.yaml", 5, 14, "web", "found a mapping"},
    {"bad_type_listeners.yaml", 3, 3, "", "expected listeners (a list of rules), found a mapping"},
    {"bad_port_range.yaml", 4, 25, "web", "bad port '9000-8000'"},
    {"bad_port_big.yaml", 4, 20, "web", "bad port '70000'"},
    {"bad_cidr.yaml", 4, 9, "", "bad CIDR '198.18.20.300/24'"},
    {"bad_cidr_hostbits.yaml", 5, 22, "db", "bad CIDR '198.18.10.7/24'"},
    {"bad_undefined_segment.yaml", 7, 27, "db",
     "undefined segment 'ops' in reachable_from (expected a CIDR or one of the segments: app)"},
    {"bad_duplicate_name.yaml", 5, 5, "web", "duplicate rule name, first used at line 3"},
    {"bad_shadowed.yaml", 6, 12, "nginx-https",
     "unreachable: rule 'all-nginx' at line 3 matches everything this rule matches"},
    {"bad_shadowed_range.yaml", 7, 7, "web-alt", "unreachable: rule 'high' at line 3"},
    {"bad_bind.yaml", 5, 11, "web", "bind must be loopback, any or a list of CIDRs"},
    {"bad_date.yaml", 5, 15, "web", "bad date '2026-02-30' (expected reviewed: YYYY-MM-DD)"},
    {"bad_doc.yaml", 5, 10, "web", "doc must be a URL"},
    {"bad_version.yaml", 1, 10, "", "unsupported version (expected version: 1)"},
    {"bad_no_version.yaml", 1, 1, "", "no version (expected version: 1)"},
    {"bad_syntax.yaml", 4, 23, "", "YAML syntax error"},
    {"bad_alias.yaml", 6, 12, "", "YAML aliases are not supported"},
    {"bad_unlisted.yaml", 3, 13, "", "unlisted must be violation, warning or ignore"},
    {"bad_proto.yaml", 4, 33, "dns", "proto must be tcp or udp"},
    {"bad_no_name.yaml", 3, 5, "", "rule without a name"},
    {"bad_auth.yaml", 5, 11, "redis", "auth must be required or any"},
    {"bad_deep.yaml", 2, 19, "", "nested 9 levels deep (expected at most 8)"},
    {"bad_duplicate_key.yaml", 6, 5, "web", "duplicate key 'owner'"},
};

static void test_bad_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char path[512];
		snprintf(path, sizeof(path), DATA "%s", c->file);
		struct pc_policy *p = (struct pc_policy *)1;
		struct pc_policy_diags d = {0};
		struct pc_error err = {0};
		int r = pc_policy_open(path, &p, &d, &err);
		if (r != PC_EINVAL || d.n != 1 || d.items[0].pos.line != c->line ||
		    d.items[0].pos.col != c->col || strcmp(d.items[0].rule, c->rule) != 0 ||
		    !strstr(d.items[0].msg, c->msg)) {
			fprintf(stderr, "%s: r=%d n=%zu", c->file, r, d.n);
			for (size_t k = 0; k < d.n; k++)
				fprintf(stderr, "\n  %d:%d rule '%s': %s", d.items[k].pos.line,
				        d.items[k].pos.col, d.items[k].rule, d.items[k].msg);
			fprintf(stderr, "\n  want %d:%d rule '%s': %s\n", c->line, c->col, c->rule,
			        c->msg);
			fail();
		}
		assert_null(p);
		/* the error record carries the first problem's position */
		assert_int_equal(err.line, c->line);
		assert_int_equal(err.col, c->col);
		assert_string_equal(err.file, path);
		char line[1024];
		pc_policy_diag_format(c->file, &d.items[0], line, sizeof(line));
		char want[64];
		snprintf(want, sizeof(want), "%s:%d:%d: ", c->file, c->line, c->col);
		assert_true(strncmp(line, want, strlen(want)) == 0);
		pc_policy_diags_free(&d);
	}
}

/* Many problems in one file: all reported, in file order. */
static void test_many_errors(void **state)
{
	(void)state;
	static const char doc[] = "version: 1\n"
	                          "segments:\n"
	                          "  app: [198.18.10.0/24]\n"
	                          "listeners:\n"
	                          "  - name: a\n"
	                          "    match: {ports: [80], prot: tcp}\n"
	                          "    reachable_from: [opz]\n"
	                          "  - name: a\n"
	                          "    match: {ports: [80]}\n";
	struct pc_policy *p;
	struct pc_policy_diags d = {0};
	struct pc_error err = {0};
	assert_int_equal(pc_policy_parse_partial("x.yaml", doc, strlen(doc), &p, &d, &err),
	                 PC_EINVAL);
	assert_non_null(p);
	assert_int_equal(d.n, 1);
	assert_true(pc_policy_lint(p, &d) == 3);
	pc_policy_diags_sort(&d);
	static const int want[][2] = {{6, 26}, {7, 22}, {8, 5}, {9, 12}};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(d.items[i].pos.line, want[i][0]);
		assert_int_equal(d.items[i].pos.col, want[i][1]);
	}
	assert_non_null(strstr(d.items[1].msg, "undefined segment 'opz'"));
	assert_non_null(strstr(d.items[2].msg, "duplicate rule name"));
	assert_non_null(strstr(d.items[3].msg, "unreachable: rule 'a' at line 5"));
	pc_policy_free(p);
	pc_policy_diags_free(&d);
}

static void test_good_files(void **state)
{
	(void)state;
	static const char *const files[] = {"good_full.yaml", "good_minimal.yaml",
	                                    "good_order.yaml"};
	for (size_t i = 0; i < 3; i++) {
		char path[512];
		snprintf(path, sizeof(path), DATA "%s", files[i]);
		struct pc_policy *p;
		struct pc_policy_diags d = {0};
		struct pc_error err = {0};
		int r = pc_policy_open(path, &p, &d, &err);
		if (r != 0)
			fprintf(stderr, "%s: %d:%d %s\n", files[i], err.line, err.col, err.msg);
		assert_int_equal(r, 0);
		assert_int_equal(d.n, 0);
		if (i == 0) {
			assert_int_equal(p->n_segments, 2);
			assert_int_equal(p->segments[0].n_cidrs, 2);
			assert_int_equal(p->n_rules, 3);
			assert_int_equal(p->review_max_age, 180);
			assert_int_equal(p->unlisted, PC_POLICY_UNLISTED_VIOLATION);
			assert_int_equal(p->scope.n_hosts, 2);
			const struct pc_policy_rule *r0 = &p->rules[0];
			assert_string_equal(r0->name, "ssh");
			assert_int_equal(r0->match.proto, PC_PROTO_TCP);
			assert_string_equal(r0->match.process, "sshd");
			assert_true(r0->auth_required);
			assert_int_equal(r0->n_reachable, 1);
			assert_int_equal(r0->reachable[0].segment, 1);
			assert_int_equal(r0->reviewed_day, pc_policy_parse_date("2026-11-01"));
			const struct pc_policy_rule *r2 = &p->rules[2];
			assert_int_equal(r2->match.ports[0].lo, 5432);
			assert_int_equal(r2->match.ports[0].hi, 5433);
			assert_int_equal(r2->bind, PC_POLICY_BIND_CIDRS);
			assert_int_equal(r2->n_reachable, 2);
			assert_int_equal(r2->reachable[1].segment, -1);
			assert_int_equal(r2->reachable[1].cidr.plen, 24);
			assert_true(r2->tls_required);
			assert_string_equal(r2->doc, "https://wiki.example.internal/postgres");
		}
		pc_policy_free(p);
		pc_policy_diags_free(&d);
	}
}

/* Parse and lint a policy that must be clean; on failure print the text
 * and every problem before failing the test. */
static struct pc_policy *policy_text(const char *name, const char *text, size_t len)
{
	struct pc_policy *p;
	struct pc_policy_diags d = {0};
	struct pc_error err = {0};
	int r = pc_policy_parse(name, text, len, &p, &d, &err);
	if (r == 0)
		r = pc_policy_lint(p, &d);
	if (r != 0) {
		fprintf(stderr, "%.*s\n", (int)len, text);
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%d:%d %s: %s\n", d.items[i].pos.line, d.items[i].pos.col,
			        d.items[i].rule, d.items[i].msg);
	}
	assert_int_equal(r, 0);
	pc_policy_diags_free(&d);
	return p;
}

/* The complete example of docs/policy.md lints clean, as the page says. */
static void test_docs_example(void **state)
{
	(void)state;
	FILE *f = fopen(PC_TEST_DATA "/../../../docs/policy.md", "re");
	assert_non_null(f);
	static char buf[65536];
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	const char *begin = strstr(buf, "<!-- example:begin -->\n```yaml\n");
	assert_non_null(begin);
	begin = strchr(strchr(begin, '\n') + 1, '\n') + 1;
	const char *end = strstr(begin, "```\n<!-- example:end -->");
	assert_non_null(end);
	struct pc_policy *p = policy_text("policy.md", begin, (size_t)(end - begin));
	assert_int_equal(p->n_rules, 5);
	assert_int_equal(p->n_segments, 3);
	pc_policy_free(p);
}

/* Every prefix of a good file: a clean result or diagnostics, never a crash
 * (ASan build), and never a policy together with diagnostics. */
static void test_truncations(void **state)
{
	(void)state;
	FILE *f = fopen(DATA "good_full.yaml", "re");
	assert_non_null(f);
	char buf[8192];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (size_t n = 0; n <= len; n++) {
		struct pc_policy *p;
		struct pc_policy_diags d = {0};
		struct pc_error err = {0};
		int r = pc_policy_parse("t.yaml", buf, n, &p, &d, &err);
		if (r == 0) {
			assert_int_equal(d.n, 0);
			pc_policy_free(p);
		} else {
			assert_int_equal(r, PC_EINVAL);
			assert_null(p);
			assert_true(d.n > 0);
		}
		pc_policy_diags_free(&d);
	}
}

static void test_helpers(void **state)
{
	(void)state;
	assert_int_equal(pc_policy_parse_date("1970-01-01"), 0);
	assert_int_equal(pc_policy_parse_date("2000-03-01"), 11017);
	assert_int_equal(pc_policy_parse_date("2024-02-29"), 19782);
	assert_int_equal(pc_policy_parse_date("2023-02-29"), -1);
	assert_int_equal(pc_policy_parse_date("2026-1-01"), -1);
	char b[16];
	for (int64_t d = 0; d < 40000; d += 37) {
		pc_policy_format_date(d, b, sizeof(b));
		assert_int_equal(pc_policy_parse_date(b), d);
	}
	assert_int_equal(pc_policy_day_of_ms(86400000LL * 3 + 5), 3);
	struct pc_policy_cidr c;
	struct pc_addr a;
	assert_int_equal(pc_policy_parse_cidr("198.18.10.0/24", &c), 0);
	pc_addr_parse("198.18.10.200", &a);
	assert_true(pc_policy_cidr_contains(&c, &a));
	pc_addr_parse("::ffff:198.18.10.9", &a);
	assert_true(pc_policy_cidr_contains(&c, &a));
	pc_addr_parse("198.18.11.1", &a);
	assert_false(pc_policy_cidr_contains(&c, &a));
	assert_int_equal(pc_policy_parse_cidr("fd00:198:18::/48", &c), 0);
	pc_addr_parse("fd00:198:18:ff::1", &a);
	assert_true(pc_policy_cidr_contains(&c, &a));
	assert_int_equal(pc_policy_parse_cidr("198.18.10.1", &c), 0);
	assert_int_equal(c.plen, 32);
	assert_int_equal(pc_policy_parse_cidr("198.18.10.1/24", &c), PC_EINVAL);
	assert_int_equal(pc_policy_parse_cidr("198.18.10.0/", &c), PC_EINVAL);
	assert_int_equal(pc_policy_parse_cidr("/24", &c), PC_EINVAL);
	assert_int_equal(pc_policy_parse_cidr("::/129", &c), PC_EINVAL);
}

/* ---- evaluation ---- */

static struct pc_policy *policy_of(const char *doc)
{
	return policy_text("t.yaml", doc, strlen(doc));
}

static struct pc_endpoint *listener(struct pc_snapshot *s, enum pc_proto proto, const char *addr,
                                    uint16_t port, const char *comm)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_HOST;
	e->proto = proto;
	e->state = PC_STATE_LISTEN;
	assert_int_equal(pc_addr_parse(addr, &e->addr), 0);
	e->port = port;
	e->bind = pc_bind_of(&e->addr);
	if (comm) {
		e->owners = pc_snapshot_owners(s, 1);
		e->n_owners = 1;
		e->owners[0].pid = 100 + port;
		e->owners[0].comm = pc_snapshot_strdup(s, comm);
	}
	return e;
}

static struct pc_snapshot *snap_new(void)
{
	struct pc_snapshot *s = pc_snapshot_new("test");
	s->host = "db01";
	return s;
}

#define NOW_MS (pc_policy_parse_date("2026-12-06") * 86400000LL + 3600000)

static const char eval_policy[] = "version: 1\n"
                                  "segments:\n"
                                  "  app: [198.18.10.0/24]\n"
                                  "  ops: [198.18.20.0/24]\n"
                                  "defaults: {unlisted: violation, review_max_age: 180}\n"
                                  "listeners:\n"
                                  "  - name: redis\n"
                                  "    match: {ports: [6379], process: redis-server}\n"
                                  "    bind: loopback\n"
                                  "    auth: required\n"
                                  "    owner: cache-team\n"
                                  "    doc: https://wiki.example.internal/redis\n"
                                  "    reviewed: 2026-11-01\n"
                                  "  - name: postgres\n"
                                  "    match: {ports: [5432], proto: tcp}\n"
                                  "    bind: [198.18.1.0/24]\n"
                                  "    reachable_from: [app]\n"
                                  "    tls: required\n"
                                  "    reviewed: 2026-01-01\n"
                                  "  - name: metrics\n"
                                  "    match: {ports: [9100]}\n"
                                  "    reachable_from: []\n"
                                  "    reviewed: 2026-12-01\n"
                                  "  - name: old-ftp\n"
                                  "    match: {ports: [21]}\n"
                                  "    reviewed: 2026-12-01\n";

static const struct pc_policy_verdict *judge(struct pc_snapshot *s, const struct pc_policy *p,
                                             const char *from, struct pc_policy_result *res)
{
	struct pc_policy_eval_opts o = {.now_ms = NOW_MS, .from = from};
	struct pc_error err = {0};
	assert_int_equal(pc_policy_eval(s, p, &o, res, &err), 0);
	return NULL;
}

static void assert_verdict(const struct pc_endpoint *e, enum pc_verdict v, const char *rule,
                           const char *reason0)
{
	assert_non_null(e->policy);
	if (e->policy->verdict != v || (reason0 && (e->policy->n_reasons == 0 ||
	                                            strcmp(e->policy->reasons[0], reason0) != 0))) {
		fprintf(stderr, "port %u: verdict %s, reasons:", e->port,
		        pc_verdict_name(e->policy->verdict));
		for (size_t i = 0; i < e->policy->n_reasons; i++)
			fprintf(stderr, " [%s]", e->policy->reasons[i]);
		fprintf(stderr, "\n want %s [%s]\n", pc_verdict_name(v), reason0 ? reason0 : "");
		fail();
	}
	if (rule)
		assert_string_equal(e->policy->rule, rule);
	else
		assert_null(e->policy->rule);
}

static void test_eval_verdicts(void **state)
{
	(void)state;
	struct pc_policy *p = policy_of(eval_policy);
	struct pc_snapshot *s = snap_new();
	struct pc_endpoint *e;
	/* 0: redis on loopback with auth: allowed */
	e = listener(s, PC_PROTO_TCP, "127.0.0.1", 6379, "redis-server");
	e->service = pc_snapshot_service(s);
	e->service->name = "redis";
	e->service->auth = PC_AUTH_REQUIRED;
	/* 1: redis on any, no auth: two clauses broken */
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 6379, "redis-server");
	e->service = pc_snapshot_service(s);
	e->service->name = "redis";
	e->service->auth = PC_AUTH_NONE;
	/* 2: postgres bound outside its CIDR, TLS off */
	e = listener(s, PC_PROTO_TCP, "198.18.2.1", 5432, "postgres");
	e->service = pc_snapshot_service(s);
	e->service->tls = PC_TRI_FALSE;
	/* 3: postgres in its CIDR, TLS on: allowed, reachable_from unproven */
	e = listener(s, PC_PROTO_TCP, "198.18.1.1", 5432, "postgres");
	e->service = pc_snapshot_service(s);
	e->service->tls = PC_TRI_TRUE;
	/* 4: node exporter on any, reachable_from []: violation */
	listener(s, PC_PROTO_TCP, "::", 9100, "node_exporter");
	/* 5: undocumented */
	listener(s, PC_PROTO_TCP, "0.0.0.0", 8080, "python3");
	/* 6: an established connection is not judged */
	e = listener(s, PC_PROTO_TCP, "198.18.1.1", 5432, "postgres");
	e->state = PC_STATE_ESTABLISHED;
	/* 7: redis with auth unknown on loopback: allowed, but says it is unproven */
	listener(s, PC_PROTO_TCP, "127.0.0.1", 6379, "redis-server");

	struct pc_policy_result res;
	judge(s, p, NULL, &res);
	struct pc_endpoint *ep = s->endpoints;
	assert_verdict(&ep[0], PC_VERDICT_ALLOWED, "redis", "documented by rule 'redis'");
	assert_string_equal(ep[0].policy->owner, "cache-team");
	assert_string_equal(ep[0].policy->doc, "https://wiki.example.internal/redis");
	assert_verdict(&ep[1], PC_VERDICT_VIOLATION, "redis", "bound to any, policy says loopback");
	assert_int_equal(ep[1].policy->n_reasons, 2);
	assert_string_equal(ep[1].policy->reasons[1], "no authentication, policy requires it");
	assert_verdict(&ep[2], PC_VERDICT_VIOLATION, "postgres",
	               "bound to 198.18.2.1, policy says 198.18.1.0/24");
	assert_string_equal(ep[2].policy->reasons[2], "no TLS, policy requires it");
	assert_verdict(&ep[3], PC_VERDICT_ALLOWED, "postgres",
	               "reachable_from app not proven: bound to 198.18.1.1 and no network-side "
	               "scan in this audit (policy enforce makes it true)");
	assert_string_equal(ep[3].policy->reasons[1], "documented by rule 'postgres'");
	assert_verdict(&ep[4], PC_VERDICT_VIOLATION, "metrics",
	               "bound to any, policy allows no remote client");
	assert_verdict(&ep[5], PC_VERDICT_UNDOCUMENTED, NULL,
	               "no rule documents tcp/8080 (python3)");
	assert_null(ep[6].policy);
	assert_verdict(&ep[7], PC_VERDICT_ALLOWED, "redis",
	               "authentication not proven (unknown), policy requires it");
	assert_int_equal(res.allowed, 3);
	assert_int_equal(res.violation, 3);
	assert_int_equal(res.undocumented, 1);
	assert_true(res.undocumented_fails);

	/* stale: old-ftp matched nothing; review: postgres (2026-01-01) is
	 * 339 days old, beyond 180; the others are recent */
	assert_int_equal(res.stale, 1);
	assert_int_equal(res.review_due, 1);
	assert_int_equal(s->n_findings, 2);
	assert_string_equal(s->findings[0].kind, "review_due");
	assert_string_equal(s->findings[0].rule, "postgres");
	assert_string_equal(s->findings[0].message,
	                    "rule 'postgres' was last reviewed on 2026-01-01, 339 days ago "
	                    "(review_max_age 180): due for review");
	assert_string_equal(s->findings[1].kind, "stale_rule");
	assert_string_equal(s->findings[1].rule, "old-ftp");
	assert_string_equal(s->findings[1].message,
	                    "rule 'old-ftp' (t.yaml line 24) matched no listener: stale "
	                    "documentation");
	assert_int_equal(s->findings[1].severity, PC_SEV_LOW);
	pc_snapshot_free(s);
	pc_policy_free(p);
}

/* Network-side evidence: a scan from a segment saw the port open. */
static void test_eval_reachable_from(void **state)
{
	(void)state;
	struct pc_policy *p = policy_of(eval_policy);
	for (int from_ops = 0; from_ops < 3; from_ops++) {
		struct pc_snapshot *s = snap_new();
		struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
		e->source = PC_SOURCE_SCAN;
		e->state = PC_STATE_OPEN;
		pc_addr_parse("198.18.1.1", &e->addr);
		e->port = 5432;
		e->service = pc_snapshot_service(s);
		e->service->tls = PC_TRI_TRUE;
		/* a host record of the same port in the same snapshot is judged
		 * on the same evidence */
		e = listener(s, PC_PROTO_TCP, "0.0.0.0", 5432, "postgres");
		e->bind = PC_BIND_ANY;
		struct pc_policy_result res;
		const char *from = from_ops == 0   ? "ops"
		                   : from_ops == 1 ? "app"
		                                   : "198.18.10.128/25";
		judge(s, p, from, &res);
		if (from_ops == 0) {
			assert_verdict(&s->endpoints[0], PC_VERDICT_VIOLATION, "postgres",
			               "reachable from segment ops, policy allows app only");
			assert_verdict(&s->endpoints[1], PC_VERDICT_VIOLATION, "postgres",
			               "bound to any, policy says 198.18.1.0/24");
			assert_string_equal(s->endpoints[1].policy->reasons[1],
			                    "reachable from segment ops, policy allows app only");
		} else {
			assert_verdict(&s->endpoints[0], PC_VERDICT_ALLOWED, "postgres",
			               "documented by rule 'postgres'");
		}
		pc_snapshot_free(s);
	}
	/* without --from the evidence is reported, not judged */
	struct pc_snapshot *s = snap_new();
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_SCAN;
	e->state = PC_STATE_OPEN;
	pc_addr_parse("198.18.1.1", &e->addr);
	e->port = 9100;
	judge(s, p, NULL, NULL);
	assert_verdict(&s->endpoints[0], PC_VERDICT_ALLOWED, "metrics",
	               "reachable from the network, from a segment not named (give --from); "
	               "policy allows no remote client");
	/* an unknown --from is an input error */
	struct pc_policy_eval_opts o = {.now_ms = NOW_MS, .from = "nowhere"};
	struct pc_error err = {0};
	assert_int_equal(pc_policy_eval(s, p, &o, NULL, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "--from 'nowhere'"));
	pc_snapshot_free(s);
	pc_policy_free(p);
}

static void test_eval_unlisted_and_scope(void **state)
{
	(void)state;
	static const char *const docs[] = {
	    "version: 1\ndefaults: {unlisted: warning}\nlisteners: []\n",
	    "version: 1\ndefaults: {unlisted: ignore}\nlisteners: []\n",
	    "version: 1\nscope: {hosts: [web*]}\nlisteners: []\n",
	    "version: 1\nscope: {netns: [lab-*]}\nlisteners: []\n",
	};
	for (size_t i = 0; i < 4; i++) {
		struct pc_policy *p = policy_of(docs[i]);
		struct pc_snapshot *s = snap_new();
		struct pc_endpoint *e = listener(s, PC_PROTO_UDP, "0.0.0.0", 53, NULL);
		e->netns.name = i == 3 ? "lab-a" : NULL;
		struct pc_policy_result res;
		judge(s, p, NULL, &res);
		if (i == 0) {
			assert_verdict(e, PC_VERDICT_UNDOCUMENTED, NULL,
			               "no rule documents udp/53");
			assert_string_equal(e->policy->reasons[1],
			                    "defaults.unlisted is warning: not a violation");
			assert_false(res.undocumented_fails);
		} else if (i == 3) {
			assert_verdict(e, PC_VERDICT_UNDOCUMENTED, NULL,
			               "no rule documents udp/53");
		} else {
			assert_null(e->policy); /* ignored, or out of scope (host db01) */
		}
		pc_snapshot_free(s);
		pc_policy_free(p);
	}
}

/* Matching: every field, and the index agrees with the linear search. */
static void test_match_and_index(void **state)
{
	(void)state;
	static const char doc[] =
	    "version: 1\n"
	    "listeners:\n"
	    "  - {name: c, match: {container: \"pg-*\"}}\n"
	    "  - {name: u, match: {unit: \"nginx.service\", ports: [80, 443]}}\n"
	    "  - {name: x, match: {process: \"/usr/sbin/*\", ports: [\"1000-1100\"]}}\n"
	    "  - {name: n, match: {netns: \"lab-*\", proto: udp}}\n"
	    "  - {name: h, match: {host: \"db0?\", ports: [\"2000-60000\"]}}\n"
	    "  - {name: p, match: {ports: [22, 80, 443, 1050]}}\n";
	struct pc_policy *p = policy_of(doc);
	struct pc_policy_index *idx;
	assert_int_equal(pc_policy_index_new(p, &idx), 0);
	struct pc_snapshot *s = snap_new();
	struct pc_endpoint *e = listener(s, PC_PROTO_TCP, "0.0.0.0", 5432, "postgres");
	e->owners[0].container.name = "pg-main";
	assert_int_equal(pc_policy_first_match(p, e, s->host), 0);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 5433, "postgres");
	e->owners[0].container.name = "db";
	e->owners[0].container.image = "pg-16:latest"; /* the image, when the name says nothing */
	assert_int_equal(pc_policy_first_match(p, e, s->host), 0);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 443, "nginx");
	e->owners[0].unit = "nginx.service";
	assert_int_equal(pc_policy_first_match(p, e, s->host), 1);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 1050, "weird");
	e->owners[0].exe = "/usr/sbin/weird";
	assert_int_equal(pc_policy_first_match(p, e, s->host), 2);
	e = listener(s, PC_PROTO_UDP, "0.0.0.0", 1050, NULL);
	e->netns.name = "lab-b";
	assert_int_equal(pc_policy_first_match(p, e, s->host), 3);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 5000, NULL);
	assert_int_equal(pc_policy_first_match(p, e, s->host), 4);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 1050, "other");
	assert_int_equal(pc_policy_first_match(p, e, s->host), 5);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 1, "other");
	assert_int_equal(pc_policy_first_match(p, e, s->host), -1);
	for (size_t i = 0; i < s->n_endpoints; i++)
		assert_int_equal(pc_policy_index_first(idx, &s->endpoints[i], s->host),
		                 pc_policy_first_match(p, &s->endpoints[i], s->host));
	/* every port, both protocols, with and without an owner */
	struct pc_endpoint probe = s->endpoints[6]; /* "other", an owner */
	for (unsigned port = 1; port < 65536; port += 7)
		for (int proto = 0; proto < 2; proto++) {
			probe.port = (uint16_t)port;
			probe.proto = (enum pc_proto)proto;
			assert_int_equal(pc_policy_index_first(idx, &probe, s->host),
			                 pc_policy_first_match(p, &probe, s->host));
		}
	pc_policy_index_free(idx);
	pc_snapshot_free(s);
	pc_policy_free(p);
}

/* ---- init ---- */

static char *init_text(const struct pc_snapshot *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_int_equal(pc_policy_init_write(f, s, pc_policy_parse_date("2026-12-06")), 0);
	fclose(f);
	return out;
}

static void test_init_roundtrip(void **state)
{
	(void)state;
	struct pc_snapshot *s = snap_new();
	listener(s, PC_PROTO_TCP, "127.0.0.1", 6379, "redis-server");
	listener(s, PC_PROTO_TCP, "::1", 6379, "redis-server");
	listener(s, PC_PROTO_TCP, "0.0.0.0", 80, "nginx");
	listener(s, PC_PROTO_TCP, "127.0.0.1", 80, "nginx"); /* same port: not pinned */
	listener(s, PC_PROTO_TCP, "127.0.0.1", 8081, "nginx");
	listener(s, PC_PROTO_TCP, "::", 443, "nginx");
	for (uint16_t port = 9000; port < 9010; port++)
		listener(s, PC_PROTO_TCP, "0.0.0.0", port, "nginx");
	struct pc_endpoint *e = listener(s, PC_PROTO_TCP, "0.0.0.0", 22, "sshd");
	e->owners[0].unit = "ssh.service";
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 5432, "postgres");
	e->owners[0].container.name = "pg-main";
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 5432, "postgres");
	e->netns.name = "lab-x";
	listener(s, PC_PROTO_UDP, "0.0.0.0", 53, NULL);
	listener(s, PC_PROTO_TCP, "0.0.0.0", 53, NULL);
	e = listener(s, PC_PROTO_TCP, "0.0.0.0", 7000, NULL);
	e->owners = pc_snapshot_owners(s, 1);
	e->n_owners = 1;
	e->owners[0].comm = pc_snapshot_strdup(s, "we*rd[1]\"\\\x1b");
	e = listener(s, PC_PROTO_TCP, "198.18.1.1", 6000, "scope-user");
	e->owners[0].unit = "session-3.scope"; /* not a stable name: comm is used */
	listener(s, PC_PROTO_TCP, "0.0.0.0", 5000, "python3")->state = PC_STATE_ESTABLISHED;

	char *text = init_text(s);
	struct pc_policy *p = policy_text("init.yaml", text, strlen(text));
	assert_non_null(strstr(text, "  - name: \"redis-server-tcp-loopback\"\n"));
	assert_non_null(strstr(text, "      unit: \"ssh.service\"\n"));
	assert_non_null(strstr(text, "      container: \"pg-main\"\n"));
	assert_non_null(strstr(text, "      process: \"we\\\\*rd\\\\[1\\\\]\\\"\\\\\\\\?\"\n"));
	assert_non_null(strstr(text, "      process: \"scope-user\"\n"));
	assert_non_null(strstr(text, "      ports: [80, 443, \"9000-9009\"]\n"));
	assert_non_null(strstr(text, "    owner: TODO\n    reviewed: 2026-12-06\n"));
	/* the second judgement of the same host: everything documented, and
	 * every rule used */
	struct pc_policy_result res;
	judge(s, p, NULL, &res);
	size_t judged = 0;
	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct pc_endpoint *ep = &s->endpoints[i];
		if (ep->state != PC_STATE_LISTEN) {
			assert_null(ep->policy);
			continue;
		}
		judged++;
		if (!ep->policy || ep->policy->verdict != PC_VERDICT_ALLOWED) {
			fprintf(stderr, "%s\nport %u: %s %s\n", text, ep->port,
			        ep->policy ? pc_verdict_name(ep->policy->verdict) : "none",
			        ep->policy && ep->policy->n_reasons ? ep->policy->reasons[0] : "");
			fail();
		}
	}
	assert_int_equal(res.allowed, judged);
	assert_int_equal(res.stale, 0);
	assert_int_equal(res.review_due, 0);
	/* loopback-only redis is pinned, nginx's port 80 is not, 8081 is */
	const struct pc_policy_rule *redis = NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].name, "redis-server-tcp-loopback") == 0)
			redis = &p->rules[i];
	assert_non_null(redis);
	assert_int_equal(redis->bind, PC_POLICY_BIND_LOOPBACK);
	/* deterministic */
	char *again = init_text(s);
	assert_string_equal(text, again);
	free(again);
	free(text);
	pc_policy_free(p);
	pc_snapshot_free(s);
}

/* ---- emitters ---- */

static const char enforce_policy[] =
    "version: 1\n"
    "segments:\n"
    "  app: [198.18.10.0/24, 198.18.10.128/25, \"fd00:198:18:10::/64\"]\n"
    "  ops: [198.18.20.0/24]\n"
    "listeners:\n"
    "  - name: redis\n"
    "    match: {ports: [6379]}\n"
    "    reachable_from: [app]\n"
    "    owner: cache-team\n"
    "  - name: postgres\n"
    "    match: {ports: [5432]}\n"
    "    reachable_from: [ops, 198.18.30.0/24]\n"
    "  - name: web\n"
    "    match: {ports: [80]}\n"
    "  - name: closed\n"
    "    match: {ports: [9100]}\n"
    "    reachable_from: []\n";

static struct pc_snapshot *enforce_snap(void)
{
	struct pc_snapshot *s = snap_new();
	listener(s, PC_PROTO_TCP, "0.0.0.0", 6379, "redis-server");
	listener(s, PC_PROTO_TCP, "::", 6379, "redis-server");
	listener(s, PC_PROTO_TCP, "198.18.1.1", 5432, "postgres");
	listener(s, PC_PROTO_TCP, "0.0.0.0", 80, "nginx");
	listener(s, PC_PROTO_TCP, "0.0.0.0", 9100, "node_exporter");
	listener(s, PC_PROTO_TCP, "0.0.0.0", 8080, "python3");
	listener(s, PC_PROTO_UDP, "0.0.0.0", 5353, "avahi");
	listener(s, PC_PROTO_TCP, "127.0.0.1", 11211, "memcached");
	listener(s, PC_PROTO_TCP, "0.0.0.0", 22, "sshd");
	return s;
}

static char *emit(const char *name, const struct pc_policy *p, const struct pc_snapshot *s)
{
	const struct pc_policy_emitter *em = pc_policy_emitter_find(name);
	assert_non_null(em);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct pc_policy_emit_opts o = {.policy_file = "site.yaml"};
	assert_int_equal(em->write(f, p, s, &o), 0);
	fclose(f);
	return out;
}

static void test_emit_nft(void **state)
{
	(void)state;
	struct pc_policy *p = policy_of(enforce_policy);
	struct pc_snapshot *s = enforce_snap();
	char *out = emit("nft", p, s);
	static const char want[] =
	    "table inet portcensus\n"
	    "delete table inet portcensus\n"
	    "table inet portcensus {\n"
	    "\t# segment app\n"
	    "\tset seg_app_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
	    "\t\telements = { 198.18.10.0/24 }\n\t}\n"
	    "\tset seg_app_v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n"
	    "\t\telements = { fd00:198:18:10::/64 }\n\t}\n"
	    "\t# segment ops\n"
	    "\tset seg_ops_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n"
	    "\t\telements = { 198.18.20.0/24 }\n\t}\n"
	    "\tset seg_ops_v6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}\n"
	    "\tchain input {\n"
	    "\t\ttype filter hook input priority filter; policy accept;\n"
	    "\t\tct state established,related accept\n"
	    "\t\tiif \"lo\" accept\n"
	    "\t\t# tcp/22: SSH, no rule names it: kept open\n"
	    "\t\t# tcp/80: rule 'web' has no reachable_from, open to all\n"
	    "\t\t# tcp/5432: rule 'postgres'\n"
	    "\t\ttcp dport 5432 ip saddr @seg_ops_v4 accept\n"
	    "\t\ttcp dport 5432 ip saddr { 198.18.30.0/24 } accept\n"
	    "\t\ttcp dport 5432 drop\n"
	    "\t\t# tcp/6379: rule 'redis', owner cache-team\n"
	    "\t\ttcp dport 6379 ip saddr @seg_app_v4 accept\n"
	    "\t\ttcp dport 6379 ip6 saddr @seg_app_v6 accept\n"
	    "\t\ttcp dport 6379 drop\n"
	    "\t\t# undocumented (or reachable_from: []): dropped\n"
	    "\t\ttcp dport { 8080, 9100 } drop\n"
	    "\t\t# undocumented (or reachable_from: []): dropped\n"
	    "\t\tudp dport { 5353 } drop\n"
	    "\t}\n"
	    "}\n";
	const char *body = strstr(out, "table inet portcensus\n");
	assert_non_null(body);
	if (strcmp(body, want) != 0) {
		fprintf(stderr, "%s", out);
		fail();
	}
	assert_non_null(strstr(out, "from site.yaml"));
	/* memcached on loopback gets nothing: loopback is untouched */
	assert_null(strstr(out, "11211"));
	char *again = emit("nft", p, s);
	assert_string_equal(out, again);
	free(again);
	free(out);
	pc_snapshot_free(s);
	pc_policy_free(p);
}

/* A rule that names SSH explicitly restricts it. */
static void test_emit_ssh_explicit(void **state)
{
	(void)state;
	struct pc_policy *p =
	    policy_of("version: 1\n"
	              "segments: {ops: [198.18.20.0/24]}\n"
	              "listeners:\n"
	              "  - {name: ssh, match: {process: sshd}, reachable_from: [ops]}\n");
	struct pc_snapshot *s = snap_new();
	listener(s, PC_PROTO_TCP, "0.0.0.0", 2222, "sshd");
	listener(s, PC_PROTO_TCP, "0.0.0.0", 22, "dropbear");
	char *out = emit("nft", p, s);
	assert_non_null(strstr(out, "\t\ttcp dport 2222 ip saddr @seg_ops_v4 accept\n"
	                            "\t\ttcp dport 2222 drop\n"));
	assert_non_null(strstr(out, "# tcp/22: SSH, no rule names it: kept open\n"));
	assert_null(strstr(out, "dport { 22"));
	free(out);
	pc_snapshot_free(s);
	pc_policy_free(p);
}

static void test_emit_iptables(void **state)
{
	(void)state;
	struct pc_policy *p = policy_of(enforce_policy);
	struct pc_snapshot *s = enforce_snap();
	char *out = emit("iptables", p, s);
	static const char want[] =
	    "*filter\n"
	    ":PORTCENSUS - [0:0]\n"
	    "-A PORTCENSUS -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n"
	    "-A PORTCENSUS -i lo -j RETURN\n"
	    "-A PORTCENSUS -p tcp --dport 5432 -s 198.18.20.0/24 -j RETURN\n"
	    "-A PORTCENSUS -p tcp --dport 5432 -s 198.18.30.0/24 -j RETURN\n"
	    "-A PORTCENSUS -p tcp --dport 5432 -j DROP\n"
	    "-A PORTCENSUS -p tcp --dport 6379 -s 198.18.10.0/24 -j RETURN\n"
	    "-A PORTCENSUS -p tcp --dport 6379 -j DROP\n"
	    "-A PORTCENSUS -p tcp --dport 8080 -j DROP\n"
	    "-A PORTCENSUS -p tcp --dport 9100 -j DROP\n"
	    "-A PORTCENSUS -p udp --dport 5353 -j DROP\n"
	    "COMMIT\n";
	const char *body = strstr(out, "*filter\n");
	assert_non_null(body);
	if (strcmp(body, want) != 0) {
		fprintf(stderr, "%s", out);
		fail();
	}
	free(out);
	out = emit("ip6tables", p, s);
	assert_non_null(strstr(out, "-A PORTCENSUS -p tcp --dport 6379 -s fd00:198:18:10::/64 "
	                            "-j RETURN\n-A PORTCENSUS -p tcp --dport 6379 -j DROP\n"));
	assert_non_null(strstr(out, "-A PORTCENSUS -p tcp --dport 5432 -j DROP\n"));
	assert_null(strstr(out, "198.18."));
	free(out);
	assert_null(pc_policy_emitter_find("pf"));
	pc_snapshot_free(s);
	pc_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_corpus),
	    cmocka_unit_test(test_many_errors),
	    cmocka_unit_test(test_good_files),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_docs_example),
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_eval_verdicts),
	    cmocka_unit_test(test_eval_reachable_from),
	    cmocka_unit_test(test_eval_unlisted_and_scope),
	    cmocka_unit_test(test_match_and_index),
	    cmocka_unit_test(test_init_roundtrip),
	    cmocka_unit_test(test_emit_nft),
	    cmocka_unit_test(test_emit_ssh_explicit),
	    cmocka_unit_test(test_emit_iptables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
