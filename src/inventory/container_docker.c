/*
 * container_docker.c - docker's state: a container's config.v2.json under
 * each data root dockerd uses, and the lookup of a container by address
 * (what a docker-proxy publishes).
 *
 * Split from container.c: one reader per runtime. dockerd's data root is
 * not always /var/lib/docker, so the roots are what a running root dockerd
 * was told (container_proc.c), then /etc/docker/daemon.json, then the
 * default, each read once per run. config.v2.json is parsed with the
 * bounded JSON reader and every field goes through pc_container_set_field
 * (short printable text only). A stopped container's addresses are not
 * kept: another container may hold them since.
 */
#include "inventory/container_int.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static void docker_fill(const struct pc_jval *root, struct pc_container_info *info)
{
	const struct pc_jval *labels = pc_jval_get(pc_jval_get(root, "Config"), "Labels");
	/* dockershim (Kubernetes on docker) records the pod in labels */
	pc_container_set_field(info->name, sizeof(info->name),
			       pc_jval_str(pc_jval_get(labels, "io.kubernetes.container.name")));
	const char *name = pc_jval_str(pc_jval_get(root, "Name"));
	if (name && name[0] == '/')
		name++;
	pc_container_set_field(info->name, sizeof(info->name), name);
	pc_container_set_field(info->image, sizeof(info->image),
	                       pc_container_str_at(root, "Config", "Image"));
	pc_container_set_field(info->image_id, sizeof(info->image_id),
	                       pc_jval_str(pc_jval_get(root, "Image")));
	pc_container_set_field(info->pod, sizeof(info->pod),
			       pc_jval_str(pc_jval_get(labels, "io.kubernetes.pod.name")));
	pc_container_set_field(info->pod_namespace, sizeof(info->pod_namespace),
			       pc_jval_str(pc_jval_get(labels, "io.kubernetes.pod.namespace")));
	pc_container_set_uid(info, pc_jval_str(pc_jval_get(labels, "io.kubernetes.pod.uid")));
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
					pc_container_set_field(info->addrs[k],
					                       sizeof(info->addrs[k]), ip);
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
	if (pc_container_parse_json(json, len, DOCKER_CONFIG_MAX, false, &doc, NULL) < 0)
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

void pc_container_add_docker_root(struct pc_container_names *cn, const char *root)
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
		pc_container_scan_processes(cn);
	char path[PATH_LEN];
	snprintf(path, sizeof(path), "%s/etc/docker/daemon.json", cn->root);
	struct pc_jdoc *doc;
	if (pc_container_read_state(cn, path, DAEMON_JSON_MAX, false, &doc) == 0) {
		const char *r = pc_jval_str(pc_jval_get(doc->root, "data-root"));
		if (!r)
			r = pc_jval_str(pc_jval_get(doc->root, "graph"));
		char root[PATH_LEN] = "";
		pc_container_set_field(root, sizeof(root), r);
		if (root[0] == '/') {
			char full[PATH_LEN + 256];
			int k = snprintf(full, sizeof(full), "%s%s", cn->root, root);
			if (k > 0 && (size_t)k < PATH_LEN)
				pc_container_add_docker_root(cn, full);
		}
		pc_jdoc_free(doc);
	}
	snprintf(path, sizeof(path), "%s/var/lib/docker", cn->root);
	pc_container_add_docker_root(cn, path);
}

bool pc_container_docker_read(struct pc_container_names *cn, const char *id,
			      struct pc_container_info *info)
{
	docker_roots(cn);
	for (size_t i = 0; i < cn->n_docker_roots; i++) {
		char path[PATH_LEN + 128];
		snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", cn->docker_roots[i],
			 id);
		struct pc_jdoc *doc;
		int r = pc_container_read_state(cn, path, DOCKER_CONFIG_MAX, false, &doc);
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
				if (pc_container_is_hex_id(de->d_name))
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
