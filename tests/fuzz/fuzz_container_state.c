/*
 * fuzz_container_state.c - the container state readers of
 * src/inventory/container.c on arbitrary bytes: docker's config.v2.json,
 * an OCI config.json's annotations (podman, CRI-O, containerd),
 * containers/storage's containers.json (with images.json), and conmon's,
 * docker-proxy's and dockerd's command lines. The first byte picks the reader, so one
 * corpus of real files (captured in the podman lab, tests/e2e/podman.sh)
 * seeds them all. Whatever comes out must be short printable text, and a
 * parsed conmon id is 64 hex digits.
 */
#include "core/error.h"
#include "inventory/container.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort(); /* not terminated inside its field */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void check_info(const struct pc_container_info *i)
{
	check_text(i->name, sizeof(i->name));
	check_text(i->image, sizeof(i->image));
	check_text(i->image_id, sizeof(i->image_id));
	check_text(i->pod, sizeof(i->pod));
	check_text(i->pod_namespace, sizeof(i->pod_namespace));
	check_text(i->pod_uid, sizeof(i->pod_uid));
	if (i->pod_uid[0] && strlen(i->pod_uid) != 36)
		abort();
	for (size_t k = 0; k < PC_CONTAINER_ADDRS; k++)
		check_text(i->addrs[k], sizeof(i->addrs[k]));
}

/* the images.json the storage reader is given alongside */
static const char images[] = "[{\"id\":\"f9e5a0bb03d96f3ed89326dad6f63d329e0e3b45e253113a6b3b9454"
			     "329b471b\",\"names\":[\"localhost/pcweb:1\"]}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 6;
	size_t n = size - 1;
	/* an exact-size copy: any read past the end is ASan's */
	char *buf = malloc(n ? n : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, n);
	struct pc_container_info info;
	memset(&info, 0, sizeof(info));
	switch (which) {
	case 0:
		if (pc_container_parse_docker(buf, n, &info) == 0)
			check_info(&info);
		break;
	case 1:
		if (pc_container_parse_oci(buf, n, &info) == 0)
			check_info(&info);
		break;
	case 2:
		if (pc_container_parse_storage(buf, n, images, sizeof(images) - 1,
					       "574b6c54ab87f62523c7d069675cbf9353087a632a61fec82622"
					       "db92dc9fb326",
					       &info) == 0)
			check_info(&info);
		break;
	case 3: {
		struct pc_conmon_args a;
		if (pc_container_parse_conmon(buf, n, &a) == 0) {
			if (strlen(a.id) != 64 || strspn(a.id, "0123456789abcdef") != 64)
				abort();
			check_text(a.name, sizeof(a.name));
			check_text(a.bundle, sizeof(a.bundle));
			if (a.bundle[0] && a.bundle[0] != '/')
				abort();
		}
		break;
	}
	case 4: {
		struct pc_proxy_args p;
		if (pc_container_parse_docker_proxy(buf, n, &p) == 0) {
			if (!p.container_ip[0] || !p.container_port)
				abort();
			check_text(p.container_ip, sizeof(p.container_ip));
			check_text(p.host_ip, sizeof(p.host_ip));
			check_text(p.proto, sizeof(p.proto));
		}
		break;
	}
	default: {
		char root[256];
		if (pc_container_parse_dockerd(buf, n, root, sizeof(root)) == 0) {
			check_text(root, sizeof(root));
			if (root[0] != '/')
				abort();
		}
		break;
	}
	}
	free(buf);
	return 0;
}
