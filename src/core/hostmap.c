/*
 * hostmap.c - open addressing over (namespace, address) keys (see
 * hostmap.h).
 *
 * Slots hold the key and the value; family 0 marks an empty slot, so a
 * zeroed array is an empty table. The capacity is a power of two at least
 * twice the number of members, which keeps linear probing runs short.
 */
#include "core/hostmap.h"
#include "core/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct entry {
	struct pc_addr addr; /* family 0: empty */
	uint64_t ns;
	uint32_t value;
};

struct pc_hostmap {
	struct entry *slots;
	size_t mask, n;
};

static size_t key_hash(uint64_t ns, const struct pc_addr *a)
{
	/* FNV-1a over the address bytes, the namespace folded in, then a
	 * final mix so the low bits (the index) depend on every byte */
	uint64_t h = 1469598103934665603ULL ^ ns;
	size_t len = a->family == AF_INET6 ? 16 : 4;
	for (size_t i = 0; i < len; i++)
		h = (h ^ a->bytes[i]) * 1099511628211ULL;
	h ^= (uint64_t)a->family << 56;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

static int alloc_slots(struct pc_hostmap *m, size_t expect)
{
	size_t cap = 16;
	while (cap < expect * 2)
		cap *= 2;
	struct entry *s = calloc(cap, sizeof(*s));
	if (!s)
		return PC_ENOMEM;
	m->slots = s;
	m->mask = cap - 1;
	return 0;
}

int pc_hostmap_new(size_t expect, struct pc_hostmap **ret_map)
{
	struct pc_hostmap *m = calloc(1, sizeof(*m));
	if (!m || alloc_slots(m, expect) < 0) {
		free(m);
		return PC_ENOMEM;
	}
	*ret_map = m;
	return 0;
}

void pc_hostmap_free(struct pc_hostmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

static size_t find(const struct pc_hostmap *m, uint64_t ns, const struct pc_addr *a)
{
	size_t i = key_hash(ns, a) & m->mask;
	while (m->slots[i].addr.family &&
	       (m->slots[i].ns != ns || !pc_addr_equal(&m->slots[i].addr, a)))
		i = (i + 1) & m->mask;
	return i;
}

uint32_t *pc_hostmap_get(const struct pc_hostmap *m, uint64_t ns, const struct pc_addr *addr)
{
	struct entry *e = &m->slots[find(m, ns, addr)];
	return e->addr.family ? &e->value : NULL;
}

static int grow(struct pc_hostmap *m)
{
	struct entry *old = m->slots;
	size_t old_cap = m->mask + 1;
	if (alloc_slots(m, old_cap) < 0) {
		m->slots = old;
		return PC_ENOMEM;
	}
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].addr.family)
			m->slots[find(m, old[i].ns, &old[i].addr)] = old[i];
	free(old);
	return 0;
}

int pc_hostmap_put(struct pc_hostmap *m, uint64_t ns, const struct pc_addr *addr,
		   uint32_t **ret_value)
{
	size_t i = find(m, ns, addr);
	if (m->slots[i].addr.family) {
		*ret_value = &m->slots[i].value;
		return 0;
	}
	if ((m->n + 1) * 2 > m->mask + 1) {
		if (grow(m) < 0)
			return PC_ENOMEM;
		i = find(m, ns, addr);
	}
	m->slots[i] = (struct entry){.addr = *addr, .ns = ns};
	m->n++;
	*ret_value = &m->slots[i].value;
	return 1;
}

void pc_hostmap_remove(struct pc_hostmap *m, uint64_t ns, const struct pc_addr *addr)
{
	size_t i = find(m, ns, addr);
	if (!m->slots[i].addr.family)
		return;
	m->n--;
	/* backward shift: pull later members of the run into the hole unless
	 * their home lies cyclically in (hole, member] */
	size_t j = i;
	for (;;) {
		memset(&m->slots[i], 0, sizeof(m->slots[i]));
		for (;;) {
			j = (j + 1) & m->mask;
			if (!m->slots[j].addr.family)
				return;
			size_t home = key_hash(m->slots[j].ns, &m->slots[j].addr) & m->mask;
			bool stay = i <= j ? (i < home && home <= j) : (i < home || home <= j);
			if (!stay)
				break;
		}
		m->slots[i] = m->slots[j];
		i = j;
	}
}

size_t pc_hostmap_count(const struct pc_hostmap *m)
{
	return m->n;
}
