/*
 * fuzz_ledger.c - the ledger's readers on hostile input: the snapshot
 * selector and --keep parsers on any string, and, when the input is an
 * SQLite file image, the whole read path (open, migrate, history, load of
 * the first snapshots, diff, and the fleet's exposure and unexplained
 * joins) on a damaged or forged ledger. Whatever the bytes, the result is
 * a value or an error, never a crash; a loaded snapshot and an exposure
 * row have only in-range enums.
 */
#include "ledger/exposure.h"
#include "ledger/ledger.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_row(void *ctx, const struct pc_ledger_row *r)
{
	(void)r;
	return ++*(int *)ctx > 16; /* enough rows */
}

static int on_exposure(void *ctx, const struct pc_exposure_row *r)
{
	if (!r->host_id || !r->address || !r->listen_address || !r->segment ||
	    (r->proto != PC_PROTO_TCP && r->proto != PC_PROTO_UDP) ||
	    (unsigned)r->seen > PC_SEEN_NOT_OPEN)
		abort();
	return ++*(int *)ctx > 4096; /* enough rows */
}

static int on_unexplained(void *ctx, const struct pc_unexplained *u)
{
	if (!u->address || !u->segment || !u->sweep || (unsigned)u->severity >= PC_SEV_COUNT)
		abort();
	return ++*(int *)ctx > 4096;
}

static void read_ledger(const uint8_t *data, size_t size)
{
	char path[64], side[80];
	snprintf(path, sizeof(path), "/tmp/pc-fuzz-ledger.%ld.db", (long)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	ssize_t w = write(fd, data, size);
	close(fd);
	if (w == (ssize_t)size) {
		struct pc_ledger *l = NULL;
		struct pc_error err = {0};
		if (pc_ledger_open(path, false, &l, &err) == 0) {
			int rows = 0;
			l->ops->list(l, 0, on_row, &rows, &err);
			for (int64_t id = 1; id <= 2; id++) {
				struct pc_snapshot *s = NULL;
				if (l->ops->load(l, id, &s, NULL, &err) == 0) {
					for (size_t i = 0; i < s->n_endpoints; i++)
						if ((unsigned)s->endpoints[i].state > PC_STATE_FORWARDED)
							abort();
					pc_snapshot_free(s);
				}
			}
			struct pc_ledger_diff d;
			pc_ledger_diff_init(&d);
			l->ops->diff(l, 1, 2, &d, &err);
			pc_ledger_diff_free(&d);
			struct pc_arena arena;
			pc_arena_init(&arena);
			rows = 0;
			pc_ledger_exposure(l, NULL, &arena, on_exposure, &rows, &err);
			rows = 0;
			pc_ledger_unexplained(l, NULL, &arena, on_unexplained, &rows, &err);
			pc_arena_free(&arena);
			pc_ledger_close(l);
		}
	}
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 16 && memcmp(data, "SQLite format 3", 16) == 0) {
		read_ledger(data, size);
		return 0;
	}
	char s[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	struct pc_error err;
	struct pc_ledger_find q;
	if (pc_ledger_parse_selector(s, 1800000000000LL, &q, &err) == 0 &&
	    q.kind == PC_LEDGER_FIND_ID && q.id <= 0)
		abort();
	struct pc_ledger_keep k;
	if (pc_ledger_parse_keep(s, &k, &err) == 0 && !k.count && k.max_age_ms <= 0)
		abort();
	return 0;
}
