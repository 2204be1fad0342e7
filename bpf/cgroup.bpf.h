/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Container lifecycle. A new cgroup whose name is a container's (the grammar of
 * lib/cgroup_grammar.h: kubelet, containerd, CRI-O, docker and podman naming, systemd or cgroupfs
 * driver) joins the scope here, in the kernel, before any process can run in it: user space
 * learns of it afterwards and only refines the entry (image set, attribution). A cgroup below one
 * already in scope never gets its own entry, so a container cannot give itself another identity
 * by naming its sub-cgroups.
 */
#ifndef TCL_CGROUP_BPF_H
#define TCL_CGROUP_BPF_H

#include "cgroup_grammar.h"

/* Is the cgroup directory kn named as a container is, by its name and its parent's? */
static __always_inline bool container_cgroup(struct kernfs_node *kn)
{
	struct tcl_cg_match m;
	struct tcl_cg_names *s;
	__u32 zero = 0;
	long len, plen;

	s = bpf_map_lookup_elem(&cg_scratch, &zero);
	if (!s)
		return false;
	len = bpf_probe_read_kernel_str(s->name, TCL_CG_NAME_MAX, BPF_CORE_READ(kn, name));
	if (len <= 1)
		return false;
	/* An unreadable parent name reads as "" (the helper zeroes the buffer on a fault). */
	plen = bpf_probe_read_kernel_str(s->parent, sizeof(s->parent),
					 BPF_CORE_READ(kn, parent, name));
	if (plen < 1)
		plen = 1;
	return tcl_cg_classify(s->name, len - 1, s->parent, plen - 1, &m) == TCL_CG_CONTAINER;
}

/*
 * Is any ancestor of cgrp in scope? Every level up to the root is looked at: a container that
 * nests its own cgroups deeper than any fixed window must not get a scope entry of its own
 * there (one per cgroup would fill the map). Deeper than TCL_MAX_CGROUP_LEVELS counts as in
 * scope: such a cgroup never gets an entry of its own.
 */
#define TCL_MAX_CGROUP_LEVELS 256

static __always_inline bool ancestor_in_scope(struct cgroup *cgrp)
{
	int level = BPF_CORE_READ(cgrp, level);
	unsigned long base = cgroup_ancestors_base(cgrp);

	if (level > TCL_MAX_CGROUP_LEVELS)
		return true;
	for (int i = 0; i < TCL_MAX_CGROUP_LEVELS; i++) {
		struct cgroup *anc = NULL;
		__u64 id;

		if (i >= level)
			break;
		if (bpf_probe_read_kernel(&anc, sizeof(anc), (void *)(base + i * sizeof(anc))) ||
		    !anc)
			return true;
		id = BPF_CORE_READ(anc, kn, id);
		if (bpf_map_lookup_elem(&tcl_scope, &id))
			return true;
	}
	return false;
}

static __always_inline int cgroup_mkdir(struct cgroup *cgrp, const char *path)
{
	struct tcl_config *cfg = get_config();
	struct tcl_scope_val sv = { .image_idx = 0, .flags = TCL_SCOPE_CONTAINER };
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);
	__u64 id;

	if (!cfg || !cfg->scope_containers || !kn)
		return 0;
	/*
	 * Container runtimes create container cgroups as host root, outside any scope. A user
	 * with a delegated subtree, anyone without CAP_SYS_ADMIN on the host, and a task in scope
	 * (root in a container with the host's cgroup tree mounted) get no entries: they could
	 * otherwise fill the scope map so that the next real container finds no room.
	 */
	if (!real_cap(bpf_get_current_task_btf(), CAP_SYS_ADMIN) || scope_entry_of_current(&sv))
		return 0;
	if (!container_cgroup(kn) || ancestor_in_scope(cgrp))
		return 0;
	id = BPF_CORE_READ(kn, id);
	if (bpf_map_update_elem(&tcl_scope, &id, &sv, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&tcl_scope, &id)) {
		/* Map full: the agent refuses this container at its hook (fail closed). */
		count(TCL_CNT_SCOPE_FULL);
		emit_cgroup(TCL_HOOK_CGROUP_MKDIR, id, path, TCL_REASON_SCOPE_FULL);
		return 0;
	}
	emit_cgroup(TCL_HOOK_CGROUP_MKDIR, id, path, TCL_REASON_NONE);
	return 0;
}

static __always_inline int cgroup_rmdir(struct cgroup *cgrp, const char *path)
{
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	struct tcl_scope_val *sv = bpf_map_lookup_elem(&tcl_scope, &id);

	if (!sv || !(sv->flags & TCL_SCOPE_CONTAINER))
		return 0;
	bpf_map_delete_elem(&tcl_scope, &id);
	emit_cgroup(TCL_HOOK_CGROUP_RMDIR, id, path, TCL_REASON_NONE);
	return 0;
}

#endif
