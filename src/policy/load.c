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
 *
 * The loader is four files along the format's seams: this one (the
 * document: caps, the event prescan, the top-level keys, reading the file,
 * and the small date and CIDR parsers lint, eval and the emitters share),
 * load_node.c (diagnostics and the typed reads of one node), load_rule.c
 * (the listeners' rules) and load_section.c (segments, scope, defaults),
 * sharing struct loader through load_int.h.
 */
#include "policy/load_int.h"
#include "core/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
		const char *s = pc_policy_node_scalar(L, v, "version: 1");
		t->version = true;
		if (s && strcmp(s, "1") != 0)
			pc_policy_node_bad(L, v, "unsupported version (expected version: 1)");
		L->p->version = 1;
		return;
	}
	case 1:
		pc_policy_load_segments(L, v);
		return;
	case 2:
		pc_policy_load_scope(L, v);
		return;
	case 3:
		pc_policy_load_defaults(L, v);
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
	yaml_node_t *root = pc_policy_node_visit(&L, 1, NULL);
	if (!root) {
		pc_policy_diag_at(diags, (struct pc_policy_pos){1, 1}, NULL,
		                  "empty document (expected version: 1 and listeners: [...])");
		goto out;
	}
	if (!pc_policy_node_mapping(&L, root, "the policy"))
		goto out;
	struct top_ctx t = {0};
	pc_policy_node_each_key(&L, root, top_keys, sizeof(top_keys) / sizeof(top_keys[0]), &t,
	                        top_key);
	if (t.listeners)
		pc_policy_load_listeners(&L, t.listeners);
	if (!t.version)
		pc_policy_node_bad(&L, root, "no version (expected version: 1)");
	if (!t.listeners && diags->n + diags->dropped == before)
		pc_policy_node_bad(&L, root, "no listeners (expected listeners: a list of rules)");
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
