/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which tasks are in scope (--scope), and what applies to each scope entry.
 *   all            every task
 *   cgroup:PATH    every task in the cgroup PATH (relative to the cgroup2 root) and below it
 *   containers     every container cgroup (kubelet, containerd, CRI-O, docker layouts): the
 *                  kernel adds new ones itself at cgroup mkdir; here they are attributed (pod,
 *                  container, image from the OCI bundle's CRI annotations) and pointed at the
 *                  allow set of their image.
 * Keeps the BPF scope map in step, and answers "which container is this scope entry".
 */
#ifndef TCL_SCOPE_H
#define TCL_SCOPE_H

#include <poll.h>
#include <stddef.h>

#include "bpf_loader.h"
#include "events.h"
#include "policy.h"
#include "revocation.h"

struct tcl_scope;

/* What the agent is told about a container: started (attributed) or stopped. */
struct tcl_container_view {
	uint64_t cgid;
	const char *cgroup_path;
	const char *runtime;
	uint32_t image_idx;
	struct tcl_event_meta meta;
	const char *start_record; /* canonical JSON of the start details, or NULL */
};
typedef void (*tcl_container_fn)(void *ctx, bool started, const struct tcl_container_view *c);

/* Parse the --scope argument; prints a clear error and returns -EINVAL on a bad one. */
int tcl_scope_new(const char *arg, const char *cgroup_root, struct tcl_scope **out);
void tcl_scope_free(struct tcl_scope *s);
void tcl_scope_on_container(struct tcl_scope *s, tcl_container_fn fn, void *ctx);
/*
 * Verification of the image of a container found already running (agent restart): 1 verified
 * (its allow set is loaded under its digest, written to @digest when the container had none),
 * 0 refused (it keeps the global allowlist only), -1 nothing to say (no verifier).
 */
typedef int (*tcl_reverify_fn)(void *ctx, const char *image, const char *digest, char *out,
			       size_t outlen);
void tcl_scope_on_reverify(struct tcl_scope *s, tcl_reverify_fn fn, void *ctx);
/* Fill the scope map (removing entries a previous agent left that do not apply now) and set
 * cfg->scope_all / scope_containers. Containers already running are attributed from their
 * runtime's state, their images verified again (tcl_scope_on_reverify) and reported started. */
int tcl_scope_attach(struct tcl_scope *s, struct tcl_bpf *b, struct tcl_config *cfg);
/* Load the policy's per-image allow sets and point container scope entries at them. */
int tcl_scope_apply_images(struct tcl_scope *s, const struct tcl_policy *p, size_t *added,
			   size_t *removed);
/* A cgroup mkdir/rmdir record from the kernel. */
void tcl_scope_cgroup_record(struct tcl_scope *s, const struct tcl_event *e);
/* Once a second: retry attribution of containers whose bundle was not readable yet. */
void tcl_scope_tick(struct tcl_scope *s);
/* Container attribution of a scope entry (all fields NULL when not a known container). */
void tcl_scope_meta(struct tcl_scope *s, uint64_t scope_cgid, struct tcl_event_meta *m);
size_t tcl_scope_containers(struct tcl_scope *s);

/* Revocations: @revoked_of says whether (by which entry) an image digest is revoked; a
 * container of a revoked image gets TCL_SCOPE_REVOKED in its scope entry (the kernel then
 * refuses every exec and executable mapping in it, enforce mode, or reports them, audit mode),
 * and each change of that (r NULL: lifted) is told to @on_applied. */
typedef const struct tcl_revocation *(*tcl_revoked_fn)(void *ctx, const char *image_digest);
typedef void (*tcl_revoke_applied_fn)(void *ctx, const struct tcl_container_view *c,
				      const struct tcl_revocation *r);
void tcl_scope_on_revoked(struct tcl_scope *s, tcl_revoked_fn revoked_of,
			  tcl_revoke_applied_fn on_applied, void *ctx);
/* After the revocations changed: every known container re-checked.  Returns how many
 * changed. */
size_t tcl_scope_apply_revocations(struct tcl_scope *s);

struct tcl_container_meta;
/* A verified image's allow set under key (its digest); *idx gets its index. */
int tcl_scope_set_image(struct tcl_scope *s, const char *key, const uint8_t (*digests)[32],
			size_t n, uint32_t *idx);
/* The index of the allow set that applies to an image (reference and/or digest), 0 if none. */
uint32_t tcl_scope_image_for(struct tcl_scope *s, const char *image, const char *digest);
/* A container being created (tcl-hook): track it whatever its cgroup name, attribute it from
 * its bundle, and point it at its image's set (allow_image) or at the global allowlist only. */
int tcl_scope_admit(struct tcl_scope *s, uint64_t cgid, const char *cgroup_path,
		    const struct tcl_container_meta *m, const char *image_digest, bool allow_image);

#endif
