/*
 * reach.h - the live check of `audit`: can a connection be made to each TCP
 * listener, from inside the listener's own network namespace, to the address
 * it is bound to (0.0.0.0 -> 127.0.0.1, :: -> ::1)?
 *
 * Non-blocking connects with a deadline each and at most `parallel` in
 * flight, so an audit never knocks over a service. Fills ep->verified for
 * every HOST endpoint in state LISTEN with proto TCP; others are untouched.
 */
#ifndef PC_PROBE_REACH_H
#define PC_PROBE_REACH_H

#include "core/error.h"
#include "core/model.h"
#include "probe/probe.h"

struct pc_netns_set;

struct pc_reach_opts {
	double timeout_ms; /* per connection; default 1000 */
	unsigned parallel; /* in flight; default 4 */
	/* optional: where sockets come from (the probe worker asks its
	 * privileged parent, privsep.h); NULL: made here, from nsset. It is
	 * only asked for listeners whose namespace is known. */
	pc_socket_fn make_socket;
	void *socket_ctx;
};

int pc_reach_verify(struct pc_snapshot *snap, const struct pc_netns_set *nsset,
		    const struct pc_reach_opts *opts, struct pc_error *err);

#endif
