/*
 * ssh_auth.h - SSH authentication evidence: after the engine has named an
 * endpoint "ssh", complete the key exchange with libssh, ask for the
 * "none" method and record what the server offers (ssh_auth.c).
 */
#ifndef PC_PROBE_SSH_AUTH_H
#define PC_PROBE_SSH_AUTH_H

#include "core/error.h"
#include "core/model.h"
#include "probe/probe.h"

#include <stdbool.h>
#include <stddef.h>

/* The user name of the "none" request: fixed, harmless, easy to find in a
 * server's log ("Invalid user portcensus-probe"). */
#define PC_SSH_AUTH_USER "portcensus-probe"
/* At most this many SSH endpoints are checked per run, and per host
 * (address, or network namespace and address for host records): a tarpit
 * answering SSH banners on every port cannot take hours. */
#define PC_SSH_AUTH_MAX_PER_RUN 64
#define PC_SSH_AUTH_MAX_PER_HOST 4
/* Method names a service can list (libssh knows these six). */
#define PC_SSH_AUTH_MAX_METHODS 6

/* What one check found out. */
struct pc_ssh_auth_outcome {
	bool none_ok;          /* the "none" request succeeded: no authentication */
	unsigned methods;      /* libssh SSH_AUTH_METHOD_* bits the server offers */
	char hostkey_type[32]; /* "ssh-ed25519", or "" */
	char fingerprint[96];  /* "SHA256:<base64>", or "" */
};

/* The names of the method bits, in a fixed order (publickey, password,
 * keyboard-interactive, hostbased, gssapi-with-mic, none); unknown bits are
 * ignored. Writes at most max names to ret_names and returns how many. */
size_t pc_probe_ssh_auth_names(unsigned methods, const char **ret_names, size_t max);

/* Fill s (auth, auth_methods, ssh_info, evidence) from o, copying into the
 * snapshot's arena; none_ok means auth none and no methods. 0 or
 * PC_ENOMEM (s then keeps what it had). */
int pc_probe_ssh_auth_apply(struct pc_snapshot *snap, struct pc_service *s,
			    const struct pc_ssh_auth_outcome *o);

/* The follow-up step of pc_probe_run: every TCP endpoint whose service is
 * "ssh", within the caps above, sequentially, each exchange bounded by
 * opts->timeout_ms, sockets from opts->make_socket. Endpoints it cannot
 * check keep auth unknown and say why in their evidence. 0, or PC_ENOMEM. */
int pc_probe_ssh_auth_run(struct pc_snapshot *snap, const struct pc_probe_run_opts *opts,
			  struct pc_error *err);

#endif
