/*
 * cover.c - what a scan covered, as ranges, kept in snapshot.scan.cover.
 *
 * Why: the ledger must answer "did this sweep scan 198.18.1.2:8080?" for
 * every listener an agent reports (`fleet exposure`), and a default scan
 * keeps only what answered open. Storing every closed port would cost a
 * row per probe; the target set and the port list are a handful of ranges
 * instead. The whole set is recorded even for one shard, with the shard's
 * index and count: a sweep covers an address and port once all its shards
 * are stored (the ledger's reader checks that).
 *
 * The target set is walked by range, not by address: from the first address
 * of a range, a binary search finds its last one (in a sorted set of unique
 * addresses, at(j) == at(i) + (j - i) exactly when everything between is
 * consecutive), so a /8 with three exclusions costs a few dozen look-ups.
 * Ranges are capped (PC_SCAN_COVER_MAX): past the cap, less is claimed as
 * covered, never more.
 */
#include "scan/cover.h"

#include <string.h>
#include <sys/socket.h>

/* a + k within the family; false on overflow */
static bool addr_add(const struct pc_addr *a, uint64_t k, struct pc_addr *ret)
{
	*ret = *a;
	int n = a->family == AF_INET ? 4 : 16;
	unsigned carry = 0;
	for (int i = n - 1; i >= 0; i--) {
		unsigned v = ret->bytes[i] + (unsigned)(k & 0xff) + carry;
		ret->bytes[i] = (uint8_t)v;
		carry = v >> 8;
		k >>= 8;
		if (!k && !carry)
			return true;
	}
	return !k && !carry;
}

static bool consecutive(const struct pc_targets *t, uint64_t i, const struct pc_addr *first,
			uint64_t j)
{
	struct pc_addr want, got;
	if (!addr_add(first, j - i, &want))
		return false;
	pc_targets_at(t, j, &got);
	return pc_addr_equal(&got, &want);
}

static struct pc_scan_range *add_range(struct pc_snapshot *snap, size_t *cap)
{
	struct pc_scan_stats *st = &snap->scan;
	if (st->n_cover >= PC_SCAN_COVER_MAX)
		return NULL;
	if (st->n_cover == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct pc_scan_range *p = pc_arena_alloc(&snap->arena, n * sizeof(*p));
		if (!p)
			return NULL;
		if (st->n_cover)
			memcpy(p, st->cover, st->n_cover * sizeof(*p));
		st->cover = p;
		*cap = n;
	}
	struct pc_scan_range *r = &st->cover[st->n_cover++];
	memset(r, 0, sizeof(*r));
	return r;
}

int pc_scan_cover_record(struct pc_snapshot *snap, const struct pc_targets *targets,
			 const struct pc_ports *ports, unsigned shard_index, unsigned shard_count)
{
	struct pc_scan_stats *st = &snap->scan;
	size_t cap = 0;
	st->cover = NULL;
	st->n_cover = 0;
	st->shard_index = shard_count > 1 ? shard_index : 0;
	st->shard_count = shard_count > 1 ? shard_count : 0;
	uint64_t n = pc_targets_count(targets);
	for (uint64_t i = 0; i < n;) {
		struct pc_addr first;
		pc_targets_at(targets, i, &first);
		/* the last j with at(j) == first + (j - i): binary search */
		uint64_t lo = i, hi = n - 1;
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo + 1) / 2;
			if (consecutive(targets, i, &first, mid))
				lo = mid;
			else
				hi = mid - 1;
		}
		struct pc_scan_range *r = add_range(snap, &cap);
		if (!r)
			return st->n_cover >= PC_SCAN_COVER_MAX ? 0 : PC_ENOMEM;
		r->kind = PC_COVER_ADDRESSES;
		r->first = first;
		pc_targets_at(targets, lo, &r->last);
		i = lo + 1;
	}
	for (int p = 0; p < 2; p++) {
		enum pc_proto proto = p ? PC_PROTO_UDP : PC_PROTO_TCP;
		size_t np = pc_ports_count(ports, proto);
		for (size_t i = 0; i < np;) {
			uint16_t a = pc_ports_at(ports, proto, i), b = a;
			size_t j = i + 1;
			while (j < np && pc_ports_at(ports, proto, j) == (uint16_t)(b + 1) && b != 65535)
				b = pc_ports_at(ports, proto, j++);
			struct pc_scan_range *r = add_range(snap, &cap);
			if (!r)
				return st->n_cover >= PC_SCAN_COVER_MAX ? 0 : PC_ENOMEM;
			r->kind = p ? PC_COVER_UDP : PC_COVER_TCP;
			r->port_first = a;
			r->port_last = b;
			i = j;
		}
	}
	return 0;
}
