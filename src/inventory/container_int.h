/*
 * container_int.h - what the container state readers share (container.c,
 * container_docker.c, container_oci.c, container_storage.c,
 * container_proc.c); not part of container.h.
 *
 * struct pc_container_names is the per-run cache: looked-up containers,
 * pods, parsed stores, conmon bundles and dockerd roots. The helpers are
 * the one place that decides what of a runtime's file is kept (short
 * printable text) and how a state file is read (capped, bounded JSON,
 * silence when absent, one warning when broken).
 */
#ifndef PC_INVENTORY_CONTAINER_INT_H
#define PC_INVENTORY_CONTAINER_INT_H

#include "inventory/container.h"

#include "core/error.h"
#include "core/jsonparse.h"

#include <stdbool.h>
#include <stddef.h>

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

/* Whether s[0..len) is 1..max bytes of printable ASCII without spaces. */
bool pc_container_printable(const char *s, size_t len, size_t max);
/* Set dst (size bytes) from s when dst is still empty and s is acceptable
 * text: the first source that names a field wins. */
void pc_container_set_field(char *dst, size_t size, const char *s);
/* Room for one more element in a growing array *v of *cap elements of
 * size bytes, n in use: 0, or PC_ENOMEM (the array is left as it was). */
int pc_container_grow(void **v, size_t *cap, size_t n, size_t size, size_t first);
/* 64 lowercase hex digits: a container id. */
bool pc_container_is_hex_id(const char *s);
/* Set info->pod_uid from s when still empty and s is a UUID. */
void pc_container_set_uid(struct pc_container_info *info, const char *s);
/* Parse a JSON text (at most cap bytes) whose root must be an object (or
 * an array when want_array); err may be NULL. */
int pc_container_parse_json(const char *json, size_t len, size_t cap, bool want_array,
			    struct pc_jdoc **ret, struct pc_error *err);
/* The string at v.a (or v.a.b), or NULL. */
const char *pc_container_str_at(const struct pc_jval *v, const char *a, const char *b);
/* Read and parse one state file. 0 with *ret set; 1 when the file is not
 * there (silence); a negative code after a warning otherwise. */
int pc_container_read_state(struct pc_container_names *cn, const char *path, size_t cap,
			    bool want_array, struct pc_jdoc **ret);

/* The readers: true when the container's state was found (info filled). */
bool pc_container_docker_read(struct pc_container_names *cn, const char *id,
			      struct pc_container_info *info);
bool pc_container_containerd_read(struct pc_container_names *cn, const char *id,
				  struct pc_container_info *info);
bool pc_container_storage_lookup(struct pc_container_names *cn, const char *id,
				 const char *bundle_hint, struct pc_container_info *info);
/* An OCI config.json into info: true when it was there and parsed. */
bool pc_container_oci_read(struct pc_container_names *cn, const char *path,
			   struct pc_container_info *info);

/* A docker data root, once (at most MAX_DOCKER_ROOTS). */
void pc_container_add_docker_root(struct pc_container_names *cn, const char *root);
/* The pass over /proc for conmon bundles and dockerd roots (once a run). */
void pc_container_scan_processes(struct pc_container_names *cn);
/* Whether a directory a root process's command line names may be believed
 * (see container_proc.c). */
bool pc_container_trusted_bundle(long conmon_uid, const char *bundle);

#endif
