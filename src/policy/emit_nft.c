/*
 * emit_nft.c - `policy enforce --emit nft`: one file for `nft -f`, applied
 * as one transaction.
 *
 * The file starts with `table inet portcensus` + `delete table inet
 * portcensus`: the first line creates the table when it does not exist yet,
 * so the delete always succeeds, and the table is then declared whole. nft
 * applies a file atomically, so re-running replaces the old table in one
 * step: there is no moment with half the rules, or none.
 *
 * Inside: one named interval set per segment and family (sets are what nft
 * matches fastest, and a person reads `@seg_app_v4` better than a list); an
 * input chain with policy accept that lets established traffic and loopback
 * through untouched, accepts each restricted port from its sources and drops
 * the rest, and drops every undocumented port in one set per protocol. Ports
 * the plan leaves open get only a comment. Output depends only on the policy
 * and the listeners (both sorted), never on time or order of discovery, so
 * the same input gives the same bytes.
 */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* nft identifiers: letters, digits and '_'. */
static void clean_name(const char *name, char *out, size_t len)
{
	size_t k = 0;
	for (const char *s = name; *s && k + 1 < len; s++) {
		char c = *s;
		bool ok =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		out[k++] = ok ? c : '_';
	}
	out[k] = '\0';
}

static void set_base(const struct pc_policy *p, size_t i, char *out, size_t len)
{
	char clean[40], other[40];
	clean_name(p->segments[i].name, clean, sizeof(clean));
	/* two names that clean to the same identifier get their index */
	bool clash = false;
	for (size_t j = 0; j < p->n_segments && !clash; j++) {
		if (j == i)
			continue;
		clean_name(p->segments[j].name, other, sizeof(other));
		clash = strcmp(other, clean) == 0;
	}
	if (clash)
		snprintf(out, len, "seg_%s_%zu", clean, i);
	else
		snprintf(out, len, "seg_%s", clean);
}

static bool seg_has(const struct pc_policy_segment *s, int family)
{
	for (size_t i = 0; i < s->n_cidrs; i++)
		if (s->cidrs[i].addr.family == family)
			return true;
	return false;
}

static void put_cidrs(FILE *f, const struct pc_policy_cidr *const *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char b[PC_ADDR_STRLEN + 8];
		pc_policy_cidr_format(c[i], b, sizeof(b));
		fprintf(f, "%s%s", i ? ", " : "", b);
	}
}

static int write_sets(FILE *f, const struct pc_policy *p)
{
	for (size_t i = 0; i < p->n_segments; i++) {
		const struct pc_policy_segment *s = &p->segments[i];
		char base[80];
		set_base(p, i, base, sizeof(base));
		const struct pc_policy_cidr **in = malloc((s->n_cidrs + 1) * sizeof(*in));
		const struct pc_policy_cidr **out = malloc((s->n_cidrs + 1) * sizeof(*out));
		if (!in || !out) {
			free(in);
			free(out);
			return PC_ENOMEM;
		}
		for (size_t k = 0; k < s->n_cidrs; k++)
			in[k] = &s->cidrs[k];
		fprintf(f, "\t# segment %s\n", s->name);
		for (int fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			size_t n = pc_policy_cidrs_reduce(in, s->n_cidrs, family, out);
			fprintf(f, "\tset %s_%s {\n\t\ttype %s\n\t\tflags interval\n", base,
			        fam ? "v6" : "v4", fam ? "ipv6_addr" : "ipv4_addr");
			if (n) {
				fputs("\t\telements = { ", f);
				put_cidrs(f, out, n);
				fputs(" }\n", f);
			}
			fputs("\t}\n", f);
		}
		free(in);
		free(out);
	}
	return 0;
}

static const char *proto_kw(enum pc_proto p)
{
	return p == PC_PROTO_UDP ? "udp" : "tcp";
}

static int write_restrict(FILE *f, const struct pc_policy *p, const struct pc_policy_plan_entry *e)
{
	const char *kw = proto_kw(e->proto);
	for (size_t s = 0; e->segments && s < p->n_segments; s++) {
		if (!e->segments[s])
			continue;
		char base[80];
		set_base(p, s, base, sizeof(base));
		if (seg_has(&p->segments[s], AF_INET))
			fprintf(f, "\t\t%s dport %u ip saddr @%s_v4 accept\n", kw, e->port, base);
		if (seg_has(&p->segments[s], AF_INET6))
			fprintf(f, "\t\t%s dport %u ip6 saddr @%s_v6 accept\n", kw, e->port, base);
	}
	if (e->n_cidrs) {
		const struct pc_policy_cidr **out = malloc(e->n_cidrs * sizeof(*out));
		if (!out)
			return PC_ENOMEM;
		for (int fam = 0; fam < 2; fam++) {
			size_t n = pc_policy_cidrs_reduce(e->cidrs, e->n_cidrs,
			                                  fam ? AF_INET6 : AF_INET, out);
			if (!n)
				continue;
			fprintf(f, "\t\t%s dport %u %s saddr { ", kw, e->port, fam ? "ip6" : "ip");
			put_cidrs(f, out, n);
			fputs(" } accept\n", f);
		}
		free(out);
	}
	fprintf(f, "\t\t%s dport %u drop\n", kw, e->port);
	return 0;
}

static int nft_write(FILE *f, const struct pc_policy *p, const struct pc_snapshot *snap,
                     const struct pc_policy_emit_opts *opts)
{
	struct pc_policy_plan plan;
	int r = pc_policy_plan_build(p, snap, &plan);
	if (r < 0)
		return r;
	fprintf(f,
	        "#!/usr/sbin/nft -f\n"
	        "# Written by `portcensus policy enforce --emit nft` from %s.\n"
	        "# Apply with `nft -f FILE`: one transaction, which replaces the table\n"
	        "# inet portcensus whole. Established traffic and loopback are untouched.\n"
	        "table inet portcensus\n"
	        "delete table inet portcensus\n"
	        "table inet portcensus {\n",
	        opts && opts->policy_file ? opts->policy_file : p->file);
	r = write_sets(f, p);
	if (r < 0)
		goto out;
	fputs("\tchain input {\n"
	      "\t\ttype filter hook input priority filter; policy accept;\n"
	      "\t\tct state established,related accept\n"
	      "\t\tiif \"lo\" accept\n",
	      f);
	size_t drops[2] = {0, 0};
	for (size_t i = 0; i < plan.n; i++) {
		const struct pc_policy_plan_entry *e = &plan.entries[i];
		const char *kw = proto_kw(e->proto);
		switch (e->action) {
		case PC_PLAN_OPEN:
			fprintf(f, "\t\t# %s/%u: %s%s%s, open to all\n", kw, e->port,
			        e->rule ? "rule '" : "out of scope or unlisted: ignore",
			        e->rule ? e->rule->name : "",
			        e->rule ? "' has no reachable_from" : "");
			break;
		case PC_PLAN_KEEP_SSH:
			fprintf(f, "\t\t# %s/%u: SSH, no rule names it: kept open\n", kw, e->port);
			break;
		case PC_PLAN_RESTRICT:
			fprintf(f, "\t\t# %s/%u: rule '%s'%s%s\n", kw, e->port, e->rule->name,
			        e->rule->owner ? ", owner " : "",
			        e->rule->owner ? e->rule->owner : "");
			r = write_restrict(f, p, e);
			if (r < 0)
				goto out;
			break;
		case PC_PLAN_DROP:
			drops[e->proto == PC_PROTO_UDP]++;
			break;
		}
	}
	for (int proto = 0; proto < 2; proto++) {
		if (!drops[proto])
			continue;
		fprintf(f, "\t\t# undocumented (or reachable_from: []): dropped\n\t\t%s dport { ",
		        proto ? "udp" : "tcp");
		size_t k = 0;
		for (size_t i = 0; i < plan.n; i++) {
			const struct pc_policy_plan_entry *e = &plan.entries[i];
			if (e->action != PC_PLAN_DROP || (int)e->proto != proto)
				continue;
			fprintf(f, "%s%u", k++ ? ", " : "", e->port);
		}
		fputs(" } drop\n", f);
	}
	fputs("\t}\n}\n", f);
out:
	pc_policy_plan_free(&plan);
	return r;
}

const struct pc_policy_emitter pc_policy_emit_nft = {
    .name = "nft",
    .description = "nftables file for nft -f (table inet portcensus)",
    .write = nft_write,
};
