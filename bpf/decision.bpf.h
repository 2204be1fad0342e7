/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions: may this file run here (check_file, for exec, mmap and mprotect), and may this
 * file be written while in-scope code runs from it (check_write, for write-opens and truncates).
 */
#ifndef TCL_DECISION_BPF_H
#define TCL_DECISION_BPF_H

/*
 * First use of a digest in a scope is reported once: it becomes a measurement. The record is
 * reserved before the digest is marked seen, so one that cannot be delivered (ring buffer full,
 * counted as a drop) is reported again at the next use instead of never.
 */
static __always_inline void report_first_use(struct file *file, enum tcl_hook hook,
					     __u64 scope_cgid, __u32 image_idx, const __u8 *sha256,
					     bool cached, bool can_path)
{
	struct tcl_seen_key k = { .scope_cgid = scope_cgid };
	struct tcl_event *e;
	__u8 one = 1;

	__builtin_memcpy(k.sha256, sha256, TCL_SHA256_LEN);
	if (bpf_map_lookup_elem(&tcl_seen, &k))
		return;
	e = file_event(file, hook, TCL_VERDICT_ALLOW, TCL_REASON_FIRST_SEEN, scope_cgid,
		       image_idx);
	if (!e)
		return;
	if (bpf_map_update_elem(&tcl_seen, &k, &one, BPF_NOEXIST)) {
		bpf_ringbuf_discard(e, 0); /* another CPU reported it just now */
		return;
	}
	__builtin_memcpy(e->sha256, sha256, TCL_SHA256_LEN);
	e->flags = cached ? TCL_EV_F_CACHED : 0;
	file_event_submit(e, file, can_path);
}

#define EXEC_MAP_GRACE_NS 1000000000ULL

/*
 * Remember that a file's content is used as code in scope (see check_write). A mark refreshed
 * less than half the grace period ago is left as it is: one map update per file and half second,
 * not per check.
 */
static __always_inline bool mark_exec_mapped(__u64 content)
{
	__u64 now = bpf_ktime_get_boot_ns(), *when;
	struct tcl_inode_key k;

	if (!content)
		return false;
	inode_key(content, &k);
	when = bpf_map_lookup_elem(&tcl_exec_mapped, &k);
	if (when) {
		if (now - *when > EXEC_MAP_GRACE_NS / 2)
			*when = now;
		return false;
	}
	return bpf_map_update_elem(&tcl_exec_mapped, &k, &now, BPF_ANY) == 0;
}

/* A refused check made a mark for nothing: nothing of the file runs. (Left in place, a refused
 * attempt plus a read-only fd would keep any readable file from being written.) */
static __always_inline void unmark_exec_mapped(__u64 content)
{
	struct tcl_inode_key k;

	inode_key(content, &k);
	bpf_map_delete_elem(&tcl_exec_mapped, &k);
}

/* The decision shared by every hook. Returns 0 or -EPERM. */
static __always_inline int check_file(struct file *file, enum tcl_hook hook, bool sleepable)
{
	struct tcl_config *cfg = get_config();
	struct tcl_scope_val sv = {};
	enum tcl_reason reason = TCL_REASON_NONE;
	struct file_facts ff;
	bool marked;
	__u8 sha[TCL_SHA256_LEN] = {}; /* zero on every path: no stale register spill in its slots */
	struct tcl_event *e;
	bool enforce;
	__u64 scope;
	int err;

	if (!cfg || !file)
		return 0;
	scope = scope_of_current(cfg, &sv);
	if (!scope)
		return 0;
	count(TCL_CNT_CHECKS);
	enforce = cfg->mode == TCL_MODE_ENFORCE;

	file_facts(file, &ff);
	/* Marked before the verdict: a write-open racing with this check already finds it. */
	marked = mark_exec_mapped(ff.content);
	err = file_digest(file, &ff, sleepable, sha);
	/* A revoked image runs nothing new, whatever the file is (the global allowlist too).
	 * Then what the content is: an unsealed memfd is refused whether it hashes or not. */
	if (sv.flags & TCL_SCOPE_REVOKED)
		reason = TCL_REASON_REVOKED;
	else if (ff.kind == CONTENT_UNSEALED)
		reason = TCL_REASON_UNSEALED;
	else if (ff.kind == CONTENT_UNSTABLE)
		reason = TCL_REASON_UNSTABLE_FS;
	else if (err)
		reason = TCL_REASON_HASH_FAILED;
	else if (ff.writers)
		reason = TCL_REASON_WRITERS;
	else if (!digest_allowed(sha, sv.image_idx))
		reason = (sv.flags & TCL_SCOPE_REQUIRE_IMAGE) && !sv.image_idx ?
				 TCL_REASON_NO_IMAGE : TCL_REASON_NOT_ALLOWED;

	count_decision(hook, reason == TCL_REASON_NONE ? TCL_VERDICT_ALLOW :
			     enforce ? TCL_VERDICT_DENY : TCL_VERDICT_AUDIT, reason);
	if (reason == TCL_REASON_NONE) {
		report_first_use(file, hook, scope, sv.image_idx, sha, ff.cached, sleepable);
		return 0;
	}
	count(enforce ? TCL_CNT_DENIALS : TCL_CNT_AUDITS);
	if (enforce && marked)
		unmark_exec_mapped(ff.content);
	e = file_event(file, hook, enforce ? TCL_VERDICT_DENY : TCL_VERDICT_AUDIT, reason, scope,
		       sv.image_idx);
	if (e) {
		e->hash_err = err;
		e->flags = ff.cached ? TCL_EV_F_CACHED : 0;
		if (!err)
			__builtin_memcpy(e->sha256, sha, TCL_SHA256_LEN);
		file_event_submit(e, file, sleepable);
	}
	return enforce ? -EPERM : 0;
}

/* mmap with PROT_EXEC of a file. */
static __always_inline int check_mmap(struct file *file, unsigned long prot)
{
	if (!file || !(prot & PROT_EXEC))
		return 0;
	return check_file(file, TCL_HOOK_MMAP, true);
}

/* Not sleepable on every kernel: decided from the digest cache alone, misses are denied. */
static __always_inline int check_mprotect(struct vm_area_struct *vma, unsigned long prot)
{
	struct file *file;

	if (!(prot & PROT_EXEC) || (BPF_CORE_READ(vma, vm_flags) & VM_EXEC))
		return 0;
	file = vma->vm_file;
	if (!file)
		return 0;
	return check_file(file, TCL_HOOK_MPROTECT, false);
}

/*
 * Writing to a file that in-scope code maps executable (or runs) changes code that was checked
 * under its feet: a write-open or truncate of it is refused (ETXTBSY, as the kernel does for a
 * running binary) while it is mapped or open, and for a moment after the check, which covers a
 * mapping the kernel has not linked in yet.
 */

/* What a walk of a file's mappings found. */
enum exec_maps { MAPS_NO_EXEC, MAPS_EXEC, MAPS_TOO_MANY };

#define MAPS_WALK_MAX 32
#define MAPS_STACK 16

struct maps_walk {
	struct rb_node *stack[MAPS_STACK];
	struct rb_node *node;
	unsigned long off;	/* offsetof(struct vm_area_struct, shared.rb) */
	int top;
	enum exec_maps result;
};

/* One step of a depth-first walk (bpf_loop callback: the verifier checks it once). */
static long maps_step(__u32 i, void *ctx)
{
	struct maps_walk *w = ctx;
	struct rb_node *node = w->node, *right;
	struct vm_area_struct *vma;

	if (!node) {
		if (w->top <= 0) {
			w->result = MAPS_NO_EXEC;
			return 1;
		}
		w->top--;
		w->node = w->stack[w->top & (MAPS_STACK - 1)];
		return 0;
	}
	vma = (void *)node - w->off;
	if (BPF_CORE_READ(vma, vm_flags) & VM_EXEC) {
		w->result = MAPS_EXEC;
		return 1;
	}
	right = BPF_CORE_READ(node, rb_right);
	if (right) {
		if (w->top >= MAPS_STACK) {
			w->result = MAPS_TOO_MANY;
			return 1;
		}
		w->stack[w->top & (MAPS_STACK - 1)] = right;
		w->top++;
	}
	w->node = BPF_CORE_READ(node, rb_left);
	return 0;
}

/*
 * Does any mapping of the inode (its i_mmap interval tree) have VM_EXEC? Looks at up to
 * MAPS_WALK_MAX mappings; past that the answer is MAPS_TOO_MANY.
 */
static __always_inline enum exec_maps exec_mappings(struct inode *inode)
{
	struct maps_walk w = {
		.off = vma_shared_rb_offset(),
		.result = MAPS_TOO_MANY,
	};

	w.node = BPF_CORE_READ(inode, i_mapping, i_mmap.rb_root.rb_node);
	if (!w.node)
		return MAPS_NO_EXEC;
	/* Twice the mappings: popping a subtree is a step of its own. */
	bpf_loop(2 * MAPS_WALK_MAX, maps_step, &w, 0);
	return w.result;
}

/*
 * Is the file's content in use as code? Marked by a check in scope (exec or executable mapping)
 * and still mapped, open (an interpreter reading a `#!` script) or checked a moment ago; or, for
 * a writer in scope, mapped executable by anyone, marked or not (a mark can be evicted from the
 * LRU map, a mapping cannot). Most write-opens find neither a mark nor a mapping and stop there.
 */
static __always_inline int check_write(struct file *file, __u64 addr)
{
	struct inode *inode = (void *)addr;
	struct tcl_scope_val sv = {};
	struct tcl_config *cfg;
	struct tcl_inode_key k;
	enum exec_maps maps;
	struct tcl_event *e;
	__u64 *when, scope;
	bool mapped, enforce;

	invalidate(addr);
	inode_key(addr, &k);
	when = bpf_map_lookup_elem(&tcl_exec_mapped, &k);
	mapped = BPF_CORE_READ(inode, i_mapping, i_mmap.rb_root.rb_node) != NULL;
	if (!when && !mapped)
		return 0;
	cfg = get_config();
	if (!cfg)
		return 0;
	scope = scope_of_current(cfg, &sv);
	if (!when && !scope)
		return 0;
	maps = mapped ? exec_mappings(inode) : MAPS_NO_EXEC;
	/* A writer in scope is refused what it cannot be shown harmless: too many mappings to walk. */
	if (maps == MAPS_TOO_MANY && scope)
		maps = MAPS_EXEC;
	if (maps != MAPS_EXEC) {
		if (!when)
			return 0;
		if (maps != MAPS_TOO_MANY && BPF_CORE_READ(inode, i_readcount.counter) <= 0 &&
		    bpf_ktime_get_boot_ns() - *when >= EXEC_MAP_GRACE_NS) {
			bpf_map_delete_elem(&tcl_exec_mapped, &k);
			return 0;
		}
	}
	enforce = cfg->mode == TCL_MODE_ENFORCE;
	count(enforce ? TCL_CNT_DENIALS : TCL_CNT_AUDITS);
	count_decision(TCL_HOOK_OPEN, enforce ? TCL_VERDICT_DENY : TCL_VERDICT_AUDIT,
		       TCL_REASON_MAPPED_WRITE);
	if (file) {
		e = file_event(file, TCL_HOOK_OPEN, enforce ? TCL_VERDICT_DENY : TCL_VERDICT_AUDIT,
			       TCL_REASON_MAPPED_WRITE, scope, sv.image_idx);
		if (e)
			file_event_submit(e, file, false);
	}
	return enforce ? -ETXTBSY : 0;
}

/* A truncate by path: no file to report. */
static __always_inline int check_path_truncate(const struct path *path)
{
	__u64 inode = (__u64)BPF_CORE_READ(path, dentry, d_inode);

	if (!inode)
		return 0;
	return check_write(NULL, inode);
}

/* Write-opens: process memory (proc_mem_file, guard.bpf.h), else code in use (check_write). */
static __always_inline int check_write_open(struct file *file)
{
	if (!(file->f_mode & FMODE_WRITE))
		return 0;
	if (proc_mem_file(file))
		return check_proc_mem(file);
	return check_write(file, inode_addr(file));
}

#endif
