/*
 * procnet.c - parser and reader of /proc/net/{tcp,tcp6,udp,udp6}.
 *
 * A socket line is
 *
 *   sl: LOCAL:PORT REMOTE:PORT ST TX:RX TR:WHEN RETR UID TIMEOUT INODE ...
 *
 * The kernel prints each 32-bit word of an address with %08X from the
 * network-order value as the CPU holds it, so the text is in host byte order
 * word by word: we parse each word and store its bytes as they lie in
 * memory, which gives back the network-order address on any endianness.
 * Ports and the state are plain hex numbers. Every field has an exact width
 * or a bounded range; anything else is PC_EPARSE, never a guess.
 */
#include "inventory/procnet.h"

#include "core/error.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tok {
	const char *p;
	size_t len;
};

/* Next whitespace-separated token; false at the end of the line. */
static bool next_tok(const char **pos, const char *end, struct tok *t)
{
	const char *p = *pos;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end)
		return false;
	t->p = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	t->len = (size_t)(p - t->p);
	*pos = p;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly n hex digits (n <= 8) into *v. */
static bool parse_hex(const char *s, size_t n, uint32_t *v)
{
	uint32_t x = 0;
	for (size_t i = 0; i < n; i++) {
		int d = hexval(s[i]);
		if (d < 0)
			return false;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return true;
}

static bool parse_dec(struct tok t, uint64_t max, uint64_t *v)
{
	if (t.len == 0 || t.len > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < t.len; i++) {
		if (t.p[i] < '0' || t.p[i] > '9')
			return false;
		uint64_t d = (uint64_t)(t.p[i] - '0');
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* "0100007F:0277" (v4) or 32 hex digits ":" 4 hex digits (v6). */
static bool parse_endpoint(struct tok t, uint8_t family, struct pc_addr *a, uint16_t *port)
{
	size_t words = family == AF_INET ? 1 : 4;
	if (t.len != words * 8 + 5 || t.p[words * 8] != ':')
		return false;
	memset(a, 0, sizeof(*a));
	a->family = family;
	for (size_t w = 0; w < words; w++) {
		uint32_t v;
		if (!parse_hex(t.p + w * 8, 8, &v))
			return false;
		memcpy(a->bytes + w * 4, &v, 4);
	}
	uint32_t p;
	if (!parse_hex(t.p + words * 8 + 1, 4, &p))
		return false;
	*port = (uint16_t)p;
	return true;
}

int pc_procnet_parse_line(const char *line, size_t len, uint8_t family, uint8_t protocol,
			  struct pc_sock_rec *ret_rec)
{
	if (family != AF_INET && family != AF_INET6)
		return PC_EINVAL;
	const char *pos = line, *end = line + len;
	struct tok t[10];
	size_t n = 0;
	while (n < 10 && next_tok(&pos, end, &t[n]))
		n++;
	if (n == 0)
		return 0;
	if (t[0].len == 2 && memcmp(t[0].p, "sl", 2) == 0)
		return 0;
	if (n < 10)
		return PC_EPARSE;
	/* "123:" */
	if (t[0].len < 2 || t[0].p[t[0].len - 1] != ':')
		return PC_EPARSE;
	for (size_t i = 0; i + 1 < t[0].len; i++)
		if (t[0].p[i] < '0' || t[0].p[i] > '9')
			return PC_EPARSE;
	struct pc_sock_rec rec = {.family = family, .protocol = protocol};
	if (!parse_endpoint(t[1], family, &rec.local, &rec.local_port) ||
	    !parse_endpoint(t[2], family, &rec.remote, &rec.remote_port))
		return PC_EPARSE;
	uint32_t st;
	if (t[3].len != 2 || !parse_hex(t[3].p, 2, &st))
		return PC_EPARSE;
	rec.state = (uint8_t)st;
	uint64_t uid, inode;
	if (!parse_dec(t[7], UINT32_MAX, &uid) || !parse_dec(t[9], UINT64_MAX, &inode))
		return PC_EPARSE;
	rec.uid = (uint32_t)uid;
	rec.inode = inode;
	*ret_rec = rec;
	return 1;
}

int pc_procnet_parse(const char *buf, size_t len, uint8_t family, uint8_t protocol,
		     pc_sock_rec_fn fn, void *ctx, size_t *ret_line)
{
	size_t lineno = 0;
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t l = nl ? (size_t)(nl - buf) : len;
		lineno++;
		struct pc_sock_rec rec;
		int r = l > PC_PROCNET_LINE_MAX ? PC_EPARSE
						: pc_procnet_parse_line(buf, l, family, protocol, &rec);
		if (r < 0) {
			if (ret_line)
				*ret_line = lineno;
			return r;
		}
		if (r == 1) {
			r = fn(ctx, &rec);
			if (r != 0)
				return r;
		}
		if (!nl)
			break;
		buf = nl + 1;
		len -= l + 1;
	}
	return 0;
}

int pc_procnet_read_fd(int fd, uint8_t family, uint8_t protocol, pc_sock_rec_fn fn, void *ctx,
		       size_t *ret_line)
{
	/* a chunk, plus room for one unfinished line carried over */
	char buf[64 * 1024];
	size_t have = 0, lines_before = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		have += (size_t)n;
		bool eof = n == 0;
		/* parse the complete lines; keep the tail for the next read */
		size_t upto = have;
		if (!eof) {
			const char *last = memrchr(buf, '\n', have);
			if (!last) {
				if (have > PC_PROCNET_LINE_MAX) {
					if (ret_line)
						*ret_line = lines_before + 1;
					return PC_EPARSE;
				}
				continue;
			}
			upto = (size_t)(last - buf) + 1;
		}
		size_t line = 0;
		int r = pc_procnet_parse(buf, upto, family, protocol, fn, ctx, &line);
		if (r != 0) {
			if (ret_line && r == PC_EPARSE)
				*ret_line = lines_before + line;
			return r;
		}
		if (eof)
			return 0;
		for (size_t i = 0; i < upto; i++)
			lines_before += buf[i] == '\n';
		memmove(buf, buf + upto, have - upto);
		have -= upto;
	}
}
