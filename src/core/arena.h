/*
 * arena.h - bump allocator that owns everything a snapshot holds.
 *
 * A snapshot's strings, owners and services live in its arena and are freed
 * all at once with it, so no field needs its own destructor and nothing can
 * be freed twice. Allocation failure returns NULL; callers map it to
 * PC_ENOMEM.
 */
#ifndef PC_CORE_ARENA_H
#define PC_CORE_ARENA_H

#include <stddef.h>

struct pc_arena_chunk;

struct pc_arena {
	struct pc_arena_chunk *head;
	size_t total; /* bytes handed out, for accounting and tests */
};

void pc_arena_init(struct pc_arena *a);
/* Free every chunk. Accepts an arena that was never used. */
void pc_arena_free(struct pc_arena *a);
/* Zeroed, max_align_t aligned memory; NULL on failure or size overflow. */
void *pc_arena_alloc(struct pc_arena *a, size_t size);
/* Copy of s (NULL gives NULL). */
char *pc_arena_strdup(struct pc_arena *a, const char *s);
/* Copy of the first n bytes of s, NUL-terminated. */
char *pc_arena_strndup(struct pc_arena *a, const char *s, size_t n);
char *pc_arena_printf(struct pc_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
