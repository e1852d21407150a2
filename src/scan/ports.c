/*
 * ports.c - port list parsing (the -p syntax) and lookup.
 *
 * Bitmaps take the union, so "80,80,1-100" is 100 ports; the index arrays
 * (index -> port, port -> index) are rebuilt lazily after a change, or at once
 * by pc_ports_seal() before threads share the list. Both are
 * fixed size (at most 64 Ki entries per protocol), so a hostile spec cannot
 * make the list grow.
 */
#include "scan/ports.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

#define PORT_BITS 65536

struct proto_list {
	uint64_t bits[PORT_BITS / 64];
	uint16_t *sorted;  /* count entries, ascending */
	uint32_t *index;   /* port -> position, valid where the bit is set */
	size_t count;
	bool dirty;
};

struct pc_ports {
	struct proto_list l[2];
};

struct pc_ports *pc_ports_new(void)
{
	struct pc_ports *p = calloc(1, sizeof(*p));
	return p;
}

void pc_ports_free(struct pc_ports *p)
{
	if (!p)
		return;
	for (int i = 0; i < 2; i++) {
		free(p->l[i].sorted);
		free(p->l[i].index);
	}
	free(p);
}

static bool has_bit(const struct proto_list *l, unsigned port)
{
	return l->bits[port / 64] >> (port % 64) & 1;
}

void pc_ports_add(struct pc_ports *p, enum pc_proto proto, uint16_t port)
{
	struct proto_list *l = &p->l[proto == PC_PROTO_UDP];
	if (!has_bit(l, port)) {
		l->bits[port / 64] |= (uint64_t)1 << (port % 64);
		l->count++;
		l->dirty = true;
	}
}

/* Rebuild the arrays; they are computed on first use after a change. The
 * arrays are allocated once at full size so a rebuild cannot fail later. */
static struct proto_list *ready(const struct pc_ports *cp, enum pc_proto proto)
{
	struct pc_ports *p = (struct pc_ports *)cp;
	struct proto_list *l = &p->l[proto == PC_PROTO_UDP];
	if (!l->dirty)
		return l;
	if (!l->sorted) {
		l->sorted = malloc(PORT_BITS * sizeof(*l->sorted));
		l->index = malloc(PORT_BITS * sizeof(*l->index));
		if (!l->sorted || !l->index) {
			free(l->sorted);
			free(l->index);
			l->sorted = NULL;
			l->index = NULL;
			return NULL;
		}
	}
	size_t n = 0;
	for (unsigned port = 0; port < PORT_BITS; port++) {
		if (has_bit(l, port)) {
			l->index[port] = (uint32_t)n;
			l->sorted[n++] = (uint16_t)port;
		}
	}
	l->dirty = false;
	return l;
}

int pc_ports_seal(struct pc_ports *p)
{
	if (!ready(p, PC_PROTO_TCP) || !ready(p, PC_PROTO_UDP))
		return PC_ENOMEM;
	return 0;
}

size_t pc_ports_count(const struct pc_ports *p, enum pc_proto proto)
{
	return p->l[proto == PC_PROTO_UDP].count;
}

uint16_t pc_ports_at(const struct pc_ports *p, enum pc_proto proto, size_t i)
{
	const struct proto_list *l = ready(p, proto);
	if (!l || i >= l->count)
		return 0;
	return l->sorted[i];
}

bool pc_ports_has(const struct pc_ports *p, enum pc_proto proto, uint16_t port)
{
	return has_bit(&p->l[proto == PC_PROTO_UDP], port);
}

bool pc_ports_index(const struct pc_ports *p, enum pc_proto proto, uint16_t port,
		    size_t *ret_index)
{
	if (!pc_ports_has(p, proto, port))
		return false;
	const struct proto_list *l = ready(p, proto);
	if (!l)
		return false;
	*ret_index = l->index[port];
	return true;
}

/* A port number: digits only, 1-65535. Returns chars consumed, 0 on error. */
static size_t parse_port(const char *s, size_t len, unsigned *ret)
{
	size_t i = 0;
	unsigned v = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 65535)
			return 0;
		i++;
	}
	if (i == 0)
		return 0;
	*ret = v;
	return i;
}

static int item_error(struct pc_error *err, const char *spec, const char *item, size_t len,
		      const char *why)
{
	char shown[64];
	size_t n = len < sizeof(shown) - 4 ? len : sizeof(shown) - 4;
	memcpy(shown, item, n);
	if (n < len)
		memcpy(shown + n, "...", 4);
	else
		shown[n] = '\0';
	(void)spec;
	return pc_error_set(err, PC_EINVAL, "bad port item '%s': %s", shown, why);
}

int pc_ports_add_spec(struct pc_ports *p, const char *spec, struct pc_error *err)
{
	enum pc_proto proto = PC_PROTO_TCP;
	const char *s = spec;
	if (!*s)
		return pc_error_set(err, PC_EINVAL, "empty port list");
	/* parse everything first, add after, so an error leaves p unchanged */
	struct pc_ports tmp;
	memset(&tmp, 0, sizeof(tmp));
	for (;;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *item = s;
		size_t ilen = len;
		/* skip spaces around an item: "22, 80" is a common way to write it */
		while (ilen && (*item == ' ' || *item == '\t')) {
			item++;
			ilen--;
		}
		while (ilen && (item[ilen - 1] == ' ' || item[ilen - 1] == '\t'))
			ilen--;
		if (ilen >= 2 && item[1] == ':') {
			char c = item[0];
			if (c == 'T' || c == 't')
				proto = PC_PROTO_TCP;
			else if (c == 'U' || c == 'u')
				proto = PC_PROTO_UDP;
			else
				return item_error(err, spec, item, ilen,
						  "protocol prefix must be T: or U:");
			item += 2;
			ilen -= 2;
		}
		if (ilen == 0)
			return item_error(err, spec, s, len, "empty item");
		unsigned lo = 1, hi = 65535;
		size_t k = 0;
		if (item[0] == '-') {
			k = 1;
			if (ilen > 1) {
				size_t c = parse_port(item + 1, ilen - 1, &hi);
				if (!c || 1 + c != ilen)
					return item_error(err, spec, item, ilen,
							  "expected a port number (1-65535)");
				k = ilen;
			}
		} else {
			size_t c = parse_port(item, ilen, &lo);
			if (!c)
				return item_error(err, spec, item, ilen,
						  "expected a port number (1-65535)");
			k = c;
			if (k == ilen) {
				hi = lo;
			} else if (item[k] == '-') {
				k++;
				if (k < ilen) {
					size_t c2 = parse_port(item + k, ilen - k, &hi);
					if (!c2 || k + c2 != ilen)
						return item_error(err, spec, item, ilen,
								  "expected a port number "
								  "(1-65535)");
					k += c2;
				}
			} else {
				return item_error(err, spec, item, ilen,
						  "expected a port number (1-65535)");
			}
		}
		(void)k;
		if (lo == 0 || hi == 0)
			return item_error(err, spec, item, ilen, "port 0 cannot be scanned");
		if (lo > hi)
			return item_error(err, spec, item, ilen, "range runs backwards");
		for (unsigned port = lo; port <= hi; port++)
			pc_ports_add(&tmp, proto, (uint16_t)port);
		if (!end)
			break;
		s = end + 1;
	}
	for (int i = 0; i < 2; i++)
		for (unsigned w = 0; w < PORT_BITS / 64; w++)
			if (tmp.l[i].bits[w])
				for (unsigned bit = 0; bit < 64; bit++)
					if (tmp.l[i].bits[w] >> bit & 1)
						pc_ports_add(p, i ? PC_PROTO_UDP : PC_PROTO_TCP,
							     (uint16_t)(w * 64 + bit));
	return 0;
}

int pc_ports_add_top(struct pc_ports *p, unsigned n, struct pc_error *err)
{
	if (n == 0 || n > pc_top_tcp_ports_count)
		return pc_error_set(err, PC_EINVAL,
				    "--top-ports takes 1-%zu (the length of the ranked list), "
				    "not %u",
				    pc_top_tcp_ports_count, n);
	for (unsigned i = 0; i < n; i++)
		pc_ports_add(p, PC_PROTO_TCP, pc_top_tcp_ports[i]);
	return 0;
}
