/* SPDX-License-Identifier: GPL-2.0 */
/* Who is in scope: the scope map walked from the current task's cgroup up; capabilities. */
#ifndef TCL_SCOPE_BPF_H
#define TCL_SCOPE_BPF_H

/*
 * Does the task hold cap in the initial user namespace, by its real credentials? real_cred, not
 * cred: the kernel puts an opener's credentials in cred while a task writes through an fd that
 * someone else opened (cgroup.procs), and host root's fd must not lend its powers.
 */
static __always_inline bool real_cap(struct task_struct *task, int cap)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);

	if (BPF_CORE_READ(cred, user_ns, level))
		return false;
	return cred_effective_caps(cred) & (1ULL << cap);
}

/*
 * The scope entry of the current task: walks from its own cgroup up, so a scope entry covers
 * every cgroup below it. Returns the matching entry's cgroup id, 0 if none.
 */
static __always_inline __u64 scope_entry_of_current(struct tcl_scope_val *out)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_scope_val *sv;
	int level;

	level = BPF_CORE_READ(task, cgroups, dfl_cgrp, level);
	for (int i = 0; i < TCL_MAX_CGROUP_DEPTH; i++) {
		int lvl = level - i;
		__u64 id;

		if (lvl < 0)
			break;
		id = bpf_get_current_ancestor_cgroup_id(lvl);
		sv = bpf_map_lookup_elem(&tcl_scope, &id);
		if (sv) {
			*out = *sv;
			return id;
		}
	}
	return 0;
}

/* The scope entry of the current task, or 1 under --scope all, or 0 (out of scope). */
static __always_inline __u64 scope_of_current(struct tcl_config *cfg, struct tcl_scope_val *out)
{
	__u64 id = scope_entry_of_current(out);

	if (id)
		return id;
	if (cfg->scope_all) {
		out->image_idx = 0;
		out->flags = 0;
		return 1; /* the root cgroup's id: "everything" */
	}
	return 0;
}

#endif
