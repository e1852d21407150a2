/*
 * test_privsep.c - the privsep record format and the parent's checks.
 *
 * The decoder is fed real records (every type, strings at their cap), the
 * same datagram cut at every byte, and records with each field corrupted
 * in turn; the parent's apply step is fed records that lie about what the
 * parent knows (indexes, duplicates, state changes, records after the end,
 * records in the wrong direction, too many warnings). Then two real
 * workers: one that reports a result, and one that makes a forbidden
 * system call and must fail the run with "killed by signal SIGSYS".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "privsep/msg.h"
#include "privsep/privsep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct pc_privsep_str S(const char *s)
{
	return (struct pc_privsep_str){s, s ? strlen(s) : 0};
}

/* A datagram with one record of every type a worker sends. */
static void sample(struct pc_privsep_out *out, struct pc_snapshot **ret_snap)
{
	struct pc_snapshot *s = pc_snapshot_new("test");
	assert_non_null(s);
	struct pc_endpoint *ep = pc_snapshot_add_endpoint(s);
	assert_non_null(ep);
	ep->source = PC_SOURCE_IMPORT;
	ep->state = PC_STATE_OPEN;
	ep->verified.done = true;
	ep->verified.reachable = true;
	ep->verified.rtt_ms = 0.25;
	ep->recheck = PC_RECHECK_DIFFERENT;
	ep->recheck_reason = "file says redis; it is http (nginx 1.22.1)";
	struct pc_service *svc = pc_snapshot_service(s);
	svc->name = "http";
	svc->product = "nginx";
	svc->version = "1.22.1";
	svc->tls = PC_TRI_TRUE;
	svc->auth = PC_AUTH_NONE;
	svc->evidence = "HTTP/1.1 200 OK";
	svc->banner = "Server: nginx/1.22.1 \xc3\xa9";
	struct pc_tls_info *ti = pc_arena_alloc(&s->arena, sizeof(*ti));
	ti->version = "TLSv1.3";
	ti->cipher = "TLS_AES_256_GCM_SHA384";
	ti->subject = "CN=lab";
	ti->issuer = "CN=lab";
	ti->not_after = "2036-01-01T00:00:00Z";
	ti->self_signed = PC_TRI_TRUE;
	svc->tls_info = ti;
	static const char *methods[] = {"publickey", "password"};
	svc->auth_methods = methods;
	svc->n_auth_methods = 2;
	struct pc_ssh_info *si = pc_arena_alloc(&s->arena, sizeof(*si));
	si->hostkey_type = "ssh-ed25519";
	si->hostkey_fingerprint = "SHA256:abc";
	svc->ssh_info = si;
	ep->service = svc;
	ep = pc_snapshot_add_endpoint(s); /* a second one, skipped by the probes */
	ep->source = PC_SOURCE_HOST;
	ep->state = PC_STATE_LISTEN;
	ep->probe_skipped = "per-host cap";

	out->len = 0;
	struct pc_privsep_rec rec;
	pc_privsep_update_from(&rec, 0, &s->endpoints[0]);
	assert_int_equal(pc_privsep_put(out, &rec), 0);
	pc_privsep_update_from(&rec, 1, &s->endpoints[1]);
	assert_int_equal(pc_privsep_put(out, &rec), 0);
	rec = (struct pc_privsep_rec){.type = PC_PRIVSEP_WARNING, .u.warning = S("a warning")};
	assert_int_equal(pc_privsep_put(out, &rec), 0);
	rec = (struct pc_privsep_rec){.type = PC_PRIVSEP_DONE, .u.done = {0, S("")}};
	assert_int_equal(pc_privsep_put(out, &rec), 0);
	*ret_snap = s;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct pc_privsep_out *out = malloc(sizeof(*out));
	struct pc_snapshot *src;
	sample(out, &src);

	/* apply to a fresh copy of the two endpoints */
	struct pc_snapshot *dst = pc_snapshot_new("test");
	for (int i = 0; i < 2; i++) {
		struct pc_endpoint *e = pc_snapshot_add_endpoint(dst);
		e->source = src->endpoints[i].source;
		e->state = src->endpoints[i].state;
	}
	struct pc_privsep_parent *p = pc_privsep_parent_new(dst, NULL);
	struct pc_error err = {0};
	assert_int_equal(pc_privsep_parent_feed(p, out->buf, out->len, &err), 0);
	assert_int_equal(pc_privsep_parent_result(p, &err), 0);
	const struct pc_endpoint *e = &dst->endpoints[0];
	assert_true(e->verified.done && e->verified.reachable);
	assert_true(e->verified.rtt_ms == 0.25);
	assert_int_equal(e->recheck, PC_RECHECK_DIFFERENT);
	assert_string_equal(e->recheck_reason, src->endpoints[0].recheck_reason);
	assert_non_null(e->service);
	assert_string_equal(e->service->name, "http");
	assert_string_equal(e->service->product, "nginx");
	assert_string_equal(e->service->banner, "Server: nginx/1.22.1 \xc3\xa9");
	assert_int_equal(e->service->tls, PC_TRI_TRUE);
	assert_int_equal(e->service->auth, PC_AUTH_NONE);
	assert_non_null(e->service->tls_info);
	assert_string_equal(e->service->tls_info->not_after, "2036-01-01T00:00:00Z");
	assert_int_equal(e->service->tls_info->self_signed, PC_TRI_TRUE);
	assert_int_equal(e->service->n_auth_methods, 2);
	assert_string_equal(e->service->auth_methods[1], "password");
	assert_non_null(e->service->ssh_info);
	assert_string_equal(e->service->ssh_info->hostkey_fingerprint, "SHA256:abc");
	assert_null(dst->endpoints[1].service);
	assert_string_equal(dst->endpoints[1].probe_skipped, "per-host cap");
	assert_null(e->probe_skipped);
	assert_int_equal(dst->n_warnings, 1);
	assert_string_equal(dst->warnings[0], "a warning");
	pc_privsep_parent_free(p);
	pc_snapshot_free(dst);
	pc_snapshot_free(src);
	free(out);
}

/* Every other record type survives encode + decode unchanged. */
static void test_record_types(void **state)
{
	(void)state;
	struct pc_privsep_out *out = malloc(sizeof(*out));
	out->len = 0;
	struct pc_privsep_rec in[4] = {
		{.type = PC_PRIVSEP_SOCKET_REQ,
		 .u.socket_req = {123456789, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0}},
		{.type = PC_PRIVSEP_SOCKET_REP, .u.socket_rep = -2},
		{.type = PC_PRIVSEP_FOUND,
		 .u.found = {PC_PROTO_UDP, {AF_INET, {198, 18, 0, 2}}, 53, PC_STATE_OPEN, 1.5}},
		{.type = PC_PRIVSEP_PROGRESS,
		 .u.stats = {10, 9, 8, 7, 1.25, 8.0, 6}},
	};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pc_privsep_put(out, &in[i]), 0);
	size_t off = 0;
	struct pc_privsep_rec r;
	struct pc_error err = {0};
	assert_int_equal(pc_privsep_decode(out->buf, out->len, &off, &r, &err), 0);
	assert_int_equal(r.u.socket_req.netns, 123456789);
	assert_int_equal(r.u.socket_req.type, SOCK_STREAM | SOCK_NONBLOCK);
	assert_int_equal(pc_privsep_decode(out->buf, out->len, &off, &r, &err), 0);
	assert_int_equal(r.u.socket_rep, -2);
	assert_int_equal(pc_privsep_decode(out->buf, out->len, &off, &r, &err), 0);
	assert_int_equal(r.u.found.port, 53);
	assert_true(pc_addr_equal(&r.u.found.addr, &in[2].u.found.addr));
	assert_int_equal(pc_privsep_decode(out->buf, out->len, &off, &r, &err), 0);
	assert_int_equal(r.type, PC_PRIVSEP_PROGRESS);
	assert_int_equal(r.u.stats.capture_drops, 7);
	assert_int_equal(r.u.stats.found, 6);
	assert_int_equal(off, out->len);

	/* strings are cut at the cap, at a character boundary */
	char *big = malloc(PC_PRIVSEP_STR_MAX + 10);
	memset(big, 'a', PC_PRIVSEP_STR_MAX + 9);
	memcpy(big + PC_PRIVSEP_STR_MAX - 1, "\xc3\xa9", 2);
	big[PC_PRIVSEP_STR_MAX + 9] = '\0';
	out->len = 0;
	struct pc_privsep_rec w = {.type = PC_PRIVSEP_WARNING, .u.warning = S(big)};
	assert_int_equal(pc_privsep_put(out, &w), 0);
	off = 0;
	assert_int_equal(pc_privsep_decode(out->buf, out->len, &off, &r, &err), 0);
	assert_int_equal(r.u.warning.len, PC_PRIVSEP_STR_MAX - 1);
	free(big);

	/* a full datagram refuses the record whole */
	out->len = sizeof(out->buf) - 10;
	assert_int_equal(pc_privsep_put(out, &in[0]), PC_ETOOBIG);
	assert_int_equal(out->len, sizeof(out->buf) - 10);
	free(out);
}

/* The sample datagram cut at every byte: a decode error, never a crash or
 * a read past the cut (ASan would see it: the cut copy is exactly sized). */
static void test_cut_at_every_byte(void **state)
{
	(void)state;
	struct pc_privsep_out *out = malloc(sizeof(*out));
	struct pc_snapshot *src;
	sample(out, &src);
	for (size_t cut = 0; cut < out->len; cut++) {
		uint8_t *b = malloc(cut ? cut : 1);
		memcpy(b, out->buf, cut);
		size_t off = 0;
		int r = 0;
		struct pc_privsep_rec rec;
		struct pc_error err = {0};
		while (r == 0 && off < cut)
			r = pc_privsep_decode(b, cut, &off, &rec, &err);
		/* a cut between two records is a valid (shorter) datagram */
		if (r == 0)
			assert_true(off == cut);
		else
			assert_int_equal(r, PC_EPARSE);
		free(b);
	}
	pc_snapshot_free(src);
	free(out);
}

/* One record, encoded, its byte at `at` (from the record's start) patched
 * to v, then decoded (p NULL) or fed to the parent p; returns the verdict,
 * and the error message in ret_msg (512 bytes) when not NULL. */
static int run_one(const struct pc_privsep_rec *rec, size_t at, const void *v, size_t n,
		   struct pc_privsep_parent *p, char *ret_msg)
{
	struct pc_privsep_out *out = malloc(sizeof(*out));
	out->len = 0;
	assert_int_equal(pc_privsep_put(out, rec), 0);
	memcpy(out->buf + at, v, n);
	size_t off = 0;
	struct pc_privsep_rec r;
	struct pc_error err = {0};
	int ret = p ? pc_privsep_parent_feed(p, out->buf, out->len, &err)
		    : pc_privsep_decode(out->buf, out->len, &off, &r, &err);
	if (ret_msg)
		snprintf(ret_msg, 512, "%s", err.msg);
	free(out);
	return ret;
}

static int decode_patched(const struct pc_privsep_rec *rec, size_t at, const void *v, size_t n,
			  char *ret_msg)
{
	return run_one(rec, at, v, n, NULL, ret_msg);
}

static void test_corrupt_fields(void **state)
{
	(void)state;
	char msg[512];
	struct pc_privsep_rec found = {
		.type = PC_PRIVSEP_FOUND,
		.u.found = {PC_PROTO_TCP, {AF_INET, {198, 18, 0, 2}}, 80, PC_STATE_OPEN, 1.0},
	};
	const size_t H = PC_PRIVSEP_HDR_LEN;
	uint8_t b;
	uint16_t u16;
	uint32_t u32;
	double d;
	assert_int_equal(decode_patched(&found, 0, "", 0, NULL), 0);
	/* header */
	u16 = 0x4242;
	assert_int_equal(decode_patched(&found, 0, &u16, 2, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "magic"));
	b = PC_PRIVSEP_VERSION + 1;
	assert_int_equal(decode_patched(&found, 2, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "version"));
	b = 0;
	assert_int_equal(decode_patched(&found, 3, &b, 1, NULL), PC_EPARSE);
	b = PC_PRIVSEP_TYPE_MAX + 1;
	assert_int_equal(decode_patched(&found, 3, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "unknown record type"));
	u32 = 0xffffffffu;
	assert_int_equal(decode_patched(&found, 4, &u32, 4, NULL), PC_EPARSE);
	u32 = 1; /* a body shorter than the record: the rest are trailing bytes */
	assert_int_equal(decode_patched(&found, 4, &u32, 4, NULL), PC_EPARSE);
	/* body: proto, family, addr, port, state, rtt */
	b = 2;
	assert_int_equal(decode_patched(&found, H + 0, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "found.proto"));
	b = 7;
	assert_int_equal(decode_patched(&found, H + 1, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "found.family"));
	b = 1; /* a byte after an IPv4 address */
	assert_int_equal(decode_patched(&found, H + 2 + 4, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "found.addr"));
	b = PC_STATE_FORWARDED + 1;
	assert_int_equal(decode_patched(&found, H + 2 + 16 + 2, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "found.state"));
	d = NAN;
	assert_int_equal(decode_patched(&found, H + 2 + 16 + 3, &d, 8, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "found.rtt_ms"));
	d = -5;
	assert_int_equal(decode_patched(&found, H + 2 + 16 + 3, &d, 8, NULL), PC_EPARSE);
	d = INFINITY;
	assert_int_equal(decode_patched(&found, H + 2 + 16 + 3, &d, 8, NULL), PC_EPARSE);

	/* an update: flags, enums, strings */
	struct pc_privsep_rec up = {.type = PC_PRIVSEP_UPDATE};
	up.u.update = (struct pc_privsep_update){
		.index = 0, .state = PC_STATE_LISTEN, .rtt_ms = -1, .v_done = true,
		.v_rtt_ms = -1, .v_error = S("refused"), .recheck_reason = S(NULL),
	};
	assert_int_equal(decode_patched(&up, 0, "", 0, NULL), 0);
	b = 2; /* verified.done is 0 or 1 */
	assert_int_equal(decode_patched(&up, H + 4 + 1 + 8, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "verified.done"));
	size_t s_at = H + 4 + 1 + 8 + 1 + 1 + 8; /* verified.error's length */
	u16 = PC_PRIVSEP_STR_MAX + 1;
	assert_int_equal(decode_patched(&up, s_at, &u16, 2, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "verified.error"));
	assert_int_equal(decode_patched(&up, s_at + 2 + 2, "\0", 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "verified.error"));
	b = PC_RECHECK_DIFFERENT + 1;
	assert_int_equal(decode_patched(&up, s_at + 2 + 7, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "update.recheck"));

	/* a service: more auth methods than the cap, a NULL method */
	up.u.update.has_service = true;
	up.u.update.name = S("ssh");
	up.u.update.n_auth_methods = 1;
	up.u.update.auth_methods[0] = S("publickey");
	assert_int_equal(decode_patched(&up, 0, "", 0, NULL), 0);
	/* the count sits after 5 NULL strings, tls, auth, has_tls_info */
	size_t m_at = s_at + 2 + 7 + 1 + 2 + 1 + (2 + 3) + 4 * 2 + 3;
	b = PC_PRIVSEP_AUTH_METHODS_MAX + 1;
	assert_int_equal(decode_patched(&up, m_at, &b, 1, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "n_auth_methods"));
	u16 = PC_PRIVSEP_STR_NULL;
	assert_int_equal(decode_patched(&up, m_at + 1, &u16, 2, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "auth_methods"));

	/* DONE may not claim success with a positive code; a warning is
	 * never NULL */
	struct pc_privsep_rec done = {.type = PC_PRIVSEP_DONE, .u.done = {5, S("x")}};
	assert_int_equal(decode_patched(&done, 0, "", 0, NULL), PC_EPARSE);
	struct pc_privsep_rec w = {.type = PC_PRIVSEP_WARNING, .u.warning = S(NULL)};
	assert_int_equal(decode_patched(&w, 0, "", 0, NULL), PC_EPARSE);
}

/* Records that decode but lie about what the parent knows. */
static int feed_one(struct pc_privsep_parent *p, const struct pc_privsep_rec *rec, char *ret_msg)
{
	return run_one(rec, 0, "", 0, p, ret_msg);
}

static void test_parent_checks(void **state)
{
	(void)state;
	char msg[512];
	struct pc_snapshot *s = pc_snapshot_new("test");
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_HOST;
	e->state = PC_STATE_LISTEN;
	struct pc_privsep_parent *p = pc_privsep_parent_new(s, NULL);

	struct pc_privsep_rec up;
	pc_privsep_update_from(&up, 1, e); /* index past the snapshot */
	assert_int_equal(feed_one(p, &up, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "endpoint 1 of 1"));
	pc_privsep_update_from(&up, 0, e);
	up.u.update.state = PC_STATE_OPEN; /* a live check changes no state */
	assert_int_equal(feed_one(p, &up, msg), PC_EPARSE);
	pc_privsep_parent_free(p);

	p = pc_privsep_parent_new(s, NULL);
	pc_privsep_update_from(&up, 0, e);
	up.u.update.v_done = true;
	assert_int_equal(feed_one(p, &up, NULL), 0);
	assert_true(s->endpoints[0].verified.done);
	assert_int_equal(feed_one(p, &up, msg), PC_EPARSE); /* twice */
	assert_non_null(strstr(msg, "second update"));

	struct pc_privsep_rec found = {
		.type = PC_PRIVSEP_FOUND,
		.u.found = {PC_PROTO_TCP, {AF_INET, {198, 18, 0, 2}}, 80, PC_STATE_OPEN, 1.0},
	};
	assert_int_equal(feed_one(p, &found, NULL), PC_EPARSE); /* not a scan */
	struct pc_privsep_rec rep = {.type = PC_PRIVSEP_SOCKET_REP};
	assert_int_equal(feed_one(p, &rep, NULL), PC_EPARSE); /* wrong direction */
	struct pc_privsep_rec req = {.type = PC_PRIVSEP_SOCKET_REQ,
				     .u.socket_req = {1, AF_UNIX, SOCK_STREAM, 0}};
	assert_int_equal(feed_one(p, &req, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "domain"));
	req.u.socket_req = (struct pc_privsep_socket_req){1, AF_INET, SOCK_RAW, 0};
	assert_int_equal(feed_one(p, &req, NULL), PC_EPARSE);
	req.u.socket_req = (struct pc_privsep_socket_req){1, AF_INET, SOCK_DGRAM, 6};
	assert_int_equal(feed_one(p, &req, NULL), PC_EPARSE);
	/* an unknown namespace is an honest question: answered with ENOENT */
	req.u.socket_req = (struct pc_privsep_socket_req){1, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0};
	assert_int_equal(feed_one(p, &req, NULL), 0);

	struct pc_privsep_rec w = {.type = PC_PRIVSEP_WARNING, .u.warning = S("w")};
	int r = 0;
	for (int i = 0; i < 1000 && r == 0; i++)
		r = feed_one(p, &w, msg);
	assert_int_equal(r, PC_EPARSE);
	assert_non_null(strstr(msg, "warnings"));
	pc_privsep_parent_free(p);

	/* DONE: an input-error code from the worker is a runtime failure; no
	 * record may follow */
	p = pc_privsep_parent_new(s, NULL);
	struct pc_error err = {0};
	assert_int_equal(pc_privsep_parent_result(p, &err), 1);
	struct pc_privsep_rec done = {.type = PC_PRIVSEP_DONE, .u.done = {PC_EINVAL, S("bad")}};
	assert_int_equal(feed_one(p, &done, NULL), 0);
	assert_int_equal(pc_privsep_parent_result(p, &err), PC_EIO);
	assert_string_equal(err.msg, "bad");
	assert_int_equal(feed_one(p, &w, msg), PC_EPARSE);
	assert_non_null(strstr(msg, "after the end"));
	pc_privsep_parent_free(p);
	pc_snapshot_free(s);
}

static void test_user(void **state)
{
	(void)state;
	struct pc_privsep_opts o;
	struct pc_error err = {0};
	assert_int_equal(pc_privsep_opts_init(&o, NULL, &err), 0);
	assert_string_equal(o.user, "nobody");
	assert_int_not_equal(o.uid, 0);
	assert_int_equal(pc_privsep_opts_init(&o, "pc-no-such-user-x", &err), PC_EINVAL);
	assert_non_null(strstr(err.msg, "no user 'pc-no-such-user-x'"));
	assert_int_equal(pc_privsep_opts_init(&o, "root", &err), PC_EINVAL);
}

/* ---- real workers ---- */

static int worker_verifies(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
			   struct pc_error *err)
{
	(void)ps;
	(void)arg;
	(void)err;
	snap->endpoints[0].verified.done = true;
	snap->endpoints[0].verified.reachable = geteuid() != 0; /* never root here */
	pc_snapshot_warn(snap, "from the worker");
	return 0;
}

static int worker_fails(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
			struct pc_error *err)
{
	(void)ps;
	(void)snap;
	(void)arg;
	return pc_error_set(err, -EMFILE, "socket: too many open files");
}

static int worker_forbidden(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
			    struct pc_error *err)
{
	(void)ps;
	(void)snap;
	(void)arg;
	(void)err;
	syscall(SYS_unshare, 0); /* not on the list: the worker dies here */
	return 0;
}

/* The socket broker: the parent makes an inet socket in its own
 * namespace and passes it; an unknown namespace is ENOENT. No packet is
 * sent: the socket is only made. */
static int worker_sockets(struct pc_privsep *ps, struct pc_snapshot *snap, void *arg,
			  struct pc_error *err)
{
	(void)snap;
	uint64_t self = *(const uint64_t *)arg;
	int fd = pc_privsep_socket(ps, self, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return pc_error_set(err, PC_EIO, "own namespace: %s", strerror(-fd));
	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return pc_error_set(err, PC_EIO, "not a stream socket");
	close(fd);
	int r = pc_privsep_socket(ps, self + 1, AF_INET, SOCK_STREAM, 0);
	if (r != -ENOENT)
		return pc_error_set(err, PC_EIO, "unknown namespace gave %d", r);
	/* a lie: the parent must kill us here */
	pc_privsep_socket(ps, self, AF_UNIX, SOCK_STREAM, 0);
	return pc_error_set(err, PC_EIO, "still alive after asking for AF_UNIX");
}

static void test_socket_broker(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	uint64_t self = (uint64_t)st.st_ino;
	struct pc_privsep_opts o;
	struct pc_error err = {0};
	assert_int_equal(pc_privsep_opts_init(&o, NULL, &err), 0);
	struct pc_snapshot *s = pc_snapshot_new("test");
	struct pc_privsep_hooks h = {.close_fds = true};
	assert_int_equal(pc_privsep_run(s, &o, &h, worker_sockets, &self, &err), PC_EIO);
	assert_non_null(strstr(err.msg, "probe worker sent a malformed message: socket request "
					"for domain"));
	pc_snapshot_free(s);
}

/* What /proc/self/fd lists: stdio excluded, a new pipe included. */
static void test_fds_open(void **state)
{
	(void)state;
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	int *fds = NULL;
	size_t n = 0;
	assert_int_equal(pc_privsep_fds_open(&fds, &n), 0);
	bool r = false, w = false;
	for (size_t i = 0; i < n; i++) {
		assert_true(fds[i] > 2);
		r |= fds[i] == pfd[0];
		w |= fds[i] == pfd[1];
	}
	assert_true(r && w);
	free(fds);
	close(pfd[0]);
	close(pfd[1]);
}

static void test_live_worker(void **state)
{
	(void)state;
	struct pc_privsep_opts o;
	struct pc_error err = {0};
	assert_int_equal(pc_privsep_opts_init(&o, NULL, &err), 0);
	struct pc_snapshot *s = pc_snapshot_new("test");
	struct pc_endpoint *e = pc_snapshot_add_endpoint(s);
	e->source = PC_SOURCE_HOST;
	struct pc_privsep_hooks h = {.close_fds = true};
	int r = pc_privsep_run(s, &o, &h, worker_verifies, NULL, &err);
	if (r != 0)
		fail_msg("%s", err.msg);
	assert_true(s->endpoints[0].verified.done);
	assert_true(s->endpoints[0].verified.reachable);
	assert_int_equal(s->n_warnings, 1);

	assert_int_equal(pc_privsep_run(s, &o, &h, worker_fails, NULL, &err), -EMFILE);
	assert_string_equal(err.msg, "socket: too many open files");

	assert_int_equal(pc_privsep_run(s, &o, &h, worker_forbidden, NULL, &err), PC_EIO);
	assert_string_equal(err.msg,
			    "probe worker killed by signal SIGSYS (seccomp: a forbidden system "
			    "call)");
	pc_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_record_types),
		cmocka_unit_test(test_cut_at_every_byte),
		cmocka_unit_test(test_corrupt_fields),
		cmocka_unit_test(test_parent_checks),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_live_worker),
		cmocka_unit_test(test_socket_broker),
		cmocka_unit_test(test_fds_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
