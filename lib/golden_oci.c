// SPDX-License-Identifier: GPL-2.0
/* The golden manifest as an OCI artifact beside its image (see registry.h), on the
 * distribution API of registry.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "http.h"
#include "jsonb.h"
#include "registry.h"

/* every message is logged and kept for tcl_registry_last_error */
#define seterr(reg, log, ...) tcl_registry_seterr(reg, __VA_ARGS__)

void tcl_golden_tag(const char *image_digest, char tag[80])
{
	snprintf(tag, 80, "sha256-%.64s.tcl", image_digest + 7);
}

static json_object *descriptor(const char *mt, const char *digest, size_t size, const char *title)
{
	json_object *d = json_object_new_object(), *ann = NULL;

	if (!d)
		return NULL;
	if (tcl_json_add_str(d, "mediaType", mt) ||
	    tcl_json_add_str(d, "digest", digest) ||
	    tcl_json_add_int(d, "size", (int64_t)size))
		goto fail;
	if (title && (!(ann = json_object_new_object()) ||
		      tcl_json_add_str(ann, "org.opencontainers.image.title", title) ||
		      tcl_json_add(d, "annotations", json_object_get(ann))))
		goto fail;
	json_object_put(ann);
	return d;
fail:
	json_object_put(ann);
	json_object_put(d);
	return NULL;
}

int tcl_golden_push(struct tcl_registry *reg, const char *repo, const char *image_digest,
		    const void *manifest, size_t manifest_len, const void *sig, size_t sig_len,
		    char artifact_digest_out[TCL_DIGEST_LEN + 1])
{
	const char *base = tcl_registry_url(reg);
	char tag[80], mdig[TCL_DIGEST_LEN + 1], sdig[TCL_DIGEST_LEN + 1], cdig[TCL_DIGEST_LEN + 1];
	json_object *img = NULL, *art = NULL, *layers = NULL, *v;
	void *imgdata = NULL;
	size_t imglen = 0;
	char *imgmt = NULL;
	const char *subject_mt, *text;
	int err;

	if ((err = tcl_registry_check(reg, repo, image_digest)))
		return err;
	if (manifest_len > TCL_GOLDEN_MAX || sig_len > TCL_GOLDEN_SIG_MAX) {
		seterr(reg, true, "golden manifest (%zu bytes, max %u) or signature (%zu, max %u) "
		       "too large", manifest_len, TCL_GOLDEN_MAX, sig_len, TCL_GOLDEN_SIG_MAX);
		return -EFBIG;
	}
	err = tcl_registry_get_manifest_ex(reg, repo, image_digest, &imgdata, &imglen, &imgmt, NULL,
					   true);
	if (err == -ENOENT)
		seterr(reg, true, "registry %s: image %s@%s is not in the registry; push the image "
		       "before its golden manifest", base, repo, image_digest);
	if (err)
		goto out;
	/* the subject descriptor's mediaType is the manifest's own, the header is a fallback */
	img = tcl_http_json_parse(imgdata, imglen);
	if (img && json_object_object_get_ex(img, "mediaType", &v) &&
	    json_object_is_type(v, json_type_string))
		subject_mt = json_object_get_string(v);
	else
		subject_mt = imgmt;
	if (!subject_mt || !tcl_http_header_safe(subject_mt, 255)) {
		seterr(reg, true, "registry %s: image %s@%s has no usable media type", base,
		       repo, image_digest);
		err = -EBADMSG;
		goto out;
	}
	if ((err = tcl_registry_push_blob(reg, repo, "{}", 2, cdig)) ||
	    (err = tcl_registry_push_blob(reg, repo, manifest, manifest_len, mdig)) ||
	    (err = tcl_registry_push_blob(reg, repo, sig, sig_len, sdig)))
		goto out;

	err = -ENOMEM;
	layers = json_object_new_array();
	art = json_object_new_object();
	if (!layers || !art)
		goto out;
	/* key order is insertion order, so the same inputs always give the same artifact */
	if (tcl_json_push(layers,
			  descriptor(TCL_MT_GOLDEN_MANIFEST, mdig, manifest_len, "golden.json")) ||
	    tcl_json_push(layers, descriptor(TCL_MT_GOLDEN_SIG, sdig, sig_len, "golden.sig")) ||
	    tcl_json_add_int(art, "schemaVersion", 2) ||
	    tcl_json_add_str(art, "mediaType", TCL_MT_OCI_MANIFEST) ||
	    tcl_json_add_str(art, "artifactType", TCL_MT_GOLDEN_CONFIG) ||
	    tcl_json_add(art, "config", descriptor(TCL_MT_GOLDEN_CONFIG, cdig, 2, NULL)) ||
	    tcl_json_add(art, "layers", json_object_get(layers)) ||
	    tcl_json_add(art, "subject", descriptor(subject_mt, image_digest, imglen, NULL)))
		goto out;
	text = json_object_to_json_string_ext(art, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		goto out;
	tcl_golden_tag(image_digest, tag);
	err = tcl_registry_put_manifest(reg, repo, tag, text, strlen(text), TCL_MT_OCI_MANIFEST,
					artifact_digest_out);
out:
	json_object_put(layers);
	json_object_put(art);
	json_object_put(img);
	free(imgdata);
	free(imgmt);
	return err;
}

/* the one layer of media type mt: digest and size, bounded by max */
static int find_layer(json_object *layers, const char *mt, size_t max, const char **digest,
		      size_t *size)
{
	size_t n = json_object_array_length(layers);
	int found = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_array_get_idx(layers, i), *v, *d, *s;
		int64_t sz;

		if (!json_object_object_get_ex(l, "mediaType", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), mt))
			continue;
		if (found++)
			return -EBADMSG;
		if (!json_object_object_get_ex(l, "digest", &d) ||
		    !json_object_is_type(d, json_type_string) ||
		    !tcl_digest_valid(json_object_get_string(d)) ||
		    !json_object_object_get_ex(l, "size", &s) ||
		    !json_object_is_type(s, json_type_int) ||
		    (sz = json_object_get_int64(s)) < 0)
			return -EINVAL;
		if ((uint64_t)sz > max)
			return -EFBIG;
		*digest = json_object_get_string(d);
		*size = (size_t)sz;
	}
	return found == 1 ? 0 : -EBADMSG;
}

int tcl_golden_pull(struct tcl_registry *reg, const char *repo, const char *image_digest,
		    void **manifest, size_t *manifest_len, void **sig, size_t *sig_len)
{
	const char *base = tcl_registry_url(reg);
	char tag[80], adig[TCL_DIGEST_LEN + 1];
	json_object *art = NULL, *v, *layers, *cfg, *subj;
	const char *mdig = NULL, *sdig = NULL;
	size_t msize = 0, ssize = 0;
	void *adata = NULL, *m = NULL, *s = NULL;
	size_t alen = 0, mlen = 0, slen = 0;
	int err;

	*manifest = *sig = NULL;
	*manifest_len = *sig_len = 0;
	if ((err = tcl_registry_check(reg, repo, image_digest)))
		return err;
	tcl_golden_tag(image_digest, tag);
	err = tcl_registry_get_manifest_ex(reg, repo, tag, &adata, &alen, NULL, adig, true);
	if (err == -ENOENT)
		seterr(reg, true, "registry %s: no golden manifest for %s@%s (tag %s not found)",
		       base, repo, image_digest, tag);
	if (err)
		goto out;
	err = -EBADMSG;
	art = tcl_http_json_parse(adata, alen);
	if (!art || !json_object_is_type(art, json_type_object) ||
	    !json_object_object_get_ex(art, "mediaType", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), TCL_MT_OCI_MANIFEST) ||
	    !json_object_object_get_ex(art, "config", &cfg) ||
	    !json_object_object_get_ex(cfg, "mediaType", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), TCL_MT_GOLDEN_CONFIG) ||
	    !json_object_object_get_ex(art, "layers", &layers) ||
	    !json_object_is_type(layers, json_type_array)) {
		seterr(reg, true, "registry %s: %s:%s (%s) is not a tcl golden manifest artifact",
		       base, repo, tag, adig);
		goto out;
	}
	if (json_object_object_get_ex(art, "subject", &subj) &&
	    (!json_object_object_get_ex(subj, "digest", &v) ||
	     !json_object_is_type(v, json_type_string) ||
	     strcmp(json_object_get_string(v), image_digest))) {
		seterr(reg, true, "registry %s: %s:%s names another image as its subject",
		       base, repo, tag);
		goto out;
	}
	if ((err = find_layer(layers, TCL_MT_GOLDEN_MANIFEST, TCL_GOLDEN_MAX, &mdig, &msize)) ||
	    (err = find_layer(layers, TCL_MT_GOLDEN_SIG, TCL_GOLDEN_SIG_MAX, &sdig, &ssize))) {
		seterr(reg, true, "registry %s: %s:%s: %s", base, repo, tag,
		       err == -EFBIG ? "golden manifest or signature larger than allowed" :
		       err == -EINVAL ? "layer descriptor without a valid digest and size" :
		       "artifact needs exactly one golden manifest and one signature layer");
		err = err == -EFBIG ? err : -EBADMSG;
		goto out;
	}
	if ((err = tcl_registry_get_blob(reg, repo, mdig, msize, &m, &mlen)) ||
	    (err = tcl_registry_get_blob(reg, repo, sdig, ssize, &s, &slen)))
		goto out;
	if (mlen != msize || slen != ssize) {
		seterr(reg, true, "registry %s: %s:%s: blob sizes differ from the artifact's",
		       base, repo, tag);
		err = -EBADMSG;
		goto out;
	}
	*manifest = m;
	*manifest_len = mlen;
	*sig = s;
	*sig_len = slen;
	m = s = NULL;
out:
	json_object_put(art);
	free(adata);
	free(m);
	free(s);
	return err;
}
