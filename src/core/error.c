/*
 * error.c - the error record. Kept trivial on purpose: every module uses it,
 * and it must never fail itself (messages are truncated, never allocated).
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_file(struct pc_error *err, const char *file)
{
	if (!file) {
		err->file[0] = '\0';
		return;
	}
	snprintf(err->file, sizeof(err->file), "%s", file);
}

int pc_error_set(struct pc_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err->code = code;
	err->file[0] = '\0';
	err->line = err->col = 0;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int pc_error_set_at(struct pc_error *err, int code, const char *file, int line, int col,
		    const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	err->code = code;
	set_file(err, file);
	err->line = line;
	err->col = col;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void pc_error_format(const struct pc_error *err, char *out, size_t outlen)
{
	if (!outlen)
		return;
	if (err->file[0] && err->line > 0 && err->col > 0)
		snprintf(out, outlen, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
	else if (err->file[0] && err->line > 0)
		snprintf(out, outlen, "%s:%d: %s", err->file, err->line, err->msg);
	else if (err->file[0])
		snprintf(out, outlen, "%s: %s", err->file, err->msg);
	else
		snprintf(out, outlen, "%s", err->msg);
}

const char *pc_strerror(int code)
{
	switch (code) {
	case PC_OK:
		return "success";
	case PC_EINVAL:
		return "invalid input";
	case PC_ENOMEM:
		return "out of memory";
	case PC_ETOOBIG:
		return "input too large";
	case PC_EPARSE:
		return "malformed input";
	case PC_EIO:
		return "i/o error";
	case PC_EPERM:
		return "permission denied";
	case PC_ETIMEOUT:
		return "timed out";
	case PC_ENOTSUP:
		return "not supported";
	case PC_ESCOPE:
		return "target out of scope";
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
