/*
 * engine_tls.c - TLS over memory BIOs on the engine's own non-blocking
 * sockets: the handshake, its failure, and the decryption of what arrives.
 *
 * OpenSSL never touches a socket here: ciphertext read from the socket is
 * written into the SSL object's read BIO, and what it wants to send is
 * drained from its write BIO into the job's pending buffer (engine_conn.c).
 * So a TLS endpoint costs no thread and no blocking call, and the same code
 * serves the TLS step of a plan (ACT_TLS_DETECT: a successful handshake
 * records tls_info and starts the plan inside TLS) and a probe's in-band
 * upgrade (PC_PROBE_STARTTLS). The context and the certificate summary are
 * in tls.c.
 */
#include "probe/engine.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

void pc_probe_tls_step(struct engine *e, struct job *j)
{
	int r = SSL_do_handshake(j->ssl);
	if (pc_probe_conn_flush(e, j) < 0) {
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
			pc_probe_plan_build(e, j, true);
			j->step--;
			pc_probe_job_next(e, j);
			return;
		}
		if (j->starttls) {
			j->starttls = false;
			j->upgraded = true;
			if (!j->tls_info)
				j->tls_info = pc_tls_info_get(j->ssl, e->snap);
			j->ctx->tls = true;
		}
		pc_probe_step_begin(e, j);
		return;
	}
	int err = SSL_get_error(j->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return;
fail:
	pc_probe_tls_fail(e, j);
}

/* The handshake failed, or the peer closed in the middle of it. */
void pc_probe_tls_fail(struct engine *e, struct job *j)
{
	if (j->act == ACT_TLS_DETECT) {
		if (j->tls_saw_handshake)
			pc_tls_error_reason(j->tls_fail_reason, sizeof(j->tls_fail_reason));
		ERR_clear_error();
		j->act = ACT_NONE;
		pc_probe_job_next(e, j);
		return;
	}
	ERR_clear_error();
	if (j->starttls && j->act == ACT_PROBE) {
		/* the in-band upgrade failed: the probe decides what it has */
		j->starttls = false;
		j->conn = CONN_NONE;
		pc_probe_active_done(e, j, true);
		return;
	}
	/* a later TLS connection failed: keep what we have */
	if (j->act == ACT_PROBE && j->res && j->res->name[0])
		pc_probe_job_match(e, j, j->res);
	else
		pc_probe_job_finish(e, j);
}

/* Ciphertext buf[0..n) arrived on a TLS connection: feed it to the read
 * BIO, advance the handshake, and deliver what decrypts (buf is reused for
 * the plaintext, size bytes). */
void pc_probe_tls_read(struct engine *e, struct job *j, uint8_t *buf, size_t size, size_t n)
{
	if (!j->got_first_cipher && n > 0) {
		j->got_first_cipher = true;
		j->tls_saw_handshake = buf[0] == 0x16 && (n < 2 || buf[1] == 0x03);
	}
	BIO_write(SSL_get_rbio(j->ssl), buf, (int)n);
	if (j->conn == CONN_HANDSHAKE) {
		pc_probe_tls_step(e, j);
		if (!j->used || j->conn != CONN_READY || !j->ssl)
			return;
	}
	/* decrypt what is there; a probe may end the job on any piece */
	for (;;) {
		if (!j->used || !j->ssl)
			return;
		int r = SSL_read(j->ssl, buf, (int)size);
		if (r > 0) {
			SSL *before = j->ssl;
			int fd_before = j->fd;
			pc_probe_deliver(e, j, buf, (size_t)r);
			if (j->ssl != before || j->fd != fd_before)
				return; /* reconnected or finished */
			continue;
		}
		int err = SSL_get_error(j->ssl, r);
		ERR_clear_error();
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			if (pc_probe_conn_flush(e, j) < 0)
				pc_probe_on_eof(e, j);
			return;
		}
		pc_probe_on_eof(e, j);
		return;
	}
}
