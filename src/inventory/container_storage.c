/*
 * container_storage.c - containers/storage (podman, CRI-O): the store's
 * containers.json and images.json, and the lookup that walks a
 * container's bundles (the one conmon names, the ones running conmons
 * named, the default roots) and the stores they belong to.
 *
 * Split from container.c: one reader per runtime. The two store files can
 * be large (STORE_MAX), so each is parsed once per storage root per run
 * and kept in the cache; a runroot (/run/...) has no containers.json and
 * costs one failed open. The container's "metadata" is itself a JSON text
 * inside a JSON string and is parsed with its own, smaller cap.
 */
#include "inventory/container_int.h"

#include <stdio.h>
#include <string.h>

static void storage_fill(const struct pc_jval *containers, const struct pc_jval *images,
			 const char *id, struct pc_container_info *info, bool *found)
{
	*found = false;
	const struct pc_jval *c = NULL;
	for (size_t i = 0; containers && i < containers->n && !c; i++) {
		const char *cid = pc_jval_str(pc_jval_get(&containers->kids[i], "id"));
		if (cid && strcmp(cid, id) == 0)
			c = &containers->kids[i];
	}
	if (!c)
		return;
	*found = true;
	/* podman's and CRI-O's own record of the container, as a JSON string */
	const char *meta = pc_jval_str(pc_jval_get(c, "metadata"));
	struct pc_jdoc *md = NULL;
	if (meta &&
	    pc_container_parse_json(meta, strlen(meta), METADATA_MAX, false, &md, NULL) == 0) {
		pc_container_set_field(info->image, sizeof(info->image),
		                       pc_container_str_at(md->root, "image-name", NULL));
		pc_container_set_field(info->image_id, sizeof(info->image_id),
		                       pc_container_str_at(md->root, "image-id", NULL));
		pc_container_set_field(info->pod, sizeof(info->pod),
		                       pc_container_str_at(md->root, "pod-name", NULL));
		pc_container_set_field(info->name, sizeof(info->name),
		                       pc_container_str_at(md->root, "name", NULL));
		pc_jdoc_free(md);
	}
	const struct pc_jval *names = pc_jval_get(c, "names");
	if (names && names->type == PC_JARRAY && names->n)
		pc_container_set_field(info->name, sizeof(info->name),
		                       pc_jval_str(&names->kids[0]));
	const char *image = pc_jval_str(pc_jval_get(c, "image"));
	pc_container_set_field(info->image_id, sizeof(info->image_id), image);
	for (size_t i = 0; image && images && i < images->n && !info->image[0]; i++) {
		const struct pc_jval *im = &images->kids[i];
		const char *iid = pc_jval_str(pc_jval_get(im, "id"));
		const struct pc_jval *in = pc_jval_get(im, "names");
		if (iid && strcmp(iid, image) == 0 && in && in->type == PC_JARRAY && in->n)
			pc_container_set_field(info->image, sizeof(info->image),
			                       pc_jval_str(&in->kids[0]));
	}
}

int pc_container_parse_storage(const char *containers_json, size_t clen,
			       const char *images_json, size_t ilen, const char *id,
			       struct pc_container_info *info)
{
	struct pc_jdoc *c = NULL, *im = NULL;
	if (pc_container_parse_json(containers_json, clen, STORE_MAX, true, &c, NULL) < 0)
		return PC_EPARSE;
	if (images_json &&
	    pc_container_parse_json(images_json, ilen, STORE_MAX, true, &im, NULL) < 0)
		im = NULL; /* the container's own record may still name the image */
	bool found;
	storage_fill(c->root, im ? im->root : NULL, id, info, &found);
	pc_jdoc_free(c);
	pc_jdoc_free(im);
	return found ? 0 : PC_EPARSE;
}

static struct store *get_store(struct pc_container_names *cn, const char *root)
{
	for (size_t i = 0; i < cn->n_stores; i++)
		if (strcmp(cn->stores[i].root, root) == 0)
			return &cn->stores[i];
	if (cn->n_stores == MAX_STORES)
		return NULL;
	struct store *s = &cn->stores[cn->n_stores++];
	memset(s, 0, sizeof(*s));
	snprintf(s->root, sizeof(s->root), "%s", root);
	char path[PATH_LEN + 64];
	snprintf(path, sizeof(path), "%s/overlay-containers/containers.json", root);
	pc_container_read_state(cn, path, STORE_MAX, true, &s->containers);
	if (s->containers) {
		snprintf(path, sizeof(path), "%s/overlay-images/images.json", root);
		pc_container_read_state(cn, path, STORE_MAX, true, &s->images);
	}
	return s;
}

/* The storage root of a bundle ROOT/overlay-containers/ID/userdata, into
 * out; false when the bundle is not of that shape. */
static bool bundle_store(const char *bundle, const char *id, char *out, size_t outlen)
{
	char tail[128];
	snprintf(tail, sizeof(tail), "/overlay-containers/%s/userdata", id);
	size_t bl = strlen(bundle), tl = strlen(tail);
	while (bl > 1 && bundle[bl - 1] == '/')
		bl--;
	if (bl <= tl || memcmp(bundle + bl - tl, tail, tl) != 0 || bl - tl >= outlen)
		return false;
	memcpy(out, bundle, bl - tl);
	out[bl - tl] = '\0';
	return true;
}

bool pc_container_storage_lookup(struct pc_container_names *cn, const char *id,
				 const char *bundle_hint, struct pc_container_info *info)
{
	if (!bundle_hint && !cn->procs_scanned)
		pc_container_scan_processes(cn);
	const char *bundles[3 + 1];
	size_t nb = 0;
	if (bundle_hint)
		bundles[nb++] = bundle_hint;
	for (size_t i = 0; i < cn->n_bundles && nb < 2; i++)
		if (strcmp(cn->bundles[i].id, id) == 0)
			bundles[nb++] = cn->bundles[i].path;
	char defaults[2][PATH_LEN];
	snprintf(defaults[0], sizeof(defaults[0]),
		 "%s/var/lib/containers/storage/overlay-containers/%s/userdata", cn->root, id);
	snprintf(defaults[1], sizeof(defaults[1]),
		 "%s/run/containers/storage/overlay-containers/%s/userdata", cn->root, id);
	bundles[nb++] = defaults[0];
	bundles[nb++] = defaults[1];
	bool found = false;
	for (size_t i = 0; i < nb; i++) {
		char path[PATH_LEN + 16];
		snprintf(path, sizeof(path), "%s/config.json", bundles[i]);
		if (pc_container_oci_read(cn, path, info))
			found = true;
	}
	/* the stores that those bundles belong to: a runroot (/run/...) has
	 * no containers.json and costs one failed open */
	for (size_t i = 0; i < nb; i++) {
		char root[PATH_LEN];
		if (!bundle_store(bundles[i], id, root, sizeof(root)))
			continue;
		struct store *s = get_store(cn, root);
		if (!s || !s->containers)
			continue;
		bool f;
		storage_fill(s->containers->root, s->images ? s->images->root : NULL, id, info, &f);
		found = found || f;
	}
	return found;
}
