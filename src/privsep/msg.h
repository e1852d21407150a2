/*
 * msg.h - the messages between the privileged parent and the probe worker
 * (privsep.h): a bounded, versioned, typed record format.
 *
 * Trust: the worker parses bytes from the network, so the parent treats
 * every byte it gets from the worker as hostile. A record is decoded by
 * pc_privsep_decode() from a plain byte buffer (no process, no fd: it is
 * fuzzed and unit-tested on its own), which checks the magic, the version,
 * every length (header and body must agree exactly), every enum, every
 * flag byte (0 or 1), every double (finite, in range) and every string
 * (length-prefixed, at most PC_PRIVSEP_STR_MAX bytes, no NUL inside).
 * What the decoder cannot know — whether an endpoint index exists, whether
 * a record was already sent, how many records may come — is checked when
 * the record is applied (privsep.c).
 *
 * Framing: the worker and the parent talk over an AF_UNIX SOCK_SEQPACKET
 * socketpair, so message boundaries are kept by the kernel. One datagram
 * (at most PC_PRIVSEP_DGRAM_MAX bytes) carries one or more records, each
 * one header + body:
 *
 *   u16 magic 'P''S' | u8 version | u8 type | u32 body length | body
 *
 * Integers are in host byte order: both ends are the same binary on the
 * same machine, and the version byte changes with any layout change.
 * Strings are u16 length + bytes (no terminator); length 0xffff is NULL.
 */
#ifndef PC_PRIVSEP_MSG_H
#define PC_PRIVSEP_MSG_H

#include "core/error.h"
#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_PRIVSEP_MAGIC 0x5350u /* "PS" in little-endian memory */
#define PC_PRIVSEP_VERSION 1
#define PC_PRIVSEP_HDR_LEN 8
#define PC_PRIVSEP_DGRAM_MAX 65536 /* one datagram, and one record's cap */
#define PC_PRIVSEP_STR_MAX 2048    /* longest string field */
#define PC_PRIVSEP_STR_NULL 0xffffu
#define PC_PRIVSEP_AUTH_METHODS_MAX 16 /* service.auth_methods (SSH) */

enum pc_privsep_type {
	PC_PRIVSEP_SOCKET_REQ = 1, /* worker -> parent: a socket in a namespace */
	PC_PRIVSEP_SOCKET_REP,     /* parent -> worker: errno, fd by SCM_RIGHTS */
	PC_PRIVSEP_UPDATE,         /* what a stage found about an existing endpoint */
	PC_PRIVSEP_FOUND,          /* a new network-side endpoint (scan) */
	PC_PRIVSEP_STATS,          /* scan statistics */
	PC_PRIVSEP_PROGRESS,       /* scan statistics + found, for on_progress */
	PC_PRIVSEP_WARNING,        /* a snapshot warning */
	PC_PRIVSEP_DONE,           /* the stage's return code and error message */
	PC_PRIVSEP_TYPE_MAX = PC_PRIVSEP_DONE,
};

/* A string field: a view into the decoded buffer, or NULL. */
struct pc_privsep_str {
	const char *p; /* NULL for a NULL string */
	size_t len;
};

struct pc_privsep_socket_req {
	uint64_t netns; /* inode of the namespace */
	int32_t domain, type, protocol;
};

struct pc_privsep_update {
	uint32_t index; /* into the parent's endpoints at fork time */
	enum pc_state state;
	double rtt_ms;
	bool v_done, v_reachable;
	double v_rtt_ms;
	struct pc_privsep_str v_error;
	enum pc_recheck recheck;
	struct pc_privsep_str recheck_reason;
	bool has_service;
	struct pc_privsep_str name, product, version, evidence, banner;
	enum pc_tristate tls;
	enum pc_auth auth;
	bool has_tls_info;
	struct pc_privsep_str tls_version, cipher, subject, issuer, not_after;
	enum pc_tristate self_signed;
	size_t n_auth_methods;
	struct pc_privsep_str auth_methods[PC_PRIVSEP_AUTH_METHODS_MAX];
	bool has_ssh_info;
	struct pc_privsep_str hostkey_type, hostkey_fingerprint;
	struct pc_privsep_str probe_skipped; /* why the probes skipped it */
};

struct pc_privsep_found {
	enum pc_proto proto;
	struct pc_addr addr;
	uint16_t port;
	enum pc_state state;
	double rtt_ms;
};

struct pc_privsep_stats {
	uint64_t sent, replies, retries, capture_drops;
	double duration_s, rate_pps;
	uint64_t found; /* PROGRESS only */
};

struct pc_privsep_done {
	int32_t code; /* 0 or a negative PC_E* / errno */
	struct pc_privsep_str msg;
};

struct pc_privsep_rec {
	enum pc_privsep_type type;
	union {
		struct pc_privsep_socket_req socket_req;
		int32_t socket_rep; /* 0 (an fd follows) or a negative errno */
		struct pc_privsep_update update;
		struct pc_privsep_found found;
		struct pc_privsep_stats stats;
		struct pc_privsep_str warning;
		struct pc_privsep_done done;
	} u;
};

/*
 * Decode the record at buf[*off] (buf holds len bytes; a datagram holds
 * records until *off == len). On success fill *ret_rec (its strings point
 * into buf), advance *off past the record and return 0. On any malformation
 * return PC_EPARSE with err naming the field; *off and *ret_rec are then
 * unspecified.
 */
int pc_privsep_decode(const uint8_t *buf, size_t len, size_t *off,
		      struct pc_privsep_rec *ret_rec, struct pc_error *err);

/* ---- encoding (the worker's side; the parent encodes SOCKET_REP) ---- */

/* A growing datagram: records are appended until the next one would not
 * fit; the owner then sends buf[0..len) and resets len. */
struct pc_privsep_out {
	uint8_t buf[PC_PRIVSEP_DGRAM_MAX];
	size_t len;
};

/* Append one record. Strings longer than PC_PRIVSEP_STR_MAX are cut there
 * (at a UTF-8 boundary); nothing the stages make comes close. Returns 0,
 * or PC_ETOOBIG when the record does not fit in what is left of out (the
 * caller sends and retries on an empty out, where every record fits). */
int pc_privsep_put(struct pc_privsep_out *out, const struct pc_privsep_rec *rec);

/* Fill an UPDATE record from ep (strings point into ep's arena). */
void pc_privsep_update_from(struct pc_privsep_rec *rec, uint32_t index,
			    const struct pc_endpoint *ep);

#endif
