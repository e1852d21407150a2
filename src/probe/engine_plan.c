/*
 * engine_plan.c - the plan of one job: which probes it tries, in which
 * order.
 *
 * A plan is a short array of steps (a probe, the passive read, the TLS
 * handshake), built once when the job starts and again, from the current
 * step on, when a TLS handshake succeeds (the probes that make sense inside
 * TLS). Order is what makes the engine fast on ordinary ports and still
 * right on odd ones: first what the port suggests, then the passive read
 * (silent services cost a quarter timeout there), then the rest by
 * likelihood (the registry order). A step appears at most once, and a peer
 * that answers with a TLS record moves the handshake to the next step.
 */
#include "probe/engine.h"

#include <string.h>

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

bool pc_probe_plan_usable(const struct pc_probe_ops *p, bool udp, bool in_tls)
{
	if (!!(p->flags & PC_PROBE_F_UDP) != udp)
		return false;
	if (in_tls && !(p->flags & PC_PROBE_F_TLS))
		return false;
	return true;
}

/* Build the plan from j->step on: likely probes, passive read, the rest. */
void pc_probe_plan_build(struct engine *e, struct job *j, bool in_tls)
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
		if (!pc_probe_plan_usable(p, j->udp, in_tls))
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
		if (!pc_probe_plan_usable(p, j->udp, in_tls) || (p->flags & PC_PROBE_F_BANNER))
			continue;
		if ((p->flags & PC_PROBE_F_PORTS_ONLY) && !pc_probe_has_port(p->ports, j->port))
			continue;
		plan_add(j, STEP_PROBE, i);
	}
}

/* The peer answered with a TLS record: try the handshake next. */
void pc_probe_plan_tls_next(struct job *j)
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
