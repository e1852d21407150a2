/*
 * test_ssh_auth.c - SSH authentication evidence without a server: the
 * mapping of libssh's method bits to names, what a result does to a
 * service (none success -> auth none; a refusal -> required with the
 * methods and the host key), the JSON that carries it, and the caps of the
 * follow-up step (per host, per run), counted at the socket seam, whose
 * fake refuses every connection so nothing leaves the process. The real
 * key exchange is tested against sshd in the lab (tests/e2e/ssh_auth.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "probe/ssh_auth.h"
#include "report/report.h"

#include <libssh/libssh.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_names(void **state)
{
	(void)state;
	const char *n[PC_SSH_AUTH_MAX_METHODS];
	size_t k = pc_probe_ssh_auth_names(SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY, n,
					   PC_SSH_AUTH_MAX_METHODS);
	assert_int_equal(k, 2);
	assert_string_equal(n[0], "publickey");
	assert_string_equal(n[1], "password");

	k = pc_probe_ssh_auth_names(0xffffffffu, n, PC_SSH_AUTH_MAX_METHODS);
	assert_int_equal(k, 6); /* unknown bits are ignored */
	const char *all[] = {"publickey", "password",        "keyboard-interactive",
			     "hostbased", "gssapi-with-mic", "none"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(n[i], all[i]);

	assert_int_equal(pc_probe_ssh_auth_names(SSH_AUTH_METHOD_INTERACTIVE, n, 6), 1);
	assert_string_equal(n[0], "keyboard-interactive");
	assert_int_equal(pc_probe_ssh_auth_names(0, n, 6), 0);
	/* never more than max */
	assert_int_equal(pc_probe_ssh_auth_names(0xffffffffu, n, 2), 2);
	assert_string_equal(n[1], "password");
}

static struct pc_service *ssh_service(struct pc_snapshot *s)
{
	struct pc_service *sv = pc_snapshot_service(s);
	assert_non_null(sv);
	sv->name = "ssh";
	sv->auth = PC_AUTH_UNKNOWN;
	sv->evidence = "SSH identification string (protocol 2.0)";
	return sv;
}

/* Apply an outcome to a fresh ssh service of s; returns the service. */
static struct pc_service *apply(struct pc_snapshot *s, bool none_ok, unsigned methods,
				const char *type, const char *fp)
{
	struct pc_service *sv = ssh_service(s);
	struct pc_ssh_auth_outcome o = {.none_ok = none_ok, .methods = methods};
	snprintf(o.hostkey_type, sizeof(o.hostkey_type), "%s", type);
	snprintf(o.fingerprint, sizeof(o.fingerprint), "%s", fp);
	assert_int_equal(pc_probe_ssh_auth_apply(s, sv, &o), 0);
	return sv;
}

static void test_apply_required(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	struct pc_service *sv =
	    apply(s, false, SSH_AUTH_METHOD_PUBLICKEY | SSH_AUTH_METHOD_PASSWORD, "ssh-ed25519",
		  "SHA256:abc");
	assert_int_equal(sv->auth, PC_AUTH_REQUIRED);
	assert_int_equal(sv->n_auth_methods, 2);
	assert_string_equal(sv->auth_methods[0], "publickey");
	assert_string_equal(sv->auth_methods[1], "password");
	assert_non_null(sv->ssh_info);
	assert_string_equal(sv->ssh_info->hostkey_type, "ssh-ed25519");
	assert_string_equal(sv->ssh_info->hostkey_fingerprint, "SHA256:abc");
	assert_string_equal(
	    sv->evidence, "ssh: server offers publickey,password; host key ssh-ed25519 SHA256:abc");

	/* a refusal that lists nothing we know is still "required" */
	struct pc_service *sv2 = apply(s, false, 0, "", "");
	assert_int_equal(sv2->auth, PC_AUTH_REQUIRED);
	assert_int_equal(sv2->n_auth_methods, 0);
	assert_null(sv2->auth_methods);
	assert_null(sv2->ssh_info);
	assert_string_equal(sv2->evidence, "ssh: server refuses none and offers no method we know");
	pc_snapshot_free(s);
}

static void test_apply_none(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	/* none succeeds even when the server would also list methods */
	struct pc_service *sv = apply(s, true, SSH_AUTH_METHOD_PASSWORD, "ssh-rsa", "SHA256:xyz");
	assert_int_equal(sv->auth, PC_AUTH_NONE);
	assert_int_equal(sv->n_auth_methods, 0);
	assert_string_equal(sv->ssh_info->hostkey_type, "ssh-rsa");
	assert_string_equal(sv->evidence, "ssh: server accepts the none method (no password, no "
					  "key); host key ssh-rsa SHA256:xyz");
	pc_snapshot_free(s);
}

static struct pc_endpoint *add_ssh(struct pc_snapshot *s, const char *addr, uint16_t port,
				   const char *name)
{
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	assert_non_null(e);
	e->proto = PC_PROTO_TCP;
	e->state = PC_STATE_OPEN;
	e->source = PC_SOURCE_SCAN;
	assert_int_equal(pc_addr_parse(addr, &e->addr), 0);
	e->port = port;
	e->service = ssh_service(s);
	e->service->name = name;
	return e;
}

static void test_json(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	struct pc_endpoint *e = add_ssh(s, "198.18.23.2", 22, "ssh");
	e->service =
	    apply(s, false, SSH_AUTH_METHOD_PUBLICKEY, "ecdsa-sha2-nistp256", "SHA256:k+/e");
	pc_snapshot_finish(s);

	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	struct pc_report_opts ro = {.view = PC_VIEW_SCAN, .version = "0.test"};
	assert_int_equal(pc_report_find("json")->write(f, s, &ro, false), 0);
	fclose(f);
	/* the writer indents: compare without white space (no value below has any) */
	size_t k = 0;
	for (size_t i = 0; out[i]; i++)
		if (out[i] != ' ' && out[i] != '\n')
			out[k++] = out[i];
	out[k] = '\0';
	assert_non_null(strstr(out, "\"auth\":\"required\""));
	assert_non_null(strstr(out, "\"auth_methods\":[\"publickey\"]"));
	assert_non_null(strstr(out, "\"ssh\":{\"hostkey_type\":\"ecdsa-sha2-nistp256\","
				    "\"hostkey_fingerprint\":\"SHA256:k+/e\"}"));
	free(out);
	pc_snapshot_free(s);
}

/* ---- the caps, counted at the socket seam ---------------------------- */

struct seam {
	unsigned calls;
	unsigned per_port[65536];
};

static int refuse(void *ctx, const struct pc_endpoint *ep, int domain, int type, int protocol)
{
	struct seam *sm = ctx;
	(void)domain;
	(void)type;
	(void)protocol;
	sm->calls++;
	sm->per_port[ep->port]++;
	return -ECONNREFUSED;
}

static void test_caps(void **state)
{
	(void)state;
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	/* a tarpit: SSH on 5 ports of one host; only 4 are checked */
	for (uint16_t p = 1; p <= 5; p++)
		add_ssh(s, "198.18.23.9", p, "ssh");
	/* another service is never touched */
	add_ssh(s, "198.18.23.9", 80, "http");
	/* 70 more hosts: the run stops at 64 checks in all */
	for (unsigned h = 0; h < 70; h++) {
		char a[32];
		snprintf(a, sizeof(a), "198.18.24.%u", h + 1);
		add_ssh(s, a, 22, "ssh");
	}
	struct seam *sm = calloc(1, sizeof(*sm));
	assert_non_null(sm);
	struct pc_probe_run_opts o = {.timeout_ms = 100, .make_socket = refuse, .socket_ctx = sm};
	struct pc_error err = {0};
	assert_int_equal(pc_probe_ssh_auth_run(s, &o, &err), 0);
	assert_int_equal(sm->calls, PC_SSH_AUTH_MAX_PER_RUN);
	assert_int_equal(sm->per_port[1] + sm->per_port[2] + sm->per_port[3] + sm->per_port[4] +
			     sm->per_port[5],
			 PC_SSH_AUTH_MAX_PER_HOST);
	assert_int_equal(sm->per_port[80], 0);
	assert_int_equal(sm->per_port[22], PC_SSH_AUTH_MAX_PER_RUN - PC_SSH_AUTH_MAX_PER_HOST);

	/* checked but refused: auth stays unknown, the evidence says why */
	assert_int_equal(s->endpoints[0].service->auth, PC_AUTH_UNKNOWN);
	assert_string_equal(s->endpoints[0].service->evidence,
			    "SSH identification string (protocol 2.0); ssh auth not checked: "
			    "connect: Connection refused");
	/* beyond the per-host cap: untouched */
	assert_string_equal(s->endpoints[4].service->evidence,
			    "SSH identification string (protocol 2.0)");
	assert_string_equal(s->endpoints[5].service->evidence,
			    "SSH identification string (protocol 2.0)");
	/* one warning with the count: 1 of the tarpit, 10 of the hosts */
	size_t w = 0;
	for (size_t i = 0; i < s->n_warnings; i++)
		if (strcmp(s->warnings[i], "ssh auth: 11 SSH endpoint(s) not checked (at most 4 "
					   "per host, 64 per run)") == 0)
			w++;
	assert_int_equal(w, 1);
	free(sm);
	pc_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),      cmocka_unit_test(test_apply_required),
	    cmocka_unit_test(test_apply_none), cmocka_unit_test(test_json),
	    cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
