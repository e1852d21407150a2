/*
 * container.c - container identity (name, image, pod) from the runtimes'
 * state on disk.
 *
 * The files are the runtimes' own (JSON written by dockerd, podman, CRI-O,
 * containerd; the kubelet's directory names), normally readable only by
 * root. A file that is not there is silence (most hosts run one runtime or
 * none); a file that is there but cannot be read, is too large or does not
 * parse is a snapshot warning, once. Everything is still bytes from
 * outside: read with a size cap, parsed with the strict bounded reader
 * (core/jsonparse), and a field is kept only when it is short printable
 * text (no control bytes, no spaces), so nothing from these files can
 * reach a terminal or a CSV cell as markup.
 *
 * One lookup per container id per run, whatever the number of its
 * sockets: results are cached, and the big files (containers/storage's
 * containers.json and images.json) are parsed once per storage root.
 * Several sources may describe the same container; the first that names
 * a field wins, in the order: runtime annotations (what the orchestrator
 * asked for), then the store's own records.
 *
 * This file is the common part: the checks every field goes through, the
 * cache and the lookup that picks a runtime's reader, the kubelet's pod
 * directories, and the attribution of a socket's owner to a container.
 * Each runtime's reader is its own file (container_docker.c,
 * container_oci.c for CRI-O's and containerd's config.json annotations,
 * container_storage.c for podman's containers/storage), and
 * container_proc.c reads the command lines of conmon, dockerd and
 * docker-proxy; they share container_int.h, not container.h.
 */
#include "inventory/container_int.h"

#include "core/buf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pc_container_printable(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Set dst from s when dst is still empty and s is acceptable text. */
void pc_container_set_field(char *dst, size_t size, const char *s)
{
	if (dst[0] || !s)
		return;
	size_t n = strlen(s);
	if (pc_container_printable(s, n, size - 1))
		memcpy(dst, s, n + 1);
}

/* Room for one more element in a growing array *v of *cap elements of
 * size bytes, n in use: 0, or PC_ENOMEM (the array is left as it was). */
int pc_container_grow(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : first;
	void *p = realloc(*v, c * size);
	if (!p)
		return PC_ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

bool pc_container_is_hex_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

void pc_container_set_uid(struct pc_container_info *info, const char *s)
{
	if (!info->pod_uid[0] && s && is_uuid(s))
		memcpy(info->pod_uid, s, 37);
}

/* Parse a JSON text whose root must be an object (or array when want_array). */
int pc_container_parse_json(const char *json, size_t len, size_t cap, bool want_array,
			    struct pc_jdoc **ret, struct pc_error *err)
{
	struct pc_jparse_opts o = {.max_size = cap};
	struct pc_error dummy;
	if (!err)
		err = &dummy;
	int r = pc_jparse(json, len, &o, ret, NULL, err);
	if (r < 0)
		return r;
	if ((*ret)->root->type != (want_array ? PC_JARRAY : PC_JOBJECT)) {
		pc_jdoc_free(*ret);
		*ret = NULL;
		return pc_error_set(err, PC_EPARSE, "the top level is not a JSON %s",
				    want_array ? "array" : "object");
	}
	return 0;
}

const char *pc_container_str_at(const struct pc_jval *v, const char *a, const char *b)
{
	v = pc_jval_get(v, a);
	return pc_jval_str(b ? pc_jval_get(v, b) : v);
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
	snprintf(cn->proc, sizeof(cn->proc), "%s/proc", cn->root);
	return cn;
}

void pc_container_names_set_proc(struct pc_container_names *cn, const char *proc_root)
{
	if (cn && proc_root)
		snprintf(cn->proc, sizeof(cn->proc), "%s", proc_root);
}

void pc_container_names_set_warn(struct pc_container_names *cn, struct pc_snapshot *snap)
{
	if (cn)
		cn->warn = snap;
}

void pc_container_names_free(struct pc_container_names *cn)
{
	if (!cn)
		return;
	for (size_t i = 0; i < cn->n; i++)
		free(cn->v[i].info);
	free(cn->v);
	for (size_t i = 0; i < cn->n_pods; i++)
		free(cn->pods[i].name);
	free(cn->pods);
	for (size_t i = 0; i < cn->n_stores; i++) {
		pc_jdoc_free(cn->stores[i].containers);
		pc_jdoc_free(cn->stores[i].images);
	}
	free(cn->bundles);
	free(cn);
}

/*
 * Read and parse one state file. 0 with *ret set; 1 when the file is not
 * there (silence); a negative code after a warning otherwise.
 */
int pc_container_read_state(struct pc_container_names *cn, const char *path, size_t cap,
			    bool want_array, struct pc_jdoc **ret)
{
	*ret = NULL;
	struct pc_buf b;
	pc_buf_init(&b, cap);
	int r = pc_buf_read_file(&b, path);
	if (r == -ENOENT || r == -ENOTDIR) {
		pc_buf_free(&b);
		return 1;
	}
	struct pc_error err;
	if (r < 0) {
		if (cn->warn)
			pc_snapshot_warn(cn->warn, "container state %s: %s", path,
					 r == PC_ETOOBIG ? "larger than the cap, not read"
							 : pc_strerror(r));
	} else if ((r = pc_container_parse_json(b.data, b.len, cap, want_array, ret, &err)) < 0) {
		if (cn->warn)
			pc_snapshot_warn(cn->warn, "container state %s:%d:%d: %s", path, err.line,
					 err.col, err.msg);
	}
	pc_buf_free(&b);
	return r;
}

static struct entry *find_entry(struct pc_container_names *cn, const char *runtime,
				const char *id)
{
	for (size_t i = 0; i < cn->n; i++)
		if (strcmp(cn->v[i].key, id) == 0 && strcmp(cn->v[i].runtime, runtime) == 0)
			return &cn->v[i];
	return NULL;
}

static struct entry *add_entry(struct pc_container_names *cn, const char *runtime,
			       const char *id)
{
	if (pc_container_grow((void **)&cn->v, &cn->cap, cn->n, sizeof(*cn->v), 16) < 0)
		return NULL;
	struct entry *e = &cn->v[cn->n];
	snprintf(e->key, sizeof(e->key), "%s", id);
	e->runtime = runtime;
	e->info = calloc(1, sizeof(*e->info));
	if (!e->info)
		return NULL;
	cn->n++;
	return e;
}

const struct pc_container_info *pc_container_lookup(struct pc_container_names *cn,
						    const char *runtime, const char *id,
						    const char *bundle_hint)
{
	if (!cn || !runtime || !id || !pc_container_is_hex_id(id))
		return NULL;
	static const char *const known[] = {"docker", "podman", "cri-o", "containerd"};
	const char *rt = NULL;
	for (size_t i = 0; i < 4 && !rt; i++)
		if (strcmp(runtime, known[i]) == 0)
			rt = known[i];
	if (!rt)
		return NULL;
	struct entry *e = find_entry(cn, rt, id);
	if (e)
		return e->info;
	if (!(e = add_entry(cn, rt, id)))
		return NULL;
	struct pc_container_info *info = e->info;
	bool found;
	if (rt == known[0])
		found = pc_container_docker_read(cn, id, info);
	else if (rt == known[3])
		found = pc_container_containerd_read(cn, id, info);
	else
		found = pc_container_storage_lookup(cn, id, bundle_hint, info);
	if (!found) {
		if (cn->warn)
			pc_snapshot_warn(cn->warn,
					 "container %.12s (%s): no state found on disk, its name "
					 "and image are unknown",
					 id, rt);
		free(info);
		e->info = NULL;
	}
	return e->info;
}

const char *pc_container_name(struct pc_container_names *cn, const char *runtime, const char *id)
{
	const struct pc_container_info *info = pc_container_lookup(cn, runtime, id, NULL);
	return info && info->name[0] ? info->name : NULL;
}

int pc_container_pod_dir(const char *dirname, char *out, size_t outlen, char *uid_out)
{
	const char *a = strchr(dirname, '_');
	const char *b = a ? strchr(a + 1, '_') : NULL;
	if (!a || !b || strchr(b + 1, '_') || a == dirname || b == a + 1)
		return PC_EPARSE;
	const char *uid = b + 1;
	if (!is_uuid(uid))
		return PC_EPARSE;
	size_t ns = (size_t)(a - dirname), pod = (size_t)(b - a - 1);
	if (!pc_container_printable(dirname, ns, PC_CONTAINER_NAME_MAX) ||
	    !pc_container_printable(a + 1, pod, PC_CONTAINER_NAME_MAX) || ns + 1 + pod >= outlen)
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
	cn->pods_loaded = true;
	char path[PATH_LEN];
	snprintf(path, sizeof(path), "%s/var/log/pods", cn->root);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char name[2 * PC_CONTAINER_NAME_MAX + 2], uid[37];
		if (pc_container_pod_dir(de->d_name, name, sizeof(name), uid) != 0)
			continue;
		if (pc_container_grow((void **)&cn->pods, &cn->cap_pods, cn->n_pods,
		                      sizeof(*cn->pods), 16) < 0)
			break;
		struct pod *p = &cn->pods[cn->n_pods];
		memcpy(p->uid, uid, 37);
		if (!(p->name = strdup(name)))
			break;
		cn->n_pods++;
	}
	closedir(d);
}

const char *pc_container_pod_name(struct pc_container_names *cn, const char *pod_uid)
{
	if (!cn || !pod_uid)
		return NULL;
	if (!cn->pods_loaded)
		load_pods(cn);
	for (size_t i = 0; i < cn->n_pods; i++)
		if (strcmp(cn->pods[i].uid, pod_uid) == 0)
			return cn->pods[i].name;
	return NULL;
}

static int dup_field(struct pc_snapshot *snap, const char *s, const char **out)
{
	if (!s || !s[0])
		return 0;
	return (*out = pc_snapshot_strdup(snap, s)) ? 0 : PC_ENOMEM;
}

int pc_container_fill_owner(struct pc_container_names *cn, struct pc_snapshot *snap,
			    const char *comm, long uid, const char *cmdline, size_t cmdline_len,
			    const char *cg_id, const char *cg_runtime, const char *cg_pod_uid,
			    struct pc_container *out)
{
	memset(out, 0, sizeof(*out));
	const char *id = cg_id && cg_id[0] ? cg_id : NULL;
	const char *runtime = cg_runtime;
	const char *bundle = NULL, *fallback_name = NULL;
	const struct pc_container_info *info = NULL;
	struct pc_conmon_args cm;
	struct pc_proxy_args px;
	char pid[65];
	/* a userland proxy is attributed to the container it publishes */
	if (comm && cmdline && strcmp(comm, "conmon") == 0 &&
	    pc_container_parse_conmon(cmdline, cmdline_len, &cm) == 0 &&
	    (!cm.bundle[0] || pc_container_trusted_bundle(uid, cm.bundle)) && uid == 0) {
		id = cm.id;
		runtime = cm.podman ? "podman" : "cri-o";
		bundle = cm.bundle[0] ? cm.bundle : NULL;
		fallback_name = cm.name[0] ? cm.name : NULL;
	} else if (comm && cmdline && uid == 0 && strcmp(comm, "docker-proxy") == 0 &&
		   pc_container_parse_docker_proxy(cmdline, cmdline_len, &px) == 0) {
		runtime = "docker";
		info = pc_container_docker_by_addr(cn, px.container_ip, pid);
		id = info ? pid : NULL;
	}
	if (id) {
		if (!(out->id = pc_snapshot_strdup(snap, id)))
			return PC_ENOMEM;
		out->runtime = runtime;
		if (!info)
			info = pc_container_lookup(cn, runtime, id, bundle);
	}
	const char *pod_uid = cg_pod_uid && cg_pod_uid[0] ? cg_pod_uid : NULL;
	if (info) {
		if (dup_field(snap, info->name, &out->name) < 0 ||
		    dup_field(snap, info->image, &out->image) < 0 ||
		    dup_field(snap, info->image_id, &out->image_id) < 0 ||
		    dup_field(snap, info->pod, &out->pod) < 0 ||
		    dup_field(snap, info->pod_namespace, &out->pod_namespace) < 0)
			return PC_ENOMEM;
		if (!pod_uid && info->pod_uid[0])
			pod_uid = info->pod_uid;
	}
	if (!out->name && fallback_name && dup_field(snap, fallback_name, &out->name) < 0)
		return PC_ENOMEM;
	if (pod_uid && dup_field(snap, pod_uid, &out->pod_uid) < 0)
		return PC_ENOMEM;
	/* the kubelet's directory names the pod when the runtime did not */
	const char *nspod = !out->pod ? pc_container_pod_name(cn, out->pod_uid) : NULL;
	const char *slash = nspod ? strchr(nspod, '/') : NULL;
	if (slash) {
		char ns[PC_CONTAINER_NAME_MAX + 1];
		size_t nl = (size_t)(slash - nspod);
		if (nl < sizeof(ns)) {
			memcpy(ns, nspod, nl);
			ns[nl] = '\0';
			if (dup_field(snap, ns, &out->pod_namespace) < 0 ||
			    dup_field(snap, slash + 1, &out->pod) < 0)
				return PC_ENOMEM;
		}
	}
	return 0;
}
