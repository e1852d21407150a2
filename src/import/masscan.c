/*
 * masscan.c - masscan's list (-oL), JSON (-oJ) and NDJSON (-oD) results.
 *
 * -oL is one record per line, "open tcp 80 198.18.0.2 1795744158", with
 * "#masscan" / "# end" comments and, with --banners, "banner tcp 80 ADDR TS
 * SERVICE TEXT...". -oJ is an array of {"ip", "timestamp", "ports": [{"port",
 * "proto", "status", ...}]} objects (banner records carry "service": {"name",
 * "banner"} instead of "status"); -oD is the same record flattened, one per
 * line, with "rec_type" and "data". masscan's banner service names become the
 * claimed service when they name a protocol; names of sub-records ("title",
 * "X509", "http.server") say nothing about what answers and are ignored.
 */
#include "import/sink.h"
#include "core/json.h"
#include "core/jsonparse.h"

#include <stdarg.h>
#include <stdio.h>

#include <string.h>
#include <strings.h>

/* masscan banner "service" -> claimed service name, or NULL */
static const char *banner_claim(const char *name, size_t len)
{
	static const struct {
		const char *masscan, *claim;
	} map[] = {
		{"http", "http"},   {"ssh", "ssh"},     {"ftp", "ftp"},       {"smtp", "smtp"},
		{"pop3", "pop3"},   {"imap4", "imap"},  {"telnet", "telnet"}, {"vnc", "vnc"},
		{"rdp", "rdp"},     {"smb", "smb"},     {"ntp", "ntp"},       {"dns", "dns"},
		{"memcached", "memcached"}, {"redis", "redis"}, {"ssl", "tls"},
		{"snmp", "snmp"},   {"mysql", "mysql"}, {"postgres", "postgresql"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].masscan) == len && strncasecmp(map[i].masscan, name, len) == 0)
			return map[i].claim;
	return NULL;
}

/* ---- -oL ---- */

struct tok {
	const char *s;
	size_t len;
	int col;
};

static int list_fail(struct pc_import_ctx *c, int line, int col, const char *msg, const struct tok *t)
{
	if (t) {
		char clean[80], raw[80];
		size_t n = t->len < sizeof(raw) - 1 ? t->len : sizeof(raw) - 1;
		memcpy(raw, t->s, n);
		raw[n] = '\0';
		pc_text_sanitize(raw, clean, sizeof(clean));
		return pc_error_set_at(c->err, PC_EPARSE, c->file, line, col, "%s '%s'", msg, clean);
	}
	return pc_error_set_at(c->err, PC_EPARSE, c->file, line, col, "%s", msg);
}

static bool all_digits(const struct tok *t)
{
	if (t->len == 0 || t->len > 20)
		return false;
	for (size_t i = 0; i < t->len; i++)
		if (t->s[i] < '0' || t->s[i] > '9')
			return false;
	return true;
}

static int parse_list_line(struct pc_import_ctx *c, const char *s, size_t len, int line)
{
	struct tok t[7];
	size_t nt = 0, i = 0;
	while (i < len && nt < 7) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len)
			break;
		size_t st = i;
		if (nt == 6) { /* banner text: the rest of the line */
			t[nt++] = (struct tok){s + st, len - st, (int)st + 1};
			break;
		}
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		t[nt++] = (struct tok){s + st, i - st, (int)st + 1};
	}
	if (nt == 0)
		return 0;
	bool open = t[0].len == 4 && memcmp(t[0].s, "open", 4) == 0;
	bool closed = t[0].len == 6 && memcmp(t[0].s, "closed", 6) == 0;
	bool banner = t[0].len == 6 && memcmp(t[0].s, "banner", 6) == 0;
	if (!open && !closed && !banner)
		return list_fail(c, line, t[0].col,
				 "expected a masscan -oL record (open, closed or banner), not", &t[0]);
	if (nt < 5)
		return list_fail(c, line, (int)len + 1,
				 banner ? "truncated record: expected 'banner PROTO PORT ADDRESS "
					  "TIMESTAMP SERVICE TEXT'"
					: "truncated record: expected 'open PROTO PORT ADDRESS TIMESTAMP'",
				 NULL);
	if (!banner && nt > 5)
		return list_fail(c, line, t[5].col, "unexpected text after the timestamp:", &t[5]);
	int proto = pc_import_proto(t[1].s, t[1].len);
	if (proto == -1)
		return list_fail(c, line, t[1].col, "unknown protocol", &t[1]);
	if (!banner)
		c->stats->records++;
	if (proto == PC_IMPORT_PROTO_OTHER) {
		if (!banner)
			c->stats->other_proto++;
		return 0;
	}
	uint16_t port;
	if (!pc_import_port(t[2].s, t[2].len, &port))
		return list_fail(c, line, t[2].col, "port must be a number 1-65535, not", &t[2]);
	char abuf[PC_ADDR_STRLEN];
	struct pc_addr addr;
	if (t[3].len >= sizeof(abuf))
		return list_fail(c, line, t[3].col, "not an IP address:", &t[3]);
	memcpy(abuf, t[3].s, t[3].len);
	abuf[t[3].len] = '\0';
	if (pc_addr_parse(abuf, &addr) < 0)
		return list_fail(c, line, t[3].col, "not an IP address:", &t[3]);
	if (!all_digits(&t[4]))
		return list_fail(c, line, t[4].col, "timestamp must be seconds since 1970, not",
				 &t[4]);
	if (closed) {
		c->stats->not_open++;
		return 0;
	}
	const char *claim = NULL;
	if (banner) {
		if (nt < 6)
			return list_fail(c, line, (int)len + 1,
					 "truncated record: expected 'banner PROTO PORT ADDRESS "
					 "TIMESTAMP SERVICE TEXT'",
					 NULL);
		claim = banner_claim(t[5].s, t[5].len);
	}
	return pc_import_add(c, (enum pc_proto)proto, &addr, port, NULL, claim, false, line,
			     t[0].col);
}

int pc_import_masscan_list(struct pc_import_ctx *c, const char *data, size_t len)
{
	size_t pos = 0;
	int line = 0;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		line++;
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t l = end - pos;
		if (l && data[pos + l - 1] == '\r')
			l--;
		if (memchr(data + pos, '\0', l))
			return pc_error_set_at(c->err, PC_EPARSE, c->file, line, 0,
					       "NUL byte in a masscan -oL file");
		size_t k = 0;
		while (k < l && (data[pos + k] == ' ' || data[pos + k] == '\t'))
			k++;
		if (k < l && data[pos + k] != '#') {
			int r = parse_list_line(c, data + pos, l, line);
			if (r < 0)
				return r;
		}
		pos = end + 1;
	}
	return 0;
}

/* ---- -oJ and -oD ---- */

/* a parse error at v, its message sanitised */
#define JFAIL(c, v, ...) pc_import_fail_at((c), PC_EPARSE, (v)->line, (v)->col, __VA_ARGS__)

/* a required member of a masscan record */
static const struct pc_jval *need(struct pc_import_ctx *c, const struct pc_jval *obj,
				  const char *key, enum pc_jtype type, int *r)
{
	return pc_import_member(c, obj, "masscan record", key, type, true, r);
}

/* One port of a record: port, proto, and status or service. */
static int json_port(struct pc_import_ctx *c, const struct pc_addr *addr, const struct pc_jval *port,
		     const struct pc_jval *proto, const char *status, const struct pc_jval *service,
		     const struct pc_jval *where)
{
	int pr = pc_import_proto(proto->str, proto->len);
	if (pr == -1 || strlen(proto->str) != proto->len)
		return JFAIL(c, proto, "unknown protocol \"%.32s\"",
			     pc_jval_str(proto) ? proto->str : "?");
	if (!service)
		c->stats->records++;
	if (pr == PC_IMPORT_PROTO_OTHER) {
		if (!service)
			c->stats->other_proto++;
		return 0;
	}
	uint64_t p;
	if (!pc_jval_uint(port, 65535, &p) || p == 0)
		return JFAIL(c, port, "port must be a number 1-65535, not %.32s", port->str);
	const char *claim = NULL;
	if (service) {
		const struct pc_jval *name = pc_jval_get(service, "name");
		if (name && name->type == PC_JSTRING)
			claim = banner_claim(name->str, name->len);
	} else if (strcmp(status, "open") != 0) {
		c->stats->not_open++;
		return 0;
	}
	return pc_import_add(c, (enum pc_proto)pr, addr, (uint16_t)p, NULL, claim, false, where->line,
			     where->col);
}

static int json_ip(struct pc_import_ctx *c, const struct pc_jval *ip, struct pc_addr *ret)
{
	const char *s = pc_jval_str(ip);
	if (!s || pc_addr_parse(s, ret) < 0) {
		char clean[64];
		pc_text_sanitize(s ? s : "", clean, sizeof(clean));
		return JFAIL(c, ip, "not an IP address: \"%s\"", clean);
	}
	return 0;
}

/* obj's "ip", as an address */
static int need_ip(struct pc_import_ctx *c, const struct pc_jval *obj, struct pc_addr *ret)
{
	int r = 0;
	const struct pc_jval *ip = need(c, obj, "ip", PC_JSTRING, &r);
	return ip ? json_ip(c, ip, ret) : r;
}

/* obj's "port" and "proto", checked later by json_port */
static int need_port_proto(struct pc_import_ctx *c, const struct pc_jval *obj,
			   const struct pc_jval **ret_port, const struct pc_jval **ret_proto)
{
	int r = 0;
	if (!(*ret_port = need(c, obj, "port", PC_JNUMBER, &r)))
		return r;
	if (!(*ret_proto = need(c, obj, "proto", PC_JSTRING, &r)))
		return r;
	return 0;
}

static int json_record(struct pc_import_ctx *c, const struct pc_jval *rec)
{
	int r = 0;
	if (rec->type != PC_JOBJECT)
		return JFAIL(c, rec, "masscan record must be an object, not a %s",
			     pc_jtype_name(rec->type));
	struct pc_addr addr;
	if ((r = need_ip(c, rec, &addr)) < 0)
		return r;
	const struct pc_jval *ports = need(c, rec, "ports", PC_JARRAY, &r);
	if (!ports)
		return r;
	for (size_t i = 0; i < ports->n; i++) {
		const struct pc_jval *pe = &ports->kids[i];
		if (pe->type != PC_JOBJECT)
			return JFAIL(c, pe, "port entry must be an object, not a %s",
				     pc_jtype_name(pe->type));
		const struct pc_jval *port, *proto;
		if ((r = need_port_proto(c, pe, &port, &proto)) < 0)
			return r;
		const struct pc_jval *service = pc_jval_get(pe, "service");
		const char *status = NULL;
		if (service && service->type != PC_JOBJECT)
			return JFAIL(c, service, "\"service\" must be an object, not a %s",
				     pc_jtype_name(service->type));
		if (!service) {
			const struct pc_jval *st = need(c, pe, "status", PC_JSTRING, &r);
			if (!st)
				return r;
			status = st->str;
		}
		r = json_port(c, &addr, port, proto, status, service, pe);
		if (r < 0)
			return r;
	}
	return 0;
}

static int on_record(void *ctx, const struct pc_jval *rec)
{
	return json_record(ctx, rec);
}

int pc_import_masscan_json(struct pc_import_ctx *c, const char *data, size_t len)
{
	/* records are streamed: one in memory at a time */
	struct pc_jparse_opts o = {
		.max_size = PC_IMPORT_MAX_SIZE,
		.max_values = PC_IMPORT_MAX_JSON_VALUES,
		.file = c->file,
		.on_element = on_record,
		.element_ctx = c,
	};
	struct pc_jdoc *doc = NULL;
	int r = pc_jparse(data, len, &o, &doc, NULL, c->err);
	if (r < 0)
		return r;
	const struct pc_jval *root = doc->root;
	if (root->type != PC_JARRAY)
		r = JFAIL(c, root, "masscan -oJ must be an array of records, not a %s",
			  pc_jtype_name(root->type));
	pc_jdoc_free(doc);
	return r;
}

int pc_import_masscan_ndjson(struct pc_import_ctx *c, const struct pc_jval *rec)
{
	int r = 0;
	struct pc_addr addr;
	if ((r = need_ip(c, rec, &addr)) < 0)
		return r;
	const struct pc_jval *type = need(c, rec, "rec_type", PC_JSTRING, &r);
	if (!type)
		return r;
	const struct pc_jval *port, *proto;
	if ((r = need_port_proto(c, rec, &port, &proto)) < 0)
		return r;
	const struct pc_jval *d = need(c, rec, "data", PC_JOBJECT, &r);
	if (!d)
		return r;
	if (strcmp(type->str, "status") == 0) {
		const struct pc_jval *st = need(c, d, "status", PC_JSTRING, &r);
		if (!st)
			return r;
		return json_port(c, &addr, port, proto, st->str, NULL, rec);
	}
	if (strcmp(type->str, "banner") == 0) {
		const struct pc_jval *svc = pc_jval_get(d, "service_name");
		struct pc_jval fake = {.type = PC_JOBJECT};
		struct pc_jval name;
		if (svc && svc->type == PC_JSTRING) {
			name = *svc;
			name.key = "name";
			name.key_len = 4;
			fake.kids = &name;
			fake.n = 1;
		}
		return json_port(c, &addr, port, proto, NULL, &fake, rec);
	}
	return 0; /* other record types carry no port state */
}
