/*
 * tls.c - TLS on any port. The handshake itself is the engine's (it drives
 * an SSL object over memory BIOs on its non-blocking sockets, so a TLS
 * endpoint costs no thread and no blocking call); this file holds the
 * registry entry that places the handshake in the likelihood order, the
 * client context, and the certificate summary.
 *
 * The context verifies nothing and allows every protocol version and
 * cipher OpenSSL still has (security level 0): an audit must be able to
 * talk to the old, self-signed and broken servers it is looking for, and it
 * never sends anything secret over these sessions.
 */
#include "probe/tls.h"

#include "probe/probe_ops.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static const uint16_t tls_ports[] = {
	443,  465,  563,  636,  853,  990,  992,  993,  995,  2376, 2379, 2380, 3269,
	4443, 5061, 5671, 5986, 6443, 6380, 8443, 8883, 9093, 9443, 10250, 10257,
	10259, 0,
};

const struct pc_probe_ops pc_probe_tls = {
	.name = "tls",
	.flags = PC_PROBE_F_HANDSHAKE,
	.ports = tls_ports,
};

SSL_CTX *pc_tls_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_TICKET);
	SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

void pc_tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}

SSL *pc_tls_new(SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	BIO *r = BIO_new(BIO_s_mem());
	BIO *w = BIO_new(BIO_s_mem());
	if (!r || !w) {
		BIO_free(r);
		BIO_free(w);
		SSL_free(ssl);
		return NULL;
	}
	BIO_set_mem_eof_return(r, -1);
	BIO_set_mem_eof_return(w, -1);
	SSL_set_bio(ssl, r, w);
	SSL_set_connect_state(ssl);
	return ssl;
}

static char *name_text(X509_NAME *name, struct pc_snapshot *snap)
{
	if (!name)
		return NULL;
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return NULL;
	char buf[512];
	int n = 0;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(b, buf, sizeof(buf) - 1);
	BIO_free(b);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return pc_snapshot_strdup(snap, buf);
}

static char *time_text(const ASN1_TIME *t, struct pc_snapshot *snap)
{
	struct tm tm;
	char buf[32];
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return NULL;
	if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return pc_snapshot_strdup(snap, buf);
}

struct pc_tls_info *pc_tls_info_get(SSL *ssl, struct pc_snapshot *snap)
{
	struct pc_tls_info *ti = pc_arena_alloc(&snap->arena, sizeof(*ti));
	if (!ti)
		return NULL;
	ti->version = pc_snapshot_strdup(snap, SSL_get_version(ssl));
	const char *cipher = SSL_get_cipher_name(ssl);
	ti->cipher = cipher ? pc_snapshot_strdup(snap, cipher) : NULL;
	ti->self_signed = PC_TRI_UNKNOWN;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (cert) {
		ti->subject = name_text(X509_get_subject_name(cert), snap);
		ti->issuer = name_text(X509_get_issuer_name(cert), snap);
		ti->not_after = time_text(X509_get0_notAfter(cert), snap);
		bool same = X509_NAME_cmp(X509_get_subject_name(cert),
					  X509_get_issuer_name(cert)) == 0;
		EVP_PKEY *key = X509_get0_pubkey(cert);
		bool signs = key && X509_verify(cert, key) == 1;
		ti->self_signed = (same && signs) ? PC_TRI_TRUE : PC_TRI_FALSE;
		X509_free(cert);
	}
	ERR_clear_error();
	return ti;
}

const char *pc_tls_error_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(buf, len, "%s", r ? r : "handshake failed");
	ERR_clear_error();
	return buf;
}
