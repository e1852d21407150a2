/*
 * json.c - streaming JSON writer over stdio. Writes are not checked one by
 * one; callers check ferror() on the stream once at the end.
 */
#include "core/json.h"

#include <math.h>
#include <string.h>

/*
 * Output goes through a buffer inside the writer, handed to the stream when
 * a top-level value is complete (or the buffer is full): a report of 50,000
 * endpoints is millions of tiny writes, and stdio's per-call cost was most
 * of the time. Callers therefore must not write to the stream themselves in
 * the middle of a value (none does: they add a newline after one).
 */
static void flush(struct pc_json *j)
{
	if (j->len) {
		fwrite_unlocked(j->buf, 1, j->len, j->f);
		j->len = 0;
	}
}

static void out(struct pc_json *j, const char *p, size_t n)
{
	if (j->len + n > sizeof(j->buf)) {
		flush(j);
		if (n > sizeof(j->buf)) {
			fwrite_unlocked(p, 1, n, j->f);
			return;
		}
	}
	memcpy(j->buf + j->len, p, n);
	j->len += n;
}

static void out_ch(struct pc_json *j, char c)
{
	if (j->len == sizeof(j->buf))
		flush(j);
	j->buf[j->len++] = c;
}

/* A value just ended: at the top level, the document is whole. */
static void value_done(struct pc_json *j)
{
	if (j->depth == 0)
		flush(j);
}

/* Decimal digits of v, written without printf's format parsing. */
static void write_u64(struct pc_json *j, uint64_t v)
{
	char buf[20];
	size_t n = sizeof(buf);
	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out(j, buf + n, sizeof(buf) - n);
}

void pc_json_init(struct pc_json *j, FILE *f, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
	j->first[0] = true;
}

static void indent(struct pc_json *j)
{
	static const char spaces[] = "\n                                "
				     "                                ";
	_Static_assert(sizeof(spaces) >= 2 * PC_JSON_MAX_DEPTH + 1, "indent too short");
	if (!j->pretty)
		return;
	/* one fwrite, not one call per level: 50,000 endpoints have a
	 * million indented lines */
	out(j, spaces, 1 + 2 * (size_t)j->depth);
}

/* Separator before a value or a key. */
static void before_value(struct pc_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (!j->first[j->depth])
			out_ch(j, ',');
		indent(j);
	}
	j->first[j->depth] = false;
}

static void open_container(struct pc_json *j, char c)
{
	before_value(j);
	out_ch(j, c);
	if (j->depth < PC_JSON_MAX_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_container(struct pc_json *j, char c)
{
	bool empty = j->first[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	out_ch(j, c);
	value_done(j);
}

void pc_json_begin_object(struct pc_json *j)
{
	open_container(j, '{');
}

void pc_json_end_object(struct pc_json *j)
{
	close_container(j, '}');
}

void pc_json_begin_array(struct pc_json *j)
{
	open_container(j, '[');
}

void pc_json_end_array(struct pc_json *j)
{
	close_container(j, ']');
}

static void write_escaped(struct pc_json *j, const char *s, size_t len)
{
	/* fast path: printable ASCII with nothing to escape (keys, addresses,
	 * most names) goes out as it is, without a buffer */
	size_t i = 0;
	while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f &&
	       s[i] != '"' && s[i] != '\\')
		i++;
	if (i == len) {
		out_ch(j, '"');
		out(j, s, len);
		out_ch(j, '"');
		return;
	}
	struct pc_buf b;
	pc_buf_init(&b, len * 6 + 3);
	if (pc_json_escape(&b, s, len) == 0)
		out(j, b.data, b.len);
	else
		out(j, "null", 4);
	pc_buf_free(&b);
}

void pc_json_keyn(struct pc_json *j, const char *key, size_t len)
{
	before_value(j);
	write_escaped(j, key, len);
	if (j->pretty)
		out(j, ": ", 2);
	else
		out_ch(j, ':');
	j->after_key = true;
}

void pc_json_stringn(struct pc_json *j, const char *s, size_t len)
{
	before_value(j);
	if (!s)
		out(j, "null", 4);
	else
		write_escaped(j, s, len);
	value_done(j);
}

void pc_json_string(struct pc_json *j, const char *s)
{
	pc_json_stringn(j, s, s ? strlen(s) : 0);
}

void pc_json_int(struct pc_json *j, int64_t v)
{
	before_value(j);
	if (v < 0) {
		out_ch(j, '-');
		write_u64(j, (uint64_t)0 - (uint64_t)v);
	} else {
		write_u64(j, (uint64_t)v);
	}
	value_done(j);
}

void pc_json_uint(struct pc_json *j, uint64_t v)
{
	before_value(j);
	write_u64(j, v);
	value_done(j);
}

void pc_json_double(struct pc_json *j, double v, int decimals)
{
	before_value(j);
	char buf[512]; /* %f of DBL_MAX is 309 digits before the point */
	int n = isfinite(v) ? snprintf(buf, sizeof(buf), "%.*f", decimals, v) : -1;
	if (n < 0) {
		out(j, "null", 4);
	} else if ((size_t)n < sizeof(buf)) {
		out(j, buf, (size_t)n);
	} else {
		flush(j);
		fprintf(j->f, "%.*f", decimals, v);
	}
	value_done(j);
}

void pc_json_bool(struct pc_json *j, bool v)
{
	before_value(j);
	if (v)
		out(j, "true", 4);
	else
		out(j, "false", 5);
	value_done(j);
}

void pc_json_null(struct pc_json *j)
{
	before_value(j);
	out(j, "null", 4);
	value_done(j);
}

int pc_json_escape(struct pc_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	int r = pc_buf_addch(b, '"');
	size_t i = 0;
	while (!r && i < len) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			r = pc_buf_add(b, esc, 2);
			i++;
		} else if (c == '\n') {
			r = pc_buf_add(b, "\\n", 2);
			i++;
		} else if (c == '\r') {
			r = pc_buf_add(b, "\\r", 2);
			i++;
		} else if (c == '\t') {
			r = pc_buf_add(b, "\\t", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			r = pc_buf_printf(b, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			r = pc_buf_addch(b, (char)c);
			i++;
		} else {
			int n = pc_utf8_seq_len(s + i, len - i);
			if (n == 0) {
				r = pc_buf_add(b, "\\ufffd", 6);
				i++;
			} else {
				r = pc_buf_add(b, s + i, (size_t)n);
				i += (size_t)n;
			}
		}
	}
	if (!r)
		r = pc_buf_addch(b, '"');
	return r;
}
