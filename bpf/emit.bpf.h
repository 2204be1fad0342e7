/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records for user space (struct tcl_event, include/tcl_abi.h) through the tcl_events ring
 * buffer. Every emitter starts from event_reserve() and ends with event_submit(): a full ring
 * counts one drop, a delivered record one event.
 */
#ifndef TCL_EMIT_BPF_H
#define TCL_EMIT_BPF_H

/*
 * A record with its time, hook, verdict and reason, comm, everything else zero (the path: an
 * empty string); NULL when the ring buffer is full.
 */
static __always_inline struct tcl_event *event_reserve(enum tcl_hook hook, enum tcl_verdict verdict,
						       enum tcl_reason reason)
{
	struct tcl_event *e;

	e = bpf_ringbuf_reserve(&tcl_events, sizeof(*e), 0);
	if (!e) {
		count(TCL_CNT_DROPS);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e) - sizeof(e->path));
	e->path[0] = 0;
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->hook = hook;
	e->verdict = verdict;
	e->reason = reason;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* The acting task: its cgroup, scope entry, process and parent, uid. */
static __always_inline void event_task(struct tcl_event *e, __u64 scope_cgid)
{
	struct task_struct *task = bpf_get_current_task_btf();

	e->cgroup_id = bpf_get_current_cgroup_id();
	e->scope_cgid = scope_cgid;
	e->pid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
}

static __always_inline void event_submit(struct tcl_event *e)
{
	bpf_ringbuf_submit(e, 0);
	count(TCL_CNT_EVENTS);
}

/* A record for a file, with the fields every file record has; NULL when the ring is full. */
static __always_inline struct tcl_event *file_event(struct file *file, enum tcl_hook hook,
						    enum tcl_verdict verdict,
						    enum tcl_reason reason, __u64 scope_cgid,
						    __u32 image_idx)
{
	struct tcl_event *e = event_reserve(hook, verdict, reason);

	if (!e)
		return NULL;
	event_task(e, scope_cgid);
	e->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	e->ino = BPF_CORE_READ(file, f_inode, i_ino);
	e->image_idx = image_idx;
	return e;
}

/* The path (sleepable hooks: bpf_d_path) or else the file's name, then submit. */
static __always_inline void file_event_submit(struct tcl_event *e, struct file *file,
					      bool can_path)
{
	const unsigned char *name;

	e->path[0] = 0;
	if (can_path && bpf_d_path(&file->f_path, e->path, sizeof(e->path)) >= 0)
		goto out;
	if (can_path)
		e->flags |= TCL_EV_F_PATH_TRUNC;
	/* Read the name's pointer first, then the string it points to. */
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), name) < 0)
		e->path[0] = 0;
out:
	event_submit(e);
}

/* A cgroup joined or left the scope: the record is about that cgroup, not the acting task. */
static __always_inline void emit_cgroup(enum tcl_hook hook, __u64 cgid, const char *path,
					enum tcl_reason reason)
{
	struct tcl_event *e = event_reserve(hook, TCL_VERDICT_ALLOW, reason);

	if (!e)
		return;
	e->cgroup_id = cgid;
	e->scope_cgid = cgid;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) == sizeof(e->path))
		e->flags |= TCL_EV_F_PATH_TRUNC;
	event_submit(e);
}

/* A refused attempt on tcl itself. name: the object's name (kernel memory or a string
 * constant), may be NULL. */
static __always_inline void emit_guard(enum tcl_guard_op op, __u64 scope, __u64 dev, __u64 id,
				       const char *name, enum tcl_reason reason)
{
	struct tcl_event *e;

	count_decision(TCL_HOOK_GUARD, TCL_VERDICT_DENY, reason);
	e = event_reserve(TCL_HOOK_GUARD, TCL_VERDICT_DENY, reason);
	if (!e)
		return;
	event_task(e, scope);
	e->dev = dev;
	e->ino = id;
	e->guard_op = op;
	if (name)
		bpf_probe_read_kernel_str(e->path, sizeof(e->path), name);
	event_submit(e);
}

#endif
