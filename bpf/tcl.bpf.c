// SPDX-License-Identifier: GPL-2.0
/*
 * tcl.bpf.c: measure and enforce what in-scope tasks execute. This file holds only the entry
 * points; what they do lives in the headers beside it:
 *   maps.bpf.h        every map (names and pins are ABI), counters, the config
 *   core_fixes.bpf.h  CO-RE fallbacks for structures that changed across kernels (overlayfs)
 *   scope.bpf.h       who is in scope
 *   emit.bpf.h        records for user space (one reserve helper for all of them)
 *   content.bpf.h     the inode holding a file's content, its digest, the digest cache
 *   guard.bpf.h       self-protection
 *   decision.bpf.h    may this file run here; may this file be written now
 *   cgroup.bpf.h      new container cgroups join the scope (lib/cgroup_grammar.h names them)
 * Hooks: bprm_check_security (every exec, including #! scripts and their interpreters),
 * mmap_file with PROT_EXEC (shared objects, ld.so ./prog, LD_PRELOAD), file_mprotect adding
 * PROT_EXEC to a file mapping; file_open/path_truncate/file_truncate (writes invalidate cached
 * digests; code in use cannot be opened for writing; /proc/PID/mem is not writable in scope).
 * What keeps the checked content the content that runs: docs/threat-model.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tcl_abi.h"

#include "errno.bpf.h"
#include "consts.bpf.h"
#include "maps.bpf.h"
#include "core_fixes.bpf.h"
#include "scope.bpf.h"
#include "emit.bpf.h"
#include "content.bpf.h"
#include "guard.bpf.h"
#include "decision.bpf.h"
#include "cgroup.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("lsm.s/bprm_check_security")
int BPF_PROG(tcl_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	return check_file(bprm->file, TCL_HOOK_EXEC, true);
}

SEC("lsm.s/mmap_file")
int BPF_PROG(tcl_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return ret;
	return check_mmap(file, prot);
}

/* Not sleepable on every kernel: decided from the digest cache alone, misses are denied. */
SEC("lsm/file_mprotect")
int BPF_PROG(tcl_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	if (ret)
		return ret;
	return check_mprotect(vma, prot);
}

SEC("lsm/path_truncate")
int BPF_PROG(tcl_path_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	return check_path_truncate(path);
}

/* Linux >= 6.2 sends ftruncate here instead of path_truncate (loaded where the hook exists). */
SEC("lsm/file_truncate")
int BPF_PROG(tcl_file_truncate, struct file *file, int ret)
{
	if (ret)
		return ret;
	return check_write(file, inode_addr(file));
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(tcl_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return cgroup_mkdir(cgrp, path);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(tcl_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return cgroup_rmdir(cgrp, path);
}

SEC("lsm/bpf_map")
int BPF_PROG(tcl_guard_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	if (ret)
		return ret;
	return guard_map(map);
}

SEC("lsm/bpf_prog")
int BPF_PROG(tcl_guard_prog, struct bpf_prog *prog, int ret)
{
	if (ret)
		return ret;
	return guard_prog(prog);
}

SEC("lsm/bpf")
int BPF_PROG(tcl_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret)
		return ret;
	return guard_bpf_cmd(cmd, attr);
}

SEC("lsm/inode_permission")
int BPF_PROG(tcl_guard_inode, struct inode *inode, int mask, int ret)
{
	if (ret)
		return ret;
	return guard_inode_permission(inode, mask);
}

SEC("lsm/inode_unlink")
int BPF_PROG(tcl_guard_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return guard_remove(dentry->d_inode, NULL, NULL, dentry);
}

/* Renaming a pin away, over a pin, or the pin dir itself; or moving anything into the dir. */
SEC("lsm/inode_rename")
int BPF_PROG(tcl_guard_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	return guard_remove(old_dentry->d_inode, new_dentry->d_inode, new_dir, old_dentry);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(tcl_guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	return guard_ptrace(child, mode);
}

SEC("lsm/file_open")
int BPF_PROG(tcl_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	return check_write_open(file);
}
