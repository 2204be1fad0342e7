// SPDX-License-Identifier: GPL-2.0
/*
 * empty.bpf.c: the baseline of the benchmarks. One program per hook tcl uses, of the same kind
 * (sleepable or not) and doing nothing but pass on the verdict before it, so that bpf_stats can
 * put each of tcl's programs beside an empty one measured in the same boot. Loaded and attached
 * by bench/emptyload.c; names are "e_" and tcl's program name without "tcl_".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm.s/bprm_check_security")
int BPF_PROG(e_bprm_check, struct linux_binprm *bprm, int ret)
{
	return ret;
}

SEC("lsm.s/mmap_file")
int BPF_PROG(e_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	return ret;
}

SEC("lsm/file_mprotect")
int BPF_PROG(e_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	return ret;
}

SEC("lsm/path_truncate")
int BPF_PROG(e_path_truncate, const struct path *path, int ret)
{
	return ret;
}

SEC("lsm/file_truncate")
int BPF_PROG(e_file_truncate, struct file *file, int ret)
{
	return ret;
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(e_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(e_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	return 0;
}

SEC("lsm/bpf_map")
int BPF_PROG(e_guard_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	return ret;
}

SEC("lsm/bpf_prog")
int BPF_PROG(e_guard_prog, struct bpf_prog *prog, int ret)
{
	return ret;
}

SEC("lsm/bpf")
int BPF_PROG(e_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	return ret;
}

SEC("lsm/inode_permission")
int BPF_PROG(e_guard_inode, struct inode *inode, int mask, int ret)
{
	return ret;
}

SEC("lsm/inode_unlink")
int BPF_PROG(e_guard_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	return ret;
}

SEC("lsm/inode_rename")
int BPF_PROG(e_guard_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	return ret;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(e_guard_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	return ret;
}

SEC("lsm/file_open")
int BPF_PROG(e_file_open, struct file *file, int ret)
{
	return ret;
}
