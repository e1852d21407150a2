/*
 * engine.c - the probe engine: for every open endpoint of a snapshot, find
 * out what answers there.
 *
 * One thread, one epoll set, at most `parallel` endpoints in flight and
 * `host_inflight` per address (per network namespace for host records).
 * Each endpoint is a job that walks a plan:
 *
 *   1. the probes whose port list holds this port (a banner probe there
 *      means "do the passive read now"; the TLS handshake there means
 *      "handshake first");
 *   2. a passive read: every banner probe (ssh, smtp, ftp, mysql, vnc, ...)
 *      parses what the service says unasked, in parallel; the first to
 *      recognise it takes the connection over;
 *   3. every other probe, in registry (likelihood) order.
 *
 * A connection is reused while it is clean (nothing sent, nothing left
 * unread: the passive read that heard nothing leaves it clean) and replaced
 * after any probe that sent bytes and did not match. When the TLS handshake
 * succeeds, the job records tls_info and starts a second plan of the probes
 * that make sense inside TLS, every later connection of the job wrapped in
 * TLS (memory BIOs over the same non-blocking sockets). A probe whose
 * protocol upgrades in-band (PostgreSQL SSLRequest, SMTP STARTTLS) asks for
 * the same handshake on its live connection with PC_PROBE_STARTTLS.
 *
 * UDP endpoints get one step: every UDP probe's request goes out at once on
 * one connected socket, and each datagram that comes back is offered to
 * every probe; the one whose request it answers (ids are checked) claims
 * it. An ICMP port unreachable ends the endpoint.
 *
 * Bounds: each exchange has a deadline (opts->timeout_ms, restarted when a
 * request is sent, not when bytes arrive, so a trickle cannot keep it
 * alive); a job has an overall budget of six exchanges; a job reads at most
 * PC_PROBE_READ_CAP bytes in all; two silent timeouts in a row end it.
 * Memory is O(parallel): a job holds one probe state (or, during the
 * passive read, one per banner probe) and its TLS session; reads go through
 * one stack buffer. 1,008 hostile connections at once peak at ~40 MB RSS.
 */
#include "probe/probe.h"

#include "probe/probe_ops.h"
#include "probe/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum step_kind { STEP_PROBE, STEP_PASSIVE, STEP_TLS };

struct step {
	uint8_t kind;
	uint8_t probe; /* registry index for STEP_PROBE */
};

#define MAX_STEPS 96
#define MAX_PROBES 64

enum conn_state {
	CONN_NONE = 0,
	CONN_CONNECTING,
	CONN_HANDSHAKE, /* TLS */
	CONN_READY,
};

enum activity { ACT_NONE = 0, ACT_PASSIVE, ACT_PROBE, ACT_TLS_DETECT };

struct candidate {
	const struct pc_probe_ops *ops;
	void *state;
	struct pc_probe_ctx ctx;
	struct pc_probe_result res;
	enum pc_probe_verdict v;
	bool claimed; /* queued bytes: it recognised the service */
	bool dead;
};

struct job {
	bool used;
	size_t ep_index;
	struct pc_addr addr;
	uint64_t ns; /* network namespace of a host record, 0 otherwise */
	uint16_t port;
	bool udp;

	struct step steps[MAX_STEPS];
	size_t n_steps, step;
	bool in_tls_plan;

	int fd;
	enum conn_state conn;
	bool clean; /* nothing sent, nothing unread on this connection */
	bool tls_mode;
	SSL *ssl;
	bool tls_saw_handshake; /* first ciphertext byte was a handshake record */
	bool got_first_cipher;
	bool starttls;    /* a probe's in-band upgrade is in its handshake */
	bool upgraded;    /* ... and succeeded: the service speaks TLS */
	bool tls_failed_hard;
	char tls_fail_reason[96];
	struct pc_tls_info *tls_info;

	enum activity act;
	/* the active probe */
	const struct pc_probe_ops *ops;
	void *state;
	struct pc_probe_ctx *ctx;
	struct pc_probe_result *res;
	bool got_bytes;     /* this exchange received something */
	/* passive read candidates */
	struct candidate *cands;
	size_t n_cands;
	/* bytes waiting to go out (ciphertext in TLS mode) */
	uint8_t *pending;
	size_t pending_len, pending_off;
	/* request queued by RECONNECT, sent once the new connection is up */
	uint8_t *resend;
	size_t resend_len;

	double deadline;
	double budget_end;
	size_t read_total;
	unsigned silent;
	bool connected_once;

	bool matched;
	struct pc_probe_result final;
	uint8_t first_bytes[PC_PROBE_BANNER_MAX];
	size_t n_first;
};

struct engine {
	struct pc_snapshot *snap;
	struct pc_probe_run_opts o;
	int epfd;
	SSL_CTX *tls_ctx;
	struct job *jobs;
	size_t n_jobs;
	const struct pc_probe_ops *probes[MAX_PROBES];
	size_t n_probes;
	int tls_index;
};

static const struct pc_probe_ops *op(struct engine *e, size_t i)
{
	return e->probes[i];
}

/* ---- plan ---------------------------------------------------------- */

static void plan_add(struct job *j, enum step_kind k, size_t probe)
{
	if (j->n_steps >= MAX_STEPS)
		return;
	for (size_t i = j->step; i < j->n_steps; i++)
		if (j->steps[i].kind == k && (k != STEP_PROBE || j->steps[i].probe == probe))
			return;
	j->steps[j->n_steps].kind = (uint8_t)k;
	j->steps[j->n_steps].probe = (uint8_t)probe;
	j->n_steps++;
}

static bool usable(const struct pc_probe_ops *p, bool udp, bool in_tls)
{
	if (!!(p->flags & PC_PROBE_F_UDP) != udp)
		return false;
	if (in_tls && !(p->flags & PC_PROBE_F_TLS))
		return false;
	return true;
}

/* Build the plan from j->step on: likely probes, passive read, the rest. */
static void plan_build(struct engine *e, struct job *j, bool in_tls)
{
	j->n_steps = j->step;
	j->in_tls_plan = in_tls;
	if (j->udp) {
		/* UDP: every probe's datagram at once on one socket; each answer
		 * goes to every probe, and the one it belongs to claims it */
		plan_add(j, STEP_PASSIVE, 0);
		return;
	}
	/* likely for this port */
	for (size_t i = 0; i < e->n_probes; i++) {
		const struct pc_probe_ops *p = op(e, i);
		if (!pc_probe_has_port(p->ports, j->port))
			continue;
		if (p->flags & PC_PROBE_F_HANDSHAKE) {
			if (!in_tls && !j->udp)
				plan_add(j, STEP_TLS, 0);
			continue;
		}
		if (!usable(p, j->udp, in_tls))
			continue;
		if (p->flags & PC_PROBE_F_BANNER)
			plan_add(j, STEP_PASSIVE, 0);
		else
			plan_add(j, STEP_PROBE, i);
	}
	if (!j->udp)
		plan_add(j, STEP_PASSIVE, 0);
	for (size_t i = 0; i < e->n_probes; i++) {
		const struct pc_probe_ops *p = op(e, i);
		if (p->flags & PC_PROBE_F_HANDSHAKE) {
			if (!in_tls && !j->udp)
				plan_add(j, STEP_TLS, 0);
			continue;
		}
		if (!usable(p, j->udp, in_tls) || (p->flags & PC_PROBE_F_BANNER))
			continue;
		if ((p->flags & PC_PROBE_F_PORTS_ONLY) && !pc_probe_has_port(p->ports, j->port))
			continue;
		plan_add(j, STEP_PROBE, i);
	}
}

/* The peer answered with a TLS record: try the handshake next. */
static void plan_tls_next(struct job *j)
{
	for (size_t i = j->step + 1; i < j->n_steps; i++)
		if (j->steps[i].kind == STEP_TLS) {
			struct step s = j->steps[i];
			memmove(&j->steps[j->step + 2], &j->steps[j->step + 1],
				(i - j->step - 1) * sizeof(s));
			j->steps[j->step + 1] = s;
			return;
		}
}

/* ---- connections --------------------------------------------------- */

static void ev_set(struct engine *e, struct job *j, uint32_t events, bool add)
{
	struct epoll_event ev = { .events = events, .data.ptr = j };
	epoll_ctl(e->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, j->fd, &ev);
}

static void conn_close(struct engine *e, struct job *j)
{
	if (j->fd >= 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, j->fd, NULL);
		close(j->fd);
	}
	j->fd = -1;
	if (j->ssl)
		SSL_free(j->ssl);
	j->ssl = NULL;
	j->conn = CONN_NONE;
	j->pending_len = j->pending_off = 0;
	j->clean = false;
}

static int make_socket(struct engine *e, struct job *j, int type)
{
	int domain = j->addr.family == AF_INET6 ? AF_INET6 : AF_INET;
	struct pc_endpoint *ep = &e->snap->endpoints[j->ep_index];
	int fd;
	if (e->o.make_socket)
		fd = e->o.make_socket(e->o.socket_ctx, ep, domain, type | SOCK_CLOEXEC, 0);
	else
		fd = socket(domain, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd < -1 ? fd : -errno;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int conn_open(struct engine *e, struct job *j)
{
	struct sockaddr_storage ss;
	conn_close(e, j);
	size_t sl = pc_addr_to_sockaddr(&j->addr, j->port, &ss);
	if (sl == 0)
		return PC_EINVAL;
	int fd = make_socket(e, j, j->udp ? SOCK_DGRAM : SOCK_STREAM);
	if (fd < 0)
		return fd;
	j->fd = fd;
	if (!j->udp) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 && errno != EINPROGRESS) {
		int r = -errno;
		close(fd);
		j->fd = -1;
		return r;
	}
	j->conn = j->udp ? CONN_READY : CONN_CONNECTING;
	j->clean = true;
	j->got_first_cipher = false;
	ev_set(e, j, j->udp ? EPOLLIN : EPOLLOUT, true);
	return 0;
}

/* Push pending bytes; 0, or negative errno when the connection broke. */
static int flush_pending(struct engine *e, struct job *j)
{
	if (j->ssl) {
		/* move ciphertext from the write BIO to pending */
		BIO *w = SSL_get_wbio(j->ssl);
		char buf[4096];
		int n;
		while ((n = BIO_read(w, buf, sizeof(buf))) > 0) {
			uint8_t *p = realloc(j->pending, j->pending_len + (size_t)n);
			if (!p)
				return PC_ENOMEM;
			j->pending = p;
			memcpy(j->pending + j->pending_len, buf, (size_t)n);
			j->pending_len += (size_t)n;
		}
	}
	while (j->pending_off < j->pending_len) {
		ssize_t n = send(j->fd, j->pending + j->pending_off, j->pending_len - j->pending_off,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_set(e, j, EPOLLIN | EPOLLOUT, false);
				return 0;
			}
			return -errno;
		}
		j->pending_off += (size_t)n;
	}
	j->pending_len = j->pending_off = 0;
	ev_set(e, j, EPOLLIN, false);
	return 0;
}

/* Queue application bytes (through TLS when on). */
static int conn_send(struct engine *e, struct job *j, const uint8_t *data, size_t len)
{
	if (len == 0)
		return 0;
	j->clean = false;
	if (j->ssl) {
		int n = SSL_write(j->ssl, data, (int)len);
		if (n <= 0)
			return PC_EIO;
	} else {
		uint8_t *p = realloc(j->pending, j->pending_len + len);
		if (!p)
			return PC_ENOMEM;
		j->pending = p;
		memcpy(j->pending + j->pending_len, data, len);
		j->pending_len += len;
	}
	return flush_pending(e, j);
}

/* ---- activities ---------------------------------------------------- */

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

static void job_finish(struct engine *e, struct job *j);
static void job_next(struct engine *e, struct job *j);
static void step_begin(struct engine *e, struct job *j);

static void job_match(struct engine *e, struct job *j, const struct pc_probe_result *res)
{
	j->final = *res;
	j->matched = true;
	job_finish(e, j);
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
	(void)e;
}

static void tls_step(struct engine *e, struct job *j);
static void probe_done(struct engine *e, struct job *j, bool eof);

/* After a verdict of the active probe. */
static void probe_verdict(struct engine *e, struct job *j, enum pc_probe_verdict v)
{
	switch (v) {
	case PC_PROBE_MORE:
		if (j->ctx->out_len) {
			size_t n = j->ctx->out_len;
			j->ctx->out_len = 0;
			if (conn_send(e, j, j->ctx->out, n) < 0) {
				job_next(e, j);
				return;
			}
			exchange_restart(e, j, e->o.timeout_ms);
		}
		return;
	case PC_PROBE_MATCH:
		/* a parting message (Terminate, QUIT, DISCONNECT): best effort */
		if (j->ctx->out_len && j->conn == CONN_READY)
			conn_send(e, j, j->ctx->out, j->ctx->out_len);
		job_match(e, j, j->res);
		return;
	case PC_PROBE_RECONNECT: {
		uint8_t *p = malloc(j->ctx->out_len ? j->ctx->out_len : 1);
		if (!p) {
			job_next(e, j);
			return;
		}
		memcpy(p, j->ctx->out, j->ctx->out_len);
		free(j->resend);
		j->resend = p;
		j->resend_len = j->ctx->out_len;
		j->ctx->out_len = 0;
		j->ctx->tls = j->tls_mode; /* a STARTTLS upgrade does not carry over */
		if (conn_open(e, j) < 0) {
			if (j->res->name[0])
				job_match(e, j, j->res);
			else
				job_next(e, j);
			return;
		}
		exchange_restart(e, j, e->o.timeout_ms);
		return;
	}
	case PC_PROBE_STARTTLS:
		if (j->ssl || j->conn != CONN_READY || !(j->ssl = pc_tls_new(e->tls_ctx))) {
			probe_done(e, j, true); /* no TLS inside TLS */
			return;
		}
		/* what the probe queued goes out inside TLS (step_begin) */
		j->starttls = true;
		j->conn = CONN_HANDSHAKE;
		exchange_restart(e, j, e->o.timeout_ms);
		tls_step(e, j);
		return;
	case PC_PROBE_NOMATCH:
	default:
		j->clean = false;
		job_next(e, j);
		return;
	}
}

static void probe_done(struct engine *e, struct job *j, bool eof)
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
		plan_tls_next(j);
	probe_verdict(e, j, v);
}

/* Bytes of the application stream (plaintext) for the current activity. */
static void deliver(struct engine *e, struct job *j, const uint8_t *data, size_t len)
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
			plan_tls_next(j);
		probe_verdict(e, j, v);
		return;
	}
	if (j->act != ACT_PASSIVE)
		return;
	for (size_t i = 0; i < j->n_cands; i++) {
		struct candidate *c = &j->cands[i];
		if (c->dead || c->claimed || c->v == PC_PROBE_MATCH)
			continue;
		c->ctx.out_len = 0;
		c->v = c->ops->feed(c->state, &c->ctx, data, len);
		if (j->udp) {
			/* a datagram answers one request: whoever claims it wins */
			if (c->v == PC_PROBE_MATCH) {
				job_match(e, j, &c->res);
				return;
			}
			if (c->v == PC_PROBE_MORE && c->ctx.out_len)
				send(j->fd, c->ctx.out, c->ctx.out_len, MSG_NOSIGNAL);
			if (c->v != PC_PROBE_MORE)
				c->dead = true;
			continue;
		}
		if (c->v == PC_PROBE_NOMATCH)
			c->dead = true;
		else if (c->v == PC_PROBE_RECONNECT ||
			 (c->v == PC_PROBE_MORE && c->ctx.out_len > 0))
			c->claimed = true;
	}
	if (j->udp)
		return; /* wait for the other answers */
	/* the first live candidate in order decides */
	for (size_t i = 0; i < j->n_cands; i++) {
		struct candidate *c = &j->cands[i];
		if (c->dead)
			continue;
		if (c->v == PC_PROBE_MATCH) {
			job_match(e, j, &c->res);
			return;
		}
		if (!c->claimed)
			return; /* still undecided: wait for more */
		/* hand the connection to this probe */
		j->ops = c->ops;
		j->state = c->state;
		c->state = NULL;
		j->ctx = calloc(1, sizeof(*j->ctx));
		j->res = calloc(1, sizeof(*j->res));
		if (!j->ctx || !j->res) {
			job_next(e, j);
			return;
		}
		*j->res = c->res;
		*j->ctx = c->ctx;
		j->ctx->res = j->res;
		enum pc_probe_verdict v = c->v;
		for (size_t k = 0; k < j->n_cands; k++)
			free(j->cands[k].state);
		free(j->cands);
		j->cands = NULL;
		j->n_cands = 0;
		j->act = ACT_PROBE;
		probe_verdict(e, j, v);
		return;
	}
	/* every candidate gave up */
	job_next(e, j);
}

static void passive_done(struct engine *e, struct job *j, bool eof)
{
	if (!j->got_bytes) {
		/* silence leaves the connection clean for the next probe */
		if (!eof)
			j->clean = j->conn == CONN_READY && j->pending_len == 0;
		job_next(e, j);
		return;
	}
	for (size_t i = 0; i < j->n_cands; i++) {
		struct candidate *c = &j->cands[i];
		if (c->dead)
			continue;
		enum pc_probe_verdict v = c->v;
		if (v != PC_PROBE_MATCH) {
			c->ctx.out_len = 0;
			v = c->ops->done ? c->ops->done(c->state, &c->ctx, eof)
					 : (c->res.name[0] ? PC_PROBE_MATCH : PC_PROBE_NOMATCH);
		}
		if (v == PC_PROBE_MATCH || ((v == PC_PROBE_MORE || v == PC_PROBE_RECONNECT) &&
					    c->res.name[0])) {
			job_match(e, j, &c->res);
			return;
		}
	}
	job_next(e, j);
}

/* ---- TLS ----------------------------------------------------------- */

static void tls_fail(struct engine *e, struct job *j);

static void tls_step(struct engine *e, struct job *j)
{
	int r = SSL_do_handshake(j->ssl);
	if (flush_pending(e, j) < 0) {
		j->tls_failed_hard = true;
		goto fail;
	}
	if (r == 1) {
		j->conn = CONN_READY;
		if (j->act == ACT_TLS_DETECT) {
			if (!j->tls_info)
				j->tls_info = pc_tls_info_get(j->ssl, e->snap);
			j->tls_mode = true;
			j->clean = true;
			j->act = ACT_NONE;
			/* a second plan, inside TLS */
			j->step++;
			plan_build(e, j, true);
			j->step--;
			job_next(e, j);
			return;
		}
		if (j->starttls) {
			j->starttls = false;
			j->upgraded = true;
			if (!j->tls_info)
				j->tls_info = pc_tls_info_get(j->ssl, e->snap);
			j->ctx->tls = true;
		}
		step_begin(e, j);
		return;
	}
	int err = SSL_get_error(j->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return;
fail:
	tls_fail(e, j);
}

/* The handshake failed, or the peer closed in the middle of it. */
static void tls_fail(struct engine *e, struct job *j)
{
	if (j->act == ACT_TLS_DETECT) {
		if (j->tls_saw_handshake)
			pc_tls_error_reason(j->tls_fail_reason, sizeof(j->tls_fail_reason));
		ERR_clear_error();
		j->act = ACT_NONE;
		job_next(e, j);
		return;
	}
	ERR_clear_error();
	if (j->starttls && j->act == ACT_PROBE) {
		/* the in-band upgrade failed: the probe decides what it has */
		j->starttls = false;
		j->conn = CONN_NONE;
		probe_done(e, j, true);
		return;
	}
	/* a later TLS connection failed: keep what we have */
	if (j->act == ACT_PROBE && j->res && j->res->name[0])
		job_match(e, j, j->res);
	else
		job_finish(e, j);
}

/* ---- steps --------------------------------------------------------- */

/* The connection is up (and through TLS when in TLS mode): start the
 * current step, or send the request a RECONNECT left behind. */
static void step_begin(struct engine *e, struct job *j)
{
	if (j->act == ACT_PROBE && j->resend) {
		uint8_t *p = j->resend;
		size_t n = j->resend_len;
		j->resend = NULL;
		int r = conn_send(e, j, p, n);
		free(p);
		if (r < 0)
			probe_done(e, j, true);
		return;
	}
	if (j->act == ACT_PASSIVE)
		return; /* just read */
	if (j->act == ACT_PROBE && j->ctx->out_len) {
		size_t n = j->ctx->out_len;
		j->ctx->out_len = 0;
		if (conn_send(e, j, j->ctx->out, n) < 0)
			probe_done(e, j, true);
	}
}

static void ctx_fill(struct job *j, struct pc_probe_ctx *ctx, struct pc_probe_result *res)
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

static bool passive_is_likely(struct engine *e, struct job *j)
{
	if (j->udp)
		return true; /* UDP has one step: give it the full time */
	for (size_t i = 0; i < e->n_probes; i++) {
		const struct pc_probe_ops *p = op(e, i);
		if ((p->flags & PC_PROBE_F_BANNER) && pc_probe_has_port(p->ports, j->port) &&
		    usable(p, false, j->tls_mode))
			return true;
	}
	return false;
}

static int passive_setup(struct engine *e, struct job *j)
{
	size_t n = 0, want = 0;
	unsigned kind = j->udp ? PC_PROBE_F_UDP : PC_PROBE_F_BANNER;
	for (size_t i = 0; i < e->n_probes; i++)
		want += (op(e, i)->flags & kind) && usable(op(e, i), j->udp, j->tls_mode);
	/* only the banner probes: a candidate is a few KiB, a crowd is many */
	j->cands = calloc(want ? want : 1, sizeof(*j->cands));
	if (!j->cands)
		return PC_ENOMEM;
	/* likely ones first, then registry order */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < e->n_probes; i++) {
			const struct pc_probe_ops *p = op(e, i);
			if (!(p->flags & kind) || !usable(p, j->udp, j->tls_mode))
				continue;
			if (pc_probe_has_port(p->ports, j->port) != (pass == 0))
				continue;
			struct candidate *c = &j->cands[n];
			c->ops = p;
			c->state = calloc(1, p->state_size ? p->state_size : 1);
			if (!c->state)
				return PC_ENOMEM;
			ctx_fill(j, &c->ctx, &c->res);
			j->n_cands = ++n;
			if (p->start && p->start(c->state, &c->ctx) < 0)
				c->dead = true;
			if (!j->udp)
				c->ctx.out_len = 0; /* banner probes send nothing first */
			else if (!c->dead && c->ctx.out_len &&
				 send(j->fd, c->ctx.out, c->ctx.out_len, MSG_NOSIGNAL) < 0 &&
				 errno == ECONNREFUSED)
				return PC_EIO; /* ICMP unreachable already: closed */
		}
	j->act = ACT_PASSIVE;
	return 0;
}

static void job_next(struct engine *e, struct job *j)
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
			job_finish(e, j);
			return;
		}
		struct step *s = &j->steps[j->step];
		if (s->kind == STEP_TLS && (j->tls_mode || j->udp))
			continue;
		bool need_new = !j->clean || j->conn == CONN_NONE || s->kind == STEP_TLS || j->udp;
		if (need_new) {
			int r = conn_open(e, j);
			if (r < 0) {
				job_finish(e, j);
				return;
			}
		}
		double ms = e->o.timeout_ms;
		if (s->kind == STEP_PASSIVE) {
			if (passive_setup(e, j) < 0) {
				job_finish(e, j);
				return;
			}
			if (!passive_is_likely(e, j))
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
				job_finish(e, j);
				return;
			}
			ctx_fill(j, j->ctx, j->res);
			if (p->start && p->start(j->state, j->ctx) < 0) {
				act_clear(j);
				continue;
			}
			j->act = ACT_PROBE;
		}
		exchange_restart(e, j, ms);
		if (j->conn == CONN_READY && !need_new)
			step_begin(e, j);
		else if (j->conn == CONN_READY && j->udp)
			step_begin(e, j);
		return;
	}
}

static void job_finish(struct engine *e, struct job *j)
{
	struct pc_endpoint *ep = &e->snap->endpoints[j->ep_index];
	act_clear(j);
	conn_close(e, j);
	free(j->pending);
	j->pending = NULL;
	free(j->resend);
	j->resend = NULL;
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

static void on_connected(struct engine *e, struct job *j)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
		/* refused or unreachable */
		if (j->act == ACT_PROBE && j->res && j->res->name[0])
			job_match(e, j, j->res);
		else
			job_finish(e, j);
		return;
	}
	j->connected_once = true;
	ev_set(e, j, EPOLLIN, false);
	if (j->tls_mode || j->act == ACT_TLS_DETECT) {
		j->ssl = pc_tls_new(e->tls_ctx);
		if (!j->ssl) {
			job_finish(e, j);
			return;
		}
		j->conn = CONN_HANDSHAKE;
		j->clean = false;
		tls_step(e, j);
		return;
	}
	j->conn = CONN_READY;
	step_begin(e, j);
}

static void on_eof(struct engine *e, struct job *j)
{
	if (j->act == ACT_TLS_DETECT || j->conn == CONN_HANDSHAKE)
		tls_fail(e, j);
	else if (j->act == ACT_PROBE)
		probe_done(e, j, true);
	else if (j->act == ACT_PASSIVE)
		passive_done(e, j, true);
	else
		job_next(e, j);
}

static void on_readable(struct engine *e, struct job *j)
{
	uint8_t buf[4096];
	size_t room = PC_PROBE_READ_CAP - j->read_total;
	if (room == 0) {
		/* the byte cap: what the probe has is what it gets */
		if (j->act == ACT_PROBE)
			probe_done(e, j, false);
		else if (j->act == ACT_PASSIVE)
			passive_done(e, j, false);
		else
			job_finish(e, j);
		return;
	}
	ssize_t n = recv(j->fd, buf, room < sizeof(buf) ? room : sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (j->udp && errno == ECONNREFUSED) {
			job_finish(e, j); /* ICMP port unreachable: nothing there */
			return;
		}
		on_eof(e, j);
		return;
	}
	if (n == 0 && !j->udp) {
		on_eof(e, j);
		return;
	}
	j->read_total += (size_t)n;
	if (!j->ssl) {
		deliver(e, j, buf, (size_t)n);
		return;
	}
	if (!j->got_first_cipher && n > 0) {
		j->got_first_cipher = true;
		j->tls_saw_handshake = buf[0] == 0x16 && (n < 2 || buf[1] == 0x03);
	}
	BIO_write(SSL_get_rbio(j->ssl), buf, (int)n);
	if (j->conn == CONN_HANDSHAKE) {
		tls_step(e, j);
		if (!j->used || j->conn != CONN_READY || !j->ssl)
			return;
	}
	/* decrypt what is there; a probe may end the job on any piece */
	for (;;) {
		if (!j->used || !j->ssl)
			return;
		int r = SSL_read(j->ssl, buf, sizeof(buf));
		if (r > 0) {
			SSL *before = j->ssl;
			int fd_before = j->fd;
			deliver(e, j, buf, (size_t)r);
			if (j->ssl != before || j->fd != fd_before)
				return; /* reconnected or finished */
			continue;
		}
		int err = SSL_get_error(j->ssl, r);
		ERR_clear_error();
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			if (flush_pending(e, j) < 0)
				on_eof(e, j);
			return;
		}
		on_eof(e, j);
		return;
	}
}

static void on_timeout(struct engine *e, struct job *j)
{
	if (j->conn == CONN_CONNECTING && !j->connected_once) {
		job_finish(e, j); /* filtered: nothing to identify */
		return;
	}
	if (j->conn == CONN_HANDSHAKE && j->starttls) {
		tls_fail(e, j);
		return;
	}
	if (j->conn == CONN_CONNECTING || j->conn == CONN_HANDSHAKE) {
		if (j->act == ACT_TLS_DETECT) {
			j->silent += j->got_first_cipher ? 0 : 1;
			j->act = ACT_NONE;
			job_next(e, j);
		} else if (j->act == ACT_PROBE && j->res && j->res->name[0]) {
			job_match(e, j, j->res);
		} else {
			j->silent++;
			job_next(e, j);
		}
		return;
	}
	if (j->act == ACT_PROBE)
		probe_done(e, j, false);
	else if (j->act == ACT_PASSIVE)
		passive_done(e, j, false);
	else
		job_next(e, j);
}

/* ---- the run ------------------------------------------------------- */

static bool wanted(const struct pc_endpoint *ep)
{
	if (ep->service)
		return false;
	/* a socket bound to a multicast or broadcast address is not a service
	 * we can ask: a datagram there would leave for every host on the link */
	struct pc_addr a;
	pc_endpoint_dial_addr(ep, &a);
	if (pc_addr_is_multicast(&a) ||
	    (a.family == AF_INET && pc_addr_v4(&a) == 0xffffffffu))
		return false;
	if (ep->proto == PC_PROTO_TCP) {
		if (ep->state != PC_STATE_LISTEN && ep->state != PC_STATE_OPEN)
			return false;
		if (ep->state == PC_STATE_LISTEN && ep->verified.done && !ep->verified.reachable)
			return false;
		return true;
	}
	return ep->state == PC_STATE_LISTEN || ep->state == PC_STATE_OPEN ||
	       ep->state == PC_STATE_OPEN_FILTERED;
}

/* A host is an address inside one network namespace: 127.0.0.1 in two
 * containers is two hosts. */
static uint64_t ns_of(const struct pc_endpoint *ep)
{
	return ep->source == PC_SOURCE_HOST ? ep->netns.inode : 0;
}

static size_t host_count(struct engine *e, const struct pc_addr *a, uint64_t ns)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n_jobs; i++)
		if (e->jobs[i].used && e->jobs[i].ns == ns && pc_addr_equal(&e->jobs[i].addr, a))
			n++;
	return n;
}

static bool job_start(struct engine *e, struct job *j, size_t ep_index)
{
	struct pc_endpoint *ep = &e->snap->endpoints[ep_index];
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->fd = -1;
	j->ep_index = ep_index;
	j->port = ep->port;
	j->ns = ns_of(ep);
	j->udp = ep->proto == PC_PROTO_UDP;
	if (ep->state == PC_STATE_LISTEN)
		pc_endpoint_dial_addr(ep, &j->addr);
	else
		j->addr = ep->addr;
	j->budget_end = pc_monotonic_ms() + e->o.timeout_ms * 6;
	plan_build(e, j, false);
	/* job_next increments first */
	j->step = (size_t)-1;
	j->clean = false;
	job_next(e, j);
	return true;
}

int pc_probe_run(struct pc_snapshot *snap, const struct pc_probe_run_opts *opts,
		 struct pc_error *err)
{
	struct engine e = { .snap = snap, .epfd = -1, .tls_index = -1 };
	uint8_t *taken = NULL;
	int ret = 0;
	if (opts)
		e.o = *opts;
	if (e.o.timeout_ms <= 0)
		e.o.timeout_ms = 2000;
	if (e.o.parallel == 0)
		e.o.parallel = 32;
	if (e.o.host_inflight == 0)
		e.o.host_inflight = 4;
	for (size_t i = 0; i < pc_probe_registry_len && e.n_probes < MAX_PROBES; i++)
		e.probes[e.n_probes++] = pc_probe_registry[i];

	e.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e.epfd < 0)
		return pc_error_set(err, -errno, "probe: epoll_create1: %s", strerror(errno));
	e.tls_ctx = pc_tls_ctx_new();
	if (!e.tls_ctx) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: cannot create a TLS context");
		goto out;
	}
	e.n_jobs = e.o.parallel;
	e.jobs = calloc(e.n_jobs, sizeof(*e.jobs));
	if (!e.jobs) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		goto out;
	}

	taken = calloc(snap->n_endpoints ? snap->n_endpoints : 1, 1);
	if (!taken) {
		ret = pc_error_set(err, PC_ENOMEM, "probe: out of memory");
		goto out;
	}
	size_t next = 0; /* every endpoint before it is taken */
	for (;;) {
		/* fill free slots, respecting the per-host cap */
		size_t active = 0, slot = 0;
		for (size_t k = 0; k < e.n_jobs; k++)
			active += e.jobs[k].used;
		while (next < snap->n_endpoints && (taken[next] || !wanted(&snap->endpoints[next])))
			taken[next++] = 1;
		for (size_t i = next; i < snap->n_endpoints && active < e.n_jobs; i++) {
			struct pc_endpoint *ep = &snap->endpoints[i];
			if (taken[i] || !wanted(ep))
				continue;
			struct pc_addr a;
			if (ep->state == PC_STATE_LISTEN)
				pc_endpoint_dial_addr(ep, &a);
			else
				a = ep->addr;
			if (host_count(&e, &a, ns_of(ep)) >= e.o.host_inflight)
				continue;
			while (e.jobs[slot].used)
				slot++;
			taken[i] = 1;
			active++;
			job_start(&e, &e.jobs[slot], i);
		}
		active = 0;
		for (size_t k = 0; k < e.n_jobs; k++)
			active += e.jobs[k].used;
		if (active == 0) {
			while (next < snap->n_endpoints && taken[next])
				next++;
			if (next >= snap->n_endpoints)
				break;
			continue;
		}

		double now = pc_monotonic_ms();
		double soonest = now + 1000;
		for (size_t k = 0; k < e.n_jobs; k++)
			if (e.jobs[k].used && e.jobs[k].deadline < soonest)
				soonest = e.jobs[k].deadline;
		int wait = soonest <= now ? 0 : (int)(soonest - now) + 1;
		struct epoll_event evs[64];
		int n = epoll_wait(e.epfd, evs, 64, wait);
		if (n < 0 && errno != EINTR) {
			ret = pc_error_set(err, -errno, "probe: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int k = 0; k < n; k++) {
			struct job *j = evs[k].data.ptr;
			if (!j->used || j->fd < 0)
				continue;
			if (j->conn == CONN_CONNECTING) {
				on_connected(&e, j);
				continue;
			}
			if (evs[k].events & EPOLLOUT) {
				if (flush_pending(&e, j) < 0) {
					on_eof(&e, j);
					continue;
				}
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(&e, j);
		}
		now = pc_monotonic_ms();
		for (size_t k = 0; k < e.n_jobs; k++) {
			struct job *j = &e.jobs[k];
			if (j->used && j->deadline <= now)
				on_timeout(&e, j);
		}
	}
out:
	if (e.jobs) {
		for (size_t k = 0; k < e.n_jobs; k++)
			if (e.jobs[k].used)
				job_finish(&e, &e.jobs[k]);
		free(e.jobs);
	}
	free(taken);
	pc_tls_ctx_free(e.tls_ctx);
	if (e.epfd >= 0)
		close(e.epfd);
	ERR_clear_error();
	return ret;
}
