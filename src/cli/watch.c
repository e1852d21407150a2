/*
 * watch.c - `portcensus watch`: audit this host on an interval, store each
 * audit in the ledger, diff it against the previous audit of the same
 * scope, and alert on drift and on new findings at or above --alert-on;
 * between two audits, the fast host watch (inventory/watch.c) alerts on
 * every new listener within a second, naming its owner.
 *
 * One loop, one thread: audit -> store -> diff -> alerts -> fast watch for
 * the rest of the interval (its duration is the wait), so SIGTERM, which
 * only sets a flag, stops it between steps: the fast watch returns at its
 * next pass, an audit in progress finishes and is stored first. The
 * interval gets a random jitter (up to --jitter percent, 10 by default) so
 * a fleet started together does not audit in step. One line per cycle on
 * stderr (journald keeps it under systemd): what ran, how long, what
 * changed, how many alerts, and any sink's failure, which never stops the
 * watch. The first audit has nothing to compare with: it is the baseline,
 * and alerts nothing. SIGHUP re-reads --policy for the next audit; a policy
 * that no longer loads is reported and the one in force is kept.
 */
#include "alert/alert.h"
#include "audit.h"
#include "cli/cli.h"
#include "cli/ledger_opts.h"
#include "core/json.h"
#include "inventory/watch.h"
#include "policy/policy.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char usage[] =
	"usage: portcensus watch [OPTIONS]\n"
	"\n"
	"Audit this host every --interval, store each audit, alert on drift against\n"
	"the previous one and on new findings; between audits, alert on every new\n"
	"listening socket (any namespace) within a second. SIGTERM stops it.\n"
	"\n"
	"Options:\n"
	"  --interval DUR    between audits: 90s, 15m, 1h (default 1h)\n"
	"  --jitter PCT      random extra wait, up to PCT % of the interval (10)\n"
	"  --cycles N        stop after N audits (default: never)\n"
	"  --no-listen-watch no fast watch between audits: only sleep\n"
	"  --policy FILE     judge every audit against a policy (docs/policy.md);\n"
	"                    SIGHUP re-reads it for the next audit\n"
	"  --no-verify       audits skip the live check (and the probes)\n"
	"  --no-probe        audits skip the service probes\n"
	"  --alert-on SEV    alert on new or changed endpoints at or above SEV\n"
	"                    (critical, high, medium, low, info; default high)\n"
	"  --alert-jsonl FILE            JSON lines to FILE (- for stdout)\n"
	"  --alert-syslog[=SOCKET]       RFC 5424 to /dev/log or SOCKET\n"
	"  --alert-webhook URL           POST to URL (http or https)\n"
	"  --alert-webhook-format json|slack\n"
	"  --alert-webhook-secret-file FILE  Standard Webhooks secret (whsec_...),\n"
	"                    or $PORTCENSUS_WEBHOOK_SECRET\n"
	"  --alert-exec PROGRAM          run PROGRAM (absolute path) with the JSON\n"
	"  --alert-exec-arg ARG          an argument for it (repeat)\n"
	"  --format prom -o FILE         metrics after each audit, with drift counts\n"
	"\n" PC_CLI_LEDGER_USAGE;

#define MAX_EXEC_ARGS 32
#define MAX_DRIFT_ALERTS 20 /* one alert per change up to this many per audit */

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

struct watch_ctx {
	struct pc_cli *cli;
	struct pc_alert_sinks *sinks;
	enum pc_severity alert_on;
	unsigned alerts, failures;
};

/* One line on stderr for the journal: sanitized, never a warning prefix. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	char raw[1024], clean[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	pc_text_sanitize(raw, clean, sizeof(clean));
	fprintf(stderr, "portcensus: %s\n", clean);
}

static void send_alert(struct watch_ctx *w, const struct pc_alert *a)
{
	struct pc_error err = {0};
	w->alerts++;
	if (pc_alert_sinks_send(w->sinks, a, &err) != 0) {
		w->failures++;
		pc_cli_note(w->cli, "%s", err.msg);
	}
}

/* "1h", "15m", "90s", "2d" or plain seconds -> ms; false on junk. */
static bool parse_duration(const char *s, int64_t *ret_ms)
{
	unsigned long long v;
	size_t n = strlen(s);
	int64_t unit = 1000;
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 's': unit = 1000; buf[n - 1] = '\0'; break;
	case 'm': unit = 60000; buf[n - 1] = '\0'; break;
	case 'h': unit = 3600000; buf[n - 1] = '\0'; break;
	case 'd': unit = 86400000; buf[n - 1] = '\0'; break;
	default: break;
	}
	if (!pc_cli_parse_uint(buf, 1, 366ULL * 86400, &v))
		return false;
	*ret_ms = (int64_t)v * unit;
	return *ret_ms <= 366LL * 86400 * 1000;
}

/* The drift record as JSON: action, identity, what and where, and the
 * fields before -> after for a change. */
static int change_json(const struct pc_ledger_change *c, struct pc_buf *b)
{
	int rc = pc_buf_printf(b, "{\"action\":\"%s\",\"ident\":",
			       pc_ledger_action_name(c->action));
	const char *strs[][2] = {{"host", c->host}, {"namespace", c->namespace_id},
				 {"proto", c->proto}, {"address", c->address}};
	if (!rc)
		rc = pc_json_escape(b, c->ident, strlen(c->ident));
	for (size_t i = 0; !rc && i < sizeof(strs) / sizeof(strs[0]); i++) {
		rc = pc_buf_printf(b, ",\"%s\":", strs[i][0]);
		if (!rc)
			rc = strs[i][1] ? pc_json_escape(b, strs[i][1], strlen(strs[i][1]))
					: pc_buf_addstr(b, "null");
	}
	if (!rc)
		rc = pc_buf_printf(b, ",\"port\":%u,\"fields\":{", c->port);
	bool first = true;
	for (int f = 0; !rc && f < PC_DRIFT_COUNT; f++) {
		if (c->action == PC_CHANGE_CHANGED && !c->differs[f])
			continue;
		const char *now = c->now.v[f];
		if (c->action != PC_CHANGE_CHANGED && !now)
			continue;
		rc = pc_buf_printf(b, "%s\"%s\":", first ? "" : ",",
				   pc_ledger_drift_name((enum pc_ledger_drift_field)f));
		first = false;
		if (!rc && c->action == PC_CHANGE_CHANGED) {
			const char *was = c->before.v[f];
			rc = pc_buf_addstr(b, "{\"before\":");
			if (!rc)
				rc = was ? pc_json_escape(b, was, strlen(was)) : pc_buf_addstr(b, "null");
			if (!rc)
				rc = pc_buf_addstr(b, ",\"after\":");
		}
		if (!rc)
			rc = now ? pc_json_escape(b, now, strlen(now)) : pc_buf_addstr(b, "null");
		if (!rc && c->action == PC_CHANGE_CHANGED)
			rc = pc_buf_addch(b, '}');
	}
	if (!rc)
		rc = pc_buf_addstr(b, "}}");
	return rc;
}

static enum pc_severity change_severity(const struct pc_ledger_change *c, bool *known)
{
	enum pc_severity s = PC_SEV_INFO;
	const char *v = c->now.v[PC_DRIFT_SEVERITY];
	*known = v && pc_severity_parse(v, &s) == 0;
	return *known ? s : PC_SEV_INFO;
}

/* Alerts for one diff: every change is drift; an added or changed endpoint
 * at or above --alert-on is also a new finding. */
static void alert_diff(struct watch_ctx *w, const struct pc_snapshot *snap,
		       const struct pc_ledger_diff *d, const struct pc_report_drift *counts)
{
	/* A storm (a new host, a redeploy) would take a rate-limited webhook
	 * an hour per 3,600 changes: the first ones go one by one, the rest
	 * as one summary; `portcensus diff` has them all. */
	size_t n = d->n_changes < MAX_DRIFT_ALERTS ? d->n_changes : MAX_DRIFT_ALERTS;
	if (d->n_changes > MAX_DRIFT_ALERTS && !stop_flag) {
		char text[256], json[256];
		snprintf(text, sizeof(text),
			 "%zu changes against the previous audit (%llu added, %llu removed, "
			 "%llu changed); the first %d follow, `portcensus diff` lists all",
			 d->n_changes, (unsigned long long)counts->added,
			 (unsigned long long)counts->removed, (unsigned long long)counts->changed,
			 MAX_DRIFT_ALERTS);
		snprintf(json, sizeof(json),
			 "{\"summary\":true,\"a\":%lld,\"b\":%lld,\"added\":%llu,\"removed\":%llu,"
			 "\"changed\":%llu}",
			 (long long)d->a, (long long)d->b, (unsigned long long)counts->added,
			 (unsigned long long)counts->removed, (unsigned long long)counts->changed);
		struct pc_alert a = {.kind = PC_ALERT_DRIFT, .severity = PC_SEV_INFO,
				     .host = snap->host, .time_ms = pc_now_ms(),
				     .text = text, .change_json = json};
		send_alert(w, &a);
	}
	for (size_t i = 0; i < n && !stop_flag; i++) {
		const struct pc_ledger_change *c = &d->changes[i];
		struct pc_buf text, json;
		pc_buf_init(&text, 1024);
		pc_buf_init(&json, 64 * 1024);
		bool known;
		enum pc_severity sev = change_severity(c, &known);
		char owner[128];
		pc_text_sanitize(c->now.owner ? c->now.owner : "-", owner, sizeof(owner));
		if (pc_buf_printf(&text, "%s %s %s:%u%s%s, owner %s", pc_ledger_action_name(c->action),
				  c->proto ? c->proto : "?", c->address ? c->address : "?", c->port,
				  c->namespace_id && *c->namespace_id ? " in " : "",
				  c->namespace_id ? c->namespace_id : "", owner) == 0 &&
		    change_json(c, &json) == 0) {
			struct pc_alert a = {.kind = PC_ALERT_DRIFT, .severity = sev,
					     .host = snap->host, .time_ms = pc_now_ms(),
					     .text = text.data, .change_json = json.data};
			send_alert(w, &a);
			if (known && sev >= w->alert_on && c->action != PC_CHANGE_REMOVED) {
				a.kind = PC_ALERT_NEW_FINDING;
				send_alert(w, &a);
			}
		}
		pc_buf_free(&text);
		pc_buf_free(&json);
	}
}

static int on_listener(void *ctx, const struct pc_snapshot *snap)
{
	struct watch_ctx *w = ctx;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		struct pc_buf text, json;
		struct pc_alert a;
		pc_buf_init(&text, 1024);
		pc_buf_init(&json, 64 * 1024);
		if (pc_alert_from_listener(snap, &snap->endpoints[i], PC_SEV_MEDIUM, &text, &json,
					   &a) == 0) {
			send_alert(w, &a);
			log_line("watch: %s", a.text);
		}
		pc_buf_free(&text);
		pc_buf_free(&json);
	}
	return 0;
}

struct cycle_opts {
	struct pc_cli_ledger *lo;
	/* the listeners' socket inodes of the last audit, for the fast watch */
	uint64_t *known;
	size_t n_known;
	const struct pc_policy *policy; /* or NULL */
	bool verify, probe;
	const struct pc_report_ops *prom; /* --format prom with -o, or NULL */
};

/* Audit, store, diff, alert. 0, or an exit code when the ledger or the
 * audit cannot run at all (the watch stops: a watch that stores nothing
 * would alert on nothing). */
static int cycle(struct watch_ctx *w, struct cycle_opts *co, unsigned n)
{
	struct pc_cli *cli = w->cli;
	struct pc_audit_opts opts;
	pc_audit_opts_default(&opts);
	opts.verify = co->verify;
	opts.probe = co->verify && co->probe;
	struct pc_policy_result presult = {0};
	if (co->policy) {
		opts.policy = co->policy;
		opts.policy_result = &presult;
	}
	int lrc;
	opts.ledger = pc_cli_ledger_request(cli, co->lo, "audit", "host", &lrc);
	opts.ledger_result = &co->lo->res;
	if (lrc)
		return lrc;
	if (!opts.ledger)
		return pc_cli_usage_error(cli, "watch needs the ledger: --no-store makes no sense here");
	struct pc_snapshot *snap = pc_snapshot_new(cli->cmdline);
	if (!snap)
		return pc_cli_usage_error(cli, "out of memory"), PC_EXIT_RUNTIME;
	double t0 = pc_monotonic_ms();
	struct pc_error err = {0};
	int r = pc_audit_run(snap, &opts, &err);
	if (r < 0) {
		pc_snapshot_free(snap);
		return pc_cli_fail(cli, &err);
	}
	if (co->lo->res.rc != 0) {
		pc_snapshot_free(snap);
		return pc_cli_ledger_finish(cli, co->lo, 0);
	}
	int64_t id = co->lo->res.id, prev = 0;
	struct pc_ledger *l = NULL;
	struct pc_ledger_diff d;
	pc_ledger_diff_init(&d);
	struct pc_ledger_find q = {.kind = PC_LEDGER_FIND_PREV_SCOPE, .id = id};
	r = pc_ledger_open(co->lo->path, false, &l, &err);
	if (!r) {
		r = l->ops->find(l, &q, &prev, &err);
		if (r == -ENOENT) {
			prev = 0;
			r = 0;
		}
	}
	if (!r && prev)
		r = l->ops->diff(l, prev, id, &d, &err);
	pc_ledger_close(l);
	if (r) {
		pc_ledger_diff_free(&d);
		pc_snapshot_free(snap);
		return pc_cli_fail(cli, &err);
	}
	struct pc_report_drift drift = {0};
	for (size_t i = 0; i < d.n_changes; i++) {
		if (d.changes[i].action == PC_CHANGE_ADDED)
			drift.added++;
		else if (d.changes[i].action == PC_CHANGE_REMOVED)
			drift.removed++;
		else
			drift.changed++;
	}
	unsigned before = w->alerts;
	if (prev)
		alert_diff(w, snap, &d, &drift);
	if (co->prom) {
		FILE *f = pc_cli_open_output(cli);
		struct pc_report_opts ro = {.view = PC_VIEW_AUDIT, .version = PC_VERSION,
					    .drift = prev ? &drift : NULL};
		if (f) {
			co->prom->write(f, snap, &ro, false);
			pc_cli_close_output(cli, f, true);
		}
	}
	if (prev)
		log_line("watch: audit %u stored as #%lld in %.0f ms: %zu endpoints; against #%lld "
			 "%llu added, %llu removed, %llu changed; %u alerts",
			 n, (long long)id, pc_monotonic_ms() - t0, snap->n_endpoints,
			 (long long)prev, (unsigned long long)drift.added,
			 (unsigned long long)drift.removed, (unsigned long long)drift.changed,
			 w->alerts - before);
	else
		log_line("watch: audit %u stored as #%lld in %.0f ms: %zu endpoints; the baseline",
			 n, (long long)id, pc_monotonic_ms() - t0, snap->n_endpoints);
	/* what the audit saw is the fast watch's starting point */
	free(co->known);
	co->known = malloc((snap->n_endpoints ? snap->n_endpoints : 1) * sizeof(*co->known));
	co->n_known = 0;
	for (size_t i = 0; co->known && i < snap->n_endpoints; i++)
		if (snap->endpoints[i].sock_inode)
			co->known[co->n_known++] = snap->endpoints[i].sock_inode;
	pc_ledger_diff_free(&d);
	pc_snapshot_free(snap);
	return 0;
}

/* Sleep (or watch listeners) until the next audit or SIGTERM. */
static void between(struct watch_ctx *w, int64_t wait_ms, bool fast, const struct cycle_opts *co)
{
	if (fast) {
		struct pc_watch_opts o;
		pc_watch_opts_default(&o);
		o.duration_ms = wait_ms;
		/* without the audit's sockets (out of memory) the first pass is a
		 * silent baseline, as for any watch */
		o.known_inodes = co->known;
		o.n_known_inodes = co->known ? co->n_known : 0;
		o.stop = &stop_flag;
		struct pc_error err = {0};
		if (pc_watch_listeners(&o, on_listener, w, NULL, &err) == 0 || stop_flag)
			return;
		log_line("watch: the listener watch stopped (%s); sleeping instead", err.msg);
	}
	double end = pc_monotonic_ms() + (double)wait_ms;
	while (!stop_flag && pc_monotonic_ms() < end) {
		double left = end - pc_monotonic_ms();
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
		if (left < 200)
			ts.tv_nsec = (long)(left * 1e6);
		nanosleep(&ts, NULL);
	}
}

static int run(struct pc_cli *cli, int argc, char **argv)
{
	enum { OPT_INTERVAL = 256, OPT_JITTER, OPT_CYCLES, OPT_NO_LISTEN, OPT_ALERT_ON,
	       OPT_JSONL, OPT_SYSLOG, OPT_WEBHOOK, OPT_WEBHOOK_FORMAT, OPT_WEBHOOK_SECRET,
	       OPT_EXEC, OPT_EXEC_ARG };
	static const struct option longopts[] = {
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"jitter", required_argument, NULL, OPT_JITTER},
		{"cycles", required_argument, NULL, OPT_CYCLES},
		{"no-listen-watch", no_argument, NULL, OPT_NO_LISTEN},
		PC_CLI_AUDIT_LONGOPTS,
		{"alert-on", required_argument, NULL, OPT_ALERT_ON},
		{"alert-jsonl", required_argument, NULL, OPT_JSONL},
		{"alert-syslog", optional_argument, NULL, OPT_SYSLOG},
		{"alert-webhook", required_argument, NULL, OPT_WEBHOOK},
		{"alert-webhook-format", required_argument, NULL, OPT_WEBHOOK_FORMAT},
		{"alert-webhook-secret-file", required_argument, NULL, OPT_WEBHOOK_SECRET},
		{"alert-exec", required_argument, NULL, OPT_EXEC},
		{"alert-exec-arg", required_argument, NULL, OPT_EXEC_ARG},
		{"help", no_argument, NULL, 'h'},
		PC_CLI_LEDGER_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct pc_cli_ledger lo = {0};
	struct watch_ctx w = {.cli = cli, .alert_on = PC_SEV_HIGH};
	int64_t interval = 3600000;
	unsigned long long jitter = 10, cycles = 0;
	bool fast = true;
	struct pc_cli_audit_choice choice;
	pc_cli_audit_choice_init(&choice);
	struct pc_policy *policy = NULL;
	const char *jsonl = NULL, *syslog_sock = NULL, *webhook = NULL, *secret = NULL;
	bool want_syslog = false, slack = false;
	const char *exec_argv[MAX_EXEC_ARGS + 1] = {0};
	size_t n_exec = 0;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INTERVAL:
			if (!parse_duration(optarg, &interval))
				return pc_cli_usage_error(cli, "--interval takes a duration such as 90s, "
							       "15m or 1h, not '%s'", optarg);
			break;
		case OPT_JITTER:
			if (!pc_cli_parse_uint(optarg, 0, 100, &jitter))
				return pc_cli_usage_error(cli, "--jitter takes a percentage (0-100), not '%s'",
							  optarg);
			break;
		case OPT_CYCLES:
			if (!pc_cli_parse_uint(optarg, 1, 1000000000, &cycles))
				return pc_cli_usage_error(cli, "--cycles takes a count, not '%s'", optarg);
			break;
		case OPT_NO_LISTEN:
			fast = false;
			break;
		case OPT_ALERT_ON:
			if (pc_severity_parse(optarg, &w.alert_on) != 0)
				return pc_cli_usage_error(cli, "--alert-on takes critical, high, medium, "
							       "low or info, not '%s'", optarg);
			break;
		case OPT_JSONL:
			jsonl = optarg;
			break;
		case OPT_SYSLOG:
			want_syslog = true;
			syslog_sock = optarg;
			break;
		case OPT_WEBHOOK:
			webhook = optarg;
			break;
		case OPT_WEBHOOK_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "slack") != 0)
				return pc_cli_usage_error(cli, "--alert-webhook-format takes json or slack, "
							       "not '%s'", optarg);
			slack = strcmp(optarg, "slack") == 0;
			break;
		case OPT_WEBHOOK_SECRET:
			secret = optarg;
			break;
		case OPT_EXEC:
			if (n_exec > 0)
				return pc_cli_usage_error(cli, "one --alert-exec program");
			exec_argv[n_exec++] = optarg;
			break;
		case OPT_EXEC_ARG:
			if (n_exec == 0)
				return pc_cli_usage_error(cli, "--alert-exec-arg comes after --alert-exec");
			if (n_exec == MAX_EXEC_ARGS)
				return pc_cli_usage_error(cli, "more than %d --alert-exec-arg",
							  MAX_EXEC_ARGS - 1);
			exec_argv[n_exec++] = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default: {
			if (c == '?' || c == ':')
				return pc_cli_bad_option(cli, c, argv);
			if (pc_cli_audit_option(&choice, c, optarg) == 0)
				break;
			int lr = pc_cli_ledger_option(cli, &lo, c, optarg);
			if (lr == 1)
				return pc_cli_bad_option(cli, '?', argv);
			if (lr)
				return lr;
			break;
		}
		}
	}
	if (optind < argc)
		return pc_cli_usage_error(cli, "watch audits this host; targets are not supported yet");
	const struct pc_report_ops *prom = NULL;
	if (cli->format) {
		if (strcmp(cli->format, "prom") != 0 || !cli->output)
			return pc_cli_usage_error(cli, "watch writes only --format prom, with -o FILE");
		prom = pc_report_find("prom");
	}

	const char *policy_file = choice.policy;
	if (policy_file) {
		int pr = pc_cli_policy_open(cli, policy_file, &policy);
		if (pr)
			return pr;
	}
	struct pc_error err = {0};
	struct pc_alert_config cfg;
	int rc = 0;
	if (jsonl) {
		pc_alert_config_default(&cfg);
		cfg.target = jsonl;
		rc = pc_alert_sinks_add(&w.sinks, "jsonl", &cfg, &err);
	}
	if (!rc && want_syslog) {
		pc_alert_config_default(&cfg);
		cfg.target = syslog_sock;
		rc = pc_alert_sinks_add(&w.sinks, "syslog", &cfg, &err);
	}
	if (!rc && webhook) {
		pc_alert_config_default(&cfg);
		cfg.target = webhook;
		cfg.slack = slack;
		cfg.secret_file = secret;
		if (!secret && getenv("PORTCENSUS_WEBHOOK_SECRET"))
			cfg.secret_env = "PORTCENSUS_WEBHOOK_SECRET";
		rc = pc_alert_sinks_add(&w.sinks, "webhook", &cfg, &err);
	}
	if (!rc && n_exec) {
		pc_alert_config_default(&cfg);
		cfg.argv = exec_argv;
		rc = pc_alert_sinks_add(&w.sinks, "exec", &cfg, &err);
	}
	if (rc) {
		pc_alert_sinks_free(w.sinks);
		pc_policy_free(policy);
		return pc_cli_fail(cli, &err);
	}
	if (pc_alert_sinks_count(w.sinks) == 0)
		pc_cli_note(cli, "no alert sink given: changes are only logged");

	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct sigaction hup = {.sa_handler = on_hup};
	sigaction(SIGHUP, &hup, NULL);
	struct cycle_opts co = {.lo = &lo, .prom = prom, .verify = choice.verify,
				.probe = choice.probe};
	for (unsigned n = 1; !stop_flag; n++) {
		if (reload_flag && policy_file) {
			/* a policy that no longer loads is named (file:line:col) and
			 * the one in force stays */
			reload_flag = 0;
			struct pc_policy *fresh = NULL;
			if (pc_cli_policy_open(cli, policy_file, &fresh) == 0) {
				pc_policy_free(policy);
				policy = fresh;
				log_line("watch: policy %s reloaded", policy_file);
			} else {
				log_line("watch: policy %s not reloaded: keeping the one in force",
					 policy_file);
			}
		}
		co.policy = policy;
		rc = cycle(&w, &co, n);
		if (rc || stop_flag || (cycles && n >= cycles))
			break;
		uint32_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
			rnd = (uint32_t)pc_now_ms();
		int64_t extra = jitter ? (int64_t)((double)interval * (double)jitter / 100.0 *
						   ((double)rnd / 4294967296.0))
				       : 0;
		between(&w, interval + extra, fast, &co);
	}
	if (stop_flag)
		log_line("watch: stopped (%u alerts sent, %u failed)", w.alerts, w.failures);
	pc_alert_sinks_free(w.sinks);
	pc_policy_free(policy);
	free(co.known);
	return rc;
}

const struct pc_cli_command pc_cmd_watch = {
	.name = "watch",
	.summary = "audit on an interval, store, alert on drift and new listeners",
	.usage = usage,
	.run = run,
};
