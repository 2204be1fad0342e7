// SPDX-License-Identifier: GPL-2.0
/* Container metadata from OCI bundles and CRI annotations. See ocimeta.h for sources and
 * digest definitions. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "canonjson.h"
#include "diag.h"
#include "hexb64.h"
#include "jsonb.h"
#include "ocimeta.h"
#include "util.h"

#define SUB "ocimeta"
/* containerd namespaces are few; this only bounds a hostile directory */
#define MAX_NAMESPACES 1024

const struct tcl_ocimeta_roots tcl_ocimeta_default_roots = {
	.containerd_tasks = "/run/containerd/io.containerd.runtime.v2.task",
	.crio_containers = "/run/containers/storage/overlay-containers",
	.runc_root = "/run/runc",
	.podman_containers = "/var/lib/containers/storage/overlay-containers",
	.containerd_runc = "/run/containerd/runc",
};

static bool is_id(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Read a regular file of at most TCL_META_MAX_FILE bytes. */
static int read_bounded(const char *path, char **out, size_t *len)
{
	int ret = tcl_read_regular_file(path, TCL_META_MAX_FILE, out, len);

	if (ret == -EINVAL)
		pr_err(SUB, "%s: not a regular file", path);
	else if (ret == -EFBIG)
		pr_err(SUB, "%s: larger than %u bytes", path, TCL_META_MAX_FILE);
	/* this module says -E2BIG for anything over its limits */
	return ret == -EFBIG ? -E2BIG : ret;
}

/*
 * A string member: 0 and (s, n) when present, -ENOENT when absent (or @o is no object),
 * -EINVAL when it is not a string or holds a NUL.
 */
static int get_str(struct json_object *o, const char *key, const char **s, size_t *n,
		   const char *what)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string)) {
		pr_err(SUB, "%s: \"%s\" is not a string", what, key);
		return -EINVAL;
	}
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	if (strlen(*s) != *n) {
		pr_err(SUB, "%s: \"%s\" contains a NUL", what, key);
		return -EINVAL;
	}
	return 0;
}

static int copy_str(char *dst, size_t cap, const char *s, size_t n, const char *what,
		    const char *key)
{
	if (n >= cap) {
		pr_err(SUB, "%s: \"%s\" is %zu bytes, limit %zu", what, key, n, cap - 1);
		return -E2BIG;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* Fill @dst from @key of @o unless already set; empty values count as absent. */
static int first(char *dst, size_t cap, struct json_object *o, const char *key, const char *what)
{
	const char *s;
	size_t n;
	int ret;

	if (dst[0])
		return 0;
	ret = get_str(o, key, &s, &n, what);
	if (ret == -ENOENT || (!ret && !n))
		return 0;
	if (ret)
		return ret;
	return copy_str(dst, cap, s, n, what, key);
}

#define FIRST(field, o, key) first(m->field, sizeof(m->field), o, key, what)

/* CRI-O keeps kubelet's labels and the CRI metadata as JSON text inside an annotation. */
static int nested_json(struct json_object *ann, const char *key, const char *what,
		       struct json_object **out)
{
	const char *s;
	size_t n;
	int ret;

	*out = NULL;
	ret = get_str(ann, key, &s, &n, what);
	if (ret == -ENOENT || (!ret && !n))
		return 0;
	if (ret)
		return ret;
	ret = tcl_json_parse(key, s, n, n, out);
	if (!ret && !json_object_is_type(*out, json_type_object)) {
		pr_err(SUB, "%s: \"%s\" is not a JSON object", what, key);
		json_object_put(*out);
		*out = NULL;
		ret = -EINVAL;
	}
	return ret;
}

static int set_id(char *dst, struct json_object *ann, const char *key, const char *what)
{
	const char *s;
	size_t n;
	int ret;

	if (dst[0])
		return 0;
	ret = get_str(ann, key, &s, &n, what);
	if (ret == -ENOENT || (!ret && !n))
		return 0;
	if (ret)
		return ret;
	if (!is_id(s, n)) {
		pr_err(SUB, "%s: \"%s\" is not a 64-hex id", what, key);
		return -EINVAL;
	}
	memcpy(dst, s, 65);
	return 0;
}

/* "sha256:<hex>" from "...@sha256:<hex>", "sha256:<hex>" or (bare_ok) "<hex>". */
static bool digest_of(const char *s, size_t n, bool at_ok, bool plain_ok, bool bare_ok, char *out)
{
	static const char pfx[] = "sha256:";
	const size_t pl = sizeof(pfx) - 1;
	const char *at = at_ok ? memrchr(s, '@', n) : NULL;
	const char *hex = NULL;

	if (at) {
		if ((size_t)(s + n - at - 1) == pl + 64 && !memcmp(at + 1, pfx, pl))
			hex = at + 1 + pl;
	} else if (plain_ok && n == pl + 64 && !memcmp(s, pfx, pl)) {
		hex = s + pl;
	} else if (bare_ok && n == 64) {
		hex = s;
	}
	if (!hex || !is_id(hex, 64))
		return false;
	memcpy(out, pfx, pl);
	memcpy(out + pl, hex, 65);
	return true;
}

static int image_digest(struct tcl_container_meta *m, struct json_object *ann, const char *what)
{
	static const char *const names[] = { "io.kubernetes.cri.image-name",
					     "io.kubernetes.cri-o.ImageName",
					     "io.kubernetes.cri-o.Image" };
	const char *s;
	size_t n;
	int ret;

	ret = get_str(ann, "org.tcl.image.digest", &s, &n, what);
	if (ret && ret != -ENOENT)
		return ret;
	if (!ret && n) {
		if (!digest_of(s, n, false, true, true, m->image_digest)) {
			pr_err(SUB, "%s: org.tcl.image.digest is not sha256:<64 hex>", what);
			return -EINVAL;
		}
		return 0;
	}
	ret = get_str(ann, "io.kubernetes.cri-o.ImageRef", &s, &n, what);
	if (ret && ret != -ENOENT)
		return ret;
	if (!ret) {
		if (digest_of(s, n, true, true, false, m->image_digest))
			return 0;
		digest_of(s, n, false, false, true, m->image_id);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ret = get_str(ann, names[i], &s, &n, what);
		if (ret && ret != -ENOENT)
			return ret;
		if (!ret && digest_of(s, n, true, false, false, m->image_digest))
			return 0;
	}
	return 0;
}

static int annotations(struct tcl_container_meta *m, struct json_object *root, const char *what)
{
	struct json_object *ann = NULL, *labels = NULL, *meta = NULL;
	const char *s;
	size_t n;
	int ret = 0;

	if (json_object_object_get_ex(root, "annotations", &ann) &&
	    !json_object_is_type(ann, json_type_object)) {
		if (json_object_is_type(ann, json_type_null))
			return 0;
		pr_err(SUB, "%s: \"annotations\" is not an object", what);
		return -EINVAL;
	}
	if (!ann)
		return 0;
	ret = nested_json(ann, "io.kubernetes.cri-o.Labels", what, &labels);
	if (!ret)
		ret = nested_json(ann, "io.kubernetes.cri-o.Metadata", what, &meta);
	if (ret)
		goto out;

	for (int i = 0; i < 2; i++) {
		static const char *const type_keys[] = { "io.kubernetes.cri.container-type",
							  "io.kubernetes.cri-o.ContainerType" };

		ret = get_str(ann, type_keys[i], &s, &n, what);
		if (ret == -ENOENT)
			continue;
		if (ret)
			goto out;
		m->is_sandbox = !strcmp(s, "sandbox");
		break;
	}

	ret = FIRST(pod, ann, "io.kubernetes.cri.sandbox-name") ?:
	      FIRST(pod, labels, "io.kubernetes.pod.name") ?:
	      FIRST(pod, ann, "io.kubernetes.cri-o.KubeName") ?:
	      FIRST(pod, ann, "io.kubernetes.pod.name") ?:
	      FIRST(namespace_, ann, "io.kubernetes.cri.sandbox-namespace") ?:
	      FIRST(namespace_, labels, "io.kubernetes.pod.namespace") ?:
	      FIRST(namespace_, ann, "io.kubernetes.cri-o.Namespace") ?:
	      FIRST(namespace_, ann, "io.kubernetes.pod.namespace") ?:
	      FIRST(pod_uid, ann, "io.kubernetes.cri.sandbox-uid") ?:
	      FIRST(pod_uid, labels, "io.kubernetes.pod.uid") ?:
	      FIRST(pod_uid, ann, "io.kubernetes.pod.uid") ?:
	      FIRST(container, ann, "io.kubernetes.cri.container-name") ?:
	      FIRST(container, labels, "io.kubernetes.container.name") ?:
	      (m->is_sandbox ? 0 : FIRST(container, meta, "name")) ?:
	      FIRST(container, ann, "io.kubernetes.container.name") ?:
	      FIRST(image, ann, "io.kubernetes.cri.image-name") ?:
	      FIRST(image, ann, "io.kubernetes.cri-o.ImageName") ?:
	      FIRST(image, ann, "io.kubernetes.cri-o.Image") ?:
	      set_id(m->sandbox_id, ann, "io.kubernetes.cri.sandbox-id", what) ?:
	      set_id(m->sandbox_id, ann, "io.kubernetes.cri-o.SandboxID", what) ?:
	      set_id(m->container_id, ann, "io.kubernetes.cri-o.ContainerID", what) ?:
	      image_digest(m, ann, what);
	if (!ret && m->is_sandbox && !m->container_id[0])
		memcpy(m->container_id, m->sandbox_id, sizeof(m->container_id));
out:
	json_object_put(labels);
	json_object_put(meta);
	return ret;
}

struct strref {
	const char *s;
	size_t n;
};

static int cmp_strref(const void *a, const void *b)
{
	return strcmp(((const struct strref *)a)->s, ((const struct strref *)b)->s);
}

/* The members of an array of strings; -EINVAL on a non-array or non-string member. */
static int str_array(struct json_object *arr, const char *what, const char *key,
		     size_t max, struct strref **out, size_t *count)
{
	struct strref *v;
	size_t n;

	*out = NULL;
	*count = 0;
	if (!arr || json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array)) {
		pr_err(SUB, "%s: \"%s\" is not an array", what, key);
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	if (n > max) {
		pr_err(SUB, "%s: \"%s\" has %zu entries, limit %zu", what, key, n, max);
		return -E2BIG;
	}
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(e, json_type_string)) {
			pr_err(SUB, "%s: \"%s\"[%zu] is not a string", what, key, i);
			free(v);
			return -EINVAL;
		}
		v[i].s = json_object_get_string(e);
		v[i].n = (size_t)json_object_get_string_len(e);
		if (strlen(v[i].s) != v[i].n) {
			pr_err(SUB, "%s: \"%s\"[%zu] contains a NUL", what, key, i);
			free(v);
			return -EINVAL;
		}
	}
	*out = v;
	*count = n;
	return 0;
}

static EVP_MD_CTX *sha_begin(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return c;
}

/* @s plus its terminating NUL */
static int sha_str(EVP_MD_CTX *c, const char *s, size_t n)
{
	return EVP_DigestUpdate(c, s, n + 1) == 1 ? 0 : -EIO;
}

static int sha_end(EVP_MD_CTX *c, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int ret = 0;

	if (EVP_DigestFinal_ex(c, md, &len) != 1 || len != 32)
		ret = -EIO;
	else
		tcl_hex(md, 32, out);
	EVP_MD_CTX_free(c);
	return ret;
}

static int get_u32(struct json_object *o, const char *key, uint32_t *out, const char *what)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return -ENOENT;
	errno = 0;
	x = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || errno || x < 0 || x > UINT32_MAX) {
		pr_err(SUB, "%s: \"%s\" is not a 32-bit unsigned integer", what, key);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

static int process(struct tcl_container_meta *m, struct json_object *proc, const char *what)
{
	struct json_object *user = NULL, *a = NULL;
	struct strref *v = NULL;
	EVP_MD_CTX *c = NULL;
	const char *s;
	size_t n, total = 0;
	int ret;

	if (!json_object_is_type(proc, json_type_object)) {
		pr_err(SUB, "%s: \"process\" is not an object", what);
		return -EINVAL;
	}
	m->has_process = true;

	ret = get_str(proc, "cwd", &s, &n, what);
	if (!ret)
		ret = copy_str(m->cwd, sizeof(m->cwd), s, n, what, "cwd");
	if (ret && ret != -ENOENT)
		return ret;

	if (json_object_object_get_ex(proc, "user", &user)) {
		if (!json_object_is_type(user, json_type_object)) {
			pr_err(SUB, "%s: \"process.user\" is not an object", what);
			return -EINVAL;
		}
		ret = get_u32(user, "uid", &m->uid, what);
		if (!ret)
			ret = get_u32(user, "gid", &m->gid, what);
		if (ret == -ENOENT) {
			pr_err(SUB, "%s: \"process.user\" lacks uid or gid", what);
			ret = -EINVAL;
		}
		if (ret)
			return ret;
		m->has_user = true;
	}

	json_object_object_get_ex(proc, "args", &a);
	ret = str_array(a, what, "process.args", TCL_META_MAX_ARGS, &v, &n);
	if (ret)
		return ret;
	c = sha_begin();
	if (!c) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].n + 1 > TCL_META_MAX_ARGS_BYTES - total) {
			pr_err(SUB, "%s: \"process.args\" exceed %u bytes", what,
			       TCL_META_MAX_ARGS_BYTES);
			ret = -E2BIG;
			goto out;
		}
		m->arg_off[i] = (uint32_t)total;
		memcpy(m->args + total, v[i].s, v[i].n + 1);
		total += v[i].n + 1;
		ret = sha_str(c, v[i].s, v[i].n);
		if (ret)
			goto out;
	}
	m->nargs = (uint32_t)n;
	m->args_len = (uint32_t)total;
	ret = sha_end(c, m->args_sha256);
	c = NULL;
	if (ret)
		goto out;
	free(v);
	v = NULL;

	a = NULL;
	json_object_object_get_ex(proc, "env", &a);
	ret = str_array(a, what, "process.env", TCL_META_MAX_ENV, &v, &n);
	if (ret)
		goto out;
	/* the order runtimes write env in carries no meaning; the digest must not depend on it */
	if (n)
		qsort(v, n, sizeof(*v), cmp_strref);
	c = sha_begin();
	if (!c) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && !ret; i++)
		ret = sha_str(c, v[i].s, v[i].n);
	if (!ret) {
		ret = sha_end(c, m->env_sha256);
		c = NULL;
	}
out:
	if (c)
		EVP_MD_CTX_free(c);
	free(v);
	return ret;
}

static int mounts(struct tcl_container_meta *m, struct json_object *arr, const char *what)
{
	static const char *const keys[] = { "destination", "type", "source" };
	EVP_MD_CTX *c;
	size_t n;
	int ret = 0;

	if (!json_object_is_type(arr, json_type_array)) {
		pr_err(SUB, "%s: \"mounts\" is not an array", what);
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	if (n > TCL_META_MAX_MOUNTS) {
		pr_err(SUB, "%s: %zu mounts, limit %u", what, n, TCL_META_MAX_MOUNTS);
		return -E2BIG;
	}
	c = sha_begin();
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++) {
		struct json_object *mt = json_object_array_get_idx(arr, i), *opts = NULL;
		struct strref *v = NULL;
		size_t k;

		if (!json_object_is_type(mt, json_type_object)) {
			pr_err(SUB, "%s: \"mounts\"[%zu] is not an object", what, i);
			ret = -EINVAL;
			break;
		}
		for (size_t j = 0; j < 3 && !ret; j++) {
			const char *s = "";
			size_t sl = 0;

			ret = get_str(mt, keys[j], &s, &sl, what);
			if (ret == -ENOENT) {
				s = "";
				sl = 0;
				ret = 0;
			}
			if (!ret)
				ret = sha_str(c, s, sl);
		}
		if (ret)
			break;
		json_object_object_get_ex(mt, "options", &opts);
		ret = str_array(opts, what, "mounts[].options", TCL_META_MAX_ENV, &v, &k);
		for (size_t j = 0; j < k && !ret; j++) {
			if ((j && EVP_DigestUpdate(c, ",", 1) != 1) ||
			    EVP_DigestUpdate(c, v[j].s, v[j].n) != 1)
				ret = -EIO;
		}
		if (!ret && EVP_DigestUpdate(c, "", 1) != 1)
			ret = -EIO;
		free(v);
	}
	if (ret) {
		EVP_MD_CTX_free(c);
		return ret;
	}
	return sha_end(c, m->mounts_sha256);
}

static int parse_root(const char *what, const char *buf, size_t len, struct tcl_container_meta *m)
{
	struct json_object *root = NULL, *v;
	int ret;

	if (len > TCL_META_MAX_FILE) {
		pr_err(SUB, "%s: %zu bytes, limit %u", what, len, TCL_META_MAX_FILE);
		return -E2BIG;
	}
	ret = tcl_json_parse(what, buf, len, TCL_META_MAX_FILE, &root);
	if (ret)
		return ret == -EFBIG ? -E2BIG : ret;
	if (!json_object_is_type(root, json_type_object)) {
		pr_err(SUB, "%s: not a JSON object", what);
		ret = -EINVAL;
		goto out;
	}
	ret = annotations(m, root, what);
	if (!ret && json_object_object_get_ex(root, "process", &v) &&
	    !json_object_is_type(v, json_type_null))
		ret = process(m, v, what);
	if (!ret && json_object_object_get_ex(root, "mounts", &v) &&
	    !json_object_is_type(v, json_type_null))
		ret = mounts(m, v, what);
out:
	json_object_put(root);
	return ret;
}

int tcl_ocimeta_from_buf(const char *what, const char *buf, size_t len,
			 struct tcl_container_meta *m)
{
	int ret;

	if (!what || !buf || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	ret = parse_root(what, buf, len, m);
	if (ret)
		memset(m, 0, sizeof(*m));
	return ret;
}

int tcl_ocimeta_from_config(const char *config_json_path, struct tcl_container_meta *m)
{
	const char *slash;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (!config_json_path || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	slash = strrchr(config_json_path, '/');
	if (!slash) {
		strcpy(m->bundle, ".");
	} else if ((size_t)(slash - config_json_path) >= sizeof(m->bundle)) {
		pr_err(SUB, "%.64s...: path too long", config_json_path);
		return -ENAMETOOLONG;
	} else if (slash == config_json_path) {
		strcpy(m->bundle, "/");
	} else {
		memcpy(m->bundle, config_json_path, slash - config_json_path);
		m->bundle[slash - config_json_path] = '\0';
	}

	ret = read_bounded(config_json_path, &buf, &len);
	if (ret) {
		if (ret != -E2BIG && ret != -EINVAL)
			pr_err(SUB, "%s: %s", config_json_path, strerror(-ret));
		goto out;
	}
	ret = parse_root(config_json_path, buf, len, m);
out:
	free(buf);
	if (ret)
		memset(m, 0, sizeof(*m));
	return ret;
}

static bool is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static int fmt_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fmt_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Bundle directory named by a runc state.json: top-level "bundle" (`runc state`, OCI state),
 * else the "bundle=<dir>" label runc keeps in config.labels on disk.
 */
static int state_bundle(const char *state_path, const char *id, char *config, size_t len)
{
	struct json_object *root = NULL, *cfg, *labels;
	const char *s = NULL;
	char *buf = NULL;
	size_t n = 0, blen;
	int ret;

	ret = read_bounded(state_path, &buf, &n);
	if (ret) {
		if (ret != -E2BIG && ret != -EINVAL && ret != -ENOENT)
			pr_err(SUB, "%s: %s", state_path, strerror(-ret));
		goto out;
	}
	ret = tcl_json_parse(state_path, buf, n, TCL_META_MAX_FILE, &root);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (!json_object_is_type(root, json_type_object)) {
		pr_err(SUB, "%s: not a JSON object", state_path);
		goto out;
	}
	ret = get_str(root, "id", &s, &n, state_path);
	if (ret == -EINVAL)
		goto out;
	if (!ret && (n != strlen(id) || memcmp(s, id, n))) {
		pr_err(SUB, "%s: belongs to container \"%.*s\", not %s", state_path,
		       (int)(n > 80 ? 80 : n), s, id);
		ret = -EINVAL;
		goto out;
	}
	s = NULL;
	ret = get_str(root, "bundle", &s, &blen, state_path);
	if (ret == -EINVAL)
		goto out;
	if (ret == -ENOENT && json_object_object_get_ex(root, "config", &cfg) &&
	    json_object_is_type(cfg, json_type_object) &&
	    json_object_object_get_ex(cfg, "labels", &labels) &&
	    json_object_is_type(labels, json_type_array)) {
		size_t k = json_object_array_length(labels);

		for (size_t i = 0; i < k; i++) {
			struct json_object *e = json_object_array_get_idx(labels, i);
			const char *l;

			if (!json_object_is_type(e, json_type_string))
				continue;
			l = json_object_get_string(e);
			if (!strncmp(l, "bundle=", 7) &&
			    strlen(l) == (size_t)json_object_get_string_len(e)) {
				s = l + 7;
				blen = strlen(s);
				ret = 0;
				break;
			}
		}
	}
	if (ret) {
		pr_err(SUB, "%s: names no bundle directory", state_path);
		ret = -EINVAL;
		goto out;
	}
	if (s[0] != '/') {
		pr_err(SUB, "%s: bundle \"%.*s\" is not an absolute path", state_path,
		       (int)(blen > 200 ? 200 : blen), s);
		ret = -EINVAL;
		goto out;
	}
	ret = fmt_path(config, len, "%s/config.json", s);
	if (ret)
		goto out;
	if (!is_file(config)) {
		pr_err(SUB, "%s: bundle %s has no config.json", state_path, s);
		ret = -ENOENT;
	}
out:
	json_object_put(root);
	free(buf);
	return ret;
}

/* <root>/<ns>/<id>/<leaf> for every namespace directory; 0 and @out when found. */
static int each_namespace(const char *root, const char *id, const char *leaf, char *out,
			  size_t len, bool state)
{
	struct dirent *de;
	unsigned int seen = 0;
	int ret = -ENOENT, err = -ENOENT;
	DIR *d;

	d = opendir(root);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d)) && seen++ < MAX_NAMESPACES) {
		char p[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		if (fmt_path(p, sizeof(p), "%s/%s/%s/%s", root, de->d_name, id, leaf))
			continue;
		if (!is_file(p))
			continue;
		if (state) {
			ret = state_bundle(p, id, out, len);
		} else {
			ret = strlen(p) < len ? 0 : -ENAMETOOLONG;
			if (!ret)
				strcpy(out, p);
		}
		if (!ret)
			break;
		if (err == -ENOENT)
			err = ret;
	}
	closedir(d);
	return ret ? err : 0;
}

static int find(const struct tcl_ocimeta_roots *r, const char *id, char *out, size_t len,
		const char **runtime)
{
	char p[PATH_MAX];
	int ret, err = -ENOENT;

	if (!r)
		r = &tcl_ocimeta_default_roots;
	if (!id || !is_id(id, strnlen(id, 65))) {
		pr_err(SUB, "container id \"%.80s\" is not 64 hex", id ? id : "(null)");
		return -EINVAL;
	}
	if (!out || !len)
		return -EINVAL;

#define TRY(expr, rt)						\
	do {							\
		ret = (expr);					\
		if (!ret) {					\
			*runtime = (rt);			\
			return 0;				\
		}						\
		if (err == -ENOENT)				\
			err = ret;				\
	} while (0)

	if (r->containerd_tasks && r->containerd_tasks[0])
		TRY(each_namespace(r->containerd_tasks, id, "config.json", out, len, false),
		    "containerd");
	if (r->crio_containers && r->crio_containers[0] &&
	    !fmt_path(p, sizeof(p), "%s/%s/userdata/config.json", r->crio_containers, id) &&
	    is_file(p))
		TRY(strlen(p) < len ? (strcpy(out, p), 0) : -ENAMETOOLONG, "cri-o");
	if (r->runc_root && r->runc_root[0] &&
	    !fmt_path(p, sizeof(p), "%s/%s/state.json", r->runc_root, id) && is_file(p))
		TRY(state_bundle(p, id, out, len), "runc");
	if (r->podman_containers && r->podman_containers[0] &&
	    !fmt_path(p, sizeof(p), "%s/%s/userdata/config.json", r->podman_containers, id) &&
	    is_file(p))
		TRY(strlen(p) < len ? (strcpy(out, p), 0) : -ENAMETOOLONG, "podman");
	if (r->containerd_runc && r->containerd_runc[0])
		TRY(each_namespace(r->containerd_runc, id, "state.json", out, len, true),
		    "containerd");
#undef TRY
	if (err == -ENOENT)
		pr_debug(SUB, "no bundle for container %s", id);
	return err;
}

int tcl_ocimeta_find_bundle(const struct tcl_ocimeta_roots *roots, const char *container_id,
			    char *config_path, size_t len)
{
	const char *rt;

	return find(roots, container_id, config_path, len, &rt);
}

int tcl_ocimeta_load(const struct tcl_ocimeta_roots *roots, const char *container_id,
		     struct tcl_container_meta *m)
{
	const char *rt = "";
	char path[PATH_MAX];
	int ret;

	if (!m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	ret = find(roots, container_id, path, sizeof(path), &rt);
	if (ret)
		return ret;
	ret = tcl_ocimeta_from_config(path, m);
	if (ret)
		return ret;
	if (m->container_id[0] && strcmp(m->container_id, container_id)) {
		pr_err(SUB, "%s: annotations name container %s, not %s", path, m->container_id,
		       container_id);
		memset(m, 0, sizeof(*m));
		return -EINVAL;
	}
	memcpy(m->container_id, container_id, 65);
	snprintf(m->runtime, sizeof(m->runtime), "%s", rt);
	return 0;
}

struct json_object *tcl_ocimeta_start_record(const struct tcl_container_meta *m)
{
	struct json_object *o, *args = NULL;
	int ret;

	if (!m) {
		errno = EINVAL;
		return NULL;
	}
	o = json_object_new_object();
	if (!o)
		goto nomem;
	ret = tcl_json_add_str_opt(o, "container_id", m->container_id) ?:
	      tcl_json_add_str_opt(o, "pod_uid", m->pod_uid) ?:
	      tcl_json_add_str_opt(o, "pod", m->pod) ?:
	      tcl_json_add_str_opt(o, "namespace", m->namespace_) ?:
	      tcl_json_add_str_opt(o, "container", m->container) ?:
	      tcl_json_add_str_opt(o, "sandbox_id", m->sandbox_id) ?:
	      (m->is_sandbox ? tcl_json_add_bool(o, "sandbox", true) : 0) ?:
	      tcl_json_add_str_opt(o, "image", m->image) ?:
	      tcl_json_add_str_opt(o, "image_digest", m->image_digest) ?:
	      tcl_json_add_str_opt(o, "image_id", m->image_id) ?:
	      tcl_json_add_str_opt(o, "runtime", m->runtime);
	if (ret)
		goto nomem;
	if (m->has_process) {
		uint32_t n = m->nargs < TCL_META_MAX_ARGS ? m->nargs : TCL_META_MAX_ARGS;

		args = json_object_new_array_ext((int)n);
		if (!args)
			goto nomem;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t off = m->arg_off[i];
			struct json_object *s;

			/* a hand-filled struct must not walk us off the buffer */
			if (off >= sizeof(m->args))
				break;
			s = json_object_new_string_len(m->args + off,
						       (int)strnlen(m->args + off,
								    sizeof(m->args) - off));
			if (tcl_json_push(args, s))
				goto nomem;
		}
		ret = tcl_json_add(o, "args", args);
		args = NULL;
		if (!ret)
			ret = tcl_json_add_str_opt(o, "env_sha256", m->env_sha256) ?:
			      tcl_json_add_str_opt(o, "cwd", m->cwd);
		if (!ret && m->has_user)
			ret = tcl_json_add_int(o, "uid", m->uid) ?:
			      tcl_json_add_int(o, "gid", m->gid);
		if (ret)
			goto nomem;
	}
	if (tcl_json_add_str_opt(o, "mounts_sha256", m->mounts_sha256))
		goto nomem;
	return o;
nomem:
	json_object_put(args);
	json_object_put(o);
	errno = ENOMEM;
	return NULL;
}
