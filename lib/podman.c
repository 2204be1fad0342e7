// SPDX-License-Identifier: GPL-2.0
/* podman's container metadata from containers/storage; see podman.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "fileio.h"
#include "ocimeta.h"
#include "podman.h"

#define SUFFIX "/userdata"
#define DIR_PART "/overlay-containers/"

bool tcl_podman_bundle(const char *bundle)
{
	size_t n = strlen(bundle), sl = strlen(SUFFIX), dl = strlen(DIR_PART);
	const char *id;

	if (n < sl + 64 + dl || strcmp(bundle + n - sl, SUFFIX))
		return false;
	id = bundle + n - sl - 64;
	if (strncmp(id - dl, DIR_PART, dl))
		return false;
	for (int i = 0; i < 64; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

/* The array in a storage JSON file, and its entry whose "id" is @id. */
static int load_entry(const char *path, const char *id, json_object **arr, json_object **entry)
{
	char *text = NULL;
	size_t len = 0;
	json_object *v;
	int ret;

	*arr = *entry = NULL;
	ret = tcl_read_file(path, TCL_PODMAN_MAX, &text, &len);
	if (ret)
		return ret;
	ret = tcl_json_parse(path, text, len, TCL_PODMAN_MAX + 1, arr);
	free(text);
	if (ret)
		return ret;
	if (!json_object_is_type(*arr, json_type_array))
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(*arr); i++) {
		json_object *e = json_object_array_get_idx(*arr, i);

		if (json_object_is_type(e, json_type_object) &&
		    json_object_object_get_ex(e, "id", &v) && json_object_is_type(v, json_type_string) &&
		    !strcmp(json_object_get_string(v), id)) {
			*entry = e;
			return 0;
		}
	}
	return -ENOENT;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static void put(char *dst, size_t len, const char *v)
{
	if (v && !dst[0] && strlen(v) < len)
		strcpy(dst, v);
}

int tcl_podman_fill_meta(const char *bundle, struct tcl_container_meta *m, char *err,
			 size_t errlen)
{
	json_object *carr = NULL, *iarr = NULL, *c, *img, *md = NULL;
	char root[PATH_MAX], path[PATH_MAX + 64];
	const char *image_id, *v;
	size_t rl;
	int ret;

	if (!tcl_podman_bundle(bundle))
		return -EINVAL;
	rl = strlen(bundle) - strlen(SUFFIX) - 64 - strlen(DIR_PART);
	if (strncmp(bundle + rl + strlen(DIR_PART), m->container_id, 64)) {
		snprintf(err, errlen, "%s is not the bundle of container %.12s", bundle,
			 m->container_id);
		return -EINVAL;
	}
	if (rl >= sizeof(root))
		return -ENAMETOOLONG;
	memcpy(root, bundle, rl);
	root[rl] = '\0';
	snprintf(path, sizeof(path), "%s/overlay-containers/containers.json", root);
	ret = load_entry(path, m->container_id, &carr, &c);
	if (ret) {
		snprintf(err, errlen, "%s: container %.12s: %s", path, m->container_id,
			 strerror(-ret));
		goto out;
	}
	/* "metadata" is a JSON document in a string: podman's RuntimeContainerMetadata */
	v = str_of(c, "metadata");
	if (v && tcl_json_parse("podman container metadata", v, strlen(v), 65536, &md) == 0) {
		put(m->container, sizeof(m->container), str_of(md, "name"));
		put(m->image, sizeof(m->image), str_of(md, "image-name"));
	}
	image_id = str_of(c, "image");
	if (!image_id || !*image_id) {
		snprintf(err, errlen, "%s: container %.12s names no image", path, m->container_id);
		ret = -ENOENT;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/overlay-images/images.json", root);
	ret = load_entry(path, image_id, &iarr, &img);
	if (ret) {
		snprintf(err, errlen, "%s: image %.12s: %s", path, image_id, strerror(-ret));
		goto out;
	}
	v = str_of(img, "digest");
	if (!v || strncmp(v, "sha256:", 7) || strlen(v) != 71) {
		snprintf(err, errlen, "%s: image %.12s has no sha256 digest", path, image_id);
		ret = -ENOENT;
		goto out;
	}
	put(m->image_digest, sizeof(m->image_digest), v);
	snprintf(m->image_id, sizeof(m->image_id), "sha256:%.64s", image_id);
	ret = 0;
out:
	json_object_put(md);
	json_object_put(carr);
	json_object_put(iarr);
	return ret;
}
