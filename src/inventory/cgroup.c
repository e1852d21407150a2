/*
 * cgroup.c - container and unit from the text of /proc/PID/cgroup.
 *
 * Lines are "HIERARCHY-ID:CONTROLLERS:PATH". We pick one path to believe, in
 * this order: the cgroup v2 line ("0::"), the v1 "name=systemd" line, then
 * the first other v1 line that shows anything. The path is then read one
 * component at a time, outermost first, so the innermost unit wins and a
 * container id is taken only from a component whose shape names a runtime
 * (or from a bare 64-hex-digit component under a runtime's own directory or
 * a Kubernetes pod, where the runtime itself is not named and stays NULL).
 * Nothing is guessed: an id must be exactly 64 hex digits, a pod uid
 * exactly 8-4-4-4-12 hex digits.
 */
#include "inventory/cgroup.h"

#include "core/error.h"

#include <stdbool.h>
#include <string.h>

struct span {
	const char *p;
	size_t len;
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_id(const char *p, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_hex(p[i]))
			return false;
	return true;
}

static bool starts(struct span s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static bool ends(struct span s, const char *suffix)
{
	size_t n = strlen(suffix);
	return s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

static bool equals(struct span s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

/* A pod uid with '-' or (systemd slice form) '_' between its groups. */
static bool take_pod_uid(const char *p, size_t len, char out[37])
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	char uid[37];
	if (len != 36)
		return false;
	size_t k = 0;
	for (size_t g = 0; g < 5; g++) {
		for (size_t i = 0; i < groups[g]; i++, k++) {
			if (!is_hex(p[k]))
				return false;
			uid[k] = p[k];
		}
		if (g < 4) {
			if (p[k] != '-' && p[k] != '_')
				return false;
			uid[k++] = '-';
		}
	}
	uid[36] = '\0';
	/* written only whole: a near miss leaves out as it was */
	memcpy(out, uid, sizeof(uid));
	return true;
}

static void set_id(struct pc_cgroup_info *info, const char *p, const char *runtime)
{
	memcpy(info->id, p, 64);
	info->id[64] = '\0';
	info->runtime = runtime;
}

/* PREFIX<64 hex>SUFFIX (suffix may be "") */
static bool match_wrapped(struct span c, const char *prefix, const char *suffix,
			  struct pc_cgroup_info *info, const char *runtime)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	if (c.len != pl + 64 + sl || !starts(c, prefix) || !ends(c, suffix))
		return false;
	if (!is_id(c.p + pl, 64))
		return false;
	set_id(info, c.p + pl, runtime);
	return true;
}

static bool component_container(struct span c, struct span parent, bool under_pod,
				struct pc_cgroup_info *info)
{
	/* conmon is podman's and cri-o's monitor, not the container */
	if (starts(c, "libpod-conmon-") || starts(c, "crio-conmon-"))
		return false;
	if (match_wrapped(c, "docker-", ".scope", info, "docker") ||
	    match_wrapped(c, "cri-containerd-", ".scope", info, "containerd") ||
	    match_wrapped(c, "nerdctl-", ".scope", info, "containerd") ||
	    match_wrapped(c, "crio-", ".scope", info, "cri-o") ||
	    match_wrapped(c, "crio-", "", info, "cri-o") ||
	    match_wrapped(c, "libpod-", ".scope", info, "podman") ||
	    match_wrapped(c, "libpod-", "", info, "podman"))
		return true;
	/* containerd's own cgroup under systemd: "...slice:cri-containerd:ID" */
	static const char tag[] = ":cri-containerd:";
	if (c.len > 64 + sizeof(tag) - 1 &&
	    memcmp(c.p + c.len - 64 - (sizeof(tag) - 1), tag, sizeof(tag) - 1) == 0 &&
	    is_id(c.p + c.len - 64, 64)) {
		set_id(info, c.p + c.len - 64, "containerd");
		return true;
	}
	if (is_id(c.p, c.len)) {
		/* cgroupfs driver: /docker/ID, /libpod_parent/ID, /<ns>/ID under
		 * containerd, or .../pod<uid>/ID where the runtime is unnamed */
		if (equals(parent, "docker")) {
			set_id(info, c.p, "docker");
			return true;
		}
		if (equals(parent, "libpod_parent")) {
			set_id(info, c.p, "podman");
			return true;
		}
		if (under_pod) {
			set_id(info, c.p, NULL);
			return true;
		}
	}
	return false;
}

static bool component_pod(struct span c, char out[37])
{
	/* systemd driver: kubepods[-QOS]-pod<uid_>.slice, which containerd
	 * may extend to "...pod<uid_>.slice:cri-containerd:<id>" */
	if (starts(c, "kubepods")) {
		const char *slice = memmem(c.p, c.len, ".slice", 6);
		if (!slice || slice - c.p < 8 + 4 + 36)
			return false;
		const char *uid = slice - 36;
		if (memcmp(uid - 4, "-pod", 4) != 0)
			return false;
		return take_pod_uid(uid, 36, out);
	}
	/* cgroupfs driver: pod<uid> */
	if (c.len == 39 && starts(c, "pod"))
		return take_pod_uid(c.p + 3, 36, out);
	return false;
}

static bool component_unit(struct span c)
{
	if (!(ends(c, ".service") || ends(c, ".scope")) || c.len <= 6)
		return false;
	/* systemd escapes everything odd in a unit name; raw control bytes
	 * (or a NUL) mean this is not one */
	for (size_t i = 0; i < c.len; i++)
		if ((unsigned char)c.p[i] < 0x20 || c.p[i] == 0x7f)
			return false;
	return true;
}

/* Read a path; returns true when it showed anything. */
static bool parse_path(struct span path, struct pc_cgroup_info *info)
{
	struct pc_cgroup_info out = {0};
	struct span parent = {"", 0};
	bool found = false, under_pod = false;
	const char *p = path.p, *end = path.p + path.len;
	while (p < end) {
		while (p < end && *p == '/')
			p++;
		if (p == end)
			break;
		struct span c = {p, 0};
		while (p < end && *p != '/')
			p++;
		c.len = (size_t)(p - c.p);
		if (component_pod(c, out.pod_uid)) {
			under_pod = true;
			found = true;
		}
		if (component_container(c, parent, under_pod, &out))
			found = true;
		if (component_unit(c) && c.len < sizeof(out.unit)) {
			memcpy(out.unit, c.p, c.len);
			out.unit[c.len] = '\0';
			found = true;
		}
		parent = c;
	}
	if (found)
		*info = out;
	return found;
}

int pc_cgroup_parse(const char *text, size_t len, struct pc_cgroup_info *ret_info)
{
	struct span v2 = {0}, systemd = {0};
	bool have_v2 = false, have_systemd = false, any = false;
	const char *p = text, *end = text + len;
	/* first pass: find the lines to believe */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(eol - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (c2 && c1 > p) {
			bool digits = true;
			for (const char *q = p; q < c1; q++)
				digits &= *q >= '0' && *q <= '9';
			if (digits) {
				any = true;
				struct span ctl = {c1 + 1, (size_t)(c2 - c1 - 1)};
				struct span path = {c2 + 1, (size_t)(eol - c2 - 1)};
				if (!have_v2 && ctl.len == 0 && equals((struct span){p, (size_t)(c1 - p)}, "0")) {
					v2 = path;
					have_v2 = true;
				} else if (!have_systemd && equals(ctl, "name=systemd")) {
					systemd = path;
					have_systemd = true;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	memset(ret_info, 0, sizeof(*ret_info));
	if (!any)
		return len == 0 ? 0 : PC_EPARSE;
	if (have_v2 && parse_path(v2, ret_info))
		return 0;
	if (have_systemd && parse_path(systemd, ret_info))
		return 0;
	/* second pass: any other hierarchy that shows something */
	for (p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(eol - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (c2 && parse_path((struct span){c2 + 1, (size_t)(eol - c2 - 1)}, ret_info))
			return 0;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
