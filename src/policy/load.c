/*
 * load.c - read a policy document (docs/policy.md) into struct pc_policy.
 *
 * libyaml parses; we walk its node tree, which keeps the start mark (line and
 * column) of every node, so each diagnostic points at the exact key or value
 * a person has to fix. The walk checks structure and types only (unknown
 * keys, wrong types, bad CIDRs, ports, dates, names); meaning (undefined
 * segments, duplicates, shadowed rules) is lint.c's job. Loading does not stop
 * at the first problem: a person fixing a file wants to see them all.
 *
 * The file is untrusted input read by root: it is capped at
 * PC_POLICY_MAX_BYTES; a first pass over libyaml's events bounds the nesting
 * depth and the number of nodes before the tree is built; every list and
 * string has a cap; aliases are refused (a node reached twice is an error),
 * so "billion laughs" documents cannot make the walk exponential.
 */
#include "policy/policy.h"
#include "core/json.h"
#include "core/yamlnode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

struct loader {
	struct pc_policy *p;
	struct pc_policy_diags *diags;
	yaml_document_t *doc;
	uint8_t *seen; /* one flag per node: aliases are refused */
	size_t n_nodes;
	const char *rule; /* current rule name for diagnostics, or NULL */
	bool nomem;
};

/* ---- diagnostics ---- */

void pc_policy_diags_free(struct pc_policy_diags *d)
{
	if (!d)
		return;
	free(d->items);
	*d = (struct pc_policy_diags){0};
}

static void diag_add(struct pc_policy_diags *d, struct pc_policy_pos pos, const char *rule,
                     const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void diag_add(struct pc_policy_diags *d, struct pc_policy_pos pos, const char *rule,
                     const char *fmt, va_list ap)
{
	if (d->n >= PC_POLICY_MAX_DIAGS) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t n = d->cap ? d->cap * 2 : 16;
		struct pc_policy_diag *items = realloc(d->items, n * sizeof(*items));
		if (!items) {
			d->dropped++;
			return;
		}
		d->items = items;
		d->cap = n;
	}
	struct pc_policy_diag *g = &d->items[d->n++];
	memset(g, 0, sizeof(*g));
	g->pos = pos;
	if (rule)
		snprintf(g->rule, sizeof(g->rule), "%s", rule);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
}

void pc_policy_diag_at(struct pc_policy_diags *d, struct pc_policy_pos pos, const char *rule,
                       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(d, pos, rule, fmt, ap);
	va_end(ap);
}

void pc_policy_diag_format(const char *file, const struct pc_policy_diag *d, char *out, size_t len)
{
	char where[320] = "";
	if (d->pos.line > 0)
		snprintf(where, sizeof(where), "%s:%d:%d: ", file ? file : "", d->pos.line,
		         d->pos.col);
	else if (file)
		snprintf(where, sizeof(where), "%s: ", file);
	if (d->rule[0])
		snprintf(out, len, "%srule '%s': %s", where, d->rule, d->msg);
	else
		snprintf(out, len, "%s%s", where, d->msg);
}

static struct pc_policy_pos pos_of(const yaml_node_t *n)
{
	return (struct pc_policy_pos){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

static void bad(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(L->diags, pos_of(n), L->rule, fmt, ap);
	va_end(ap);
}

/* ---- small parsers shared with lint, eval and the emitters ---- */

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil, written from the published derivation). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t pc_policy_day_of_ms(int64_t ms)
{
	int64_t day = ms / 86400000;
	if (ms < 0 && ms % 86400000)
		day--;
	return day;
}

int64_t pc_policy_parse_date(const char *s)
{
	/* exactly YYYY-MM-DD */
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return -1;
	return days_from_civil(y, m, d);
}

void pc_policy_format_date(int64_t day, char *buf, size_t len)
{
	/* civil_from_days, the inverse of the above */
	int64_t z = day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
}

int pc_policy_parse_cidr(const char *s, struct pc_policy_cidr *ret)
{
	char addr[PC_ADDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return PC_EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	struct pc_policy_cidr c = {0};
	if (pc_addr_parse(addr, &c.addr) < 0)
		return PC_EINVAL;
	unsigned max = c.addr.family == AF_INET ? 32 : 128;
	unsigned plen = max;
	if (slash) {
		const char *q = slash + 1;
		if (!*q || strlen(q) > 3)
			return PC_EINVAL;
		plen = 0;
		for (; *q; q++) {
			if (*q < '0' || *q > '9')
				return PC_EINVAL;
			plen = plen * 10 + (unsigned)(*q - '0');
		}
		if (plen > max)
			return PC_EINVAL;
	}
	c.plen = (uint8_t)plen;
	/* host bits set (198.18.1.1/24) is almost always a typo: refuse it */
	for (unsigned bit = plen; bit < max; bit++)
		if (c.addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return PC_EINVAL;
	*ret = c;
	return 0;
}

bool pc_policy_cidr_contains(const struct pc_policy_cidr *c, const struct pc_addr *a)
{
	const uint8_t *bytes = a->bytes;
	if (c->addr.family != a->family) {
		/* an IPv4 client on a dual-stack socket is ::ffff:a.b.c.d */
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (c->addr.family != AF_INET || a->family != AF_INET6 ||
		    memcmp(a->bytes, mapped, 12) != 0)
			return false;
		bytes = a->bytes + 12;
	}
	unsigned full = c->plen / 8, rest = c->plen % 8;
	if (memcmp(c->addr.bytes, bytes, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((c->addr.bytes[full] & mask) != (bytes[full] & mask))
			return false;
	}
	return true;
}

void pc_policy_cidr_format(const struct pc_policy_cidr *c, char *buf, size_t len)
{
	char a[PC_ADDR_STRLEN];
	snprintf(buf, len, "%s/%u", pc_addr_format(&c->addr, a, sizeof(a)), c->plen);
}

/* ---- tree walking ---- */

/* The node at index i, or NULL (after a diagnostic) when it was already
 * visited: only an alias can reach a node twice. */
static yaml_node_t *visit(struct loader *L, int i, const yaml_node_t *from)
{
	yaml_node_t *n = yaml_document_get_node(L->doc, i);
	if (!n || i < 1 || (size_t)i > L->n_nodes)
		return NULL;
	if (L->seen[i - 1]) {
		bad(L, from ? from : n, "YAML aliases are not supported (expected a plain value)");
		return NULL;
	}
	L->seen[i - 1] = 1;
	return n;
}

/* Scalar text, or NULL after a diagnostic naming what was expected. */
static const char *scalar(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		bad(L, n, "expected %s, found %s", what, pc_yaml_node_kind(n));
		return NULL;
	}
	size_t len = n->data.scalar.length;
	const char *v = (const char *)n->data.scalar.value;
	if (len > PC_POLICY_MAX_STRING) {
		bad(L, n, "value is %zu bytes long (expected %s of at most %u bytes)", len, what,
		    PC_POLICY_MAX_STRING);
		return NULL;
	}
	if (strlen(v) != len) {
		bad(L, n, "value holds a NUL byte (expected %s)", what);
		return NULL;
	}
	return v;
}

static char *copy(struct loader *L, const char *s)
{
	char *c = pc_arena_strdup(&L->p->arena, s);
	if (!c)
		L->nomem = true;
	return c;
}

/* A zeroed array of count items in the policy's arena (never size 0, so a
 * successful empty list is not NULL); NULL after noting the failure. */
static void *alloc_items(struct loader *L, size_t count, size_t size)
{
	void *v = pc_arena_alloc(&L->p->arena, (count ? count : 1) * size);
	if (!v)
		L->nomem = true;
	return v;
}

/* Non-empty string without control characters: names end up in reports,
 * comments of firewall files and terminals. */
static const char *text(struct loader *L, const yaml_node_t *n, const char *what)
{
	const char *v = scalar(L, n, what);
	if (!v)
		return NULL;
	if (!*v) {
		bad(L, n, "empty value (expected %s)", what);
		return NULL;
	}
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c < 0x20 || *c == 0x7f) {
			bad(L, n, "control character in value (expected %s)", what);
			return NULL;
		}
	return copy(L, v);
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	if (!*s || strlen(s) > 10)
		return false;
	unsigned long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

/* A mapping's pairs; a diagnostic when n is not a mapping. */
static bool mapping(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_MAPPING_NODE) {
		bad(L, n, "expected %s (a mapping), found %s", what, pc_yaml_node_kind(n));
		return false;
	}
	return true;
}

static bool sequence(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		bad(L, n, "expected %s (a list), found %s", what, pc_yaml_node_kind(n));
		return false;
	}
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > PC_POLICY_MAX_LIST) {
		bad(L, n, "list of %zu items (expected %s of at most %u items)", count, what,
		    PC_POLICY_MAX_LIST);
		return false;
	}
	return true;
}

#define SEQ_COUNT(n) ((size_t)((n)->data.sequence.items.top - (n)->data.sequence.items.start))

/*
 * Iterate over a mapping's keys: calls fn for each known key (index into
 * keys[]) with its value; unknown and duplicate keys are diagnosed here, once,
 * naming the keys that are allowed.
 */
typedef void (*key_fn)(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v);

static void each_key(struct loader *L, const yaml_node_t *map, const char *const *keys,
                     size_t n_keys, void *ctx, key_fn fn)
{
	bool seen[16] = {false};
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = visit(L, pr->key, map);
		if (!k)
			continue;
		yaml_node_t *v = visit(L, pr->value, k);
		const char *name = scalar(L, k, "a key");
		if (!name || !v)
			continue;
		size_t i;
		for (i = 0; i < n_keys; i++)
			if (strcmp(name, keys[i]) == 0)
				break;
		if (i == n_keys) {
			char list[256] = "";
			size_t off = 0;
			for (size_t j = 0; j < n_keys && off < sizeof(list); j++) {
				int w = snprintf(list + off, sizeof(list) - off, "%s%s",
				                 j ? ", " : "", keys[j]);
				if (w < 0)
					break;
				off += (size_t)w;
			}
			char clean[80];
			pc_text_sanitize(name, clean, sizeof(clean));
			bad(L, k, "unknown key '%s' (expected one of: %s)", clean, list);
			continue;
		}
		if (seen[i]) {
			bad(L, k, "duplicate key '%s' (expected each key once)", name);
			continue;
		}
		seen[i] = true;
		fn(L, ctx, i, k, v);
	}
}

/* ---- sections ---- */

static bool cidr_of(struct loader *L, const yaml_node_t *n, struct pc_policy_cidr *ret)
{
	const char *v = scalar(L, n, "a CIDR such as 198.18.1.0/24");
	if (!v)
		return false;
	if (pc_policy_parse_cidr(v, ret) < 0) {
		char clean[80];
		pc_text_sanitize(v, clean, sizeof(clean));
		bad(L, n,
		    "bad CIDR '%s' (expected an address with a prefix length and no host "
		    "bits set, such as 198.18.1.0/24 or fd00:198:18::/48)",
		    clean);
		return false;
	}
	return true;
}

/* A list of CIDRs into an arena array. */
static bool cidr_list(struct loader *L, const yaml_node_t *n, const char *what,
                      struct pc_policy_cidr **ret, size_t *ret_n)
{
	if (!sequence(L, n, what))
		return false;
	size_t count = SEQ_COUNT(n);
	struct pc_policy_cidr *c = alloc_items(L, count, sizeof(*c));
	if (!c)
		return false;
	size_t k = 0;
	bool ok = true;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = visit(L, *it, n);
		if (!item || !cidr_of(L, item, &c[k])) {
			ok = false;
			continue;
		}
		k++;
	}
	*ret = c;
	*ret_n = k;
	return ok;
}

static void load_segments(struct loader *L, const yaml_node_t *n)
{
	if (!mapping(L, n, "segments: name -> list of CIDRs"))
		return;
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > PC_POLICY_MAX_SEGMENTS) {
		bad(L, n, "%zu segments (expected at most %u)", count, PC_POLICY_MAX_SEGMENTS);
		return;
	}
	struct pc_policy *p = L->p;
	p->segments = alloc_items(L, count, sizeof(*p->segments));
	if (!p->segments)
		return;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = visit(L, pr->key, n);
		if (!k)
			continue;
		yaml_node_t *v = visit(L, pr->value, k);
		const char *name = text(L, k, "a segment name");
		if (!name || !v)
			continue;
		bool dup = false;
		for (size_t i = 0; i < p->n_segments; i++)
			if (strcmp(p->segments[i].name, name) == 0)
				dup = true;
		if (dup) {
			bad(L, k, "segment '%s' is defined twice (expected unique segment names)",
			    name);
			continue;
		}
		struct pc_policy_segment *s = &p->segments[p->n_segments];
		s->name = name;
		s->pos = pos_of(k);
		/* kept even with a bad CIDR, so rules naming it are not also
		 * reported as naming an undefined segment */
		cidr_list(L, v, "the segment's CIDRs", &s->cidrs, &s->n_cidrs);
		p->n_segments++;
	}
}

static const char **glob_list(struct loader *L, const yaml_node_t *n, const char *what,
                              size_t *ret_n)
{
	if (!sequence(L, n, what))
		return NULL;
	size_t count = SEQ_COUNT(n);
	const char **out = alloc_items(L, count, sizeof(*out));
	if (!out)
		return NULL;
	size_t k = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = visit(L, *it, n);
		const char *g = item ? text(L, item, "a name or glob") : NULL;
		if (g)
			out[k++] = g;
	}
	*ret_n = k;
	return out;
}

static const char *const scope_keys[] = {"hosts", "netns", "containers"};

static void scope_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)ctx;
	(void)k;
	struct pc_policy_scope *s = &L->p->scope;
	if (key == 0)
		s->hosts = glob_list(L, v, "host names or globs", &s->n_hosts);
	else if (key == 1)
		s->netns = glob_list(L, v, "namespace names or globs", &s->n_netns);
	else
		s->containers = glob_list(L, v, "container names or globs", &s->n_containers);
}

static const char *const defaults_keys[] = {"unlisted", "review_max_age"};

static void defaults_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)ctx;
	(void)k;
	const char *s =
	    scalar(L, v, key == 0 ? "violation, warning or ignore" : "a number of days");
	if (!s)
		return;
	if (key == 0) {
		if (strcmp(s, "violation") == 0)
			L->p->unlisted = PC_POLICY_UNLISTED_VIOLATION;
		else if (strcmp(s, "warning") == 0)
			L->p->unlisted = PC_POLICY_UNLISTED_WARNING;
		else if (strcmp(s, "ignore") == 0)
			L->p->unlisted = PC_POLICY_UNLISTED_IGNORE;
		else
			bad(L, v, "unlisted must be violation, warning or ignore");
		return;
	}
	unsigned long days;
	if (!parse_uint(s, 36500, &days) || days == 0) {
		bad(L, v, "review_max_age must be a number of days (expected 1 to 36500)");
		return;
	}
	L->p->review_max_age = (int)days;
}

/* ports: 22 | "8000-8100" | [22, 80, "8000-8100"] */
static bool port_item(struct loader *L, const yaml_node_t *n, struct pc_policy_port_range *r)
{
	const char *s = scalar(L, n, "a port or a range such as 8000-8100");
	if (!s)
		return false;
	char buf[16];
	const char *dash = strchr(s, '-');
	unsigned long lo, hi;
	bool ok;
	if (dash) {
		size_t l = (size_t)(dash - s);
		ok = l < sizeof(buf);
		if (ok) {
			memcpy(buf, s, l);
			buf[l] = '\0';
			ok = parse_uint(buf, 65535, &lo) && parse_uint(dash + 1, 65535, &hi) &&
			     lo <= hi;
		}
	} else {
		ok = parse_uint(s, 65535, &lo);
		hi = lo;
	}
	if (!ok || lo == 0) {
		char clean[40];
		pc_text_sanitize(s, clean, sizeof(clean));
		bad(L, n, "bad port '%s' (expected a port 1-65535 or a range such as 8000-8100)",
		    clean);
		return false;
	}
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return true;
}

static const char *const match_keys[] = {"ports",     "proto", "process", "unit",
                                         "container", "netns", "host"};

static void match_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)k;
	struct pc_policy_match *m = ctx;
	switch (key) {
	case 0: {
		size_t count = 1;
		if (v->type == YAML_SEQUENCE_NODE) {
			if (!sequence(L, v, "ports"))
				return;
			count = SEQ_COUNT(v);
			if (count == 0) {
				bad(L, v, "empty ports list (expected at least one port)");
				return;
			}
		}
		m->ports = alloc_items(L, count, sizeof(*m->ports));
		if (!m->ports)
			return;
		if (v->type != YAML_SEQUENCE_NODE) {
			if (port_item(L, v, &m->ports[0]))
				m->n_ports = 1;
			return;
		}
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = visit(L, *it, v);
			if (item && port_item(L, item, &m->ports[m->n_ports]))
				m->n_ports++;
		}
		return;
	}
	case 1: {
		const char *s = scalar(L, v, "tcp or udp");
		if (!s)
			return;
		if (strcmp(s, "tcp") == 0)
			m->proto = PC_PROTO_TCP;
		else if (strcmp(s, "udp") == 0)
			m->proto = PC_PROTO_UDP;
		else
			bad(L, v, "proto must be tcp or udp");
		return;
	}
	case 2:
		m->process = text(L, v, "a process name or exe glob");
		return;
	case 3:
		m->unit = text(L, v, "a systemd unit name or glob");
		return;
	case 4:
		m->container = text(L, v, "a container name or glob");
		return;
	case 5:
		m->netns = text(L, v, "a namespace name or glob");
		return;
	case 6:
		m->host = text(L, v, "a host name or glob");
		return;
	}
}

static const char *const rule_keys[] = {"name", "match", "bind", "reachable_from", "auth",
                                        "tls",  "owner", "doc",  "reviewed"};

static void rule_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)k;
	struct pc_policy_rule *r = ctx;
	const char *s;
	switch (key) {
	case 0: /* read before the others, see load_rule */
		return;
	case 1:
		r->match_pos = pos_of(v);
		if (mapping(L, v, "match"))
			each_key(L, v, match_keys, sizeof(match_keys) / sizeof(match_keys[0]),
			         &r->match, match_key);
		return;
	case 2:
		if (v->type == YAML_SEQUENCE_NODE) {
			if (cidr_list(L, v, "bind CIDRs", &r->bind_cidrs, &r->n_bind_cidrs)) {
				if (r->n_bind_cidrs == 0)
					bad(L, v,
					    "empty bind list (expected loopback, any or "
					    "a list of CIDRs)");
				else
					r->bind = PC_POLICY_BIND_CIDRS;
			}
			return;
		}
		s = scalar(L, v, "loopback, any or a list of CIDRs");
		if (!s)
			return;
		if (strcmp(s, "loopback") == 0)
			r->bind = PC_POLICY_BIND_LOOPBACK;
		else if (strcmp(s, "any") == 0)
			r->bind = PC_POLICY_BIND_ANY;
		else
			bad(L, v, "bind must be loopback, any or a list of CIDRs");
		return;
	case 3: {
		if (!sequence(L, v, "reachable_from: segment names or CIDRs"))
			return;
		size_t count = SEQ_COUNT(v);
		r->reachable = alloc_items(L, count, sizeof(*r->reachable));
		if (!r->reachable)
			return;
		r->has_reachable = true;
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *item = visit(L, *it, v);
			const char *t = item ? text(L, item, "a segment name or a CIDR") : NULL;
			if (!t)
				continue;
			struct pc_policy_source *src = &r->reachable[r->n_reachable];
			src->pos = pos_of(item);
			src->segment = -1;
			/* a CIDR has a '/' or parses as an address; anything else
			 * names a segment (lint checks that it exists) */
			if (strchr(t, '/') || strchr(t, ':') ||
			    (t[0] >= '0' && t[0] <= '9' && strchr(t, '.'))) {
				if (!cidr_of(L, item, &src->cidr))
					continue;
			} else {
				src->segment_name = t;
				for (size_t i = 0; i < L->p->n_segments; i++)
					if (strcmp(L->p->segments[i].name, t) == 0)
						src->segment = (int)i;
			}
			r->n_reachable++;
		}
		return;
	}
	case 4:
	case 5:
		s = scalar(L, v, "required or any");
		if (!s)
			return;
		if (strcmp(s, "required") != 0 && strcmp(s, "any") != 0) {
			bad(L, v, "%s must be required or any", key == 4 ? "auth" : "tls");
			return;
		}
		if (key == 4)
			r->auth_required = strcmp(s, "required") == 0;
		else
			r->tls_required = strcmp(s, "required") == 0;
		return;
	case 6:
		r->owner = text(L, v, "an owner (team or person)");
		return;
	case 7:
		s = text(L, v, "a URL");
		if (s && strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
			bad(L, v, "doc must be a URL (expected http:// or https://...)");
			return;
		}
		r->doc = s;
		return;
	case 8:
		s = scalar(L, v, "a date YYYY-MM-DD");
		if (!s)
			return;
		r->reviewed_day = pc_policy_parse_date(s);
		r->reviewed_pos = pos_of(v);
		if (r->reviewed_day < 0) {
			char clean[40];
			pc_text_sanitize(s, clean, sizeof(clean));
			bad(L, v, "bad date '%s' (expected reviewed: YYYY-MM-DD)", clean);
		}
		return;
	}
}

static void load_rule(struct loader *L, yaml_node_t *n, struct pc_policy_rule *r)
{
	*r = (struct pc_policy_rule){.reviewed_day = -1, .match = {.proto = -1}, .pos = pos_of(n)};
	L->rule = NULL;
	if (!mapping(L, n, "a rule"))
		return;
	/* the name first, so every diagnostic of the rule can name it */
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, pr->value);
		if (k && v && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, "name") == 0 &&
		    v->type == YAML_SCALAR_NODE && pr->value >= 1 &&
		    (size_t)pr->value <= L->n_nodes && !L->seen[pr->value - 1]) {
			r->name = text(L, v, "a rule name");
			break;
		}
	}
	L->rule = r->name;
	each_key(L, n, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0]), r, rule_key);
	if (!r->name)
		bad(L, n, "rule without a name (expected name: ...)");
	if (r->match_pos.line == 0)
		bad(L, n, "rule without a match (expected match: {ports: ..., process: ...})");
	L->rule = NULL;
}

static void load_listeners(struct loader *L, yaml_node_t *n)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		bad(L, n, "expected listeners (a list of rules), found %s", pc_yaml_node_kind(n));
		return;
	}
	size_t count = SEQ_COUNT(n);
	if (count > PC_POLICY_MAX_RULES) {
		bad(L, n, "%zu rules (expected at most %u)", count, PC_POLICY_MAX_RULES);
		return;
	}
	struct pc_policy *p = L->p;
	p->rules = alloc_items(L, count, sizeof(*p->rules));
	if (!p->rules)
		return;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = visit(L, *it, n);
		if (!item)
			continue;
		load_rule(L, item, &p->rules[p->n_rules++]);
	}
}

static const char *const top_keys[] = {"version", "segments", "scope", "defaults", "listeners"};

struct top_ctx {
	bool version;
	yaml_node_t *listeners;
};

static void top_key(struct loader *L, void *ctx, size_t key, yaml_node_t *k, yaml_node_t *v)
{
	(void)k;
	struct top_ctx *t = ctx;
	switch (key) {
	case 0: {
		const char *s = scalar(L, v, "version: 1");
		t->version = true;
		if (s && strcmp(s, "1") != 0)
			bad(L, v, "unsupported version (expected version: 1)");
		L->p->version = 1;
		return;
	}
	case 1:
		load_segments(L, v);
		return;
	case 2:
		if (mapping(L, v, "scope"))
			each_key(L, v, scope_keys, sizeof(scope_keys) / sizeof(scope_keys[0]), NULL,
			         scope_key);
		return;
	case 3:
		if (mapping(L, v, "defaults"))
			each_key(L, v, defaults_keys,
			         sizeof(defaults_keys) / sizeof(defaults_keys[0]), NULL,
			         defaults_key);
		return;
	case 4:
		/* after segments, whatever the key order, so reachable_from
		 * can resolve segment names */
		t->listeners = v;
		return;
	}
}

/* First pass over events: nesting depth and node count stay bounded before
 * libyaml builds a tree of the whole document. */
static bool prescan(const char *data, size_t len, struct pc_policy_diags *d)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return false;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	int depth = 0;
	size_t nodes = 0, docs = 0;
	bool ok = true, done = false;
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			struct pc_policy_pos pos = {(int)parser.problem_mark.line + 1,
			                            (int)parser.problem_mark.column + 1};
			pc_policy_diag_at(d, pos, NULL,
			                  "YAML syntax error: %s (expected valid YAML)",
			                  parser.problem ? parser.problem : "unknown");
			ok = false;
			break;
		}
		struct pc_policy_pos pos = {(int)ev.start_mark.line + 1,
		                            (int)ev.start_mark.column + 1};
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			nodes++;
			if (++depth > PC_POLICY_MAX_DEPTH) {
				pc_policy_diag_at(d, pos, NULL,
				                  "nested %d levels deep (expected at most %d)",
				                  depth, PC_POLICY_MAX_DEPTH);
				ok = false;
				done = true;
			}
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			nodes++;
			break;
		case YAML_ALIAS_EVENT:
			pc_policy_diag_at(
			    d, pos, NULL,
			    "YAML aliases are not supported (expected a plain value)");
			ok = false;
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				pc_policy_diag_at(d, pos, NULL,
				                  "second YAML document (expected one document)");
				ok = false;
				done = true;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (nodes > PC_POLICY_MAX_NODES && ok) {
			pc_policy_diag_at(d, pos, NULL, "more than %u values (expected fewer)",
			                  PC_POLICY_MAX_NODES);
			ok = false;
			done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (ok && docs == 0) {
		pc_policy_diag_at(d, (struct pc_policy_pos){1, 1}, NULL,
		                  "empty document (expected version: 1 and listeners: [...])");
		ok = false;
	}
	return ok;
}

void pc_policy_free(struct pc_policy *p)
{
	if (!p)
		return;
	pc_arena_free(&p->arena);
	free(p);
}

/* keep_partial: on PC_EINVAL, still return what was loaded, so lint can
 * report its own problems beside the structural ones. */
static int parse(const char *file, const char *data, size_t len, bool keep_partial,
                 struct pc_policy **ret_policy, struct pc_policy_diags *diags, struct pc_error *err)
{
	*ret_policy = NULL;
	if (len > PC_POLICY_MAX_BYTES)
		return pc_error_set_at(err, PC_ETOOBIG, file, 0, 0,
		                       "policy is %zu bytes (at most %u)", len,
		                       PC_POLICY_MAX_BYTES);
	size_t before = diags->n + diags->dropped;
	struct pc_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	pc_arena_init(&p->arena);
	p->file = pc_arena_strdup(&p->arena, file ? file : "<policy>");
	int r = 0;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	struct loader L = {.p = p, .diags = diags, .doc = &doc};
	if (!p->file) {
		r = PC_ENOMEM;
		goto out;
	}
	if (!prescan(data, len, diags))
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		r = PC_ENOMEM;
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		struct pc_policy_pos pos = {(int)parser.problem_mark.line + 1,
		                            (int)parser.problem_mark.column + 1};
		pc_policy_diag_at(diags, pos, NULL, "YAML error: %s",
		                  parser.problem ? parser.problem : "unknown");
		goto out;
	}
	have_doc = true;
	L.n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
	L.seen = calloc(L.n_nodes ? L.n_nodes : 1, 1);
	if (!L.seen) {
		r = PC_ENOMEM;
		goto out;
	}
	yaml_node_t *root = visit(&L, 1, NULL);
	if (!root) {
		pc_policy_diag_at(diags, (struct pc_policy_pos){1, 1}, NULL,
		                  "empty document (expected version: 1 and listeners: [...])");
		goto out;
	}
	if (!mapping(&L, root, "the policy"))
		goto out;
	struct top_ctx t = {0};
	each_key(&L, root, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), &t, top_key);
	if (t.listeners)
		load_listeners(&L, t.listeners);
	if (!t.version)
		bad(&L, root, "no version (expected version: 1)");
	if (!t.listeners && diags->n + diags->dropped == before)
		bad(&L, root, "no listeners (expected listeners: a list of rules)");
	if (L.nomem)
		r = PC_ENOMEM;
out:
	free(L.seen);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (r == 0 && diags->n + diags->dropped > before)
		r = PC_EINVAL;
	if (r < 0) {
		if (r == PC_EINVAL && diags->n > 0) {
			const struct pc_policy_diag *g =
			    &diags->items[before < diags->n ? before : 0];
			pc_error_set_at(err, PC_EINVAL, file, g->pos.line, g->pos.col, "%s%s%s%s",
			                g->rule[0] ? "rule '" : "", g->rule,
			                g->rule[0] ? "': " : "", g->msg);
		} else if (r == PC_EINVAL) {
			pc_error_set_at(err, r, file, 0, 0, "invalid policy");
		} else {
			pc_error_set(err, r, "out of memory loading the policy");
		}
		if (r == PC_EINVAL && keep_partial)
			*ret_policy = p;
		else
			pc_policy_free(p);
		return r;
	}
	*ret_policy = p;
	return 0;
}

int pc_policy_parse(const char *file, const char *data, size_t len, struct pc_policy **ret_policy,
                    struct pc_policy_diags *diags, struct pc_error *err)
{
	return parse(file, data, len, false, ret_policy, diags, err);
}

static int load(const char *file, bool keep_partial, struct pc_policy **ret_policy,
                struct pc_policy_diags *diags, struct pc_error *err)
{
	*ret_policy = NULL;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		/* a policy that is not there is the user's input error (exit 2) */
		return pc_error_set_at(err, PC_EINVAL, file, 0, 0, "cannot read the policy: %s",
		                       strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pc_error_set_at(err, PC_EINVAL, file, 0, 0,
		                       "the policy is not a regular file");
	}
	/* read one byte past the cap to tell "too large" from "exactly the cap" */
	size_t cap = PC_POLICY_MAX_BYTES + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return pc_error_set_at(err, PC_EIO, file, 0, 0,
			                       "cannot read the policy: %s", strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	int r;
	if (len > PC_POLICY_MAX_BYTES)
		r = pc_error_set_at(err, PC_ETOOBIG, file, 0, 0,
		                    "the policy is larger than %u bytes", PC_POLICY_MAX_BYTES);
	else
		r = parse(file, buf, len, keep_partial, ret_policy, diags, err);
	free(buf);
	return r;
}

int pc_policy_load(const char *file, struct pc_policy **ret_policy, struct pc_policy_diags *diags,
                   struct pc_error *err)
{
	return load(file, false, ret_policy, diags, err);
}

int pc_policy_load_partial(const char *file, struct pc_policy **ret_policy,
                           struct pc_policy_diags *diags, struct pc_error *err)
{
	return load(file, true, ret_policy, diags, err);
}

int pc_policy_parse_partial(const char *file, const char *data, size_t len,
                            struct pc_policy **ret_policy, struct pc_policy_diags *diags,
                            struct pc_error *err)
{
	return parse(file, data, len, true, ret_policy, diags, err);
}
