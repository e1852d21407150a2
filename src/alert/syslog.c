/*
 * syslog.c - alerts as RFC 5424 messages on the local syslog socket.
 *
 * Why not syslog(3): glibc's syslog() writes the old BSD format (RFC 3164:
 * "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG"), with a local time that has no year
 * and no zone, and it has no structured data. We want RFC 5424 fields that
 * a collector can index without parsing the text (the alert's kind in
 * MSGID; kind, severity and host as SD-PARAMs), so this file writes the
 * RFC 5424 line itself to a unix datagram socket: /dev/log by default
 * (rsyslog and syslog-ng detect the "<PRI>1 " version and parse it), or
 * the socket the configuration names (tests use their own).
 *
 * Format: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG with
 * facility daemon, and the syslog severity from ours (critical -> crit,
 * high -> err, medium -> warning, low -> notice, info -> info). The SD-ID
 * is portcensus@32473: 32473 is the private enterprise number that
 * RFC 5612 reserves for documentation, until the project registers its own.
 * Header fields are printable US-ASCII as the RFC demands ("-" when a value
 * has none); SD-PARAM values escape '"', '\' and ']'; every free-text byte
 * goes through the terminal sanitizer first (no newline can split a
 * message). A message is at most 2048 bytes, the size RFC 5424 says every
 * receiver should accept; a longer text is cut on a character boundary.
 */
#include "alert/alert.h"
#include "core/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MSG_CAP 2048
#define FACILITY_DAEMON 3
#define SD_ID "portcensus@32473"

struct syslog_state {
	int fd;
	struct sockaddr_un sun;
	socklen_t sun_len;
	char app[49];
	char host[256];
};

static int syslog_severity(enum pc_severity s)
{
	switch (s) {
	case PC_SEV_CRITICAL:
		return 2;
	case PC_SEV_HIGH:
		return 3;
	case PC_SEV_MEDIUM:
		return 4;
	case PC_SEV_LOW:
		return 5;
	case PC_SEV_INFO:
		return 6;
	}
	return 6;
}

/* RFC 5424 header fields are PRINTUSASCII (33..126) of at most max bytes;
 * anything else becomes '_', and an empty value is the NILVALUE "-". */
static void header_field(const char *in, char *out, size_t max)
{
	size_t n = 0;
	for (; in && in[n] && n < max; n++) {
		unsigned char c = (unsigned char)in[n];
		out[n] = (c >= 33 && c <= 126) ? (char)c : '_';
	}
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

static int connect_socket(struct syslog_state *s)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&s->sun, s->sun_len) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	s->fd = fd;
	return 0;
}

static int syslog_open(void **ret_state, const struct pc_alert_config *cfg, struct pc_error *err)
{
	const char *path = cfg->target ? cfg->target : "/dev/log";
	struct syslog_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	s->fd = -1;
	if (strlen(path) >= sizeof(s->sun.sun_path)) {
		free(s);
		return pc_error_set(err, PC_EINVAL, "syslog socket path too long: %s", path);
	}
	s->sun.sun_family = AF_UNIX;
	memcpy(s->sun.sun_path, path, strlen(path) + 1);
	s->sun_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	header_field(cfg->app_name ? cfg->app_name : "portcensus", s->app, 48);
	char hn[256] = "";
	if (gethostname(hn, sizeof(hn) - 1) != 0)
		hn[0] = '\0';
	header_field(hn, s->host, 255);
	int rc = connect_socket(s);
	if (rc) {
		free(s);
		return pc_error_set(err, rc, "cannot connect to syslog socket %s: %s", path,
				    strerror(-rc));
	}
	*ret_state = s;
	return 0;
}

/* An SD-PARAM value: sanitized, then '"', '\' and ']' escaped. */
static int sd_value(struct pc_buf *b, const char *v)
{
	char clean[256];
	pc_text_sanitize(v ? v : "", clean, sizeof(clean));
	int rc = 0;
	for (const char *p = clean; *p && !rc; p++) {
		if (*p == '"' || *p == '\\' || *p == ']')
			rc = pc_buf_addch(b, '\\');
		if (!rc)
			rc = pc_buf_addch(b, *p);
	}
	return rc;
}

/* Build the whole RFC 5424 message for a into b (capped at MSG_CAP). */
static int format_message(const struct syslog_state *s, const struct pc_alert *a, struct pc_buf *b)
{
	char when[40], msgid[33];
	header_field(pc_alert_kind_name(a->kind), msgid, 32);
	int rc = pc_buf_printf(b, "<%d>1 %s %s %s %ld %s [" SD_ID " kind=\"",
			       FACILITY_DAEMON * 8 + syslog_severity(a->severity),
			       pc_format_time(a->time_ms, when, sizeof(when)), s->host, s->app,
			       (long)getpid(), msgid);
	if (!rc)
		rc = sd_value(b, pc_alert_kind_name(a->kind));
	if (!rc)
		rc = pc_buf_addstr(b, "\" severity=\"");
	if (!rc)
		rc = sd_value(b, pc_severity_name(a->severity));
	if (!rc && a->host) {
		rc = pc_buf_addstr(b, "\" host=\"");
		if (!rc)
			rc = sd_value(b, a->host);
	}
	if (!rc)
		rc = pc_buf_addstr(b, "\"] ");
	if (rc)
		return rc;
	/* The free text fills what is left; the sanitizer never cuts a
	 * character in half. */
	size_t room = MSG_CAP - b->len;
	char *text = malloc(room + 1);
	if (!text)
		return PC_ENOMEM;
	pc_text_sanitize(a->text ? a->text : "", text, room + 1);
	rc = pc_buf_addstr(b, text);
	free(text);
	return rc;
}

static int syslog_send(void *state, const struct pc_alert *a, struct pc_error *err)
{
	struct syslog_state *s = state;
	struct pc_buf b;
	pc_buf_init(&b, MSG_CAP);
	int rc = format_message(s, a, &b);
	if (rc) {
		pc_buf_free(&b);
		return pc_error_set(err, rc, "cannot format syslog message: %s", pc_strerror(rc));
	}
	/* A restarted syslog daemon leaves our connected socket dangling:
	 * reconnect once and try again. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->fd < 0 && (rc = connect_socket(s)) != 0)
			break;
		if (send(s->fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t)b.len) {
			rc = 0;
			break;
		}
		rc = -errno;
		close(s->fd);
		s->fd = -1;
	}
	pc_buf_free(&b);
	if (rc)
		return pc_error_set(err, rc, "cannot send to syslog socket %s: %s", s->sun.sun_path,
				    strerror(-rc));
	return 0;
}

static void syslog_close(void *state)
{
	struct syslog_state *s = state;
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

const struct pc_alert_ops pc_alert_syslog = {
	.name = "syslog",
	.description = "RFC 5424 messages on /dev/log or another unix datagram socket",
	.open = syslog_open,
	.send = syslog_send,
	.close = syslog_close,
};
