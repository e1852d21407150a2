/*
 * alert.h - what an alert is, and the sinks that deliver one.
 *
 * `watch` (and the fast host watch between its audits) turns drift, new
 * findings and new listeners into alerts and hands each one to every sink
 * the user configured. A sink is one file under src/alert/ exporting one
 * `const struct pc_alert_ops`, listed in src/alert/registry.c.
 *
 * What is trusted: the alert is built by portcensus itself; its text and
 * host may still carry bytes from a process name or a peer, so every sink
 * escapes them for its medium (JSON escaping, RFC 5424 SD escaping plus the
 * terminal sanitizer for the free-text part). change_json is a JSON value
 * that our own writer produced and is inserted as it is.
 *
 * What is bounded: each sink says so in its own file (an exec child's
 * output, a webhook's reply, the number of retries and their time).
 *
 * Secrets (a webhook's signing key) are read by the sink, kept in its state
 * only, wiped on close, and never copied into an error message.
 */
#ifndef PC_ALERT_ALERT_H
#define PC_ALERT_ALERT_H

#include "core/buf.h"
#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pc_alert_kind {
	PC_ALERT_DRIFT = 0,       /* a change between two audits (ledger diff) */
	PC_ALERT_NEW_FINDING,     /* a finding at or above --alert-on */
	PC_ALERT_NEW_LISTENER,    /* the fast host watch saw a new listening socket */
};

struct pc_alert {
	enum pc_alert_kind kind;
	enum pc_severity severity;
	const char *host;        /* the audited host, or NULL */
	int64_t time_ms;         /* when it was noticed (Unix epoch ms) */
	const char *text;        /* one line for a person */
	const char *change_json; /* the change as a JSON value, or NULL */
};

/* "drift", "new_finding", "new_listener". */
const char *pc_alert_kind_name(enum pc_alert_kind k);

/*
 * The generic JSON object of an alert, appended to out (no newline):
 * {"portcensus":VERSION,"kind":..,"severity":..,"host":..,"time":ISO,
 *  "text":..,"change":change_json|null}. Shared by the jsonl, webhook and
 * exec sinks, so a receiver sees one shape whatever carried it.
 * 0, PC_ENOMEM or PC_ETOOBIG.
 */
int pc_alert_to_json(const struct pc_alert *a, struct pc_buf *out);

/*
 * A new_listener alert for one endpoint of the fast host watch: text like
 * "new listener tcp 0.0.0.0:6379 in netns lab-b, owner 1234/redis-server"
 * (into text) and the endpoint object of the JSON contract (into json),
 * both capped. ret points into text and json; host is snap->host.
 * 0, PC_ENOMEM or PC_ETOOBIG.
 */
int pc_alert_from_listener(const struct pc_snapshot *snap, const struct pc_endpoint *ep,
			   enum pc_severity severity, struct pc_buf *text, struct pc_buf *json,
			   struct pc_alert *ret);

/* What a sink needs; each sink reads only its own fields. */
struct pc_alert_config {
	/* jsonl: a file path, NULL or "-" for stdout. syslog: the socket,
	 * NULL for /dev/log. webhook: the URL. exec: unused (argv). */
	const char *target;
	const char *const *argv;  /* exec: NULL-terminated, argv[0] an absolute path */
	bool slack;               /* webhook: {"text": ...} instead of the generic JSON */
	const char *secret_file;  /* webhook: a file holding whsec_<base64>, or NULL */
	const char *secret_env;   /* webhook: an environment variable holding it, or NULL */
	int timeout_ms;           /* webhook: per attempt; exec: the whole run (0: default) */
	int retries;              /* webhook: retries after the first attempt (-1: default) */
	int backoff_ms;           /* webhook: first backoff, doubled each retry (0: default) */
	int min_interval_ms;      /* webhook: at least this between two requests (0: 1000) */
	size_t output_cap;        /* exec: bytes of the child's output kept (0: default) */
	const char *app_name;     /* syslog: APP-NAME (NULL: "portcensus") */
};

void pc_alert_config_default(struct pc_alert_config *cfg);

/*
 * One sink. Callbacks never print; they return 0 or a negative PC_E* /
 * -errno code and fill err with a message that never contains a secret.
 */
struct pc_alert_ops {
	const char *name;        /* "jsonl", "syslog", "webhook", "exec" */
	const char *description;
	/*
	 * Check cfg and set up what every send needs (open the file, connect
	 * the socket, read and decode the secret). On success *ret_state is
	 * the sink's private state; on failure nothing is left open and
	 * *ret_state is untouched. Configuration errors are PC_EINVAL.
	 */
	int (*open)(void **ret_state, const struct pc_alert_config *cfg, struct pc_error *err);
	/*
	 * Deliver one alert. Blocks until it is delivered or given up on
	 * (bounded by the sink's timeouts and retries); a failure is the last
	 * attempt's error. The state stays usable after a failure.
	 */
	int (*send)(void *state, const struct pc_alert *a, struct pc_error *err);
	/* Release the state (wiping any secret). Accepts NULL. */
	void (*close)(void *state);
};

/* Registry in display order, NULL-terminated (registry.c). */
extern const struct pc_alert_ops *const pc_alert_registry[];
/* NULL when no sink has that name. */
const struct pc_alert_ops *pc_alert_find(const char *name);

extern const struct pc_alert_ops pc_alert_jsonl;
extern const struct pc_alert_ops pc_alert_syslog;
extern const struct pc_alert_ops pc_alert_webhook;
extern const struct pc_alert_ops pc_alert_exec;

/*
 * The sinks of one run (what `watch` holds): every alert goes to each of
 * them in the order they were added; one sink's failure does not keep the
 * alert from the others.
 */
struct pc_alert_sinks;

/* Open the sink called name with cfg and append it to *set (created on
 * first use). PC_EINVAL for an unknown name; else the sink's open error. */
int pc_alert_sinks_add(struct pc_alert_sinks **set, const char *name,
		       const struct pc_alert_config *cfg, struct pc_error *err);
/* Send a to every sink. 0 when all delivered it; else the first failure's
 * code, with err naming that sink (the others were still tried). */
int pc_alert_sinks_send(struct pc_alert_sinks *set, const struct pc_alert *a,
			struct pc_error *err);
size_t pc_alert_sinks_count(const struct pc_alert_sinks *set);
/* Close every sink. Accepts NULL. */
void pc_alert_sinks_free(struct pc_alert_sinks *set);

/*
 * At most one message per interval per endpoint: a token of one. The
 * clock is passed in (monotonic ms) so the tests need not sleep.
 */
struct pc_alert_rate {
	double interval_ms;
	double last_ms; /* < 0: nothing sent yet */
};

void pc_alert_rate_init(struct pc_alert_rate *r, double interval_ms);
/* How long to wait before the next message may go at now_ms (0: now). */
double pc_alert_rate_delay(const struct pc_alert_rate *r, double now_ms);
/* Record that a message went at now_ms. */
void pc_alert_rate_mark(struct pc_alert_rate *r, double now_ms);
/* Sleep until the next message may go, then mark it. */
void pc_alert_rate_wait(struct pc_alert_rate *r);

/*
 * Standard Webhooks signing: "v1," + base64(HMAC-SHA256(key, "ID.TS.BODY"))
 * into out (NUL-terminated). key is the secret decoded from base64 after its
 * "whsec_" prefix (pc_alert_webhook_secret_decode). 0 or PC_ETOOBIG.
 */
int pc_alert_webhook_sign(const unsigned char *key, size_t key_len, const char *id, int64_t ts,
			  const char *body, size_t body_len, char *out, size_t outlen);
/* Decode "whsec_<base64>" into key (at most *key_len bytes; *key_len is set
 * to the length). 0, or PC_EINVAL when the prefix or the base64 is wrong. */
int pc_alert_webhook_secret_decode(const char *secret, unsigned char *key, size_t *key_len);

/* A reply header line from the webhook's server (hostile bytes, n of
 * them, not NUL-terminated): when it is "Retry-After: SECONDS" (any case,
 * optional spaces), true and *ret_s set (capped at 86400; an HTTP-date is
 * not understood and gives false). */
bool pc_alert_webhook_retry_after(const char *line, size_t n, long *ret_s);

#endif
