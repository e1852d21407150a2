/*
 * ourjson.c - our own output read back: the --format json document
 * ({"portcensus":..., "endpoints": [...]}) and --format jsonl (one endpoint
 * per line). masscan -oD is JSON Lines too; its records (they have
 * "rec_type") go to masscan.c.
 *
 * Only the keys that identify an endpoint and its claim are read (proto,
 * address, port, state, hostname, service.name); the rest of our shape may
 * grow without breaking old files. A host record bound to any address
 * (0.0.0.0, ::) is re-checked at loopback, as `audit` does.
 */
#include "import/sink.h"
#include "core/jsonparse.h"

#include <string.h>

static int fail(struct pc_import_ctx *c, const struct pc_jval *v, const char *msg)
{
	return pc_error_set_at(c->err, PC_EPARSE, c->file, v->line, v->col, "%s", msg);
}

/* a member of an endpoint (pc_import_member) */
static const struct pc_jval *member(struct pc_import_ctx *c, const struct pc_jval *obj,
				    const char *key, enum pc_jtype type, bool required, int *r)
{
	return pc_import_member(c, obj, "endpoint", key, type, required, r);
}

static int endpoint(struct pc_import_ctx *c, const struct pc_jval *e)
{
	int r;
	if (e->type != PC_JOBJECT)
		return pc_error_set_at(c->err, PC_EPARSE, c->file, e->line, e->col,
				       "endpoint must be an object, not a %s",
				       pc_jtype_name(e->type));
	const struct pc_jval *proto = member(c, e, "proto", PC_JSTRING, true, &r);
	if (!proto)
		return r;
	const struct pc_jval *address = member(c, e, "address", PC_JSTRING, true, &r);
	if (!address)
		return r;
	const struct pc_jval *port = member(c, e, "port", PC_JNUMBER, true, &r);
	if (!port)
		return r;
	const struct pc_jval *state = member(c, e, "state", PC_JSTRING, true, &r);
	if (!state)
		return r;
	const struct pc_jval *hostname = member(c, e, "hostname", PC_JSTRING, false, &r);
	if (r < 0)
		return r;
	const struct pc_jval *service = member(c, e, "service", PC_JOBJECT, false, &r);
	if (r < 0)
		return r;
	const struct pc_jval *name = NULL;
	if (service) {
		name = member(c, service, "name", PC_JSTRING, false, &r);
		if (r < 0)
			return r;
	} else {
		/* a verify result read back: keep what the first file claimed */
		const struct pc_jval *re = member(c, e, "recheck", PC_JOBJECT, false, &r);
		if (r < 0)
			return r;
		if (re) {
			name = member(c, re, "claimed_service", PC_JSTRING, false, &r);
			if (r < 0)
				return r;
		}
	}

	int pr = pc_import_proto(proto->str, proto->len);
	if (pr == -1 || strlen(proto->str) != proto->len)
		return fail(c, proto, "\"proto\" must be \"tcp\" or \"udp\"");
	c->stats->records++;
	if (pr == PC_IMPORT_PROTO_OTHER) {
		c->stats->other_proto++;
		return 0;
	}
	uint64_t p;
	if (!pc_jval_uint(port, 65535, &p) || p == 0)
		return fail(c, port, "\"port\" must be an integer 1-65535");
	struct pc_addr addr;
	const char *as = pc_jval_str(address);
	if (!as || pc_addr_parse(as, &addr) < 0)
		return fail(c, address, "\"address\" is not an IP address");
	const char *st = pc_jval_str(state);
	if (!st)
		return fail(c, state, "\"state\" holds a NUL byte");
	if (strcmp(st, "open") != 0 && strcmp(st, "listen") != 0) {
		c->stats->not_open++;
		return 0;
	}
	if (pc_addr_is_any(&addr)) {
		struct pc_endpoint tmp = {.addr = addr};
		pc_endpoint_dial_addr(&tmp, &addr);
	}
	const struct pc_jval *netns = pc_jval_get(e, "netns");
	if (netns && netns->type == PC_JOBJECT)
		pc_snapshot_warn(c->snap, "host records from other network namespaces are "
					  "re-checked from the namespace verify runs in");
	return pc_import_add(c, (enum pc_proto)pr, &addr, (uint16_t)p,
			     hostname ? pc_jval_str(hostname) : NULL, name ? pc_jval_str(name) : NULL,
			     false, e->line, e->col);
}

static int record(struct pc_import_ctx *c, const struct pc_jval *v)
{
	if (v->type == PC_JOBJECT && pc_jval_get(v, "rec_type") && pc_jval_get(v, "ip"))
		return pc_import_masscan_ndjson(c, v);
	return endpoint(c, v);
}

int pc_import_jsonl(struct pc_import_ctx *c, const char *data, size_t len)
{
	c->stats->format = PC_IMPORT_JSONL;
	size_t pos = 0;
	int line = 0;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		line++;
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t l = end - pos;
		size_t k = 0;
		while (k < l && (data[pos + k] == ' ' || data[pos + k] == '\t' ||
				 data[pos + k] == '\r'))
			k++;
		if (k < l) {
			struct pc_jparse_opts o = {
				.max_size = PC_IMPORT_MAX_SIZE,
				.max_values = PC_IMPORT_MAX_JSON_VALUES,
				.first_line = line,
				.file = c->file};
			struct pc_jdoc *doc = NULL;
			int r = pc_jparse(data + pos, l, &o, &doc, NULL, c->err);
			if (r < 0)
				return r;
			r = record(c, doc->root);
			pc_jdoc_free(doc);
			if (r < 0)
				return r;
		}
		pos = end + 1;
	}
	return 0;
}

struct stream {
	struct pc_import_ctx *c;
	size_t n;
};

static int on_endpoint(void *ctx, const struct pc_jval *e)
{
	struct stream *s = ctx;
	s->n++;
	return endpoint(s->c, e);
}

int pc_import_our_json(struct pc_import_ctx *c, const char *data, size_t len)
{
	/* the endpoints array is streamed: one endpoint in memory at a time */
	struct stream st = {.c = c};
	struct pc_jparse_opts o = {
		.max_size = PC_IMPORT_MAX_SIZE,
		.max_values = PC_IMPORT_MAX_JSON_VALUES,
		.allow_trailing = true,
		.file = c->file,
		.on_element = on_endpoint,
		.element_ctx = &st,
		.stream_key = "endpoints",
	};
	struct pc_jdoc *doc = NULL;
	size_t used = 0;
	int r = pc_jparse(data, len, &o, &doc, &used, c->err);
	if (r < 0)
		return r;
	size_t rest = used;
	while (rest < len && (data[rest] == ' ' || data[rest] == '\t' || data[rest] == '\r' ||
			      data[rest] == '\n'))
		rest++;
	const struct pc_jval *root = doc->root;
	const struct pc_jval *eps = pc_jval_get(root, "endpoints");
	if (rest < len && !eps) {
		/* more than one value: JSON Lines */
		pc_jdoc_free(doc);
		return pc_import_jsonl(c, data, len);
	}
	if (rest < len) {
		/* where the next line starts, for the message */
		int line = 1;
		size_t ls = 0;
		for (size_t i = 0; i < rest; i++)
			if (data[i] == '\n') {
				line++;
				ls = i + 1;
			}
		r = pc_error_set_at(c->err, PC_EPARSE, c->file, line, (int)(rest - ls) + 1,
				    "unexpected text after the JSON document");
		goto out;
	}
	if (!eps) {
		/* a single record, perhaps pretty-printed */
		c->stats->format = PC_IMPORT_JSONL;
		r = record(c, root);
		goto out;
	}
	if (eps->type != PC_JARRAY) {
		r = pc_error_set_at(c->err, PC_EPARSE, c->file, eps->line, eps->col,
				    "\"endpoints\" must be an array, not a %s",
				    pc_jtype_name(eps->type));
		goto out;
	}
	(void)st; /* the endpoints went to on_endpoint while parsing */
out:
	pc_jdoc_free(doc);
	return r;
}
