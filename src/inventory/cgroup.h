/*
 * cgroup.h - what a process's /proc/PID/cgroup says about who runs it: the
 * systemd unit, and the container (id, runtime, Kubernetes pod uid).
 *
 * Pure text in, fixed-size fields out, so tests and the fuzzer can feed it
 * anything. Understands cgroup v2 ("0::/path") and v1 (one line per
 * hierarchy; the name=systemd one preferred), and the path shapes of
 * docker, containerd (cri-containerd, nerdctl), cri-o and podman under both
 * the systemd and the cgroupfs drivers, with Kubernetes pods as
 * "kubepods-<qos>-pod<uid_with_underscores>.slice" or "/kubepods/<qos>/pod<uid>/".
 */
#ifndef PC_INVENTORY_CGROUP_H
#define PC_INVENTORY_CGROUP_H

#include <stddef.h>

struct pc_cgroup_info {
	char unit[256];      /* innermost systemd .service or .scope, or "" */
	char id[65];         /* container id (64 hex digits), or "" */
	const char *runtime; /* "docker", "containerd", "cri-o", "podman", or NULL */
	char pod_uid[37];    /* Kubernetes pod uid (8-4-4-4-12), or "" */
};

/*
 * Parse the content of a /proc/PID/cgroup file. Fills ret_info (fields
 * empty when the path does not show them). Returns 0, or PC_EPARSE when the
 * text holds no well-formed "ID:CONTROLLERS:PATH" line at all (ret_info is
 * then cleared).
 */
int pc_cgroup_parse(const char *text, size_t len, struct pc_cgroup_info *ret_info);

#endif
