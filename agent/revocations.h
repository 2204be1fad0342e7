/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's revocations: the list the attestor sent in its last answer to evidence
 * (lib/revocation.h), and which golden-manifest key verified each image digest here (a key
 * revocation reaches the images that key vouched for).  Both persist in one state file, written
 * atomically on every change and read at start, so that a restarted agent applies them to the
 * containers it finds before it hears from the attestor again.
 *
 * State file (canonical JSON): {"version":1,"revocations":{"version":V,"entries":[...]},
 *                               "image_keys":{"sha256:<image>":"<key id>",...}}
 */
#ifndef TCL_AGENT_REVOKE_H
#define TCL_AGENT_REVOKE_H

#include <stdbool.h>
#include <stddef.h>

#include "revocation.h"

#define TCL_REVOKE_STATE "/var/lib/tcl/revocations.json"
#define TCL_REVOKE_IMAGE_KEYS_MAX 65536

struct tcl_arev;

/* Load @path (absent: empty).  A file that cannot be read or parsed: -EBADMSG (or -errno) with
 * @err saying why, and *out NULL. */
int tcl_arev_open(const char *path, struct tcl_arev **out, char *err, size_t errlen);
/* An empty set that saves to @path (what an agent starts with when it may not refuse). */
int tcl_arev_new(const char *path, struct tcl_arev **out);
void tcl_arev_free(struct tcl_arev *r);
const struct tcl_revocation_list *tcl_arev_list(const struct tcl_arev *r);

/* Image digest @image_digest was verified by the key with id @keyid (64 hex): remembered and
 * saved when new.  Either empty: nothing. */
int tcl_arev_remember_key(struct tcl_arev *r, const char *image_digest, const char *keyid);
/* The key id that verified @image_digest here, NULL if none is known. */
const char *tcl_arev_key_of(const struct tcl_arev *r, const char *image_digest);
/* The entry that revokes @image_digest (by its digest, or the key that verified it), or NULL. */
const struct tcl_revocation *tcl_arev_match(const struct tcl_arev *r, const char *image_digest);

/* Take @l (moved: the caller's copy is emptied) as the list in force.  1: it differs from the
 * one held (saved; a save failure is logged, the list applies anyway), 0: the same. */
int tcl_arev_update(struct tcl_arev *r, struct tcl_revocation_list *l);

#endif
