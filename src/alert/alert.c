/*
 * alert.c - what every sink shares: the alert's JSON shape, the defaults of
 * the configuration and the per-endpoint rate limit.
 *
 * The JSON is built into a capped pc_buf rather than through the streaming
 * writer of core/json.c because a sink needs the whole body in memory (to
 * sign it, to hand it to curl, to write it to a pipe) before it goes out.
 */
#include "alert/alert.h"
#include "core/json.h"
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>

#include <errno.h>
#include <string.h>
#include <time.h>

const char *pc_alert_kind_name(enum pc_alert_kind k)
{
	switch (k) {
	case PC_ALERT_DRIFT:
		return "drift";
	case PC_ALERT_NEW_FINDING:
		return "new_finding";
	case PC_ALERT_NEW_LISTENER:
		return "new_listener";
	}
	return "unknown";
}

static int add_string_member(struct pc_buf *out, const char *key, const char *val)
{
	int rc = pc_buf_printf(out, "\"%s\":", key);
	if (rc)
		return rc;
	if (!val)
		return pc_buf_addstr(out, "null");
	return pc_json_escape(out, val, strlen(val));
}

int pc_alert_to_json(const struct pc_alert *a, struct pc_buf *out)
{
	char when[40];
	int rc = pc_buf_addch(out, '{');
	if (!rc)
		rc = add_string_member(out, "portcensus", PC_VERSION);
	if (!rc)
		rc = pc_buf_addch(out, ',');
	if (!rc)
		rc = add_string_member(out, "kind", pc_alert_kind_name(a->kind));
	if (!rc)
		rc = pc_buf_addch(out, ',');
	if (!rc)
		rc = add_string_member(out, "severity", pc_severity_name(a->severity));
	if (!rc)
		rc = pc_buf_addch(out, ',');
	if (!rc)
		rc = add_string_member(out, "host", a->host);
	if (!rc)
		rc = pc_buf_addch(out, ',');
	if (!rc)
		rc = add_string_member(out, "time", pc_format_time(a->time_ms, when, sizeof(when)));
	if (!rc)
		rc = pc_buf_addch(out, ',');
	if (!rc)
		rc = add_string_member(out, "text", a->text ? a->text : "");
	if (!rc)
		rc = pc_buf_addstr(out, ",\"change\":");
	if (!rc)
		rc = pc_buf_addstr(out, a->change_json ? a->change_json : "null");
	if (!rc)
		rc = pc_buf_addch(out, '}');
	return rc;
}

void pc_alert_config_default(struct pc_alert_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->retries = -1;
}

void pc_alert_rate_init(struct pc_alert_rate *r, double interval_ms)
{
	r->interval_ms = interval_ms > 0 ? interval_ms : 0;
	r->last_ms = -1;
}

double pc_alert_rate_delay(const struct pc_alert_rate *r, double now_ms)
{
	if (r->last_ms < 0)
		return 0;
	double next = r->last_ms + r->interval_ms;
	return next > now_ms ? next - now_ms : 0;
}

void pc_alert_rate_mark(struct pc_alert_rate *r, double now_ms)
{
	r->last_ms = now_ms;
}

static void sleep_ms(double ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void pc_alert_rate_wait(struct pc_alert_rate *r)
{
	/* Re-read the clock after sleeping: nanosleep may return early on a
	 * signal we did not ask about, and the limit is a promise. */
	for (;;) {
		double d = pc_alert_rate_delay(r, pc_monotonic_ms());
		if (d <= 0)
			break;
		sleep_ms(d);
	}
	pc_alert_rate_mark(r, pc_monotonic_ms());
}

int pc_alert_from_listener(const struct pc_snapshot *snap, const struct pc_endpoint *ep,
			   enum pc_severity severity, struct pc_buf *text, struct pc_buf *json,
			   struct pc_alert *ret)
{
	char hp[PC_ADDR_STRLEN + 16], owner[128], ns[64];
	if (ep->netns.name)
		pc_text_sanitize(ep->netns.name, ns, sizeof(ns));
	else
		snprintf(ns, sizeof(ns), "%llu", (unsigned long long)ep->netns.inode);
	int rc = pc_buf_printf(text, "new listener %s %s in netns %s, owner %s",
			       pc_proto_name(ep->proto),
			       pc_report_hostport(&ep->addr, ep->port, hp, sizeof(hp)), ns,
			       pc_report_owner_short(ep, owner, sizeof(owner)));
	if (rc)
		return rc;
	/* the endpoint object of docs/formats.md, through the one writer */
	char *mem = NULL;
	size_t mem_len = 0;
	FILE *f = open_memstream(&mem, &mem_len);
	if (!f)
		return PC_ENOMEM;
	struct pc_json j;
	pc_json_init(&j, f, false);
	pc_report_json_endpoint(&j, ep);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(mem);
		return PC_ENOMEM;
	}
	rc = pc_buf_add(json, mem, mem_len);
	free(mem);
	if (rc)
		return rc;
	*ret = (struct pc_alert){
		.kind = PC_ALERT_NEW_LISTENER,
		.severity = severity,
		.host = snap->host,
		.time_ms = snap->finished_at_ms > 0 ? snap->finished_at_ms : pc_now_ms(),
		.text = text->data,
		.change_json = json->data,
	};
	return 0;
}
