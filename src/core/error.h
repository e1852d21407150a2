/*
 * error.h - one error enum for the whole program, and a caller-owned error
 * record that carries a message a person can read.
 *
 * Functions that can fail return 0 or a negative PC_E* code (or a negative
 * errno, which never collides: PC_E* start at -1000). Where a person must read
 * why, they also fill a struct pc_error. Config and input errors carry the file
 * name and line:column so the CLI can print "file:line:col: message".
 */
#ifndef PC_CORE_ERROR_H
#define PC_CORE_ERROR_H

#include <stddef.h>

enum {
	PC_OK = 0,
	PC_EINVAL = -1000,  /* bad argument or input (usage, target, policy) */
	PC_ENOMEM = -1001,  /* allocation failed */
	PC_ETOOBIG = -1002, /* a capped buffer would grow past its cap */
	PC_EPARSE = -1003,  /* malformed input from a file, a peer or the kernel */
	PC_EIO = -1004,     /* I/O error */
	PC_EPERM = -1005,   /* missing privilege */
	PC_ETIMEOUT = -1006,
	PC_ENOTSUP = -1007,
	PC_ESCOPE = -1008, /* target outside the allowed scope */
};

struct pc_error {
	int code;
	char file[256]; /* "" when not about a file */
	int line;       /* 1-based; 0 when unknown */
	int col;        /* 1-based; 0 when unknown */
	char msg[512];
};

/* Fill err (may be NULL) and return code. The message is lowercase, no full
 * stop, in git's style. */
int pc_error_set(struct pc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, with a file position. file may be NULL. */
int pc_error_set_at(struct pc_error *err, int code, const char *file, int line, int col,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Format as "file:line:col: msg" (parts omitted when unknown) into out. */
void pc_error_format(const struct pc_error *err, char *out, size_t outlen);
/* Short name for a code, e.g. "invalid input". Accepts negative errno too. */
const char *pc_strerror(int code);

#endif
