/*
 * heap.c - the indexed min-heap of heap.h: a binary heap in an array, plus
 * the position of every id so that a deadline can move or go away without
 * a search.
 */
#include "core/heap.h"
#include "core/error.h"

#include <stdlib.h>

#define ABSENT UINT32_MAX

int pc_heap_init(struct pc_heap *h, size_t cap)
{
	*h = (struct pc_heap){0};
	if (cap == 0 || cap >= ABSENT)
		return PC_EINVAL;
	h->items = calloc(cap, sizeof(*h->items));
	h->pos = malloc(cap * sizeof(*h->pos));
	if (!h->items || !h->pos) {
		pc_heap_free(h);
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < cap; i++)
		h->pos[i] = ABSENT;
	h->cap = cap;
	return 0;
}

void pc_heap_free(struct pc_heap *h)
{
	free(h->items);
	free(h->pos);
	*h = (struct pc_heap){0};
}

static void place(struct pc_heap *h, size_t i, struct pc_heap_item it)
{
	h->items[i] = it;
	h->pos[it.id] = (uint32_t)i;
}

/* Move the item at i up or down until the heap order holds again. */
static void fix(struct pc_heap *h, size_t i)
{
	struct pc_heap_item it = h->items[i];
	while (i > 0 && it.key < h->items[(i - 1) / 2].key) {
		place(h, i, h->items[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->items[c + 1].key < h->items[c].key)
			c++;
		if (!(h->items[c].key < it.key))
			break;
		place(h, i, h->items[c]);
		i = c;
	}
	place(h, i, it);
}

void pc_heap_set(struct pc_heap *h, uint32_t id, double key)
{
	if (id >= h->cap)
		return;
	size_t i = h->pos[id];
	if (i == ABSENT)
		i = h->n++;
	place(h, i, (struct pc_heap_item){.key = key, .id = id});
	fix(h, i);
}

void pc_heap_remove(struct pc_heap *h, uint32_t id)
{
	if (id >= h->cap || h->pos[id] == ABSENT)
		return;
	size_t i = h->pos[id];
	h->pos[id] = ABSENT;
	if (i == --h->n)
		return;
	place(h, i, h->items[h->n]);
	fix(h, i);
}

bool pc_heap_contains(const struct pc_heap *h, uint32_t id)
{
	return id < h->cap && h->pos[id] != ABSENT;
}

bool pc_heap_top(const struct pc_heap *h, uint32_t *ret_id, double *ret_key)
{
	if (h->n == 0)
		return false;
	*ret_id = h->items[0].id;
	*ret_key = h->items[0].key;
	return true;
}
