/*
 * targets.c - target specs, exclusions, merging and the scope guard.
 *
 * Every address is held as a 128-bit integer (IPv4 in the low 32 bits,
 * tagged with its family), so CIDR, dash ranges, merging and subtraction
 * are the same integer interval code for both families. Specs are kept as
 * intervals until pc_targets_finish(), which subtracts the exclusions,
 * drops multicast, applies the scope guard to what is left (so an exclusion
 * can carve a public part out of a spec), then sorts and merges: the
 * finished set is a short array of disjoint intervals with running counts.
 */
#include "scan/targets.h"
#include "core/text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef unsigned __int128 u128;

#define SPEC_MAX 1024 /* longest spec text (a host name is at most 253) */

struct range {
	u128 lo, hi;
	uint8_t family;
	bool single;  /* listed alone: multicast/broadcast allowed */
	char *spec;   /* the text it came from (includes only), for messages */
};

struct name_entry {
	u128 addr;
	uint8_t family;
	size_t order; /* position given, so the first name for an address wins */
	char *name;
};

struct fin_range {
	u128 lo;
	uint64_t start; /* index of lo in the whole set */
	uint64_t count;
	uint8_t family;
};

struct range_vec {
	struct range *v;
	size_t n, cap;
};

struct pc_targets {
	struct range_vec inc, exc;
	struct name_entry *names;
	size_t n_names, cap_names;
	size_t n_specs;

	struct fin_range *fin;
	size_t n_fin;
	uint64_t total;
	bool finished;

	pc_targets_resolver resolve;
	void *resolve_ctx;
};

/* ---- address <-> integer ---- */

static u128 addr_value(const struct pc_addr *a)
{
	u128 v = 0;
	size_t n = a->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | a->bytes[i];
	return v;
}

static void value_addr(uint8_t family, u128 v, struct pc_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	size_t n = family == AF_INET ? 4 : 16;
	for (size_t i = n; i-- > 0;) {
		ret->bytes[i] = (uint8_t)v;
		v >>= 8;
	}
}

static u128 family_max(uint8_t family)
{
	return family == AF_INET ? (u128)0xffffffffu : ~(u128)0;
}

/* ---- lifetime ---- */

static int default_resolve(void *ctx, const char *name, struct pc_addr *ret)
{
	(void)ctx;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int r = getaddrinfo(name, NULL, &hints, &res);
	if (r != 0)
		return r == EAI_MEMORY ? PC_ENOMEM : PC_EINVAL;
	int found = PC_EINVAL;
	for (int pass = 0; pass < 2 && found != 0; pass++) {
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			int want = pass == 0 ? AF_INET : AF_INET6;
			if (ai->ai_family != want)
				continue;
			if (pc_addr_from_sockaddr(ai->ai_addr, ret, NULL) == 0) {
				found = 0;
				break;
			}
		}
	}
	freeaddrinfo(res);
	return found;
}

struct pc_targets *pc_targets_new(void)
{
	struct pc_targets *t = calloc(1, sizeof(*t));
	if (t)
		t->resolve = default_resolve;
	return t;
}

static void vec_free(struct range_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].spec);
	free(v->v);
}

void pc_targets_free(struct pc_targets *t)
{
	if (!t)
		return;
	vec_free(&t->inc);
	vec_free(&t->exc);
	for (size_t i = 0; i < t->n_names; i++)
		free(t->names[i].name);
	free(t->names);
	free(t->fin);
	free(t);
}

void pc_targets_set_resolver(struct pc_targets *t, pc_targets_resolver fn, void *ctx)
{
	t->resolve = fn ? fn : default_resolve;
	t->resolve_ctx = ctx;
}

static int vec_push(struct range_vec *v, const struct range *r)
{
	if (v->n == v->cap) {
		size_t n = v->cap ? v->cap * 2 : 16;
		struct range *p = realloc(v->v, n * sizeof(*p));
		if (!p)
			return PC_ENOMEM;
		v->v = p;
		v->cap = n;
	}
	v->v[v->n++] = *r;
	return 0;
}

/* ---- spec parsing ---- */

/* Where a spec came from, for messages: a file position or none. */
struct origin {
	const char *file;
	int line, col;
};

__attribute__((format(printf, 4, 5))) static int spec_error(struct pc_error *err,
							    const struct origin *o, int code,
							    const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o && o->file)
		return pc_error_set_at(err, code, o->file, o->line, o->col, "%s", msg);
	return pc_error_set(err, code, "%s", msg);
}

/* A printable copy of a spec for a message: hostile input, so it goes
 * through the terminal sanitizer, and a long one is cut with "...". */
static const char *shown(const char *s, char *buf, size_t len)
{
	char raw[SPEC_MAX];
	size_t n = strnlen(s, len - 4 < sizeof(raw) ? len - 4 : sizeof(raw) - 1);
	memcpy(raw, s, n);
	raw[n] = '\0';
	pc_text_sanitize(raw, buf, len - 3);
	if (s[n])
		memcpy(buf + strlen(buf), "...", 4);
	return buf;
}

static bool parse_uint_str(const char *s, unsigned max, unsigned *ret)
{
	if (!*s)
		return false;
	unsigned v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
	}
	*ret = v;
	return true;
}

/* An address, optionally in brackets for IPv6. */
static int parse_addr(const char *s, struct pc_addr *ret)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		char tmp[SPEC_MAX];
		if (n - 2 >= sizeof(tmp))
			return PC_EINVAL;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		struct pc_addr a;
		if (pc_addr_parse(tmp, &a) != 0 || a.family != AF_INET6)
			return PC_EINVAL;
		*ret = a;
		return 0;
	}
	return pc_addr_parse(s, ret);
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
			letter = true;
		else if (!((c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	/* all digits and dots ("10.1", "1.2.3") would be read by getaddrinfo as
	 * an old inet_aton form: refuse rather than guess */
	return letter;
}

/* Parse one spec into r (and, for a host name, its name). */
static int parse_spec(struct pc_targets *t, const char *spec, const struct origin *o,
		      struct range *r, char **ret_name, struct pc_error *err)
{
	char buf[SPEC_MAX], sb[96];
	size_t n = strlen(spec);
	*ret_name = NULL;
	memset(r, 0, sizeof(*r));
	if (n == 0)
		return spec_error(err, o, PC_EINVAL, "empty target");
	if (n >= sizeof(buf))
		return spec_error(err, o, PC_EINVAL, "target too long: '%s'",
				  shown(spec, sb, sizeof(sb)));
	memcpy(buf, spec, n + 1);
	struct pc_addr a, b;

	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (parse_addr(buf, &a) != 0)
			return spec_error(err, o, PC_EINVAL,
					  "bad target '%s': '%s' is not an IPv4 or IPv6 address",
					  shown(spec, sb, sizeof(sb)), buf);
		unsigned bits = a.family == AF_INET ? 32 : 128, plen;
		if (!parse_uint_str(slash + 1, bits, &plen))
			return spec_error(err, o, PC_EINVAL,
					  "bad target '%s': prefix length must be 0-%u",
					  shown(spec, sb, sizeof(sb)), bits);
		u128 v = addr_value(&a);
		u128 hostmask = plen == bits ? 0 : (family_max(a.family) >> plen);
		r->family = a.family;
		r->lo = v & ~hostmask & family_max(a.family);
		r->hi = r->lo | hostmask;
		r->single = plen == bits;
		return 0;
	}

	char *dash = strchr(buf, '-');
	if (dash) {
		*dash = '\0';
		if (parse_addr(buf, &a) == 0) {
			const char *rhs = dash + 1;
			unsigned octet;
			if (a.family == AF_INET && parse_uint_str(rhs, 255, &octet) &&
			    strlen(rhs) <= 3) {
				b = a;
				b.bytes[3] = (uint8_t)octet;
			} else if (parse_addr(rhs, &b) != 0 || b.family != a.family) {
				return spec_error(err, o, PC_EINVAL,
						  "bad target '%s': a range is ADDR-ADDR of one "
						  "family, or A.B.C.D-N",
						  shown(spec, sb, sizeof(sb)));
			}
			r->family = a.family;
			r->lo = addr_value(&a);
			r->hi = addr_value(&b);
			if (r->lo > r->hi)
				return spec_error(err, o, PC_EINVAL,
						  "bad target '%s': range runs backwards",
						  shown(spec, sb, sizeof(sb)));
			r->single = r->lo == r->hi;
			return 0;
		}
		*dash = '-'; /* a host name may contain dashes */
	}

	if (parse_addr(buf, &a) == 0) {
		r->family = a.family;
		r->lo = r->hi = addr_value(&a);
		r->single = true;
		return 0;
	}
	if (!valid_hostname(buf))
		return spec_error(err, o, PC_EINVAL,
				  "bad target '%s': not an address, CIDR, range or host name",
				  shown(spec, sb, sizeof(sb)));
	int rr = t->resolve(t->resolve_ctx, buf, &a);
	if (rr < 0 || (a.family != AF_INET && a.family != AF_INET6))
		return spec_error(err, o, rr == PC_ENOMEM ? PC_ENOMEM : PC_EINVAL,
				  "cannot resolve host name '%s'", shown(spec, sb, sizeof(sb)));
	r->family = a.family;
	r->lo = r->hi = addr_value(&a);
	r->single = true;
	*ret_name = strdup(buf);
	if (!*ret_name)
		return spec_error(err, o, PC_ENOMEM, "out of memory");
	return 0;
}

static int add_one(struct pc_targets *t, const char *spec, bool exclude, const struct origin *o,
		   struct pc_error *err)
{
	char sb[96];
	if (t->finished)
		return pc_error_set(err, PC_EINVAL, "target set already finished");
	if (t->n_specs >= PC_TARGETS_MAX_SPECS)
		return spec_error(err, o, PC_ETOOBIG, "too many target specs (limit %u)",
				  PC_TARGETS_MAX_SPECS);
	struct range r;
	char *name = NULL;
	int ret = parse_spec(t, spec, o, &r, &name, err);
	if (ret < 0)
		return ret;
	if (!exclude) {
		r.spec = strdup(shown(spec, sb, sizeof(sb)));
		if (!r.spec) {
			free(name);
			return pc_error_set(err, PC_ENOMEM, "out of memory");
		}
	}
	if (vec_push(exclude ? &t->exc : &t->inc, &r) < 0) {
		free(r.spec);
		free(name);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	t->n_specs++;
	if (name && !exclude) {
		if (t->n_names == t->cap_names) {
			size_t c = t->cap_names ? t->cap_names * 2 : 8;
			struct name_entry *p = realloc(t->names, c * sizeof(*p));
			if (!p) {
				free(name);
				return pc_error_set(err, PC_ENOMEM, "out of memory");
			}
			t->names = p;
			t->cap_names = c;
		}
		t->names[t->n_names] = (struct name_entry){r.lo, r.family, t->n_names, name};
		t->n_names++;
	} else {
		free(name);
	}
	return 0;
}

int pc_targets_add(struct pc_targets *t, const char *spec, struct pc_error *err)
{
	return add_one(t, spec, false, NULL, err);
}

int pc_targets_exclude(struct pc_targets *t, const char *spec, struct pc_error *err)
{
	return add_one(t, spec, true, NULL, err);
}

int pc_targets_exclude_list(struct pc_targets *t, const char *list, struct pc_error *err)
{
	const char *s = list;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0)
			return pc_error_set(err, PC_EINVAL, "empty item in --exclude list");
		char buf[SPEC_MAX];
		if (len >= sizeof(buf))
			return pc_error_set(err, PC_EINVAL, "exclusion too long");
		memcpy(buf, s, len);
		buf[len] = '\0';
		int r = add_one(t, buf, true, NULL, err);
		if (r < 0)
			return r;
		if (!end)
			return 0;
		s = end + 1;
	}
}

int pc_targets_add_text(struct pc_targets *t, const char *name, const char *text, size_t len,
			bool exclude, struct pc_error *err)
{
	int line = 1;
	size_t i = 0;
	while (i < len) {
		size_t bol = i;
		size_t eol = i;
		while (eol < len && text[eol] != '\n')
			eol++;
		size_t stop = bol;
		while (stop < eol && text[stop] != '#')
			stop++;
		size_t k = bol;
		while (k < stop) {
			char c = text[k];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
				k++;
				continue;
			}
			size_t s0 = k;
			while (k < stop && text[k] != ' ' && text[k] != '\t' && text[k] != '\r' &&
			       text[k] != '\v' && text[k] != '\f')
				k++;
			struct origin o = {name, line, (int)(s0 - bol) + 1};
			char buf[SPEC_MAX];
			size_t n = k - s0;
			if (n >= sizeof(buf))
				return spec_error(err, &o, PC_EINVAL, "target too long");
			if (memchr(text + s0, '\0', n))
				return spec_error(err, &o, PC_EINVAL, "NUL byte in target");
			memcpy(buf, text + s0, n);
			buf[n] = '\0';
			int r = add_one(t, buf, exclude, &o, err);
			if (r < 0)
				return r;
		}
		line++;
		i = eol + 1;
	}
	return 0;
}

int pc_targets_add_file(struct pc_targets *t, const char *path, bool exclude,
			struct pc_error *err)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pc_error_set_at(err, PC_EINVAL, path, 0, 0, "cannot open: %s",
				       strerror(errno));
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	int ret = 0;
	if (!buf) {
		ret = pc_error_set(err, PC_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= PC_TARGETS_MAX_FILE) {
				ret = pc_error_set_at(err, PC_ETOOBIG, path, 0, 0,
						      "file larger than %u MiB",
						      PC_TARGETS_MAX_FILE >> 20);
				goto out;
			}
			char *p = realloc(buf, cap * 2);
			if (!p) {
				ret = pc_error_set(err, PC_ENOMEM, "out of memory");
				goto out;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = pc_error_set_at(err, PC_EIO, path, 0, 0, "read failed: %s",
					      strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = pc_targets_add_text(t, path, buf, len, exclude, err);
out:
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return ret;
}

/* ---- finishing ---- */

static int cmp_range(const void *pa, const void *pb)
{
	const struct range *a = pa, *b = pb;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return 0;
}

/* Sort and merge overlapping or adjacent ranges in place. */
static void merge(struct range_vec *v)
{
	if (v->n == 0)
		return;
	qsort(v->v, v->n, sizeof(*v->v), cmp_range);
	size_t out = 0;
	for (size_t i = 1; i < v->n; i++) {
		struct range *cur = &v->v[out];
		struct range *r = &v->v[i];
		if (r->family == cur->family &&
		    (r->lo <= cur->hi || (cur->hi != family_max(cur->family) && r->lo == cur->hi + 1))) {
			if (r->hi > cur->hi)
				cur->hi = r->hi;
			free(r->spec);
			r->spec = NULL;
		} else {
			v->v[++out] = *r;
		}
	}
	v->n = out + 1;
}

/* First range in sorted, merged v that could overlap [family, lo]. */
static size_t lower_bound(const struct range_vec *v, uint8_t family, u128 lo)
{
	size_t a = 0, b = v->n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		const struct range *r = &v->v[m];
		if (r->family < family || (r->family == family && r->hi < lo))
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* The scope guard's walk over [lo, hi] of one family: false, with the first
 * address outside the internal ranges in *ret_outside, or true. One lookup
 * per internal block the range crosses, so a /8 costs one step. */
static bool in_scope(uint8_t family, u128 lo, u128 hi, u128 *ret_outside)
{
	u128 cur = lo;
	for (;;) {
		struct pc_addr a, first, last;
		value_addr(family, cur, &a);
		if (!pc_addr_internal_block(&a, &first, &last)) {
			*ret_outside = cur;
			return false;
		}
		u128 end = addr_value(&last);
		if (end >= hi)
			return true;
		cur = end + 1;
	}
}

int pc_targets_guard(const struct pc_addr *first, const struct pc_addr *last,
		     struct pc_addr *ret_outside)
{
	if (first->family != last->family ||
	    (first->family != AF_INET && first->family != AF_INET6))
		return PC_EINVAL;
	u128 lo = addr_value(first), hi = addr_value(last), out;
	if (lo > hi)
		return PC_EINVAL;
	if (in_scope(first->family, lo, hi, &out))
		return 0;
	if (ret_outside)
		value_addr(first->family, out, ret_outside);
	return PC_ESCOPE;
}

/* Append [lo, hi] minus the sorted, merged ranges of sub to out. */
static int subtract_into(struct range_vec *out, const struct range *r, const struct range_vec *sub)
{
	u128 lo = r->lo;
	size_t i = lower_bound(sub, r->family, lo);
	for (; i < sub->n; i++) {
		const struct range *e = &sub->v[i];
		if (e->family != r->family || e->lo > r->hi)
			break;
		if (e->lo > lo) {
			struct range piece = *r;
			piece.lo = lo;
			piece.hi = e->lo - 1;
			piece.spec = r->spec; /* borrowed; owned by the include */
			if (vec_push(out, &piece) < 0)
				return PC_ENOMEM;
		}
		if (e->hi >= r->hi)
			return 0;
		lo = e->hi + 1;
	}
	struct range piece = *r;
	piece.lo = lo;
	if (vec_push(out, &piece) < 0)
		return PC_ENOMEM;
	return 0;
}

static int cmp_name(const void *pa, const void *pb)
{
	const struct name_entry *a = pa, *b = pb;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

int pc_targets_finish(struct pc_targets *t, bool allow_public, struct pc_error *err)
{
	char ab[PC_ADDR_STRLEN];
	int ret = 0;
	if (t->finished)
		return 0;
	merge(&t->exc);

	/* never probed unless listed alone: multicast, limited broadcast */
	struct range never_ranges[] = {
		{.family = AF_INET, .lo = 0xe0000000u, .hi = 0xefffffffu},
		{.family = AF_INET, .lo = 0xffffffffu, .hi = 0xffffffffu},
		{.family = AF_INET6, .lo = (u128)0xffff << 32 | 0xe0000000u,
		 .hi = (u128)0xffff << 32 | 0xefffffffu},
		{.family = AF_INET6, .lo = (u128)0xff << 120, .hi = ~(u128)0},
	};
	struct range_vec never = {never_ranges, sizeof(never_ranges) / sizeof(never_ranges[0]),
				  sizeof(never_ranges) / sizeof(never_ranges[0])};

	struct range_vec pieces = {0}, kept = {0}, all = {0};
	for (size_t i = 0; i < t->inc.n; i++) {
		const struct range *r = &t->inc.v[i];
		pieces.n = 0;
		kept.n = 0;
		if (subtract_into(&pieces, r, &t->exc) < 0)
			goto nomem;
		for (size_t k = 0; k < pieces.n; k++) {
			if (r->single) {
				if (vec_push(&kept, &pieces.v[k]) < 0)
					goto nomem;
			} else if (subtract_into(&kept, &pieces.v[k], &never) < 0) {
				goto nomem;
			}
		}
		for (size_t k = 0; k < kept.n; k++) {
			struct range p = kept.v[k];
			struct pc_addr first, last, outside;
			value_addr(p.family, p.lo, &first);
			value_addr(p.family, p.hi, &last);
			if (!allow_public && pc_targets_guard(&first, &last, &outside) < 0) {
				ret = pc_error_set(err, PC_ESCOPE,
						   "target '%s': %s is not in an internal range (use "
						   "--allow-public to scan it)",
						   r->spec ? r->spec : "?",
						   pc_addr_format(&outside, ab, sizeof(ab)));
				goto out;
			}
			if (p.hi - p.lo >= PC_TARGETS_MAX_ADDRS) {
				ret = pc_error_set(err, PC_ETOOBIG,
						   "target '%s' has more than %llu addresses",
						   r->spec ? r->spec : "?",
						   (unsigned long long)PC_TARGETS_MAX_ADDRS);
				goto out;
			}
			p.spec = NULL;
			if (vec_push(&all, &p) < 0)
				goto nomem;
		}
	}
	merge(&all);

	uint64_t total = 0;
	for (size_t i = 0; i < all.n; i++) {
		u128 c = all.v[i].hi - all.v[i].lo + 1;
		if (c > PC_TARGETS_MAX_ADDRS || total + (uint64_t)c > PC_TARGETS_MAX_ADDRS) {
			ret = pc_error_set(err, PC_ETOOBIG,
					   "target set has more than %llu addresses",
					   (unsigned long long)PC_TARGETS_MAX_ADDRS);
			goto out;
		}
		total += (uint64_t)c;
	}
	if (total == 0) {
		ret = pc_error_set(err, PC_EINVAL,
				   t->inc.n ? "no target left after exclusions" : "no targets");
		goto out;
	}
	t->fin = calloc(all.n, sizeof(*t->fin));
	if (!t->fin)
		goto nomem;
	uint64_t start = 0;
	for (size_t i = 0; i < all.n; i++) {
		t->fin[i] = (struct fin_range){
			.lo = all.v[i].lo,
			.start = start,
			.count = (uint64_t)(all.v[i].hi - all.v[i].lo + 1),
			.family = all.v[i].family,
		};
		start += t->fin[i].count;
	}
	t->n_fin = all.n;
	t->total = total;
	if (t->n_names > 1)
		qsort(t->names, t->n_names, sizeof(*t->names), cmp_name);
	t->finished = true;
	ret = 0;
	goto out;
nomem:
	ret = pc_error_set(err, PC_ENOMEM, "out of memory");
out:
	free(pieces.v);
	free(kept.v);
	free(all.v);
	return ret;
}

uint64_t pc_targets_count(const struct pc_targets *t)
{
	return t->finished ? t->total : 0;
}

size_t pc_targets_ranges(const struct pc_targets *t)
{
	return t->n_fin;
}

void pc_targets_at(const struct pc_targets *t, uint64_t i, struct pc_addr *ret_addr)
{
	size_t a = 0, b = t->n_fin;
	while (b - a > 1) {
		size_t m = a + (b - a) / 2;
		if (t->fin[m].start <= i)
			a = m;
		else
			b = m;
	}
	const struct fin_range *f = &t->fin[a];
	value_addr(f->family, f->lo + (i - f->start), ret_addr);
}

bool pc_targets_index(const struct pc_targets *t, const struct pc_addr *addr, uint64_t *ret_index)
{
	if (addr->family != AF_INET && addr->family != AF_INET6)
		return false;
	u128 v = addr_value(addr);
	size_t a = 0, b = t->n_fin;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		const struct fin_range *f = &t->fin[m];
		if (f->family < addr->family ||
		    (f->family == addr->family && f->lo + (f->count - 1) < v))
			a = m + 1;
		else
			b = m;
	}
	if (a == t->n_fin)
		return false;
	const struct fin_range *f = &t->fin[a];
	if (f->family != addr->family || v < f->lo)
		return false;
	*ret_index = f->start + (uint64_t)(v - f->lo);
	return true;
}

const char *pc_targets_hostname(const struct pc_targets *t, const struct pc_addr *addr)
{
	if (t->n_names == 0 || !t->finished)
		return NULL;
	struct name_entry key = {.addr = addr_value(addr), .family = addr->family};
	/* lower bound on (family, addr): the first given name for it */
	size_t a = 0, b = t->n_names;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		const struct name_entry *e = &t->names[m];
		if (e->family < key.family || (e->family == key.family && e->addr < key.addr))
			a = m + 1;
		else
			b = m;
	}
	if (a < t->n_names && t->names[a].family == key.family && t->names[a].addr == key.addr)
		return t->names[a].name;
	return NULL;
}
