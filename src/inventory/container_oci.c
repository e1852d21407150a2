/*
 * container_oci.c - the OCI runtime bundle's config.json: the annotations
 * that containerd's CRI plugin, CRI-O (with the kubelet's io.kubernetes.*
 * keys) and nerdctl write, and containerd's task directories where those
 * bundles live.
 *
 * Split from container.c: one reader per runtime. The annotations are what
 * the orchestrator asked for, so they are read before a store's own
 * records (container_storage.c reads CRI-O's and podman's bundles through
 * pc_container_oci_read too). A sandbox (pause) container does not lend
 * its name to the pod's containers.
 */
#include "inventory/container_int.h"

#include "core/buf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int pc_container_parse_oci(const char *json, size_t len, struct pc_container_info *info)
{
	struct pc_jdoc *doc = NULL;
	if (pc_container_parse_json(json, len, OCI_CONFIG_MAX, false, &doc, NULL) < 0)
		return PC_EPARSE;
	const struct pc_jval *an = pc_jval_get(doc->root, "annotations");
#define AN(k) pc_jval_str(pc_jval_get(an, k))
	/* containerd's CRI plugin, then CRI-O (which also writes the kubelet's
	 * own io.kubernetes.* keys), then nerdctl */
	const char *type = AN("io.kubernetes.cri.container-type");
	if (!type || strcmp(type, "sandbox") != 0)
		pc_container_set_field(info->name, sizeof(info->name),
		                       AN("io.kubernetes.cri.container-name"));
	pc_container_set_field(info->name, sizeof(info->name), AN("io.kubernetes.container.name"));
	pc_container_set_field(info->name, sizeof(info->name), AN("nerdctl/name"));
	pc_container_set_field(info->image, sizeof(info->image),
	                       AN("io.kubernetes.cri.image-name"));
	pc_container_set_field(info->image, sizeof(info->image),
	                       AN("io.kubernetes.cri-o.ImageName"));
	pc_container_set_field(info->image_id, sizeof(info->image_id),
	                       AN("io.kubernetes.cri-o.ImageRef"));
	pc_container_set_field(info->pod, sizeof(info->pod), AN("io.kubernetes.cri.sandbox-name"));
	pc_container_set_field(info->pod, sizeof(info->pod), AN("io.kubernetes.pod.name"));
	pc_container_set_field(info->pod, sizeof(info->pod), AN("io.kubernetes.cri-o.KubeName"));
	pc_container_set_field(info->pod_namespace, sizeof(info->pod_namespace),
			       AN("io.kubernetes.cri.sandbox-namespace"));
	pc_container_set_field(info->pod_namespace, sizeof(info->pod_namespace),
	                       AN("io.kubernetes.pod.namespace"));
	pc_container_set_field(info->pod_namespace, sizeof(info->pod_namespace),
			       AN("io.kubernetes.cri-o.Namespace"));
	pc_container_set_uid(info, AN("io.kubernetes.cri.sandbox-uid"));
	pc_container_set_uid(info, AN("io.kubernetes.pod.uid"));
#undef AN
	pc_jdoc_free(doc);
	return 0;
}

/* Parse an OCI config.json into info: true when it was there and parsed. */
bool pc_container_oci_read(struct pc_container_names *cn, const char *path,
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
		                 r == PC_ETOOBIG ? "larger than the cap, not read"
		                                 : pc_strerror(r));
	}
	pc_buf_free(&b);
	return ok;
}

bool pc_container_containerd_read(struct pc_container_names *cn, const char *id,
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
			int k = snprintf(path, sizeof(path), "%s/%s/%s/config.json", dir,
			                 de->d_name, id);
			ok = k > 0 && (size_t)k < sizeof(path) &&
			     pc_container_oci_read(cn, path, info);
		}
		closedir(d);
		if (ok)
			return true;
	}
	return false;
}
