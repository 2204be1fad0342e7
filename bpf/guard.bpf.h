/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Self-protection. Root in a container with CAP_SYS_ADMIN and CAP_BPF could otherwise unpin
 * tcl's links (which detaches the programs), open its maps and rewrite the allow sets, or move
 * itself into a cgroup outside the scope. The guard refuses, for guarded tasks:
 *   - an fd of a tcl map or program (by id, or BPF_OBJ_GET of its pin): bpf_map, bpf_prog;
 *   - BPF_LINK_GET_FD_BY_ID of a tcl link, BPF_LINK_DETACH/UPDATE of one: bpf;
 *   - opening (or BPF_OBJ_GET of) the pin dir or a pin: inode_permission;
 *   - unlinking or renaming the pin dir or a pin: inode_unlink, inode_rename;
 *   - writing to the cgroup.procs/cgroup.threads of a cgroup outside the task's scope entry,
 *     which is also the permission check of clone3(CLONE_INTO_CGROUP): inode_permission.
 * And for every task but the agent itself: ptrace attach, /proc/<agent>/mem, process_vm_readv
 * and pidfd_getfd on the agent (PTRACE_MODE_ATTACH): ptrace_access_check.
 *
 * Guarded: a task in a scope-map entry (a container, a --scope cgroup:PATH), or under --scope all
 * outside the initial PID namespace; never the agent; never a task that is host root in effect
 * (initial PID and user namespace with CAP_SYS_PTRACE): such a task can inject code into any
 * host process outside the scope, so refusing it would protect nothing and would only lock out
 * tcl's own privileged, host-PID pod (its readiness probe runs tclctl, an upgraded agent must
 * re-attach). Root on the host removes tcl with `tclctl unload --yes`.
 */
#ifndef TCL_GUARD_BPF_H
#define TCL_GUARD_BPF_H

static __always_inline bool guard_has(__u32 kind, __u64 id)
{
	struct tcl_guard_key k = { .kind = kind, .id = id };

	return bpf_map_lookup_elem(&tcl_guard, &k) != NULL;
}

/* Is task the agent that registered itself in the config (pid and start time)? */
static __always_inline bool is_agent(const struct tcl_config *cfg, struct task_struct *task)
{
	__u64 start;

	if (!cfg->agent_tgid || BPF_CORE_READ(task, tgid) != cfg->agent_tgid)
		return false;
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	return start / TCL_NSEC_PER_TICK == cfg->agent_start;
}

/* Host root in effect: initial PID namespace and, by its real credentials, CAP_SYS_PTRACE in the
 * initial user namespace (see real_cap). */
static __always_inline bool host_root(struct task_struct *task)
{
	return !BPF_CORE_READ(task, thread_pid, level) && real_cap(task, CAP_SYS_PTRACE);
}

/* The scope entry that guards the current task (1: --scope all or the root cgroup), or 0. */
static __always_inline __u64 guarded(struct tcl_config *cfg)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_scope_val sv;
	__u64 scope;

	scope = scope_of_current(cfg, &sv);
	if (!scope)
		return 0;
	/* Everything is in scope: hold off only what runs in containers (own PID namespace). */
	if (scope == 1 && !BPF_CORE_READ(task, thread_pid, level))
		return 0;
	if (is_agent(cfg, task) || host_root(task))
		return 0;
	return scope;
}

/* Is the name (kernel memory) one of tcl's: "tcl_..."? */
static __always_inline bool tcl_name(const char *name)
{
	char n[4];

	if (bpf_probe_read_kernel(n, sizeof(n), name))
		return false;
	return bpf_strncmp(n, sizeof(n), "tcl_") == 0;
}

/* An fd of a tcl map (by id or BPF_OBJ_GET). */
static __always_inline int guard_map(struct bpf_map *map)
{
	struct tcl_config *cfg = get_config();
	__u64 scope;

	if (!cfg)
		return 0;
	if (!tcl_name(map->name) && !guard_has(TCL_GUARD_MAP, map->id))
		return 0;
	scope = guarded(cfg);
	if (!scope)
		return 0;
	emit_guard(TCL_GUARD_OP_MAP_FD, scope, 0, map->id, map->name, TCL_REASON_TAMPER);
	return -EPERM;
}

/* An fd of a tcl program. */
static __always_inline int guard_prog(struct bpf_prog *prog)
{
	struct tcl_config *cfg = get_config();
	struct bpf_prog_aux *aux;
	__u64 scope;

	if (!cfg)
		return 0;
	aux = prog->aux;
	if (!tcl_name(aux->name) && !guard_has(TCL_GUARD_PROG, aux->id))
		return 0;
	scope = guarded(cfg);
	if (!scope)
		return 0;
	emit_guard(TCL_GUARD_OP_PROG_FD, scope, 0, aux->id, aux->name, TCL_REASON_TAMPER);
	return -EPERM;
}

/* The id of the link behind one of the current task's fds, 0 if none. A non-link fd reads some
 * other object's field: at worst a command the kernel would refuse anyway gets EPERM. */
static __always_inline __u32 link_id_of_fd(__u32 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct bpf_link *link;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	link = BPF_CORE_READ(file, private_data);
	return link ? BPF_CORE_READ(link, id) : 0;
}

/* BPF_LINK_GET_FD_BY_ID of a tcl link, BPF_LINK_DETACH or BPF_LINK_UPDATE of one. */
static __always_inline int guard_bpf_cmd(int cmd, union bpf_attr *attr)
{
	struct tcl_config *cfg;
	enum tcl_guard_op op;
	__u64 scope;
	__u32 id;

	if (cmd == BPF_LINK_GET_FD_BY_ID) {
		id = attr->link_id;
		op = TCL_GUARD_OP_LINK_FD;
	} else if (cmd == BPF_LINK_DETACH) {
		id = link_id_of_fd(attr->link_detach.link_fd);
		op = TCL_GUARD_OP_LINK_DETACH;
	} else if (cmd == BPF_LINK_UPDATE) {
		id = link_id_of_fd(attr->link_update.link_fd);
		op = TCL_GUARD_OP_LINK_DETACH;
	} else {
		return 0;
	}
	if (!id || !guard_has(TCL_GUARD_LINK, id))
		return 0;
	cfg = get_config();
	if (!cfg)
		return 0;
	scope = guarded(cfg);
	if (!scope)
		return 0;
	emit_guard(op, scope, 0, id, "bpf_link", TCL_REASON_TAMPER);
	return -EPERM;
}

static __always_inline bool guarded_inode(struct tcl_config *cfg, struct inode *inode)
{
	if (!inode || inode->i_sb->s_magic != BPF_FS_MAGIC || inode->i_sb->s_dev != cfg->pin_dev)
		return false;
	return guard_has(TCL_GUARD_INODE, inode->i_ino);
}

/* Is cgroup directory kn the scope entry or below it? */
static __always_inline bool cgroup_within(struct kernfs_node *kn, __u64 scope)
{
	for (int i = 0; i < TCL_MAX_CGROUP_DEPTH; i++) {
		if (!kn)
			return false;
		if (BPF_CORE_READ(kn, id) == scope)
			return true;
		kn = BPF_CORE_READ(kn, parent);
	}
	return false;
}

/* Is kn the cgroup.procs or cgroup.threads file of a cgroup? */
static __always_inline bool procs_file(struct kernfs_node *kn)
{
	char n[16] = {};

	if (bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(kn, name)) < 0)
		return false;
	return bpf_strncmp(n, sizeof("cgroup.procs"), "cgroup.procs") == 0 ||
	       bpf_strncmp(n, sizeof("cgroup.threads"), "cgroup.threads") == 0;
}

/*
 * Opening the pin dir or a pin; writing to the cgroup.procs of a cgroup outside the scope entry.
 * Called for every path component of every lookup: the mask test comes first, so a lookup
 * (MAY_EXEC only) costs the trampoline and one compare.
 */
static __always_inline int guard_inode_permission(struct inode *inode, int mask)
{
	struct tcl_config *cfg;
	struct kernfs_node *kn;
	unsigned long magic;
	__u64 scope;

	if (!(mask & (MAY_READ | MAY_WRITE | MAY_APPEND)))
		return 0;
	magic = inode->i_sb->s_magic;
	if (magic == BPF_FS_MAGIC) {
		cfg = get_config();
		if (!cfg || !guarded_inode(cfg, inode))
			return 0;
		scope = guarded(cfg);
		if (!scope)
			return 0;
		emit_guard(TCL_GUARD_OP_PIN_ACCESS, scope, cfg->pin_dev, inode->i_ino, NULL,
			   TCL_REASON_TAMPER);
		return -EPERM;
	}
	if (magic != CGROUP2_SUPER_MAGIC || !(mask & (MAY_WRITE | MAY_APPEND)))
		return 0;
	kn = inode->i_private;
	if (!kn || !procs_file(kn))
		return 0;
	cfg = get_config();
	if (!cfg)
		return 0;
	scope = guarded(cfg);
	/* Under --scope all there is no outside to move to. */
	if (scope <= 1)
		return 0;
	kn = BPF_CORE_READ(kn, parent);
	if (cgroup_within(kn, scope))
		return 0;
	emit_guard(TCL_GUARD_OP_CGROUP_MOVE, scope, 0, kn ? BPF_CORE_READ(kn, id) : 0,
		   "cgroup.procs", TCL_REASON_TAMPER);
	return -EPERM;
}

static __always_inline int guard_remove(struct inode *a, struct inode *b, struct inode *c,
					struct dentry *name)
{
	struct tcl_config *cfg = get_config();
	struct inode *hit;
	__u64 scope;

	if (!cfg)
		return 0;
	if (guarded_inode(cfg, a))
		hit = a;
	else if (guarded_inode(cfg, b))
		hit = b;
	else if (guarded_inode(cfg, c))
		hit = c;
	else
		return 0;
	scope = guarded(cfg);
	if (!scope)
		return 0;
	emit_guard(TCL_GUARD_OP_PIN_REMOVE, scope, cfg->pin_dev, hit->i_ino,
		   (const char *)BPF_CORE_READ(name, d_name.name), TCL_REASON_TAMPER);
	return -EPERM;
}

/* ptrace attach (and /proc/PID/mem, process_vm_*, pidfd_getfd) of the agent, or by a guarded
 * task in enforce mode. */
static __always_inline int guard_ptrace(struct task_struct *child, unsigned int mode)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_config *cfg;

	if (!(mode & PTRACE_MODE_ATTACH))
		return 0;
	cfg = get_config();
	if (!cfg || task->tgid == child->tgid)
		return 0;
	if (is_agent(cfg, child)) {
		emit_guard(TCL_GUARD_OP_PTRACE, 0, 0, child->tgid, "tcl-agent", TCL_REASON_TAMPER);
		return -EPERM;
	}
	/*
	 * Writing into another process is running code nobody checked: ptrace pokes,
	 * /proc/PID/mem, process_vm_writev all need PTRACE_MODE_ATTACH (as do their read-only
	 * twins, which share the mode). In enforce mode a guarded task gets none of them.
	 */
	if (cfg->mode == TCL_MODE_ENFORCE) {
		__u64 scope = guarded(cfg);

		if (scope) {
			emit_guard(TCL_GUARD_OP_PTRACE, scope, 0, child->tgid, child->comm,
				   TCL_REASON_INJECT);
			return -EPERM;
		}
	}
	return 0;
}

/* /proc/PID/mem (or task/TID/mem) opened for writing? The same thread group skips the ptrace
 * check, so this is the only place a process writing code into its own memory is seen. */
static __always_inline bool proc_mem_file(struct file *file)
{
	char n[4] = {};

	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
		return false;
	if (bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(file, f_path.dentry,
								   d_name.name)) != 4)
		return false;
	return bpf_strncmp(n, sizeof(n), "mem") == 0;
}

static __always_inline int check_proc_mem(struct file *file)
{
	struct tcl_config *cfg = get_config();
	struct tcl_scope_val sv = {};
	struct tcl_event *e;
	__u64 scope;

	if (!cfg || cfg->mode != TCL_MODE_ENFORCE)
		return 0;
	scope = guarded(cfg);
	if (!scope)
		return 0;
	scope_of_current(cfg, &sv);
	count(TCL_CNT_DENIALS);
	count_decision(TCL_HOOK_OPEN, TCL_VERDICT_DENY, TCL_REASON_INJECT);
	e = file_event(file, TCL_HOOK_OPEN, TCL_VERDICT_DENY, TCL_REASON_INJECT, scope,
		       sv.image_idx);
	if (e)
		file_event_submit(e, file, false);
	return -EPERM;
}

#endif
