/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel UAPI and internal constants the programs test against (macros are not in vmlinux.h). */
#ifndef TCL_CONSTS_BPF_H
#define TCL_CONSTS_BPF_H

/* mmap/mprotect protection, file mode, vma flags */
#define PROT_EXEC 0x4
#define FMODE_WRITE 0x2
#define VM_EXEC 0x4

/* capabilities */
#define CAP_SYS_PTRACE 19
#define CAP_SYS_ADMIN 21

/* inode_permission masks; ptrace modes */
#define MAY_WRITE 0x2
#define MAY_READ 0x4
#define MAY_APPEND 0x8
#define PTRACE_MODE_ATTACH 0x2

/* file system magics */
#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define FUSE_SUPER_MAGIC 0x65735546
#define BPF_FS_MAGIC 0xcafe4a11
#define CGROUP2_SUPER_MAGIC 0x63677270
#define PROC_SUPER_MAGIC 0x9fa0

/* memfd seals; block device majors whose content changes without a write seen here */
#define F_SEAL_WRITE 0x0008
#define LOOP_MAJOR 7
#define NBD_MAJOR 43

#endif
