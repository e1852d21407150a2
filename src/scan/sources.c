/*
 * sources.c - parsing, checking and rotating --source-ip addresses (see
 * sources.h). A spec names at most PC_SCAN_SOURCES_MAX addresses, so a
 * range is expanded into a plain array: the engines pick one per probe by
 * index, without a lock.
 */
#include "scan/sources.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned addr_len(const struct pc_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

/* a + 1 in place; false when it wrapped */
static bool addr_next(struct pc_addr *a)
{
	for (int i = (int)addr_len(a) - 1; i >= 0; i--)
		if (++a->bytes[i] != 0)
			return true;
	return false;
}

static int append(const struct pc_addr *a, struct pc_addr **list, size_t *n, size_t *cap)
{
	if (*n >= PC_SCAN_SOURCES_MAX)
		return PC_ETOOBIG;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct pc_addr *l = realloc(*list, c * sizeof(*l));
		if (!l)
			return PC_ENOMEM;
		*list = l;
		*cap = c;
	}
	(*list)[(*n)++] = *a;
	return 0;
}

int pc_scan_sources_parse(const char *spec, struct pc_addr **list, size_t *n, struct pc_error *err)
{
	char buf[2 * PC_ADDR_STRLEN];
	size_t len = strlen(spec);
	if (len == 0 || len >= sizeof(buf))
		return pc_error_set(err, PC_EINVAL,
		                    "--source-ip '%.64s': expected ADDR, A-B or CIDR", spec);
	memcpy(buf, spec, len + 1);
	struct pc_addr lo, hi;
	char *dash = strchr(buf, '-'), *slash = strchr(buf, '/');
	if (dash && !slash) {
		*dash = '\0';
		if (pc_addr_parse(buf, &lo) < 0 || pc_addr_parse(dash + 1, &hi) < 0 ||
		    lo.family != hi.family || pc_addr_compare(&lo, &hi) > 0)
			return pc_error_set(err, PC_EINVAL,
			                    "--source-ip '%s': expected A-B, two addresses of one "
			                    "family, A first",
			                    spec);
	} else if (slash && !dash) {
		*slash = '\0';
		char *end = NULL;
		errno = 0;
		long prefix = strtol(slash + 1, &end, 10);
		if (pc_addr_parse(buf, &lo) < 0 || !end || *end || end == slash + 1 || errno ||
		    prefix < 0 || prefix > (long)addr_len(&lo) * 8)
			return pc_error_set(err, PC_EINVAL,
			                    "--source-ip '%s': expected ADDR/PREFIX", spec);
		hi = lo;
		unsigned bits = (unsigned)prefix;
		for (unsigned i = 0; i < addr_len(&lo); i++) {
			unsigned keep = bits > i * 8 ? bits - i * 8 : 0;
			uint8_t m = keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
			lo.bytes[i] &= m;
			hi.bytes[i] |= (uint8_t)~m;
		}
	} else if (!slash && !dash) {
		if (pc_addr_parse(buf, &lo) < 0)
			return pc_error_set(err, PC_EINVAL,
			                    "--source-ip '%s': not an IPv4 or IPv6 address", spec);
		hi = lo;
	} else {
		return pc_error_set(err, PC_EINVAL, "--source-ip '%s': expected ADDR, A-B or CIDR",
		                    spec);
	}
	size_t cap = *n; /* the list is exactly n long so far: grow from there */
	struct pc_addr a = lo;
	for (;;) {
		int r = append(&a, list, n, &cap);
		if (r == PC_ETOOBIG)
			return pc_error_set(err, r, "--source-ip: more than %d addresses",
			                    PC_SCAN_SOURCES_MAX);
		if (r < 0)
			return pc_error_set(err, r, "out of memory");
		if (pc_addr_equal(&a, &hi) || !addr_next(&a))
			break;
	}
	/* IPv4 first, then IPv6, each in the order given: pick() finds a
	 * family's part by bisection */
	struct pc_addr *l = *list;
	for (size_t i = 1; i < *n; i++) {
		struct pc_addr x = l[i];
		size_t j = i;
		for (; j > 0 && x.family == AF_INET && l[j - 1].family != AF_INET; j--)
			l[j] = l[j - 1];
		l[j] = x;
	}
	return 0;
}

int pc_scan_sources_check(const struct pc_addr *list, size_t n, struct pc_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		size_t sl = pc_addr_to_sockaddr(&list[i], 0, &ss);
		int fd = socket(list[i].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return pc_error_set(err, PC_EINVAL, "--source-ip: no %s socket: %s",
			                    list[i].family == AF_INET ? "IPv4" : "IPv6",
			                    strerror(errno));
		int r = bind(fd, (struct sockaddr *)&ss, (socklen_t)sl);
		int e = errno;
		close(fd);
		if (r < 0) {
			char a[PC_ADDR_STRLEN];
			return pc_error_set(err, PC_EINVAL,
			                    "--source-ip %s: not an address of this host (%s)",
			                    pc_addr_format(&list[i], a, sizeof(a)), strerror(e));
		}
	}
	return 0;
}

const struct pc_addr *pc_scan_sources_pick(const struct pc_addr *list, size_t n, int family,
                                           uint64_t i)
{
	/* the list is IPv4 first (parse): find where IPv6 begins */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (list[mid].family == AF_INET)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t first = family == AF_INET ? 0 : lo, count = family == AF_INET ? lo : n - lo;
	return count ? &list[first + i % count] : NULL;
}
