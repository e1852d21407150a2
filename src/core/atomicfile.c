/*
 * atomicfile.c - exclusive temporary next to the target, then rename (see
 * atomicfile.h for why).
 *
 * The directory is opened once and every later step (create, rename,
 * unlink, fsync) goes through that descriptor with the *at() calls, so
 * swapping a directory of the path for a symlink between two steps cannot
 * move the rename somewhere else. The temporary's name is random (96 bits
 * from getrandom), so it cannot be predicted from the pid as FILE.tmp.PID
 * could; a name that exists anyway is skipped, never opened.
 */
#include "core/atomicfile.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TRIES 64
#define TMP_BASE_MAX 200 /* bytes of the target's name kept in the temporary's */

static void reset(struct pc_atomicfile *af)
{
	af->dirfd = -1;
	af->fd = -1;
	af->f = NULL;
	af->tmp[0] = '\0';
	af->in_place = false;
}

/* path -> directory to open and the name in it. */
static int split(struct pc_atomicfile *af, const char *path, char *dir, size_t dirlen,
		 struct pc_error *err)
{
	size_t n = strlen(path);
	if (n == 0 || path[n - 1] == '/')
		return pc_error_set(err, PC_EINVAL, "cannot write '%s': not a file name", path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	if (blen > NAME_MAX || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return pc_error_set(err, PC_EINVAL, "cannot write '%s': not a file name", path);
	memcpy(af->base, base, blen + 1);
	if (!slash) {
		memcpy(dir, ".", 2);
	} else {
		size_t dl = slash == path ? 1 : (size_t)(slash - path);
		if (dl >= dirlen)
			return pc_error_set(err, PC_EINVAL, "cannot write '%s': path too long",
					    path);
		memcpy(dir, path, dl);
		dir[dl] = '\0';
	}
	return 0;
}

/* A fresh temporary name: ".BASE.XXXXXXXXXXXXXXXX" (hex from getrandom). */
static int random_name(struct pc_atomicfile *af)
{
	unsigned char r[12];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t k = getrandom(r + got, sizeof(r) - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		got += (size_t)k;
	}
	static const char hex[] = "0123456789abcdef";
	size_t blen = strnlen(af->base, TMP_BASE_MAX), o = 0;
	af->tmp[o++] = '.';
	memcpy(af->tmp + o, af->base, blen);
	o += blen;
	af->tmp[o++] = '.';
	for (size_t i = 0; i < sizeof(r); i++) {
		af->tmp[o++] = hex[r[i] >> 4];
		af->tmp[o++] = hex[r[i] & 15];
	}
	af->tmp[o] = '\0';
	return 0;
}

/* Nobody but root and us can add or swap names in the directory. */
static bool trusted_dir(int dirfd)
{
	struct stat d;
	if (fstat(dirfd, &d) != 0)
		return false;
	if (d.st_uid != 0 && d.st_uid != geteuid())
		return false;
	return !(d.st_mode & (S_IWGRP | S_IWOTH));
}

/*
 * A target that exists and is not a regular file: /dev/null, /dev/stdout (a
 * link to /proc/self/fd/1), a FIFO, a link an administrator made. Renaming
 * over it would replace the device or the link with a plain file (as root,
 * /dev/null itself), so such a target is written in place, through its
 * links, when its directory is one only root or we can change. In a
 * directory others can write to, a link is what an attacker plants: it is
 * replaced by the rename as any other name, never followed; anything else
 * there that is not a regular file is refused.
 * 1: go on with a temporary; 0: af->fd is the target itself; < 0: refused.
 */
static int open_existing(struct pc_atomicfile *af, struct pc_error *err)
{
	struct stat st;
	if (fstatat(af->dirfd, af->base, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode))
		return 1;
	if (!trusted_dir(af->dirfd)) {
		if (S_ISLNK(st.st_mode))
			return 1;
		pc_atomicfile_abort(af);
		return pc_error_set(err, PC_EINVAL,
				    "cannot write %s: not a regular file, in a directory "
				    "others can write to",
				    af->path);
	}
	af->fd = openat(af->dirfd, af->base, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (af->fd < 0) {
		int r = -errno;
		pc_atomicfile_abort(af);
		return pc_error_set(err, r, "cannot write %s: %s", af->path, strerror(-r));
	}
	struct stat fst;
	if (fstat(af->fd, &fst) != 0 || S_ISDIR(fst.st_mode)) {
		pc_atomicfile_abort(af);
		return pc_error_set(err, PC_EINVAL, "cannot write %s: a directory", af->path);
	}
	af->in_place = true;
	return 0;
}

int pc_atomicfile_open(struct pc_atomicfile *af, const char *path, mode_t mode,
		       struct pc_error *err)
{
	char dir[PATH_MAX];
	reset(af);
	af->path = path;
	int r = split(af, path, dir, sizeof(dir), err);
	if (r < 0)
		return r;
	af->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (af->dirfd < 0) {
		r = -errno;
		return pc_error_set(err, r, "cannot write %s: %s", path, strerror(-r));
	}
	r = open_existing(af, err);
	if (r <= 0) /* written through in place, or refused */
		return r;
	for (int i = 0; i < TMP_TRIES; i++) {
		r = random_name(af);
		if (r < 0)
			break;
		af->fd = openat(af->dirfd, af->tmp,
				O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
		if (af->fd >= 0)
			return 0;
		r = -errno;
		if (r != -EEXIST)
			break;
	}
	af->tmp[0] = '\0';
	pc_atomicfile_abort(af);
	return pc_error_set(err, r, "cannot write %s: %s", path,
			    r == -EEXIST ? "no free temporary name" : strerror(-r));
}

FILE *pc_atomicfile_stream(struct pc_atomicfile *af, char *buf, size_t bufsize)
{
	if (af->f || af->fd < 0)
		return af->f;
	af->f = fdopen(af->fd, "w");
	if (af->f && buf)
		setvbuf(af->f, buf, _IOFBF, bufsize);
	return af->f;
}

int pc_atomicfile_commit(struct pc_atomicfile *af, struct pc_error *err)
{
	const char *step = NULL;
	int r = 0;
	errno = 0;
	if (af->fd < 0) {
		r = PC_EINVAL;
		step = "not open";
	} else if (af->f && (fflush(af->f) != 0 || ferror(af->f))) {
		r = errno ? -errno : PC_EIO;
		step = "write";
	} else if (!af->in_place && fsync(af->fd) != 0) {
		r = -errno;
		step = "fsync";
	}
	if (!r) {
		/* the stream owns fd: closing it closes both */
		int cr = af->f ? fclose(af->f) : close(af->fd);
		af->f = NULL;
		af->fd = -1;
		if (cr != 0) {
			r = -errno;
			step = "close";
		}
	}
	if (!r && !af->in_place && renameat(af->dirfd, af->tmp, af->dirfd, af->base) != 0) {
		r = -errno;
		step = "rename";
	}
	if (r) {
		pc_atomicfile_abort(af);
		return pc_error_set(err, r < 0 && r > -1000 ? r : PC_EIO,
				    "writing %s failed (%s): %s", af->path, step,
				    r > -1000 ? strerror(-r) : pc_strerror(r));
	}
	af->tmp[0] = '\0';
	/* the new name must survive a crash too; a failure here cannot undo
	 * the rename, and the data itself is already on disk */
	if (!af->in_place)
		(void)fsync(af->dirfd);
	close(af->dirfd);
	af->dirfd = -1;
	return 0;
}

void pc_atomicfile_abort(struct pc_atomicfile *af)
{
	if (af->f)
		fclose(af->f);
	else if (af->fd >= 0)
		close(af->fd);
	if (af->dirfd >= 0) {
		if (af->tmp[0])
			unlinkat(af->dirfd, af->tmp, 0);
		close(af->dirfd);
	}
	reset(af);
}

int pc_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
			struct pc_error *err)
{
	struct pc_atomicfile af;
	int r = pc_atomicfile_open(&af, path, mode, err);
	if (r < 0)
		return r;
	const char *p = data;
	while (len) {
		ssize_t k = write(af.fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			pc_atomicfile_abort(&af);
			return pc_error_set(err, r, "writing %s failed: %s", path, strerror(-r));
		}
		p += k;
		len -= (size_t)k;
	}
	return pc_atomicfile_commit(&af, err);
}
