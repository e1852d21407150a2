/*
 * inflight.h - the probes a raw engine has sent and not yet settled, in send
 * order, findable by (address, port).
 *
 * Memory is O(probes in flight), never O(target set): a ring of fixed
 * capacity holds each probe from its latest send until its deadline, and a
 * linear-probing index (twice the ring's size, backward-shift deletion, no
 * tombstones) finds it when a reply comes. Because every try of a probe
 * waits the same time, deadlines expire in ring order: the engine only ever
 * looks at the head - re-send it (it moves to the tail) or give up on it.
 * An answered probe stays in the ring, marked done, until its deadline, so
 * the ring never has holes.
 */
#ifndef PC_SCAN_INFLIGHT_H
#define PC_SCAN_INFLIGHT_H

#include "core/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc_inflight_entry {
	struct pc_addr addr;
	uint16_t port;
	uint8_t tries; /* sends so far */
	bool done;     /* reported; waits for its deadline to leave */
	uint8_t waits; /* rounds spent waiting for the next hop (ARP) */
	uint64_t sent_us, deadline_us;
	uint64_t first_us; /* its first send: the pacer judges an answer by it */
};

struct pc_inflight;

/* A ring for at least cap probes (rounded up to a power of two, at most
 * 2^24). 0 or PC_ENOMEM/PC_EINVAL. */
int pc_inflight_new(size_t cap, struct pc_inflight **ret_inflight);
void pc_inflight_free(struct pc_inflight *f);

size_t pc_inflight_count(const struct pc_inflight *f);
size_t pc_inflight_capacity(const struct pc_inflight *f);

/* Append a probe at the tail (tries 0, not done, times zero); NULL when
 * full. The pointer is valid until the next push, pop or requeue. The
 * caller makes sure (addr, port) is not in flight already. */
struct pc_inflight_entry *pc_inflight_push(struct pc_inflight *f, const struct pc_addr *addr,
					   uint16_t port);
struct pc_inflight_entry *pc_inflight_find(struct pc_inflight *f, const struct pc_addr *addr,
					   uint16_t port);
/* The oldest entry, or NULL when empty. */
struct pc_inflight_entry *pc_inflight_head(struct pc_inflight *f);
/* Forget the head. */
void pc_inflight_pop(struct pc_inflight *f);
/* Move the head to the tail (for a re-send); returns it at its new place. */
struct pc_inflight_entry *pc_inflight_requeue(struct pc_inflight *f);

/*
 * Per-host counts of unanswered probes, for the per-host in-flight cap
 * (--host-inflight): the shared host table (core/hostmap.h), whose entries
 * leave when their count drops to zero, sized for at most cap hosts at once
 * (the ring's capacity is enough: every counted probe is in the ring).
 */
struct pc_hostcount;

int pc_hostcount_new(size_t cap, struct pc_hostcount **ret_hc);
void pc_hostcount_free(struct pc_hostcount *hc);
unsigned pc_hostcount_get(const struct pc_hostcount *hc, const struct pc_addr *addr);
/* +1 for addr; false when the table is full (the caller then waits). */
bool pc_hostcount_inc(struct pc_hostcount *hc, const struct pc_addr *addr);
/* -1 for addr (no-op when absent). */
void pc_hostcount_dec(struct pc_hostcount *hc, const struct pc_addr *addr);

#endif
