/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CO-RE fallbacks: kernel structures whose layout changed between the kernels tcl runs on, read
 * the way each kernel lays them out (libbpf-tools' core_fixes.bpf.h is the model). The pinned
 * vmlinux.h is Linux 6.1's; the ___vNN flavours describe later kernels.
 */
#ifndef TCL_CORE_FIXES_BPF_H
#define TCL_CORE_FIXES_BPF_H

/* Newer kernels renamed the inode time fields; CO-RE picks whichever exists. */
struct inode___v66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___v611 {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
	time64_t i_mtime_sec;
	u32 i_mtime_nsec;
} __attribute__((preserve_access_index));
struct inode___v67 {
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

/* Linux >= 6.3 keeps the capability set in one u64. */
struct kernel_cap_struct___v63 {
	u64 val;
} __attribute__((preserve_access_index));

/* The effective capabilities of a credential set, as a bit mask. */
static __always_inline __u64 cred_effective_caps(const struct cred *cred)
{
	if (bpf_core_field_exists(((struct kernel_cap_struct___v63 *)0)->val)) {
		struct kernel_cap_struct___v63 *c = (void *)&cred->cap_effective;

		return BPF_CORE_READ(c, val);
	}
	return BPF_CORE_READ(cred, cap_effective.cap[0]);
}

/* The change attributes of an inode, as stored beside a cached digest. */
static __always_inline void inode_attrs(__u64 addr, struct tcl_digest_val *v)
{
	struct inode *inode = (void *)addr;

	if (bpf_core_field_exists(((struct inode___v611 *)0)->i_ctime_sec)) {
		struct inode___v611 *n = (void *)inode;

		v->ctime_sec = BPF_CORE_READ(n, i_ctime_sec);
		v->ctime_nsec = BPF_CORE_READ(n, i_ctime_nsec);
		v->mtime_sec = BPF_CORE_READ(n, i_mtime_sec);
		v->mtime_nsec = BPF_CORE_READ(n, i_mtime_nsec);
	} else if (bpf_core_field_exists(((struct inode___v66 *)0)->__i_ctime)) {
		struct inode___v66 *n = (void *)inode;

		v->ctime_sec = BPF_CORE_READ(n, __i_ctime.tv_sec);
		v->ctime_nsec = BPF_CORE_READ(n, __i_ctime.tv_nsec);
		if (bpf_core_field_exists(((struct inode___v67 *)0)->__i_mtime)) {
			struct inode___v67 *m = (void *)inode;

			v->mtime_sec = BPF_CORE_READ(m, __i_mtime.tv_sec);
			v->mtime_nsec = BPF_CORE_READ(m, __i_mtime.tv_nsec);
		} else {
			v->mtime_sec = BPF_CORE_READ(inode, i_mtime.tv_sec);
			v->mtime_nsec = BPF_CORE_READ(inode, i_mtime.tv_nsec);
		}
	} else {
		v->ctime_sec = BPF_CORE_READ(inode, i_ctime.tv_sec);
		v->ctime_nsec = BPF_CORE_READ(inode, i_ctime.tv_nsec);
		v->mtime_sec = BPF_CORE_READ(inode, i_mtime.tv_sec);
		v->mtime_nsec = BPF_CORE_READ(inode, i_mtime.tv_nsec);
	}
	v->size = BPF_CORE_READ(inode, i_size);
	/* Bit 0 is the "queried" flag, which hashing itself sets: only the counter counts. */
	v->i_version = BPF_CORE_READ(inode, i_version.counter) >> 1;
}

/* The seals of a shmem or hugetlbfs inode: its container struct, by CO-RE offsets. */
static __always_inline __u32 shmem_seals(struct inode *inode, unsigned long magic)
{
	__u32 seals = 0;

	if (magic == TMPFS_MAGIC)
		bpf_probe_read_kernel(&seals, sizeof(seals),
				      (void *)inode - bpf_core_field_offset(struct shmem_inode_info,
									    vfs_inode) +
					      bpf_core_field_offset(struct shmem_inode_info, seals));
	else
		bpf_probe_read_kernel(&seals, sizeof(seals),
				      (void *)inode -
					      bpf_core_field_offset(struct hugetlbfs_inode_info,
								    vfs_inode) +
					      bpf_core_field_offset(struct hugetlbfs_inode_info, seals));
	return seals;
}

#define OVL_MAX_NESTING 4

/*
 * Does f look like an open regular file (a sanity check on a pointer we followed)? Its page
 * cache is its inode's, as do_dentry_open sets it. (Not f_path: the layer file of an overlay
 * file carries the overlay's path.)
 */
static __always_inline struct inode *checked_file_inode(struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	if (!inode || BPF_CORE_READ(f, f_mapping) != BPF_CORE_READ(inode, i_mapping))
		return NULL;
	return inode;
}

/*
 * The inode that holds an open file's content. On overlayfs an open file's private_data leads to
 * the layer's file, opened when the overlay file was: on Linux 6.1 it is that file, on later
 * kernels a struct whose first member is. Whichever holds up (checked_file_inode) is followed;
 * nested overlays a few levels. 0 when it cannot be told.
 */
static __always_inline __u64 content_inode(struct file *file)
{
	struct file *f = file;
	struct inode *inode = BPF_CORE_READ(file, f_inode), *real;

	for (int i = 0; i < OVL_MAX_NESTING; i++) {
		void *priv;

		if (!inode)
			return 0;
		if (BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
			return (__u64)inode;
		priv = BPF_CORE_READ(f, private_data);
		if (!priv)
			return 0;
		f = priv;
		real = checked_file_inode(f);
		if (!real) {
			f = NULL;
			bpf_probe_read_kernel(&f, sizeof(f), priv);
			real = f ? checked_file_inode(f) : NULL;
		}
		inode = real;
	}
	return 0;
}

/* The i_mmap tree node of a vma, by its CO-RE offset (struct vm_area_struct, shared.rb). */
static __always_inline unsigned long vma_shared_rb_offset(void)
{
	return bpf_core_field_offset(struct vm_area_struct, shared.rb);
}

/* The address of the i-th entry of cgroup->ancestors[] (a flexible array; CO-RE offset). */
static __always_inline unsigned long cgroup_ancestors_base(struct cgroup *cgrp)
{
	return (unsigned long)cgrp + bpf_core_field_offset(struct cgroup, ancestors);
}

#endif
