/*
 * init.c - `policy init`: the first version of a host's documentation,
 * written from an audit in one step.
 *
 * Every listener is documented by exactly one rule. Listeners are grouped by
 * who owns them (container name, else a systemd .service unit, else the
 * process name; scopes and slices are not stable names), by namespace and by
 * protocol. A port whose every socket of the group is bound to loopback goes
 * into a rule of its own pinned with `bind: loopback`; the rest are left
 * unpinned with a comment naming the addresses seen. Each rule gets
 * `owner: TODO` and today's review date.
 *
 * The output must pass `policy lint`, so the order is chosen to make no rule
 * shadow another: rules that name a namespace come before those that do not,
 * and rules without an owner (no process could be attributed) come last.
 * Strings from the host (process, unit and container names) are written as
 * YAML double-quoted scalars, with glob characters escaped and control bytes
 * replaced by '?', which as a glob still matches them.
 */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

enum owner_kind { OWNER_CONTAINER = 0, OWNER_UNIT, OWNER_PROCESS, OWNER_NONE };

struct item {
	const char *netns; /* or NULL */
	enum owner_kind kind;
	const char *owner; /* or NULL */
	int proto;
	bool loopback;
	uint16_t port;
	const struct pc_endpoint *ep;
};

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void owner_of(const struct pc_endpoint *ep, enum owner_kind *kind, const char **name)
{
	*kind = OWNER_NONE;
	*name = NULL;
	for (size_t i = 0; i < ep->n_owners; i++)
		if (ep->owners[i].container.name) {
			*kind = OWNER_CONTAINER;
			*name = ep->owners[i].container.name;
			return;
		}
	for (size_t i = 0; i < ep->n_owners; i++)
		if (ep->owners[i].unit && ends_with(ep->owners[i].unit, ".service")) {
			*kind = OWNER_UNIT;
			*name = ep->owners[i].unit;
			return;
		}
	for (size_t i = 0; i < ep->n_owners; i++)
		if (ep->owners[i].comm) {
			*kind = OWNER_PROCESS;
			*name = ep->owners[i].comm;
			return;
		}
}

/* Group order: see the file comment. */
static int cmp_group(const struct item *a, const struct item *b)
{
	int c;
	if ((a->netns != NULL) != (b->netns != NULL))
		return a->netns ? -1 : 1;
	if ((c = cmp_str(a->netns, b->netns)))
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((c = cmp_str(a->owner, b->owner)))
		return c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return 0;
}

static int cmp_port(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c = cmp_group(a, b);
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return (int)a->loopback - (int)b->loopback;
}

static int cmp_rule(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int c = cmp_group(a, b);
	if (c)
		return c;
	if (a->loopback != b->loopback)
		return a->loopback ? 1 : -1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return pc_addr_compare(&a->ep->addr, &b->ep->addr);
}

/* A YAML double-quoted scalar; as_glob escapes fnmatch's metacharacters. */
static void put_quoted(FILE *f, const char *s, bool as_glob)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			fputc('?', f);
			continue;
		}
		if (as_glob && strchr("*?[]\\", *c))
			fputs("\\\\", f); /* one backslash for fnmatch, escaped for YAML */
		if (*c == '"' || *c == '\\')
			fputc('\\', f);
		fputc(*c, f);
	}
	fputc('"', f);
}

/* Rule names: letters, digits, '.', '_', '-'; at most 48 bytes. */
static void name_part(char *out, size_t len, const char *s)
{
	size_t k = 0;
	for (; s && *s && k + 1 < len && k < 48; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		out[k++] = ok ? c : '-';
	}
	out[k] = '\0';
	if (k == 0)
		snprintf(out, len, "unowned");
}

struct names {
	char **v;
	size_t n, cap;
};

static bool names_has(const struct names *ns, const char *s)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], s) == 0)
			return true;
	return false;
}

static int names_add(struct names *ns, const char *s)
{
	if (ns->n == ns->cap) {
		size_t n = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, n * sizeof(*v));
		if (!v)
			return PC_ENOMEM;
		ns->v = v;
		ns->cap = n;
	}
	ns->v[ns->n] = strdup(s);
	if (!ns->v[ns->n])
		return PC_ENOMEM;
	ns->n++;
	return 0;
}

static void write_ports(FILE *f, const struct item *it, size_t n)
{
	fputs("      ports: [", f);
	size_t col = 14, printed = 0;
	for (size_t i = 0; i < n;) {
		/* a run of consecutive ports becomes "lo-hi" */
		size_t j = i;
		while (j + 1 < n &&
		       (it[j + 1].port == it[j].port || it[j + 1].port == (unsigned)it[j].port + 1))
			j++;
		char buf[24];
		if (it[j].port > it[i].port + 1u)
			snprintf(buf, sizeof(buf), "\"%u-%u\"", it[i].port, it[j].port);
		else if (it[j].port == it[i].port + 1u)
			snprintf(buf, sizeof(buf), "%u, %u", it[i].port, it[j].port);
		else
			snprintf(buf, sizeof(buf), "%u", it[i].port);
		if (printed) {
			fputs(",", f);
			col++;
			if (col + strlen(buf) > 90) {
				fputs("\n        ", f);
				col = 8;
			} else {
				fputc(' ', f);
				col++;
			}
		}
		fputs(buf, f);
		col += strlen(buf);
		printed++;
		i = j + 1;
	}
	fputs("]\n", f);
}

static int write_rule(FILE *f, const struct item *it, size_t n, struct names *names,
                      const char *today)
{
	const struct item *g = &it[0];
	char base[160], part[64], ns[64];
	name_part(part, sizeof(part), g->owner);
	snprintf(base, sizeof(base), "%s-%s", part, g->proto == PC_PROTO_UDP ? "udp" : "tcp");
	if (g->loopback) {
		size_t l = strlen(base);
		snprintf(base + l, sizeof(base) - l, "-loopback");
	}
	if (g->netns) {
		name_part(ns, sizeof(ns), g->netns);
		size_t l = strlen(base);
		snprintf(base + l, sizeof(base) - l, "-in-%s", ns);
	}
	char name[192];
	snprintf(name, sizeof(name), "%s", base);
	for (unsigned k = 2; names_has(names, name); k++)
		snprintf(name, sizeof(name), "%s-%u", base, k);
	if (names_add(names, name) < 0)
		return PC_ENOMEM;

	fputs("  - name: ", f);
	put_quoted(f, name, false);
	fputc('\n', f);
	/* the addresses seen, for the person who fills in the rest */
	fputs("    # seen:", f);
	size_t shown = 0;
	for (size_t i = 0; i < n && shown < 8; i++, shown++) {
		char a[PC_ADDR_STRLEN];
		pc_addr_format(&it[i].ep->addr, a, sizeof(a));
		fprintf(f, " %s%s%s:%u", strchr(a, ':') ? "[" : "", a, strchr(a, ':') ? "]" : "",
		        it[i].port);
	}
	if (n > shown)
		fprintf(f, " and %zu more", n - shown);
	fputc('\n', f);
	fputs("    match:\n", f);
	static const char *const kinds[] = {"container", "unit", "process"};
	if (g->kind != OWNER_NONE) {
		fprintf(f, "      %s: ", kinds[g->kind]);
		put_quoted(f, g->owner, true);
		fputc('\n', f);
	}
	if (g->netns) {
		fputs("      netns: ", f);
		put_quoted(f, g->netns, true);
		fputc('\n', f);
	}
	fprintf(f, "      proto: %s\n", g->proto == PC_PROTO_UDP ? "udp" : "tcp");
	write_ports(f, it, n);
	if (g->loopback)
		fputs("    bind: loopback\n", f);
	fputs("    owner: TODO\n", f);
	fprintf(f, "    reviewed: %s\n", today);
	return 0;
}

int pc_policy_init_write(FILE *f, const struct pc_snapshot *snap, int64_t today_day)
{
	size_t n = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++)
		if (snap->endpoints[i].source == PC_SOURCE_HOST &&
		    snap->endpoints[i].state == PC_STATE_LISTEN)
			n++;
	struct item *items = malloc((n ? n : 1) * sizeof(*items));
	if (!items)
		return PC_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->source != PC_SOURCE_HOST || ep->state != PC_STATE_LISTEN)
			continue;
		struct item *it = &items[k++];
		*it = (struct item){.netns = ep->netns.name,
		                    .proto = (int)ep->proto,
		                    .loopback = ep->bind == PC_BIND_LOOPBACK,
		                    .port = ep->port,
		                    .ep = ep};
		owner_of(ep, &it->kind, &it->owner);
	}
	/* a port is pinned to loopback only when every socket of the group on
	 * it is: otherwise the loopback rule would shadow the other one */
	qsort(items, n, sizeof(*items), cmp_port);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		bool all = true;
		for (; j < n && cmp_group(&items[i], &items[j]) == 0 &&
		       items[j].port == items[i].port;
		     j++)
			all = all && items[j].loopback;
		for (size_t x = i; x < j; x++)
			items[x].loopback = all;
		i = j;
	}
	qsort(items, n, sizeof(*items), cmp_rule);

	char today[16];
	pc_policy_format_date(today_day, today, sizeof(today));
	fprintf(f,
	        "# Starting policy written by `portcensus policy init` on %s.\n"
	        "# Every listener seen is documented; fill in each owner, add doc links\n"
	        "# and reachable_from, then check it with `portcensus policy lint`.\n"
	        "# Reference: docs/policy.md\n"
	        "version: 1\n"
	        "segments: {}\n"
	        "defaults:\n"
	        "  unlisted: violation\n"
	        "  review_max_age: 180\n",
	        today);
	fputs(n ? "listeners:\n" : "listeners: []\n", f);
	struct names names = {0};
	int r = 0;
	for (size_t i = 0; i < n && r == 0;) {
		size_t j = i;
		while (j < n && cmp_group(&items[i], &items[j]) == 0 &&
		       items[j].loopback == items[i].loopback)
			j++;
		r = write_rule(f, &items[i], j - i, &names, today);
		i = j;
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.v[i]);
	free(names.v);
	free(items);
	return r;
}
