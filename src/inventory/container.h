/*
 * container.h - who a container is (name, image, Kubernetes pod), read from
 * the runtimes' own state on disk, never from their daemons or CLIs, so
 * that an audit names the container and image behind a socket even when
 * the runtime's API is down or not ours to call.
 *
 * Sources (all optional, each read at most once per run, each capped; the
 * full list with examples is docs/containers.md):
 * - docker: DATA_ROOT/containers/ID/config.v2.json, DATA_ROOT being a
 *   running root dockerd's --data-root, /etc/docker/daemon.json's
 *   "data-root", or /var/lib/docker: "Name",
 *   "Config.Image" (reference), "Image" (id), Kubernetes labels (dockershim),
 *   and the container's addresses (to name what a docker-proxy forwards to);
 * - podman and CRI-O: the OCI bundle's config.json annotations
 *   (overlay-containers/ID/userdata/config.json; CRI-O writes the pod, the
 *   image and the container name there) and containers/storage's
 *   overlay-containers/containers.json ("names", and "metadata": image-name,
 *   image-id, pod-name, ...) with overlay-images/images.json for image
 *   names; storage roots are the defaults plus those that a running conmon's
 *   command line names (-b BUNDLE), so a podman with --root elsewhere is
 *   found without an option;
 * - containerd: the task bundle's config.json
 *   (/run/containerd/io.containerd.runtime.v2.task/NS/ID/config.json),
 *   with the CRI annotations (container, sandbox and image names);
 * - Kubernetes: the kubelet's /var/log/pods/NS_POD_UID, for a pod uid no
 *   runtime named.
 * Nothing is guessed: no file, no field. A state file that exists but
 * cannot be read or parsed is a snapshot warning.
 */
#ifndef PC_INVENTORY_CONTAINER_H
#define PC_INVENTORY_CONTAINER_H

#include "core/model.h"

#include <stddef.h>
#include <stdint.h>

#define PC_CONTAINER_NAME_MAX 253 /* a DNS name; runtime names are shorter */
#define PC_CONTAINER_IMAGE_MAX 511
#define PC_CONTAINER_ADDRS 4

/* What the state says about one container; "" where it says nothing. */
struct pc_container_info {
	char name[PC_CONTAINER_NAME_MAX + 1];
	char image[PC_CONTAINER_IMAGE_MAX + 1];    /* reference as recorded */
	char image_id[PC_CONTAINER_IMAGE_MAX + 1]; /* digest or id */
	char pod[PC_CONTAINER_NAME_MAX + 1];
	char pod_namespace[PC_CONTAINER_NAME_MAX + 1];
	char pod_uid[37];
	/* docker only: the container's addresses on its networks */
	char addrs[PC_CONTAINER_ADDRS][46];
};

struct pc_container_names;

/* A lookup cache over the state under root ("/" when NULL); processes
 * (conmon) are looked for under root's /proc unless
 * pc_container_names_set_proc says otherwise. NULL on ENOMEM. */
struct pc_container_names *pc_container_names_new(const char *root);
void pc_container_names_set_proc(struct pc_container_names *cn, const char *proc_root);
/* Warnings (unreadable or malformed state files) go to snap (may be NULL). */
void pc_container_names_set_warn(struct pc_container_names *cn, struct pc_snapshot *snap);
void pc_container_names_free(struct pc_container_names *cn);

/* Everything the state of container id (of runtime) says, or NULL when no
 * state was found. bundle_hint: an OCI bundle directory known for this id
 * (conmon's -b), or NULL. Valid until the cache is freed. */
const struct pc_container_info *pc_container_lookup(struct pc_container_names *cn,
						    const char *runtime, const char *id,
						    const char *bundle_hint);
/* The container's name (docker, podman, cri-o, containerd), or NULL. */
const char *pc_container_name(struct pc_container_names *cn, const char *runtime,
			      const char *id);
/* "NAMESPACE/POD" of a Kubernetes pod uid, or NULL. */
const char *pc_container_pod_name(struct pc_container_names *cn, const char *pod_uid);
/* The docker container that has address ip on one of its networks: its id
 * is copied to id_out (65 bytes); the info, or NULL. */
const struct pc_container_info *pc_container_docker_by_addr(struct pc_container_names *cn,
							    const char *ip, char *id_out);

/*
 * Fill a process owner's container fields: from the cgroup's id and pod
 * uid, or for a userland proxy that publishes a container's port (podman's
 * and CRI-O's conmon, docker-proxy), from its command line: the owner then
 * names the container it serves; only a proxy running as root (uid) is
 * believed. Strings go into snap's arena. cmdline is the NUL-separated
 * /proc/PID/cmdline (may be NULL). Returns 0 or PC_ENOMEM.
 */
int pc_container_fill_owner(struct pc_container_names *cn, struct pc_snapshot *snap,
			    const char *comm, long uid, const char *cmdline, size_t cmdline_len,
			    const char *cg_id, const char *cg_runtime, const char *cg_pod_uid,
			    struct pc_container *out);

/* Pure parsers, exposed for tests and the fuzzer. Each fills only the
 * fields its input records (others are left as they are) and returns 0, or
 * PC_EPARSE when the input is not the file it should be. */
int pc_container_parse_docker(const char *json, size_t len, struct pc_container_info *info);
int pc_container_parse_oci(const char *json, size_t len, struct pc_container_info *info);
/* containers/storage: the entry for id in containers.json (images.json,
 * may be NULL, names the image when the container's metadata does not). */
int pc_container_parse_storage(const char *containers_json, size_t clen,
			       const char *images_json, size_t ilen, const char *id,
			       struct pc_container_info *info);

/* A conmon command line (NUL-separated): -c/--cid, -n/--name, -b/--bundle,
 * and whether its --exit-command is podman's. */
struct pc_conmon_args {
	char id[65];
	char name[PC_CONTAINER_NAME_MAX + 1];
	char bundle[1024];
	bool podman;
};
int pc_container_parse_conmon(const char *cmdline, size_t len, struct pc_conmon_args *out);

/* A dockerd command line: its data root (--data-root, -g, --graph; the
 * last one given), absolute, into root_out. */
int pc_container_parse_dockerd(const char *cmdline, size_t len, char *root_out, size_t outlen);

/* A docker-proxy command line: -proto, -host-ip, -host-port,
 * -container-ip, -container-port. */
struct pc_proxy_args {
	char proto[8];
	char host_ip[46];
	uint16_t host_port;
	char container_ip[46];
	uint16_t container_port;
};
int pc_container_parse_docker_proxy(const char *cmdline, size_t len, struct pc_proxy_args *out);

/* Older helpers kept for their tests: docker's "Name" alone, and the
 * kubelet's "NS_POD_UID" directory name -> "NS/POD" and uid (37 bytes). */
int pc_container_docker_name(const char *json, size_t len, char *out, size_t outlen);
int pc_container_pod_dir(const char *dirname, char *out, size_t outlen, char *uid_out);

#endif
