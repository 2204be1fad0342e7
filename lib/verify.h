/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Image verification, local mode (issue "golden values"): the image's signed golden manifest is
 * fetched from the registry that stores the image (tag sha256-<hex>.tcl beside it), its Ed25519
 * signature checked against the trusted keys, and its manifest digest compared with the image
 * digest. Verified manifests are cached on disk by image digest (bounded), so a node can verify
 * again without the registry.
 */
#ifndef TCL_VERIFY_H
#define TCL_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "golden.h"

#define TCL_DEFAULT_GOLDEN_CACHE "/var/lib/tcl/golden"
#define TCL_GOLDEN_CACHE_MAX 256 /* manifests kept on disk */
#define TCL_MAX_TRUST_KEYS 16

struct tcl_verifier_opts {
	const char *registry_url;   /* NULL: only the cache can verify */
	const char *trust_keys[TCL_MAX_TRUST_KEYS]; /* PEM files */
	size_t n_trust_keys;
	const char *cache_dir;	    /* NULL: TCL_DEFAULT_GOLDEN_CACHE */
	long timeout_s;		    /* registry requests; 0: 10 s */
};

struct tcl_verify_result {
	bool verified;
	char reason[512];	    /* why not, for "NOT verified: <reason>" */
	char image_digest[80];	    /* the digest that was verified */
	bool resolved_by_name;	    /* the digest came from resolving a tag in the registry */
	char manifest_sha256[65];   /* SHA-256 of the golden manifest bytes */
	char keyid[65];		    /* the trusted key that signed it */
	struct tcl_golden *golden;  /* parsed manifest when verified; freed by _result_free */
};

struct tcl_verifier;
int tcl_verifier_new(const struct tcl_verifier_opts *o, struct tcl_verifier **out);
void tcl_verifier_free(struct tcl_verifier *v);
/* Verify image (a reference) with digest (may be NULL or ""; then the reference's own digest,
 * else the tag resolved in the registry). Returns 0 with r->verified set either way, or -errno
 * for an internal failure (r->reason says what). */
int tcl_verify_image(struct tcl_verifier *v, const char *image, const char *digest,
		     struct tcl_verify_result *r);
void tcl_verify_result_free(struct tcl_verify_result *r);

#endif
