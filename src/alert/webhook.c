/*
 * webhook.c - alerts POSTed to an HTTP(S) endpoint with libcurl.
 *
 * Body: the generic JSON object of alert.h, or with `slack` the
 * Slack-compatible {"text": "..."} that Slack, Mattermost and Rocket.Chat
 * incoming webhooks accept.
 *
 * Signing (Standard Webhooks, when a secret is configured): headers
 * webhook-id (one id per alert, the same on every retry so a receiver can
 * de-duplicate), webhook-timestamp (Unix seconds of the attempt) and
 * webhook-signature "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
 * where key is the base64 after the secret's "whsec_" prefix. The secret
 * comes from a file or an environment variable, is decoded once at open,
 * lives only in this sink's state, is wiped on close and never appears in a
 * message: errors name a file or a variable, never its content. Even the
 * URL is shown as scheme://host:port only, because a Slack-style URL is a
 * credential in its own right.
 *
 * Bounded and polite: http and https only, also for redirects
 * (CURLOPT_PROTOCOLS_STR, CURLOPT_REDIR_PROTOCOLS_STR; a redirect to file:
 * or anything else fails and is not retried), at most 3 redirects; a
 * per-attempt timeout, a connect timeout and a stall detector
 * (CURLOPT_LOW_SPEED_*: under 1 byte/s for half the timeout); the reply
 * body is read and dropped past 64 KiB. 408, 429, 5xx, timeouts, stalls
 * and connection failures are retried (3 times by default) after a backoff
 * that doubles from 1 s (a 429's Retry-After in seconds is honoured up to
 * 60 s); other 4xx are final. At most one request per second per endpoint
 * (each sink is one endpoint), retries included.
 */
#include "alert/alert.h"
#include "core/json.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define KEY_MAX 256
#define SECRET_FILE_CAP 4096
#define BODY_CAP (256 * 1024)
#define REPLY_CAP (64 * 1024)
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 3
#define DEFAULT_BACKOFF_MS 1000
#define BACKOFF_CAP_MS 60000
#define RATE_MS 1000

struct webhook_state {
	CURL *curl;
	char *url;
	char shown[300]; /* scheme://host:port, for messages */
	bool slack;
	bool signed_;
	unsigned char key[KEY_MAX];
	size_t key_len;
	int timeout_ms, retries, backoff_ms;
	struct pc_alert_rate rate;
	/* per attempt */
	size_t reply_len;
	long retry_after_s;
};

/*
 * libcurl is loaded with dlopen() when a webhook sink is opened, not linked:
 * linked, it and the libraries it pulls in (GnuTLS, Kerberos, LDAP, SSH,
 * ...) add about 4.4 MiB to the resident size of every portcensus run, scans
 * included, for a sink that only `watch` uses. The headers still give the
 * types, and __typeof__ keeps each pointer's type that of the real function.
 */
#define CURL_FN(name) __typeof__(&curl_##name) name
static struct {
	CURL_FN(global_init);
	CURL_FN(easy_init);
	CURL_FN(easy_cleanup);
	CURL_FN(easy_reset);
	CURL_FN(easy_setopt);
	CURL_FN(easy_perform);
	CURL_FN(easy_getinfo);
	CURL_FN(easy_strerror);
	CURL_FN(slist_append);
	CURL_FN(slist_free_all);
	CURL_FN(url);
	CURL_FN(url_set);
	CURL_FN(url_get);
	CURL_FN(url_cleanup);
	CURL_FN(free);
} api;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_init(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
#define LOAD(name)                                                      \
	do {                                                            \
		*(void **)&api.name = dlsym(h, "curl_" #name);          \
		if (!api.name)                                          \
			return;                                         \
	} while (0)
	LOAD(global_init);
	LOAD(easy_init);
	LOAD(easy_cleanup);
	LOAD(easy_reset);
	LOAD(easy_setopt);
	LOAD(easy_perform);
	LOAD(easy_getinfo);
	LOAD(easy_strerror);
	LOAD(slist_append);
	LOAD(slist_free_all);
	LOAD(url);
	LOAD(url_set);
	LOAD(url_get);
	LOAD(url_cleanup);
	LOAD(free);
#undef LOAD
	/* the handle stays open for the life of the process, on purpose */
	curl_ready = api.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int pc_alert_webhook_secret_decode(const char *secret, unsigned char *key, size_t *key_len)
{
	static const char prefix[] = "whsec_";
	if (strncmp(secret, prefix, sizeof(prefix) - 1) != 0)
		return PC_EINVAL;
	const char *b64 = secret + sizeof(prefix) - 1;
	size_t n = strlen(b64);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > KEY_MAX || n / 4 * 3 > *key_len)
		return PC_EINVAL;
	unsigned char tmp[KEY_MAX];
	int out = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)n);
	if (out < 0) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return PC_EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	size_t pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
	size_t len = (size_t)out - pad;
	memcpy(key, tmp, len);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	*key_len = len;
	return len > 0 ? 0 : PC_EINVAL;
}

int pc_alert_webhook_sign(const unsigned char *key, size_t key_len, const char *id, int64_t ts,
			  const char *body, size_t body_len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char prefix[160];
	int pl = snprintf(prefix, sizeof(prefix), "%s.%lld.", id, (long long)ts);
	if (pl < 0 || (size_t)pl >= sizeof(prefix))
		return PC_ETOOBIG;
	/* HMAC over prefix and body without copying the body */
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t got = 0;
	int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) &&
		 EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)pl) &&
		 EVP_MAC_update(ctx, (const unsigned char *)body, body_len) &&
		 EVP_MAC_final(ctx, mac, &got, sizeof(mac));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	if (!ok)
		return PC_ENOMEM;
	mac_len = (unsigned int)got;
	/* "v1," + base64 of 32 bytes (44 chars) + NUL */
	if (outlen < 3 + 4 * ((mac_len + 2) / 3) + 1)
		return PC_ETOOBIG;
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* scheme://host[:port] of url, for messages (no user, path or query). */
static int url_parts(const char *url, char *shown, size_t shown_len, bool *ret_http)
{
	CURLU *u = api.url();
	if (!u)
		return PC_ENOMEM;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = PC_EINVAL;
	/* CURLU_NON_SUPPORT_SCHEME: parse any scheme, so that file: gets our
	 * "only http and https" rather than "not a URL" */
	if (api.url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    api.url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
		api.url_get(u, CURLUPART_HOST, &host, 0);
		api.url_get(u, CURLUPART_PORT, &port, 0);
		snprintf(shown, shown_len, "%s://%s%s%s", scheme, host ? host : "", port ? ":" : "",
			 port ? port : "");
		*ret_http = strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0;
		rc = 0;
	}
	api.free(scheme);
	api.free(host);
	api.free(port);
	api.url_cleanup(u);
	return rc;
}

static void webhook_close(void *state)
{
	struct webhook_state *s = state;
	if (!s)
		return;
	if (s->curl)
		api.easy_cleanup(s->curl);
	free(s->url);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

/* Read the secret named by cfg into s->key. */
static int load_secret(struct webhook_state *s, const struct pc_alert_config *cfg,
		       struct pc_error *err)
{
	const char *from;
	struct pc_buf b;
	pc_buf_init(&b, SECRET_FILE_CAP);
	int rc;
	if (cfg->secret_file) {
		from = cfg->secret_file;
		rc = pc_buf_read_file(&b, cfg->secret_file);
		if (rc) {
			pc_buf_free(&b);
			return pc_error_set(err, rc == PC_ETOOBIG ? PC_EINVAL : rc,
					    "cannot read webhook secret file %s: %s", from,
					    pc_strerror(rc));
		}
	} else {
		from = cfg->secret_env;
		const char *v = getenv(cfg->secret_env);
		if (!v || !*v)
			return pc_error_set(err, PC_EINVAL,
					    "environment variable %s (webhook secret) is not set", from);
		rc = pc_buf_addstr(&b, v);
		if (rc) {
			pc_buf_free(&b);
			return pc_error_set(err, PC_EINVAL, "webhook secret in %s is too long", from);
		}
	}
	/* a file usually ends with a newline */
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' ||
			     b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	s->key_len = sizeof(s->key);
	rc = b.data ? pc_alert_webhook_secret_decode(b.data, s->key, &s->key_len) : PC_EINVAL;
	if (b.data)
		OPENSSL_cleanse(b.data, b.alloc);
	pc_buf_free(&b);
	if (rc)
		return pc_error_set(err, PC_EINVAL,
				    "webhook secret in %s is not whsec_ followed by base64", from);
	s->signed_ = true;
	return 0;
}

static int webhook_open(void **ret_state, const struct pc_alert_config *cfg, struct pc_error *err)
{
	if (!cfg->target)
		return pc_error_set(err, PC_EINVAL, "webhook sink needs a URL");
	pthread_once(&curl_once, curl_init);
	if (!curl_ready)
		return pc_error_set(err, PC_ENOTSUP,
				    "webhook sink needs libcurl: cannot load libcurl.so.4 (Debian: libcurl4)");
	struct webhook_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	bool http = false;
	int rc = url_parts(cfg->target, s->shown, sizeof(s->shown), &http);
	if (rc) {
		webhook_close(s);
		return pc_error_set(err, PC_EINVAL, "webhook URL is not a valid URL");
	}
	if (!http) {
		char shown[sizeof(s->shown)];
		memcpy(shown, s->shown, sizeof(shown));
		webhook_close(s);
		return pc_error_set(err, PC_EINVAL, "webhook URL %s: only http and https are allowed",
				    shown);
	}
	s->url = strdup(cfg->target);
	s->curl = api.easy_init();
	if (!s->url || !s->curl) {
		webhook_close(s);
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	}
	s->slack = cfg->slack;
	s->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	s->retries = cfg->retries >= 0 ? cfg->retries : DEFAULT_RETRIES;
	s->backoff_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : DEFAULT_BACKOFF_MS;
	pc_alert_rate_init(&s->rate, cfg->min_interval_ms > 0 ? cfg->min_interval_ms : RATE_MS);
	if (cfg->secret_file || cfg->secret_env) {
		rc = load_secret(s, cfg, err);
		if (rc) {
			webhook_close(s);
			return rc;
		}
	}
	*ret_state = s;
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	(void)data;
	struct webhook_state *s = ctx;
	size_t n = size * nmemb;
	s->reply_len += n;
	return s->reply_len > REPLY_CAP ? 0 : n; /* 0 aborts the transfer */
}

bool pc_alert_webhook_retry_after(const char *line, size_t n, long *ret_s)
{
	static const char name[] = "retry-after:";
	if (n < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1) != 0)
		return false;
	size_t i = sizeof(name) - 1;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	long v = 0;
	size_t digits = 0;
	for (; i < n && line[i] >= '0' && line[i] <= '9'; i++, digits++)
		if (v < 86400)
			v = v * 10 + (line[i] - '0');
	if (digits == 0)
		return false;
	/* what may follow the number: spaces and the line's end */
	for (; i < n; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
			return false;
	*ret_s = v > 86400 ? 86400 : v;
	return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct webhook_state *s = ctx;
	size_t n = size * nmemb;
	long v;
	if (pc_alert_webhook_retry_after(data, n, &v))
		s->retry_after_s = v;
	return n;
}

static int build_body(const struct webhook_state *s, const struct pc_alert *a, struct pc_buf *b)
{
	if (!s->slack)
		return pc_alert_to_json(a, b);
	char line[2048];
	snprintf(line, sizeof(line), "[portcensus] %s%s%s: %s", a->host ? a->host : "",
		 a->host ? " " : "", pc_severity_name(a->severity), a->text ? a->text : "");
	int rc = pc_buf_addstr(b, "{\"text\":");
	if (!rc)
		rc = pc_json_escape(b, line, strlen(line));
	if (!rc)
		rc = pc_buf_addch(b, '}');
	return rc;
}

enum attempt_result { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FINAL };

static enum attempt_result attempt(struct webhook_state *s, const char *id, const struct pc_buf *body,
				   struct pc_error *err)
{
	CURL *c = s->curl;
	struct curl_slist *h = NULL, *t;
	char line[256];
	int64_t ts = (int64_t)time(NULL);
	h = api.slist_append(h, "Content-Type: application/json");
	if (s->signed_) {
		char sig[128];
		if (pc_alert_webhook_sign(s->key, s->key_len, id, ts, body->data, body->len, sig,
					  sizeof(sig)) != 0) {
			api.slist_free_all(h);
			pc_error_set(err, PC_ENOMEM, "cannot sign webhook body");
			return ATTEMPT_FINAL;
		}
		snprintf(line, sizeof(line), "webhook-id: %s", id);
		h = (t = api.slist_append(h, line)) ? t : h;
		snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts);
		h = (t = api.slist_append(h, line)) ? t : h;
		snprintf(line, sizeof(line), "webhook-signature: %s", sig);
		h = (t = api.slist_append(h, line)) ? t : h;
	}
	api.easy_reset(c);
	api.easy_setopt(c, CURLOPT_URL, s->url);
	api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	api.easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	/* keep it a POST after a 301/302/303 */
	api.easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
	api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	api.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
	api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->timeout_ms < 5000 ? s->timeout_ms : 5000));
	api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)(s->timeout_ms / 2000 > 0 ? s->timeout_ms / 2000 : 1));
	api.easy_setopt(c, CURLOPT_USERAGENT, "portcensus/" PC_VERSION);
	api.easy_setopt(c, CURLOPT_HTTPHEADER, h);
	api.easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
	api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	api.easy_setopt(c, CURLOPT_WRITEDATA, s);
	api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	api.easy_setopt(c, CURLOPT_HEADERDATA, s);
	s->reply_len = 0;
	s->retry_after_s = 0;

	CURLcode cc = api.easy_perform(c);
	api.slist_free_all(h);
	long status = 0;
	api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		pc_error_set(err, PC_EPERM,
			     "webhook %s: refused to follow a redirect outside http and https",
			     s->shown);
		return ATTEMPT_FINAL;
	case CURLE_TOO_MANY_REDIRECTS:
		pc_error_set(err, PC_EIO, "webhook %s: too many redirects", s->shown);
		return ATTEMPT_FINAL;
	case CURLE_WRITE_ERROR:
		pc_error_set(err, PC_ETOOBIG, "webhook %s: reply larger than %d KiB", s->shown,
			     REPLY_CAP / 1024);
		return ATTEMPT_FINAL;
	case CURLE_OPERATION_TIMEDOUT:
		pc_error_set(err, PC_ETIMEOUT, "webhook %s: timed out or stalled", s->shown);
		return ATTEMPT_RETRY;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		pc_error_set(err, PC_EIO, "webhook %s: %s", s->shown, api.easy_strerror(cc));
		return ATTEMPT_RETRY;
	default:
		pc_error_set(err, PC_EIO, "webhook %s: %s", s->shown, api.easy_strerror(cc));
		return ATTEMPT_FINAL;
	}
	if (status >= 200 && status < 300)
		return ATTEMPT_OK;
	pc_error_set(err, PC_EIO, "webhook %s: HTTP status %ld", s->shown, status);
	if (status == 408 || status == 429 || status >= 500)
		return ATTEMPT_RETRY;
	return ATTEMPT_FINAL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int webhook_send(void *state, const struct pc_alert *a, struct pc_error *err)
{
	struct webhook_state *s = state;
	struct pc_error local;
	if (!err)
		err = &local;
	struct pc_buf body;
	pc_buf_init(&body, BODY_CAP);
	int rc = build_body(s, a, &body);
	if (rc) {
		pc_buf_free(&body);
		return pc_error_set(err, rc, "alert too large for a webhook");
	}
	unsigned char rnd[12];
	char id[32];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		pc_buf_free(&body);
		return pc_error_set(err, -errno, "cannot make a webhook id: getrandom failed");
	}
	int off = snprintf(id, sizeof(id), "msg_");
	for (size_t i = 0; i < sizeof(rnd); i++)
		off += snprintf(id + off, sizeof(id) - (size_t)off, "%02x", rnd[i]);

	long backoff = s->backoff_ms;
	enum attempt_result r = ATTEMPT_FINAL;
	for (int i = 0; i <= s->retries; i++) {
		if (i > 0) {
			long wait = backoff;
			if (s->retry_after_s > 0 && s->retry_after_s * 1000 <= BACKOFF_CAP_MS &&
			    s->retry_after_s * 1000 > wait)
				wait = s->retry_after_s * 1000;
			sleep_ms(wait);
			backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
		}
		pc_alert_rate_wait(&s->rate);
		r = attempt(s, id, &body, err);
		if (r != ATTEMPT_RETRY)
			break;
	}
	pc_buf_free(&body);
	if (r == ATTEMPT_OK)
		return 0;
	return err->code ? err->code : PC_EIO;
}

const struct pc_alert_ops pc_alert_webhook = {
	.name = "webhook",
	.description = "POST to an http(s) URL: generic JSON or Slack text, Standard Webhooks signature",
	.open = webhook_open,
	.send = webhook_send,
	.close = webhook_close,
};
