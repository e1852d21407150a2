/*
 * classify.c - risk scoring: a base from the knowledge base, then context
 * rules, each of which moves the score and says why in one sentence.
 *
 * Why additive weights rather than a matrix: every rule must be explainable
 * on its own ("bound to every interface: +1") and testable on its own, and a
 * person reading the reasons must be able to see what would lower the
 * score. The weights and thresholds are in one table below and in
 * docs/classify.md; the reference cases in tests/unit/test_classify.c pin
 * the outcomes that matter (unauthenticated Redis on 0.0.0.0 is critical,
 * on loopback or with a password it is not).
 *
 * Two rules are floors rather than weights, because a sum can hide them:
 * a low-risk service reachable without authentication from beyond the host
 * is at least medium (no port is harmless by its number or its kind), and
 * an unidentified service is at least low (never info).
 *
 * Strings from the probes (evidence, product, subject) are already
 * printable and capped; they are cut again here so one reason stays one
 * line. Everything allocated goes into the snapshot's arena.
 */
#include "classify/classify.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* Weights (score points) and thresholds; docs/classify.md has the table. */
#define W_BIND_LOOPBACK (-4.0)
#define W_BIND_ONE 0.5
#define W_BIND_ANY 1.0
#define W_BEYOND_HOST 1.0
#define W_SWEEPS_SHUT (-0.5) /* every segment that scanned it found it shut */
#define W_AUTH_NONE 1.5
#define W_AUTH_REQUIRED (-2.0)
#define W_PLAINTEXT 1.0
#define W_SECRETS 1.0
#define W_ROOT 0.5
#define W_SELF_SIGNED 0.5
#define W_EXPIRED 1.0
#define W_SSH_PASSWORD 1.0
#define W_UNDOCUMENTED 1.0
#define FLOOR_EXPOSED 4.0 /* medium */
#define FLOOR_UNKNOWN 2.0 /* low */

#define MAX_REASONS 16

static const double base_score[PC_SEV_COUNT] = {
	[PC_SEV_INFO] = 1.0,   [PC_SEV_LOW] = 3.0,	[PC_SEV_MEDIUM] = 5.0,
	[PC_SEV_HIGH] = 7.0,   [PC_SEV_CRITICAL] = 9.0,
};

enum pc_severity pc_classify_severity_of(double score)
{
	if (score >= 9.0)
		return PC_SEV_CRITICAL;
	if (score >= 7.0)
		return PC_SEV_HIGH;
	if (score >= 4.0)
		return PC_SEV_MEDIUM;
	if (score >= 2.0)
		return PC_SEV_LOW;
	return PC_SEV_INFO;
}

/* Used when the knowledge base lacks "unknown" (a --kb file cannot remove
 * it from the base, but a library user may pass an empty one). */
static const struct pc_kb_service fallback_unknown = {
	.name = (char *)"unknown",
	.category = (char *)"unknown",
	.severity = PC_SEV_MEDIUM,
	.why = (char *)"A service that matched no probe may be anything, and nobody can judge "
		       "its risk until someone knows what it is.",
	.remediation = (char *)"Find the process that owns it and what it serves; document it "
			       "or close the port.",
};

bool pc_classify_applies(const struct pc_endpoint *ep)
{
	return ep->state == PC_STATE_LISTEN || ep->state == PC_STATE_OPEN;
}

/* --- network-side sightings --------------------------------------------- */

/* (family, proto, port, address) of every endpoint a scan or an import saw
 * open, sorted, so that a host listener can ask "did a scan in this
 * snapshot reach me?" in O(log n). */
struct sighting {
	uint8_t family, proto;
	uint16_t port;
	uint8_t bytes[16];
	enum pc_source source;
};

static int cmp_sighting(const void *a, const void *b)
{
	/* everything but the source, which is not part of the key */
	return memcmp(a, b, offsetof(struct sighting, source));
}

static void sighting_of(const struct pc_endpoint *ep, struct sighting *s)
{
	memset(s, 0, sizeof(*s));
	s->family = ep->addr.family;
	s->proto = (uint8_t)ep->proto;
	s->port = ep->port;
	memcpy(s->bytes, ep->addr.bytes, sizeof(s->bytes));
	s->source = ep->source;
}

static bool seen_from_network(const struct pc_endpoint *ep)
{
	return ep->source != PC_SOURCE_HOST && ep->state == PC_STATE_OPEN;
}

struct sightings {
	struct sighting *v;
	size_t n;
	/* the ledger's sweeps (pc_classify_opts.evidence) */
	const struct pc_exposure_evidence *ev;
	size_t n_ev;
};

static int sightings_build(const struct pc_snapshot *snap, struct sightings *ret)
{
	size_t n = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (seen_from_network(&snap->endpoints[i]))
			n++;
	ret->v = NULL;
	ret->n = 0;
	if (!n)
		return 0;
	ret->v = malloc(n * sizeof(*ret->v));
	if (!ret->v)
		return PC_ENOMEM;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (seen_from_network(&snap->endpoints[i]))
			sighting_of(&snap->endpoints[i], &ret->v[ret->n++]);
	qsort(ret->v, ret->n, sizeof(*ret->v), cmp_sighting);
	return 0;
}

static const struct sighting *sightings_find(const struct sightings *s,
					     const struct pc_endpoint *ep)
{
	if (!s->n)
		return NULL;
	struct sighting key;
	sighting_of(ep, &key);
	return bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_sighting);
}

/* --- scoring ------------------------------------------------------------- */

/* Arena copies of the strings every endpoint of one service shares (its
 * category, remediation, and the base reason when no product varies it),
 * made once per run: 50,000 endpoints would otherwise copy the same few
 * hundred bytes 50,000 times, and the copying was most of the time. */
struct shared {
	const char *category, *remediation, *base;
};

struct cache {
	const struct pc_kb *kb;
	struct shared *v; /* kb->n entries, then one for the fallback; or NULL */
	const char *unidentified;
};

static struct shared *shared_of(const struct cache *c, const struct pc_kb_service *k)
{
	if (!c->v)
		return NULL;
	if (k == &fallback_unknown)
		return &c->v[c->kb->n];
	return &c->v[k - c->kb->services];
}

struct scorer {
	struct pc_snapshot *snap;
	struct cache *cache;
	double score;
	const char *reasons[MAX_REASONS];
	size_t n;
	bool oom;
};

static void add(struct scorer *s, double delta, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A reason that is the same for many endpoints: copied once per run into
 * *slot; slot NULL: copied for this endpoint. */
static void add_shared(struct scorer *s, double delta, const char **slot, const char *text)
{
	s->score += delta;
	if (s->n >= MAX_REASONS)
		return;
	if (slot && *slot) {
		s->reasons[s->n++] = *slot;
		return;
	}
	const char *r = pc_arena_strdup(&s->snap->arena, text);
	if (!r) {
		s->oom = true;
		return;
	}
	if (slot)
		*slot = r;
	s->reasons[s->n++] = r;
}

static void add(struct scorer *s, double delta, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	add_shared(s, delta, NULL, buf);
}

/* head + the first `max` bytes of mid (not cutting a UTF-8 character) +
 * tail, straight into the arena: the reasons every endpoint gets (bind,
 * authentication) are built this way because printf was a third of the
 * time of a run. */
static void add_join(struct scorer *s, double delta, const char *head, const char *mid,
		     size_t max, const char *tail)
{
	s->score += delta;
	if (s->n >= MAX_REASONS)
		return;
	size_t h = strlen(head), m = strnlen(mid, max), t = strlen(tail);
	if (m == max)
		while (m > 0 && ((unsigned char)mid[m] & 0xc0) == 0x80)
			m--;
	char *r = pc_arena_alloc(&s->snap->arena, h + m + t + 1);
	if (!r) {
		s->oom = true;
		return;
	}
	memcpy(r, head, h);
	memcpy(r + h, mid, m);
	memcpy(r + h + m, tail, t + 1);
	s->reasons[s->n++] = r;
}

/* "198.18.1.1:6379", "[::]:6379", with "/tcp" when asked */
static const char *hostport(const struct pc_endpoint *ep, bool proto, char *buf, size_t len)
{
	char a[PC_ADDR_STRLEN];
	pc_addr_format(&ep->addr, a, sizeof(a));
	snprintf(buf, len, ep->addr.family == AF_INET6 ? "[%s]:%u%s%s" : "%s:%u%s%s", a,
		 (unsigned)ep->port, proto ? "/" : "", proto ? pc_proto_name(ep->proto) : "");
	return buf;
}

static const char *or_none(const char *s, const char *none)
{
	return s && *s ? s : none;
}

static bool has_method(const struct pc_service *svc, const char *m)
{
	for (size_t i = 0; svc && i < svc->n_auth_methods; i++)
		if (svc->auth_methods[i] && strcmp(svc->auth_methods[i], m) == 0)
			return true;
	return false;
}

static void rule_base(struct scorer *s, const struct pc_endpoint *ep,
		      const struct pc_kb_service *k, bool in_kb)
{
	const struct pc_service *svc = ep->service;
	s->score = base_score[(unsigned)k->severity < PC_SEV_COUNT ? k->severity : PC_SEV_MEDIUM];
	if (!svc || !svc->name)
		add(s, 0, "no service identified (no probe got an answer it recognised): %s",
		    k->why);
	else if (!in_kb)
		add(s, 0, "service '%.64s' is not in the knowledge base: %s", svc->name, k->why);
	else if (strcmp(svc->name, "unknown") == 0)
		add(s, 0, "unidentified service (first bytes: %.80s): %s",
		    or_none(svc->banner, "none"), k->why);
	else if (svc->product)
		add(s, 0, "%s (%.60s%s%.40s) is %s (%s): %s", svc->name, svc->product,
		    svc->version ? " " : "", svc->version ? svc->version : "", k->category,
		    pc_severity_name(k->severity), k->why);
	else {
		char buf[PC_KB_MAX_TEXT + 200];
		snprintf(buf, sizeof(buf), "%s is %s (%s): %s", k->name, k->category,
			 pc_severity_name(k->severity), k->why);
		struct shared *sh = shared_of(s->cache, k);
		add_shared(s, 0, sh ? &sh->base : NULL, buf);
	}
}

static void rule_bind(struct scorer *s, const struct pc_endpoint *ep)
{
	char hp[PC_ADDR_STRLEN + 16];
	hostport(ep, false, hp, sizeof(hp));
	switch (ep->bind) {
	case PC_BIND_LOOPBACK:
		add_join(s, W_BIND_LOOPBACK, "bound to loopback only (", hp, sizeof(hp),
			 "): only processes on this host can connect");
		break;
	case PC_BIND_SPECIFIC:
		add_join(s, W_BIND_ONE, "bound to one address (", hp, sizeof(hp),
			 "): reachable from the networks that address is on");
		break;
	case PC_BIND_ANY:
		add_join(s, W_BIND_ANY, "bound to every interface (", hp, sizeof(hp),
			 "): reachable from every network this host is on");
		break;
	default:
		break;
	}
}

/* The ledger's sweeps (audit --ledger): seen open from a segment is
 * evidence that it is reachable beyond this host; shut (filtered or
 * closed) from every segment that scanned it lowers the weight, though
 * other networks may still reach it. True when seen open. */
static bool rule_sweeps(struct scorer *s, const struct pc_endpoint *ep,
			const struct sightings *seen, const char *hp)
{
	char segs[200] = "";
	size_t k = 0, shut = 0;
	for (size_t i = 0; i < seen->n_ev; i++) {
		const struct pc_exposure_evidence *e = &seen->ev[i];
		if (e->netns_inode != ep->netns.inode || e->proto != ep->proto ||
		    e->port != ep->port || !pc_addr_equal(&e->bound, &ep->addr))
			continue;
		char a[PC_ADDR_STRLEN];
		pc_addr_format(&e->addr, a, sizeof(a));
		const char *seg = *e->segment ? e->segment : "no named segment";
		if (e->seen == PC_STATE_OPEN) {
			add(s, W_BEYOND_HOST,
			    "reachable beyond this host: sweep %s from segment %s found %s:%u open",
			    e->sweep, seg, a, ep->port);
			return true;
		}
		shut++;
		if (k < sizeof(segs) && !strstr(segs, seg))
			k += (size_t)snprintf(segs + k, sizeof(segs) - k, "%s%s (sweep %s)",
					      k ? ", " : "", seg, e->sweep);
	}
	if (shut)
		add(s, W_SWEEPS_SHUT,
		    "not reached from the segments that scanned it: %s found %s filtered or "
		    "closed",
		    segs, hp);
	return false;
}

/* Returns true when the endpoint was seen from beyond the host. */
static bool rule_beyond_host(struct scorer *s, const struct pc_endpoint *ep,
			     const struct sightings *seen)
{
	char hp[PC_ADDR_STRLEN + 16];
	hostport(ep, true, hp, sizeof(hp));
	if (ep->source == PC_SOURCE_SCAN && ep->state == PC_STATE_OPEN) {
		add(s, W_BEYOND_HOST, "reachable beyond this host: a network scan found %s open",
		    hp);
		return true;
	}
	if (ep->source == PC_SOURCE_IMPORT && ep->state == PC_STATE_OPEN) {
		add(s, W_BEYOND_HOST,
		    "reachable beyond this host: imported scan results list %s open%s", hp,
		    ep->recheck == PC_RECHECK_CONFIRMED ? ", confirmed by a live re-check" : "");
		return true;
	}
	if (ep->source == PC_SOURCE_HOST && ep->bind != PC_BIND_LOOPBACK) {
		const struct sighting *hit = sightings_find(seen, ep);
		if (hit) {
			add(s, W_BEYOND_HOST,
			    "reachable beyond this host: %s in this snapshot found %s open",
			    hit->source == PC_SOURCE_SCAN ? "a network scan"
							  : "imported scan results",
			    hp);
			return true;
		}
		return rule_sweeps(s, ep, seen, hp);
	}
	return false;
}

static void rule_auth(struct scorer *s, const struct pc_endpoint *ep)
{
	const struct pc_service *svc = ep->service;
	enum pc_auth auth = svc ? svc->auth : PC_AUTH_UNKNOWN;
	const char *ev = svc ? or_none(svc->evidence, "no evidence recorded") : "not probed";
	switch (auth) {
	case PC_AUTH_NONE:
		add_join(s, W_AUTH_NONE, "answers without authentication: ", ev, 200, "");
		break;
	case PC_AUTH_REQUIRED:
		add_join(s, W_AUTH_REQUIRED, "requires authentication: ", ev, 200, "");
		break;
	default:
		add_join(s, 0, "authentication unknown (", ev, 200,
			 "): treated as unknown, not as safe");
		break;
	}
}

static bool tls_on(const struct pc_service *svc)
{
	return svc && (svc->tls == PC_TRI_TRUE || svc->tls_info);
}

static void rule_plaintext(struct scorer *s, const struct pc_endpoint *ep,
			   const struct pc_kb_service *k)
{
	const struct pc_service *svc = ep->service;
	if (!svc || !svc->name || tls_on(svc))
		return;
	const char *ev = or_none(svc->evidence, "no evidence recorded");
	if (k->plaintext) {
		add(s, W_PLAINTEXT,
		    "credentials and data cross the network in clear text: %s without TLS "
		    "(%.160s)",
		    svc->name, ev);
	} else if (strncmp(svc->name, "http", 4) == 0 && svc->evidence &&
		   strcasestr(svc->evidence, "WWW-Authenticate Basic")) {
		add(s, W_PLAINTEXT,
		    "HTTP basic authentication without TLS (%.160s): passwords cross the network "
		    "only base64-encoded",
		    ev);
	} else if (strcmp(svc->name, "postgresql") == 0 && svc->auth == PC_AUTH_REQUIRED &&
		   svc->evidence && strstr(svc->evidence, "server asked for")) {
		add(s, W_PLAINTEXT,
		    "PostgreSQL password authentication without TLS (%.160s): the login "
		    "exchange and every query cross the network in clear text",
		    ev);
	}
}

static void rule_secrets(struct scorer *s, const struct pc_endpoint *ep,
			 const struct pc_kb_service *k)
{
	const struct pc_service *svc = ep->service;
	if (!svc || !svc->name)
		return;
	const char *ev = or_none(svc->evidence, "no evidence recorded");
	if (k->secrets && svc->auth == PC_AUTH_NONE) {
		add(s, W_SECRETS,
		    "exposes configuration, secrets or control without authentication: %s (%.160s)",
		    svc->name, ev);
		return;
	}
	/* the http probe notes other open debug paths: "also open: /debug/pprof/" */
	const char *also = svc->evidence ? strstr(svc->evidence, "also open:") : NULL;
	if (also && (strstr(also, "/debug/pprof") || strstr(also, "/actuator")))
		add(s, W_SECRETS,
		    "exposes a debug or configuration endpoint without authentication (%.120s)",
		    also);
}

/* Every owner whose uid is known runs as root. A pre-fork server whose
 * master is root but whose workers (the processes that parse requests)
 * dropped to another user, as nginx and Apache do, does not count. */
static void rule_root(struct scorer *s, const struct pc_endpoint *ep)
{
	const struct pc_owner *root = NULL;
	for (size_t i = 0; i < ep->n_owners; i++) {
		const struct pc_owner *o = &ep->owners[i];
		if (o->uid > 0)
			return;
		if (o->uid == 0 && !root)
			root = o;
	}
	if (root)
		add(s, W_ROOT,
		    "runs as root (pid %d %.40s, uid 0): a flaw in the service is a flaw in the "
		    "whole host",
		    root->pid, or_none(root->comm, "?"));
}

static void rule_certificate(struct scorer *s, const struct pc_endpoint *ep, const char *now)
{
	const struct pc_tls_info *t = ep->service ? ep->service->tls_info : NULL;
	if (!t)
		return;
	if (t->self_signed == PC_TRI_TRUE)
		add(s, W_SELF_SIGNED,
		    "presents a self-signed certificate (subject %.120s): clients cannot tell it "
		    "from an impostor without pinning it",
		    or_none(t->subject, "empty"));
	/* both are ISO 8601 UTC of the same shape, so they compare as text */
	if (t->not_after && strlen(t->not_after) == 20 && strcmp(t->not_after, now) < 0)
		add(s, W_EXPIRED,
		    "presents an expired certificate (not after %s): clients that check it "
		    "fail, and those that do not are trained to ignore warnings",
		    t->not_after);
}

static void rule_ssh_password(struct scorer *s, const struct pc_endpoint *ep)
{
	const struct pc_service *svc = ep->service;
	if (!svc || !has_method(svc, "password"))
		return;
	char list[200] = "";
	for (size_t i = 0; i < svc->n_auth_methods && i < 8; i++) {
		size_t n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%.40s", i ? ", " : "",
			 or_none(svc->auth_methods[i], "?"));
	}
	add(s, W_SSH_PASSWORD,
	    "SSH accepts password authentication (methods offered: %s): passwords can be "
	    "guessed from the network, keys cannot",
	    list);
}

static void rule_policy(struct scorer *s, const struct pc_endpoint *ep)
{
	if (ep->policy && ep->policy->verdict == PC_VERDICT_UNDOCUMENTED)
		add(s, W_UNDOCUMENTED,
		    "not covered by the policy: no rule documents this listener, so nobody has "
		    "said it should exist");
}

static void raise_to(struct scorer *s, double floor)
{
	if (s->score < floor)
		s->score = floor;
}

static int classify_one(struct pc_snapshot *snap, const struct pc_kb *kb,
			struct pc_endpoint *ep, const struct sightings *seen, const char *now,
			struct cache *cache, struct pc_error *err)
{
	if (!pc_classify_applies(ep)) {
		ep->risk = NULL;
		return 0;
	}
	const struct pc_service *svc = ep->service;
	const char *name = svc && svc->name ? svc->name : "unknown";
	const struct pc_kb_service *k = pc_kb_find(kb, name);
	bool in_kb = k != NULL;
	if (!k)
		k = pc_kb_find(kb, "unknown");
	if (!k)
		k = &fallback_unknown;
	bool unidentified = !in_kb || !svc || !svc->name || strcmp(svc->name, "unknown") == 0;

	struct scorer s = {.snap = snap, .cache = cache};
	rule_base(&s, ep, k, in_kb);
	rule_bind(&s, ep);
	bool beyond = rule_beyond_host(&s, ep, seen);
	rule_auth(&s, ep);
	rule_plaintext(&s, ep, k);
	rule_secrets(&s, ep, k);
	rule_root(&s, ep);
	rule_certificate(&s, ep, now);
	rule_ssh_password(&s, ep);
	rule_policy(&s, ep);

	bool exposed = beyond || ep->bind == PC_BIND_ANY || ep->bind == PC_BIND_SPECIFIC;
	if (!unidentified && k->severity <= PC_SEV_LOW && svc && svc->auth == PC_AUTH_NONE &&
	    exposed) {
		add(&s, 0,
		    "%s is %s by its kind, but it answers without authentication from beyond "
		    "this host: rated at least medium",
		    svc->name, pc_severity_name(k->severity));
		raise_to(&s, FLOOR_EXPOSED);
	}
	if (unidentified) {
		add_shared(&s, 0, &cache->unidentified,
			   "unidentified: what answers here is not known, so it is rated at least "
			   "low, never info");
		raise_to(&s, FLOOR_UNKNOWN);
	}

	struct pc_risk *r = pc_arena_alloc(&snap->arena, sizeof(*r));
	const char **reasons = s.n ? pc_arena_alloc(&snap->arena, s.n * sizeof(*reasons)) : NULL;
	if (!r || s.oom || (s.n && !reasons))
		return pc_error_set(err, PC_ENOMEM, "out of memory classifying endpoints");
	memcpy(reasons, s.reasons, s.n * sizeof(*reasons));
	double score = s.score < 0 ? 0 : s.score > 10 ? 10 : s.score;
	score = round(score * 10) / 10;
	r->score = score;
	r->severity = pc_classify_severity_of(score);
	/* copied: a snapshot may outlive the knowledge base it was scored with */
	struct shared *sh = shared_of(cache, k);
	r->category = sh && sh->category ? sh->category : pc_snapshot_strdup(snap, k->category);
	r->remediation = sh && sh->remediation ? sh->remediation
					       : pc_snapshot_strdup(snap, k->remediation);
	if (!r->category || !r->remediation)
		return pc_error_set(err, PC_ENOMEM, "out of memory classifying endpoints");
	if (sh) {
		sh->category = r->category;
		sh->remediation = r->remediation;
	}
	r->reasons = reasons;
	r->n_reasons = s.n;
	ep->risk = r;
	return 0;
}

static const char *now_text(const struct pc_snapshot *snap, const struct pc_classify_opts *opts,
			    char *buf, size_t len)
{
	int64_t ms = opts && opts->now_ms ? opts->now_ms : snap->started_at_ms;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "0000");
	return buf;
}

int pc_classify_run(struct pc_snapshot *snap, const struct pc_kb *kb,
		    const struct pc_classify_opts *opts, struct pc_error *err)
{
	struct sightings seen = {0};
	if (sightings_build(snap, &seen) < 0)
		return pc_error_set(err, PC_ENOMEM, "out of memory classifying endpoints");
	if (opts) {
		seen.ev = opts->evidence;
		seen.n_ev = opts->n_evidence;
	}
	char now[32];
	now_text(snap, opts, now, sizeof(now));
	/* without the cache (ENOMEM) every endpoint copies its own strings */
	struct cache cache = {.kb = kb, .v = calloc(kb->n + 1, sizeof(struct shared))};
	int r = 0;
	for (size_t i = 0; i < snap->n_endpoints && r == 0; i++)
		r = classify_one(snap, kb, &snap->endpoints[i], &seen, now, &cache, err);
	free(cache.v);
	free(seen.v);
	return r;
}

int pc_classify_endpoint(struct pc_snapshot *snap, const struct pc_kb *kb,
			 struct pc_endpoint *ep, const struct pc_classify_opts *opts,
			 struct pc_error *err)
{
	/* only the sightings of this endpoint's key matter: collect those */
	struct sighting one[1];
	struct sightings seen = {one, 0, opts ? opts->evidence : NULL, opts ? opts->n_evidence : 0};
	struct sighting key;
	sighting_of(ep, &key);
	for (size_t i = 0; i < snap->n_endpoints && !seen.n; i++) {
		const struct pc_endpoint *o = &snap->endpoints[i];
		if (!seen_from_network(o))
			continue;
		struct sighting k2;
		sighting_of(o, &k2);
		if (cmp_sighting(&key, &k2) == 0)
			one[seen.n++] = k2;
	}
	char now[32];
	now_text(snap, opts, now, sizeof(now));
	struct cache cache = {.kb = kb};
	return classify_one(snap, kb, ep, &seen, now, &cache, err);
}

bool pc_classify_worst(const struct pc_snapshot *snap, enum pc_severity *ret)
{
	bool any = false;
	enum pc_severity worst = PC_SEV_INFO;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_risk *r = snap->endpoints[i].risk;
		if (!r)
			continue;
		if (!any || r->severity > worst)
			worst = r->severity;
		any = true;
	}
	if (any)
		*ret = worst;
	return any;
}
