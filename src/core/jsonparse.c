/*
 * jsonparse.c - strict, bounded recursive-descent JSON reader.
 *
 * Recursion depth equals nesting depth, which is capped (64 by default), so
 * a hostile "[[[[..." costs an error, not the stack. Children of arrays and
 * objects are collected on one scratch stack shared by all levels and copied
 * into the arena when their container closes, so memory is linear in the
 * input. Line and column are tracked as we go: raw newlines can only occur
 * in whitespace (strings refuse control characters), so the only place that
 * counts lines is the whitespace skipper.
 */
#include "core/jsonparse.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NUMBER_TEXT 256

struct parser {
	const char *s;
	size_t len, pos;
	int line;
	size_t line_start;
	int depth, max_depth;
	const char *file;
	struct pc_error *err;
	struct pc_arena *arena;
	struct pc_jval *stack; /* scratch for children of open containers */
	size_t nstack, capstack;
	char *tmp; /* scratch for decoding a string */
	size_t captmp;
	size_t values, max_values; /* held at once */
	const struct pc_jparse_opts *opts;
	const char *member_key; /* key of the member being parsed at depth 1 */
	size_t member_key_len;
};

static int col_of(const struct parser *p, size_t pos)
{
	size_t c = pos - p->line_start + 1;
	return c > 1000000000 ? 1000000000 : (int)c;
}

static int fail_at(struct parser *p, size_t pos, const char *what)
{
	return pc_error_set_at(p->err, PC_EPARSE, p->file, p->line, col_of(p, pos), "%s", what);
}

/* "unexpected 'x'" or "unexpected byte 0x01" or "unexpected end of input" */
static int fail_unexpected(struct parser *p, const char *expected)
{
	if (p->pos >= p->len)
		return pc_error_set_at(p->err, PC_EPARSE, p->file, p->line, col_of(p, p->pos),
				       "unexpected end of input, expected %s", expected);
	unsigned char c = (unsigned char)p->s[p->pos];
	if (c >= 0x21 && c < 0x7f)
		return pc_error_set_at(p->err, PC_EPARSE, p->file, p->line, col_of(p, p->pos),
				       "unexpected '%c', expected %s", c, expected);
	return pc_error_set_at(p->err, PC_EPARSE, p->file, p->line, col_of(p, p->pos),
			       "unexpected byte 0x%02x, expected %s", c, expected);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c == '\n') {
			p->line++;
			p->line_start = p->pos + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			return;
		}
		p->pos++;
	}
}

static int push(struct parser *p, const struct pc_jval *v)
{
	if (p->nstack == p->capstack) {
		size_t cap = p->capstack ? p->capstack * 2 : 64;
		struct pc_jval *n = realloc(p->stack, cap * sizeof(*n));
		if (!n)
			return pc_error_set(p->err, PC_ENOMEM, "out of memory");
		p->stack = n;
		p->capstack = cap;
	}
	p->stack[p->nstack++] = *v;
	return 0;
}

static int tmp_reserve(struct parser *p, size_t need)
{
	if (need <= p->captmp)
		return 0;
	size_t cap = p->captmp ? p->captmp : 256;
	while (cap < need)
		cap *= 2;
	char *n = realloc(p->tmp, cap);
	if (!n)
		return pc_error_set(p->err, PC_ENOMEM, "out of memory");
	p->tmp = n;
	p->captmp = cap;
	return 0;
}

static int hex4(const char *s, unsigned *ret)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*ret = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* At an opening quote: decode into the arena. */
static int parse_string(struct parser *p, const char **ret_s, size_t *ret_len)
{
	size_t start = p->pos;
	p->pos++; /* the quote */
	size_t o = 0;
	for (;;) {
		if (p->pos >= p->len)
			return fail_at(p, start, "unterminated string");
		/* decoded text is never longer than the raw text */
		int r = tmp_reserve(p, o + 8);
		if (r < 0)
			return r;
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20)
			return fail_at(p, p->pos, "control character in string (must be escaped)");
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				return fail_at(p, start, "unterminated string");
			char e = p->s[p->pos + 1];
			const char *simple = strchr("\"\\/bfnrt", e);
			if (e && simple) {
				static const char map[] = "\"\\/\b\f\n\r\t";
				p->tmp[o++] = map[simple - "\"\\/bfnrt"];
				p->pos += 2;
				continue;
			}
			if (e != 'u')
				return fail_at(p, p->pos, "invalid escape in string");
			unsigned cp;
			if (p->pos + 6 > p->len || hex4(p->s + p->pos + 2, &cp) < 0)
				return fail_at(p, p->pos, "invalid \\u escape (needs 4 hex digits)");
			size_t esc = p->pos;
			p->pos += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail_at(p, esc, "lone low surrogate in \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (p->pos + 6 > p->len || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u' || hex4(p->s + p->pos + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return fail_at(p, esc, "high surrogate in \\u escape not "
							       "followed by a low surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p->pos += 6;
			}
			o += put_utf8(p->tmp + o, cp);
			continue;
		}
		if (c < 0x80) {
			p->tmp[o++] = (char)c;
			p->pos++;
			continue;
		}
		int n = pc_utf8_seq_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
		if (n == 0)
			return fail_at(p, p->pos, "invalid UTF-8 in string");
		memcpy(p->tmp + o, p->s + p->pos, (size_t)n);
		o += (size_t)n;
		p->pos += (size_t)n;
	}
	char *s = pc_arena_alloc(p->arena, o + 1);
	if (!s)
		return pc_error_set(p->err, PC_ENOMEM, "out of memory");
	memcpy(s, p->tmp, o);
	s[o] = '\0';
	*ret_s = s;
	*ret_len = o;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct pc_jval *v)
{
	size_t start = p->pos;
	const char *s = p->s;
	size_t i = p->pos, n = p->len;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i])) {
		p->pos = i;
		return fail_unexpected(p, "a digit");
	}
	if (s[i] == '0') {
		i++;
		if (i < n && is_digit(s[i]))
			return fail_at(p, start, "leading zero in number");
	} else {
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i])) {
			p->pos = i;
			return fail_unexpected(p, "a digit after '.'");
		}
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i])) {
			p->pos = i;
			return fail_unexpected(p, "a digit in the exponent");
		}
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i - start > MAX_NUMBER_TEXT)
		return fail_at(p, start, "number too long");
	char *t = pc_arena_strndup(p->arena, s + start, i - start);
	if (!t)
		return pc_error_set(p->err, PC_ENOMEM, "out of memory");
	v->type = PC_JNUMBER;
	v->str = t;
	v->len = i - start;
	p->pos = i;
	return 0;
}

static int literal(struct parser *p, const char *word, size_t wlen)
{
	if (p->len - p->pos < wlen || memcmp(p->s + p->pos, word, wlen) != 0)
		return fail_unexpected(p, "a JSON value");
	p->pos += wlen;
	return 0;
}

struct keyref {
	const char *key;
	size_t len;
	int line, col;
};

static int keycmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* equal keys: the later one (in the file) sorts last, so we report it */
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->col > y->col) - (x->col < y->col);
}

/* Duplicate keys make a file mean two things to two readers: refuse them.
 * Sorting keeps this O(n log n) for a hostile object with many members. */
static int check_duplicates(struct parser *p, const struct pc_jval *kids, size_t n)
{
	if (n < 2)
		return 0;
	struct keyref *refs = malloc(n * sizeof(*refs));
	if (!refs)
		return pc_error_set(p->err, PC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct keyref){kids[i].key, kids[i].key_len, kids[i].key_line,
					  kids[i].key_col};
	qsort(refs, n, sizeof(*refs), keycmp);
	int r = 0;
	for (size_t i = 1; i < n; i++) {
		if (refs[i].len == refs[i - 1].len &&
		    memcmp(refs[i].key, refs[i - 1].key, refs[i].len) == 0) {
			char clean[80];
			pc_text_sanitize(refs[i].key, clean, sizeof(clean));
			r = pc_error_set_at(p->err, PC_EPARSE, p->file, refs[i].line, refs[i].col,
					    "duplicate key '%s'", clean);
			break;
		}
	}
	free(refs);
	return r;
}

static int parse_value(struct parser *p, struct pc_jval *v);

static int close_container(struct parser *p, struct pc_jval *v, size_t base)
{
	size_t n = p->nstack - base;
	v->n = n;
	if (n) {
		v->kids = pc_arena_alloc(p->arena, n * sizeof(*v->kids));
		if (!v->kids)
			return pc_error_set(p->err, PC_ENOMEM, "out of memory");
		memcpy(v->kids, p->stack + base, n * sizeof(*v->kids));
	}
	p->nstack = base;
	return 0;
}

/* Is the array being opened (p->depth already counts it) the streamed one? */
static bool streamed(const struct parser *p)
{
	const struct pc_jparse_opts *o = p->opts;
	if (!o->on_element)
		return false;
	if (!o->stream_key)
		return p->depth == 1;
	return p->depth == 2 && p->member_key && p->member_key_len == strlen(o->stream_key) &&
	       memcmp(p->member_key, o->stream_key, p->member_key_len) == 0;
}

/* Parse one element into its own arena, hand it over, free it. */
static int stream_element(struct parser *p)
{
	struct pc_arena *saved = p->arena;
	struct pc_arena tmp;
	pc_arena_init(&tmp);
	p->arena = &tmp;
	size_t values = p->values;
	struct pc_jval kid;
	int r = parse_value(p, &kid);
	p->arena = saved;
	if (r >= 0)
		r = p->opts->on_element(p->opts->element_ctx, &kid);
	pc_arena_free(&tmp);
	p->values = values;
	return r;
}

/* After a member of an array or object: ',' and another member (0), the
 * closing bracket (1), or an error; a ',' right before the close is one. */
static int after_member(struct parser *p, char close, const char *expected)
{
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ',') {
		p->pos++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == close)
			return fail_at(p, p->pos, close == ']' ? "trailing comma before ']'"
							       : "trailing comma before '}'");
		return 0;
	}
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 1;
	}
	return fail_unexpected(p, expected);
}

static int parse_array(struct parser *p, struct pc_jval *v)
{
	size_t base = p->nstack;
	bool stream = streamed(p);
	v->type = PC_JARRAY;
	p->pos++; /* [ */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		int r;
		if (stream) {
			r = stream_element(p);
		} else {
			struct pc_jval kid;
			r = parse_value(p, &kid);
			if (r >= 0)
				r = push(p, &kid);
		}
		if (r < 0)
			return r;
		r = after_member(p, ']', "',' or ']' in array");
		if (r < 0)
			return r;
		if (r == 1)
			break;
	}
	return close_container(p, v, base);
}

static int parse_object(struct parser *p, struct pc_jval *v)
{
	size_t base = p->nstack;
	v->type = PC_JOBJECT;
	p->pos++; /* { */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (p->pos >= p->len || p->s[p->pos] != '"')
			return fail_unexpected(p, "a string key");
		const char *key;
		size_t klen;
		int kline = p->line, kcol = col_of(p, p->pos);
		int r = parse_string(p, &key, &klen);
		if (r < 0)
			return r;
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return fail_unexpected(p, "':' after key");
		p->pos++;
		struct pc_jval kid;
		if (p->depth == 1) {
			p->member_key = key;
			p->member_key_len = klen;
		}
		r = parse_value(p, &kid);
		if (p->depth == 1)
			p->member_key = NULL;
		if (r < 0)
			return r;
		kid.key = key;
		kid.key_len = klen;
		/* duplicates are reported at the key, where a person looks */
		kid.key_line = kline;
		kid.key_col = kcol;
		r = push(p, &kid);
		if (r < 0)
			return r;
		r = after_member(p, '}', "',' or '}' in object");
		if (r < 0)
			return r;
		if (r == 1)
			break;
	}
	int r = check_duplicates(p, p->stack + base, p->nstack - base);
	if (r < 0)
		return r;
	return close_container(p, v, base);
}

static int parse_value(struct parser *p, struct pc_jval *v)
{
	memset(v, 0, sizeof(*v));
	if (p->max_values && ++p->values > p->max_values)
		return pc_error_set_at(p->err, PC_ETOOBIG, p->file, p->line, col_of(p, p->pos),
				       "more than %zu JSON values at once", p->max_values);
	skip_ws(p);
	v->line = p->line;
	v->col = col_of(p, p->pos);
	if (p->pos >= p->len)
		return fail_unexpected(p, "a JSON value");
	char c = p->s[p->pos];
	int r;
	switch (c) {
	case '{':
	case '[':
		if (p->depth >= p->max_depth)
			return pc_error_set_at(p->err, PC_EPARSE, p->file, p->line,
					       col_of(p, p->pos), "nesting deeper than %d levels",
					       p->max_depth);
		p->depth++;
		r = c == '{' ? parse_object(p, v) : parse_array(p, v);
		p->depth--;
		return r;
	case '"':
		v->type = PC_JSTRING;
		return parse_string(p, &v->str, &v->len);
	case 't':
		v->type = PC_JBOOL;
		v->boolean = true;
		return literal(p, "true", 4);
	case 'f':
		v->type = PC_JBOOL;
		return literal(p, "false", 5);
	case 'n':
		v->type = PC_JNULL;
		return literal(p, "null", 4);
	default:
		if (c == '-' || is_digit(c))
			return parse_number(p, v);
		return fail_unexpected(p, "a JSON value");
	}
}

int pc_jparse(const char *text, size_t len, const struct pc_jparse_opts *opts,
	      struct pc_jdoc **ret_doc, size_t *ret_consumed, struct pc_error *err)
{
	static const struct pc_jparse_opts defaults = {0};
	if (!opts)
		opts = &defaults;
	struct parser p = {
		.s = text,
		.len = len,
		.line = opts->first_line > 0 ? opts->first_line : 1,
		.max_depth = opts->max_depth > 0 ? opts->max_depth : PC_JPARSE_DEFAULT_DEPTH,
		.file = opts->file,
		.err = err,
		.max_values = opts->max_values,
		.opts = opts,
	};
	if (opts->max_size && len > opts->max_size)
		return pc_error_set_at(err, PC_ETOOBIG, opts->file, 0, 0,
				       "JSON input of %zu bytes is larger than the %zu byte cap",
				       len, opts->max_size);
	struct pc_jdoc *doc = calloc(1, sizeof(*doc));
	if (!doc)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	pc_arena_init(&doc->arena);
	p.arena = &doc->arena;
	int r = 0;
	doc->root = pc_arena_alloc(&doc->arena, sizeof(*doc->root));
	if (!doc->root) {
		r = pc_error_set(err, PC_ENOMEM, "out of memory");
		goto out;
	}
	skip_ws(&p);
	if (p.pos >= p.len) {
		r = pc_error_set_at(err, PC_EPARSE, opts->file, p.line, col_of(&p, p.pos),
				    "empty input, expected a JSON value");
		goto out;
	}
	r = parse_value(&p, doc->root);
	if (r < 0)
		goto out;
	size_t end = p.pos;
	if (!opts->allow_trailing) {
		skip_ws(&p);
		if (p.pos < p.len) {
			r = fail_unexpected(&p, "end of input after the JSON value");
			goto out;
		}
	}
	if (ret_consumed)
		*ret_consumed = end;
	*ret_doc = doc;
	doc = NULL;
out:
	free(p.stack);
	free(p.tmp);
	pc_jdoc_free(doc);
	return r;
}

void pc_jdoc_free(struct pc_jdoc *doc)
{
	if (!doc)
		return;
	pc_arena_free(&doc->arena);
	free(doc);
}

const struct pc_jval *pc_jval_get(const struct pc_jval *v, const char *key)
{
	if (!v || v->type != PC_JOBJECT)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < v->n; i++)
		if (v->kids[i].key_len == klen && memcmp(v->kids[i].key, key, klen) == 0)
			return &v->kids[i];
	return NULL;
}

const char *pc_jval_str(const struct pc_jval *v)
{
	if (!v || v->type != PC_JSTRING || strlen(v->str) != v->len)
		return NULL;
	return v->str;
}

bool pc_jval_uint(const struct pc_jval *v, uint64_t max, uint64_t *ret)
{
	if (!v || v->type != PC_JNUMBER || v->len == 0 || v->str[0] == '-')
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < v->len; i++) {
		char c = v->str[i];
		if (!is_digit(c))
			return false; /* fraction or exponent */
		unsigned d = (unsigned)(c - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (x > max)
		return false;
	*ret = x;
	return true;
}

const char *pc_jtype_name(enum pc_jtype t)
{
	switch (t) {
	case PC_JNULL:
		return "null";
	case PC_JBOOL:
		return "boolean";
	case PC_JNUMBER:
		return "number";
	case PC_JSTRING:
		return "string";
	case PC_JARRAY:
		return "array";
	case PC_JOBJECT:
		return "object";
	}
	return "?";
}
