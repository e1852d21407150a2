/*
 * test_container_state.c - the container state readers of
 * src/inventory/container.c on each runtime's files: docker's
 * config.v2.json, podman's containers/storage JSON and OCI config.json
 * (captured from the podman lab, tests/e2e/podman.sh), CRI-O's and
 * containerd's CRI annotations, conmon's, docker-proxy's and dockerd's
 * command lines (docker's captured from the docker lab, tests/e2e/docker.sh);
 * then the same inputs cut at every byte, with hostile values, wrong
 * types and oversize files, and the lookups over a fake root with their
 * warnings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/model.h"
#include "inventory/container.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PODMAN_ID "574b6c54ab87f62523c7d069675cbf9353087a632a61fec82622db92dc9fb326"
#define PODMAN_IMAGE_ID "f9e5a0bb03d96f3ed89326dad6f63d329e0e3b45e253113a6b3b9454329b471b"
#define DOCKER_ID "9d1c3f5e7a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d"
#define CTD_ID "7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f"
#define UID "0a1b2c3d-4e5f-6789-abcd-ef0123456789"

static char *data(const char *name, size_t *len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/containers/%s", PC_TEST_DATA, name);
	struct pc_buf b;
	pc_buf_init(&b, 1u << 20);
	assert_int_equal(pc_buf_read_file(&b, p), 0);
	*len = b.len;
	return b.data;
}

static void info_clear(struct pc_container_info *i)
{
	memset(i, 0, sizeof(*i));
}

static void test_docker(void **state)
{
	(void)state;
	size_t len;
	char *j = data("docker-config.v2.json", &len);
	struct pc_container_info i;
	info_clear(&i);
	assert_int_equal(pc_container_parse_docker(j, len, &i), 0);
	assert_string_equal(i.name, "web1"); /* not the volume's "Name" */
	assert_string_equal(i.image, "pcweb:1");
	assert_string_equal(i.image_id,
			    "sha256:dc34d4114d0307e51c5e2865b99a0d61afed2e173df7a2463fff5ec6627373d9");
	assert_string_equal(i.addrs[0], "172.17.0.2");
	assert_string_equal(i.addrs[1], ""); /* the empty IPv6 address is none */
	assert_string_equal(i.pod, "");
	free(j);

	/* the file dockerd 20.10 wrote in the docker lab (--data-root elsewhere) */
	j = data("docker-lab-config.v2.json", &len);
	info_clear(&i);
	assert_int_equal(pc_container_parse_docker(j, len, &i), 0);
	assert_string_equal(i.name, "web1");
	assert_string_equal(i.image, "pcweb:1");
	assert_string_equal(i.image_id,
			    "sha256:2a4ee12847546b59374fa4f7733959c636131e7dc50514e798fbdda08e504268");
	assert_string_equal(i.addrs[0], "198.18.62.2");
	free(j);

	/* a stopped container's address is not its own any more */
	const char *stopped = "{\"Name\":\"/old\",\"State\":{\"Running\":false},"
			      "\"NetworkSettings\":{\"Networks\":{\"bridge\":{\"IPAddress\":"
			      "\"172.17.0.2\"}}}}";
	info_clear(&i);
	assert_int_equal(pc_container_parse_docker(stopped, strlen(stopped), &i), 0);
	assert_string_equal(i.name, "old");
	assert_string_equal(i.addrs[0], "");

	/* dockershim: the pod is in the labels */
	const char *k = "{\"Name\":\"/k8s_web_web-0_default_" UID "_0\",\"Config\":{\"Image\":\"x:1\","
			"\"Labels\":{\"io.kubernetes.container.name\":\"web\","
			"\"io.kubernetes.pod.name\":\"web-0\",\"io.kubernetes.pod.namespace\":\"default\","
			"\"io.kubernetes.pod.uid\":\"" UID "\"}}}";
	info_clear(&i);
	assert_int_equal(pc_container_parse_docker(k, strlen(k), &i), 0);
	assert_string_equal(i.name, "web");
	assert_string_equal(i.pod, "web-0");
	assert_string_equal(i.pod_namespace, "default");
	assert_string_equal(i.pod_uid, UID);
}

static void test_podman(void **state)
{
	(void)state;
	size_t cl, il, ol;
	char *c = data("podman-containers.json", &cl);
	char *im = data("podman-images.json", &il);
	char *oci = data("podman-config.json", &ol);
	struct pc_container_info i;
	info_clear(&i);
	/* podman's OCI annotations name nothing: a valid file, no fields */
	assert_int_equal(pc_container_parse_oci(oci, ol, &i), 0);
	assert_string_equal(i.name, "");
	assert_string_equal(i.image, "");
	assert_int_equal(pc_container_parse_storage(c, cl, im, il, PODMAN_ID, &i), 0);
	assert_string_equal(i.name, "web1");
	assert_string_equal(i.image, "localhost/pcweb:1");
	assert_string_equal(i.image_id, PODMAN_IMAGE_ID);
	assert_string_equal(i.pod, "");
	/* an id the store does not hold */
	info_clear(&i);
	assert_int_equal(pc_container_parse_storage(c, cl, im, il, DOCKER_ID, &i), PC_EPARSE);
	assert_string_equal(i.name, "");

	/* no metadata (CRI-O-less old store): the image is named by images.json */
	const char *bare = "[{\"id\":\"" PODMAN_ID "\",\"names\":[\"web1\"],"
			   "\"image\":\"" PODMAN_IMAGE_ID "\"}]";
	info_clear(&i);
	assert_int_equal(pc_container_parse_storage(bare, strlen(bare), im, il, PODMAN_ID, &i), 0);
	assert_string_equal(i.image, "localhost/pcweb:1");
	assert_string_equal(i.image_id, PODMAN_IMAGE_ID);
	/* and without images.json, or with a broken one: name and id only */
	info_clear(&i);
	assert_int_equal(pc_container_parse_storage(bare, strlen(bare), "[{", 2, PODMAN_ID, &i), 0);
	assert_string_equal(i.name, "web1");
	assert_string_equal(i.image, "");
	free(c);
	free(im);
	free(oci);
}

static void test_crio_containerd(void **state)
{
	(void)state;
	size_t len;
	char *j = data("crio-config.json", &len);
	struct pc_container_info i;
	info_clear(&i);
	assert_int_equal(pc_container_parse_oci(j, len, &i), 0);
	assert_string_equal(i.name, "web");
	assert_string_equal(i.image, "registry.example/pcweb:1");
	assert_string_equal(i.image_id, "registry.example/pcweb@sha256:"
					"7aa7e9de0ec605d90b7d3590fdc927e4e6232d5f3b19cd1470f8e8e7857435fa");
	assert_string_equal(i.pod, "web-0");
	assert_string_equal(i.pod_namespace, "default");
	assert_string_equal(i.pod_uid, UID);
	free(j);

	j = data("containerd-config.json", &len);
	info_clear(&i);
	assert_int_equal(pc_container_parse_oci(j, len, &i), 0);
	assert_string_equal(i.name, "web");
	assert_string_equal(i.image, "registry.example/pcweb:2");
	assert_string_equal(i.image_id, ""); /* the CRI annotations carry none */
	assert_string_equal(i.pod, "web-1");
	assert_string_equal(i.pod_namespace, "shop");
	assert_string_equal(i.pod_uid, UID);
	free(j);

	/* a pod's sandbox (pause) container: the pod, but no container name */
	j = data("containerd-sandbox-config.json", &len);
	info_clear(&i);
	assert_int_equal(pc_container_parse_oci(j, len, &i), 0);
	assert_string_equal(i.name, "");
	assert_string_equal(i.pod, "web-1");
	free(j);

	/* first source wins: a field already known is not overwritten */
	info_clear(&i);
	snprintf(i.name, sizeof(i.name), "kept");
	const char *o = "{\"annotations\":{\"io.kubernetes.container.name\":\"other\"}}";
	assert_int_equal(pc_container_parse_oci(o, strlen(o), &i), 0);
	assert_string_equal(i.name, "kept");
}

static void test_cmdlines(void **state)
{
	(void)state;
	size_t len;
	char *c = data("conmon-cmdline", &len);
	struct pc_conmon_args a;
	assert_int_equal(pc_container_parse_conmon(c, len, &a), 0);
	assert_string_equal(a.id, PODMAN_ID);
	assert_string_equal(a.name, "web1");
	assert_true(a.podman);
	assert_non_null(strstr(a.bundle, "/overlay-containers/" PODMAN_ID "/userdata"));
	/* cut at every byte: either refused or a prefix of the truth */
	for (size_t n = 0; n < len; n++) {
		int r = pc_container_parse_conmon(c, n, &a);
		if (r == 0)
			assert_string_equal(a.id, PODMAN_ID);
		else
			assert_int_equal(r, PC_EPARSE);
	}
	free(c);
	static const char not_conmon[] = "/bin/sh\0-c\0" PODMAN_ID "\0";
	assert_int_equal(pc_container_parse_conmon(not_conmon, sizeof(not_conmon) - 1, &a),
			 PC_EPARSE);
	static const char bad_id[] = "conmon\0-c\0../../etc\0-b\0/x\0";
	assert_int_equal(pc_container_parse_conmon(bad_id, sizeof(bad_id) - 1, &a), PC_EPARSE);
	static const char rel[] = "conmon\0-c\0" PODMAN_ID "\0-b\0relative/dir\0";
	assert_int_equal(pc_container_parse_conmon(rel, sizeof(rel) - 1, &a), PC_EPARSE);

	char *p = data("docker-proxy-cmdline", &len);
	struct pc_proxy_args x;
	assert_int_equal(pc_container_parse_docker_proxy(p, len, &x), 0);
	assert_string_equal(x.proto, "tcp");
	assert_string_equal(x.host_ip, "198.18.60.1");
	assert_int_equal(x.host_port, 8080);
	assert_string_equal(x.container_ip, "172.17.0.2");
	assert_int_equal(x.container_port, 80);
	for (size_t n = 0; n < len; n++) {
		int r = pc_container_parse_docker_proxy(p, n, &x);
		assert_true(r == 0 || r == PC_EPARSE);
	}
	free(p);
	p = data("docker-proxy-lab-cmdline", &len);
	assert_int_equal(pc_container_parse_docker_proxy(p, len, &x), 0);
	assert_string_equal(x.container_ip, "198.18.62.2");
	free(p);

	/* dockerd's data root, as the docker lab started it */
	char droot[256];
	char *dd = data("dockerd-cmdline", &len);
	assert_int_equal(pc_container_parse_dockerd(dd, len, droot, sizeof(droot)), 0);
	assert_string_equal(droot, "/tmp/pcdock/run.EIFb/data");
	for (size_t n = 0; n < len; n++) {
		int r = pc_container_parse_dockerd(dd, n, droot, sizeof(droot));
		if (r == 0)
			assert_string_equal(droot, "/tmp/pcdock/run.EIFb/data");
		else
			assert_int_equal(r, PC_EPARSE);
	}
	free(dd);
	static const char g[] = "/usr/bin/dockerd\0-g\0/old\0--data-root=/new\0";
	assert_int_equal(pc_container_parse_dockerd(g, sizeof(g) - 1, droot, sizeof(droot)), 0);
	assert_string_equal(droot, "/new"); /* the last one given */
	static const char relroot[] = "dockerd\0--data-root\0rel\0";
	assert_int_equal(pc_container_parse_dockerd(relroot, sizeof(relroot) - 1, droot,
						    sizeof(droot)),
			 PC_EPARSE);
	static const char none[] = "dockerd\0--debug\0";
	assert_int_equal(pc_container_parse_dockerd(none, sizeof(none) - 1, droot, sizeof(droot)),
			 PC_EPARSE);

	static const char eq[] = "docker-proxy\0--container-ip=10.0.0.2\0-container-port=70000\0";
	assert_int_equal(pc_container_parse_docker_proxy(eq, sizeof(eq) - 1, &x), PC_EPARSE);
	static const char eq2[] = "docker-proxy\0--container-ip=10.0.0.2\0-container-port=443\0";
	assert_int_equal(pc_container_parse_docker_proxy(eq2, sizeof(eq2) - 1, &x), 0);
	assert_int_equal(x.container_port, 443);
}

/* Every captured file cut at every byte: no crash, no read past the cut
 * (ASan), and a field that comes out is printable text. */
static void check_info(const struct pc_container_info *i)
{
	const char *f[] = {i->name, i->image, i->image_id, i->pod, i->pod_namespace, i->pod_uid};
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
		for (const char *s = f[k]; *s; s++)
			assert_true((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f);
}

static void test_truncated(void **state)
{
	(void)state;
	static const char *const files[] = {"docker-config.v2.json", "docker-lab-config.v2.json",
					    "podman-config.json",
					    "podman-containers.json", "crio-config.json",
					    "containerd-config.json"};
	size_t il;
	char *im = data("podman-images.json", &il);
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		char *j = data(files[f], &len);
		for (size_t n = 0; n < len; n++) {
			/* a copy of exactly n bytes, so ASan sees any overread */
			char *cut = malloc(n ? n : 1);
			memcpy(cut, j, n);
			struct pc_container_info i;
			info_clear(&i);
			int r1 = pc_container_parse_docker(cut, n, &i);
			int r2 = pc_container_parse_oci(cut, n, &i);
			int r3 = pc_container_parse_storage(cut, n, im, il, PODMAN_ID, &i);
			assert_true(r1 == 0 || r1 == PC_EPARSE);
			assert_true(r2 == 0 || r2 == PC_EPARSE);
			assert_true(r3 == 0 || r3 == PC_EPARSE);
			/* a JSON document cut short never parses */
			if (n + 1 < len) {
				assert_int_equal(r1, PC_EPARSE);
				assert_int_equal(r2, PC_EPARSE);
			}
			check_info(&i);
			free(cut);
		}
		free(j);
	}
	free(im);
}

static void test_hostile(void **state)
{
	(void)state;
	struct pc_container_info i;
	/* control bytes, spaces, over-long values and wrong types are dropped */
	const char *d = "{\"Name\":\"/we\\u001b[2Jb\",\"Config\":{\"Image\":\"a b\"},\"Image\":5,"
			"\"NetworkSettings\":{\"Networks\":[1,2]}}";
	info_clear(&i);
	assert_int_equal(pc_container_parse_docker(d, strlen(d), &i), 0);
	assert_string_equal(i.name, "");
	assert_string_equal(i.image, "");
	assert_string_equal(i.image_id, "");
	assert_string_equal(i.addrs[0], "");
	char big[2048];
	int n = snprintf(big, sizeof(big), "{\"annotations\":{\"io.kubernetes.container.name\":\"");
	memset(big + n, 'a', 600);
	snprintf(big + n + 600, sizeof(big) - (size_t)n - 600,
		 "\",\"io.kubernetes.pod.uid\":\"not-a-uid\"}}");
	info_clear(&i);
	assert_int_equal(pc_container_parse_oci(big, strlen(big), &i), 0);
	assert_string_equal(i.name, "");
	assert_string_equal(i.pod_uid, "");
	/* wrong shapes */
	const char *arr = "[1,2]";
	assert_int_equal(pc_container_parse_docker(arr, strlen(arr), &i), PC_EPARSE);
	assert_int_equal(pc_container_parse_oci(arr, strlen(arr), &i), PC_EPARSE);
	const char *obj = "{\"annotations\":[\"x\"]}";
	assert_int_equal(pc_container_parse_oci(obj, strlen(obj), &i), 0);
	assert_int_equal(pc_container_parse_storage(obj, strlen(obj), NULL, 0, PODMAN_ID, &i),
			 PC_EPARSE);
	/* metadata that is not JSON, or is JSON of the wrong shape */
	const char *meta = "[{\"id\":\"" PODMAN_ID "\",\"metadata\":\"{\\\"image-name\\\":\","
			   "\"names\":[7]},"
			   "{\"id\":\"" PODMAN_ID "\",\"metadata\":\"[]\"}]";
	info_clear(&i);
	assert_int_equal(pc_container_parse_storage(meta, strlen(meta), NULL, 0, PODMAN_ID, &i), 0);
	assert_string_equal(i.image, "");
	assert_string_equal(i.name, "");
}

/* ------------------------------------------------ lookups over a fake root */

static char root[64];

static void put_bytes(const char *rel, const char *content, size_t len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static void put(const char *rel, const char *content)
{
	put_bytes(rel, content, strlen(content));
}

static void put_data(const char *rel, const char *name)
{
	size_t len;
	char *d = data(name, &len);
	put_bytes(rel, d, len);
	free(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static bool has_warning(const struct pc_snapshot *s, const char *a, const char *b)
{
	for (size_t i = 0; i < s->n_warnings; i++)
		if (strstr(s->warnings[i], a) && (!b || strstr(s->warnings[i], b)))
			return true;
	return false;
}

static void test_lookups(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/pc-test-state-XXXXXX");
	assert_non_null(mkdtemp(root));
	put_data("var/lib/docker/containers/" DOCKER_ID "/config.v2.json", "docker-config.v2.json");
	put_data("var/lib/containers/storage/overlay-containers/containers.json",
		 "podman-containers.json");
	put_data("var/lib/containers/storage/overlay-images/images.json", "podman-images.json");
	put_data("var/lib/containers/storage/overlay-containers/" PODMAN_ID "/userdata/config.json",
		 "podman-config.json");
	put_data("run/containerd/io.containerd.runtime.v2.task/k8s.io/" CTD_ID "/config.json",
		 "containerd-config.json");
	put_data("run/containers/storage/overlay-containers/" CTD_ID "/userdata/config.json",
		 "crio-config.json");

	struct pc_snapshot *snap = pc_snapshot_new("test");
	struct pc_container_names *cn = pc_container_names_new(root);
	assert_non_null(cn);
	pc_container_names_set_warn(cn, snap);

	const struct pc_container_info *i = pc_container_lookup(cn, "docker", DOCKER_ID, NULL);
	assert_non_null(i);
	assert_string_equal(i->image, "pcweb:1");
	assert_ptr_equal(pc_container_lookup(cn, "docker", DOCKER_ID, NULL), i); /* cached */
	i = pc_container_lookup(cn, "podman", PODMAN_ID, NULL);
	assert_non_null(i);
	assert_string_equal(i->name, "web1");
	assert_string_equal(i->image, "localhost/pcweb:1");
	i = pc_container_lookup(cn, "containerd", CTD_ID, NULL);
	assert_non_null(i);
	assert_string_equal(i->pod_namespace, "shop");
	i = pc_container_lookup(cn, "cri-o", CTD_ID, NULL);
	assert_non_null(i);
	assert_string_equal(i->pod_namespace, "default");
	assert_string_equal(i->image, "registry.example/pcweb:1");
	assert_null(pc_container_lookup(cn, "lxc", CTD_ID, NULL));
	assert_int_equal(snap->n_warnings, 0);

	/* docker-proxy's container-ip names its container */
	char id[65];
	i = pc_container_docker_by_addr(cn, "172.17.0.2", id);
	assert_non_null(i);
	assert_string_equal(id, DOCKER_ID);
	assert_null(pc_container_docker_by_addr(cn, "172.17.0.3", id));

	/* an owner: a docker-proxy (root) publishing that container */
	size_t len;
	char *cmd = data("docker-proxy-cmdline", &len);
	struct pc_container c;
	assert_int_equal(pc_container_fill_owner(cn, snap, "docker-proxy", 0, cmd, len, NULL, NULL,
						 NULL, &c),
			 0);
	assert_string_equal(c.id, DOCKER_ID);
	assert_string_equal(c.runtime, "docker");
	assert_string_equal(c.name, "web1");
	assert_string_equal(c.image, "pcweb:1");
	/* the same command line from an unprivileged process is not believed */
	assert_int_equal(pc_container_fill_owner(cn, snap, "docker-proxy", 1000, cmd, len, NULL,
						 NULL, NULL, &c),
			 0);
	assert_null(c.id);
	assert_null(c.name);
	free(cmd);

	/* a process of a containerd container, from its cgroup */
	assert_int_equal(pc_container_fill_owner(cn, snap, "httpd", 0, NULL, 0, CTD_ID,
						 "containerd", NULL, &c),
			 0);
	assert_string_equal(c.name, "web");
	assert_string_equal(c.pod, "web-1");
	assert_string_equal(c.pod_uid, UID);

	/* a conmon whose bundle is in a store elsewhere (podman --root) */
	char bundle[256], cmdline[1024];
	snprintf(bundle, sizeof(bundle), "%s/elsewhere/overlay-containers/%s/userdata", root,
		 PODMAN_ID);
	put_data("elsewhere/overlay-containers/" PODMAN_ID "/userdata/config.json",
		 "podman-config.json");
	put("elsewhere/overlay-containers/containers.json",
	    "[{\"id\":\"" PODMAN_ID "\",\"names\":[\"web9\"],\"metadata\":"
	    "\"{\\\"image-name\\\":\\\"localhost/pcweb:9\\\"}\"}]");
	int n = snprintf(cmdline, sizeof(cmdline),
			 "/usr/bin/conmon%c-c%c%s%c-n%cweb9%c-b%c%s%c--exit-command%c/usr/bin/podman%c",
			 0, 0, PODMAN_ID, 0, 0, 0, 0, bundle, 0, 0, 0);
	struct pc_container_names *cn2 = pc_container_names_new(root);
	pc_container_names_set_warn(cn2, snap);
	assert_int_equal(pc_container_fill_owner(cn2, snap, "conmon", 0, cmdline, (size_t)n, NULL,
						 NULL, NULL, &c),
			 0);
	if (geteuid() == 0) {
		/* root's conmon with root's bundle: believed */
		assert_string_equal(c.id, PODMAN_ID);
		assert_string_equal(c.runtime, "podman");
		assert_string_equal(c.name, "web9");
		assert_string_equal(c.image, "localhost/pcweb:9");
	} else {
		/* the bundle is not root's: not believed */
		assert_null(c.id);
	}
	/* a conmon that is not root's is never believed */
	assert_int_equal(pc_container_fill_owner(cn2, snap, "conmon", 1000, cmdline, (size_t)n,
						 NULL, NULL, NULL, &c),
			 0);
	assert_null(c.id);
	pc_container_names_free(cn2);

	/* docker state under daemon.json's data-root */
	const char *did = "4444444444444444444444444444444444444444444444444444444444444444";
	put("etc/docker/daemon.json", "{\"data-root\": \"/srv/docker\"}");
	put_data("srv/docker/containers/4444444444444444444444444444444444444444444444444444444444444444/"
		 "config.v2.json",
		 "docker-lab-config.v2.json");
	cn2 = pc_container_names_new(root);
	pc_container_names_set_warn(cn2, snap);
	i = pc_container_lookup(cn2, "docker", did, NULL);
	assert_non_null(i);
	assert_string_equal(i->name, "web1");
	i = pc_container_lookup(cn2, "docker", DOCKER_ID, NULL); /* the default root still */
	assert_non_null(i);
	assert_string_equal(i->image, "pcweb:1");
	i = pc_container_docker_by_addr(cn2, "198.18.62.2", id);
	assert_non_null(i);
	assert_string_equal(id, did);
	pc_container_names_free(cn2);

	/* missing, malformed and oversize state: warnings, never a crash */
	size_t before = snap->n_warnings;
	const char *miss = "1111111111111111111111111111111111111111111111111111111111111111";
	assert_null(pc_container_lookup(cn, "docker", miss, NULL));
	assert_true(has_warning(snap, "no state found", "111111111111 (docker)"));
	const char *bad = "2222222222222222222222222222222222222222222222222222222222222222";
	put("var/lib/docker/containers/2222222222222222222222222222222222222222222222222222222222222222/"
	    "config.v2.json",
	    "{\"Name\":\n  nope}");
	assert_null(pc_container_lookup(cn, "docker", bad, NULL));
	assert_true(has_warning(snap, "config.v2.json:2:", NULL));
	const char *big = "3333333333333333333333333333333333333333333333333333333333333333";
	size_t bl = (4u << 20) + 10;
	char *huge = malloc(bl);
	memset(huge, ' ', bl);
	huge[0] = '{';
	huge[bl - 1] = '}';
	put_bytes("var/lib/docker/containers/3333333333333333333333333333333333333333333333333333333333333333/"
		  "config.v2.json",
		  huge, bl);
	free(huge);
	assert_null(pc_container_lookup(cn, "docker", big, NULL));
	assert_true(has_warning(snap, "larger than the cap", NULL));
	assert_true(snap->n_warnings > before);
	pc_container_names_free(cn);

	/* a broken store: a warning, the bundle's annotations still count */
	put("var/lib/containers/storage/overlay-containers/containers.json", "[{\"id\": tru");
	cn = pc_container_names_new(root);
	pc_container_names_set_warn(cn, snap);
	before = snap->n_warnings;
	i = pc_container_lookup(cn, "podman", PODMAN_ID, NULL);
	assert_non_null(i); /* its config.json is there */
	assert_string_equal(i->name, "");
	assert_true(has_warning(snap, "containers.json:1:", NULL));
	assert_true(snap->n_warnings == before + 1);
	pc_container_names_free(cn);

	pc_snapshot_free(snap);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker),
		cmocka_unit_test(test_podman),
		cmocka_unit_test(test_crio_containerd),
		cmocka_unit_test(test_cmdlines),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
