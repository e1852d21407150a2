/*
 * emit_iptables.c - `policy enforce --emit iptables|ip6tables`: the same
 * plan as emit_nft.c, in iptables-restore format, for hosts that still run
 * the legacy tools. One family per file, as iptables-restore and
 * ip6tables-restore each read only their own.
 *
 * Everything lives in one chain, PORTCENSUS, in the filter table. Applied
 * with `iptables-restore --noflush FILE`, the chain line flushes and refills
 * that chain inside one commit, so re-running replaces it atomically and
 * leaves every other rule of the host alone. The chain is hooked into INPUT
 * once by the operator (the header says how): an emitted `-I INPUT` would be
 * inserted again on every run. Allowed traffic RETURNs to INPUT (whose later
 * rules still apply); only what the policy closes is dropped here. iptables
 * has no named sets without ipset, so segments are written out as their
 * CIDRs.
 */
#include "policy/policy.h"

#include <stdlib.h>
#include <sys/socket.h>

static const char *proto_kw(enum pc_proto p)
{
	return p == PC_PROTO_UDP ? "udp" : "tcp";
}

/* Every source CIDR of the entry, of one family, reduced and sorted. */
static int entry_sources(const struct pc_policy *p, const struct pc_policy_plan_entry *e,
                         int family, const struct pc_policy_cidr ***ret, size_t *ret_n)
{
	size_t total = e->n_cidrs;
	for (size_t s = 0; e->segments && s < p->n_segments; s++)
		if (e->segments[s])
			total += p->segments[s].n_cidrs;
	const struct pc_policy_cidr **in = malloc((total + 1) * sizeof(*in));
	const struct pc_policy_cidr **out = malloc((total + 1) * sizeof(*out));
	if (!in || !out) {
		free(in);
		free(out);
		return PC_ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < e->n_cidrs; i++)
		in[k++] = e->cidrs[i];
	for (size_t s = 0; e->segments && s < p->n_segments; s++)
		if (e->segments[s])
			for (size_t i = 0; i < p->segments[s].n_cidrs; i++)
				in[k++] = &p->segments[s].cidrs[i];
	*ret_n = pc_policy_cidrs_reduce(in, k, family, out);
	free(in);
	*ret = out;
	return 0;
}

static int write_family(FILE *f, const struct pc_policy *p, const struct pc_snapshot *snap,
                        const struct pc_policy_emit_opts *opts, int family)
{
	struct pc_policy_plan plan;
	int r = pc_policy_plan_build(p, snap, &plan);
	if (r < 0)
		return r;
	const char *tool = family == AF_INET6 ? "ip6tables" : "iptables";
	fprintf(f,
	        "# Written by `portcensus policy enforce --emit %s` from %s.\n"
	        "# Apply with `%s-restore --noflush FILE` (one commit; replaces the\n"
	        "# PORTCENSUS chain, leaves every other rule alone), and hook the chain\n"
	        "# into INPUT once:\n"
	        "#   %s -C INPUT -j PORTCENSUS 2>/dev/null || %s -I INPUT -j PORTCENSUS\n"
	        "*filter\n"
	        ":PORTCENSUS - [0:0]\n"
	        "-A PORTCENSUS -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n"
	        "-A PORTCENSUS -i lo -j RETURN\n",
	        tool, opts && opts->policy_file ? opts->policy_file : p->file, tool, tool, tool);
	for (size_t i = 0; i < plan.n; i++) {
		const struct pc_policy_plan_entry *e = &plan.entries[i];
		const char *kw = proto_kw(e->proto);
		if (e->action == PC_PLAN_OPEN || e->action == PC_PLAN_KEEP_SSH)
			continue;
		if (e->action == PC_PLAN_RESTRICT) {
			const struct pc_policy_cidr **src;
			size_t n;
			r = entry_sources(p, e, family, &src, &n);
			if (r < 0)
				goto out;
			for (size_t k = 0; k < n; k++) {
				char b[PC_ADDR_STRLEN + 8];
				pc_policy_cidr_format(src[k], b, sizeof(b));
				fprintf(f, "-A PORTCENSUS -p %s --dport %u -s %s -j RETURN\n", kw,
				        e->port, b);
			}
			free(src);
		}
		fprintf(f, "-A PORTCENSUS -p %s --dport %u -j DROP\n", kw, e->port);
	}
	fputs("COMMIT\n", f);
out:
	pc_policy_plan_free(&plan);
	return r;
}

static int iptables_write(FILE *f, const struct pc_policy *p, const struct pc_snapshot *snap,
                          const struct pc_policy_emit_opts *opts)
{
	return write_family(f, p, snap, opts, AF_INET);
}

static int ip6tables_write(FILE *f, const struct pc_policy *p, const struct pc_snapshot *snap,
                           const struct pc_policy_emit_opts *opts)
{
	return write_family(f, p, snap, opts, AF_INET6);
}

const struct pc_policy_emitter pc_policy_emit_iptables = {
    .name = "iptables",
    .description = "iptables-restore --noflush file (IPv4, chain PORTCENSUS)",
    .write = iptables_write,
};

const struct pc_policy_emitter pc_policy_emit_ip6tables = {
    .name = "ip6tables",
    .description = "ip6tables-restore --noflush file (IPv6, chain PORTCENSUS)",
    .write = ip6tables_write,
};
