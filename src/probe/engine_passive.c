/*
 * engine_passive.c - many candidate probes over one stream of bytes: the
 * passive banner read (TCP) and the UDP fan-out.
 *
 * Passive read: the connection is opened and nothing is sent; every banner
 * probe (ssh, smtp, ftp, ...) parses what the service says unasked, in
 * parallel, each with its own state. The first live candidate in order
 * (the probes listed for the port first) decides: a match ends the job, a
 * candidate that queued bytes has recognised the service and takes the
 * connection over as the job's active probe.
 *
 * UDP: every UDP probe's request goes out at once on one connected socket,
 * and each datagram that comes back is offered to every probe; the one
 * whose request it answers (ids are checked) claims it. A silent endpoint
 * therefore costs one timeout, not one per probe.
 */
#include "probe/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

/* Bytes of the passive read (or a datagram) for every live candidate. */
void pc_probe_passive_feed(struct engine *e, struct job *j, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < j->n_cands; i++) {
		struct candidate *c = &j->cands[i];
		if (c->dead || c->claimed || c->v == PC_PROBE_MATCH)
			continue;
		c->ctx.out_len = 0;
		c->v = c->ops->feed(c->state, &c->ctx, data, len);
		if (j->udp) {
			/* a datagram answers one request: whoever claims it wins */
			if (c->v == PC_PROBE_MATCH) {
				pc_probe_job_match(e, j, &c->res);
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
			pc_probe_job_match(e, j, &c->res);
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
			pc_probe_job_next(e, j);
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
		pc_probe_active_verdict(e, j, v);
		return;
	}
	/* every candidate gave up */
	pc_probe_job_next(e, j);
}

void pc_probe_passive_done(struct engine *e, struct job *j, bool eof)
{
	if (!j->got_bytes) {
		/* silence leaves the connection clean for the next probe */
		if (!eof)
			j->clean = j->conn == CONN_READY && j->pending_len == 0;
		pc_probe_job_next(e, j);
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
			pc_probe_job_match(e, j, &c->res);
			return;
		}
	}
	pc_probe_job_next(e, j);
}

bool pc_probe_passive_likely(struct engine *e, struct job *j)
{
	if (j->udp)
		return true; /* UDP has one step: give it the full time */
	for (size_t i = 0; i < e->n_probes; i++) {
		const struct pc_probe_ops *p = op(e, i);
		if ((p->flags & PC_PROBE_F_BANNER) && pc_probe_has_port(p->ports, j->port) &&
		    pc_probe_plan_usable(p, false, j->tls_mode))
			return true;
	}
	return false;
}

int pc_probe_passive_setup(struct engine *e, struct job *j)
{
	size_t n = 0, want = 0;
	unsigned kind = j->udp ? PC_PROBE_F_UDP : PC_PROBE_F_BANNER;
	for (size_t i = 0; i < e->n_probes; i++)
		want += (op(e, i)->flags & kind) &&
			pc_probe_plan_usable(op(e, i), j->udp, j->tls_mode);
	/* only the banner probes: a candidate is a few KiB, a crowd is many */
	j->cands = calloc(want ? want : 1, sizeof(*j->cands));
	if (!j->cands)
		return PC_ENOMEM;
	/* likely ones first, then registry order */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < e->n_probes; i++) {
			const struct pc_probe_ops *p = op(e, i);
			if (!(p->flags & kind) || !pc_probe_plan_usable(p, j->udp, j->tls_mode))
				continue;
			if (pc_probe_has_port(p->ports, j->port) != (pass == 0))
				continue;
			struct candidate *c = &j->cands[n];
			c->ops = p;
			c->state = calloc(1, p->state_size ? p->state_size : 1);
			if (!c->state)
				return PC_ENOMEM;
			pc_probe_ctx_fill(j, &c->ctx, &c->res);
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
