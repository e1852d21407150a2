/*
 * engine_job.c - the state machine of one job (one endpoint in flight).
 *
 * A job walks its plan (engine_plan.c) one step at a time: it opens or
 * reuses a connection, starts the step's activity (a probe, the passive
 * read, a TLS handshake), hands the activity the bytes that arrive, and acts
 * on the active probe's verdicts: send what it queued (restarting the
 * exchange deadline), reconnect, upgrade in-band, give up (next step) or
 * match (the job ends). The socket events of the loop in engine.c land
 * here (connected, readable, end of stream, deadline), and the job's final
 * result is copied into the snapshot arena when it ends: the matching
 * probe's, or "tls"/"unknown" for a peer that answered but matched nothing.
 */
#include "probe/engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static void act_clear(struct job *j)
{
	if (j->cands) {
		for (size_t i = 0; i < j->n_cands; i++)
			free(j->cands[i].state);
		free(j->cands);
	}
	j->cands = NULL;
	j->n_cands = 0;
	free(j->state);
	j->state = NULL;
	free(j->ctx);
	j->ctx = NULL;
	free(j->res);
	j->res = NULL;
	j->ops = NULL;
	j->act = ACT_NONE;
	j->starttls = false;
}

void pc_probe_job_match(struct engine *e, struct job *j, const struct pc_probe_result *res)
{
	j->final = *res;
	j->matched = true;
	pc_probe_job_finish(e, j);
}

static void keep_first_bytes(struct job *j, const uint8_t *data, size_t len)
{
	size_t room = sizeof(j->first_bytes) - j->n_first;
	if (len > room)
		len = room;
	memcpy(j->first_bytes + j->n_first, data, len);
	j->n_first += len;
}

static void exchange_restart(struct engine *e, struct job *j, double ms)
{
	j->deadline = pc_monotonic_ms() + ms;
	if (j->deadline > j->budget_end)
		j->deadline = j->budget_end;
	j->got_bytes = false;
	pc_probe_engine_deadline(e, j);
}


/* After a verdict of the active probe. */
void pc_probe_active_verdict(struct engine *e, struct job *j, enum pc_probe_verdict v)
{
	switch (v) {
	case PC_PROBE_MORE:
		if (j->ctx->out_len) {
			size_t n = j->ctx->out_len;
			j->ctx->out_len = 0;
			if (pc_probe_conn_send(e, j, j->ctx->out, n) < 0) {
				pc_probe_job_next(e, j);
				return;
			}
			exchange_restart(e, j, e->o.timeout_ms);
		}
		return;
	case PC_PROBE_MATCH:
		/* a parting message (Terminate, QUIT, DISCONNECT): best effort */
		if (j->ctx->out_len && j->conn == CONN_READY)
			pc_probe_conn_send(e, j, j->ctx->out, j->ctx->out_len);
		pc_probe_job_match(e, j, j->res);
		return;
	case PC_PROBE_RECONNECT: {
		uint8_t *p = malloc(j->ctx->out_len ? j->ctx->out_len : 1);
		if (!p) {
			pc_probe_job_next(e, j);
			return;
		}
		memcpy(p, j->ctx->out, j->ctx->out_len);
		free(j->resend);
		j->resend = p;
		j->resend_len = j->ctx->out_len;
		j->ctx->out_len = 0;
		j->ctx->tls = j->tls_mode; /* a STARTTLS upgrade does not carry over */
		if (pc_probe_conn_open(e, j) < 0) {
			if (j->res->name[0])
				pc_probe_job_match(e, j, j->res);
			else
				pc_probe_job_next(e, j);
			return;
		}
		exchange_restart(e, j, e->o.timeout_ms);
		return;
	}
	case PC_PROBE_STARTTLS:
		if (j->ssl || j->conn != CONN_READY || !(j->ssl = pc_tls_new(e->tls_ctx))) {
			pc_probe_active_done(e, j, true); /* no TLS inside TLS */
			return;
		}
		/* what the probe queued goes out inside TLS (step_begin) */
		j->starttls = true;
		j->conn = CONN_HANDSHAKE;
		exchange_restart(e, j, e->o.timeout_ms);
		pc_probe_tls_step(e, j);
		return;
	case PC_PROBE_NOMATCH:
	default:
		j->clean = false;
		pc_probe_job_next(e, j);
		return;
	}
}

void pc_probe_active_done(struct engine *e, struct job *j, bool eof)
{
	enum pc_probe_verdict v;
	j->ctx->out_len = 0;
	if (j->ops->done)
		v = j->ops->done(j->state, j->ctx, eof);
	else
		v = j->res->name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
	if (v == PC_PROBE_MORE)
		v = j->res->name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
	if (!eof && !j->got_bytes)
		j->silent++;
	else
		j->silent = 0;
	if (v == PC_PROBE_RECONNECT && !eof && !j->got_bytes)
		v = j->res->name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH;
	if (v == PC_PROBE_NOMATCH && j->ctx->hint_tls)
		pc_probe_plan_tls_next(j);
	pc_probe_active_verdict(e, j, v);
}

/* Bytes of the application stream (plaintext) for the current activity. */
void pc_probe_deliver(struct engine *e, struct job *j, const uint8_t *data, size_t len)
{
	if (len == 0)
		return;
	j->got_bytes = true;
	j->clean = false;
	if (!j->connected_once || j->n_first == 0)
		keep_first_bytes(j, data, len);
	if (j->act == ACT_PROBE) {
		j->ctx->out_len = 0;
		enum pc_probe_verdict v = j->ops->feed(j->state, j->ctx, data, len);
		if (v == PC_PROBE_NOMATCH && (j->ctx->hint_tls ||
					      (len >= 2 && (data[0] == 0x15 || data[0] == 0x16) &&
					       data[1] == 0x03)))
			pc_probe_plan_tls_next(j);
		pc_probe_active_verdict(e, j, v);
		return;
	}
	if (j->act == ACT_PASSIVE)
		pc_probe_passive_feed(e, j, data, len);
}

/* The connection is up (and through TLS when in TLS mode): start the
 * current step, or send the request a RECONNECT left behind. */
void pc_probe_step_begin(struct engine *e, struct job *j)
{
	if (j->act == ACT_PROBE && j->resend) {
		uint8_t *p = j->resend;
		size_t n = j->resend_len;
		j->resend = NULL;
		int r = pc_probe_conn_send(e, j, p, n);
		free(p);
		if (r < 0)
			pc_probe_active_done(e, j, true);
		return;
	}
	if (j->act == ACT_PASSIVE)
		return; /* just read */
	if (j->act == ACT_PROBE && j->ctx->out_len) {
		size_t n = j->ctx->out_len;
		j->ctx->out_len = 0;
		if (pc_probe_conn_send(e, j, j->ctx->out, n) < 0)
			pc_probe_active_done(e, j, true);
	}
}

void pc_probe_ctx_fill(struct job *j, struct pc_probe_ctx *ctx, struct pc_probe_result *res)
{
	char a[PC_ADDR_STRLEN];
	ctx->port = j->port;
	ctx->tls = j->tls_mode;
	ctx->res = res;
	pc_addr_format(&j->addr, a, sizeof(a));
	if (j->addr.family == AF_INET6)
		pc_probe_setf(ctx->host, sizeof(ctx->host), "[%s]:%u", a, j->port);
	else
		pc_probe_setf(ctx->host, sizeof(ctx->host), "%s:%u", a, j->port);
}

void pc_probe_job_next(struct engine *e, struct job *j)
{
	act_clear(j);
	free(j->resend);
	j->resend = NULL;
	for (;;) {
		if (j->used == false)
			return;
		j->step++;
		if (j->step >= j->n_steps || pc_monotonic_ms() >= j->budget_end ||
		    j->read_total >= PC_PROBE_READ_CAP ||
		    (!j->udp && j->silent >= 2)) {
			pc_probe_job_finish(e, j);
			return;
		}
		struct step *s = &j->steps[j->step];
		if (s->kind == STEP_TLS && (j->tls_mode || j->udp))
			continue;
		bool need_new = !j->clean || j->conn == CONN_NONE || s->kind == STEP_TLS || j->udp;
		if (need_new) {
			int r = pc_probe_conn_open(e, j);
			if (r < 0) {
				pc_probe_job_finish(e, j);
				return;
			}
		}
		double ms = e->o.timeout_ms;
		if (s->kind == STEP_PASSIVE) {
			if (pc_probe_passive_setup(e, j) < 0) {
				pc_probe_job_finish(e, j);
				return;
			}
			if (!pc_probe_passive_likely(e, j))
				ms = e->o.timeout_ms / 4;
		} else if (s->kind == STEP_TLS) {
			j->act = ACT_TLS_DETECT;
			j->tls_saw_handshake = false;
		} else {
			const struct pc_probe_ops *p = op(e, s->probe);
			j->ops = p;
			j->state = calloc(1, p->state_size ? p->state_size : 1);
			j->ctx = calloc(1, sizeof(*j->ctx));
			j->res = calloc(1, sizeof(*j->res));
			if (!j->state || !j->ctx || !j->res) {
				pc_probe_job_finish(e, j);
				return;
			}
			pc_probe_ctx_fill(j, j->ctx, j->res);
			if (p->start && p->start(j->state, j->ctx) < 0) {
				act_clear(j);
				continue;
			}
			j->act = ACT_PROBE;
		}
		exchange_restart(e, j, ms);
		if (j->conn == CONN_READY && !need_new)
			pc_probe_step_begin(e, j);
		else if (j->conn == CONN_READY && j->udp)
			pc_probe_step_begin(e, j);
		return;
	}
}

void pc_probe_job_finish(struct engine *e, struct job *j)
{
	struct pc_endpoint *ep = &e->snap->endpoints[j->ep_index];
	act_clear(j);
	pc_probe_conn_close(e, j);
	free(j->pending);
	j->pending = NULL;
	free(j->resend);
	j->resend = NULL;
	if (j->used)
		pc_probe_engine_release(e, j);
	j->used = false;

	const struct pc_probe_result *r = j->matched ? &j->final : NULL;
	struct pc_probe_result tmp;
	if (!r && (j->tls_info || j->tls_fail_reason[0])) {
		memset(&tmp, 0, sizeof(tmp));
		PC_PROBE_SET(tmp.name, "tls");
		tmp.auth = PC_AUTH_UNKNOWN;
		if (j->tls_info)
			PC_PROBE_SET(tmp.evidence,
				     "TLS handshake completed; no protocol inside it recognised");
		else
			pc_probe_setf(tmp.evidence, sizeof(tmp.evidence),
				      "answered a TLS ClientHello, then the handshake failed: %s",
				      j->tls_fail_reason);
		r = &tmp;
	} else if (!r && j->n_first > 0) {
		struct pc_probe_ctx c = { .res = &tmp };
		memset(&tmp, 0, sizeof(tmp));
		PC_PROBE_SET(tmp.name, "unknown");
		PC_PROBE_SET(tmp.evidence, "answered, but no probe recognised the protocol");
		pc_probe_banner(&c, j->first_bytes, j->n_first);
		r = &tmp;
	}
	if (!r)
		return;
	if (r != &tmp) {
		tmp = *r;
		r = &tmp;
	}
	pc_probe_result_clean(&tmp);
	struct pc_service *s = pc_snapshot_service(e->snap);
	if (!s)
		return;
	s->name = pc_snapshot_strdup(e->snap, r->name);
	s->product = r->product[0] ? pc_snapshot_strdup(e->snap, r->product) : NULL;
	s->version = r->version[0] ? pc_snapshot_strdup(e->snap, r->version) : NULL;
	s->auth = r->auth;
	s->evidence = r->evidence[0] ? pc_snapshot_strdup(e->snap, r->evidence) : NULL;
	s->banner = r->banner[0] ? pc_snapshot_strdup(e->snap, r->banner) : NULL;
	s->tls = j->udp ? PC_TRI_FALSE : (j->tls_mode && j->matched) || j->tls_info ||
						  j->tls_fail_reason[0]
						  ? PC_TRI_TRUE
						  : PC_TRI_FALSE;
	s->tls_info = j->tls_info;
	ep->service = s;
}

/* ---- events -------------------------------------------------------- */

void pc_probe_on_connected(struct engine *e, struct job *j)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
		/* refused or unreachable */
		if (j->act == ACT_PROBE && j->res && j->res->name[0])
			pc_probe_job_match(e, j, j->res);
		else
			pc_probe_job_finish(e, j);
		return;
	}
	j->connected_once = true;
	if (e->pace) {
		/* a completed handshake: its round trip tells the path's pace */
		double now = pc_monotonic_ms();
		double rtt = now - j->connect_ms;
		pc_pace_answer(e->pace, &j->addr, rtt > 0 ? (uint64_t)(rtt * 1000.0) : 1,
			       (uint64_t)(j->connect_ms * 1000.0), false, (uint64_t)(now * 1000.0));
	}
	pc_probe_conn_watch(e, j, EPOLLIN, false);
	if (j->tls_mode || j->act == ACT_TLS_DETECT) {
		j->ssl = pc_tls_new(e->tls_ctx);
		if (!j->ssl) {
			pc_probe_job_finish(e, j);
			return;
		}
		j->conn = CONN_HANDSHAKE;
		j->clean = false;
		pc_probe_tls_step(e, j);
		return;
	}
	j->conn = CONN_READY;
	pc_probe_step_begin(e, j);
}

/* The current activity has heard all it will: the peer closed (eof) or its
 * deadline passed. */
static void activity_end(struct engine *e, struct job *j, bool eof)
{
	if (j->act == ACT_PROBE)
		pc_probe_active_done(e, j, eof);
	else if (j->act == ACT_PASSIVE)
		pc_probe_passive_done(e, j, eof);
	else
		pc_probe_job_next(e, j);
}

void pc_probe_on_eof(struct engine *e, struct job *j)
{
	if (j->act == ACT_TLS_DETECT || j->conn == CONN_HANDSHAKE)
		pc_probe_tls_fail(e, j);
	else
		activity_end(e, j, true);
}

void pc_probe_on_readable(struct engine *e, struct job *j)
{
	uint8_t buf[4096];
	size_t room = PC_PROBE_READ_CAP - j->read_total;
	if (room == 0) {
		/* the byte cap: what the probe has is what it gets */
		if (j->act == ACT_PROBE)
			pc_probe_active_done(e, j, false);
		else if (j->act == ACT_PASSIVE)
			pc_probe_passive_done(e, j, false);
		else
			pc_probe_job_finish(e, j);
		return;
	}
	ssize_t n = recv(j->fd, buf, room < sizeof(buf) ? room : sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (j->udp && errno == ECONNREFUSED) {
			pc_probe_job_finish(e, j); /* ICMP port unreachable: nothing there */
			return;
		}
		pc_probe_on_eof(e, j);
		return;
	}
	if (n == 0 && !j->udp) {
		pc_probe_on_eof(e, j);
		return;
	}
	j->read_total += (size_t)n;
	if (!j->ssl) {
		pc_probe_deliver(e, j, buf, (size_t)n);
		return;
	}
	pc_probe_tls_read(e, j, buf, sizeof(buf), (size_t)n);
}

void pc_probe_on_timeout(struct engine *e, struct job *j)
{
	if (j->conn == CONN_CONNECTING && !j->connected_once) {
		pc_probe_job_finish(e, j); /* filtered: nothing to identify */
		return;
	}
	if (j->conn == CONN_HANDSHAKE && j->starttls) {
		pc_probe_tls_fail(e, j);
		return;
	}
	if (j->conn == CONN_CONNECTING || j->conn == CONN_HANDSHAKE) {
		if (j->act == ACT_TLS_DETECT) {
			j->silent += j->got_first_cipher ? 0 : 1;
			j->act = ACT_NONE;
			pc_probe_job_next(e, j);
		} else if (j->act == ACT_PROBE && j->res && j->res->name[0]) {
			pc_probe_job_match(e, j, j->res);
		} else {
			j->silent++;
			pc_probe_job_next(e, j);
		}
		return;
	}
	activity_end(e, j, false);
}
