/*
 * container.c - container and pod names from the runtimes' state on disk.
 *
 * The files are the runtimes' own (JSON written by dockerd and podman, the
 * kubelet's directory names), read only as root normally, so a failure to
 * read is silence, not an error. They are still bytes from outside: read
 * with a size cap, parsed with the strict bounded reader (core/jsonparse),
 * and names are kept only when they are short printable text.
 */
#include "inventory/container.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/jsonparse.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 253 /* a DNS name; docker and podman names are shorter */
#define DOCKER_CONFIG_MAX (4u << 20)
#define PODMAN_STORE_MAX (64u << 20)

struct entry {
	char key[65]; /* container id or pod uid */
	char *name;   /* NULL: looked up, not found */
};

struct table {
	struct entry *v;
	size_t n, cap;
	bool loaded;
};

struct pc_container_names {
	char root[256];
	struct table docker; /* filled one id at a time */
	struct table podman; /* whole store, once */
	struct table pods;   /* whole /var/log/pods, once */
};

static bool printable_name(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static int table_add(struct table *t, const char *key, const char *name)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct entry *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return PC_ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	struct entry *e = &t->v[t->n];
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->name = NULL;
	if (name && !(e->name = strdup(name)))
		return PC_ENOMEM;
	t->n++;
	return 0;
}

static const struct entry *table_find(const struct table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	return NULL;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
}

struct pc_container_names *pc_container_names_new(const char *root)
{
	struct pc_container_names *cn = calloc(1, sizeof(*cn));
	if (!cn)
		return NULL;
	/* "/" becomes "" so paths read "/var/lib/..." */
	if (!root || strcmp(root, "/") == 0)
		root = "";
	snprintf(cn->root, sizeof(cn->root), "%s", root);
	return cn;
}

void pc_container_names_free(struct pc_container_names *cn)
{
	if (!cn)
		return;
	table_free(&cn->docker);
	table_free(&cn->podman);
	table_free(&cn->pods);
	free(cn);
}

int pc_container_docker_name(const char *json, size_t len, char *out, size_t outlen)
{
	struct pc_jparse_opts o = {.max_size = DOCKER_CONFIG_MAX};
	struct pc_jdoc *doc = NULL;
	struct pc_error err;
	if (pc_jparse(json, len, &o, &doc, NULL, &err) < 0)
		return PC_EPARSE;
	const char *name = pc_jval_str(pc_jval_get(doc->root, "Name"));
	int r = PC_EPARSE;
	if (name) {
		if (name[0] == '/')
			name++;
		size_t n = strlen(name);
		if (printable_name(name, n) && n < outlen) {
			memcpy(out, name, n + 1);
			r = 0;
		}
	}
	pc_jdoc_free(doc);
	return r;
}

static bool is_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

static const char *docker_name(struct pc_container_names *cn, const char *id)
{
	const struct entry *e = table_find(&cn->docker, id);
	if (e)
		return e->name;
	char path[512], name[NAME_MAX_LEN + 1];
	snprintf(path, sizeof(path), "%s/var/lib/docker/containers/%s/config.v2.json", cn->root,
		 id);
	struct pc_buf b;
	pc_buf_init(&b, DOCKER_CONFIG_MAX);
	bool ok = pc_buf_read_file(&b, path) == 0 &&
		  pc_container_docker_name(b.data, b.len, name, sizeof(name)) == 0;
	pc_buf_free(&b);
	if (table_add(&cn->docker, id, ok ? name : NULL) < 0)
		return NULL;
	return cn->docker.v[cn->docker.n - 1].name;
}

static void load_podman(struct pc_container_names *cn)
{
	cn->podman.loaded = true;
	char path[512];
	snprintf(path, sizeof(path), "%s/var/lib/containers/storage/overlay-containers/"
				     "containers.json",
		 cn->root);
	struct pc_buf b;
	pc_buf_init(&b, PODMAN_STORE_MAX);
	struct pc_jdoc *doc = NULL;
	struct pc_jparse_opts o = {.max_size = PODMAN_STORE_MAX};
	struct pc_error err;
	if (pc_buf_read_file(&b, path) == 0 && pc_jparse(b.data, b.len, &o, &doc, NULL, &err) == 0 &&
	    doc->root->type == PC_JARRAY) {
		for (size_t i = 0; i < doc->root->n; i++) {
			const struct pc_jval *c = &doc->root->kids[i];
			const char *id = pc_jval_str(pc_jval_get(c, "id"));
			const struct pc_jval *names = pc_jval_get(c, "names");
			if (!id || !is_id(id) || !names || names->type != PC_JARRAY || !names->n)
				continue;
			const char *name = pc_jval_str(&names->kids[0]);
			if (!name || !printable_name(name, strlen(name)))
				continue;
			if (table_add(&cn->podman, id, name) < 0)
				break;
		}
	}
	pc_jdoc_free(doc);
	pc_buf_free(&b);
}

const char *pc_container_name(struct pc_container_names *cn, const char *runtime, const char *id)
{
	if (!cn || !runtime || !id || !is_id(id))
		return NULL;
	if (strcmp(runtime, "docker") == 0)
		return docker_name(cn, id);
	if (strcmp(runtime, "podman") == 0 || strcmp(runtime, "cri-o") == 0) {
		if (!cn->podman.loaded)
			load_podman(cn);
		const struct entry *e = table_find(&cn->podman, id);
		return e ? e->name : NULL;
	}
	return NULL;
}

int pc_container_pod_dir(const char *dirname, char *out, size_t outlen, char *uid_out)
{
	const char *a = strchr(dirname, '_');
	const char *b = a ? strchr(a + 1, '_') : NULL;
	if (!a || !b || strchr(b + 1, '_') || a == dirname || b == a + 1)
		return PC_EPARSE;
	const char *uid = b + 1;
	if (strlen(uid) != 36)
		return PC_EPARSE;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = uid[i];
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return PC_EPARSE;
	}
	size_t ns = (size_t)(a - dirname), pod = (size_t)(b - a - 1);
	if (!printable_name(dirname, ns) || !printable_name(a + 1, pod) || ns + 1 + pod >= outlen)
		return PC_EPARSE;
	memcpy(out, dirname, ns);
	out[ns] = '/';
	memcpy(out + ns + 1, a + 1, pod);
	out[ns + 1 + pod] = '\0';
	memcpy(uid_out, uid, 37);
	return 0;
}

static void load_pods(struct pc_container_names *cn)
{
	cn->pods.loaded = true;
	char path[512];
	snprintf(path, sizeof(path), "%s/var/log/pods", cn->root);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char name[2 * NAME_MAX_LEN + 2], uid[37];
		if (pc_container_pod_dir(de->d_name, name, sizeof(name), uid) == 0 &&
		    table_add(&cn->pods, uid, name) < 0)
			break;
	}
	closedir(d);
}

const char *pc_container_pod_name(struct pc_container_names *cn, const char *pod_uid)
{
	if (!cn || !pod_uid)
		return NULL;
	if (!cn->pods.loaded)
		load_pods(cn);
	const struct entry *e = table_find(&cn->pods, pod_uid);
	return e ? e->name : NULL;
}
