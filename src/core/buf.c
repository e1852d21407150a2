/*
 * buf.c - capped buffer. Growth doubles, but never past cap (+1 for the NUL).
 */
#include "core/buf.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pc_buf_init(struct pc_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = b->alloc = 0;
	b->cap = cap;
}

void pc_buf_free(struct pc_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void pc_buf_reset(struct pc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int grow(struct pc_buf *b, size_t extra)
{
	if (extra > b->cap || b->len > b->cap - extra)
		return PC_ETOOBIG;
	size_t need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	size_t n = b->alloc ? b->alloc : 64;
	while (n < need)
		n *= 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	char *p = realloc(b->data, n);
	if (!p)
		return PC_ENOMEM;
	b->data = p;
	b->alloc = n;
	return 0;
}

int pc_buf_add(struct pc_buf *b, const void *data, size_t len)
{
	int r = grow(b, len);
	if (r)
		return r;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int pc_buf_addstr(struct pc_buf *b, const char *s)
{
	return pc_buf_add(b, s, strlen(s));
}

int pc_buf_addch(struct pc_buf *b, char c)
{
	return pc_buf_add(b, &c, 1);
}

int pc_buf_vprintf(struct pc_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return PC_EINVAL;
	int r = grow(b, (size_t)n);
	if (r)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int pc_buf_printf(struct pc_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = pc_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int pc_buf_read_fd(struct pc_buf *b, int fd)
{
	char tmp[8192];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = pc_buf_add(b, tmp, (size_t)n);
		if (r)
			return r;
	}
}

int pc_buf_read_file(struct pc_buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = pc_buf_read_fd(b, fd);
	close(fd);
	return r;
}
