/*
 * buf.h - growable byte buffer with a hard cap, in the manner of curl's
 * dynbuf: every buffer filled from a peer, the kernel or a file states how
 * large it may get, and growing past that is a distinct error (PC_ETOOBIG)
 * rather than an allocation attempt.
 */
#ifndef PC_CORE_BUF_H
#define PC_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct pc_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t alloc;
	size_t cap; /* maximum len */
};

void pc_buf_init(struct pc_buf *b, size_t cap);
void pc_buf_free(struct pc_buf *b);
void pc_buf_reset(struct pc_buf *b);
/* 0, PC_ENOMEM or PC_ETOOBIG (nothing appended then). */
int pc_buf_add(struct pc_buf *b, const void *data, size_t len);
int pc_buf_addstr(struct pc_buf *b, const char *s);
int pc_buf_addch(struct pc_buf *b, char c);
int pc_buf_printf(struct pc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pc_buf_vprintf(struct pc_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Read a whole file of at most b->cap bytes. */
int pc_buf_read_file(struct pc_buf *b, const char *path);
/* Read an fd to EOF, at most b->cap bytes. */
int pc_buf_read_fd(struct pc_buf *b, int fd);

#endif
