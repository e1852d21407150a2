/*
 * json.h - a small streaming JSON writer, and the string escaping that every
 * text output relies on.
 *
 * Strings from the kernel or a peer may hold control characters, NUL bytes or
 * invalid UTF-8: the escaper emits valid JSON for any byte sequence, writing
 * \u00XX for controls and U+FFFD for each byte that is not part of a valid
 * UTF-8 sequence (overlongs and surrogates included).
 */
#ifndef PC_CORE_JSON_H
#define PC_CORE_JSON_H

#include "core/buf.h"
#include "core/text.h" /* pc_utf8_seq_len; pc_text_sanitize for the writers */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PC_JSON_MAX_DEPTH 32

/* Output is collected in buf and handed to f when a top-level value is
 * complete: do not write to f yourself in the middle of a value. */
struct pc_json {
	FILE *f;
	bool pretty;
	int depth;
	bool first[PC_JSON_MAX_DEPTH]; /* no member written yet at this depth */
	bool after_key;
	size_t len;     /* bytes waiting in buf */
	char buf[8192];
};

void pc_json_init(struct pc_json *j, FILE *f, bool pretty);
void pc_json_begin_object(struct pc_json *j);
void pc_json_end_object(struct pc_json *j);
void pc_json_begin_array(struct pc_json *j);
void pc_json_end_array(struct pc_json *j);
void pc_json_keyn(struct pc_json *j, const char *key, size_t len);
/* Inline so that the length of a literal key is known when compiling: a
 * report writes millions of keys. */
static inline void pc_json_key(struct pc_json *j, const char *key)
{
	pc_json_keyn(j, key, __builtin_strlen(key));
}
void pc_json_string(struct pc_json *j, const char *s); /* NULL writes null */
void pc_json_stringn(struct pc_json *j, const char *s, size_t len);
void pc_json_int(struct pc_json *j, int64_t v);
void pc_json_uint(struct pc_json *j, uint64_t v);
void pc_json_double(struct pc_json *j, double v, int decimals);
void pc_json_bool(struct pc_json *j, bool v);
void pc_json_null(struct pc_json *j);

/* Append the JSON string literal (with quotes) for s[0..len) to b. */
int pc_json_escape(struct pc_buf *b, const char *s, size_t len);

#endif
