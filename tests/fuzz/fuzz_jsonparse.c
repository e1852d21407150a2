/*
 * fuzz_jsonparse.c - the strict JSON reader over arbitrary bytes; what it
 * accepts is walked completely (every string must be valid UTF-8 of the
 * stated length), and must be accepted again after one byte of whitespace;
 * streaming the root array (or the root object's "endpoints") must see
 * exactly the elements the tree holds.
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

static int count(void *ctx, const struct pc_jval *e)
{
	walk(e, 1);
	++*(size_t *)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_jdoc *doc = NULL;
	struct pc_error err = {0};
	if (pc_jparse((const char *)data, size, NULL, &doc, NULL, &err) < 0)
		return 0;
	walk(doc->root, 0);
	const struct pc_jval *target = doc->root->type == PC_JARRAY
					       ? doc->root
					       : pc_jval_get(doc->root, "endpoints");
	size_t want = target && target->type == PC_JARRAY ? target->n : 0;
	pc_jdoc_free(doc);
	size_t seen = 0;
	struct pc_jparse_opts so = {.on_element = count, .element_ctx = &seen};
	if (want) {
		so.stream_key = NULL;
		/* root array, or the root object's "endpoints" */
		if (data[0] != '[') {
			size_t i = 0;
			while (i < size && data[i] != '[' && data[i] != '{')
				i++;
			if (i < size && data[i] == '{')
				so.stream_key = "endpoints";
		}
		if (pc_jparse((const char *)data, size, &so, &doc, NULL, &err) < 0 || seen != want)
			abort();
		pc_jdoc_free(doc);
	}
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
