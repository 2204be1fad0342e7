/* SPDX-License-Identifier: GPL-2.0 */
/* OCI distribution client (registry.c, on the HTTP client of http.c) and the golden-manifest
 * artifact stored beside an image (golden_oci.c).
 *
 * Every function returns 0 (or the documented positive value) or -errno:
 *   -EINVAL bad argument/reference   -ENOENT manifest/blob/tag not in the registry
 *   -EACCES 401/403 (no or wrong credentials)   -ECONNREFUSED/-EHOSTUNREACH/-ETIMEDOUT network
 *   -EFBIG  response larger than its bound      -EBADMSG digest mismatch or malformed response
 *   -EPROTO TLS failure or unexpected HTTP status   -ENOMEM
 * Errors are logged once (subsystem "registry") and the same text is kept for
 * tcl_registry_last_error(), so a caller such as the hook can quote it in "NOT verified: ...".
 * Nothing the registry sends is trusted: every body is bounded, every digest is recomputed.
 * Auth: on a 401 the challenge decides: Basic retries with the credentials, Bearer fetches a
 * token from the realm (with the credentials, unless that would send them from https to http).
 * A struct tcl_registry is not thread safe; use one per thread. */
#ifndef TCL_REGISTRY_H
#define TCL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"	/* tcl_www_auth_parse */
#include "imageref.h"	/* tcl_ref_parse, tcl_digest_valid, TCL_DIGEST_LEN */

#define TCL_MANIFEST_MAX	(4u << 20)
#define TCL_GOLDEN_MAX		(64u << 20)	/* golden manifest blob */
#define TCL_GOLDEN_SIG_MAX	(64u << 10)	/* signature blob */

#define TCL_MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define TCL_MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define TCL_MT_DOCKER_MANIFEST	"application/vnd.docker.distribution.manifest.v2+json"
#define TCL_MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define TCL_MT_GOLDEN_CONFIG	"application/vnd.tcl.golden.config.v1+json"
#define TCL_MT_GOLDEN_MANIFEST	"application/vnd.tcl.golden.manifest.v1+json"
#define TCL_MT_GOLDEN_SIG	"application/vnd.tcl.golden.signature.v1"

/* ---- registry connection ---- */

struct tcl_registry_opts {
	const char *username;	/* NULL: auth_file, else env TCL_REGISTRY_AUTH, else none */
	const char *password;
	const char *auth_file;	/* one line "user:pass" */
	const char *ca_file;	/* CA bundle for https (default: system store) */
	long timeout_s;		/* whole request, default 60; blobs +1 s per 256 KiB;
				 * connecting gives up after min(5, timeout_s) */
};

struct tcl_registry;

/* url: "https://host[:port]", "http://host[:port]" or bare "host[:port]" (https, except loopback
 * hosts, which get http as docker does).  No request is made. */
int tcl_registry_open(const char *url, const struct tcl_registry_opts *opts,
		      struct tcl_registry **out);
void tcl_registry_close(struct tcl_registry *reg);
const char *tcl_registry_url(const struct tcl_registry *reg);
const char *tcl_registry_last_error(const struct tcl_registry *reg);


/* HEAD blob: 1 present (size in *size if non-NULL), 0 absent, -errno. */
int tcl_registry_blob_exists(struct tcl_registry *reg, const char *repo, const char *digest,
			     uint64_t *size);

/* Upload unless already present (POST uploads/ then one monolithic PUT ?digest=).  The digest is
 * computed here; digest_out (may be NULL) receives it. */
int tcl_registry_push_blob(struct tcl_registry *reg, const char *repo, const void *data,
			   size_t len, char digest_out[TCL_DIGEST_LEN + 1]);
/* Same from a file descriptor (read with pread, so the offset is untouched); digest is the
 * caller's claim and is checked against the content before anything is sent. */
int tcl_registry_push_blob_fd(struct tcl_registry *reg, const char *repo, int fd, uint64_t size,
			      const char *digest);

/* GET blob into a malloc'd buffer, at most max bytes, digest verified while streaming. */
int tcl_registry_get_blob(struct tcl_registry *reg, const char *repo, const char *digest,
			  size_t max, void **data, size_t *len);

/* PUT manifest under ref (a tag or a digest).  media_type NULL: the manifest's own "mediaType".
 * digest_out (may be NULL) receives the manifest digest. */
int tcl_registry_put_manifest(struct tcl_registry *reg, const char *repo, const char *ref,
			      const void *data, size_t len, const char *media_type,
			      char digest_out[TCL_DIGEST_LEN + 1]);

/* GET manifest by tag or digest (bounded by TCL_MANIFEST_MAX).  Fetched by digest, the content
 * must hash to it; fetched by tag, the registry's Docker-Content-Digest must match the content.
 * media_type (may be NULL) gets a malloc'd copy of the Content-Type, digest_out (may be NULL)
 * the content's digest; @quiet: a 404 goes to last_error only, so the caller can phrase it. */
int tcl_registry_get_manifest_ex(struct tcl_registry *reg, const char *repo, const char *ref,
				 void **data, size_t *len, char **media_type,
				 char digest_out[TCL_DIGEST_LEN + 1], bool quiet);

/* Tag -> manifest digest (HEAD, falling back to GET + hash when the registry sends no
 * Docker-Content-Digest). */
int tcl_registry_resolve(struct tcl_registry *reg, const char *repo, const char *tag,
			 char digest_out[TCL_DIGEST_LEN + 1]);

/* ---- for artifact code on top of the API (golden_oci.c) ---- */

/* -EINVAL (reported) unless @repo is a repository name and @digest (if not NULL) a digest. */
int tcl_registry_check(struct tcl_registry *reg, const char *repo, const char *digest);
/* Log a message and keep it for tcl_registry_last_error. */
void tcl_registry_seterr(struct tcl_registry *reg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- golden manifest artifact ----
 * Tag "sha256-<image hex>.tcl" in the image's repo holds an OCI image manifest:
 *   config  {} (2 bytes), mediaType TCL_MT_GOLDEN_CONFIG; artifactType TCL_MT_GOLDEN_CONFIG
 *   layers  [golden manifest, TCL_MT_GOLDEN_MANIFEST], [signature, TCL_MT_GOLDEN_SIG]
 *   subject the image manifest's descriptor (referrers API registries link it).
 * Debian's docker-registry 2.8.2 stores this as sent (artifactType and subject kept) but has no
 * referrers API, so the tag is what finds it.  The same inputs give the same artifact digest.
 * The image manifest must already be in the repo.  Manifest and signature are opaque bytes.
 * tcl_golden_pull: -ENOENT (logged as "no golden manifest ...") when the tag does not exist;
 * -EBADMSG when the artifact is malformed or its subject is another image. */
void tcl_golden_tag(const char *image_digest, char tag[80]);
int tcl_golden_push(struct tcl_registry *reg, const char *repo, const char *image_digest,
		    const void *manifest, size_t manifest_len, const void *sig, size_t sig_len,
		    char artifact_digest_out[TCL_DIGEST_LEN + 1]);
int tcl_golden_pull(struct tcl_registry *reg, const char *repo, const char *image_digest,
		    void **manifest, size_t *manifest_len, void **sig, size_t *sig_len);

#endif
