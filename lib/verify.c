// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "fileio.h"
#include "registry.h"
#include "util.h"
#include "verify.h"

struct tcl_verifier {
	struct tcl_verifier_opts o;
	char cache_dir[3072]; /* leaves room for a file name in PATH_MAX */
	char *keys[TCL_MAX_TRUST_KEYS]; /* PEM text */
	size_t key_len[TCL_MAX_TRUST_KEYS];
};

int tcl_verifier_new(const struct tcl_verifier_opts *o, struct tcl_verifier **out)
{
	struct tcl_verifier *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->o = *o;
	if (snprintf(v->cache_dir, sizeof(v->cache_dir), "%s",
		     o->cache_dir ? o->cache_dir : TCL_DEFAULT_GOLDEN_CACHE) >= (int)sizeof(v->cache_dir)) {
		free(v);
		return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < o->n_trust_keys && i < TCL_MAX_TRUST_KEYS; i++) {
		ret = tcl_read_file(o->trust_keys[i], 64 * 1024, &v->keys[i], &v->key_len[i]);
		if (ret) {
			pr_err("verify", "cannot read trust key %s: %s", o->trust_keys[i],
			       strerror(-ret));
			tcl_verifier_free(v);
			return ret;
		}
	}
	ret = tcl_mkdir_p(v->cache_dir, 0700);
	if (ret)
		pr_warn("verify", "no golden manifest cache in %s: %s", v->cache_dir, strerror(-ret));
	*out = v;
	return 0;
}

void tcl_verifier_free(struct tcl_verifier *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < TCL_MAX_TRUST_KEYS; i++)
		free(v->keys[i]);
	free(v);
}

void tcl_verify_result_free(struct tcl_verify_result *r)
{
	tcl_golden_free(r->golden);
	r->golden = NULL;
}

__attribute__((format(printf, 2, 3))) static int refuse(struct tcl_verify_result *r,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	r->verified = false;
	return 0;
}

static void cache_paths(struct tcl_verifier *v, const char *digest, char *man, char *sig)
{
	const char *hex = strchr(digest, ':') ? strchr(digest, ':') + 1 : digest;

	snprintf(man, PATH_MAX, "%s/%.64s.json", v->cache_dir, hex);
	snprintf(sig, PATH_MAX, "%s/%.64s.sig", v->cache_dir, hex);
}

/* Keep at most TCL_GOLDEN_CACHE_MAX manifests: drop the least recently written. */
static void cache_trim(struct tcl_verifier *v)
{
	char oldest[PATH_MAX] = "", p[PATH_MAX];
	time_t oldest_t = 0;
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(v->cache_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", v->cache_dir, de->d_name);
		if (stat(p, &st))
			continue;
		n++;
		if (!oldest[0] || st.st_mtime < oldest_t) {
			oldest_t = st.st_mtime;
			snprintf(oldest, sizeof(oldest), "%s", p);
		}
	}
	closedir(d);
	if (n > TCL_GOLDEN_CACHE_MAX && oldest[0]) {
		unlink(oldest);
		strcpy(oldest + strlen(oldest) - 5, ".sig");
		unlink(oldest);
	}
}

static int fetch(struct tcl_verifier *v, const struct tcl_ref *ref, const char *digest,
		 struct tcl_verify_result *r, char **man, size_t *man_len, char **sig,
		 size_t *sig_len)
{
	struct tcl_registry_opts ro = { .timeout_s = v->o.timeout_s ? v->o.timeout_s : 10 };
	struct tcl_registry *reg = NULL;
	char mp[PATH_MAX], sp[PATH_MAX];
	int ret;

	cache_paths(v, digest, mp, sp);
	if (tcl_read_file(mp, TCL_GOLDEN_MAX_BYTES, man, man_len) == 0 &&
	    tcl_read_file(sp, TCL_GOLDEN_MAX_SIG_BYTES, sig, sig_len) == 0)
		return 0;
	free(*man);
	*man = NULL;
	if (!v->o.registry_url)
		return refuse(r, "no golden manifest cached for %s and no registry configured",
			      digest), -ENOENT;
	ret = tcl_registry_open(v->o.registry_url, &ro, &reg);
	if (ret)
		return refuse(r, "bad registry %s", v->o.registry_url), ret;
	ret = tcl_golden_pull(reg, ref->repo, digest, (void **)man, man_len, (void **)sig,
			      sig_len);
	if (ret)
		refuse(r, "%s", tcl_registry_last_error(reg)[0] ? tcl_registry_last_error(reg) :
								  strerror(-ret));
	tcl_registry_close(reg);
	return ret;
}

static int resolve(struct tcl_verifier *v, const struct tcl_ref *ref, char *digest,
		   struct tcl_verify_result *r)
{
	struct tcl_registry_opts ro = { .timeout_s = v->o.timeout_s ? v->o.timeout_s : 10 };
	struct tcl_registry *reg = NULL;
	int ret;

	if (!v->o.registry_url)
		return refuse(r, "image %s has no digest and no registry is configured to resolve it",
			      ref->repo), -ENOENT;
	ret = tcl_registry_open(v->o.registry_url, &ro, &reg);
	if (ret)
		return refuse(r, "bad registry %s", v->o.registry_url), ret;
	ret = tcl_registry_resolve(reg, ref->repo, ref->tag[0] ? ref->tag : "latest", digest);
	if (ret)
		refuse(r, "cannot resolve %s:%s: %s", ref->repo, ref->tag[0] ? ref->tag : "latest",
		       tcl_registry_last_error(reg));
	tcl_registry_close(reg);
	return ret;
}

int tcl_verify_image(struct tcl_verifier *v, const char *image, const char *digest,
		     struct tcl_verify_result *r)
{
	char *man = NULL, *sig = NULL, mp[PATH_MAX], sp[PATH_MAX];
	size_t man_len = 0, sig_len = 0;
	struct tcl_golden *g = NULL;
	struct tcl_ref ref;
	int ret = -EKEYREJECTED;

	memset(r, 0, sizeof(*r));
	if (!image || !*image || tcl_ref_parse(image, &ref))
		return refuse(r, "no usable image reference (\"%s\")", image ? image : "");
	if (digest && *digest)
		snprintf(r->image_digest, sizeof(r->image_digest), "%s", digest);
	else if (ref.digest[0])
		snprintf(r->image_digest, sizeof(r->image_digest), "%s", ref.digest);
	else if (resolve(v, &ref, r->image_digest, r))
		return 0;
	else
		r->resolved_by_name = true;
	if (!tcl_digest_valid(r->image_digest))
		return refuse(r, "image digest \"%s\" is not sha256:<64 hex>", r->image_digest);

	if (fetch(v, &ref, r->image_digest, r, &man, &man_len, &sig, &sig_len))
		goto out;
	for (size_t i = 0; i < TCL_MAX_TRUST_KEYS && v->keys[i]; i++) {
		ret = tcl_golden_verify_pem(v->keys[i], v->key_len[i], man, man_len, sig, sig_len,
					    r->keyid);
		if (!ret)
			break;
	}
	if (ret) {
		refuse(r, "golden manifest of %s is not signed by a trusted key%s", r->image_digest,
		       v->keys[0] ? "" : " (no --trust-key given)");
		goto out;
	}
	if (tcl_golden_parse(man, man_len, &g)) {
		refuse(r, "golden manifest of %s is malformed", r->image_digest);
		goto out;
	}
	if (strcmp(g->manifest_digest, r->image_digest) && strcmp(g->index_digest, r->image_digest)) {
		refuse(r, "golden manifest is for %s, the image is %s", g->manifest_digest,
		       r->image_digest);
		goto out;
	}
	snprintf(r->manifest_sha256, sizeof(r->manifest_sha256), "%s", g->sha256);
	r->golden = g;
	g = NULL;
	r->verified = true;
	/* Only verified manifests are cached: the cache can never hold what was refused. */
	cache_paths(v, r->image_digest, mp, sp);
	if (access(mp, F_OK) && !tcl_write_file_atomic(sp, sig, sig_len, 0600) &&
	    !tcl_write_file_atomic(mp, man, man_len, 0600))
		cache_trim(v);
out:
	tcl_golden_free(g);
	free(man);
	free(sig);
	return 0;
}
