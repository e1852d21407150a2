/*
 * container_proc.c - what running processes say about where container
 * state lives: the command lines of conmon (container id, name, bundle),
 * dockerd (its data root) and docker-proxy (the container a published
 * port leads to), and the one pass over /proc that collects them.
 *
 * Split from container.c: these are parsers of bytes a process wrote (its
 * argv), kept apart from the state readers so their rule is in one place:
 * an argument cut short by the end of the buffer is not one, and a
 * directory a command line names is believed only when the process runs
 * as root and the directory is root's (pc_container_trusted_bundle), so
 * an unprivileged process called conmon cannot make root's audit read
 * files it chose. The /proc pass runs once per run, and only when a
 * container of those runtimes is looked up.
 */
#include "inventory/container_int.h"

#include "core/buf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The next NUL-terminated argument of a cmdline at *pos, or NULL. An
 * argument cut short by the end of the buffer is not one. */
static const char *next_arg(const char *cmd, size_t len, size_t *pos)
{
	if (*pos >= len)
		return NULL;
	const char *a = cmd + *pos;
	const char *nul = memchr(a, '\0', len - *pos);
	if (!nul)
		return NULL;
	*pos = (size_t)(nul - cmd) + 1;
	return a;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Whether a command line's program is prog (by base name); *pos is then
 * just past it. */
static bool program_is(const char *cmd, size_t len, size_t *pos, const char *prog)
{
	*pos = 0;
	const char *a = next_arg(cmd, len, pos);
	return a && strcmp(base_name(a), prog) == 0;
}

int pc_container_parse_conmon(const char *cmdline, size_t len, struct pc_conmon_args *out)
{
	memset(out, 0, sizeof(*out));
	size_t pos;
	const char *a;
	if (!program_is(cmdline, len, &pos, "conmon"))
		return PC_EPARSE;
	while ((a = next_arg(cmdline, len, &pos)) != NULL) {
		const char *val = NULL;
		char *dst = NULL;
		size_t dsize = 0;
		if (strcmp(a, "-c") == 0 || strcmp(a, "--cid") == 0) {
			dst = out->id;
			dsize = sizeof(out->id);
		} else if (strcmp(a, "-n") == 0 || strcmp(a, "--name") == 0) {
			dst = out->name;
			dsize = sizeof(out->name);
		} else if (strcmp(a, "-b") == 0 || strcmp(a, "--bundle") == 0) {
			dst = out->bundle;
			dsize = sizeof(out->bundle);
		} else if (strcmp(a, "--exit-command") == 0) {
			val = next_arg(cmdline, len, &pos);
			if (val && strcmp(base_name(val), "podman") == 0)
				out->podman = true;
			continue;
		} else {
			continue;
		}
		val = next_arg(cmdline, len, &pos);
		if (!val)
			break;
		dst[0] = '\0';
		pc_container_set_field(dst, dsize, val);
	}
	if (!pc_container_is_hex_id(out->id) || (out->bundle[0] && out->bundle[0] != '/')) {
		memset(out, 0, sizeof(*out));
		return PC_EPARSE;
	}
	return 0;
}

int pc_container_parse_dockerd(const char *cmdline, size_t len, char *root_out, size_t outlen)
{
	size_t pos;
	const char *a;
	if (outlen == 0 || !program_is(cmdline, len, &pos, "dockerd"))
		return PC_EPARSE;
	root_out[0] = '\0';
	while ((a = next_arg(cmdline, len, &pos)) != NULL) {
		static const char *const keys[] = {"--data-root", "-g", "--graph"};
		const char *val = NULL;
		for (size_t k = 0; k < 3 && !val; k++) {
			size_t kl = strlen(keys[k]);
			if (strcmp(a, keys[k]) == 0)
				val = next_arg(cmdline, len, &pos);
			else if (strncmp(a, keys[k], kl) == 0 && a[kl] == '=')
				val = a + kl + 1;
		}
		if (val && val[0] == '/') {
			root_out[0] = '\0'; /* the last one given wins, as in dockerd */
			pc_container_set_field(root_out, outlen, val);
		}
	}
	return root_out[0] ? 0 : PC_EPARSE;
}

static bool parse_port(const char *s, uint16_t *ret)
{
	unsigned v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 65535)
			return false;
	}
	*ret = (uint16_t)v;
	return v != 0;
}

int pc_container_parse_docker_proxy(const char *cmdline, size_t len, struct pc_proxy_args *out)
{
	memset(out, 0, sizeof(*out));
	size_t pos;
	const char *a;
	if (!program_is(cmdline, len, &pos, "docker-proxy"))
		return PC_EPARSE;
	while ((a = next_arg(cmdline, len, &pos)) != NULL) {
		/* Go's flag package: -name value, --name value, -name=value */
		if (a[0] != '-')
			continue;
		a += a[1] == '-' ? 2 : 1;
		char key[32];
		const char *eq = strchr(a, '=');
		size_t kl = eq ? (size_t)(eq - a) : strlen(a);
		if (kl >= sizeof(key))
			continue;
		memcpy(key, a, kl);
		key[kl] = '\0';
		const char *val = eq ? eq + 1 : next_arg(cmdline, len, &pos);
		if (!val)
			break;
		if (strcmp(key, "proto") == 0)
			pc_container_set_field(out->proto, sizeof(out->proto), val);
		else if (strcmp(key, "host-ip") == 0)
			pc_container_set_field(out->host_ip, sizeof(out->host_ip), val);
		else if (strcmp(key, "container-ip") == 0)
			pc_container_set_field(out->container_ip, sizeof(out->container_ip), val);
		else if (strcmp(key, "host-port") == 0)
			parse_port(val, &out->host_port);
		else if (strcmp(key, "container-port") == 0)
			parse_port(val, &out->container_port);
	}
	if (!out->container_ip[0] || !out->container_port) {
		memset(out, 0, sizeof(*out));
		return PC_EPARSE;
	}
	return 0;
}

static int add_bundle(struct pc_container_names *cn, const char *id, const char *path)
{
	if (cn->n_bundles == MAX_BUNDLES)
		return 0;
	if (pc_container_grow((void **)&cn->bundles, &cn->cap_bundles, cn->n_bundles,
	                      sizeof(*cn->bundles), 8) < 0)
		return PC_ENOMEM;
	struct bundle *b = &cn->bundles[cn->n_bundles++];
	snprintf(b->id, sizeof(b->id), "%s", id);
	snprintf(b->path, sizeof(b->path), "%s", path);
	return 0;
}

/*
 * Whether a directory that a conmon (its bundle) or a dockerd (its data
 * root) names may be believed: the process runs as root and the directory
 * is root's. A command line is whatever its process wrote, so an
 * unprivileged process called conmon must not make root's audit read
 * files it chose, nor name a container it does not run (rootless podman is
 * therefore not attributed through conmon: docs/containers.md).
 */
bool pc_container_trusted_bundle(long conmon_uid, const char *bundle)
{
	struct stat st;
	return conmon_uid == 0 && stat(bundle, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == 0;
}

/* The effective uid in a /proc/PID/status text, or -1. */
static long status_euid(const char *text)
{
	const char *u = strstr(text, "\nUid:");
	if (!u)
		return -1;
	char *end;
	u += 5;
	strtol(u, &end, 10); /* real */
	if (end == u)
		return -1;
	u = end;
	long e = strtol(u, &end, 10);
	return end == u ? -1 : e;
}

/*
 * Every running conmon's container and bundle, and every dockerd's data
 * root: how a podman, CRI-O or docker whose state is not at the default
 * place is found without an option. One pass over /proc, reading comm
 * (and, for those two, status and cmdline), done once per run and only
 * when a container of those runtimes is looked up.
 */
void pc_container_scan_processes(struct pc_container_names *cn)
{
	cn->procs_scanned = true;
	DIR *d = opendir(cn->proc);
	if (!d)
		return;
	struct dirent *de;
	struct pc_buf b;
	pc_buf_init(&b, CMDLINE_MAX);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[PATH_LEN];
		snprintf(path, sizeof(path), "%s/%s/comm", cn->proc, de->d_name);
		pc_buf_reset(&b);
		if (pc_buf_read_file(&b, path) != 0 || !b.data)
			continue;
		bool conmon = strcmp(b.data, "conmon\n") == 0;
		if (!conmon && strcmp(b.data, "dockerd\n") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", cn->proc, de->d_name);
		pc_buf_reset(&b);
		long uid = pc_buf_addch(&b, '\n') == 0 && pc_buf_read_file(&b, path) == 0
				   ? status_euid(b.data)
				   : -1;
		snprintf(path, sizeof(path), "%s/%s/cmdline", cn->proc, de->d_name);
		pc_buf_reset(&b);
		if (pc_buf_read_file(&b, path) != 0 || !b.len)
			continue;
		struct pc_conmon_args args;
		char droot[PATH_LEN];
		if (!conmon) {
			if (pc_container_parse_dockerd(b.data, b.len, droot, sizeof(droot)) == 0 &&
			    pc_container_trusted_bundle(uid, droot))
				pc_container_add_docker_root(cn, droot);
		} else if (pc_container_parse_conmon(b.data, b.len, &args) == 0 && args.bundle[0] &&
			   pc_container_trusted_bundle(uid, args.bundle) &&
			   add_bundle(cn, args.id, args.bundle) < 0) {
			break;
		}
	}
	pc_buf_free(&b);
	closedir(d);
}
