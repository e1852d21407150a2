/*
 * jsonparse.h - a small, strict, bounded JSON reader (RFC 8259) for files
 * that `verify` imports: our own JSON and JSON Lines, masscan -oJ.
 *
 * Debian 12 packages no yyjson, and what we need is small: a tree of values
 * with the line and column of each, so an importer can say "file:12:9: port
 * must be 1-65535". The reader is strict on purpose - no comments, no
 * trailing commas, no NaN, no leading zeros, no raw control characters, no
 * invalid UTF-8, no lone surrogates, no duplicate keys - because a file that
 * two readers could understand differently is a file we should refuse. It is
 * bounded: a size cap, a nesting cap (recursion depth is the nesting depth),
 * a cap on values held at once, all memory in one arena freed with the
 * document, and a streaming mode for the one big array of a results file.
 */
#ifndef PC_CORE_JSONPARSE_H
#define PC_CORE_JSONPARSE_H

#include "core/arena.h"
#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_jtype { PC_JNULL = 0, PC_JBOOL, PC_JNUMBER, PC_JSTRING, PC_JARRAY, PC_JOBJECT };

struct pc_jval {
	enum pc_jtype type;
	int line, col;       /* 1-based position of the value's first byte */
	const char *key;     /* member of an object: its key (NUL-terminated) */
	size_t key_len;
	int key_line, key_col;
	bool boolean;        /* PC_JBOOL */
	const char *str;     /* PC_JSTRING: decoded UTF-8, NUL-terminated (may
	                      * hold NUL from \u0000: use len); PC_JNUMBER: the
	                      * number's text as written */
	size_t len;
	struct pc_jval *kids; /* array elements or object members, in order */
	size_t n;
};

struct pc_jdoc {
	struct pc_arena arena;
	struct pc_jval *root;
};

#define PC_JPARSE_DEFAULT_DEPTH 64

struct pc_jparse_opts {
	size_t max_size;   /* refuse longer input (PC_ETOOBIG); 0: no cap */
	int max_depth;     /* nesting cap; 0: PC_JPARSE_DEFAULT_DEPTH */
	int first_line;    /* line number of text[0], for JSON Lines; 0: 1 */
	bool allow_trailing; /* stop after the first value; else only
	                      * whitespace may follow it */
	const char *file;  /* name for error messages, or NULL */
	/* cap on values held at once (PC_ETOOBIG beyond); 0: no cap */
	size_t max_values;
	/*
	 * Streaming: when on_element is set, the elements of one array are
	 * not kept in the tree but handed to on_element one by one, each
	 * freed after the call, so a file of a million records needs the
	 * memory of one. stream_key NULL: the root array's elements;
	 * otherwise the elements of the array that is the root object's
	 * member stream_key. on_element returns 0 or a negative code (with
	 * err filled), which stops the parse. The streamed array is left in
	 * the tree with n = 0.
	 */
	int (*on_element)(void *ctx, const struct pc_jval *elem);
	void *element_ctx;
	const char *stream_key;
};

/*
 * Parse one JSON value from text[0..len). On success *ret_doc owns the tree
 * (free with pc_jdoc_free) and *ret_consumed (may be NULL) is the offset just
 * past the value. On failure returns PC_EPARSE, PC_ETOOBIG or PC_ENOMEM,
 * fills err with file:line:col and a message, and writes no out-parameter.
 */
int pc_jparse(const char *text, size_t len, const struct pc_jparse_opts *opts,
	      struct pc_jdoc **ret_doc, size_t *ret_consumed, struct pc_error *err);
void pc_jdoc_free(struct pc_jdoc *doc);

/* Member of an object by key, or NULL (also when v is not an object). */
const struct pc_jval *pc_jval_get(const struct pc_jval *v, const char *key);
/* The string of a PC_JSTRING without embedded NUL, else NULL. */
const char *pc_jval_str(const struct pc_jval *v);
/* A PC_JNUMBER written as a non-negative integer (no fraction, no
 * exponent) that is <= max: true and *ret set. */
bool pc_jval_uint(const struct pc_jval *v, uint64_t max, uint64_t *ret);
const char *pc_jtype_name(enum pc_jtype t);

#endif
