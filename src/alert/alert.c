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
