/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which tasks are in scope (--scope), and what applies to each scope entry.
 *   all            every task
 *   cgroup:PATH    every task in the cgroup PATH (relative to the cgroup2 root) and below it
 *   containers     every container cgroup (kubelet, containerd, CRI-O, docker layouts)
 * Keeps the BPF scope map in step, and answers "which container is this scope entry".
 */
#ifndef TCL_SCOPE_H
#define TCL_SCOPE_H

#include <poll.h>
#include <stddef.h>

#include "bpf_loader.h"
#include "events.h"
#include "policy.h"

struct tcl_scope;

/* Parse the --scope argument; prints a clear error and returns -EINVAL on a bad one. */
int tcl_scope_new(const char *arg, const char *cgroup_root, struct tcl_scope **out);
void tcl_scope_free(struct tcl_scope *s);
/* Fill the scope map (removing entries a previous agent left that do not apply now) and set
 * cfg->scope_all. */
int tcl_scope_attach(struct tcl_scope *s, struct tcl_bpf *b, struct tcl_config *cfg);
/* Load the policy's per-image allow sets and point container scope entries at them. */
int tcl_scope_apply_images(struct tcl_scope *s, const struct tcl_policy *p, size_t *added,
			   size_t *removed);
/* Container attribution of a scope entry (all fields "" when not a known container). */
void tcl_scope_meta(struct tcl_scope *s, uint64_t scope_cgid, struct tcl_event_meta *m);
/* Lifecycle notifications (optional fd); handle() processes them. */
int tcl_scope_pollfds(struct tcl_scope *s, struct pollfd *fds, int max);
void tcl_scope_handle(struct tcl_scope *s);

#endif
