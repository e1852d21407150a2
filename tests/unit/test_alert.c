/*
 * test_alert.c - the alert sinks without a network: Standard Webhooks
 * signing against the specification's published vector, secret decoding,
 * the per-endpoint rate limit (with a clock we drive), the alert's JSON,
 * the jsonl file sink, RFC 5424 lines on a socket of our own, and the exec
 * sink (argv kept word for word, JSON on stdin, a timeout, bounded output,
 * a child that refuses its stdin). The webhook's HTTP behaviour (retries,
 * backoff, redirects, stalls, the signature checked by a receiver) is the
 * lab test tests/e2e/webhook.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "core/buf.h"
#include "core/error.h"
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pc_alert.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int teardown_dir(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct pc_alert sample(const char *text)
{
	struct pc_alert a = {
		.kind = PC_ALERT_NEW_LISTENER,
		.severity = PC_SEV_HIGH,
		.host = "lab-host",
		.time_ms = 1796000000123LL,
		.text = text,
		.change_json = "{\"action\":\"added\",\"port\":6379}",
	};
	return a;
}

/* The example of the Standard Webhooks specification (its own test vector). */
static void test_sign_vector(void **state)
{
	(void)state;
	unsigned char key[64];
	size_t key_len = sizeof(key);
	assert_int_equal(pc_alert_webhook_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
							key, &key_len),
			 0);
	assert_int_equal(key_len, 24);
	const char *body = "{\"test\": 2432232314}";
	char sig[128];
	assert_int_equal(pc_alert_webhook_sign(key, key_len, "msg_p5jXN8AQM9LWM0D4loKWxJek",
					       1614265330, body, strlen(body), sig, sizeof(sig)),
			 0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* one byte of the body changed: another signature */
	assert_int_equal(pc_alert_webhook_sign(key, key_len, "msg_p5jXN8AQM9LWM0D4loKWxJek",
					       1614265330, "{\"test\": 2432232315}", strlen(body),
					       sig, sizeof(sig)),
			 0);
	assert_string_not_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* too small an output buffer is refused, not truncated */
	assert_int_equal(pc_alert_webhook_sign(key, key_len, "id", 1, "x", 1, sig, 10), PC_ETOOBIG);
}

static void test_secret_decode(void **state)
{
	(void)state;
	unsigned char key[64];
	size_t key_len = sizeof(key);
	assert_int_equal(pc_alert_webhook_secret_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key,
							&key_len),
			 PC_EINVAL); /* no prefix */
	key_len = sizeof(key);
	assert_int_equal(pc_alert_webhook_secret_decode("whsec_", key, &key_len), PC_EINVAL);
	key_len = sizeof(key);
	assert_int_equal(pc_alert_webhook_secret_decode("whsec_abc", key, &key_len), PC_EINVAL);
	key_len = sizeof(key);
	assert_int_equal(pc_alert_webhook_secret_decode("whsec_ab!?", key, &key_len), PC_EINVAL);
	key_len = sizeof(key);
	assert_int_equal(pc_alert_webhook_secret_decode("whsec_aGVsbG8=", key, &key_len), 0);
	assert_int_equal(key_len, 5);
	assert_memory_equal(key, "hello", 5);
	key_len = 4; /* caller's buffer too small */
	assert_int_equal(pc_alert_webhook_secret_decode("whsec_aGVsbG8=", key, &key_len), PC_EINVAL);
}

static void test_retry_after(void **state)
{
	(void)state;
	long v = -1;
#define RA(s) pc_alert_webhook_retry_after(s, strlen(s), &v)
	assert_true(RA("Retry-After: 5\r\n"));
	assert_int_equal(v, 5);
	assert_true(RA("retry-after:120"));
	assert_int_equal(v, 120);
	assert_true(RA("RETRY-AFTER: 99999999999999999999\r\n"));
	assert_int_equal(v, 86400); /* capped, no overflow */
	assert_false(RA("Retry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n"));
	assert_false(RA("Retry-After: \r\n"));
	assert_false(RA("Retry-After: 5x\r\n"));
	assert_false(RA("Retry-Aft"));
	assert_false(RA("Content-Length: 5\r\n"));
	/* only n bytes are read: the 5 is past the end */
	assert_false(pc_alert_webhook_retry_after("Retry-After: 5", 13, &v));
#undef RA
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct pc_alert_rate r;
	pc_alert_rate_init(&r, 1000);
	assert_true(pc_alert_rate_delay(&r, 5000) == 0); /* first message goes at once */
	pc_alert_rate_mark(&r, 5000);
	assert_true(pc_alert_rate_delay(&r, 5000) == 1000);
	assert_true(pc_alert_rate_delay(&r, 5600) == 400);
	assert_true(pc_alert_rate_delay(&r, 6000) == 0);
	assert_true(pc_alert_rate_delay(&r, 9000) == 0);
	/* the real wait: three messages take at least two intervals */
	pc_alert_rate_init(&r, 100);
	double t0 = pc_monotonic_ms();
	for (int i = 0; i < 3; i++)
		pc_alert_rate_wait(&r);
	double took = pc_monotonic_ms() - t0;
	assert_true(took >= 200);
	assert_true(took < 1000);
}

static void test_alert_json(void **state)
{
	(void)state;
	struct pc_buf b;
	pc_buf_init(&b, 4096);
	struct pc_alert a = sample("new listener \"x\"\n\x1b[31m");
	assert_int_equal(pc_alert_to_json(&a, &b), 0);
	assert_string_equal(b.data,
			    "{\"portcensus\":\"" PC_VERSION "\",\"kind\":\"new_listener\","
			    "\"severity\":\"high\",\"host\":\"lab-host\","
			    "\"time\":\"2026-11-30T00:53:20.123Z\","
			    "\"text\":\"new listener \\\"x\\\"\\n\\u001b[31m\","
			    "\"change\":{\"action\":\"added\",\"port\":6379}}");
	pc_buf_free(&b);
	/* the cap holds */
	pc_buf_init(&b, 32);
	assert_int_equal(pc_alert_to_json(&a, &b), PC_ETOOBIG);
	pc_buf_free(&b);
	assert_string_equal(pc_alert_kind_name(PC_ALERT_DRIFT), "drift");
	assert_string_equal(pc_alert_kind_name(PC_ALERT_NEW_FINDING), "new_finding");
	assert_non_null(pc_alert_find("webhook"));
	assert_non_null(pc_alert_find("exec"));
	assert_non_null(pc_alert_find("syslog"));
	assert_non_null(pc_alert_find("jsonl"));
	assert_null(pc_alert_find("smtp"));
}

static size_t read_all(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void test_jsonl_file(void **state)
{
	(void)state;
	char path[128], link[128], buf[4096];
	snprintf(path, sizeof(path), "%s/alerts.jsonl", tmpdir);
	struct pc_alert_config cfg;
	pc_alert_config_default(&cfg);
	cfg.target = path;
	void *s = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_alert_jsonl.open(&s, &cfg, &err), 0);
	struct pc_alert a = sample("one");
	assert_int_equal(pc_alert_jsonl.send(s, &a, &err), 0);
	a.text = "two";
	assert_int_equal(pc_alert_jsonl.send(s, &a, &err), 0);
	pc_alert_jsonl.close(s);
	read_all(path, buf, sizeof(buf));
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_non_null(strstr(buf, "\"text\":\"one\""));
	assert_non_null(strstr(nl + 1, "\"text\":\"two\""));
	assert_int_equal(nl[1 + strlen(nl + 1) - 1], '\n');
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* a symlink planted at the log's name is refused, its victim untouched */
	snprintf(link, sizeof(link), "%s/planted.jsonl", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	size_t before = (size_t)st.st_size;
	cfg.target = link;
	s = NULL;
	assert_int_equal(pc_alert_jsonl.open(&s, &cfg, &err), -ELOOP);
	assert_null(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((size_t)st.st_size, before);
}

static void test_syslog_rfc5424(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/log.sock", tmpdir);
	int rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(rx >= 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(rx, (struct sockaddr *)&sun, sizeof(sun)), 0);

	struct pc_alert_config cfg;
	pc_alert_config_default(&cfg);
	cfg.target = path;
	cfg.app_name = "port census"; /* a space is not allowed in APP-NAME */
	void *s = NULL;
	struct pc_error err = {0};
	assert_int_equal(pc_alert_syslog.open(&s, &cfg, &err), 0);
	struct pc_alert a = sample("redis on 0.0.0.0:6379\nFAKE: injected line");
	a.host = "h\"o]st\\";
	assert_int_equal(pc_alert_syslog.send(s, &a, &err), 0);
	a.severity = PC_SEV_CRITICAL;
	a.kind = PC_ALERT_DRIFT;
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a.text = big;
	assert_int_equal(pc_alert_syslog.send(s, &a, &err), 0);
	pc_alert_syslog.close(s);

	char msg[8192];
	ssize_t n = recv(rx, msg, sizeof(msg) - 1, 0);
	assert_true(n > 0);
	msg[n] = '\0';
	/* daemon (3) * 8 + err (3) = 27; version 1 */
	assert_memory_equal(msg, "<27>1 2026-11-30T00:53:20.123Z ", 31);
	char pidpart[64];
	snprintf(pidpart, sizeof(pidpart), " port_census %ld new_listener [portcensus@32473 ",
		 (long)getpid());
	assert_non_null(strstr(msg, pidpart));
	assert_non_null(strstr(msg, "kind=\"new_listener\" severity=\"high\" host=\"h\\\"o\\]st\\\\\"] "));
	assert_null(strchr(msg, '\n')); /* the newline did not split the message */
	assert_non_null(strstr(msg, "] redis on 0.0.0.0:6379?FAKE: injected line"));

	n = recv(rx, msg, sizeof(msg) - 1, 0);
	assert_true(n > 0);
	assert_true(n <= 2048);
	msg[n] = '\0';
	assert_memory_equal(msg, "<26>1 ", 6); /* crit */
	assert_non_null(strstr(msg, " drift [portcensus@32473 kind=\"drift\" severity=\"critical\""));
	close(rx);

	/* nobody listening: a clear error naming the socket */
	cfg.target = "/nonexistent/log.sock";
	s = NULL;
	assert_true(pc_alert_syslog.open(&s, &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/log.sock"));
}

/* Two sinks, one failing: the alert still reaches the other, and the error
 * names the failing one. */
static void test_sinks_set(void **state)
{
	(void)state;
	char path[128], buf[4096];
	snprintf(path, sizeof(path), "%s/set.jsonl", tmpdir);
	struct pc_alert_sinks *set = NULL;
	struct pc_error err = {0};
	struct pc_alert_config cfg;
	pc_alert_config_default(&cfg);
	assert_int_equal(pc_alert_sinks_add(&set, "smtp", &cfg, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "unknown alert sink smtp"));
	const char *fail[] = {"/bin/false", NULL};
	cfg.argv = fail;
	assert_int_equal(pc_alert_sinks_add(&set, "exec", &cfg, &err), 0);
	pc_alert_config_default(&cfg);
	cfg.target = path;
	assert_int_equal(pc_alert_sinks_add(&set, "jsonl", &cfg, &err), 0);
	assert_int_equal(pc_alert_sinks_count(set), 2);
	struct pc_alert a = sample("to both");
	assert_int_equal(pc_alert_sinks_send(set, &a, &err), PC_EIO);
	assert_non_null(strstr(err.msg, "alert sink exec: "));
	read_all(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"text\":\"to both\""));
	pc_alert_sinks_free(set);
	pc_alert_sinks_free(NULL);
}

static int run_exec(const char *const *argv, int timeout_ms, size_t cap, const struct pc_alert *a,
		    struct pc_error *err)
{
	struct pc_alert_config cfg;
	pc_alert_config_default(&cfg);
	cfg.argv = argv;
	cfg.timeout_ms = timeout_ms;
	cfg.output_cap = cap;
	void *s = NULL;
	int rc = pc_alert_exec.open(&s, &cfg, err);
	if (rc)
		return rc;
	rc = pc_alert_exec.send(s, a, err);
	pc_alert_exec.close(s);
	return rc;
}

static void test_exec_argv_stdin(void **state)
{
	(void)state;
	char out[128], argfile[140], buf[4096];
	snprintf(out, sizeof(out), "%s/stdin.json", tmpdir);
	snprintf(argfile, sizeof(argfile), "%s.arg", out);
	/* the shell here is the test's own program; the sink passes the hostile
	 * word as one argument and never through a shell */
	const char *argv[] = {"/bin/sh", "-c", "cat > \"$1\"; printf '%s|%s' \"$2\" \"$#\" > \"$1.arg\"",
			      "sh", out, "a b;$(touch /tmp/pc_alert_pwned)`id`", NULL};
	struct pc_alert a = sample("exec me");
	struct pc_error err = {0};
	assert_int_equal(run_exec(argv, 5000, 0, &a, &err), 0);
	read_all(out, buf, sizeof(buf));
	assert_memory_equal(buf, "{\"portcensus\":", 14);
	assert_non_null(strstr(buf, "\"text\":\"exec me\""));
	assert_int_equal(buf[strlen(buf) - 1], '\n');
	read_all(argfile, buf, sizeof(buf));
	assert_string_equal(buf, "a b;$(touch /tmp/pc_alert_pwned)`id`|2");
	assert_int_equal(access("/tmp/pc_alert_pwned", F_OK), -1);

	/* the child's environment is its own: no secret of ours leaks */
	setenv("PORTCENSUS_WEBHOOK_SECRET", "whsec_c2VjcmV0", 1);
	const char *env[] = {"/bin/sh", "-c", "env > \"$1\"", "sh", out, NULL};
	assert_int_equal(run_exec(env, 5000, 0, &a, &err), 0);
	unsetenv("PORTCENSUS_WEBHOOK_SECRET");
	read_all(out, buf, sizeof(buf));
	assert_null(strstr(buf, "whsec_"));
	assert_non_null(strstr(buf, "PORTCENSUS_ALERT_KIND=new_listener\n"));
	assert_non_null(strstr(buf, "PORTCENSUS_ALERT_SEVERITY=high\n"));
	assert_non_null(strstr(buf, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));

	/* relative program, or none: refused at open */
	const char *rel[] = {"sh", "-c", "true", NULL};
	assert_int_equal(run_exec(rel, 1000, 0, &a, &err), PC_EINVAL);
	const char *none[] = {NULL};
	assert_int_equal(run_exec(none, 1000, 0, &a, &err), PC_EINVAL);
}

static void test_exec_timeout(void **state)
{
	(void)state;
	const char *argv[] = {"/bin/sleep", "20", NULL};
	struct pc_alert a = sample("slow");
	struct pc_error err = {0};
	double t0 = pc_monotonic_ms();
	assert_int_equal(run_exec(argv, 300, 0, &a, &err), PC_ETIMEOUT);
	double took = pc_monotonic_ms() - t0;
	assert_true(took >= 290);
	assert_true(took < 3000);
	assert_non_null(strstr(err.msg, "killed after 300 ms"));

	/* a child that leaves a grandchild holding the output pipe is bounded too */
	const char *bg[] = {"/bin/sh", "-c", "sleep 20 & exit 0", NULL};
	t0 = pc_monotonic_ms();
	int rc = run_exec(bg, 400, 0, &a, &err);
	took = pc_monotonic_ms() - t0;
	assert_true(rc == 0 || rc == PC_ETIMEOUT);
	assert_true(took < 3000);
}

static void test_exec_output_bounded(void **state)
{
	(void)state;
	const char *argv[] = {"/bin/sh", "-c",
			      "head -c 1000000 /dev/zero | tr '\\000' x; printf '\\033[31m'; exit 3",
			      NULL};
	struct pc_alert a = sample("chatty");
	struct pc_error err = {0};
	assert_int_equal(run_exec(argv, 10000, 100, &a, &err), PC_EIO);
	assert_non_null(strstr(err.msg, "exited with 3"));
	assert_true(strlen(err.msg) < 300);
	assert_null(strchr(err.msg, '\033'));

	/* a child that closes its stdin at once: no SIGPIPE kills us */
	char big[200000];
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a.text = big;
	const char *closer[] = {"/bin/sh", "-c", "exec 0<&-; exit 0", NULL};
	assert_int_equal(run_exec(closer, 5000, 0, &a, &err), 0);

	const char *fails[] = {"/nonexistent/program", NULL};
	a.text = "x";
	assert_int_equal(run_exec(fails, 5000, 0, &a, &err), PC_EIO);
	assert_non_null(strstr(err.msg, "exited with 127"));
}

static void test_webhook_config_errors(void **state)
{
	(void)state;
	struct pc_alert_config cfg;
	struct pc_error err = {0};
	void *s = NULL;
	pc_alert_config_default(&cfg);
	cfg.target = "file:///etc/passwd";
	assert_int_equal(pc_alert_webhook.open(&s, &cfg, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "only http and https"));
	cfg.target = "gopher://198.18.0.1/";
	assert_int_equal(pc_alert_webhook.open(&s, &cfg, &err), PC_EINVAL);

	/* the secret never reaches a message */
	const char *secret = "not-a-whsec-SECRETVALUE123";
	setenv("PC_TEST_SECRET", secret, 1);
	cfg.target = "https://user:pw@198.18.0.1:8443/hooks/T000/B000/XXXXSECRETPATH?token=abc";
	cfg.secret_env = "PC_TEST_SECRET";
	assert_int_equal(pc_alert_webhook.open(&s, &cfg, &err), PC_EINVAL);
	assert_null(strstr(err.msg, "SECRETVALUE"));
	assert_non_null(strstr(err.msg, "PC_TEST_SECRET"));
	unsetenv("PC_TEST_SECRET");
	assert_int_equal(pc_alert_webhook.open(&s, &cfg, &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "is not set"));

	char path[128];
	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	FILE *f = fopen(path, "w");
	fprintf(f, "whsec_%s\n", "c2VjcmV0IGtleSBvZiAzMiBieXRlcyBsb25nISEhIQ==");
	fclose(f);
	cfg.secret_env = NULL;
	cfg.secret_file = path;
	assert_int_equal(pc_alert_webhook.open(&s, &cfg, &err), 0);
	assert_non_null(s);
	pc_alert_webhook.close(s);
}

/* --format prom (report/prom.c): the counts by severity and verdict, the
 * drift family only when a diff was made, no per-endpoint series. Here
 * because prom is the metrics side of the same watch; the promtool check
 * is tests/e2e/prom.sh. */
static void test_prom_counts(void **state)
{
	(void)state;
	struct pc_snapshot *snap = pc_snapshot_new("test");
	assert_non_null(snap);
	static const enum pc_severity sev[] = {PC_SEV_CRITICAL, PC_SEV_HIGH, PC_SEV_HIGH};
	static const enum pc_verdict ver[] = {PC_VERDICT_VIOLATION, PC_VERDICT_ALLOWED,
					      PC_VERDICT_UNDOCUMENTED};
	for (int i = 0; i < 4; i++) {
		struct pc_endpoint *ep = pc_snapshot_add_endpoint(snap);
		assert_non_null(ep);
		pc_addr_parse("198.18.0.1", &ep->addr);
		ep->port = (uint16_t)(6379 + i);
		if (i < 3) { /* the fourth is neither classified nor judged */
			ep->risk = pc_arena_alloc(&snap->arena, sizeof(*ep->risk));
			memset(ep->risk, 0, sizeof(*ep->risk));
			ep->risk->severity = sev[i];
			ep->policy = pc_arena_alloc(&snap->arena, sizeof(*ep->policy));
			memset(ep->policy, 0, sizeof(*ep->policy));
			ep->policy->verdict = ver[i];
		}
	}
	assert_int_equal(pc_snapshot_add_finding(snap, "stale_rule", PC_SEV_LOW, "r", "m"), 0);
	snap->started_at_ms = 1796000000000LL;
	snap->finished_at_ms = 1796000002500LL;

	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct pc_report_opts o = {.version = "9.9"};
	assert_int_equal(pc_report_find("prom")->write(f, snap, &o, false), 0);
	fclose(f);
	assert_non_null(strstr(out, "\nportcensus_endpoints{severity=\"critical\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints{severity=\"high\"} 2\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints{severity=\"medium\"} 0\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints{severity=\"none\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints_by_verdict{verdict=\"violation\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints_by_verdict{verdict=\"allowed\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints_by_verdict{verdict=\"undocumented\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_endpoints_by_verdict{verdict=\"none\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_findings{severity=\"low\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_info{version=\"9.9\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_last_audit_timestamp_seconds 1796000002.500\n"));
	assert_non_null(strstr(out, "\nportcensus_last_audit_duration_seconds 2.500\n"));
	assert_null(strstr(out, "drift"));
	assert_null(strstr(out, "6379"));
	free(out);

	struct pc_report_drift d = {.added = 3, .removed = 1, .changed = 2};
	o.drift = &d;
	f = open_memstream(&out, &len);
	assert_int_equal(pc_report_find("prom")->write(f, snap, &o, false), 0);
	fclose(f);
	assert_non_null(strstr(out, "# TYPE portcensus_drift_changes gauge\n"));
	assert_non_null(strstr(out, "\nportcensus_drift_changes{change=\"added\"} 3\n"));
	assert_non_null(strstr(out, "\nportcensus_drift_changes{change=\"removed\"} 1\n"));
	assert_non_null(strstr(out, "\nportcensus_drift_changes{change=\"changed\"} 2\n"));
	free(out);
	pc_snapshot_free(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vector),
		cmocka_unit_test(test_secret_decode),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_jsonl_file),
		cmocka_unit_test(test_syslog_rfc5424),
		cmocka_unit_test(test_sinks_set),
		cmocka_unit_test(test_exec_argv_stdin),
		cmocka_unit_test(test_exec_timeout),
		cmocka_unit_test(test_exec_output_bounded),
		cmocka_unit_test(test_webhook_config_errors),
		cmocka_unit_test(test_prom_counts),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
