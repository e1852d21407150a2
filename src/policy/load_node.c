/*
 * load_node.c - the YAML node helpers of the policy loader (load_int.h):
 * diagnostics with file:line:col, and the typed, bounded reads of one node
 * (a scalar, a name, a mapping's known keys, a capped list, a CIDR).
 *
 * Split from load.c so the rule and section walkers read like the policy
 * format, not like libyaml: every check on a node that comes from the file
 * (type, length, NUL bytes, control characters, aliases, unknown and
 * duplicate keys) lives here, once, and reports in the same words. The
 * file is untrusted input read by root; see load.c for the caps that hold
 * before the tree is built.
 */
#include "policy/load_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

struct pc_policy_pos pc_policy_node_pos(const yaml_node_t *n)
{
	return (struct pc_policy_pos){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

void pc_policy_node_bad(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_add(L->diags, pc_policy_node_pos(n), L->rule, fmt, ap);
	va_end(ap);
}

/* ---- tree walking ---- */

/* The node at index i, or NULL (after a diagnostic) when it was already
 * visited: only an alias can reach a node twice. */
yaml_node_t *pc_policy_node_visit(struct loader *L, int i, const yaml_node_t *from)
{
	yaml_node_t *n = yaml_document_get_node(L->doc, i);
	if (!n || i < 1 || (size_t)i > L->n_nodes)
		return NULL;
	if (L->seen[i - 1]) {
		pc_policy_node_bad(L, from ? from : n,
		                   "YAML aliases are not supported (expected a plain value)");
		return NULL;
	}
	L->seen[i - 1] = 1;
	return n;
}

/* Scalar text, or NULL after a diagnostic naming what was expected. */
const char *pc_policy_node_scalar(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		pc_policy_node_bad(L, n, "expected %s, found %s", what, pc_yaml_node_kind(n));
		return NULL;
	}
	size_t len = n->data.scalar.length;
	const char *v = (const char *)n->data.scalar.value;
	if (len > PC_POLICY_MAX_STRING) {
		pc_policy_node_bad(L, n,
		                   "value is %zu bytes long (expected %s of at most %u bytes)", len,
		                   what, PC_POLICY_MAX_STRING);
		return NULL;
	}
	if (strlen(v) != len) {
		pc_policy_node_bad(L, n, "value holds a NUL byte (expected %s)", what);
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
void *pc_policy_node_alloc(struct loader *L, size_t count, size_t size)
{
	void *v = pc_arena_alloc(&L->p->arena, (count ? count : 1) * size);
	if (!v)
		L->nomem = true;
	return v;
}

/* Non-empty string without control characters: names end up in reports,
 * comments of firewall files and terminals. */
const char *pc_policy_node_text(struct loader *L, const yaml_node_t *n, const char *what)
{
	const char *v = pc_policy_node_scalar(L, n, what);
	if (!v)
		return NULL;
	if (!*v) {
		pc_policy_node_bad(L, n, "empty value (expected %s)", what);
		return NULL;
	}
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c < 0x20 || *c == 0x7f) {
			pc_policy_node_bad(L, n, "control character in value (expected %s)", what);
			return NULL;
		}
	return copy(L, v);
}

bool pc_policy_parse_uint(const char *s, unsigned long max, unsigned long *ret)
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
bool pc_policy_node_mapping(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_MAPPING_NODE) {
		pc_policy_node_bad(L, n, "expected %s (a mapping), found %s", what,
		                   pc_yaml_node_kind(n));
		return false;
	}
	return true;
}

bool pc_policy_node_sequence(struct loader *L, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		pc_policy_node_bad(L, n, "expected %s (a list), found %s", what,
		                   pc_yaml_node_kind(n));
		return false;
	}
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count > PC_POLICY_MAX_LIST) {
		pc_policy_node_bad(L, n, "list of %zu items (expected %s of at most %u items)",
		                   count, what, PC_POLICY_MAX_LIST);
		return false;
	}
	return true;
}

void pc_policy_node_each_key(struct loader *L, const yaml_node_t *map, const char *const *keys,
                             size_t n_keys, void *ctx, pc_policy_key_fn fn)
{
	bool seen[16] = {false};
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = pc_policy_node_visit(L, pr->key, map);
		if (!k)
			continue;
		yaml_node_t *v = pc_policy_node_visit(L, pr->value, k);
		const char *name = pc_policy_node_scalar(L, k, "a key");
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
			pc_policy_node_bad(L, k, "unknown key '%s' (expected one of: %s)", clean,
			                   list);
			continue;
		}
		if (seen[i]) {
			pc_policy_node_bad(L, k, "duplicate key '%s' (expected each key once)",
			                   name);
			continue;
		}
		seen[i] = true;
		fn(L, ctx, i, k, v);
	}
}

bool pc_policy_node_cidr(struct loader *L, const yaml_node_t *n, struct pc_policy_cidr *ret)
{
	const char *v = pc_policy_node_scalar(L, n, "a CIDR such as 198.18.1.0/24");
	if (!v)
		return false;
	if (pc_policy_parse_cidr(v, ret) < 0) {
		char clean[80];
		pc_text_sanitize(v, clean, sizeof(clean));
		pc_policy_node_bad(
		    L, n,
		    "bad CIDR '%s' (expected an address with a prefix length and no host "
		    "bits set, such as 198.18.1.0/24 or fd00:198:18::/48)",
		    clean);
		return false;
	}
	return true;
}

/* A list of CIDRs into an arena array. */
bool pc_policy_node_cidr_list(struct loader *L, const yaml_node_t *n, const char *what,
                              struct pc_policy_cidr **ret, size_t *ret_n)
{
	if (!pc_policy_node_sequence(L, n, what))
		return false;
	size_t count = SEQ_COUNT(n);
	struct pc_policy_cidr *c = pc_policy_node_alloc(L, count, sizeof(*c));
	if (!c)
		return false;
	size_t k = 0;
	bool ok = true;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = pc_policy_node_visit(L, *it, n);
		if (!item || !pc_policy_node_cidr(L, item, &c[k])) {
			ok = false;
			continue;
		}
		k++;
	}
	*ret = c;
	*ret_n = k;
	return ok;
}
