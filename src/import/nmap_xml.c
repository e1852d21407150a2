/*
 * nmap_xml.c - nmap -oX results, read with expat as a stream of elements.
 *
 * What we take: nmaprun/host/address (the first ipv4 or ipv6 one),
 * host/hostnames/hostname (a "user" name, else the first), and
 * host/ports/port with state/@state and service/@name, @tunnel, @method.
 * Ports are collected per host and emitted at </host>, because nothing in
 * the DTD promises that <address> comes before <ports>.
 *
 * nmap names a service from its port table when it did not probe
 * (method="table"): that claim is a guess from the port number, and is
 * marked so, because "9100 is jetdirect" is not something a file can be
 * wrong about the way "6379 answers as http" is.
 *
 * Hostile XML: entity declarations are refused outright (nmap never writes
 * them; they are how "billion laughs" and external entities get in), element
 * depth is capped, and every error says file:line:col.
 */
#include "import/sink.h"
#include "core/json.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_PORTS_PER_HOST 65536 * 2

struct xport {
	int proto; /* pc_proto or PC_IMPORT_PROTO_OTHER */
	uint16_t port;
	bool open;
	char *claim; /* malloc'd or NULL */
	bool guessed;
	int line, col;
};

struct xstate {
	struct pc_import_ctx *c;
	XML_Parser p;
	int r; /* first error, stops the parser */
	int depth;
	bool root_seen;
	bool in_host;
	bool have_addr;
	struct pc_addr addr;
	char hostname[256];
	bool hostname_user;
	int host_line, host_col;
	bool in_port; /* inside a <port> we keep */
	struct xport *ports;
	size_t nports, capports;
};

static int line_of(struct xstate *x)
{
	unsigned long l = XML_GetCurrentLineNumber(x->p);
	return l > 1000000000ul ? 1000000000 : (int)l;
}

static int col_of(struct xstate *x)
{
	unsigned long c = XML_GetCurrentColumnNumber(x->p) + 1;
	return c > 1000000000ul ? 1000000000 : (int)c;
}

static void stop(struct xstate *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error (attribute values in it are sanitised, they come
 * from the file) and stop the parser. */
static void stop(struct xstate *x, int code, const char *fmt, ...)
{
	if (x->r < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	x->r = pc_import_vfail_at(x->c, code, line_of(x), col_of(x), fmt, ap);
	va_end(ap);
	XML_StopParser(x->p, XML_FALSE);
}

#define STOP(...)                      \
	do {                           \
		stop(__VA_ARGS__);     \
		return;                \
	} while (0)

static const char *attr(const XML_Char **atts, const char *name)
{
	for (size_t i = 0; atts[i]; i += 2)
		if (strcmp(atts[i], name) == 0)
			return atts[i + 1];
	return NULL;
}

static void clear_ports(struct xstate *x)
{
	for (size_t i = 0; i < x->nports; i++)
		free(x->ports[i].claim);
	x->nports = 0;
}

static void start_host(struct xstate *x)
{
	x->in_host = true;
	x->have_addr = false;
	x->hostname[0] = '\0';
	x->hostname_user = false;
	x->host_line = line_of(x);
	x->host_col = col_of(x);
	clear_ports(x);
}

static void on_address(struct xstate *x, const XML_Char **atts)
{
	const char *type = attr(atts, "addrtype");
	const char *a = attr(atts, "addr");
	if (!type || (strcmp(type, "ipv4") != 0 && strcmp(type, "ipv6") != 0))
		return; /* mac */
	if (!a)
		STOP(x, PC_EPARSE, "<address> without addr");
	struct pc_addr addr;
	if (pc_addr_parse(a, &addr) < 0)
		STOP(x, PC_EPARSE, "not an IP address: '%.64s'", a);
	if (!x->have_addr) {
		x->addr = addr;
		x->have_addr = true;
	}
}

static void on_hostname(struct xstate *x, const XML_Char **atts)
{
	const char *name = attr(atts, "name");
	const char *type = attr(atts, "type");
	if (!name || !*name)
		return;
	bool user = type && strcmp(type, "user") == 0;
	if (x->hostname[0] && (x->hostname_user || !user))
		return;
	snprintf(x->hostname, sizeof(x->hostname), "%s", name);
	x->hostname_user = user;
}

static void on_port(struct xstate *x, const XML_Char **atts)
{
	const char *proto = attr(atts, "protocol");
	const char *id = attr(atts, "portid");
	if (!proto)
		STOP(x, PC_EPARSE, "<port> without protocol");
	if (!id)
		STOP(x, PC_EPARSE, "<port> without portid");
	int pr = pc_import_proto(proto, strlen(proto));
	if (pr == -1)
		STOP(x, PC_EPARSE, "unknown protocol '%.64s'", proto);
	uint16_t port = 0;
	if (pr != PC_IMPORT_PROTO_OTHER && !pc_import_port(id, strlen(id), &port))
		STOP(x, PC_EPARSE, "portid must be a number 1-65535, not '%.64s'", id);
	if (x->nports >= MAX_PORTS_PER_HOST)
		STOP(x, PC_ETOOBIG, "too many <port> elements in one host");
	if (x->nports == x->capports) {
		size_t n = x->capports ? x->capports * 2 : 64;
		struct xport *np = realloc(x->ports, n * sizeof(*np));
		if (!np)
			STOP(x, PC_ENOMEM, "out of memory");
		x->ports = np;
		x->capports = n;
	}
	x->ports[x->nports++] = (struct xport){
		.proto = pr, .port = port, .line = line_of(x), .col = col_of(x)};
	x->in_port = true;
	x->c->stats->records++;
}

static void on_state(struct xstate *x, const XML_Char **atts)
{
	const char *st = attr(atts, "state");
	if (!st)
		STOP(x, PC_EPARSE, "<state> without state");
	x->ports[x->nports - 1].open = strcmp(st, "open") == 0;
}

static void on_service(struct xstate *x, const XML_Char **atts)
{
	const char *name = attr(atts, "name");
	if (!name || !*name)
		return;
	const char *tunnel = attr(atts, "tunnel");
	const char *method = attr(atts, "method");
	struct xport *xp = &x->ports[x->nports - 1];
	free(xp->claim);
	size_t n = strnlen(name, 64);
	bool ssl = tunnel && strcmp(tunnel, "ssl") == 0;
	xp->claim = malloc(n + 5);
	if (!xp->claim)
		STOP(x, PC_ENOMEM, "out of memory");
	snprintf(xp->claim, n + 5, "%s%.*s", ssl ? "ssl/" : "", (int)n, name);
	xp->guessed = method && strcmp(method, "table") == 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *el, const XML_Char **atts)
{
	struct xstate *x = ud;
	if (x->r < 0)
		return;
	if (++x->depth > MAX_DEPTH)
		STOP(x, PC_EPARSE, "elements nested deeper than 64 levels");
	if (!x->root_seen) {
		x->root_seen = true;
		if (strcmp(el, "nmaprun") != 0)
			STOP(x, PC_EPARSE, "not an nmap XML file: the root element is <%.64s>, "
						  "not <nmaprun>",
				    el);
		return;
	}
	if (strcmp(el, "host") == 0) {
		if (x->in_host)
			STOP(x, PC_EPARSE, "<host> inside <host>");
		return start_host(x);
	}
	if (!x->in_host)
		return; /* hosthint, runstats, ... */
	if (strcmp(el, "address") == 0)
		on_address(x, atts);
	else if (strcmp(el, "hostname") == 0)
		on_hostname(x, atts);
	else if (strcmp(el, "port") == 0)
		on_port(x, atts);
	else if (x->in_port && strcmp(el, "state") == 0)
		on_state(x, atts);
	else if (x->in_port && strcmp(el, "service") == 0)
		on_service(x, atts);
}

static void end_host(struct xstate *x)
{
	x->in_host = false;
	struct pc_import_stats *st = x->c->stats;
	if (!x->have_addr) {
		for (size_t i = 0; i < x->nports; i++) {
			if (x->ports[i].proto == PC_IMPORT_PROTO_OTHER)
				st->other_proto++;
			else if (x->ports[i].open)
				goto noaddr;
			else
				st->not_open++;
		}
		clear_ports(x);
		return;
	noaddr:
		x->r = pc_error_set_at(x->c->err, PC_EPARSE, x->c->file, x->host_line, x->host_col,
				       "<host> with open ports has no IPv4 or IPv6 <address>");
		XML_StopParser(x->p, XML_FALSE);
		return;
	}
	for (size_t i = 0; i < x->nports && x->r >= 0; i++) {
		const struct xport *xp = &x->ports[i];
		if (xp->proto == PC_IMPORT_PROTO_OTHER) {
			st->other_proto++;
			continue;
		}
		if (!xp->open) {
			st->not_open++;
			continue;
		}
		int r = pc_import_add(x->c, (enum pc_proto)xp->proto, &x->addr, xp->port,
				      x->hostname[0] ? x->hostname : NULL, xp->claim, xp->guessed,
				      xp->line, xp->col);
		if (r < 0) {
			x->r = r;
			XML_StopParser(x->p, XML_FALSE);
		}
	}
	clear_ports(x);
}

static void XMLCALL on_end(void *ud, const XML_Char *el)
{
	struct xstate *x = ud;
	if (x->r < 0)
		return;
	x->depth--;
	if (strcmp(el, "host") == 0 && x->in_host)
		end_host(x);
	else if (strcmp(el, "port") == 0)
		x->in_port = false;
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_len, const XML_Char *base,
			      const XML_Char *system_id, const XML_Char *public_id,
			      const XML_Char *notation)
{
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)system_id;
	(void)public_id;
	(void)notation;
	stop(ud, PC_EPARSE, "entity declarations are not allowed in an nmap XML file ('%.64s')",
	     name);
}

int pc_import_nmap_xml(struct pc_import_ctx *c, const char *data, size_t len)
{
	if (len > (size_t)1 << 30)
		return pc_error_set_at(c->err, PC_ETOOBIG, c->file, 0, 0, "XML input too large");
	XML_Parser p = XML_ParserCreate(NULL);
	if (!p)
		return pc_error_set(c->err, PC_ENOMEM, "out of memory");
	struct xstate x = {.c = c, .p = p};
	XML_SetUserData(p, &x);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetEntityDeclHandler(p, on_entity);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	enum XML_Status s = XML_Parse(p, data, (int)len, XML_TRUE);
	int r = x.r;
	if (r >= 0 && s != XML_STATUS_OK) {
		unsigned long l = XML_GetCurrentLineNumber(p);
		unsigned long col = XML_GetCurrentColumnNumber(p) + 1;
		r = pc_error_set_at(c->err, PC_EPARSE, c->file, l > 1000000000ul ? 0 : (int)l,
				    col > 1000000000ul ? 0 : (int)col, "malformed XML: %s",
				    XML_ErrorString(XML_GetErrorCode(p)));
	} else if (r >= 0 && !x.root_seen) {
		r = pc_error_set_at(c->err, PC_EPARSE, c->file, 0, 0, "no XML element found");
	}
	clear_ports(&x);
	free(x.ports);
	XML_ParserFree(p);
	return r;
}
