/*
 * model.c - snapshot lifetime, endpoint vector, enum names, time helpers.
 */
#include "core/model.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct pc_snapshot *pc_snapshot_new(const char *command)
{
	struct pc_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pc_arena_init(&s->arena);
	char host[256];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	s->host = pc_arena_strdup(&s->arena, host);
	s->command = pc_arena_strdup(&s->arena, command ? command : "");
	s->started_at_ms = pc_now_ms();
	if (!s->host || !s->command) {
		pc_snapshot_free(s);
		return NULL;
	}
	return s;
}

void pc_snapshot_free(struct pc_snapshot *s)
{
	if (!s)
		return;
	free(s->endpoints);
	free(s->warnings);
	free(s->findings);
	free(s->addresses);
	pc_arena_free(&s->arena);
	free(s);
}

struct pc_endpoint *pc_snapshot_add_endpoint(struct pc_snapshot *s)
{
	if (s->n_endpoints == s->cap_endpoints) {
		size_t n = s->cap_endpoints ? s->cap_endpoints * 2 : 64;
		struct pc_endpoint *p = realloc(s->endpoints, n * sizeof(*p));
		if (!p)
			return NULL;
		s->endpoints = p;
		s->cap_endpoints = n;
	}
	struct pc_endpoint *e = &s->endpoints[s->n_endpoints++];
	memset(e, 0, sizeof(*e));
	e->rtt_ms = -1;
	e->verified.rtt_ms = -1;
	return e;
}

int pc_snapshot_warn(struct pc_snapshot *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < s->n_warnings; i++)
		if (strcmp(s->warnings[i], msg) == 0)
			return 0;
	if (s->n_warnings == s->cap_warnings) {
		size_t n = s->cap_warnings ? s->cap_warnings * 2 : 8;
		const char **p = realloc(s->warnings, n * sizeof(*p));
		if (!p)
			return -1001;
		s->warnings = p;
		s->cap_warnings = n;
	}
	const char *copy = pc_arena_strdup(&s->arena, msg);
	if (!copy)
		return -1001;
	s->warnings[s->n_warnings++] = copy;
	return 0;
}

void pc_snapshot_finish(struct pc_snapshot *s)
{
	s->finished_at_ms = pc_now_ms();
}

static int cmp_endpoint(const void *pa, const void *pb)
{
	const struct pc_endpoint *a = pa, *b = pb;
	if (a->source != b->source)
		return a->source < b->source ? -1 : 1;
	if (a->netns.inode != b->netns.inode)
		return a->netns.inode < b->netns.inode ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	int c = pc_addr_compare(&a->addr, &b->addr);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->state != b->state)
		return a->state < b->state ? -1 : 1;
	c = pc_addr_compare(&a->peer_addr, &b->peer_addr);
	if (c)
		return c;
	if (a->peer_port != b->peer_port)
		return a->peer_port < b->peer_port ? -1 : 1;
	return 0;
}

static int cmp_endpoint_at(const void *pa, const void *pb, void *ctx)
{
	const struct pc_endpoint *e = ctx;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = cmp_endpoint(&e[a], &e[b]);
	return c ? c : a < b ? -1 : a > b;
}

/* Forward targets point at their backend by index (backend_index): sort a
 * permutation, then move the endpoints and renumber the targets. */
static void sort_renumbered(struct pc_snapshot *s)
{
	size_t n = s->n_endpoints;
	size_t *perm = malloc(n * sizeof(*perm));
	size_t *where = malloc(n * sizeof(*where));
	struct pc_endpoint *sorted = malloc(n * sizeof(*sorted));
	if (!perm || !where || !sorted) {
		/* unsorted but consistent beats sorted and wrong */
		free(perm);
		free(where);
		free(sorted);
		return;
	}
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	qsort_r(perm, n, sizeof(*perm), cmp_endpoint_at, s->endpoints);
	for (size_t i = 0; i < n; i++) {
		sorted[i] = s->endpoints[perm[i]];
		where[perm[i]] = i;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; sorted[i].forward && k < sorted[i].forward->n_to; k++) {
			long *b = &sorted[i].forward->to[k].backend_index;
			if (*b >= 0 && (size_t)*b < n)
				*b = (long)where[*b];
		}
	memcpy(s->endpoints, sorted, n * sizeof(*sorted));
	free(perm);
	free(where);
	free(sorted);
}

void pc_snapshot_sort(struct pc_snapshot *s)
{
	if (s->n_endpoints < 2)
		return;
	for (size_t i = 0; i < s->n_endpoints; i++)
		if (s->endpoints[i].forward) {
			sort_renumbered(s);
			return;
		}
	qsort(s->endpoints, s->n_endpoints, sizeof(*s->endpoints), cmp_endpoint);
}

char *pc_snapshot_strdup(struct pc_snapshot *s, const char *str)
{
	return pc_arena_strdup(&s->arena, str);
}

struct pc_owner *pc_snapshot_owners(struct pc_snapshot *s, size_t n)
{
	if (n == 0 || n > SIZE_MAX / sizeof(struct pc_owner))
		return NULL;
	struct pc_owner *o = pc_arena_alloc(&s->arena, n * sizeof(*o));
	if (o)
		for (size_t i = 0; i < n; i++)
			o[i].uid = -1;
	return o;
}

struct pc_service *pc_snapshot_service(struct pc_snapshot *s)
{
	struct pc_service *svc = pc_arena_alloc(&s->arena, sizeof(*svc));
	if (svc)
		svc->tls = PC_TRI_UNKNOWN;
	return svc;
}

void pc_endpoint_dial_addr(const struct pc_endpoint *ep, struct pc_addr *ret_addr)
{
	struct pc_addr a = ep->addr;
	if (pc_addr_is_any(&a)) {
		memset(a.bytes, 0, sizeof(a.bytes));
		if (a.family == AF_INET) {
			a.bytes[0] = 127;
			a.bytes[3] = 1;
		} else {
			a.bytes[15] = 1;
		}
	}
	*ret_addr = a;
}

enum pc_bind pc_bind_of(const struct pc_addr *a)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return PC_BIND_UNKNOWN;
	if (pc_addr_is_any(a))
		return PC_BIND_ANY;
	if (pc_addr_is_loopback(a))
		return PC_BIND_LOOPBACK;
	return PC_BIND_SPECIFIC;
}

const char *pc_proto_name(enum pc_proto p)
{
	return p == PC_PROTO_UDP ? "udp" : "tcp";
}

const char *pc_source_name(enum pc_source s)
{
	switch (s) {
	case PC_SOURCE_HOST:
		return "host";
	case PC_SOURCE_SCAN:
		return "scan";
	case PC_SOURCE_IMPORT:
		return "import";
	}
	return "unknown";
}

const char *pc_state_name(enum pc_state s)
{
	switch (s) {
	case PC_STATE_LISTEN:
		return "listen";
	case PC_STATE_ESTABLISHED:
		return "established";
	case PC_STATE_OPEN:
		return "open";
	case PC_STATE_CLOSED:
		return "closed";
	case PC_STATE_FILTERED:
		return "filtered";
	case PC_STATE_OPEN_FILTERED:
		return "open|filtered";
	case PC_STATE_FORWARDED:
		return "forwarded";
	}
	return "unknown";
}

const char *pc_bind_name(enum pc_bind b)
{
	switch (b) {
	case PC_BIND_LOOPBACK:
		return "loopback";
	case PC_BIND_ANY:
		return "any";
	case PC_BIND_SPECIFIC:
		return "specific";
	case PC_BIND_UNKNOWN:
		break;
	}
	return NULL;
}

const char *pc_auth_name(enum pc_auth a)
{
	switch (a) {
	case PC_AUTH_NONE:
		return "none";
	case PC_AUTH_REQUIRED:
		return "required";
	case PC_AUTH_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *pc_recheck_name(enum pc_recheck r)
{
	switch (r) {
	case PC_RECHECK_CONFIRMED:
		return "confirmed";
	case PC_RECHECK_CLOSED:
		return "closed_now";
	case PC_RECHECK_FILTERED:
		return "filtered_now";
	case PC_RECHECK_DIFFERENT:
		return "different_service";
	case PC_RECHECK_NONE:
		break;
	}
	return NULL;
}

int64_t pc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double pc_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

const char *pc_format_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return buf;
	}
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
	return buf;
}

static const char *const severity_names[PC_SEV_COUNT] = {
	"info", "low", "medium", "high", "critical",
};

const char *pc_severity_name(enum pc_severity s)
{
	return (unsigned)s < PC_SEV_COUNT ? severity_names[s] : "unknown";
}

int pc_severity_parse(const char *name, enum pc_severity *ret)
{
	for (int i = 0; i < PC_SEV_COUNT; i++)
		if (name && strcmp(name, severity_names[i]) == 0) {
			*ret = (enum pc_severity)i;
			return 0;
		}
	return -1;
}

const char *pc_verdict_name(enum pc_verdict v)
{
	switch (v) {
	case PC_VERDICT_ALLOWED:
		return "allowed";
	case PC_VERDICT_VIOLATION:
		return "violation";
	case PC_VERDICT_UNDOCUMENTED:
		return "undocumented";
	case PC_VERDICT_NONE:
		break;
	}
	return "none";
}

int pc_snapshot_add_finding(struct pc_snapshot *s, const char *kind, enum pc_severity severity,
			    const char *rule, const char *message)
{
	if (s->n_findings == s->cap_findings) {
		size_t n = s->cap_findings ? s->cap_findings * 2 : 8;
		struct pc_finding *p = realloc(s->findings, n * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		s->findings = p;
		s->cap_findings = n;
	}
	struct pc_finding f = {
		.kind = pc_arena_strdup(&s->arena, kind ? kind : ""),
		.severity = severity,
		.rule = rule ? pc_arena_strdup(&s->arena, rule) : NULL,
		.message = pc_arena_strdup(&s->arena, message ? message : ""),
	};
	if (!f.kind || !f.message || (rule && !f.rule))
		return PC_ENOMEM;
	s->findings[s->n_findings++] = f;
	return 0;
}

int pc_snapshot_add_address(struct pc_snapshot *s, uint64_t netns_inode, const char *netns_name,
			    const struct pc_addr *addr, uint8_t prefix_len)
{
	if (s->n_addresses == s->cap_addresses) {
		size_t n = s->cap_addresses ? s->cap_addresses * 2 : 8;
		struct pc_ns_address *p = realloc(s->addresses, n * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		s->addresses = p;
		s->cap_addresses = n;
	}
	struct pc_ns_address a = {
		.netns_inode = netns_inode,
		.netns_name = netns_name ? pc_arena_strdup(&s->arena, netns_name) : NULL,
		.addr = *addr,
		.prefix_len = prefix_len,
	};
	if (netns_name && !a.netns_name)
		return PC_ENOMEM;
	s->addresses[s->n_addresses++] = a;
	return 0;
}

bool pc_scan_cover_has(const struct pc_scan_range *cover, size_t n, const struct pc_addr *addr,
		       enum pc_proto proto, uint16_t port)
{
	bool a = false, p = false;
	enum pc_cover_kind want = proto == PC_PROTO_UDP ? PC_COVER_UDP : PC_COVER_TCP;
	for (size_t i = 0; i < n && !(a && p); i++) {
		const struct pc_scan_range *r = &cover[i];
		if (r->kind == PC_COVER_ADDRESSES)
			a |= r->first.family == addr->family &&
			     pc_addr_compare(&r->first, addr) <= 0 &&
			     pc_addr_compare(addr, &r->last) <= 0;
		else if (r->kind == want)
			p |= r->port_first <= port && port <= r->port_last;
	}
	return a && p;
}
