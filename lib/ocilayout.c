// SPDX-License-Identifier: GPL-2.0
/* OCI image layout reader: oci-layout, index.json, image indexes, manifests and configs, every
 * blob checked against its descriptor; the layers go to layer.c, the model is rootfs.c.
 * Contracts in ocilayout.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "diag.h"
#include "escape.h"
#include "fileio.h"
#include "hexb64.h"
#include "imageref.h"
#include "ocilayout.h"

#define MAX_INDEX_DEPTH	4

#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG	"application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* ---- layout, descriptors and JSON blobs */

struct desc {
	const char *media_type, *digest;
	uint64_t size;
	struct json_object *obj;
};

struct oci {
	int dfd;
	struct tcl_oci_opts o;
};

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *annotation(struct json_object *o, const char *key)
{
	struct json_object *a;

	if (!json_object_object_get_ex(o, "annotations", &a) ||
	    !json_object_is_type(a, json_type_object))
		return NULL;
	return jstr(a, key);
}

static int check_digest_str(const char *what, const char *d)
{
	char buf[160];

	if (tcl_digest_valid(d))
		return 0;
	if (strchr(d, ':') && strncmp(d, "sha256:", 7)) {
		pr_err("oci", "%s: unsupported digest algorithm in \"%s\"", what,
		       tcl_esc_log(d, buf, sizeof(buf)));
		return -ENOTSUP;
	}
	pr_err("oci", "%s: malformed digest \"%s\"", what, tcl_esc_log(d, buf, sizeof(buf)));
	return -EINVAL;
}

static int parse_desc(const char *what, struct json_object *o, struct desc *d)
{
	struct json_object *v;
	int64_t size;

	memset(d, 0, sizeof(*d));
	if (!json_object_is_type(o, json_type_object)) {
		pr_err("oci", "%s: descriptor is not an object", what);
		return -EINVAL;
	}
	d->obj = o;
	d->media_type = jstr(o, "mediaType");
	d->digest = jstr(o, "digest");
	if (!d->media_type || !d->digest || !json_object_object_get_ex(o, "size", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		pr_err("oci", "%s: descriptor needs mediaType, digest and size", what);
		return -EINVAL;
	}
	size = json_object_get_int64(v);
	if (size < 0) {
		pr_err("oci", "%s: negative size", what);
		return -EINVAL;
	}
	d->size = (uint64_t)size;
	return check_digest_str(what, d->digest);
}

/* All @len bytes: a blob shorter than its descriptor says is malformed. */
static int read_all(int fd, char *buf, size_t len)
{
	ssize_t n = tcl_read_full(fd, buf, len);

	return n < 0 ? (int)n : (size_t)n != len ? -EBADMSG : 0;
}

/* Blobs are opened non-blocking so a FIFO planted in the layout cannot hang us. */
static int open_blob(struct oci *x, const char *what, const struct desc *d, int *fdp)
{
	char rel[80];
	struct stat st;
	int fd, rc;

	snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->digest + 7);
	fd = openat(x->dfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		pr_err("oci", "%s: blob %s: %s", what, d->digest, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("oci", "%s: blob %s is not a regular file", what, d->digest);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != d->size) {
		pr_err("oci", "%s: blob %s is %jd bytes, its descriptor says %" PRIu64, what,
		       d->digest, (intmax_t)st.st_size, d->size);
		close(fd);
		return -EBADMSG;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fdp = fd;
	return 0;
}

/* Read, verify against the descriptor, then parse: nothing of an unverified blob is used. */
static int read_json_blob(struct oci *x, const char *what, const struct desc *d,
			  struct json_object **out)
{
	char *buf = NULL, got[65];
	int fd = -1, rc;

	*out = NULL;
	if (d->size > x->o.max_json_bytes) {
		pr_err("oci", "%s: %" PRIu64 " bytes, limit %u", what, d->size,
		       x->o.max_json_bytes);
		return -EFBIG;
	}
	rc = open_blob(x, what, d, &fd);
	if (rc)
		return rc;
	buf = malloc(d->size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_all(fd, buf, d->size);
	if (rc) {
		pr_err("oci", "%s: blob %s: %s", what, d->digest, strerror(-rc));
		goto out;
	}
	rc = tcl_sha256_hex(buf, d->size, false, got);
	if (rc)
		goto out;
	if (strcmp(got, d->digest + 7)) {
		pr_err("oci", "%s: blob %s: digest mismatch, content is sha256:%s", what,
		       d->digest, got);
		rc = -EBADMSG;
		goto out;
	}
	rc = tcl_json_parse(what, buf, d->size, x->o.max_json_bytes, out);
	if (!rc && !json_object_is_type(*out, json_type_object)) {
		pr_err("oci", "%s: not a JSON object", what);
		json_object_put(*out);
		*out = NULL;
		rc = -EINVAL;
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int read_json_file(struct oci *x, const char *name, size_t max, struct json_object **out)
{
	struct stat st;
	char *buf = NULL;
	int fd, rc;

	*out = NULL;
	fd = openat(x->dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		pr_err("oci", "%s: %s (not an OCI image layout?)", name, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("oci", "%s: not a regular file", name);
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		pr_err("oci", "%s: %jd bytes, limit %zu", name, (intmax_t)st.st_size, max);
		rc = -EFBIG;
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_all(fd, buf, (size_t)st.st_size);
	if (rc) {
		pr_err("oci", "%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = tcl_json_parse(name, buf, (size_t)st.st_size, max, out);
	if (!rc && !json_object_is_type(*out, json_type_object)) {
		pr_err("oci", "%s: not a JSON object", name);
		json_object_put(*out);
		*out = NULL;
		rc = -EINVAL;
	}
out:
	free(buf);
	close(fd);
	return rc;
}

static bool is_index_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
}

static bool is_manifest_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST);
}

/* schemaVersion 2, and a mediaType inside must agree with the descriptor that led here: a
 * blob must not be read as something other than what it was published as. */
static int check_doc(const char *what, struct json_object *o, const char *desc_mt)
{
	struct json_object *v;
	const char *mt;

	if (!json_object_object_get_ex(o, "schemaVersion", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != 2) {
		pr_err("oci", "%s: schemaVersion is not 2", what);
		return -EINVAL;
	}
	mt = jstr(o, "mediaType");
	if (json_object_object_get_ex(o, "mediaType", &v) && (!mt || (desc_mt &&
							      strcmp(mt, desc_mt)))) {
		pr_err("oci", "%s: mediaType does not match its descriptor", what);
		return -EINVAL;
	}
	return 0;
}

static struct json_object *get_array(const char *what, struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array)) {
		pr_err("oci", "%s: \"%s\" is missing or not an array", what, key);
		return NULL;
	}
	return v;
}

static bool platform_match(struct oci *x, struct json_object *d)
{
	struct json_object *p;
	const char *os, *arch;

	if (!json_object_object_get_ex(d, "platform", &p) ||
	    !json_object_is_type(p, json_type_object))
		return false;
	os = jstr(p, "os");
	arch = jstr(p, "architecture");
	return os && arch && !strcmp(os, x->o.os) && !strcmp(arch, x->o.arch);
}

static void list_tags(struct json_object *arr, char *buf, size_t sz)
{
	size_t i, n = json_object_array_length(arr), o = 0;
	char one[80];
	const char *t;

	buf[0] = '\0';
	for (i = 0; i < n && o + 1 < sz; i++) {
		t = annotation(json_object_array_get_idx(arr, i),
			       "org.opencontainers.image.ref.name");
		if (!t)
			continue;
		o += (size_t)snprintf(buf + o, sz - o, "%s%s", o ? ", " : "",
				      tcl_esc_log(t, one, sizeof(one)));
	}
	if (!o)
		snprintf(buf, sz, "none");
}

static int select_top(struct oci *x, struct json_object *index, const char *tag, struct desc *d)
{
	struct json_object *arr, *pick = NULL, *e;
	char tags[512], tshown[160];
	size_t i, n, hits = 0;
	const char *t;

	arr = get_array("index.json", index, "manifests");
	if (!arr)
		return -EINVAL;
	n = json_object_array_length(arr);
	if (!n) {
		pr_err("oci", "index.json lists no manifests");
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		if (tag) {
			t = annotation(e, "org.opencontainers.image.ref.name");
			if (!t || strcmp(t, tag))
				continue;
		} else if (n > 1 && !platform_match(x, e)) {
			continue;
		}
		if (!hits++)
			pick = e;
	}
	if (hits != 1) {
		list_tags(arr, tags, sizeof(tags));
		if (tag && !hits)
			pr_err("oci", "index.json: no manifest tagged \"%s\" (tags: %s)",
			       tcl_esc_log(tag, tshown, sizeof(tshown)), tags);
		else if (tag)
			pr_err("oci", "index.json: tag \"%s\" names %zu manifests",
			       tcl_esc_log(tag, tshown, sizeof(tshown)), hits);
		else
			pr_err("oci", "index.json lists %zu manifests; choose one with DIR:TAG "
			       "(tags: %s)", n, tags);
		return tag && !hits ? -ENOENT : -EINVAL;
	}
	return parse_desc("index.json", pick, d);
}

static int select_platform(struct oci *x, const char *what, struct json_object *index,
			   struct desc *d)
{
	struct json_object *arr, *e;
	size_t i, n;

	arr = get_array(what, index, "manifests");
	if (!arr)
		return -EINVAL;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		if (platform_match(x, e))
			return parse_desc(what, e, d);
	}
	pr_err("oci", "%s: no manifest for %s/%s", what, x->o.os, x->o.arch);
	return -ENOENT;
}

static int load_config(struct oci *x, struct json_object *manifest, unsigned int nlayers,
		       struct tcl_oci_image *img, struct json_object **cfg_out,
		       struct json_object **diff_ids)
{
	struct json_object *cfgd, *cfg = NULL, *rootfs, *ids;
	struct desc d;
	const char *t;
	size_t i;
	int rc;

	if (!json_object_object_get_ex(manifest, "config", &cfgd)) {
		pr_err("oci", "manifest: no config");
		return -EINVAL;
	}
	rc = parse_desc("manifest config", cfgd, &d);
	if (rc)
		return rc;
	if (strcmp(d.media_type, MT_OCI_CONFIG) && strcmp(d.media_type, MT_DOCKER_CONFIG)) {
		pr_err("oci", "manifest: config media type \"%s\": not a container image",
		       d.media_type);
		return -ENOTSUP;
	}
	snprintf(img->config_digest, sizeof(img->config_digest), "%s", d.digest);
	rc = read_json_blob(x, "config", &d, &cfg);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (!json_object_object_get_ex(cfg, "rootfs", &rootfs) ||
	    !(t = jstr(rootfs, "type")) || strcmp(t, "layers") ||
	    !(ids = get_array("config rootfs", rootfs, "diff_ids"))) {
		pr_err("oci", "config: rootfs is not {\"type\":\"layers\",\"diff_ids\":[...]}");
		goto out;
	}
	if (json_object_array_length(ids) != nlayers) {
		pr_err("oci", "config: %zu diff_ids for %u layers", json_object_array_length(ids),
		       nlayers);
		goto out;
	}
	for (i = 0; i < nlayers; i++) {
		t = json_object_get_string(json_object_array_get_idx(ids, i));
		if (!json_object_is_type(json_object_array_get_idx(ids, i), json_type_string)) {
			pr_err("oci", "config: diff_ids[%zu] is not a string", i);
			goto out;
		}
		rc = check_digest_str("config diff_ids", t);
		if (rc)
			goto out;
	}
	*cfg_out = cfg;
	*diff_ids = ids;
	return 0;
out:
	json_object_put(cfg);
	return rc;
}

void tcl_oci_free(struct tcl_oci_image *img)
{
	if (!img)
		return;
	tcl_rootfs_free(img->rootfs);
	free(img->ref_name);
	free(img);
}

int tcl_oci_open(const char *layout_dir, const char *tag, const struct tcl_oci_opts *opts,
		 struct tcl_oci_image **out)
{
	struct json_object *layout = NULL, *index = NULL, *idx = NULL, *doc = NULL, *cfg = NULL;
	struct json_object *layers, *ids = NULL;
	struct tcl_oci_image *img = NULL;
	struct oci x = { .dfd = -1 };
	struct desc d, ld;
	char what[64], lname[96];
	const char *t;
	size_t i, n;
	int depth, fd, rc;

	*out = NULL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	rc = tcl_rootfs_new(opts, &img->rootfs);
	if (rc)
		goto out;
	x.o = *tcl_rootfs_opts(img->rootfs);
	x.dfd = open(layout_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.dfd < 0) {
		rc = -errno;
		pr_err("oci", "%s: %s", layout_dir, strerror(errno));
		goto out;
	}
	rc = read_json_file(&x, "oci-layout", 4096, &layout);
	if (rc)
		goto out;
	t = jstr(layout, "imageLayoutVersion");
	if (!t || strncmp(t, "1.", 2)) {
		pr_err("oci", "oci-layout: imageLayoutVersion is not 1.x");
		rc = -ENOTSUP;
		goto out;
	}
	rc = read_json_file(&x, "index.json", x.o.max_json_bytes, &index);
	if (!rc)
		rc = check_doc("index.json", index, NULL);
	if (!rc)
		rc = select_top(&x, index, tag, &d);
	if (rc)
		goto out;
	t = annotation(d.obj, "io.containerd.image.name");
	if (!t)
		t = annotation(d.obj, "org.opencontainers.image.ref.name");
	if (t && !(img->ref_name = strdup(t))) {
		rc = -ENOMEM;
		goto out;
	}
	for (depth = 0; is_index_type(d.media_type); depth++) {
		struct json_object *sub = NULL;

		if (depth >= MAX_INDEX_DEPTH) {
			pr_err("oci", "image indexes nested deeper than %d", MAX_INDEX_DEPTH);
			rc = -ELOOP;
			goto out;
		}
		if (!depth)
			snprintf(img->index_digest, sizeof(img->index_digest), "%s", d.digest);
		snprintf(what, sizeof(what), "image index %.19s", d.digest);
		rc = read_json_blob(&x, what, &d, &sub);
		if (!rc)
			rc = check_doc(what, sub, d.media_type);
		if (!rc)
			rc = select_platform(&x, what, sub, &d);
		/* d now points into sub, which stays until the end */
		json_object_put(idx);
		idx = sub;
		if (rc)
			goto out;
	}
	if (!is_manifest_type(d.media_type)) {
		pr_err("oci", "unsupported manifest media type \"%s\"", d.media_type);
		rc = -ENOTSUP;
		goto out;
	}
	snprintf(img->manifest_digest, sizeof(img->manifest_digest), "%s", d.digest);
	rc = read_json_blob(&x, "manifest", &d, &doc);
	if (!rc)
		rc = check_doc("manifest", doc, d.media_type);
	if (rc)
		goto out;
	layers = get_array("manifest", doc, "layers");
	if (!layers) {
		rc = -EINVAL;
		goto out;
	}
	n = json_object_array_length(layers);
	if (n > x.o.max_layers) {
		pr_err("oci", "manifest: %zu layers, limit %u", n, x.o.max_layers);
		rc = -E2BIG;
		goto out;
	}
	rc = load_config(&x, doc, (unsigned int)n, img, &cfg, &ids);
	if (rc)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "layer %zu", i + 1);
		rc = parse_desc(what, json_object_array_get_idx(layers, i), &ld);
		if (rc)
			goto out;
		snprintf(lname, sizeof(lname), "layer %zu/%zu (%.19s)", i + 1, n, ld.digest);
		if (!tcl_layer_type_supported(ld.media_type)) {
			pr_err("oci", "%s: unsupported layer media type \"%s\"", lname,
			       ld.media_type);
			rc = -ENOTSUP;
			goto out;
		}
		rc = open_blob(&x, lname, &ld, &fd);
		if (rc)
			goto out;
		rc = tcl_layer_apply(img->rootfs, fd, NULL, ld.size, ld.media_type, ld.digest,
				     json_object_get_string(json_object_array_get_idx(ids, i)),
				     lname);
		close(fd);
		if (rc)
			goto out;
	}
	img->nlayers = (unsigned int)n;
	*out = img;
	img = NULL;
out:
	json_object_put(layout);
	json_object_put(index);
	json_object_put(idx);
	json_object_put(doc);
	json_object_put(cfg);
	if (x.dfd >= 0)
		close(x.dfd);
	tcl_oci_free(img);
	return rc;
}
