/*
 * util.c - small helpers every probe shares (queue a request, fill a fixed
 * result field, assemble lines, make a printable banner excerpt) and the
 * offline replay driver that unit tests and fuzz targets use to run a probe
 * over recorded bytes without a socket.
 */
#include "probe/probe_ops.h"

#include "core/error.h"
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pc_probe_send(struct pc_probe_ctx *ctx, const void *data, size_t len)
{
	if (len > sizeof(ctx->out) - ctx->out_len)
		return PC_ETOOBIG;
	memcpy(ctx->out + ctx->out_len, data, len);
	ctx->out_len += len;
	return 0;
}

int pc_probe_sendstr(struct pc_probe_ctx *ctx, const char *s)
{
	return pc_probe_send(ctx, s, strlen(s));
}

void pc_probe_setn(char *field, size_t size, const char *s, size_t len)
{
	size_t n = 0;
	if (size == 0)
		return;
	while (n < len && n + 1 < size && s[n] != '\0' && s[n] != '\r' && s[n] != '\n') {
		field[n] = s[n];
		n++;
	}
	field[n] = '\0';
}

void pc_probe_setf(char *field, size_t size, const char *fmt, ...)
{
	va_list ap;
	if (size == 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(field, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		field[0] = '\0';
	/* one line only */
	for (char *p = field; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}

size_t pc_probe_printable(const uint8_t *s, size_t len)
{
	if (len == 0)
		return 0;
	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	if (s[0] < 0x80)
		return 0;
	int n = pc_utf8_seq_len(s, len);
	if (n < 2)
		return 0;
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0; /* C1 controls: U+009B is a CSI to some terminals */
	if (n == 3 && s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xa8 && s[2] <= 0xae) ||
				       (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)))
		return 0; /* line separators and bidi overrides */
	return (size_t)n;
}

void pc_probe_banner(struct pc_probe_ctx *ctx, const uint8_t *s, size_t len)
{
	char *b = ctx->res->banner;
	size_t n = 0;
	bool space = false;
	for (size_t i = 0; i < len && n < PC_PROBE_BANNER_MAX;) {
		uint8_t c = s[i];
		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			space = n > 0;
			i++;
			continue;
		}
		if (space && n + 1 < PC_PROBE_BANNER_MAX)
			b[n++] = ' ';
		space = false;
		size_t k = pc_probe_printable(s + i, len - i);
		if (k == 0) {
			b[n++] = '.';
			i++;
			continue;
		}
		if (n + k > PC_PROBE_BANNER_MAX)
			break; /* never cut a character in two */
		memcpy(b + n, s + i, k);
		n += k;
		i += k;
	}
	b[n] = '\0';
}

static void clean_field(char *f, size_t size)
{
	size_t len = strnlen(f, size);
	for (size_t i = 0; i < len;) {
		size_t k = pc_probe_printable((const uint8_t *)f + i, len - i);
		if (k == 0) {
			f[i++] = '.';
			continue;
		}
		i += k;
	}
}

void pc_probe_result_clean(struct pc_probe_result *res)
{
	clean_field(res->name, sizeof(res->name));
	clean_field(res->product, sizeof(res->product));
	clean_field(res->version, sizeof(res->version));
	clean_field(res->evidence, sizeof(res->evidence));
	clean_field(res->banner, sizeof(res->banner));
}

void pc_probe_product_in(struct pc_probe_result *res, const char *text,
			 const char *const *products)
{
	for (; *products; products++)
		if (strstr(text, *products)) {
			PC_PROBE_SET(res->product, *products);
			return;
		}
}

bool pc_probe_has_port(const uint16_t *ports, uint16_t port)
{
	if (!ports)
		return false;
	for (; *ports; ports++)
		if (*ports == port)
			return true;
	return false;
}

const uint8_t *pc_probe_memcasemem(const uint8_t *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0)
		return hay;
	if (len < n)
		return NULL;
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp((const char *)hay + i, needle, n) == 0) {
			/* strncasecmp stops at NUL: check the bytes ourselves */
			size_t k = 0;
			while (k < n && (hay[i + k] | 0x20) == ((uint8_t)needle[k] | 0x20))
				k++;
			if (k == n)
				return hay + i;
		}
	return NULL;
}

int pc_probe_line_feed(struct pc_probe_line *line, const uint8_t *data, size_t len, size_t *used)
{
	size_t max = line->max && line->max < sizeof(line->buf) ? line->max : sizeof(line->buf);
	size_t i;
	for (i = 0; i < len; i++) {
		uint8_t c = data[i];
		if (c == '\n') {
			if (line->len > 0 && line->buf[line->len - 1] == '\r')
				line->len--;
			line->buf[line->len] = '\0';
			*used = i + 1;
			return line->overflow ? -1 : 1;
		}
		if (line->len + 1 >= max) {
			line->overflow = true;
			*used = i + 1;
			return -1;
		}
		line->buf[line->len++] = (char)c;
	}
	*used = len;
	return 0;
}

int pc_probe_line_next(struct pc_probe_line *line, const char *head, const uint8_t **data,
		       size_t *len)
{
	if (line->complete) {
		line->len = 0;
		line->complete = false;
	}
	size_t before = line->len, used;
	int rc = pc_probe_line_feed(line, *data, *len, &used);
	size_t n_head = head ? strlen(head) : 0;
	for (size_t k = before; k < line->len && k < n_head; k++) {
		char c = line->buf[k];
		if (head[k] == '#' ? c < '0' || c > '9' : c != head[k])
			return -2;
	}
	*data += used;
	*len -= used;
	if (rc == 1)
		line->complete = true;
	return rc;
}

int pc_probe_reply_line(const char *l, bool *ret_last)
{
	for (size_t k = 0; k < 3; k++)
		if (l[k] < '0' || l[k] > '9')
			return -1;
	if (l[3] != ' ' && l[3] != '-' && l[3] != '\0')
		return -1;
	*ret_last = l[3] != '-';
	return 0;
}

size_t pc_probe_take(uint8_t *keep, size_t keep_size, size_t got, size_t want,
		     const uint8_t *data, size_t len)
{
	size_t n = len < want ? len : want;
	if (got < keep_size)
		memcpy(keep + got, data, n < keep_size - got ? n : keep_size - got);
	return n;
}

int pc_probe_ber_header(const uint8_t *p, size_t n, uint8_t *ret_tag, size_t *ret_hdr,
			size_t *ret_len)
{
	if (n < 2)
		return 1;
	if ((p[0] & 0x1f) == 0x1f)
		return -1; /* multi-byte tags: not in the protocols we read */
	size_t len, hdr;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t k = p[1] & 0x7f;
		if (k == 0 || k > 4)
			return -1;
		if (n < 2 + k)
			return 1;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hdr = 2 + k;
	}
	*ret_tag = p[0];
	*ret_hdr = hdr;
	*ret_len = len;
	return 0;
}

int pc_probe_ber(const uint8_t *p, size_t n, uint8_t *ret_tag, size_t *ret_hdr, size_t *ret_len)
{
	uint8_t tag;
	size_t hdr, len;
	if (pc_probe_ber_header(p, n, &tag, &hdr, &len) != 0)
		return -1;
	if (len > n - hdr)
		return -1;
	*ret_tag = tag;
	*ret_hdr = hdr;
	*ret_len = len;
	return 0;
}

enum pc_probe_verdict pc_probe_replay(const struct pc_probe_ops *ops, uint16_t port, bool tls,
				      const struct pc_probe_segment *segs, size_t n_segs,
				      size_t split, size_t chunk,
				      struct pc_probe_result *ret_res)
{
	struct pc_probe_ctx *ctx = calloc(1, sizeof(*ctx));
	void *st = calloc(1, ops->state_size ? ops->state_size : 1);
	enum pc_probe_verdict v = PC_PROBE_NOMATCH;
	memset(ret_res, 0, sizeof(*ret_res));
	if (!ctx || !st)
		goto out;
	ctx->port = port;
	ctx->tls = tls;
	ctx->res = ret_res;
	if (ops->start && ops->start(st, ctx) < 0)
		goto out;
	size_t seg = 0;
	for (;;) {
		const uint8_t *data = seg < n_segs ? segs[seg].data : NULL;
		size_t len = seg < n_segs ? segs[seg].len : 0;
		size_t off = 0;
		v = PC_PROBE_MORE;
		while (off < len && v == PC_PROBE_MORE) {
			size_t n = len - off;
			if (seg == 0 && off == 0 && split > 0 && split < n)
				n = split;
			else if (chunk > 0 && chunk < n)
				n = chunk;
			ctx->out_len = 0;
			v = ops->feed(st, ctx, data + off, n);
			off += n;
		}
		if (v == PC_PROBE_MORE) {
			/* the segment ran out: the peer closed */
			ctx->out_len = 0;
			if (ops->done)
				v = ops->done(st, ctx, true);
			else
				v = ret_res->name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
		}
		if (v == PC_PROBE_STARTTLS)
			ctx->tls = true; /* the next segment is what came inside TLS */
		else if (v == PC_PROBE_RECONNECT)
			ctx->tls = tls; /* a new connection, in the job's own mode */
		if (v != PC_PROBE_RECONNECT && v != PC_PROBE_STARTTLS && v != PC_PROBE_MORE)
			break;
		if (++seg > n_segs + 16) {
			/* a probe that keeps reconnecting to a silent peer */
			v = ret_res->name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
			break;
		}
	}
out:
	pc_probe_result_clean(ret_res);
	free(st);
	free(ctx);
	return v;
}
