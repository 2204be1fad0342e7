// SPDX-License-Identifier: GPL-2.0
/* tclctl k8s render|hook-spec: the Kubernetes side without a controller (docs/kubernetes.md).
 *
 *   k8s render [--base FILE] [--base-key KEY] [--base-name NAME] --trust-key PEM...
 *              [--golden-dir DIR] [--registry URL] [--auth-file F] [--ca-file PEM]
 *              [--timeout S] [--no-paths]
 *              [--format policy|configmap] [--name NAME] [--namespace NS] [-o FILE|-] FILE...
 *     Read TrustedImage objects (tcl.io/v1alpha1) as `kubectl get -o json` prints them: one
 *     object, or a List / TrustedImageList of them, per FILE ("-" is stdin); fetch each image's
 *     signed golden manifest (from --golden-dir, files named by the golden tag,
 *     "sha256-<hex>.tcl" and "sha256-<hex>.tcl.sig", else from the registry), check that it is
 *     signed by the object's spec.keyId (one of the --trust-key public keys), that it describes
 *     spec.image's digest and, if given, that its SHA-256 is spec.golden.sha256; then write the
 *     agent's policy (policy.h, version 1): the base policy's "allow" and "images" plus one
 *     "images" entry per TrustedImage, keyed by spec.image, its distinct file digests sorted.
 *     --base is a policy JSON file or a ConfigMap (JSON) whose data[KEY] (default
 *     "policy.json") is one; in a List of several objects, the ConfigMap named NAME (default
 *     tcl-policy-base).  --format configmap wraps the policy in a ConfigMap named NAME
 *     (default tcl-policy) in NS (default tcl-system), refused over the 1 MiB ConfigMap limit.
 *     Nothing is written unless every object checks out; the output is deterministic.
 *   k8s hook-spec --hook PATH [--stage STAGE] [--timeout S] [--remove] [-o FILE|-] [SPEC|-]
 *     Add (or with --remove take out) the OCI hook {"path":PATH,"args":[basename,STAGE]} in
 *     hooks.STAGE (default createRuntime) of the OCI runtime spec SPEC (default stdin): the
 *     base_runtime_spec that containerd's CRI plugin starts every container from.  A hook with
 *     the same path is replaced, so running it twice gives the same bytes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "cmds.h"
#include "diag.h"
#include "fileio.h"
#include "golden.h"
#include "hexb64.h"
#include "jsonb.h"
#include "policy.h"
#include "registry.h"

#define SUB "k8s"
#define K8S_API_VERSION "tcl.io/v1alpha1"
#define K8S_MAX_INPUT (16u << 20)	/* one input file */
#define K8S_MAX_OBJECTS 10000u		/* TrustedImage objects in one render */
#define K8S_CONFIGMAP_MAX 1048576u	/* the API server's limit on a ConfigMap's data */
#define SPEC_MAX (1u << 20)
#define MAX_TRUST_KEYS 64
#define NAME_MAX_LEN 253
#define IMAGE_MAX_LEN 512
#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
			JSON_C_TO_STRING_NOSLASHESCAPE)

/* ---------------------------------------------------------------- input */

static bool is_one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

/* One JSON object per input, as `kubectl get -o json` prints it; its text in *text when
 * @text is not NULL.  Logs its own error. */
static int read_object(const char *path, json_object **out, char **text, size_t *tlen)
{
	const char *origin = strcmp(path, "-") ? path : "stdin";
	char *buf = NULL;
	size_t len, i = 0;
	int rc;

	*out = NULL;
	rc = ctl_read_input(NULL, path, K8S_MAX_INPUT, &buf, &len);
	if (rc)
		return rc;
	while (i < len && strchr(" \t\r\n", buf[i]))
		i++;
	if (i == len || buf[i] != '{') {
		pr_err(SUB, "%s: not a JSON object: give what `kubectl get ... -o json` prints",
		       origin);
		rc = -EINVAL;
	} else {
		rc = tcl_json_parse(origin, buf, len, K8S_MAX_INPUT, out);
	}
	if (!rc && text) {
		*text = buf;
		*tlen = len;
		buf = NULL;
	}
	free(buf);
	return rc;
}

/* The items of a List (kind List or <Kind>List, as kubectl get prints several objects), else
 * NULL with 0.  -EINVAL for a list without an items array. */
static int list_items(const char *origin, json_object *o, json_object **items)
{
	json_object *kind;
	const char *k;
	size_t n;

	*items = NULL;
	if (!json_object_object_get_ex(o, "kind", &kind) ||
	    !json_object_is_type(kind, json_type_string))
		return 0;
	k = json_object_get_string(kind);
	n = strlen(k);
	if (n < 4 || strcmp(k + n - 4, "List"))
		return 0;
	if (!json_object_object_get_ex(o, "items", items) ||
	    !json_object_is_type(*items, json_type_array)) {
		pr_err(SUB, "%s: a %s without an items array", origin, k);
		*items = NULL;
		return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- TrustedImage */

struct trust_key {
	const char *path;
	char keyid[65];
};

struct render {
	const char *golden_dir;
	struct ctl_registry reg;
	struct trust_key keys[MAX_TRUST_KEYS];
	size_t n_keys;
	bool no_paths;
};

struct trusted_image {
	char where[600];	/* "FILE: TrustedImage NAME" for messages */
	const char *name;
	const char *image;
	struct tcl_ref ref;
	const char *keyid;
	const char *golden_ref;	/* NULL: beside the image */
	const char *golden_sha256;
};

/* One images entry of the policy being built. */
struct img_set {
	char *key;
	char *from;	/* where[] of the object that gave it */
	struct tcl_policy_entry *e;
	size_t n;
};

struct img_sets {
	struct img_set *v;
	size_t n, cap;
};

__attribute__((format(printf, 2, 3))) static int ti_fail(const struct trusted_image *t,
							 const char *fmt, ...)
{
	char what[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pr_err(SUB, "%s: %s", t->where, what);
	return -EINVAL;
}

/* A DNS subdomain (RFC 1123), as object names are. */
static bool is_dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
		bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if (!alnum && (edge || (s[i] != '-' && s[i] != '.')))
			return false;
	}
	return true;
}

/* obj[key] as a string, or NULL (absent).  -EINVAL when present but not a string. */
static int get_str(const struct trusted_image *t, json_object *obj, const char *key,
		   const char *path, size_t max, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return ti_fail(t, "%s must be a string", path);
	if ((size_t)json_object_get_string_len(v) > max)
		return ti_fail(t, "%s is longer than %zu characters", path, max);
	*out = json_object_get_string(v);
	return 0;
}

static int only_keys(const struct trusted_image *t, json_object *obj, const char *path,
		     const char *const *allowed)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (!is_one_of(key, allowed))
			return ti_fail(t, "unknown field %s.%.100s", path, key);
	}
	return 0;
}

/* The rules of deploy/01-crd-trustedimage.yaml's schema, checked again here: the input need not
 * have come through an API server. */
static int ti_parse(json_object *o, const char *origin, size_t idx, struct trusted_image *t)
{
	static const char *const top_keys[] = { "apiVersion", "kind", "metadata", "spec", "status",
						NULL };
	static const char *const spec_keys[] = { "image", "keyId", "golden", NULL };
	static const char *const golden_keys[] = { "reference", "sha256", NULL };
	const char *api = NULL, *kind = NULL;
	json_object *meta, *spec, *golden;
	char tag[80];
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->where, sizeof(t->where), "%s: object %zu", origin, idx + 1);
	if (!json_object_is_type(o, json_type_object))
		return ti_fail(t, "not an object");
	if ((rc = get_str(t, o, "apiVersion", "apiVersion", 100, &api)) ||
	    (rc = get_str(t, o, "kind", "kind", 100, &kind)))
		return rc;
	if (!kind || strcmp(kind, "TrustedImage"))
		return ti_fail(t, "kind is %s%.100s%s, want TrustedImage", kind ? "\"" : "",
			       kind ? kind : "missing", kind ? "\"" : "");
	if (!api || strcmp(api, K8S_API_VERSION))
		return ti_fail(t, "apiVersion is %s%.100s%s, want %s", api ? "\"" : "",
			       api ? api : "missing", api ? "\"" : "", K8S_API_VERSION);
	rc = only_keys(t, o, "TrustedImage", top_keys);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(o, "metadata", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		return ti_fail(t, "metadata must be an object");
	rc = get_str(t, meta, "name", "metadata.name", NAME_MAX_LEN, &t->name);
	if (rc)
		return rc;
	if (!t->name || !*t->name)
		return ti_fail(t, "metadata.name is missing");
	if (!is_dns_subdomain(t->name))
		return ti_fail(t, "metadata.name \"%s\" is not a DNS subdomain name", t->name);
	snprintf(t->where, sizeof(t->where), "%s: TrustedImage %s", origin, t->name);
	if (!json_object_object_get_ex(o, "spec", &spec) ||
	    !json_object_is_type(spec, json_type_object))
		return ti_fail(t, "spec must be an object");
	if ((rc = only_keys(t, spec, "spec", spec_keys)) ||
	    (rc = get_str(t, spec, "image", "spec.image", IMAGE_MAX_LEN, &t->image)) ||
	    (rc = get_str(t, spec, "keyId", "spec.keyId", 64, &t->keyid)))
		return rc;
	if (!t->image)
		return ti_fail(t, "spec.image is missing");
	if (tcl_ref_parse(t->image, &t->ref) || !t->ref.digest[0] || t->ref.scheme[0])
		return ti_fail(t, "spec.image \"%s\" is not [HOST/]REPO[:TAG]@sha256:<64 hex>",
			       t->image);
	if (!t->keyid || strlen(t->keyid) != 64 || !tcl_is_hex(t->keyid, 64))
		return ti_fail(t, "spec.keyId must be 64 lowercase hex digits (the signing key's "
			       "id, `tclctl golden keygen` prints it)");
	if (json_object_object_get_ex(spec, "golden", &golden)) {
		if (!json_object_is_type(golden, json_type_object))
			return ti_fail(t, "spec.golden must be an object");
		if ((rc = only_keys(t, golden, "spec.golden", golden_keys)) ||
		    (rc = get_str(t, golden, "reference", "spec.golden.reference", IMAGE_MAX_LEN,
				  &t->golden_ref)) ||
		    (rc = get_str(t, golden, "sha256", "spec.golden.sha256", 64,
				  &t->golden_sha256)))
			return rc;
		if (t->golden_sha256 && (strlen(t->golden_sha256) != 64 || !tcl_is_hex(t->golden_sha256, 64)))
			return ti_fail(t, "spec.golden.sha256 must be 64 lowercase hex digits");
		if (t->golden_ref) {
			struct tcl_ref g;

			tcl_golden_tag(t->ref.digest, tag);
			if (tcl_ref_parse(t->golden_ref, &g) || g.digest[0] || g.scheme[0] ||
			    strcmp(g.tag, tag))
				return ti_fail(t, "spec.golden.reference \"%s\" is not "
					       "[HOST/]REPO:%s", t->golden_ref, tag);
		}
	}
	return 0;
}

static int fetch_registry(const struct render *r, const struct trusted_image *t, char **man,
			  size_t *mlen, char **sig, size_t *slen)
{
	struct tcl_registry *reg = NULL;
	struct tcl_ref where = t->ref;
	char url[300];
	int rc;

	if (t->golden_ref)
		tcl_ref_parse(t->golden_ref, &where);
	if (r->reg.registry)
		snprintf(url, sizeof(url), "%s", r->reg.registry);
	else if (where.host[0])
		snprintf(url, sizeof(url), "%s", where.host);
	else
		return ti_fail(t, "%s names no registry host: give --registry URL or --golden-dir",
			       t->golden_ref ? "spec.golden.reference" : "spec.image");
	rc = tcl_registry_open(url, &r->reg.o, &reg);
	if (rc)
		return ti_fail(t, "cannot use registry %s: %s", url, strerror(-rc));
	rc = tcl_golden_pull(reg, where.repo, t->ref.digest, (void **)man, mlen, (void **)sig,
			     slen);
	/* The registry module has said why; this names the object it was for. */
	if (rc)
		ti_fail(t, "no golden manifest for %s from %s", t->image, tcl_registry_url(reg));
	tcl_registry_close(reg);
	return rc;
}

static int fetch_dir(const struct render *r, const struct trusted_image *t, char **man,
		     size_t *mlen, char **sig, size_t *slen)
{
	char tag[80], path[PATH_MAX];
	int rc;

	tcl_golden_tag(t->ref.digest, tag);
	snprintf(path, sizeof(path), "%s/%s", r->golden_dir, tag);
	rc = tcl_read_file(path, TCL_GOLDEN_MAX_BYTES, man, mlen);
	if (rc)
		return ti_fail(t, "golden manifest %s: %s", path,
			       rc == -EFBIG ? "too large" : strerror(-rc));
	snprintf(path, sizeof(path), "%s/%s.sig", r->golden_dir, tag);
	rc = tcl_read_file(path, TCL_GOLDEN_MAX_SIG_BYTES, sig, slen);
	if (rc) {
		free(*man);
		*man = NULL;
		return ti_fail(t, "signature %s: %s", path,
			       rc == -EFBIG ? "too large" : strerror(-rc));
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct tcl_policy_entry *x = a, *y = b;
	int c = memcmp(x->sha256, y->sha256, 32);

	if (c || !x->path || !y->path)
		return c;
	return strcmp(x->path, y->path);
}

static void free_entries(struct tcl_policy_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].path);
	free(e);
}

/* The golden manifest's distinct digests, sorted, each with the first path (bytewise) that has
 * it unless no_paths. */
static int golden_entries(const struct tcl_golden *g, bool no_paths,
			  struct tcl_policy_entry **out, size_t *n_out)
{
	struct tcl_policy_entry *e = calloc(g->nfiles + 1, sizeof(*e));
	size_t n = 0;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < g->nfiles; i++)
		memcpy(e[i].sha256, g->files[i].sha256, 32);
	if (!no_paths)
		for (size_t i = 0; i < g->nfiles; i++)
			e[i].path = g->files[i].path; /* borrowed until deduplicated */
	qsort(e, g->nfiles, sizeof(*e), cmp_entry);
	for (size_t i = 0; i < g->nfiles; i++) {
		if (n && !memcmp(e[n - 1].sha256, e[i].sha256, 32))
			continue;
		e[n++] = e[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (!e[i].path)
			continue;
		e[i].path = strdup(e[i].path);
		if (!e[i].path) {
			for (size_t j = i + 1; j < n; j++)
				e[j].path = NULL;
			free_entries(e, n);
			return -ENOMEM;
		}
	}
	*out = e;
	*n_out = n;
	return 0;
}

static int sets_add(struct img_sets *s, const char *key, const char *from,
		    const struct tcl_policy_entry *e, size_t n)
{
	struct img_set *ns = NULL;
	int rc = -ENOMEM;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		ns = realloc(s->v, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		s->v = ns;
		s->cap = cap;
	}
	ns = &s->v[s->n];
	memset(ns, 0, sizeof(*ns));
	ns->key = strdup(key);
	ns->from = strdup(from);
	ns->e = calloc(n + 1, sizeof(*ns->e));
	if (!ns->key || !ns->from || !ns->e)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		memcpy(ns->e[i].sha256, e[i].sha256, 32);
		if (e[i].path) {
			ns->e[i].path = strdup(e[i].path);
			if (!ns->e[i].path) {
				ns->n = i;
				goto fail;
			}
		}
	}
	ns->n = n;
	s->n++;
	return 0;
fail:
	free(ns->key);
	free(ns->from);
	free_entries(ns->e, ns->n);
	return rc;
}

static void sets_free(struct img_sets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].from);
		free_entries(s->v[i].e, s->v[i].n);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int render_one(const struct render *r, const struct trusted_image *t, struct img_sets *s)
{
	const struct trust_key *k = NULL;
	struct tcl_policy_entry *e = NULL;
	struct tcl_golden *g = NULL;
	char *man = NULL, *sig = NULL, keyid[65] = "", key[IMAGE_MAX_LEN + 80];
	size_t mlen = 0, slen = 0, n = 0;
	int rc;

	for (size_t i = 0; i < r->n_keys; i++)
		if (!strcmp(r->keys[i].keyid, t->keyid))
			k = &r->keys[i];
	if (!k)
		return ti_fail(t, "spec.keyId %s is not the id of any --trust-key", t->keyid);
	rc = r->golden_dir ? fetch_dir(r, t, &man, &mlen, &sig, &slen) :
			     fetch_registry(r, t, &man, &mlen, &sig, &slen);
	if (rc)
		goto out;
	rc = tcl_golden_verify(k->path, man, mlen, sig, slen, keyid);
	if (rc) {
		ti_fail(t, "golden manifest signature: %s",
			rc == -EKEYREJECTED ? "signed by another key than spec.keyId" :
			rc == -EBADMSG	    ? "does not match the manifest (tampered?)" :
					      "malformed signature or key");
		goto out;
	}
	rc = tcl_golden_parse(man, mlen, &g);
	if (rc) {
		ti_fail(t, "golden manifest is malformed: %s", strerror(-rc));
		goto out;
	}
	if (strcmp(g->manifest_digest, t->ref.digest) &&
	    (!g->index_digest[0] || strcmp(g->index_digest, t->ref.digest))) {
		rc = ti_fail(t, "golden manifest describes image %s, not %s", g->manifest_digest,
			     t->ref.digest);
		goto out;
	}
	if (t->golden_sha256 && strcmp(t->golden_sha256, g->sha256)) {
		rc = ti_fail(t, "golden manifest sha256 is %s, spec.golden.sha256 pins %s",
			     g->sha256, t->golden_sha256);
		goto out;
	}
	rc = golden_entries(g, r->no_paths, &e, &n);
	if (rc)
		goto out;
	rc = sets_add(s, t->image, t->where, e, n);
	/* Pods may name an image index; a node runs its platform's manifest. */
	if (!rc && !strcmp(g->index_digest, t->ref.digest)) {
		snprintf(key, sizeof(key), "%s%s%s@%s", t->ref.host, t->ref.host[0] ? "/" : "",
			 t->ref.repo, g->manifest_digest);
		rc = sets_add(s, key, t->where, e, n);
	}
	if (!rc)
		pr_info(SUB, "%s: %s: %zu digests, signed by %.16s", t->where, t->image, n,
			keyid);
out:
	free_entries(e, n);
	tcl_golden_free(g);
	free(man);
	free(sig);
	return rc;
}

static int cmp_set(const void *a, const void *b)
{
	return strcmp(((const struct img_set *)a)->key, ((const struct img_set *)b)->key);
}

static bool same_entries(const struct img_set *a, const struct img_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->e[i].sha256, b->e[i].sha256, 32))
			return false;
	return true;
}

/* Sort by key; a key given twice must name the same digests (then one is kept). */
static int sets_dedup(struct img_sets *s)
{
	size_t n = 0;

	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_set);
	for (size_t i = 0; i < s->n; i++) {
		if (n && !strcmp(s->v[n - 1].key, s->v[i].key)) {
			if (!same_entries(&s->v[n - 1], &s->v[i])) {
				pr_err(SUB, "%s and %s both give image %s, with different golden "
				       "sets", s->v[n - 1].from, s->v[i].from, s->v[i].key);
				return -EINVAL;
			}
			free(s->v[i].key);
			free(s->v[i].from);
			free_entries(s->v[i].e, s->v[i].n);
			continue;
		}
		s->v[n++] = s->v[i];
	}
	s->n = n;
	return 0;
}

static bool is_configmap(json_object *o, const char *name)
{
	json_object *k, *m, *n;

	return json_object_object_get_ex(o, "kind", &k) &&
	       json_object_is_type(k, json_type_string) &&
	       !strcmp(json_object_get_string(k), "ConfigMap") &&
	       json_object_object_get_ex(o, "metadata", &m) &&
	       json_object_object_get_ex(m, "name", &n) &&
	       json_object_is_type(n, json_type_string) && !strcmp(json_object_get_string(n), name);
}

/* --base: a policy file, or a ConfigMap holding one (alone, or in a List). */
static int load_base(const char *path, const char *data_key, const char *base_name,
		     struct tcl_policy **out)
{
	json_object *top = NULL, *items, *o, *v, *data;
	char *buf = NULL, err[1024], origin[PATH_MAX + 300];
	const char *text;
	size_t len;
	int rc;

	rc = read_object(path, &top, &buf, &len);
	if (rc)
		return rc;
	rc = list_items(path, top, &items);
	if (rc)
		goto out;
	rc = -EINVAL;
	o = top;
	if (items && json_object_array_length(items) == 1) {
		o = json_object_array_get_idx(items, 0);
	} else if (items) {
		/* Several objects (deploy/10-policy-configmap.yaml as kubectl prints it): the
		 * ConfigMap named base_name. */
		o = NULL;
		for (size_t i = 0; i < json_object_array_length(items); i++)
			if (is_configmap(json_object_array_get_idx(items, i), base_name))
				o = json_object_array_get_idx(items, i);
	}
	if (!o || !json_object_is_type(o, json_type_object)) {
		pr_err(SUB, "--base %s: want one policy object, one ConfigMap, or a ConfigMap named "
		       "%s among several objects", path, base_name);
		goto out;
	}
	if (!json_object_object_get_ex(o, "kind", &v)) {
		/* A plain policy file: parse its own text, for line numbers in messages. */
		if (o != top)
			goto out;
		rc = tcl_policy_parse(buf, len, path, out, err, sizeof(err));
		if (rc)
			pr_err(SUB, "--base %s", err);
		goto out;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "ConfigMap")) {
		pr_err(SUB, "--base %s: kind %s is not ConfigMap", path, json_object_get_string(v));
		goto out;
	}
	if (!json_object_object_get_ex(o, "data", &data) ||
	    !json_object_object_get_ex(data, data_key, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		pr_err(SUB, "--base %s: the ConfigMap has no data[\"%s\"] string", path, data_key);
		goto out;
	}
	text = json_object_get_string(v);
	snprintf(origin, sizeof(origin), "%s: data[\"%s\"]", path, data_key);
	rc = tcl_policy_parse(text, strlen(text), origin, out, err, sizeof(err));
	if (rc)
		pr_err(SUB, "--base %s", err);
out:
	json_object_put(top);
	free(buf);
	return rc;
}

/* base + rendered sets -> policy JSON text (checked by parsing it back). */
static int build_policy(struct tcl_policy *base, struct img_sets *s, char **text)
{
	struct tcl_policy_image *im;
	struct tcl_policy *check = NULL;
	size_t nb = base->n_images;
	char err[1024];
	int rc;

	for (size_t i = 0; i < s->n; i++)
		if (tcl_policy_image(base, s->v[i].key)) {
			pr_err(SUB, "image %s is in the base policy and in %s", s->v[i].key,
			       s->v[i].from);
			return -EINVAL;
		}
	im = realloc(base->images, (nb + s->n + 1) * sizeof(*im));
	if (!im)
		return -ENOMEM;
	base->images = im;
	/* Ownership of the sets moves into the policy. */
	for (size_t i = 0; i < s->n; i++) {
		im[nb + i] = (struct tcl_policy_image){ .name = s->v[i].key, .allow = s->v[i].e,
							.n_allow = s->v[i].n };
		s->v[i].key = NULL;
		s->v[i].e = NULL;
		s->v[i].n = 0;
	}
	base->n_images = nb + s->n;
	rc = tcl_policy_to_json(base, text);
	if (rc)
		return rc;
	rc = tcl_policy_parse(*text, strlen(*text), "rendered policy", &check, err, sizeof(err));
	if (rc) {
		pr_err(SUB, "%s (a bug: please report)", err);
		free(*text);
		*text = NULL;
	}
	tcl_policy_free(check);
	return rc;
}

/* The policy as a ConfigMap manifest (JSON, which kubectl applies as it does YAML). */
static int wrap_configmap(const char *policy, const char *name, const char *ns, size_t n_ti,
			  char **out)
{
	json_object *cm, *meta = NULL, *labels = NULL, *ann = NULL, *data = NULL;
	char hex[65], count[32];
	size_t len = strlen(policy);
	const char *s;
	int rc;

	*out = NULL;
	if (strlen("policy.json") + len > K8S_CONFIGMAP_MAX) {
		pr_err(SUB, "the policy is %zu bytes, over the %u-byte ConfigMap limit: try "
		       "--no-paths, or fewer TrustedImages per node pool", len,
		       K8S_CONFIGMAP_MAX);
		return -E2BIG;
	}
	if (tcl_sha256_hex(policy, len, false, hex))
		return -ENOMEM;
	snprintf(count, sizeof(count), "%zu", n_ti);
	/* Each container is attached as soon as it exists: one put frees everything. */
	cm = json_object_new_object();
	if (!cm)
		return -ENOMEM;
	rc = tcl_json_add_str(cm, "apiVersion", "v1");
	rc = rc ?: tcl_json_add_str(cm, "kind", "ConfigMap");
	rc = rc ?: tcl_json_add(cm, "metadata", meta = json_object_new_object());
	rc = rc ?: tcl_json_add_str(meta, "name", name);
	rc = rc ?: tcl_json_add_str(meta, "namespace", ns);
	rc = rc ?: tcl_json_add(meta, "labels", labels = json_object_new_object());
	rc = rc ?: tcl_json_add_str(labels, "app.kubernetes.io/name", "tcl");
	rc = rc ?: tcl_json_add_str(labels, "app.kubernetes.io/component", "policy");
	rc = rc ?: tcl_json_add(meta, "annotations", ann = json_object_new_object());
	rc = rc ?: tcl_json_add_str(ann, "tcl.io/policy-sha256", hex);
	rc = rc ?: tcl_json_add_str(ann, "tcl.io/trusted-images", count);
	rc = rc ?: tcl_json_add(cm, "data", data = json_object_new_object());
	rc = rc ?: tcl_json_add_str(data, "policy.json", policy);
	if (rc) {
		json_object_put(cm);
		return rc;
	}
	s = json_object_to_json_string_ext(cm, JSON_OUT_FLAGS);
	*out = s ? strdup(s) : NULL;
	json_object_put(cm);
	return *out ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- render */

static const char render_help[] =
	"usage: tclctl k8s render --trust-key PEM [--trust-key PEM...] [--base FILE]\n"
	"                         [--golden-dir DIR | --registry URL] [--format policy|configmap]\n"
	"                         [-o FILE|-] FILE...\n"
	"Render TrustedImage objects (tcl.io/v1alpha1) into the agent's policy.  Each FILE (- is\n"
	"stdin) is JSON as `kubectl get trustedimages -o json` prints it: one object or a List.\n"
	"For each object the image's golden manifest and signature are fetched, the signature\n"
	"checked against the --trust-key whose key id is spec.keyId, the manifest checked to\n"
	"describe spec.image's digest (and to hash to spec.golden.sha256 when given); its file\n"
	"digests become policy \"images\"[spec.image].  Nothing is written unless all pass.\n"
	"  --trust-key PEM         Ed25519 public key that may sign golden manifests (repeat)\n"
	"  --base FILE             policy JSON, or a ConfigMap (JSON) holding one, whose global\n"
	"                          \"allow\" list and \"images\" are kept (default: empty)\n"
	"  --base-key KEY          the ConfigMap data key of --base (default policy.json)\n"
	"  --base-name NAME        the ConfigMap to use when --base is a List of several objects\n"
	"                          (default tcl-policy-base, as in deploy/10-policy-configmap.yaml)\n"
	"  --golden-dir DIR        read DIR/sha256-<hex>.tcl and DIR/sha256-<hex>.tcl.sig instead\n"
	"                          of the registry (hex = the image manifest digest)\n"
	"  --registry URL          registry to pull golden manifests from (default: the host in\n"
	"                          spec.golden.reference or spec.image)\n"
	"  --auth-file FILE        registry credentials, one line user:password\n"
	"  --ca-file PEM           CA bundle for an https registry\n"
	"  --timeout SECONDS       per registry request (default 60)\n"
	"  --no-paths              leave out the informational file paths (smaller policy)\n"
	"  --format policy|configmap\n"
	"                          the policy JSON (default), or a ConfigMap manifest holding it\n"
	"                          as data[\"policy.json\"]\n"
	"  --name NAME             ConfigMap name (default tcl-policy)\n"
	"  --namespace NS          ConfigMap namespace (default tcl-system)\n"
	"  -o, --output FILE|-     where to write (atomically; default -, stdout)\n";

enum { OPT_TRUST_KEY = OPT_REGISTRY_LAST, OPT_BASE, OPT_BASE_KEY, OPT_GOLDEN_DIR, OPT_NO_PATHS,
       OPT_FORMAT, OPT_NAME, OPT_NAMESPACE, OPT_HOOK, OPT_STAGE, OPT_REMOVE, OPT_BASE_NAME };

/* Every TrustedImage of one input file, a List expanded. */
static int render_file(const struct render *r, const char *path, struct img_sets *s,
		       size_t *n_ti)
{
	json_object *top = NULL, *items = NULL;
	struct trusted_image t;
	size_t n;
	int rc;

	rc = read_object(path, &top, NULL, NULL);
	rc = rc ?: list_items(path, top, &items);
	n = items ? json_object_array_length(items) : 1;
	for (size_t i = 0; !rc && i < n; i++) {
		if (*n_ti >= K8S_MAX_OBJECTS) {
			pr_err(SUB, "more than %u TrustedImage objects", K8S_MAX_OBJECTS);
			rc = -E2BIG;
			break;
		}
		rc = ti_parse(items ? json_object_array_get_idx(items, i) : top, path, i, &t);
		rc = rc ?: render_one(r, &t, s);
		(*n_ti)++;
	}
	json_object_put(top);
	return rc;
}

static int k8s_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust-key", required_argument, NULL, OPT_TRUST_KEY },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "base-key", required_argument, NULL, OPT_BASE_KEY },
		{ "base-name", required_argument, NULL, OPT_BASE_NAME },
		{ "golden-dir", required_argument, NULL, OPT_GOLDEN_DIR },
		CTL_REGISTRY_LONGOPTS,
		{ "no-paths", no_argument, NULL, OPT_NO_PATHS },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "namespace", required_argument, NULL, OPT_NAMESPACE },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *base_path = NULL, *base_key = "policy.json", *format = "policy";
	const char *base_name = "tcl-policy-base";
	const char *name = "tcl-policy", *ns = "tcl-system", *out = "-";
	struct render *r = calloc(1, sizeof(*r));
	struct tcl_policy *base = NULL;
	struct img_sets sets = {};
	char *policy = NULL, *cm = NULL;
	size_t n_ti = 0;
	int c, rc = EXIT_USAGE;

	if (!r)
		return 1;
	while ((c = ctl_registry_getopt(&r->reg, argc, argv, "o:h", opts)) != -1) {
		switch (c) {
		case CTL_REGISTRY_BAD:
			goto out;
		case OPT_TRUST_KEY:
			if (r->n_keys == MAX_TRUST_KEYS) {
				pr_err(SUB, "at most %d --trust-key", MAX_TRUST_KEYS);
				goto out;
			}
			r->keys[r->n_keys++].path = optarg;
			break;
		case OPT_BASE:
			base_path = optarg;
			break;
		case OPT_BASE_KEY:
			base_key = optarg;
			break;
		case OPT_BASE_NAME:
			base_name = optarg;
			break;
		case OPT_GOLDEN_DIR:
			r->golden_dir = optarg;
			break;
		case OPT_NO_PATHS:
			r->no_paths = true;
			break;
		case OPT_FORMAT:
			format = optarg;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_NAMESPACE:
			ns = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(render_help, stdout);
			rc = 0;
			goto out;
		default:
			fputs(render_help, stderr);
			goto out;
		}
	}
	if (optind >= argc) {
		pr_err(SUB, "render: no TrustedImage files given (see --help)");
		goto out;
	}
	if (!r->n_keys) {
		pr_err(SUB, "render: give at least one --trust-key PEM");
		goto out;
	}
	if (strcmp(format, "policy") && strcmp(format, "configmap")) {
		pr_err(SUB, "--format is policy or configmap, not %s", format);
		goto out;
	}
	if (r->golden_dir && r->reg.registry) {
		pr_err(SUB, "--golden-dir and --registry exclude each other");
		goto out;
	}
	if (!*name || strlen(name) > NAME_MAX_LEN || !*ns || strlen(ns) > 63) {
		pr_err(SUB, "--name or --namespace is empty or too long");
		goto out;
	}
	rc = 1;
	for (size_t i = 0; i < r->n_keys; i++) {
		int err = tcl_golden_keyid(r->keys[i].path, r->keys[i].keyid);

		if (err) {
			pr_err(SUB, "--trust-key %s: %s", r->keys[i].path,
			       err == -EINVAL ? "not a PEM Ed25519 key" : strerror(-err));
			goto out;
		}
	}
	if (base_path) {
		if (load_base(base_path, base_key, base_name, &base))
			goto out;
	} else {
		base = calloc(1, sizeof(*base));
		if (!base)
			goto out;
		base->version = 1;
	}
	for (int i = optind; i < argc; i++)
		if (render_file(r, argv[i], &sets, &n_ti))
			goto out;
	if (sets_dedup(&sets) || build_policy(base, &sets, &policy))
		goto out;
	if (!strcmp(format, "configmap")) {
		if (wrap_configmap(policy, name, ns, n_ti, &cm))
			goto out;
	} else {
		cm = policy;
		policy = NULL;
	}
	{
		size_t len = strlen(cm);
		char *nl = realloc(cm, len + 2);

		if (!nl)
			goto out;
		cm = nl;
		memcpy(cm + len, "\n", 2);
		if (ctl_write_output(out, cm, len + 1))
			goto out;
	}
	if (strcmp(out, "-"))
		pr_info(SUB, "%zu TrustedImage objects rendered into %s", n_ti, out);
	rc = 0;
out:
	sets_free(&sets);
	tcl_policy_free(base);
	free(policy);
	free(cm);
	free(r);
	return rc;
}

/* ---------------------------------------------------------------- hook-spec */

static const char hook_help[] =
	"usage: tclctl k8s hook-spec --hook PATH [--stage STAGE] [--timeout S] [--remove]\n"
	"                            [-o FILE|-] [SPEC|-]\n"
	"Add the OCI hook {\"path\": PATH, \"args\": [basename PATH, STAGE]} to hooks.STAGE of\n"
	"the OCI runtime spec SPEC (default stdin), replacing any hook with the same path, and\n"
	"write the result (default stdout).  Made for containerd's base_runtime_spec; running it\n"
	"again on its own output changes nothing.  --remove takes the hook out instead.\n"
	"  --hook PATH        absolute path of the hook program (e.g. /usr/local/sbin/tcl-hook)\n"
	"  --stage STAGE      prestart|createRuntime|createContainer|startContainer|poststart|\n"
	"                     poststop (default createRuntime)\n"
	"  --timeout S        hook timeout in seconds, 1..3600 (default: none)\n"
	"  --remove           remove the hook with that path\n"
	"  -o, --output FILE  where to write (atomically; default -, stdout)\n";

static int spec_set_hook(json_object *spec, const char *hook, const char *stage, long timeout,
			 bool remove)
{
	json_object *hooks, *arr, *nu, *h, *args, *p;
	const char *base = strrchr(hook, '/') + 1;
	int rc = -ENOMEM;

	if (!json_object_object_get_ex(spec, "hooks", &hooks) || !hooks) {
		if (remove)
			return 0;
		hooks = json_object_new_object();
		if (tcl_json_add(spec, "hooks", hooks))
			return -ENOMEM;
	}
	if (!json_object_is_type(hooks, json_type_object)) {
		pr_err(SUB, "hooks is not an object");
		return -EINVAL;
	}
	if (json_object_object_get_ex(hooks, stage, &arr) && arr &&
	    !json_object_is_type(arr, json_type_array)) {
		pr_err(SUB, "hooks.%s is not an array", stage);
		return -EINVAL;
	}
	nu = json_object_new_array();
	if (!nu)
		return -ENOMEM;
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		h = json_object_array_get_idx(arr, i);
		if (json_object_is_type(h, json_type_object) &&
		    json_object_object_get_ex(h, "path", &p) &&
		    json_object_is_type(p, json_type_string) &&
		    !strcmp(json_object_get_string(p), hook))
			continue;
		if (json_object_array_add(nu, json_object_get(h))) {
			json_object_put(h);
			goto fail;
		}
	}
	if (!remove) {
		h = json_object_new_object();
		if (!h || json_object_array_add(nu, h)) {
			json_object_put(h);
			goto fail;
		}
		args = json_object_new_array();
		if (tcl_json_add_str(h, "path", hook) || tcl_json_add(h, "args", args) ||
		    tcl_json_push(args, json_object_new_string(base)) ||
		    tcl_json_push(args, json_object_new_string(stage)))
			goto fail;
		if (timeout && tcl_json_add(h, "timeout", json_object_new_int64(timeout)))
			goto fail;
	}
	if (!json_object_array_length(nu)) {
		json_object_put(nu);
		json_object_object_del(hooks, stage);
		if (!json_object_object_length(hooks))
			json_object_object_del(spec, "hooks");
		return 0;
	}
	return tcl_json_add(hooks, stage, nu);
fail:
	json_object_put(nu);
	return rc;
}

static int k8s_hook_spec(int argc, char **argv)
{
	static const char *const stages[] = { "prestart", "createRuntime", "createContainer",
					      "startContainer", "poststart", "poststop", NULL };
	static const struct option opts[] = { { "hook", required_argument, NULL, OPT_HOOK },
					      { "stage", required_argument, NULL, OPT_STAGE },
					      { "timeout", required_argument, NULL, OPT_TIMEOUT },
					      { "remove", no_argument, NULL, OPT_REMOVE },
					      { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	const char *hook = NULL, *stage = "createRuntime", *out = "-", *in = "-";
	json_object *spec = NULL, *v;
	char *buf = NULL, *text = NULL;
	const char *s;
	bool remove = false;
	size_t len;
	long timeout = 0;
	int c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HOOK:
			hook = optarg;
			break;
		case OPT_STAGE:
			stage = optarg;
			break;
		case OPT_TIMEOUT:
			if (ctl_parse_seconds(optarg, 3600, &timeout))
				return EXIT_USAGE;
			break;
		case OPT_REMOVE:
			remove = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(hook_help, stdout);
			return 0;
		default:
			fputs(hook_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (optind < argc || !hook || hook[0] != '/' || !hook[1] || strlen(hook) > PATH_MAX ||
	    hook[strlen(hook) - 1] == '/') {
		pr_err(SUB, "hook-spec needs --hook /ABSOLUTE/PATH and at most one SPEC "
		       "(see --help)");
		return EXIT_USAGE;
	}
	if (!is_one_of(stage, stages)) {
		pr_err(SUB, "unknown hook stage \"%s\"", stage);
		return EXIT_USAGE;
	}
	rc = 1;
	if (ctl_read_input(NULL, in, SPEC_MAX, &buf, &len) ||
	    tcl_json_parse(strcmp(in, "-") ? in : "stdin", buf, len, SPEC_MAX, &spec))
		goto out;
	if (!json_object_is_type(spec, json_type_object) ||
	    !json_object_object_get_ex(spec, "ociVersion", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		pr_err(SUB, "%s is not an OCI runtime spec (no \"ociVersion\")",
		       strcmp(in, "-") ? in : "stdin");
		goto out;
	}
	if (spec_set_hook(spec, hook, stage, timeout, remove))
		goto out;
	s = json_object_to_json_string_ext(spec, JSON_OUT_FLAGS);
	if (!s || asprintf(&text, "%s\n", s) < 0) {
		text = NULL;
		goto out;
	}
	if (ctl_write_output(out, text, strlen(text)))
		goto out;
	rc = 0;
out:
	json_object_put(spec);
	free(buf);
	free(text);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tclctl k8s render --trust-key PEM... [--base FILE] [OPTIONS] FILE...\n"
		"       tclctl k8s hook-spec --hook PATH [--stage STAGE] [--remove] [SPEC]\n"
		"render: TrustedImage objects -> the agent's policy (or a ConfigMap holding it)\n"
		"hook-spec: put tcl-hook into an OCI runtime spec (containerd base_runtime_spec)\n"
		"Each takes --help; docs/kubernetes.md tells how they fit the deployment.\n");
}

int tcl_cmd_k8s(int argc, char **argv)
{
	static const struct cmd verbs[] = {
		{ "render", k8s_render },
		{ "hook-spec", k8s_hook_spec },
		{ NULL, NULL },
	};

	return cmd_select(verbs, argv[0], argc - 1, argv + 1, usage);
}
