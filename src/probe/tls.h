/*
 * tls.h - the engine's TLS layer (tls.c): one client SSL_CTX that accepts
 * anything (an audit wants to see old and broken servers, not refuse them),
 * an SSL object over memory BIOs so the handshake runs on our own
 * non-blocking sockets, and the certificate summary for tls_info.
 */
#ifndef PC_PROBE_TLS_H
#define PC_PROBE_TLS_H

#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

/* A client context; NULL on failure. Free with pc_tls_ctx_free. */
SSL_CTX *pc_tls_ctx_new(void);
void pc_tls_ctx_free(SSL_CTX *ctx);
/* A client SSL over two fresh memory BIOs; NULL on failure. */
SSL *pc_tls_new(SSL_CTX *ctx);

/* tls_info for the session in ssl, allocated in snap's arena; NULL on
 * ENOMEM. */
struct pc_tls_info *pc_tls_info_get(SSL *ssl, struct pc_snapshot *snap);
/* Last OpenSSL error as a short reason ("wrong version number"). */
const char *pc_tls_error_reason(char *buf, size_t len);

#endif
