/*
 * recheck.c - the live half of `verify`: is each port a file claims is open
 * still open, and is it still the service the file said?
 *
 * Step 1, reachability, from the namespace verify runs in, by the dialler
 * that audit's live check uses too (probe/dial.c: a deadline per endpoint,
 * at most `parallel` in flight, connections closed with an RST so a big
 * file leaves no TIME_WAIT behind). This file reads its outcomes: a TCP
 * refusal is "closed now", silence or an ICMP unreachable is "filtered
 * now". UDP gets one empty datagram on a connected socket: a reply is open,
 * an ICMP port-unreachable (ECONNREFUSED) is closed, silence is
 * "open|filtered" until a UDP probe gets an answer.
 *
 * Step 2, identification: pc_probe_run over what answered.
 *
 * Step 3, the verdict (pc_import_judge), with the aliasing rules of
 * pc_import_same_service: different tools name the same service differently
 * ("memcache", "ssl/http", "etcd-client"), and a verdict of "different
 * service" must mean the protocol really differs.
 *
 * With opts->privsep, all three steps run in a confined worker
 * (privsep.h): it reads what the network sends; this process only parsed
 * the file, and takes the verdicts back as hostile input.
 */
#include "import/import.h"
#include "privsep/privsep.h"
#include "probe/dial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void pc_recheck_opts_default(struct pc_recheck_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1500;
	o->parallel = 64;
	o->rate = PC_RECHECK_RATE;
	o->probe = true;
	o->probe_opts.timeout_ms = 2000;
	o->probe_opts.parallel = 32;
	o->probe_opts.host_inflight = 4;
}

enum outcome { OUT_OPEN, OUT_CLOSED, OUT_FILTERED, OUT_SILENT };

static const char *errno_text(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case EHOSTUNREACH:
		return "host unreachable";
	case ENETUNREACH:
		return "network unreachable";
	case EACCES:
	case EPERM:
		return "prohibited by a firewall";
	case ECONNRESET:
		return "reset";
	}
	return NULL;
}

static void finish(struct pc_snapshot *snap, struct pc_endpoint *ep, enum outcome out, int error,
		   double rtt)
{
	ep->verified.done = true;
	ep->verified.reachable = out == OUT_OPEN;
	ep->verified.rtt_ms = out == OUT_OPEN ? rtt : -1;
	switch (out) {
	case OUT_OPEN:
		ep->state = PC_STATE_OPEN;
		ep->rtt_ms = rtt;
		ep->verified.error = NULL;
		break;
	case OUT_CLOSED:
		ep->state = PC_STATE_CLOSED;
		ep->verified.error = ep->proto == PC_PROTO_UDP ? "port unreachable" : "refused";
		break;
	case OUT_SILENT:
		ep->state = PC_STATE_OPEN_FILTERED;
		ep->verified.reachable = false;
		ep->verified.error = "no reply";
		break;
	case OUT_FILTERED: {
		ep->state = PC_STATE_FILTERED;
		const char *t = errno_text(error);
		if (!t) {
			char *s = pc_arena_printf(&snap->arena, "%s", strerror(error));
			t = s ? s : "error";
		}
		ep->verified.error = t;
		break;
	}
	}
}

static bool wants_check(const struct pc_endpoint *ep)
{
	return ep->source == PC_SOURCE_IMPORT && ep->state == PC_STATE_OPEN;
}

struct run {
	struct pc_snapshot *snap;
	size_t next; /* next endpoint index to look at */
	struct pc_error *err;
};

/* The dialler's next job: the next claim of the file, dialled from here. */
static int next_claim(void *ctx, struct pc_dial_job *job)
{
	struct run *r = ctx;
	while (r->next < r->snap->n_endpoints) {
		size_t i = r->next++;
		const struct pc_endpoint *ep = &r->snap->endpoints[i];
		if (!wants_check(ep))
			continue;
		*job = (struct pc_dial_job){
			.idx = i, .ep = ep, .addr = ep->addr, .port = ep->port, .proto = ep->proto,
		};
		return 1;
	}
	return 0;
}

/* What came back, as the claim's state now. A connection to ourselves is
 * no service: closed. Running out of sockets stops the run, since every
 * verdict after it would be a lie. */
static int judge_reach(void *ctx, const struct pc_dial_job *job)
{
	struct run *r = ctx;
	struct pc_endpoint *ep = &r->snap->endpoints[job->idx];
	int e = job->error;
	if (job->status == PC_DIAL_NO_SOCKET &&
	    (e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOBUFS))
		return pc_error_set(r->err, -e, "socket: %s", strerror(e));
	switch (job->status) {
	case PC_DIAL_OPEN:
		finish(r->snap, ep, OUT_OPEN, 0, job->rtt_ms);
		break;
	case PC_DIAL_REFUSED:
	case PC_DIAL_SELF:
		finish(r->snap, ep, OUT_CLOSED, ECONNREFUSED, -1);
		break;
	case PC_DIAL_TIMEOUT:
		finish(r->snap, ep, ep->proto == PC_PROTO_UDP ? OUT_SILENT : OUT_FILTERED, e, -1);
		break;
	default: /* unreachable, another errno, no socket */
		finish(r->snap, ep, OUT_FILTERED, e, -1);
		break;
	}
	return 0;
}

static int reach_all(struct pc_snapshot *snap, const struct pc_recheck_opts *o,
		     struct pc_error *err)
{
	struct run r = {.snap = snap, .err = err};
	struct pc_dial_opts d = {
		.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1500,
		.parallel = o->parallel ? o->parallel : 64,
		.rate = o->rate,
	};
	return pc_dial_run(&d, next_claim, judge_reach, &r, err);
}

/* ---- service names ---- */

struct alias {
	const char *name, *canon;
};

/* Names other tools use, folded to one name per protocol. */
static const struct alias aliases[] = {
	{"www", "http"},          {"www-http", "http"},      {"http-alt", "http"},
	{"http-proxy", "http"},   {"https", "http"},         {"https-alt", "http"},
	{"http-mgmt", "http"},    {"webcache", "http"},      {"memcache", "memcached"},
	{"postgres", "postgresql"}, {"pgsql", "postgresql"}, {"mariadb", "mysql"},
	{"openssh", "ssh"},       {"mosquitto", "mqtt"},     {"secure-mqtt", "mqtt"},
	{"etcd-client", "etcd"},  {"etcd-server", "etcd"},   {"domain", "dns"},
	{"microsoft-ds", "smb"},  {"netbios-ssn", "smb"},    {"cifs", "smb"},
	{"imaps", "imap"},        {"imap4", "imap"},         {"pop3s", "pop3"},
	{"smtps", "smtp"},        {"submission", "smtp"},    {"ftps", "ftp"},
	{"ldaps", "ldap"},        {"amqps", "amqp"},         {"mongod", "mongodb"},
	{"sunrpc", "rpcbind"},    {"ms-wbt-server", "rdp"},  {"ssl", "tls"},
	{"node_exporter", "prometheus"}, {"node-exporter", "prometheus"},
	{"prometheus-node-exporter", "prometheus"}, {"prometheus-metrics", "prometheus"},
	{"metrics", "prometheus"},
	{"redis-server", "redis"}, {"zookeeper", "zookeeper"},
};

/* Services whose wire protocol is HTTP: a file that says "http" is right
 * about them. */
static const char *const over_http[] = {
	"etcd", "docker", "kubernetes", "kubelet", "consul", "elasticsearch", "opensearch",
	"prometheus", "pprof", "spring-boot", "actuator", "admin", "couchdb", "influxdb",
	"grafana", "kibana", "jenkins", "vault", "minio", "rabbitmq-management",
};

/* Names that say "TLS" about the transport (nmap's https, ssl/..., *s). */
static bool claims_tls(const char *s)
{
	if (strncasecmp(s, "ssl/", 4) == 0 || strcasecmp(s, "https") == 0 ||
	    strcasecmp(s, "ssl") == 0 || strcasecmp(s, "tls") == 0)
		return true;
	static const char *const tls_names[] = {"imaps", "pop3s", "smtps", "ftps", "ldaps",
						"amqps", "secure-mqtt", "https-alt"};
	for (size_t i = 0; i < sizeof(tls_names) / sizeof(tls_names[0]); i++)
		if (strcasecmp(s, tls_names[i]) == 0)
			return true;
	return false;
}

static void canon(const char *in, char *out, size_t outlen)
{
	if (strncasecmp(in, "ssl/", 4) == 0)
		in += 4;
	size_t n = 0;
	for (; in[n] && n + 1 < outlen; n++) {
		char ch = in[n];
		out[n] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	/* nmap marks uncertain names with a trailing '?' */
	if (n && out[n - 1] == '?')
		out[--n] = '\0';
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(out, aliases[i].name) == 0) {
			snprintf(out, outlen, "%s", aliases[i].canon);
			return;
		}
	}
}

static bool is_over_http(const char *c)
{
	for (size_t i = 0; i < sizeof(over_http) / sizeof(over_http[0]); i++)
		if (strncmp(c, over_http[i], strlen(over_http[i])) == 0)
			return true;
	return false;
}

bool pc_import_same_service(const char *claimed, const struct pc_service *found)
{
	if (!claimed || !found || !found->name)
		return false;
	if (claims_tls(claimed) && found->tls == PC_TRI_FALSE)
		return false; /* the file promised TLS; there is none now */
	char cl[80], fn[80], fp[80] = "";
	canon(claimed, cl, sizeof(cl));
	canon(found->name, fn, sizeof(fn));
	if (found->product)
		canon(found->product, fp, sizeof(fp));
	if (strcmp(cl, "tls") == 0)
		return found->tls == PC_TRI_TRUE || strcmp(fn, "tls") == 0;
	if (strcmp(cl, fn) == 0 || (fp[0] && strcmp(cl, fp) == 0))
		return true;
	bool cl_http = strcmp(cl, "http") == 0 || is_over_http(cl);
	bool fn_http = strcmp(fn, "http") == 0 || is_over_http(fn);
	/* "http" and an API spoken over HTTP are the same wire protocol, in
	 * either direction (a file may name the API, the probe only HTTP) */
	if (cl_http && fn_http && (strcmp(cl, "http") == 0 || strcmp(fn, "http") == 0))
		return true;
	return false;
}

static const char *describe(struct pc_snapshot *snap, const struct pc_service *s)
{
	const char *d = pc_arena_printf(&snap->arena, "%s%s%s%s%s%s", s->name,
					s->product ? " (" : "", s->product ? s->product : "",
					s->product && s->version ? " " : "",
					s->product && s->version ? s->version : "",
					s->product ? ")" : "");
	return d ? d : s->name;
}

void pc_import_judge(struct pc_snapshot *snap, struct pc_endpoint *ep, bool claim_guessed)
{
	/* a probe engine may name what it could not identify "unknown" */
	const struct pc_service *s = ep->service && ep->service->name &&
						     strcmp(ep->service->name, "unknown") != 0
					     ? ep->service
					     : NULL;
	const char *claim = ep->claimed_service;
	struct pc_arena *a = &snap->arena;
	if (s && ep->state != PC_STATE_OPEN)
		ep->state = PC_STATE_OPEN; /* a UDP probe got an answer */
	switch (ep->state) {
	case PC_STATE_CLOSED:
		ep->recheck = PC_RECHECK_CLOSED;
		ep->recheck_reason = ep->proto == PC_PROTO_UDP ? "port unreachable now"
							      : "connection refused now";
		return;
	case PC_STATE_FILTERED:
		ep->recheck = PC_RECHECK_FILTERED;
		ep->recheck_reason = pc_arena_printf(a, "no connection now: %s",
						     ep->verified.error ? ep->verified.error
									: "no answer");
		return;
	case PC_STATE_OPEN_FILTERED:
		ep->recheck = PC_RECHECK_FILTERED;
		ep->recheck_reason = "no reply to udp probes now (open or filtered)";
		return;
	default:
		break;
	}
	ep->recheck = PC_RECHECK_CONFIRMED;
	if (!claim) {
		ep->recheck_reason = s ? pc_arena_printf(a, "open; it is %s", describe(snap, s))
				       : "open";
		return;
	}
	if (!s) {
		ep->recheck_reason = pc_arena_printf(a, "open; the service did not identify "
							"itself, so \"%s\" is unchecked",
						     claim);
		return;
	}
	if (pc_import_same_service(claim, s)) {
		ep->recheck_reason = pc_arena_printf(a, "open; it is %s", describe(snap, s));
		return;
	}
	if (claim_guessed) {
		ep->recheck_reason = pc_arena_printf(a, "open; file guessed %s from the port "
							"number; it is %s",
						     claim, describe(snap, s));
		return;
	}
	ep->recheck = PC_RECHECK_DIFFERENT;
	bool tls_lost = claims_tls(claim) && s->tls == PC_TRI_FALSE;
	ep->recheck_reason = pc_arena_printf(a, "file says %s; it is %s%s", claim, describe(snap, s),
					     tls_lost ? " without TLS" : "");
}

struct recheck_args {
	const unsigned char *guessed;
	size_t n_guessed;
	const struct pc_recheck_opts *opts;
};

/* The three steps; in the worker when privsep is on (ps is then its
 * channel, unused: verify dials from its own namespace). */
static int recheck(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
		   struct pc_error *err)
{
	(void)ps;
	const struct recheck_args *a = arg;
	const struct pc_recheck_opts *opts = a->opts;
	const unsigned char *guessed = a->guessed;
	size_t n_guessed = a->n_guessed;
	/* which endpoints this call judges (the snapshot may hold others) */
	size_t n = snap->n_endpoints;
	unsigned char *mine = calloc(n ? n : 1, 1);
	if (!mine)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		mine[i] = wants_check(&snap->endpoints[i]);
	int r = reach_all(snap, opts, err);
	if (r >= 0 && opts->probe) {
		bool any = false;
		for (size_t i = 0; i < n && !any; i++)
			any = mine[i] && (snap->endpoints[i].state == PC_STATE_OPEN ||
					  snap->endpoints[i].proto == PC_PROTO_UDP);
		if (any)
			r = pc_probe_run(snap, &opts->probe_opts, err);
	}
	if (r >= 0) {
		for (size_t i = 0; i < n; i++) {
			if (!mine[i])
				continue;
			struct pc_endpoint *ep = &snap->endpoints[i];
			pc_import_judge(snap, ep, guessed && i < n_guessed && guessed[i]);
			/* without probes (or beyond the per-host cap) a claim is
			 * unchecked because we did not ask, not because the
			 * service kept quiet */
			if ((!opts->probe || ep->probe_skipped) &&
			    ep->recheck == PC_RECHECK_CONFIRMED && ep->claimed_service)
				ep->recheck_reason = pc_arena_printf(
					&snap->arena, "open; not probed%s, so \"%s\" is unchecked",
					ep->probe_skipped ? " (per-host cap)" : "",
					ep->claimed_service);
		}
	}
	free(mine);
	return r;
}

int pc_import_recheck(struct pc_snapshot *snap, const unsigned char *guessed, size_t n_guessed,
		      const struct pc_recheck_opts *opts, struct pc_error *err)
{
	struct pc_recheck_opts def;
	if (!opts) {
		pc_recheck_opts_default(&def);
		opts = &def;
	}
	struct recheck_args a = {.guessed = guessed, .n_guessed = n_guessed, .opts = opts};
	if (!opts->privsep)
		return recheck(NULL, snap, &a, err);
	struct pc_privsep_hooks h = {.close_fds = true, .tls = opts->probe};
	return pc_privsep_run(snap, opts->privsep, &h, recheck, &a, err);
}
