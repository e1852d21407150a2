/*
 * ledger.c - the ledger's front end: where the file lives, how it is made
 * safely, what the pipeline's ledger stage does, and the small languages of
 * the CLI (snapshot selectors, --keep).
 *
 * Why the file is made by hand before SQLite opens it: portcensus runs as
 * root from cron, and the ledger's directory may be writable by someone
 * else (a mistake, or $XDG_STATE_HOME pointing somewhere odd). The directory
 * we create is 0700, the file is created O_EXCL|O_NOFOLLOW with 0600, and a
 * symbolic link as the file's last component is refused (lstat, then
 * SQLITE_OPEN_NOFOLLOW, which SQLite also applies to its -wal and -shm
 * files, made with the database's mode).
 */
#include "ledger/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pc_ledger_default_path(char *buf, size_t len, struct pc_error *err)
{
	const char *env = getenv("PORTCENSUS_DB");
	int n;
	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
	} else if (geteuid() == 0) {
		n = snprintf(buf, len, "/var/lib/portcensus/ledger.db");
	} else {
		const char *state = getenv("XDG_STATE_HOME");
		const char *home = getenv("HOME");
		/* the XDG spec: a relative path is invalid and must be ignored */
		if (state && state[0] == '/')
			n = snprintf(buf, len, "%s/portcensus/ledger.db", state);
		else if (home && home[0] == '/')
			n = snprintf(buf, len, "%s/.local/state/portcensus/ledger.db", home);
		else
			return pc_error_set(err, PC_EINVAL,
					    "no ledger path: set --db, PORTCENSUS_DB, "
					    "XDG_STATE_HOME or HOME");
	}
	if (n < 0 || (size_t)n >= len)
		return pc_error_set(err, PC_ETOOBIG, "ledger path too long");
	return 0;
}

/* mkdir -p of path's directory; directories we make are 0700. */
static int make_parents(const char *path, struct pc_error *err)
{
	char dir[4096];
	int n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return pc_error_set(err, PC_ETOOBIG, "ledger path too long");
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return pc_error_set_at(err, PC_EIO, path, 0, 0,
					       "cannot create the ledger directory %s: %s", dir,
					       strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

/* The file itself: refuse a symbolic link or anything not a regular file;
 * create it 0600 when missing (and create is set). */
static int check_file(const char *path, bool create, struct pc_error *err)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return pc_error_set_at(err, PC_EIO, path, 0, 0,
					       "ledger is a symbolic link: refused");
		if (!S_ISREG(st.st_mode))
			return pc_error_set_at(err, PC_EIO, path, 0, 0,
					       "ledger is not a regular file");
		return 0;
	}
	if (errno != ENOENT)
		return pc_error_set_at(err, PC_EIO, path, 0, 0, "cannot read the ledger: %s",
				       strerror(errno));
	if (!create)
		return pc_error_set_at(err, -ENOENT, path, 0, 0,
				       "no ledger here yet (nothing stored; see --db)");
	int r = make_parents(path, err);
	if (r < 0)
		return r;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) /* EEXIST: another audit made it first */
		return pc_error_set_at(err, PC_EIO, path, 0, 0, "cannot create the ledger: %s",
				       strerror(errno));
	if (fd >= 0)
		close(fd);
	else
		return check_file(path, false, err);
	return 0;
}

int pc_ledger_default_host_id(char *buf, size_t len)
{
	const char *path = getenv("PORTCENSUS_MACHINE_ID");
	FILE *f = fopen(path && *path ? path : "/etc/machine-id", "re");
	if (f) {
		char line[128];
		bool ok = fgets(line, sizeof(line), f) != NULL;
		fclose(f);
		size_t n = ok ? strcspn(line, "\r\n") : 0;
		line[n] = '\0';
		/* a machine id is 32 hex digits; anything else is not one */
		bool hex = n >= 8;
		for (size_t i = 0; i < n && hex; i++)
			hex = strchr("0123456789abcdef", line[i]) != NULL;
		if (hex && (size_t)snprintf(buf, len, "%s", line) < len)
			return 0;
	}
	if (len < 2 || gethostname(buf, len - 1) != 0)
		return PC_EIO;
	buf[len - 1] = '\0';
	return buf[0] ? 0 : PC_EIO;
}

uint64_t pc_ledger_sweep_seed(const char *sweep_id)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)sweep_id; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

bool pc_ledger_is_url(const char *location)
{
	return strncmp(location, "postgresql://", 13) == 0 ||
	       strncmp(location, "postgres://", 11) == 0;
}

int pc_ledger_open(const char *path, bool create, struct pc_ledger **ret,
		   struct pc_error *err)
{
	const struct pc_ledger_ops *ops = &pc_ledger_sqlite;
	int r = 0;
	/* a URL is the central ledger; anything else a file we make safely */
	if (pc_ledger_is_url(path))
		ops = &pc_ledger_pg;
	else
		r = check_file(path, create, err);
	if (r < 0)
		return r;
	struct pc_ledger *l;
	r = ops->open(path, create, &l, err);
	if (r < 0)
		return r;
	r = ops->migrate(l, err);
	if (r < 0) {
		ops->close(l);
		return r;
	}
	*ret = l;
	return 0;
}

void pc_ledger_close(struct pc_ledger *l)
{
	if (l)
		l->ops->close(l);
}

int pc_ledger_record(const struct pc_snapshot *snap, const struct pc_ledger_request *req,
		     struct pc_ledger_result *res)
{
	memset(res, 0, sizeof(*res));
	struct pc_ledger *l = NULL;
	int r = pc_ledger_open(req->path, true, &l, &res->err);
	if (r == 0)
		r = l->ops->store(l, snap, &req->meta, &res->id, &res->err);
	/* an agent of a fleet: the audit is owed to the central ledger, and
	 * everything owed is shipped now (outbox.c); an unreachable central
	 * ledger leaves it owed, which is not a failure of the audit */
	if (r == 0 && req->central && !pc_ledger_is_url(req->path)) {
		pc_ledger_close(l);
		l = NULL;
		r = pc_ledger_outbox_add(req->path, res->id, &res->err);
		if (r == 0) {
			struct pc_ledger_ship sh;
			res->ship_rc = pc_ledger_ship(req->path, req->central, &sh, &res->ship_err);
			res->shipped = sh.shipped;
			res->pending = sh.pending;
		}
		if (r == 0)
			r = pc_ledger_open(req->path, false, &l, &res->err);
	}
	if (r == 0)
		r = l->ops->retain(l, &req->keep, pc_now_ms(), &res->deleted, &res->err);
	pc_ledger_close(l);
	res->rc = r;
	return r;
}

void pc_ledger_diff_init(struct pc_ledger_diff *d)
{
	memset(d, 0, sizeof(*d));
	pc_arena_init(&d->arena);
}

void pc_ledger_diff_free(struct pc_ledger_diff *d)
{
	if (!d)
		return;
	free(d->changes);
	pc_arena_free(&d->arena);
	memset(d, 0, sizeof(*d));
}

/* A whole decimal number in [0, max], nothing else. */
static bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	if (!len || len > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

/* "30d", "12h": milliseconds. */
static bool parse_age(const char *s, int64_t *ret)
{
	size_t len = strlen(s);
	if (len < 2)
		return false;
	int64_t unit;
	switch (s[len - 1]) {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60 * 1000;
		break;
	case 'h':
		unit = 3600 * 1000;
		break;
	case 'd':
		unit = 86400 * 1000LL;
		break;
	case 'w':
		unit = 7 * 86400 * 1000LL;
		break;
	default:
		return false;
	}
	uint64_t v;
	if (!parse_u64(s, len - 1, (uint64_t)(INT64_MAX / unit), &v) || v == 0)
		return false;
	*ret = (int64_t)v * unit;
	return true;
}

/* "2026-12-01", "2026-12-01T10:00", "2026-12-01T10:00:00Z" (also with a
 * space): UTC milliseconds. */
static bool parse_time(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (!end)
		return false;
	if (*end == 'T' || *end == ' ') {
		const char *e2 = strptime(end + 1, "%H:%M:%S", &tm);
		if (!e2)
			e2 = strptime(end + 1, "%H:%M", &tm);
		if (!e2)
			return false;
		end = e2;
	}
	if (*end == 'Z')
		end++;
	if (*end)
		return false;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*ret = (int64_t)t * 1000;
	return true;
}

int pc_ledger_parse_selector(const char *s, int64_t now_ms, struct pc_ledger_find *ret,
			     struct pc_error *err)
{
	struct pc_ledger_find q = {0};
	uint64_t v;
	int64_t age;
	if (parse_u64(s, strlen(s), INT64_MAX, &v) && v > 0) {
		q.kind = PC_LEDGER_FIND_ID;
		q.id = (int64_t)v;
	} else if (strcmp(s, "latest") == 0) {
		q.kind = PC_LEDGER_FIND_NTH_LATEST;
	} else if (strncmp(s, "latest~", 7) == 0 &&
		   parse_u64(s + 7, strlen(s + 7), INT64_MAX, &v)) {
		q.kind = PC_LEDGER_FIND_NTH_LATEST;
		q.n = v;
	} else if (s[0] == '-' && parse_age(s + 1, &age)) {
		q.kind = PC_LEDGER_FIND_AT_TIME;
		q.time_ms = now_ms - age;
	} else if (parse_time(s, &q.time_ms)) {
		q.kind = PC_LEDGER_FIND_AT_TIME;
	} else {
		return pc_error_set(err, PC_EINVAL,
				    "'%s' names no snapshot: use an id, latest, latest~N, a time "
				    "(2026-12-01, 2026-12-01T10:00:00Z) or an age (-7d, -12h)",
				    s);
	}
	*ret = q;
	return 0;
}

int pc_ledger_resolve(struct pc_ledger *l, const struct pc_ledger_find *q, int64_t *ret_id,
		      struct pc_error *err)
{
	int r = l->ops->find(l, q, ret_id, err);
	if (r != -ENOENT)
		return r;
	char t[40];
	switch (q->kind) {
	case PC_LEDGER_FIND_ID:
		return pc_error_set(err, -ENOENT, "no snapshot %lld in the ledger",
				    (long long)q->id);
	case PC_LEDGER_FIND_NTH_LATEST:
		return pc_error_set(err, -ENOENT, "the ledger has fewer than %llu snapshots",
				    (unsigned long long)q->n + 1);
	case PC_LEDGER_FIND_AT_TIME:
		return pc_error_set(err, -ENOENT, "no snapshot started at or before %s",
				    pc_format_time(q->time_ms, t, sizeof(t)));
	case PC_LEDGER_FIND_PREV_SCOPE:
		return pc_error_set(err, -ENOENT,
				    "no earlier snapshot of the same host and scope as %lld",
				    (long long)q->id);
	}
	return r;
}

int pc_ledger_parse_keep(const char *s, struct pc_ledger_keep *ret, struct pc_error *err)
{
	struct pc_ledger_keep k = {0};
	uint64_t v;
	if (parse_u64(s, strlen(s), INT64_MAX, &v) && v > 0)
		k.count = v;
	else if (!parse_age(s, &k.max_age_ms))
		return pc_error_set(err, PC_EINVAL,
				    "--keep takes a number of snapshots (100) or an age (90d, "
				    "12w, 36h), not '%s'",
				    s);
	*ret = k;
	return 0;
}
