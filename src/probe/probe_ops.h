/*
 * probe_ops.h - the contract between the probe engine (engine.c) and one
 * protocol probe (src/probe/<proto>.c).
 *
 * A probe is a resumable state machine. The engine owns sockets, TLS,
 * deadlines, byte caps and reconnects; the probe only sees the bytes the peer
 * sent, in whatever pieces TCP delivered them, and says what it wants sent
 * next. That split is what lets one unit test replay a recorded response cut
 * at every byte boundary, and one fuzz target drive every parser, without a
 * socket (pc_probe_replay below).
 *
 * Rules every probe keeps:
 *  - read-only: it never sends a command that changes state on the peer
 *    (no writes, no SET, no logins with guessed passwords);
 *  - it never trusts a length field and never reads past `len`;
 *  - it keeps no pointer into the bytes it was fed (they are reused);
 *  - it only queues bytes from feed() once it has recognised the service
 *    (it filled res->name), so that the engine can run several banner
 *    parsers over one passive read and hand the connection to the one
 *    that spoke up.
 */
#ifndef PC_PROBE_PROBE_OPS_H
#define PC_PROBE_PROBE_OPS_H

#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Total bytes any probe may read from one endpoint, over all its
 * connections. */
#define PC_PROBE_READ_CAP (64 * 1024)
/* Longest request a probe may queue at once. */
#define PC_PROBE_OUT_MAX 2048
#define PC_PROBE_BANNER_MAX 200

/* What feed() concluded. */
enum pc_probe_verdict {
	PC_PROBE_MORE = 0,  /* keep reading (and send what was queued) */
	PC_PROBE_MATCH,     /* identified; res is final; the engine closes */
	PC_PROBE_NOMATCH,   /* not this protocol; the stream may be poisoned */
	PC_PROBE_RECONNECT, /* identified so far; open a new connection (same
			       TLS mode) and send what was queued on it */
	PC_PROBE_STARTTLS,  /* the peer agreed to upgrade (SSLRequest 'S', SMTP
			       STARTTLS 220): handshake on this connection,
			       then send what was queued inside TLS; later
			       feed() calls carry the plaintext inside TLS and
			       ctx->tls is true. A failed handshake ends in
			       done(eof=true). */
};

enum pc_probe_flags {
	/* The service speaks first: feed() can decide from an unsolicited
	 * banner, start() queues nothing. Such probes share the passive read. */
	PC_PROBE_F_BANNER = 1u << 0,
	/* The probe also makes sense inside TLS (run again after a TLS
	 * handshake succeeded). */
	PC_PROBE_F_TLS = 1u << 1,
	/* UDP probe: every datagram received is one feed() call. */
	PC_PROBE_F_UDP = 1u << 2,
	/* TCP probe that only applies on its listed ports (too costly or too
	 * ambiguous to try everywhere). */
	PC_PROBE_F_PORTS_ONLY = 1u << 3,
	/* Not a parser: the engine's own TLS handshake (tls.c). Its ports are
	 * where TLS is expected directly (443, 993, ...); its place in the
	 * registry is its likelihood elsewhere. */
	PC_PROBE_F_HANDSHAKE = 1u << 4,
};

/* What a probe found; fixed buffers so probes never allocate. The engine
 * copies it into the snapshot arena. Empty string = unknown. */
struct pc_probe_result {
	char name[32];     /* service name: "redis", "http", ... */
	char product[64];  /* "Redis", "nginx" */
	char version[64];
	enum pc_auth auth;
	char evidence[160]; /* one line: what proved it */
	char banner[PC_PROBE_BANNER_MAX + 1];
};

/* Passed to every callback. */
struct pc_probe_ctx {
	uint16_t port;  /* the endpoint's port (likelihood hints only) */
	bool tls;       /* the stream is inside TLS */
	char host[72];  /* "198.18.0.2:8080", "[fd00::1]:80": for Host headers */
	struct pc_probe_result *res;
	uint8_t out[PC_PROBE_OUT_MAX]; /* bytes to send next */
	size_t out_len;
	/* set by a probe with its NOMATCH: the peer said it wants TLS (e.g. "plain
	 * HTTP request sent to HTTPS port"); the engine tries TLS next */
	bool hint_tls;
};

struct pc_probe_ops {
	const char *name;   /* probe name (also its fuzz target name) */
	unsigned flags;     /* PC_PROBE_F_* */
	/* Ports where this protocol is expected, 0-terminated; tried first
	 * there. May be NULL. */
	const uint16_t *ports;
	/* Size of the per-attempt state; the engine zeroes it before start(). */
	size_t state_size;

	/*
	 * start: a new attempt on a fresh connection (or, for banner probes,
	 * on bytes of the passive read). Queue the first request with
	 * pc_probe_send() (banner probes queue nothing). Return 0, or a
	 * negative PC_E* code to skip this probe.
	 */
	int (*start)(void *state, struct pc_probe_ctx *ctx);

	/*
	 * feed: the next bytes the peer sent (len > 0), in order, cut
	 * anywhere. Parse incrementally; may queue bytes to send; return a
	 * verdict. Called again with the following bytes after PC_PROBE_MORE;
	 * after PC_PROBE_RECONNECT, the next call carries the first bytes of
	 * the new connection.
	 */
	enum pc_probe_verdict (*feed)(void *state, struct pc_probe_ctx *ctx,
				      const uint8_t *data, size_t len);

	/*
	 * done: the peer closed (eof true), the deadline passed or the byte
	 * cap was reached (eof false). Return the final verdict: PC_PROBE_MATCH
	 * if what was seen is enough, PC_PROBE_NOMATCH otherwise; a probe
	 * that reads to end of stream (HTTP without a length) decides here.
	 * May also queue bytes and return PC_PROBE_RECONNECT (next request on
	 * a new connection). May be NULL: then MATCH when res->name is set.
	 */
	enum pc_probe_verdict (*done)(void *state, struct pc_probe_ctx *ctx, bool eof);
};

/* The registry (registry.c): every probe, most likely first. */
extern const struct pc_probe_ops *const pc_probe_registry[];
extern const size_t pc_probe_registry_len;
const struct pc_probe_ops *pc_probe_find(const char *name);

/* Helpers for probes. */
/* Queue bytes to send; 0 or PC_ETOOBIG. */
int pc_probe_send(struct pc_probe_ctx *ctx, const void *data, size_t len);
int pc_probe_sendstr(struct pc_probe_ctx *ctx, const char *s);
/* Copy at most len bytes of s into a fixed field (NUL-terminated,
 * truncated to size-1; stops at NUL, CR or LF). */
void pc_probe_setn(char *field, size_t size, const char *s, size_t len);
void pc_probe_setf(char *field, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define PC_PROBE_SET(field, s) pc_probe_setn((field), sizeof(field), (s), strlen(s))
/* Banner excerpt: the printable excerpt of s[0..len): runs of white space
 * become one ' ', anything pc_probe_printable() refuses becomes '.', capped
 * at PC_PROBE_BANNER_MAX bytes without cutting a character. */
void pc_probe_banner(struct pc_probe_ctx *ctx, const uint8_t *s, size_t len);
/* Set res->product to the first of products (NULL-terminated) that text
 * names (a greeting such as "* OK Dovecot ready."); nothing when none. */
void pc_probe_product_in(struct pc_probe_result *res, const char *text,
			 const char *const *products);
/* Bytes of the printable character at s: 1 for ASCII 0x20..0x7e, 2..4 for
 * a valid UTF-8 sequence that is not a C1 control, a line separator or a
 * bidi override; 0 for anything else (C0 controls, DEL, invalid UTF-8). */
size_t pc_probe_printable(const uint8_t *s, size_t len);
/* Make every field of a result printable (what pc_probe_printable refuses
 * becomes '.'): peer text reaches product, version, evidence and banner,
 * and no terminal escape or broken UTF-8 may leave a probe. The engine and
 * pc_probe_replay apply it to every final result. */
void pc_probe_result_clean(struct pc_probe_result *res);
bool pc_probe_has_port(const uint16_t *ports, uint16_t port);
/* Case-insensitive search of needle in hay[0..len). */
const uint8_t *pc_probe_memcasemem(const uint8_t *hay, size_t len, const char *needle);

/*
 * A line assembler for text protocols: collects bytes up to '\n' into a
 * fixed buffer. Returns 1 when a full line is in line->buf (without CR LF),
 * 0 when more bytes are needed, -1 when the line outgrew the buffer (the
 * peer is not speaking a line protocol we know). *used says how many bytes
 * of data were consumed. A line may hold max - 1 bytes (its CR included);
 * max 0 means the whole buffer.
 */
struct pc_probe_line {
	char buf[512];
	size_t len;
	size_t max;
	bool overflow;
	bool complete; /* pc_probe_line_next returned a line; the next call
			  starts a new one */
};
int pc_probe_line_feed(struct pc_probe_line *line, const uint8_t *data, size_t len,
		       size_t *used);
/*
 * pc_probe_line_next - the reading loop of a text protocol: take the next
 * line out of *data[0..*len), advancing *data and *len past the bytes used.
 * When head is not NULL, the first strlen(head) bytes of the line are
 * checked as they arrive ('#' stands for any digit, any other character
 * for itself), so that a peer speaking another protocol is refused at its
 * first byte that differs, whichever way TCP cut the stream, not after a
 * whole line. Returns 1 when a full line is in line->buf (line->len bytes,
 * without CR LF; it stays there until the next call, which starts a new
 * line), 0 when the bytes ran out mid-line, -1 when the line outgrew the
 * buffer, -2 when the head did not match.
 */
int pc_probe_line_next(struct pc_probe_line *line, const char *head, const uint8_t **data,
		       size_t *len);
/*
 * An FTP/SMTP reply line: three digits, then ' ', '-' (more lines of the
 * same reply follow) or the end of the line. 0 and *ret_last (false on a
 * '-' line), or -1 when l is not a reply line.
 */
int pc_probe_reply_line(const char *l, bool *ret_last);

/*
 * pc_probe_take - the body of a length-prefixed message arrives in pieces:
 * take the next piece, at most `want` bytes of data[0..len), and copy it to
 * keep[got..] as far as keep_size allows (a body longer than the buffer is
 * counted by the caller, not kept). Returns the bytes taken.
 */
size_t pc_probe_take(uint8_t *keep, size_t keep_size, size_t got, size_t want,
		     const uint8_t *data, size_t len);

/*
 * One BER/DER TLV at p[0..n): tag (single byte tags only), header size and
 * content length (short form, or long form of up to 4 bytes). 0 when the
 * header is complete and the content fits in n, -1 otherwise (truncated,
 * indefinite or absurd length).
 */
int pc_probe_ber(const uint8_t *p, size_t n, uint8_t *ret_tag, size_t *ret_hdr, size_t *ret_len);
/* Header only: 0 when the header is complete (content may be missing), 1
 * when more bytes are needed, -1 when invalid. */
int pc_probe_ber_header(const uint8_t *p, size_t n, uint8_t *ret_tag, size_t *ret_hdr,
			size_t *ret_len);

/*
 * pc_probe_replay - run one probe offline over recorded server bytes, one
 * segment per connection the probe makes (a probe that returns RECONNECT
 * moves on to the next segment; bytes left in the current one are dropped,
 * as the engine drops them). The first segment is delivered in a first
 * piece of `split` bytes (when 0 < split < its length) and then in pieces
 * of `chunk` bytes (0: all at once); later segments in `chunk` pieces. The
 * end of a segment is the peer closing: done(eof=true). Fills ret_res and
 * returns the final verdict (MATCH or NOMATCH). Used by the unit tests
 * (split at every byte boundary) and by the fuzz targets.
 */
struct pc_probe_segment {
	const uint8_t *data;
	size_t len;
};
enum pc_probe_verdict pc_probe_replay(const struct pc_probe_ops *ops, uint16_t port, bool tls,
				      const struct pc_probe_segment *segs, size_t n_segs,
				      size_t split, size_t chunk,
				      struct pc_probe_result *ret_res);

#endif
