/*
 * fuzz_jsonparse.c - the strict JSON reader over arbitrary bytes; what it
 * accepts is walked completely (every string must be valid UTF-8 of the
 * stated length), and must be accepted again after one byte of whitespace.
 */
#include "core/json.h"
#include "core/jsonparse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct pc_jval *v, int depth)
{
	if (depth > PC_JPARSE_DEFAULT_DEPTH + 1)
		abort();
	size_t n = 1;
	if (v->type == PC_JSTRING) {
		for (size_t i = 0; i < v->len;) {
			int k = pc_utf8_seq_len((const unsigned char *)v->str + i, v->len - i);
			if (k <= 0)
				abort();
			i += (size_t)k;
		}
		if (v->str[v->len] != '\0')
			abort();
	}
	for (size_t i = 0; i < v->n; i++)
		n += walk(&v->kids[i], depth + 1);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_jdoc *doc = NULL;
	struct pc_error err = {0};
	if (pc_jparse((const char *)data, size, NULL, &doc, NULL, &err) < 0)
		return 0;
	walk(doc->root, 0);
	pc_jdoc_free(doc);
	char *b = malloc(size + 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	b[size] = ' ';
	if (pc_jparse(b, size + 1, NULL, &doc, NULL, &err) < 0)
		abort();
	pc_jdoc_free(doc);
	free(b);
	return 0;
}
