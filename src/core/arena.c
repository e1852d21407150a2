/*
 * arena.c - a list of chunks; large requests get a chunk of their own so a
 * single big allocation does not waste the rest of a standard chunk.
 */
#include "core/arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE (32 * 1024)

struct pc_arena_chunk {
	struct pc_arena_chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

void pc_arena_init(struct pc_arena *a)
{
	a->head = NULL;
	a->total = 0;
}

void pc_arena_free(struct pc_arena *a)
{
	if (!a)
		return;
	struct pc_arena_chunk *c = a->head;
	while (c) {
		struct pc_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

void *pc_arena_alloc(struct pc_arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	struct pc_arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		size_t want = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
		struct pc_arena_chunk *n = malloc(sizeof(*n) + want);
		if (!n)
			return NULL;
		n->used = 0;
		n->size = want;
		if (c && want != CHUNK_SIZE) {
			/* big block: keep the current chunk at the head for small ones */
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			a->head = n;
		}
		c = n;
	}
	void *p = c->data + c->used;
	c->used += size;
	a->total += size;
	memset(p, 0, size);
	return p;
}

char *pc_arena_strndup(struct pc_arena *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = pc_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *pc_arena_strdup(struct pc_arena *a, const char *s)
{
	if (!s)
		return NULL;
	return pc_arena_strndup(a, s, strlen(s));
}

char *pc_arena_printf(struct pc_arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return NULL;
	}
	char *p = pc_arena_alloc(a, (size_t)n + 1);
	if (p)
		vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}
