/*
 * kb.c - the knowledge-base loader: YAML through libyaml's node API into
 * struct pc_kb.
 *
 * Trusted: nothing. The compiled-in base goes through the same code as a
 * user's --kb file, so the one parser is the one the fuzzer drives
 * (tests/fuzz/fuzz_kb.c). Bounded: the input (PC_KB_MAX_BYTES, checked
 * before libyaml sees it), the nesting depth (checked in a first pass over
 * the events, see check_depth), the number of services, the length of
 * every string; the walk below only descends the three levels the format
 * has, so an alias cannot make it loop or blow up. Strict: an unknown key, a repeated key, a wrong type or a value out
 * of its set is an error naming file:line:col and what was expected, because
 * a typo that silently dropped a remediation would be worse than no file.
 *
 * A document is first parsed into a list of its own; only when the whole
 * document is valid is it merged (same name: replace), so a failed load
 * leaves the knowledge base as it was.
 */
#include "classify/kb.h"
#include "core/yamlnode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

extern const char pc_kb_builtin_text[];
extern const size_t pc_kb_builtin_len;

const char *const pc_kb_categories[] = {
	"database",	 "cache",	 "control-plane", "remote-admin", "messaging",
	"metrics-debug", "file-sharing", "web",		  "directory",	  "unknown",
	NULL,
};

struct pc_kb *pc_kb_new(void)
{
	return calloc(1, sizeof(struct pc_kb));
}

static void service_clear(struct pc_kb_service *s)
{
	free(s->name);
	free(s->category);
	free(s->why);
	free(s->remediation);
	memset(s, 0, sizeof(*s));
}

void pc_kb_free(struct pc_kb *kb)
{
	if (!kb)
		return;
	for (size_t i = 0; i < kb->n; i++)
		service_clear(&kb->services[i]);
	free(kb->services);
	free(kb);
}

static int cmp_service(const void *a, const void *b)
{
	return strcmp(((const struct pc_kb_service *)a)->name,
		      ((const struct pc_kb_service *)b)->name);
}

static int cmp_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pc_kb_service *)elem)->name);
}

const struct pc_kb_service *pc_kb_find(const struct pc_kb *kb, const char *name)
{
	if (!kb || !name || !kb->n)
		return NULL;
	return bsearch(name, kb->services, kb->n, sizeof(kb->services[0]), cmp_key);
}

/* --- parsing ------------------------------------------------------------ */

struct loader {
	yaml_document_t *doc;
	const char *file;
	struct pc_error *err;
	struct pc_kb_service *list; /* this document's entries */
	size_t n, cap;
};

static int fail_at(struct loader *l, const yaml_node_t *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct loader *l, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pc_error_set_at(l->err, PC_EPARSE, l->file, (int)node->start_mark.line + 1,
			       (int)node->start_mark.column + 1, "%s", msg);
}

/* The scalar's text, or NULL after an error saying `what` was expected. */
static const char *scalar(struct loader *l, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		fail_at(l, n, "expected %s, found %s", what, pc_yaml_node_kind(n));
		return NULL;
	}
	const char *s = (const char *)n->data.scalar.value;
	if (n->data.scalar.length > PC_KB_MAX_TEXT || strlen(s) != n->data.scalar.length) {
		fail_at(l, n, "expected %s of at most 2048 bytes without NUL", what);
		return NULL;
	}
	return s;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PC_KB_MAX_NAME)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	return true;
}

/* Printable text only: the strings reach terminals and reports. */
static bool valid_text(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int text_field(struct loader *l, const yaml_node_t *v, const char *key, char **ret)
{
	const char *s = scalar(l, v, "a sentence");
	if (!s)
		return PC_EPARSE;
	if (!*s || !valid_text(s))
		return fail_at(l, v, "expected a non-empty one-line sentence for '%s'", key);
	*ret = strdup(s);
	return *ret ? 0 : pc_error_set(l->err, PC_ENOMEM, "out of memory");
}

static int bool_field(struct loader *l, const yaml_node_t *v, const char *key, bool *ret)
{
	const char *s = scalar(l, v, "true or false");
	if (!s)
		return PC_EPARSE;
	if (strcmp(s, "true") == 0)
		*ret = true;
	else if (strcmp(s, "false") == 0)
		*ret = false;
	else
		return fail_at(l, v, "expected true or false for '%s', not '%.64s'", key, s);
	return 0;
}

#define SEEN(bit) (1u << (bit))
enum { K_CATEGORY, K_SEVERITY, K_WHY, K_REMEDIATION, K_SECRETS, K_PLAINTEXT, K_COUNT };
static const char *const service_keys[K_COUNT] = {
	"category", "severity", "why", "remediation", "secrets", "plaintext",
};

static int service_key(struct loader *l, struct pc_kb_service *s, const yaml_node_t *k,
		       const yaml_node_t *v, unsigned *seen)
{
	const char *key = scalar(l, k, "a key");
	if (!key)
		return PC_EPARSE;
	int idx = -1;
	for (int i = 0; i < K_COUNT; i++)
		if (strcmp(key, service_keys[i]) == 0)
			idx = i;
	if (idx < 0)
		return fail_at(l, k,
			       "unknown key '%.64s' in service '%s' (expected category, severity, "
			       "why, remediation, secrets or plaintext)",
			       key, s->name);
	if (*seen & SEEN(idx))
		return fail_at(l, k, "key '%s' repeated in service '%s'", key, s->name);
	*seen |= SEEN(idx);
	switch (idx) {
	case K_CATEGORY: {
		const char *c = scalar(l, v, "a category");
		if (!c)
			return PC_EPARSE;
		for (size_t i = 0; pc_kb_categories[i]; i++)
			if (strcmp(c, pc_kb_categories[i]) == 0) {
				s->category = strdup(c);
				return s->category ? 0 : pc_error_set(l->err, PC_ENOMEM,
								      "out of memory");
			}
		return fail_at(l, v,
			       "unknown category '%.64s' (expected database, cache, control-plane, "
			       "remote-admin, messaging, metrics-debug, file-sharing, web, "
			       "directory or unknown)",
			       c);
	}
	case K_SEVERITY: {
		const char *c = scalar(l, v, "a severity");
		if (!c)
			return PC_EPARSE;
		if (pc_severity_parse(c, &s->severity) < 0)
			return fail_at(l, v,
				       "unknown severity '%.64s' (expected critical, high, medium, "
				       "low or info)",
				       c);
		return 0;
	}
	case K_WHY:
		return text_field(l, v, key, &s->why);
	case K_REMEDIATION:
		return text_field(l, v, key, &s->remediation);
	case K_SECRETS:
		return bool_field(l, v, key, &s->secrets);
	default:
		return bool_field(l, v, key, &s->plaintext);
	}
}

static int parse_service(struct loader *l, const yaml_node_t *k, const yaml_node_t *v)
{
	const char *name = scalar(l, k, "a service name");
	if (!name)
		return PC_EPARSE;
	if (!valid_name(name))
		return fail_at(l, k,
			       "bad service name '%.64s' (expected 1-64 of a-z, 0-9, '-', '_', "
			       "'.')",
			       name);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->list[i].name, name) == 0)
			return fail_at(l, k, "service '%s' defined twice", name);
	if (v->type != YAML_MAPPING_NODE)
		return fail_at(l, v, "expected a mapping of category, severity, why and "
				     "remediation for service '%s', found %s",
			       name, pc_yaml_node_kind(v));
	if (l->n >= PC_KB_MAX_SERVICES)
		return fail_at(l, k, "more than 4096 services");
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pc_kb_service *nl = realloc(l->list, cap * sizeof(*nl));
		if (!nl)
			return pc_error_set(l->err, PC_ENOMEM, "out of memory");
		l->list = nl;
		l->cap = cap;
	}
	struct pc_kb_service *s = &l->list[l->n++];
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	if (!s->name)
		return pc_error_set(l->err, PC_ENOMEM, "out of memory");
	unsigned seen = 0;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		int r = service_key(l, s, yaml_document_get_node(l->doc, p->key),
				    yaml_document_get_node(l->doc, p->value), &seen);
		if (r < 0)
			return r;
	}
	static const int required[] = {K_CATEGORY, K_SEVERITY, K_WHY, K_REMEDIATION};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(seen & SEEN(required[i])))
			return fail_at(l, v, "service '%s' has no '%s'", name,
				       service_keys[required[i]]);
	return 0;
}

static int parse_root(struct loader *l)
{
	yaml_node_t *root = yaml_document_get_root_node(l->doc);
	if (!root)
		return pc_error_set_at(l->err, PC_EPARSE, l->file, 1, 1,
				       "empty document (expected version: 1 and services)");
	if (root->type != YAML_MAPPING_NODE)
		return fail_at(l, root, "expected a mapping with version and services, found %s",
			       pc_yaml_node_kind(root));
	bool have_version = false, have_services = false;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		const char *key = scalar(l, k, "a key");
		if (!key)
			return PC_EPARSE;
		if (strcmp(key, "version") == 0) {
			if (have_version)
				return fail_at(l, k, "key 'version' repeated");
			have_version = true;
			const char *s = scalar(l, v, "version 1");
			if (!s)
				return PC_EPARSE;
			if (strcmp(s, "1") != 0)
				return fail_at(l, v, "unsupported version '%.32s' (expected 1)", s);
		} else if (strcmp(key, "services") == 0) {
			if (have_services)
				return fail_at(l, k, "key 'services' repeated");
			have_services = true;
			if (v->type != YAML_MAPPING_NODE)
				return fail_at(l, v,
					       "expected a mapping of service names, found %s",
					       pc_yaml_node_kind(v));
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
			     q < v->data.mapping.pairs.top; q++) {
				int r = parse_service(l, yaml_document_get_node(l->doc, q->key),
						      yaml_document_get_node(l->doc, q->value));
				if (r < 0)
					return r;
			}
		} else {
			return fail_at(l, k,
				       "unknown key '%.64s' at the top level (expected version or "
				       "services)",
				       key);
		}
	}
	if (!have_version)
		return fail_at(l, root, "no 'version' (expected version: 1)");
	if (!have_services)
		return fail_at(l, root, "no 'services' mapping");
	return 0;
}

/* Move the document's entries into kb: same name replaces, new names are
 * added, then the array is sorted again for pc_kb_find(). */
static int merge(struct pc_kb *kb, struct loader *l, struct pc_error *err)
{
	size_t need = kb->n + l->n;
	if (need > PC_KB_MAX_SERVICES * 2)
		return pc_error_set(err, PC_ETOOBIG, "knowledge base too large");
	if (need > kb->cap) {
		struct pc_kb_service *ns = realloc(kb->services, need * sizeof(*ns));
		if (!ns)
			return pc_error_set(err, PC_ENOMEM, "out of memory");
		kb->services = ns;
		kb->cap = need;
	}
	size_t old = kb->n;
	for (size_t i = 0; i < l->n; i++) {
		struct pc_kb_service *have =
			old ? bsearch(l->list[i].name, kb->services, old, sizeof(kb->services[0]),
				      cmp_key)
			    : NULL;
		if (have) {
			service_clear(have);
			*have = l->list[i];
		} else {
			kb->services[kb->n++] = l->list[i];
		}
	}
	l->n = 0;
	qsort(kb->services, kb->n, sizeof(kb->services[0]), cmp_service);
	return 0;
}

static int syntax_error(yaml_parser_t *p, const char *name, struct pc_error *err)
{
	return pc_error_set_at(err, p->error == YAML_MEMORY_ERROR ? PC_ENOMEM : PC_EPARSE, name,
			       (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
			       "%s%s%s", p->problem ? p->problem : "malformed YAML",
			       p->context ? " " : "", p->context ? p->context : "");
}

/* libyaml 0.2 has no nesting limit, and its scanner does work in
 * proportion to the nesting depth for every token: a 1 MiB file of '['
 * takes minutes. The format is three levels deep, so a first pass over the
 * events refuses anything deeper than PC_KB_MAX_DEPTH before the document
 * is loaded. */
static int check_depth(const char *name, const char *data, size_t len, struct pc_error *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	if (!yaml_parser_initialize(&p))
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	int depth = 0, r = 0;
	for (bool end = false; !end && r == 0;) {
		if (!yaml_parser_parse(&p, &ev)) {
			r = syntax_error(&p, name, err);
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
			if (++depth > PC_KB_MAX_DEPTH)
				r = pc_error_set_at(err, PC_EPARSE, name,
						    (int)ev.start_mark.line + 1,
						    (int)ev.start_mark.column + 1,
						    "nested deeper than %d levels (the format has 3: "
						    "top level, services, a service)",
						    PC_KB_MAX_DEPTH);
		} else if (ev.type == YAML_MAPPING_END_EVENT ||
			   ev.type == YAML_SEQUENCE_END_EVENT) {
			depth--;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return r;
}

int pc_kb_load_buffer(struct pc_kb *kb, const char *name, const char *data, size_t len,
		      struct pc_error *err)
{
	if (len > PC_KB_MAX_BYTES)
		return pc_error_set_at(err, PC_ETOOBIG, name, 0, 0,
				       "knowledge base larger than 1 MiB");
	int r = check_depth(name, data, len, err);
	if (r < 0)
		return r;
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = syntax_error(&parser, name, err);
		yaml_parser_delete(&parser);
		return r;
	}
	struct loader l = {.doc = &doc, .file = name, .err = err};
	r = parse_root(&l);
	if (r == 0) {
		/* one document per file: a second one would be silently ignored */
		yaml_document_t extra;
		if (!yaml_parser_load(&parser, &extra)) {
			r = syntax_error(&parser, name, err);
		} else {
			yaml_node_t *more = yaml_document_get_root_node(&extra);
			if (more)
				r = fail_at(&l, more, "a second document (expected one per file)");
			yaml_document_delete(&extra);
		}
	}
	if (r == 0)
		r = merge(kb, &l, err);
	for (size_t i = 0; i < l.n; i++)
		service_clear(&l.list[i]);
	free(l.list);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

int pc_kb_load_file(struct pc_kb *kb, const char *path, struct pc_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pc_error_set_at(err, PC_EINVAL, path, 0, 0, "cannot read: %s",
				       strerror(errno));
	/* one byte more than the cap tells "too large" from "exactly the cap" */
	char *buf = malloc(PC_KB_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	size_t len = 0;
	int r = 0;
	while (len < PC_KB_MAX_BYTES + 1) {
		ssize_t n = read(fd, buf + len, PC_KB_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = pc_error_set_at(err, PC_EINVAL, path, 0, 0, "cannot read: %s",
					    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r == 0)
		r = pc_kb_load_buffer(kb, path, buf, len, err);
	free(buf);
	return r;
}

int pc_kb_builtin(struct pc_kb **ret_kb, struct pc_error *err)
{
	struct pc_kb *kb = pc_kb_new();
	if (!kb)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	int r = pc_kb_load_buffer(kb, "data/kb.yaml (built in)", pc_kb_builtin_text,
				  pc_kb_builtin_len, err);
	if (r < 0) {
		pc_kb_free(kb);
		return r;
	}
	*ret_kb = kb;
	return 0;
}
