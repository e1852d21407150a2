/*
 * report.c - the format registry and the helpers several writers share.
 */
#include "report/report.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

const struct pc_report_ops *const pc_report_registry[] = {
	&pc_report_table,
	&pc_report_json,
	&pc_report_jsonl,
	&pc_report_csv,
	&pc_report_nmap_xml,
	&pc_report_dot,
	&pc_report_md,
	&pc_report_html,
	&pc_report_prom,
	NULL,
};

const struct pc_report_ops *pc_report_find(const char *name)
{
	for (size_t i = 0; pc_report_registry[i]; i++)
		if (strcmp(pc_report_registry[i]->name, name) == 0)
			return pc_report_registry[i];
	return NULL;
}

const char *pc_report_hostport(const struct pc_addr *a, uint16_t port, char *buf, size_t len)
{
	char ab[PC_ADDR_STRLEN];
	pc_addr_format(a, ab, sizeof(ab));
	if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ab, (unsigned)port);
	else
		snprintf(buf, len, "%s:%u", ab, (unsigned)port);
	return buf;
}

const char *pc_report_owner_short(const struct pc_endpoint *ep, char *buf, size_t len)
{
	if (ep->n_owners == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	const struct pc_owner *o = &ep->owners[0];
	char comm[64];
	pc_text_sanitize(o->comm ? o->comm : "?", comm, sizeof(comm));
	if (ep->n_owners > 1)
		snprintf(buf, len, "%d/%s (+%zu)", o->pid, comm, ep->n_owners - 1);
	else
		snprintf(buf, len, "%d/%s", o->pid, comm);
	return buf;
}
