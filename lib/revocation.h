/* SPDX-License-Identifier: GPL-2.0 */
/* Revocations: image digests and golden-manifest signing keys an operator revoked at the
 * attestor.  The one format the attestor (API, state, evidence answer) and the agent (answer,
 * its state file) share:
 *
 *   entry: {"id":N,"kind":"image","digest":"sha256:<64 hex>","reason":"...","created":T}
 *          {"id":N,"kind":"key","fingerprint":"sha256:<64 hex>","reason":"...","created":T}
 *   list:  {"version":V,"entries":[entry...]}
 *
 * An image is named by its manifest digest (what a container's image_digest is); a key by its
 * fingerprint, "sha256:" + the key id of lib/golden.h (SHA-256 of the public key's DER
 * SubjectPublicKeyInfo, shown by `tclctl golden keygen|sign|verify|keyid`).  V grows with every
 * change of the list at the attestor, so an agent can tell a newer list from the one it holds.
 * Parsing is strict: unknown keys, a malformed digest, a reason over TCL_REVOKE_REASON_MAX bytes
 * or more than TCL_REVOKE_MAX entries are errors with a message. */
#ifndef TCL_REVOCATION_H
#define TCL_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCL_REVOKE_MAX		4096
#define TCL_REVOKE_REASON_MAX	256

struct json_object;

enum tcl_revoke_kind { TCL_REVOKE_IMAGE = 1, TCL_REVOKE_KEY = 2 };

struct tcl_revocation {
	uint64_t id;
	enum tcl_revoke_kind kind;
	char value[72];			/* "sha256:<64 hex>", lower case */
	char reason[TCL_REVOKE_REASON_MAX + 1];
	int64_t created;		/* unix seconds */
};

struct tcl_revocation_list {
	uint64_t version;
	size_t n;
	struct tcl_revocation *v;
};

const char *tcl_revoke_kind_name(enum tcl_revoke_kind k);	/* "image", "key" */

/* One entry.  @request: a POST body (no "id" nor "created" allowed; "reason" required);
 * otherwise a stored entry (id >= 1 and created required).  -EINVAL with @err filled. */
int tcl_revocation_from_json(struct json_object *o, bool request, struct tcl_revocation *r,
			     char *err, size_t errlen);
struct json_object *tcl_revocation_json(const struct tcl_revocation *r);

/* A list ({"version","entries"}); ids must be distinct.  On error the list is left empty. */
int tcl_revocation_list_from_json(struct json_object *o, struct tcl_revocation_list *l,
				  char *err, size_t errlen);
/* The same from text (at most 4 MiB). */
int tcl_revocation_list_parse(const char *buf, size_t len, struct tcl_revocation_list *l,
			      char *err, size_t errlen);
struct json_object *tcl_revocation_list_json(const struct tcl_revocation_list *l);
/* Canonical JSON of the list; *out malloc'd. */
int tcl_revocation_list_text(const struct tcl_revocation_list *l, char **out, size_t *len);
/* Append a copy (-ENOSPC past TCL_REVOKE_MAX). */
int tcl_revocation_list_add(struct tcl_revocation_list *l, const struct tcl_revocation *r);
/* Remove the entry with @id: 0 or -ENOENT. */
int tcl_revocation_list_del(struct tcl_revocation_list *l, uint64_t id);
void tcl_revocation_list_free(struct tcl_revocation_list *l);

/* The first entry that revokes an image with manifest digest @image_digest ("sha256:<hex>",
 * NULL or "" when unknown) verified by the key with id @keyid (64 hex or "sha256:<hex>", NULL or
 * "" when unknown or verified by the policy), NULL when none. */
const struct tcl_revocation *tcl_revocation_match(const struct tcl_revocation_list *l,
						   const char *image_digest, const char *keyid);

#endif
