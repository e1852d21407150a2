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
 */
#include "inventory/container.h"

#include "core/buf.h"
#include "core/error.h"
#include "core/jsonparse.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCKER_CONFIG_MAX (4u << 20)
#define OCI_CONFIG_MAX (4u << 20)
#define STORE_MAX (64u << 20)
#define METADATA_MAX (64u << 10)
#define CMDLINE_MAX (64u << 10)
#define MAX_STORES 8
#define MAX_BUNDLES 4096
#define MAX_DOCKER_ROOTS 4
#define DAEMON_JSON_MAX (1u << 20)
#define PATH_LEN 1024

/* One container looked up; info NULL: no state found. */
struct entry {
	char key[65];
	const char *runtime;
	struct pc_container_info *info;
};

/* A pod uid and its "NS/POD" from the kubelet's log directories. */
struct pod {
	char uid[37];
	char *name;
};

/* A containers/storage root: its two JSON files, parsed once. */
struct store {
	char root[PATH_LEN];
	struct pc_jdoc *containers, *images;
};

/* A running conmon's container id and bundle directory. */
struct bundle {
	char id[65];
	char path[PATH_LEN];
};

struct pc_container_names {
	char root[256];
	char proc[272];
	struct pc_snapshot *warn;
	struct entry *v;
	size_t n, cap;
	struct pod *pods;
	size_t n_pods, cap_pods;
	bool pods_loaded;
	struct store stores[MAX_STORES];
	size_t n_stores;
	struct bundle *bundles;
	size_t n_bundles, cap_bundles;
	bool procs_scanned;
	/* dockerd's data roots: running root dockerds' --data-root, then
	 * /etc/docker/daemon.json's, then /var/lib/docker */
	char docker_roots[MAX_DOCKER_ROOTS][PATH_LEN];
	size_t n_docker_roots;
	bool docker_roots_known;
	bool docker_all; /* every docker container looked up (for addresses) */
};

static bool printable(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Set dst from s when dst is still empty and s is acceptable text. */
static void set_field(char *dst, size_t size, const char *s)
{
	if (dst[0] || !s)
		return;
	size_t n = strlen(s);
	if (printable(s, n, size - 1))
		memcpy(dst, s, n + 1);
}

/* Room for one more element in a growing array *v of *cap elements of
 * size bytes, n in use: 0, or PC_ENOMEM (the array is left as it was). */
static int grow(void **v, size_t *cap, size_t n, size_t size, size_t first)
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

static bool is_hex_id(const char *s)
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

static void set_uid(struct pc_container_info *info, const char *s)
{
	if (!info->pod_uid[0] && s && is_uuid(s))
		memcpy(info->pod_uid, s, 37);
}

/* Parse a JSON text whose root must be an object (or array when want_array). */
static int parse_json(const char *json, size_t len, size_t cap, bool want_array,
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

static const char *str_at(const struct pc_jval *v, const char *a, const char *b)
{
	v = pc_jval_get(v, a);
	return pc_jval_str(b ? pc_jval_get(v, b) : v);
}

/* ---------------------------------------------------------------- docker */

static void docker_fill(const struct pc_jval *root, struct pc_container_info *info)
{
	const struct pc_jval *labels = pc_jval_get(pc_jval_get(root, "Config"), "Labels");
	/* dockershim (Kubernetes on docker) records the pod in labels */
	set_field(info->name, sizeof(info->name),
		  pc_jval_str(pc_jval_get(labels, "io.kubernetes.container.name")));
	const char *name = pc_jval_str(pc_jval_get(root, "Name"));
	if (name && name[0] == '/')
		name++;
	set_field(info->name, sizeof(info->name), name);
	set_field(info->image, sizeof(info->image), str_at(root, "Config", "Image"));
	set_field(info->image_id, sizeof(info->image_id), pc_jval_str(pc_jval_get(root, "Image")));
	set_field(info->pod, sizeof(info->pod),
		  pc_jval_str(pc_jval_get(labels, "io.kubernetes.pod.name")));
	set_field(info->pod_namespace, sizeof(info->pod_namespace),
		  pc_jval_str(pc_jval_get(labels, "io.kubernetes.pod.namespace")));
	set_uid(info, pc_jval_str(pc_jval_get(labels, "io.kubernetes.pod.uid")));
	const struct pc_jval *nets = pc_jval_get(pc_jval_get(root, "NetworkSettings"), "Networks");
	/* a stopped container's address may since be another's */
	const struct pc_jval *running = pc_jval_get(pc_jval_get(root, "State"), "Running");
	size_t k = 0;
	if (nets && nets->type == PC_JOBJECT && !(running && running->type == PC_JBOOL &&
						  !running->boolean)) {
		for (size_t i = 0; i < nets->n && k < PC_CONTAINER_ADDRS; i++) {
			static const char *const keys[] = {"IPAddress", "GlobalIPv6Address"};
			for (size_t j = 0; j < 2 && k < PC_CONTAINER_ADDRS; j++) {
				const char *ip = pc_jval_str(pc_jval_get(&nets->kids[i], keys[j]));
				if (!info->addrs[k][0] && ip && ip[0]) {
					set_field(info->addrs[k], sizeof(info->addrs[k]), ip);
					if (info->addrs[k][0])
						k++;
				}
			}
		}
	}
}

int pc_container_parse_docker(const char *json, size_t len, struct pc_container_info *info)
{
	struct pc_jdoc *doc = NULL;
	if (parse_json(json, len, DOCKER_CONFIG_MAX, false, &doc, NULL) < 0)
		return PC_EPARSE;
	docker_fill(doc->root, info);
	pc_jdoc_free(doc);
	return 0;
}

int pc_container_docker_name(const char *json, size_t len, char *out, size_t outlen)
{
	struct pc_container_info info;
	memset(&info, 0, sizeof(info));
	if (pc_container_parse_docker(json, len, &info) < 0 || !info.name[0])
		return PC_EPARSE;
	size_t n = strlen(info.name);
	if (n >= outlen)
		return PC_EPARSE;
	memcpy(out, info.name, n + 1);
	return 0;
}

/* ------------------------------------------------------------------- OCI */

int pc_container_parse_oci(const char *json, size_t len, struct pc_container_info *info)
{
	struct pc_jdoc *doc = NULL;
	if (parse_json(json, len, OCI_CONFIG_MAX, false, &doc, NULL) < 0)
		return PC_EPARSE;
	const struct pc_jval *an = pc_jval_get(doc->root, "annotations");
#define AN(k) pc_jval_str(pc_jval_get(an, k))
	/* containerd's CRI plugin, then CRI-O (which also writes the kubelet's
	 * own io.kubernetes.* keys), then nerdctl */
	const char *type = AN("io.kubernetes.cri.container-type");
	if (!type || strcmp(type, "sandbox") != 0)
		set_field(info->name, sizeof(info->name), AN("io.kubernetes.cri.container-name"));
	set_field(info->name, sizeof(info->name), AN("io.kubernetes.container.name"));
	set_field(info->name, sizeof(info->name), AN("nerdctl/name"));
	set_field(info->image, sizeof(info->image), AN("io.kubernetes.cri.image-name"));
	set_field(info->image, sizeof(info->image), AN("io.kubernetes.cri-o.ImageName"));
	set_field(info->image_id, sizeof(info->image_id), AN("io.kubernetes.cri-o.ImageRef"));
	set_field(info->pod, sizeof(info->pod), AN("io.kubernetes.cri.sandbox-name"));
	set_field(info->pod, sizeof(info->pod), AN("io.kubernetes.pod.name"));
	set_field(info->pod, sizeof(info->pod), AN("io.kubernetes.cri-o.KubeName"));
	set_field(info->pod_namespace, sizeof(info->pod_namespace),
		  AN("io.kubernetes.cri.sandbox-namespace"));
	set_field(info->pod_namespace, sizeof(info->pod_namespace), AN("io.kubernetes.pod.namespace"));
	set_field(info->pod_namespace, sizeof(info->pod_namespace),
		  AN("io.kubernetes.cri-o.Namespace"));
	set_uid(info, AN("io.kubernetes.cri.sandbox-uid"));
	set_uid(info, AN("io.kubernetes.pod.uid"));
#undef AN
	pc_jdoc_free(doc);
	return 0;
}

/* ------------------------------------------------------ containers/storage */

static void storage_fill(const struct pc_jval *containers, const struct pc_jval *images,
			 const char *id, struct pc_container_info *info, bool *found)
{
	*found = false;
	const struct pc_jval *c = NULL;
	for (size_t i = 0; containers && i < containers->n && !c; i++) {
		const char *cid = pc_jval_str(pc_jval_get(&containers->kids[i], "id"));
		if (cid && strcmp(cid, id) == 0)
			c = &containers->kids[i];
	}
	if (!c)
		return;
	*found = true;
	/* podman's and CRI-O's own record of the container, as a JSON string */
	const char *meta = pc_jval_str(pc_jval_get(c, "metadata"));
	struct pc_jdoc *md = NULL;
	if (meta && parse_json(meta, strlen(meta), METADATA_MAX, false, &md, NULL) == 0) {
		set_field(info->image, sizeof(info->image), str_at(md->root, "image-name", NULL));
		set_field(info->image_id, sizeof(info->image_id), str_at(md->root, "image-id", NULL));
		set_field(info->pod, sizeof(info->pod), str_at(md->root, "pod-name", NULL));
		set_field(info->name, sizeof(info->name), str_at(md->root, "name", NULL));
		pc_jdoc_free(md);
	}
	const struct pc_jval *names = pc_jval_get(c, "names");
	if (names && names->type == PC_JARRAY && names->n)
		set_field(info->name, sizeof(info->name), pc_jval_str(&names->kids[0]));
	const char *image = pc_jval_str(pc_jval_get(c, "image"));
	set_field(info->image_id, sizeof(info->image_id), image);
	for (size_t i = 0; image && images && i < images->n && !info->image[0]; i++) {
		const struct pc_jval *im = &images->kids[i];
		const char *iid = pc_jval_str(pc_jval_get(im, "id"));
		const struct pc_jval *in = pc_jval_get(im, "names");
		if (iid && strcmp(iid, image) == 0 && in && in->type == PC_JARRAY && in->n)
			set_field(info->image, sizeof(info->image), pc_jval_str(&in->kids[0]));
	}
}

int pc_container_parse_storage(const char *containers_json, size_t clen,
			       const char *images_json, size_t ilen, const char *id,
			       struct pc_container_info *info)
{
	struct pc_jdoc *c = NULL, *im = NULL;
	if (parse_json(containers_json, clen, STORE_MAX, true, &c, NULL) < 0)
		return PC_EPARSE;
	if (images_json && parse_json(images_json, ilen, STORE_MAX, true, &im, NULL) < 0)
		im = NULL; /* the container's own record may still name the image */
	bool found;
	storage_fill(c->root, im ? im->root : NULL, id, info, &found);
	pc_jdoc_free(c);
	pc_jdoc_free(im);
	return found ? 0 : PC_EPARSE;
}

/* ---------------------------------------------------------- command lines */

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
		set_field(dst, dsize, val);
	}
	if (!is_hex_id(out->id) || (out->bundle[0] && out->bundle[0] != '/')) {
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
			set_field(root_out, outlen, val);
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
			set_field(out->proto, sizeof(out->proto), val);
		else if (strcmp(key, "host-ip") == 0)
			set_field(out->host_ip, sizeof(out->host_ip), val);
		else if (strcmp(key, "container-ip") == 0)
			set_field(out->container_ip, sizeof(out->container_ip), val);
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

/* ------------------------------------------------------------ the cache */

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
static int read_state(struct pc_container_names *cn, const char *path, size_t cap,
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
	} else if ((r = parse_json(b.data, b.len, cap, want_array, ret, &err)) < 0) {
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
	if (grow((void **)&cn->v, &cn->cap, cn->n, sizeof(*cn->v), 16) < 0)
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

static void scan_processes(struct pc_container_names *cn);

static void add_docker_root(struct pc_container_names *cn, const char *root)
{
	for (size_t i = 0; i < cn->n_docker_roots; i++)
		if (strcmp(cn->docker_roots[i], root) == 0)
			return;
	if (cn->n_docker_roots < MAX_DOCKER_ROOTS)
		snprintf(cn->docker_roots[cn->n_docker_roots++], PATH_LEN, "%s", root);
}

/* Where dockerd keeps its state: what a running dockerd was told, what
 * its configuration file says, and the default. */
static void docker_roots(struct pc_container_names *cn)
{
	if (cn->docker_roots_known)
		return;
	cn->docker_roots_known = true;
	if (!cn->procs_scanned)
		scan_processes(cn);
	char path[PATH_LEN];
	snprintf(path, sizeof(path), "%s/etc/docker/daemon.json", cn->root);
	struct pc_jdoc *doc;
	if (read_state(cn, path, DAEMON_JSON_MAX, false, &doc) == 0) {
		const char *r = pc_jval_str(pc_jval_get(doc->root, "data-root"));
		if (!r)
			r = pc_jval_str(pc_jval_get(doc->root, "graph"));
		char root[PATH_LEN] = "";
		set_field(root, sizeof(root), r);
		if (root[0] == '/') {
			char full[PATH_LEN + 256];
			int k = snprintf(full, sizeof(full), "%s%s", cn->root, root);
			if (k > 0 && (size_t)k < PATH_LEN)
				add_docker_root(cn, full);
		}
		pc_jdoc_free(doc);
	}
	snprintf(path, sizeof(path), "%s/var/lib/docker", cn->root);
	add_docker_root(cn, path);
}

static bool docker_read(struct pc_container_names *cn, const char *id,
			struct pc_container_info *info)
{
	docker_roots(cn);
	for (size_t i = 0; i < cn->n_docker_roots; i++) {
		char path[PATH_LEN + 128];
		snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", cn->docker_roots[i],
			 id);
		struct pc_jdoc *doc;
		int r = read_state(cn, path, DOCKER_CONFIG_MAX, false, &doc);
		if (r == 1)
			continue; /* not in this root */
		if (r < 0)
			return false; /* there, but unreadable: warned */
		docker_fill(doc->root, info);
		pc_jdoc_free(doc);
		return true;
	}
	return false;
}

/* Parse an OCI config.json into info: true when it was there and parsed. */
static bool oci_read(struct pc_container_names *cn, const char *path,
		     struct pc_container_info *info)
{
	struct pc_buf b;
	pc_buf_init(&b, OCI_CONFIG_MAX);
	int r = pc_buf_read_file(&b, path);
	bool ok = false;
	if (r == 0) {
		ok = pc_container_parse_oci(b.data, b.len, info) == 0;
		if (!ok && cn->warn)
			pc_snapshot_warn(cn->warn, "container state %s: not an OCI config", path);
	} else if (r != -ENOENT && r != -ENOTDIR && cn->warn) {
		pc_snapshot_warn(cn->warn, "container state %s: %s", path,
				 r == PC_ETOOBIG ? "larger than the cap, not read" : pc_strerror(r));
	}
	pc_buf_free(&b);
	return ok;
}

static bool containerd_read(struct pc_container_names *cn, const char *id,
			    struct pc_container_info *info)
{
	static const char *const tasks[] = {"io.containerd.runtime.v2.task",
					    "io.containerd.runtime.v1.linux"};
	for (size_t t = 0; t < 2; t++) {
		char dir[PATH_LEN];
		snprintf(dir, sizeof(dir), "%s/run/containerd/%s", cn->root, tasks[t]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *de;
		bool ok = false;
		while (!ok && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char path[PATH_LEN + 384];
			int k = snprintf(path, sizeof(path), "%s/%s/%s/config.json", dir, de->d_name,
					 id);
			ok = k > 0 && (size_t)k < sizeof(path) && oci_read(cn, path, info);
		}
		closedir(d);
		if (ok)
			return true;
	}
	return false;
}

static struct store *get_store(struct pc_container_names *cn, const char *root)
{
	for (size_t i = 0; i < cn->n_stores; i++)
		if (strcmp(cn->stores[i].root, root) == 0)
			return &cn->stores[i];
	if (cn->n_stores == MAX_STORES)
		return NULL;
	struct store *s = &cn->stores[cn->n_stores++];
	memset(s, 0, sizeof(*s));
	snprintf(s->root, sizeof(s->root), "%s", root);
	char path[PATH_LEN + 64];
	snprintf(path, sizeof(path), "%s/overlay-containers/containers.json", root);
	read_state(cn, path, STORE_MAX, true, &s->containers);
	if (s->containers) {
		snprintf(path, sizeof(path), "%s/overlay-images/images.json", root);
		read_state(cn, path, STORE_MAX, true, &s->images);
	}
	return s;
}

static int add_bundle(struct pc_container_names *cn, const char *id, const char *path)
{
	if (cn->n_bundles == MAX_BUNDLES)
		return 0;
	if (grow((void **)&cn->bundles, &cn->cap_bundles, cn->n_bundles, sizeof(*cn->bundles),
		 8) < 0)
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
static bool trusted_bundle(long conmon_uid, const char *bundle)
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
static void scan_processes(struct pc_container_names *cn)
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
			    trusted_bundle(uid, droot))
				add_docker_root(cn, droot);
		} else if (pc_container_parse_conmon(b.data, b.len, &args) == 0 && args.bundle[0] &&
			   trusted_bundle(uid, args.bundle) &&
			   add_bundle(cn, args.id, args.bundle) < 0) {
			break;
		}
	}
	pc_buf_free(&b);
	closedir(d);
}

/* The storage root of a bundle ROOT/overlay-containers/ID/userdata, into
 * out; false when the bundle is not of that shape. */
static bool bundle_store(const char *bundle, const char *id, char *out, size_t outlen)
{
	char tail[128];
	snprintf(tail, sizeof(tail), "/overlay-containers/%s/userdata", id);
	size_t bl = strlen(bundle), tl = strlen(tail);
	while (bl > 1 && bundle[bl - 1] == '/')
		bl--;
	if (bl <= tl || memcmp(bundle + bl - tl, tail, tl) != 0 || bl - tl >= outlen)
		return false;
	memcpy(out, bundle, bl - tl);
	out[bl - tl] = '\0';
	return true;
}

static bool storage_lookup(struct pc_container_names *cn, const char *id,
			   const char *bundle_hint, struct pc_container_info *info)
{
	if (!bundle_hint && !cn->procs_scanned)
		scan_processes(cn);
	const char *bundles[3 + 1];
	size_t nb = 0;
	if (bundle_hint)
		bundles[nb++] = bundle_hint;
	for (size_t i = 0; i < cn->n_bundles && nb < 2; i++)
		if (strcmp(cn->bundles[i].id, id) == 0)
			bundles[nb++] = cn->bundles[i].path;
	char defaults[2][PATH_LEN];
	snprintf(defaults[0], sizeof(defaults[0]),
		 "%s/var/lib/containers/storage/overlay-containers/%s/userdata", cn->root, id);
	snprintf(defaults[1], sizeof(defaults[1]),
		 "%s/run/containers/storage/overlay-containers/%s/userdata", cn->root, id);
	bundles[nb++] = defaults[0];
	bundles[nb++] = defaults[1];
	bool found = false;
	for (size_t i = 0; i < nb; i++) {
		char path[PATH_LEN + 16];
		snprintf(path, sizeof(path), "%s/config.json", bundles[i]);
		if (oci_read(cn, path, info))
			found = true;
	}
	/* the stores that those bundles belong to: a runroot (/run/...) has
	 * no containers.json and costs one failed open */
	for (size_t i = 0; i < nb; i++) {
		char root[PATH_LEN];
		if (!bundle_store(bundles[i], id, root, sizeof(root)))
			continue;
		struct store *s = get_store(cn, root);
		if (!s || !s->containers)
			continue;
		bool f;
		storage_fill(s->containers->root, s->images ? s->images->root : NULL, id, info, &f);
		found = found || f;
	}
	return found;
}

const struct pc_container_info *pc_container_lookup(struct pc_container_names *cn,
						    const char *runtime, const char *id,
						    const char *bundle_hint)
{
	if (!cn || !runtime || !id || !is_hex_id(id))
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
		found = docker_read(cn, id, info);
	else if (rt == known[3])
		found = containerd_read(cn, id, info);
	else
		found = storage_lookup(cn, id, bundle_hint, info);
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

const struct pc_container_info *pc_container_docker_by_addr(struct pc_container_names *cn,
							    const char *ip, char *id_out)
{
	if (!cn || !ip || !ip[0])
		return NULL;
	if (!cn->docker_all) {
		cn->docker_all = true;
		docker_roots(cn);
		for (size_t i = 0; i < cn->n_docker_roots; i++) {
			char dir[PATH_LEN + 16];
			snprintf(dir, sizeof(dir), "%s/containers", cn->docker_roots[i]);
			DIR *d = opendir(dir);
			struct dirent *de;
			while (d && (de = readdir(d)) != NULL)
				if (is_hex_id(de->d_name))
					pc_container_lookup(cn, "docker", de->d_name, NULL);
			if (d)
				closedir(d);
		}
	}
	for (size_t i = 0; i < cn->n; i++) {
		const struct entry *e = &cn->v[i];
		if (!e->info || strcmp(e->runtime, "docker") != 0)
			continue;
		for (size_t k = 0; k < PC_CONTAINER_ADDRS; k++)
			if (strcmp(e->info->addrs[k], ip) == 0) {
				memcpy(id_out, e->key, 65);
				return e->info;
			}
	}
	return NULL;
}

/* ----------------------------------------------------------------- pods */

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
	if (!printable(dirname, ns, PC_CONTAINER_NAME_MAX) ||
	    !printable(a + 1, pod, PC_CONTAINER_NAME_MAX) || ns + 1 + pod >= outlen)
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
		if (grow((void **)&cn->pods, &cn->cap_pods, cn->n_pods, sizeof(*cn->pods), 16) < 0)
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

/* --------------------------------------------------------------- owners */

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
	    (!cm.bundle[0] || trusted_bundle(uid, cm.bundle)) && uid == 0) {
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
