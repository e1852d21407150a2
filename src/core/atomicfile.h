/*
 * atomicfile.h - write a file so that it appears whole or not at all, and
 * so that nobody else's link can make us write somewhere else.
 *
 * portcensus runs as root from cron and writes its -o report, and later its
 * ledger exports, textfile metrics and firewall rules, into directories that
 * other users may write to. So a file is written to a fresh temporary name
 * in the target's own directory, created with O_CREAT|O_EXCL|O_NOFOLLOW
 * (a name someone planted, symlink or not, is never opened: we pick another
 * random name), flushed and fsync'd, then renamed over the target. rename()
 * replaces a symlink at the target's name, it does not follow it, so a
 * planted link is replaced and its victim is left alone; a reader never sees
 * half a file; a failure leaves the old file as it was and no temporary.
 *
 * A target that exists and is not a regular file (/dev/null, /dev/stdout,
 * a FIFO, an administrator's link) is written in place, through its links,
 * when its directory is one only root or we can change: renaming over it
 * would replace /dev/null itself with a plain file. In a directory others
 * can write to, a link at the target is replaced, never followed, and any
 * other non-regular file is refused.
 *
 * Usage: pc_atomicfile_open, write to af.fd (or pc_atomicfile_stream), then
 * pc_atomicfile_commit, or pc_atomicfile_abort to throw it away. Both close
 * everything; abort is safe to call after a failed open or commit.
 */
#ifndef PC_CORE_ATOMICFILE_H
#define PC_CORE_ATOMICFILE_H

#include "core/error.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct pc_atomicfile {
	int dirfd;                /* the target's directory, -1 when closed */
	int fd;                   /* the temporary file, -1 when closed */
	FILE *f;                  /* a stream over fd, from pc_atomicfile_stream */
	char tmp[NAME_MAX + 1];   /* the temporary's name in dirfd */
	char base[NAME_MAX + 1];  /* the target's name in dirfd */
	const char *path;         /* the target as given, for messages */
	bool in_place;            /* fd is the target itself (a device, a FIFO,
				   * a link in a trusted directory): no rename */
};

/* Create the temporary next to path with mode (umask applies). 0, or
 * PC_EINVAL (bad path), a negative errno (err names path and why). */
int pc_atomicfile_open(struct pc_atomicfile *af, const char *path, mode_t mode,
		       struct pc_error *err);
/* A stdio stream over the temporary (fully buffered with buf, bufsize
 * when buf is not NULL), owned by af; NULL when out of memory. */
FILE *pc_atomicfile_stream(struct pc_atomicfile *af, char *buf, size_t bufsize);
/* Flush, fsync, rename over the target, fsync the directory. 0 or a
 * negative code (err says which step failed); the temporary is gone either
 * way and af is closed. */
int pc_atomicfile_commit(struct pc_atomicfile *af, struct pc_error *err);
/* Close and unlink the temporary; the target is untouched. */
void pc_atomicfile_abort(struct pc_atomicfile *af);

/* The whole job for a buffer: open, write data[0..len), commit. */
int pc_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
			struct pc_error *err);

#endif
