/*
 * exposure_evidence.c - what sweeps saw of one host's own listeners, for
 * the classifier's "reachable beyond this host" rule (`audit --ledger`).
 *
 * Why it is built this way: it is the exposure join of exposure.c, asked
 * only about the addresses this host answers on (its namespaces' and
 * those its listeners bind to, at most ONLY_MAX, else every scan
 * endpoint), so the classifier and `fleet exposure` cannot disagree. A
 * ledger that is missing or cannot answer gives no evidence and never
 * fails the audit.
 */
#include "ledger/exposure_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One evidence row per segment that covered (addr, proto, port). */
static int add_evidence(struct work *w, struct pc_snapshot *snap, const struct pc_endpoint *ep,
			const struct pc_addr *addr, struct pc_exposure_evidence **v, size_t *n,
			size_t *cap)
{
	for (size_t g = 0; g < w->n_segments; g++) {
		size_t k = pc_exposure_newest_cover(w, w->segments[g], addr, ep->proto, ep->port);
		if (k == w->n_sweeps)
			continue;
		if (!pc_exposure_grow((void **)v, cap, *n, sizeof(**v)))
			return PC_ENOMEM;
		enum pc_exposure_seen seen = pc_exposure_seen_by(w, k, addr, ep->proto, ep->port);
		(*v)[(*n)++] = (struct pc_exposure_evidence){
			.netns_inode = ep->netns.inode,
			.bound = ep->addr,
			.proto = ep->proto,
			.port = ep->port,
			.addr = *addr,
			.segment = pc_snapshot_strdup(snap, w->segments[g]),
			.sweep = pc_snapshot_strdup(snap, w->sweeps[k].name),
			.seen = seen == PC_SEEN_OPEN     ? PC_STATE_OPEN
				: seen == PC_SEEN_CLOSED ? PC_STATE_CLOSED
							 : PC_STATE_FILTERED,
		};
		if (!(*v)[*n - 1].segment || !(*v)[*n - 1].sweep)
			return PC_ENOMEM;
	}
	return 0;
}

/* The addresses snap's listeners answer on (its namespaces' and those
 * bound to one address), as text in w->only; none (read everything) past
 * ONLY_MAX. 0, 1 when there is no address at all (no evidence to look
 * for), or PC_ENOMEM. */
static int only_addresses(struct work *w, const struct pc_snapshot *snap,
			  struct pc_arena *arena)
{
	w->n_only = 0;
	for (size_t i = 0; i < snap->n_addresses + snap->n_endpoints; i++) {
		const struct pc_addr *a;
		if (i < snap->n_addresses) {
			a = &snap->addresses[i].addr;
		} else {
			const struct pc_endpoint *ep = &snap->endpoints[i - snap->n_addresses];
			if (ep->source != PC_SOURCE_HOST || ep->bind != PC_BIND_SPECIFIC)
				continue;
			a = &ep->addr;
		}
		char t[PC_ADDR_STRLEN];
		pc_addr_format(a, t, sizeof(t));
		bool dup = false;
		for (int k = 0; k < w->n_only && !dup; k++)
			dup = strcmp(w->only[k], t) == 0;
		if (dup)
			continue;
		if (w->n_only == ONLY_MAX) {
			w->n_only = 0; /* too many to list: every scan endpoint */
			return 0;
		}
		if (!(w->only[w->n_only++] = pc_arena_strdup(arena, t)))
			return PC_ENOMEM;
	}
	return w->n_only ? 0 : 1;
}

int pc_ledger_evidence(const struct pc_ledger_request *req, struct pc_snapshot *snap,
		       const struct pc_exposure_evidence **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	const char *where = req->central ? req->central : req->path;
	struct pc_arena arena;
	pc_arena_init(&arena);
	struct work w = {0};
	int r = only_addresses(&w, snap, &arena);
	struct pc_ledger *l = NULL;
	struct pc_error err = {0};
	/* nothing to look for, no ledger yet, or unreachable: no evidence */
	if (r != 0 || !where || pc_ledger_open(where, false, &l, &err) < 0) {
		pc_arena_free(&arena);
		return r < 0 ? r : 0;
	}
	struct pc_exposure_evidence *v = NULL;
	size_t n = 0, cap = 0;
	r = pc_exposure_prepare(&w, l, NULL, &arena, &err);
	for (size_t i = 0; r == 0 && i < snap->n_endpoints; i++) {
		const struct pc_endpoint *ep = &snap->endpoints[i];
		if (ep->source != PC_SOURCE_HOST || ep->bind == PC_BIND_LOOPBACK ||
		    (ep->state != PC_STATE_LISTEN && ep->state != PC_STATE_FORWARDED))
			continue;
		if (!pc_addr_is_any(&ep->addr)) {
			r = add_evidence(&w, snap, ep, &ep->addr, &v, &n, &cap);
			continue;
		}
		for (size_t a = 0; r == 0 && a < snap->n_addresses; a++) {
			const struct pc_ns_address *na = &snap->addresses[a];
			if (na->netns_inode == ep->netns.inode &&
			    (ep->addr.family == AF_INET6 || na->addr.family == AF_INET))
				r = add_evidence(&w, snap, ep, &na->addr, &v, &n, &cap);
		}
	}
	pc_exposure_work_free(&w);
	pc_arena_free(&arena);
	pc_ledger_close(l);
	if (r == PC_ENOMEM) {
		free(v);
		return r;
	}
	if (r < 0 || !n) {
		free(v); /* a ledger that cannot answer: no evidence */
		return 0;
	}
	struct pc_exposure_evidence *keep = pc_arena_alloc(&snap->arena, n * sizeof(*keep));
	if (keep)
		memcpy(keep, v, n * sizeof(*keep));
	free(v);
	if (!keep)
		return PC_ENOMEM;
	*ret = keep;
	*ret_n = n;
	return 0;
}
