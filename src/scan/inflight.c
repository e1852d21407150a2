/*
 * inflight.c - ring plus open-addressing index (see inflight.h).
 *
 * The index holds ring slot numbers + 1 (0 is empty). Deleting with a
 * backward shift keeps every probe sequence unbroken without tombstones,
 * so lookups stay short however long the scan runs.
 */
#include "scan/inflight.h"
#include "core/error.h"
#include "core/hostmap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct pc_inflight {
	struct pc_inflight_entry *ring;
	uint32_t *index;
	size_t cap, mask;        /* ring */
	size_t icap, imask;      /* index */
	uint64_t head, tail;     /* ring positions; count = tail - head */
};

static uint64_t key_hash(const struct pc_addr *a, uint16_t port)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ port ^ ((uint64_t)a->family << 16);
	size_t n = a->family == AF_INET6 ? 16 : 4;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t w;
		memcpy(&w, a->bytes + i, 4);
		h ^= w;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

int pc_inflight_new(size_t cap, struct pc_inflight **ret_inflight)
{
	if (cap == 0 || cap > (1u << 24))
		return PC_EINVAL;
	size_t c = 1;
	while (c < cap)
		c <<= 1;
	struct pc_inflight *f = calloc(1, sizeof(*f));
	if (!f)
		return PC_ENOMEM;
	f->cap = c;
	f->mask = c - 1;
	f->icap = c * 2;
	f->imask = f->icap - 1;
	f->ring = calloc(c, sizeof(*f->ring));
	f->index = calloc(f->icap, sizeof(*f->index));
	if (!f->ring || !f->index) {
		pc_inflight_free(f);
		return PC_ENOMEM;
	}
	*ret_inflight = f;
	return 0;
}

void pc_inflight_free(struct pc_inflight *f)
{
	if (!f)
		return;
	free(f->ring);
	free(f->index);
	free(f);
}

size_t pc_inflight_count(const struct pc_inflight *f)
{
	return (size_t)(f->tail - f->head);
}

size_t pc_inflight_capacity(const struct pc_inflight *f)
{
	return f->cap;
}

static bool same(const struct pc_inflight_entry *e, const struct pc_addr *a, uint16_t port)
{
	return e->port == port && pc_addr_equal(&e->addr, a);
}

static void index_insert(struct pc_inflight *f, size_t slot)
{
	const struct pc_inflight_entry *e = &f->ring[slot];
	size_t i = key_hash(&e->addr, e->port) & f->imask;
	while (f->index[i])
		i = (i + 1) & f->imask;
	f->index[i] = (uint32_t)slot + 1;
}

/* Position in the index of the entry for slot, or icap when absent. */
static size_t index_find_slot(const struct pc_inflight *f, size_t slot)
{
	const struct pc_inflight_entry *e = &f->ring[slot];
	size_t i = key_hash(&e->addr, e->port) & f->imask;
	while (f->index[i]) {
		if (f->index[i] == slot + 1)
			return i;
		i = (i + 1) & f->imask;
	}
	return f->icap;
}

static void index_delete_at(struct pc_inflight *f, size_t i)
{
	/* backward shift: pull later members of the run into the hole when
	 * their home position allows it */
	size_t j = i;
	for (;;) {
		f->index[i] = 0;
		for (;;) {
			j = (j + 1) & f->imask;
			if (!f->index[j])
				return;
			const struct pc_inflight_entry *e = &f->ring[f->index[j] - 1];
			size_t home = key_hash(&e->addr, e->port) & f->imask;
			/* may move to i when home is not in (i, j] cyclically */
			bool stay = i <= j ? (i < home && home <= j) : (i < home || home <= j);
			if (!stay)
				break;
		}
		f->index[i] = f->index[j];
		i = j;
	}
}

struct pc_inflight_entry *pc_inflight_push(struct pc_inflight *f, const struct pc_addr *addr,
					   uint16_t port)
{
	if (pc_inflight_count(f) >= f->cap)
		return NULL;
	size_t slot = (size_t)(f->tail & f->mask);
	struct pc_inflight_entry *e = &f->ring[slot];
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->port = port;
	f->tail++;
	index_insert(f, slot);
	return e;
}

struct pc_inflight_entry *pc_inflight_find(struct pc_inflight *f, const struct pc_addr *addr,
					   uint16_t port)
{
	size_t i = key_hash(addr, port) & f->imask;
	while (f->index[i]) {
		struct pc_inflight_entry *e = &f->ring[f->index[i] - 1];
		if (same(e, addr, port))
			return e;
		i = (i + 1) & f->imask;
	}
	return NULL;
}

struct pc_inflight_entry *pc_inflight_head(struct pc_inflight *f)
{
	if (f->head == f->tail)
		return NULL;
	return &f->ring[f->head & f->mask];
}

void pc_inflight_pop(struct pc_inflight *f)
{
	if (f->head == f->tail)
		return;
	size_t slot = (size_t)(f->head & f->mask);
	size_t i = index_find_slot(f, slot);
	if (i < f->icap)
		index_delete_at(f, i);
	f->head++;
}

struct pc_inflight_entry *pc_inflight_requeue(struct pc_inflight *f)
{
	if (f->head == f->tail)
		return NULL;
	struct pc_inflight_entry copy = f->ring[f->head & f->mask];
	pc_inflight_pop(f);
	/* the head's slot was just freed, so there is room */
	size_t slot = (size_t)(f->tail & f->mask);
	f->ring[slot] = copy;
	f->tail++;
	index_insert(f, slot);
	return &f->ring[slot];
}

/* ---- per-host counts: the shared host table, with a limit on hosts ---- */

struct pc_hostcount {
	struct pc_hostmap *map; /* address -> count (> 0) */
	size_t max_n;
};

int pc_hostcount_new(size_t cap, struct pc_hostcount **ret_hc)
{
	if (cap == 0 || cap > (1u << 24))
		return PC_EINVAL;
	struct pc_hostcount *hc = calloc(1, sizeof(*hc));
	if (!hc)
		return PC_ENOMEM;
	/* room for cap hosts: the map never grows, inc never allocates */
	if (pc_hostmap_new(cap, &hc->map) < 0) {
		free(hc);
		return PC_ENOMEM;
	}
	hc->max_n = cap;
	*ret_hc = hc;
	return 0;
}

void pc_hostcount_free(struct pc_hostcount *hc)
{
	if (!hc)
		return;
	pc_hostmap_free(hc->map);
	free(hc);
}

unsigned pc_hostcount_get(const struct pc_hostcount *hc, const struct pc_addr *addr)
{
	const uint32_t *count = pc_hostmap_get(hc->map, 0, addr);
	return count ? *count : 0;
}

bool pc_hostcount_inc(struct pc_hostcount *hc, const struct pc_addr *addr)
{
	uint32_t *count = pc_hostmap_get(hc->map, 0, addr);
	if (!count && (pc_hostmap_count(hc->map) >= hc->max_n ||
		       pc_hostmap_put(hc->map, 0, addr, &count) < 0))
		return false;
	++*count;
	return true;
}

void pc_hostcount_dec(struct pc_hostcount *hc, const struct pc_addr *addr)
{
	uint32_t *count = pc_hostmap_get(hc->map, 0, addr);
	if (count && --*count == 0)
		pc_hostmap_remove(hc->map, 0, addr);
}
