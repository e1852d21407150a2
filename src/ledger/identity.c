/*
 * identity.c - what makes two endpoints of two audits "the same", and which
 * of their columns count as drift.
 *
 * The identity key is computed here and only here: the store writes it as an
 * indexed column, and the diff joins two snapshots on it. It must survive a
 * restart, so it never contains a pid or a namespace inode (both change on
 * every restart): a host-side record is (host, namespace identity, proto,
 * bind address, port) - plus the peer for an established connection, which
 * is otherwise not one thing - and a network-side record is (scanned
 * address, proto, port).
 *
 * The drift values are the columns a person reviews: executable, unit,
 * container image, service, auth verdict, bind scope, state, severity,
 * policy verdict. An owner's pid is kept for display and never compared.
 */
#include "ledger/ledger.h"
#include "report/report.h"

#include <stdlib.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static const char *const drift_names[PC_DRIFT_COUNT] = {
	[PC_DRIFT_EXE] = "exe",         [PC_DRIFT_UNIT] = "unit",
	[PC_DRIFT_IMAGE] = "image",     [PC_DRIFT_SERVICE] = "service",
	[PC_DRIFT_AUTH] = "auth",       [PC_DRIFT_BIND] = "bind",
	[PC_DRIFT_STATE] = "state",     [PC_DRIFT_SEVERITY] = "severity",
	[PC_DRIFT_VERDICT] = "verdict",
};

const char *pc_ledger_drift_name(enum pc_ledger_drift_field f)
{
	return (unsigned)f < PC_DRIFT_COUNT ? drift_names[f] : "?";
}

const char *pc_ledger_action_name(enum pc_ledger_action a)
{
	switch (a) {
	case PC_CHANGE_ADDED:
		return "added";
	case PC_CHANGE_REMOVED:
		return "removed";
	case PC_CHANGE_CHANGED:
		return "changed";
	}
	return "?";
}

/* A name a runtime made up for one container's life: podman/netavark's
 * netns-<uuid>, CNI's cni-<uuid>. It changes when the container is replaced,
 * so it is no identity; the container's name is. */
static bool runtime_generated(const char *name)
{
	static const char *const prefixes[] = {"netns-", "cni-"};
	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		size_t n = strlen(prefixes[p]);
		if (strncmp(name, prefixes[p], n) != 0)
			continue;
		const char *u = name + n;
		if (strlen(u) != 36)
			return false;
		for (size_t i = 0; i < 36; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;
			if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
				return false;
		}
		return true;
	}
	return false;
}

const char *pc_ledger_namespace_id(struct pc_arena *arena, const struct pc_endpoint *ep)
{
	/* a pod outlives its containers' restarts and names its namespace
	 * better than the container the inventory picked */
	for (size_t i = 0; i < ep->n_owners; i++) {
		const struct pc_container *c = &ep->owners[i].container;
		if (c->pod && c->pod_namespace)
			return pc_arena_printf(arena, "pod:%s/%s", c->pod_namespace, c->pod);
	}
	bool generated = ep->netns.name && runtime_generated(ep->netns.name);
	if (ep->netns.name && !generated)
		return ep->netns.name;
	for (size_t i = 0; i < ep->n_owners; i++)
		if (ep->owners[i].container.name)
			return ep->owners[i].container.name;
	return ep->netns.name ? ep->netns.name : "";
}

const char *pc_ledger_identity(struct pc_arena *arena, const struct pc_snapshot *snap,
			       const struct pc_endpoint *ep)
{
	char addr[PC_ADDR_STRLEN] = "-";
	if (ep->addr.family)
		pc_addr_format(&ep->addr, addr, sizeof(addr));
	const char *proto = pc_proto_name(ep->proto);
	if (ep->source != PC_SOURCE_HOST)
		return pc_arena_printf(arena, "net|%s|%s|%u", addr, proto, (unsigned)ep->port);
	/* '|' inside a name cannot forge another key: the fields before it
	 * are fixed in number and the host comes first */
	const char *ns = pc_ledger_namespace_id(arena, ep);
	if (!ns)
		return NULL;
	if (ep->has_peer) {
		char peer[PC_ADDR_STRLEN] = "-";
		if (ep->peer_addr.family)
			pc_addr_format(&ep->peer_addr, peer, sizeof(peer));
		return pc_arena_printf(arena, "host|%s|%s|%s|%s|%u|%s|%u", snap->host, ns, proto,
				       addr, (unsigned)ep->port, peer, (unsigned)ep->peer_port);
	}
	return pc_arena_printf(arena, "host|%s|%s|%s|%s|%u", snap->host, ns, proto, addr,
			       (unsigned)ep->port);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct non-NULL values of one owner field, sorted and joined with
 * ", " (several processes may share a socket), or NULL when none. */
static const char *owners_join(struct pc_arena *arena, const struct pc_endpoint *ep,
			       size_t offset, bool *oom)
{
	if (!ep->n_owners)
		return NULL;
	const char **v = calloc(ep->n_owners, sizeof(*v));
	if (!v) {
		*oom = true;
		return NULL;
	}
	size_t n = 0, len = 0;
	for (size_t i = 0; i < ep->n_owners; i++) {
		const char *s = *(const char *const *)((const char *)&ep->owners[i] + offset);
		if (s) {
			v[n++] = s;
			len += strlen(s) + 2;
		}
	}
	const char *out = NULL;
	if (n) {
		qsort(v, n, sizeof(*v), cmp_str);
		char *buf = pc_arena_alloc(arena, len + 1);
		if (!buf) {
			*oom = true;
		} else {
			size_t k = 0;
			for (size_t i = 0; i < n; i++) {
				if (i && strcmp(v[i], v[i - 1]) == 0)
					continue;
				size_t l = strlen(v[i]);
				if (k) {
					memcpy(buf + k, ", ", 2);
					k += 2;
				}
				memcpy(buf + k, v[i], l);
				k += l;
			}
			buf[k] = '\0';
			out = buf;
		}
	}
	free(v);
	return out;
}

int pc_ledger_drift_of(struct pc_arena *arena, const struct pc_endpoint *ep,
		       struct pc_ledger_drift *ret)
{
	bool oom = false;
	struct pc_ledger_drift d = {0};
	d.v[PC_DRIFT_EXE] = owners_join(arena, ep, offsetof(struct pc_owner, exe), &oom);
	d.v[PC_DRIFT_UNIT] = owners_join(arena, ep, offsetof(struct pc_owner, unit), &oom);
	d.v[PC_DRIFT_IMAGE] =
		owners_join(arena, ep, offsetof(struct pc_owner, container.image), &oom);
	if (ep->service) {
		d.v[PC_DRIFT_SERVICE] = ep->service->name;
		d.v[PC_DRIFT_AUTH] = pc_auth_name(ep->service->auth);
	}
	d.v[PC_DRIFT_BIND] = pc_bind_name(ep->bind);
	d.v[PC_DRIFT_STATE] = pc_state_name(ep->state);
	if (ep->risk)
		d.v[PC_DRIFT_SEVERITY] = pc_severity_name(ep->risk->severity);
	if (ep->policy && ep->policy->verdict != PC_VERDICT_NONE)
		d.v[PC_DRIFT_VERDICT] = pc_verdict_name(ep->policy->verdict);
	char buf[128];
	d.owner = pc_arena_strdup(arena, pc_report_owner_short(ep, buf, sizeof(buf)));
	if (oom || !d.owner)
		return PC_ENOMEM;
	*ret = d;
	return 0;
}

uint64_t pc_ledger_drift_hash(const struct pc_ledger_drift *d)
{
	uint64_t h = 14695981039346656037ULL;
	for (int f = 0; f < PC_DRIFT_COUNT; f++) {
		/* a presence byte first, so NULL and "" differ, and a separator
		 * after, so ("ab", "c") and ("a", "bc") differ */
		h = (h ^ (d->v[f] ? 1u : 0u)) * 1099511628211ULL;
		for (const unsigned char *p = (const unsigned char *)d->v[f]; p && *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h = (h ^ 0xffu) * 1099511628211ULL;
	}
	return h;
}
