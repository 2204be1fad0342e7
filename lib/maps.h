/* SPDX-License-Identifier: GPL-2.0 */
/* Keeping the BPF allow and scope maps in step with the policy and the known cgroups. */
#ifndef TCL_MAPS_H
#define TCL_MAPS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf_loader.h"

/* Make the allow set of image_idx exactly digests[0..n): add new ones first, then remove stale
 * ones, so a digest present in both the old and new set is never briefly missing. */
int tcl_allow_sync(struct tcl_bpf *b, uint32_t image_idx, const uint8_t (*digests)[32], size_t n,
		   size_t *added, size_t *removed);
struct tcl_allow_set {
	uint32_t image_idx;
	const uint8_t (*digests)[32];
	size_t n;
};
/* The same for several sets (distinct indexes) at once, with one walk of the map. */
int tcl_allow_sync_sets(struct tcl_bpf *b, const struct tcl_allow_set *sets, size_t n_sets,
			size_t *added, size_t *removed);
int tcl_scope_add(struct tcl_bpf *b, uint64_t cgid, uint32_t image_idx, uint32_t flags);
int tcl_scope_del(struct tcl_bpf *b, uint64_t cgid);
/* The cgroup's own scope entry: 0, or -ENOENT. */
int tcl_scope_get(struct tcl_bpf *b, uint64_t cgid, struct tcl_scope_val *v);
/* Does the cgroup have a scope entry of its own? */
bool tcl_scope_has(struct tcl_bpf *b, uint64_t cgid);
/* Number of entries in the scope map, and of the allow set of image_idx. */
size_t tcl_scope_count(struct tcl_bpf *b);
size_t tcl_allow_count(struct tcl_bpf *b, uint32_t image_idx);

#endif
