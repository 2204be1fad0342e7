/* SPDX-License-Identifier: GPL-2.0 */
/* What a revocation reaches: the containers the nodes reported (their image digests and the
 * key that signed the golden manifest that appraised them) that it revokes.  The API lists
 * them (GET /v1/revocations, GET /v1/revocations/{id}/affected); the list itself lives in the
 * state (state.h) and goes to every node with the answer to its evidence (protocol.c). */
#ifndef ATT_REVOKE_H
#define ATT_REVOKE_H

#include <stdbool.h>
#include <stddef.h>

#include "revocation.h"
#include "state.h"

struct json_object;

/* Does @r revoke container @c (its image digest, or the key that signed its manifest)? */
bool att_revocation_affects(const struct tcl_revocation *r, const struct att_container *c);
/* The containers of enrolled nodes @r revokes, running ones only unless @stopped:
 * {"nodes":N,"containers":[{"node","container","image","image_digest","golden_keyid",
 * "stopped"},...]} sorted by node then container, at most @max listed ("truncated": true
 * when more are). */
struct json_object *att_revocation_affected(struct att_state *st, const struct tcl_revocation *r,
					    bool stopped, size_t max);
/* Counts only: running containers and their nodes. */
void att_revocation_count(struct att_state *st, const struct tcl_revocation *r, size_t *nodes,
			  size_t *containers);

#endif
