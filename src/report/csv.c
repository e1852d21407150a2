/*
 * csv.c - the "csv" format (RFC 4180): a header line, then one row per
 * endpoint with the owner fields of its first owner. Fields are quoted when
 * needed; every field goes through the terminal sanitizer (core/text.h) so
 * that a hostile comm cannot break a row, and a field that a spreadsheet
 * would evaluate as a formula is quoted and prefixed with ' (OWASP's CSV
 * injection advice).
 */
#include "report/report.h"

#include <string.h>

void pc_report_csv_field(FILE *f, const char *s, bool last)
{
	char clean[1024];
	if (s) {
		pc_text_sanitize(s, clean, sizeof(clean));
		bool quote = strpbrk(clean, ",\"") != NULL || clean[0] == ' ';
		/* a leading = + - @ makes spreadsheets evaluate the cell (tab and
		 * CR too, which the sanitizer has already replaced: kept here so
		 * the rule does not depend on it) */
		bool formula = clean[0] && strchr("=+-@\t\r", clean[0]);
		if (quote || formula) {
			fputc('"', f);
			if (formula)
				fputc('\'', f);
			for (const char *p = clean; *p; p++) {
				if (*p == '"')
					fputc('"', f);
				fputc(*p, f);
			}
			fputc('"', f);
		} else {
			fputs(clean, f);
		}
	}
	fputc(last ? '\n' : ',', f);
}

static void field(FILE *f, const char *s, bool last)
{
	pc_report_csv_field(f, s, last);
}

static int write_csv(FILE *f, const struct pc_snapshot *snap, const struct pc_report_opts *opts,
		     bool streamed)
{
	(void)streamed;
	/* verify adds its verdict columns at the end, so other commands'
	 * columns keep their positions */
	bool verify = opts && opts->view == PC_VIEW_VERIFY;
	fputs("source,proto,address,port,state,bind,netns_inode,netns_name,pid,comm,user,unit,"
	      "container_id,peer_address,peer_port,reachable,rtt_ms,service,product,version,auth,"
	      "tls,severity,risk_score,risk_category,risk_reasons,container_name,container_image,forward",
	      f);
	fputs(verify ? ",recheck,claimed_service,recheck_reason\n" : "\n", f);
	for (size_t i = 0; i < snap->n_endpoints; i++) {
		const struct pc_endpoint *e = &snap->endpoints[i];
		const struct pc_owner *o = e->n_owners ? &e->owners[0] : NULL;
		const struct pc_service *s = e->service;
		char a[PC_ADDR_STRLEN], pa[PC_ADDR_STRLEN], num[32], ino[32], pid[16], pp[8],
			rtt[32];
		snprintf(num, sizeof(num), "%u", (unsigned)e->port);
		snprintf(ino, sizeof(ino), "%llu", (unsigned long long)e->netns.inode);
		snprintf(pid, sizeof(pid), "%d", o ? o->pid : 0);
		snprintf(pp, sizeof(pp), "%u", (unsigned)e->peer_port);
		double r = e->verified.done ? e->verified.rtt_ms : e->rtt_ms;
		snprintf(rtt, sizeof(rtt), "%.3f", r);
		field(f, pc_source_name(e->source), false);
		field(f, pc_proto_name(e->proto), false);
		field(f, pc_addr_format(&e->addr, a, sizeof(a)), false);
		field(f, num, false);
		field(f, pc_state_name(e->state), false);
		field(f, pc_bind_name(e->bind), false);
		field(f, e->netns.inode ? ino : NULL, false);
		field(f, e->netns.name, false);
		field(f, o ? pid : NULL, false);
		field(f, o ? o->comm : NULL, false);
		field(f, o ? o->user : NULL, false);
		field(f, o ? o->unit : NULL, false);
		field(f, o ? o->container.id : NULL, false);
		field(f, e->has_peer ? pc_addr_format(&e->peer_addr, pa, sizeof(pa)) : NULL, false);
		field(f, e->has_peer ? pp : NULL, false);
		field(f, e->verified.done ? (e->verified.reachable ? "true" : "false") : NULL, false);
		field(f, r >= 0 ? rtt : NULL, false);
		field(f, s ? s->name : NULL, false);
		field(f, s ? s->product : NULL, false);
		field(f, s ? s->version : NULL, false);
		field(f, s ? pc_auth_name(s->auth) : NULL, false);
		field(f, s && s->tls != PC_TRI_UNKNOWN ? (s->tls ? "true" : "false") : NULL, false);
		const struct pc_risk *rk = e->risk;
		char score[16], reasons[1024] = "";
		snprintf(score, sizeof(score), "%.1f", rk ? rk->score : 0.0);
		/* one cell: the reasons joined; field() caps and sanitises it */
		for (size_t k = 0; rk && k < rk->n_reasons; k++) {
			size_t used = strlen(reasons);
			snprintf(reasons + used, sizeof(reasons) - used, "%s%s", k ? " | " : "",
				 rk->reasons[k]);
		}
		field(f, rk ? pc_severity_name(rk->severity) : NULL, false);
		field(f, rk ? score : NULL, false);
		field(f, rk ? rk->category : NULL, false);
		field(f, rk ? reasons : NULL, false);
		/* added after the columns before them, which keep their positions */
		field(f, o ? o->container.name : NULL, false);
		field(f, o ? o->container.image : NULL, false);
		char fw[256];
		pc_report_forward_brief(e, fw, sizeof(fw));
		field(f, e->forward ? fw : NULL, !verify);
		if (verify) {
			field(f, pc_recheck_name(e->recheck), false);
			field(f, e->claimed_service, false);
			field(f, e->recheck_reason, true);
		}
	}
	return 0;
}

const struct pc_report_ops pc_report_csv = {
	.name = "csv",
	.description = "comma-separated values, one row per endpoint",
	.write = write_csv,
};
