/*
 * import.c - format detection, file reading and the shared endpoint sink.
 *
 * Detection looks only at the first bytes, the way file(1) would: '<' is
 * XML (then the root element must be nmaprun), '#' or a masscan status word
 * is masscan -oL, '[' is masscan -oJ, '{' is our JSON document when the
 * first value is the whole input, else JSON Lines. Guessing from content
 * deeper in the file would make error messages depend on what the guess was,
 * so once a format is chosen every error is reported in that format's terms.
 *
 * Duplicates (masscan writes one record per port, plus banner records; a
 * listener can appear once per owner) are merged through a small hash keyed
 * by (proto, address, port), so a million-line file stays linear.
 */
#include "import/sink.h"
#include "core/buf.h"
#include "core/text.h"
#include "scan/targets.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_CLAIM 64
#define MAX_HOSTNAME 255

const char *pc_import_format_name(enum pc_import_format f)
{
	switch (f) {
	case PC_IMPORT_AUTO:
		return "auto";
	case PC_IMPORT_JSON:
		return "portcensus json";
	case PC_IMPORT_JSONL:
		return "json lines";
	case PC_IMPORT_NMAP_XML:
		return "nmap xml";
	case PC_IMPORT_MASSCAN_LIST:
		return "masscan list";
	case PC_IMPORT_MASSCAN_JSON:
		return "masscan json";
	}
	return "?";
}

static bool starts_word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);
	return (size_t)(end - p) > n && memcmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\t');
}

int pc_import_detect(const char *data, size_t len, const char *name,
		     enum pc_import_format *ret_format, struct pc_error *err)
{
	const char *p = data, *end = data + len;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* UTF-8 byte order mark */
	int line = 1;
	const char *line_start = p;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		if (*p == '\n') {
			line++;
			line_start = p + 1;
		}
		p++;
	}
	if (p == end)
		return pc_error_set_at(err, PC_EPARSE, name, 0, 0,
				       "empty input: no scan results to verify");
	enum pc_import_format f;
	if (*p == '<')
		f = PC_IMPORT_NMAP_XML;
	else if (*p == '[')
		f = PC_IMPORT_MASSCAN_JSON;
	else if (*p == '{')
		f = PC_IMPORT_JSON; /* or JSON Lines: decided by the reader */
	else if (*p == '#' || starts_word(p, end, "open") || starts_word(p, end, "closed") ||
		 starts_word(p, end, "banner"))
		f = PC_IMPORT_MASSCAN_LIST;
	else
		return pc_error_set_at(err, PC_EPARSE, name, line, (int)(p - line_start) + 1,
				       "unrecognised format (expected nmap XML, masscan -oL or "
				       "-oJ, or portcensus JSON or JSON Lines)");
	*ret_format = f;
	return 0;
}

int pc_import_proto(const char *s, size_t len)
{
	if (len == 3 && strncasecmp(s, "tcp", 3) == 0)
		return PC_PROTO_TCP;
	if (len == 3 && strncasecmp(s, "udp", 3) == 0)
		return PC_PROTO_UDP;
	static const char *const other[] = {"sctp", "icmp", "ip", "arp"};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (len == strlen(other[i]) && strncasecmp(s, other[i], len) == 0)
			return PC_IMPORT_PROTO_OTHER;
	return -1;
}

bool pc_import_port(const char *s, size_t len, uint16_t *ret)
{
	if (len == 0 || len > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*ret = (uint16_t)v;
	return true;
}

int pc_import_vfail_at(struct pc_import_ctx *c, int code, int line, int col, const char *fmt,
		       va_list ap)
{
	char msg[400], clean[400];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pc_text_sanitize(msg, clean, sizeof(clean));
	return pc_error_set_at(c->err, code, c->file, line, col, "%s", clean);
}

int pc_import_fail_at(struct pc_import_ctx *c, int code, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = pc_import_vfail_at(c, code, line, col, fmt, ap);
	va_end(ap);
	return r;
}

const struct pc_jval *pc_import_member(struct pc_import_ctx *c, const struct pc_jval *obj,
				       const char *what, const char *key, enum pc_jtype type,
				       bool required, int *r)
{
	const struct pc_jval *v = pc_jval_get(obj, key);
	*r = 0;
	if (!v || (!required && v->type == PC_JNULL)) {
		if (required)
			*r = pc_error_set_at(c->err, PC_EPARSE, c->file, obj->line, obj->col,
					     "%s has no \"%s\"", what, key);
		return NULL;
	}
	if (v->type != type) {
		*r = pc_error_set_at(c->err, PC_EPARSE, c->file, v->line, v->col,
				     "\"%s\" must be a %s, not a %s", key, pc_jtype_name(type),
				     pc_jtype_name(v->type));
		return NULL;
	}
	return v;
}

static uint64_t key_hash(enum pc_proto proto, const struct pc_addr *a, uint16_t port)
{
	/* FNV-1a: the keys come from a file, not from an adversary who can
	 * watch our timing, and the table only has to stay roughly even */
	uint64_t h = 1469598103934665603ull;
	unsigned char k[20];
	k[0] = (unsigned char)proto;
	k[1] = a->family;
	k[2] = (unsigned char)(port >> 8);
	k[3] = (unsigned char)port;
	memcpy(k + 4, a->bytes, 16);
	for (size_t i = 0; i < sizeof(k); i++) {
		h ^= k[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int grow_slots(struct pc_import_ctx *c)
{
	size_t n = c->nslots ? c->nslots * 2 : 1024;
	size_t *s = calloc(n, sizeof(*s));
	if (!s)
		return pc_error_set(c->err, PC_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &c->snap->endpoints[i];
		size_t j = key_hash(e->proto, &e->addr, e->port) & (n - 1);
		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = i + 1;
	}
	free(c->slots);
	c->slots = s;
	c->nslots = n;
	return 0;
}

static char *copy_capped(struct pc_snapshot *snap, const char *s, size_t cap, bool lower)
{
	size_t n = strnlen(s, cap);
	char *d = pc_arena_strndup(&snap->arena, s, n);
	if (d && lower)
		for (char *q = d; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
	return d;
}

int pc_import_add(struct pc_import_ctx *c, enum pc_proto proto, const struct pc_addr *addr,
		  uint16_t port, const char *hostname, const char *claimed, bool guessed, int line,
		  int col)
{
	struct pc_snapshot *snap = c->snap;
	/* every record, duplicates too: the first one out of scope is named */
	struct pc_addr outside;
	if (!c->allow_public && pc_targets_guard(addr, addr, &outside) < 0) {
		char ab[PC_ADDR_STRLEN];
		return pc_error_set_at(c->err, PC_ESCOPE, c->file, line, col,
				       "%s is not in an internal range (use --allow-public to "
				       "verify it); nothing was re-checked",
				       pc_addr_format(&outside, ab, sizeof(ab)));
	}
	if (claimed && !*claimed)
		claimed = NULL;
	if (hostname && !*hostname)
		hostname = NULL;
	/* keep the load factor under one half */
	if ((snap->n_endpoints + 1) * 2 > c->nslots) {
		int r = grow_slots(c);
		if (r < 0)
			return r;
	}
	size_t j = key_hash(proto, addr, port) & (c->nslots - 1);
	while (c->slots[j]) {
		struct pc_endpoint *e = &snap->endpoints[c->slots[j] - 1];
		if (e->proto == proto && e->port == port && pc_addr_equal(&e->addr, addr)) {
			size_t idx = c->slots[j] - 1;
			c->stats->duplicates++;
			bool was_guess = c->stats->claim_guessed[idx];
			if (claimed && (!e->claimed_service || (was_guess && !guessed))) {
				e->claimed_service = copy_capped(snap, claimed, MAX_CLAIM, true);
				if (!e->claimed_service)
					return pc_error_set(c->err, PC_ENOMEM, "out of memory");
				c->stats->claim_guessed[idx] = guessed;
			}
			if (hostname && !e->hostname) {
				e->hostname = copy_capped(snap, hostname, MAX_HOSTNAME, false);
				if (!e->hostname)
					return pc_error_set(c->err, PC_ENOMEM, "out of memory");
			}
			return 0;
		}
		j = (j + 1) & (c->nslots - 1);
	}
	if (snap->n_endpoints >= c->max_endpoints)
		return pc_error_set_at(c->err, PC_ETOOBIG, c->file, line, col,
				       "more than %zu open ports in one file", c->max_endpoints);
	if (snap->n_endpoints >= c->cap_guessed) {
		size_t n = c->cap_guessed ? c->cap_guessed * 2 : 256;
		unsigned char *g = realloc(c->stats->claim_guessed, n);
		if (!g)
			return pc_error_set(c->err, PC_ENOMEM, "out of memory");
		c->stats->claim_guessed = g;
		c->cap_guessed = n;
	}
	struct pc_endpoint *e = pc_snapshot_add_endpoint(snap);
	if (!e)
		return pc_error_set(c->err, PC_ENOMEM, "out of memory");
	e->source = PC_SOURCE_IMPORT;
	e->proto = proto;
	e->addr = *addr;
	e->port = port;
	e->state = PC_STATE_OPEN;
	e->bind = PC_BIND_UNKNOWN;
	if (claimed) {
		e->claimed_service = copy_capped(snap, claimed, MAX_CLAIM, true);
		if (!e->claimed_service)
			return pc_error_set(c->err, PC_ENOMEM, "out of memory");
	}
	if (hostname) {
		e->hostname = copy_capped(snap, hostname, MAX_HOSTNAME, false);
		if (!e->hostname)
			return pc_error_set(c->err, PC_ENOMEM, "out of memory");
	}
	size_t idx = snap->n_endpoints - 1;
	c->stats->claim_guessed[idx] = claimed && guessed;
	c->stats->n_claim_guessed = snap->n_endpoints;
	c->stats->imported++;
	c->slots[j] = idx + 1;
	return 0;
}

int pc_import_buffer(struct pc_snapshot *snap, const char *data, size_t len,
		     const struct pc_import_opts *opts, struct pc_import_stats *stats,
		     struct pc_error *err)
{
	const char *name = opts && opts->name ? opts->name : "<input>";
	if (len > PC_IMPORT_MAX_SIZE)
		return pc_error_set_at(err, PC_ETOOBIG, name, 0, 0,
				       "larger than the %u MiB input cap", PC_IMPORT_MAX_SIZE >> 20);
	enum pc_import_format f = opts ? opts->format : PC_IMPORT_AUTO;
	if (f == PC_IMPORT_AUTO) {
		int r = pc_import_detect(data, len, name, &f, err);
		if (r < 0)
			return r;
	}
	struct pc_import_ctx c = {
		.snap = snap,
		.file = name,
		.stats = stats,
		.err = err,
		.max_endpoints = opts && opts->max_endpoints ? opts->max_endpoints
							      : PC_IMPORT_MAX_ENDPOINTS,
		.allow_public = opts && opts->allow_public,
	};
	stats->format = f;
	int r;
	switch (f) {
	case PC_IMPORT_NMAP_XML:
		r = pc_import_nmap_xml(&c, data, len);
		break;
	case PC_IMPORT_MASSCAN_LIST:
		r = pc_import_masscan_list(&c, data, len);
		break;
	case PC_IMPORT_MASSCAN_JSON:
		r = pc_import_masscan_json(&c, data, len);
		break;
	case PC_IMPORT_JSON:
		r = pc_import_our_json(&c, data, len); /* switches to JSONL itself */
		break;
	case PC_IMPORT_JSONL:
		r = pc_import_jsonl(&c, data, len);
		break;
	default:
		r = pc_error_set(err, PC_EINVAL, "unknown import format");
		break;
	}
	free(c.slots);
	return r;
}

int pc_import_file(struct pc_snapshot *snap, const char *path, const struct pc_import_opts *opts,
		   struct pc_import_stats *stats, struct pc_error *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return pc_error_set_at(err, PC_EINVAL, name, 0, 0, "cannot open: %s",
				       strerror(errno));
	struct pc_buf b;
	pc_buf_init(&b, PC_IMPORT_MAX_SIZE);
	int r = pc_buf_read_fd(&b, fd);
	if (!is_stdin)
		close(fd);
	if (r == PC_ETOOBIG) {
		r = pc_error_set_at(err, PC_ETOOBIG, name, 0, 0, "larger than the %u MiB input cap",
				    PC_IMPORT_MAX_SIZE >> 20);
	} else if (r < 0) {
		/* out of memory is a runtime failure (exit 3), not bad input */
		r = pc_error_set_at(err, r == PC_ENOMEM ? PC_ENOMEM : PC_EINVAL, name, 0, 0,
				    "cannot read: %s",
				    r > -1000 ? strerror(-r) : pc_strerror(r));
	} else {
		struct pc_import_opts o = opts ? *opts : (struct pc_import_opts){0};
		o.name = name;
		r = pc_import_buffer(snap, b.data ? b.data : "", b.len, &o, stats, err);
	}
	pc_buf_free(&b);
	return r;
}

void pc_import_stats_free(struct pc_import_stats *stats)
{
	if (!stats)
		return;
	free(stats->claim_guessed);
	stats->claim_guessed = NULL;
	stats->n_claim_guessed = 0;
}
