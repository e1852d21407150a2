/*
 * heap.h - an indexed binary min-heap of deadlines: ids 0..cap-1 (slots of
 * a fixed table of jobs), each with one key (a time in ms), any of them
 * movable or removable in O(log n) by id.
 *
 * Event loops keep their in-flight work in a fixed array of slots and need
 * the soonest deadline (how long to sleep) and the expired slots (what to
 * time out) without walking every slot each time round: with a few hundred
 * slots and a few ready events per round, the walk was the loop's main
 * cost. Memory is fixed at creation (two arrays of cap entries); no
 * operation allocates.
 */
#ifndef PC_CORE_HEAP_H
#define PC_CORE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_heap {
	struct pc_heap_item {
		double key;
		uint32_t id;
	} *items;      /* the heap, items[0] soonest */
	uint32_t *pos; /* id -> index in items, or UINT32_MAX when absent */
	size_t n, cap;
};

/* Room for ids 0..cap-1. 0 or PC_ENOMEM (h is then empty but freeable). */
int pc_heap_init(struct pc_heap *h, size_t cap);
void pc_heap_free(struct pc_heap *h);
/* Insert id with key, or move it to key when present. */
void pc_heap_set(struct pc_heap *h, uint32_t id, double key);
/* Take id out; nothing when absent. */
void pc_heap_remove(struct pc_heap *h, uint32_t id);
bool pc_heap_contains(const struct pc_heap *h, uint32_t id);
/* The soonest (id, key); false when empty. */
bool pc_heap_top(const struct pc_heap *h, uint32_t *ret_id, double *ret_key);

#endif
