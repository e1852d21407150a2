/*
 * test_container.c - container and pod names from the runtimes' state:
 * docker's config.v2.json, podman's containers.json, the kubelet's
 * /var/log/pods directory names; on well-formed, hostile and missing input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "inventory/container.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define ID2 "bbbb5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define UID "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

static int docker(const char *json, char *out)
{
	return pc_container_docker_name(json, strlen(json), out, 64);
}

static void test_docker_name(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(docker("{\"Name\":\"/web\"}", out), 0);
	assert_string_equal(out, "web");
	/* nested "Name" keys (volumes) are not the container's */
	assert_int_equal(docker("{\"MountPoints\":{\"/d\":{\"Name\":\"vol\"}},\"Name\":\"/db\"}", out),
			 0);
	assert_string_equal(out, "db");
	assert_int_equal(docker("{\"MountPoints\":{\"/d\":{\"Name\":\"vol\"}}}", out), PC_EPARSE);
	assert_int_equal(docker("{\"Name\":42}", out), PC_EPARSE);
	assert_int_equal(docker("{\"Name\":\"/\"}", out), PC_EPARSE);
	assert_int_equal(docker("{\"Name\":\"/a b\"}", out), PC_EPARSE);       /* space */
	assert_int_equal(docker("{\"Name\":\"/a\\u001bb\"}", out), PC_EPARSE); /* ESC */
	assert_int_equal(docker("{\"Name\":\"/a\\u0000b\"}", out), PC_EPARSE); /* NUL */
	assert_int_equal(docker("[\"Name\",\"/web\"]", out), PC_EPARSE);
	assert_int_equal(docker("{\"Name\":\"/web\"", out), PC_EPARSE); /* truncated */
	assert_int_equal(docker("", out), PC_EPARSE);
	/* too long for the caller's buffer: refused, not cut */
	char big[200];
	snprintf(big, sizeof(big), "{\"Name\":\"/%090d\"}", 0);
	assert_int_equal(docker(big, out), PC_EPARSE);
}

static void test_pod_dir(void **state)
{
	(void)state;
	char name[128], uid[37];
	assert_int_equal(pc_container_pod_dir("kube-system_coredns-5d78c9869d-x2x9z_" UID, name,
					      sizeof(name), uid),
			 0);
	assert_string_equal(name, "kube-system/coredns-5d78c9869d-x2x9z");
	assert_string_equal(uid, UID);
	assert_int_equal(pc_container_pod_dir("default_web_0a1b2c3d-4e5f-6789-abcd-ef012345678", name,
					      sizeof(name), uid),
			 PC_EPARSE); /* short uid */
	assert_int_equal(pc_container_pod_dir("default_web_0A1B2C3D-4E5F-6789-ABCD-EF0123456789",
					      name, sizeof(name), uid),
			 PC_EPARSE); /* kubelet writes lowercase */
	assert_int_equal(pc_container_pod_dir("default_we_b_" UID, name, sizeof(name), uid),
			 PC_EPARSE);
	assert_int_equal(pc_container_pod_dir("_web_" UID, name, sizeof(name), uid), PC_EPARSE);
	assert_int_equal(pc_container_pod_dir("default__" UID, name, sizeof(name), uid), PC_EPARSE);
	assert_int_equal(pc_container_pod_dir(".", name, sizeof(name), uid), PC_EPARSE);
	assert_int_equal(pc_container_pod_dir("default_web_" UID, name, 8, uid), PC_EPARSE);
}

static char root[64];

static void put(const char *rel, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	if (!content) {
		mkdir(p, 0755);
		return;
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void test_lookups(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/pc-test-runtime-XXXXXX");
	assert_non_null(mkdtemp(root));
	put("var/lib/docker/containers/" ID "/config.v2.json", "{\"Name\":\"/web\"}");
	put("var/lib/docker/containers/" ID2 "/config.v2.json", "{not json");
	put("var/lib/containers/storage/overlay-containers/containers.json",
	    "[{\"id\":\"" ID "\",\"names\":[\"pod-db\",\"alias\"]},"
	    "{\"id\":\"short\",\"names\":[\"x\"]},"
	    "{\"id\":\"" ID2 "\",\"names\":[]}]");
	put("var/log/pods/default_web-0_" UID "/web/0.log", "");

	struct pc_container_names *cn = pc_container_names_new(root);
	assert_non_null(cn);
	assert_string_equal(pc_container_name(cn, "docker", ID), "web");
	assert_string_equal(pc_container_name(cn, "docker", ID), "web"); /* cached */
	assert_null(pc_container_name(cn, "docker", ID2));                /* bad file */
	assert_null(pc_container_name(cn, "docker", "../../etc"));        /* not an id */
	assert_string_equal(pc_container_name(cn, "podman", ID), "pod-db");
	assert_string_equal(pc_container_name(cn, "cri-o", ID), "pod-db");
	assert_null(pc_container_name(cn, "podman", ID2)); /* no names */
	assert_null(pc_container_name(cn, "containerd", ID));
	assert_null(pc_container_name(cn, NULL, ID));
	assert_null(pc_container_name(cn, "docker", NULL));
	assert_string_equal(pc_container_pod_name(cn, UID), "default/web-0");
	assert_null(pc_container_pod_name(cn, "0a1b2c3d-4e5f-6789-abcd-000000000000"));
	assert_null(pc_container_pod_name(cn, NULL));
	pc_container_names_free(cn);
	pc_container_names_free(NULL);

	/* nothing on disk: nothing named */
	cn = pc_container_names_new("/nonexistent-root");
	assert_null(pc_container_name(cn, "docker", ID));
	assert_null(pc_container_name(cn, "podman", ID));
	assert_null(pc_container_pod_name(cn, UID));
	pc_container_names_free(cn);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_name),
		cmocka_unit_test(test_pod_dir),
		cmocka_unit_test(test_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
