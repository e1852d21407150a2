/*
 * jsonl.c - alerts as JSON lines on stdout or appended to a file.
 *
 * One alert is one line, written with one write() so that a line appended
 * to a file by two portcensus processes (O_APPEND) is never interleaved
 * with another, and a reader tailing the file sees whole lines. The file is
 * opened O_NOFOLLOW: a symlink planted at the alert log's name is refused,
 * not followed (portcensus runs as root). Each line is capped at 64 KiB.
 */
#include "alert/alert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_CAP (64 * 1024)

struct jsonl_state {
	int fd;
	bool own_fd;
	const char *what; /* for messages: "stdout" or the path */
	char path[256];
};

static int jsonl_open(void **ret_state, const struct pc_alert_config *cfg, struct pc_error *err)
{
	struct jsonl_state *s = calloc(1, sizeof(*s));
	if (!s)
		return pc_error_set(err, PC_ENOMEM, "out of memory");
	if (!cfg->target || strcmp(cfg->target, "-") == 0) {
		s->fd = STDOUT_FILENO;
		s->what = "stdout";
	} else {
		s->fd = open(cfg->target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
			     0600);
		if (s->fd < 0) {
			int e = errno;
			free(s);
			return pc_error_set(err, -e, "cannot open alert log %s: %s", cfg->target,
					    strerror(e));
		}
		s->own_fd = true;
		snprintf(s->path, sizeof(s->path), "%s", cfg->target);
		s->what = s->path;
	}
	*ret_state = s;
	return 0;
}

static int jsonl_send(void *state, const struct pc_alert *a, struct pc_error *err)
{
	struct jsonl_state *s = state;
	struct pc_buf b;
	pc_buf_init(&b, LINE_CAP);
	int rc = pc_alert_to_json(a, &b);
	if (!rc)
		rc = pc_buf_addch(&b, '\n');
	if (rc) {
		pc_buf_free(&b);
		return pc_error_set(err, rc, "alert too large for one line (%d KiB cap)", LINE_CAP / 1024);
	}
	size_t off = 0;
	while (off < b.len) {
		ssize_t n = write(s->fd, b.data + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			pc_buf_free(&b);
			return pc_error_set(err, -e, "cannot write alert to %s: %s", s->what, strerror(e));
		}
		off += (size_t)n;
	}
	pc_buf_free(&b);
	return 0;
}

static void jsonl_close(void *state)
{
	struct jsonl_state *s = state;
	if (!s)
		return;
	if (s->own_fd)
		close(s->fd);
	free(s);
}

const struct pc_alert_ops pc_alert_jsonl = {
	.name = "jsonl",
	.description = "one JSON object per line on stdout or appended to a file",
	.open = jsonl_open,
	.send = jsonl_send,
	.close = jsonl_close,
};
