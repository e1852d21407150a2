/*
 * container.h - names of containers and Kubernetes pods, read from the
 * runtimes' own state on disk, so that a container's network namespace can
 * be called by a name that survives restarts rather than by its inode.
 *
 * Sources (all optional, each read at most once per run, each capped):
 * - docker: /var/lib/docker/containers/ID/config.v2.json, top-level "Name";
 * - podman (and cri-o, which shares the store):
 *   /var/lib/containers/storage/overlay-containers/containers.json,
 *   "id" -> first of "names";
 * - Kubernetes: the kubelet's log directories /var/log/pods/NS_POD_UID,
 *   pod uid -> "NS/POD" (namespaces and pod names cannot hold '_').
 * Nothing is guessed: no file, no name.
 */
#ifndef PC_INVENTORY_CONTAINER_H
#define PC_INVENTORY_CONTAINER_H

#include <stddef.h>

struct pc_container_names;

/* A lookup cache over the state under root ("/" when NULL). NULL on ENOMEM. */
struct pc_container_names *pc_container_names_new(const char *root);
void pc_container_names_free(struct pc_container_names *cn);

/* The container's name (docker, podman, cri-o), or NULL. Valid until the
 * cache is freed. */
const char *pc_container_name(struct pc_container_names *cn, const char *runtime,
			      const char *id);
/* "NAMESPACE/POD" of a Kubernetes pod uid, or NULL. */
const char *pc_container_pod_name(struct pc_container_names *cn, const char *pod_uid);

/* Pure helpers, exposed for tests and the fuzzer. */
/* The top-level "Name" of a docker config.v2.json, without its leading
 * '/', copied into out (NUL-terminated); 0, or PC_EPARSE when absent. */
int pc_container_docker_name(const char *json, size_t len, char *out, size_t outlen);
/* "NS_POD_UID" directory name -> "NS/POD" in out and the uid in uid_out
 * (37 bytes); 0, or PC_EPARSE when it is not that shape. */
int pc_container_pod_dir(const char *dirname, char *out, size_t outlen, char *uid_out);

#endif
