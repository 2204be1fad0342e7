/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcl_abi.h: the one header shared by the BPF programs and user space.
 * Fixed-width types only, no pointers; every struct's size is asserted so that a change on one
 * side cannot silently disagree with the other. Maps are pinned and outlive an agent binary, so
 * TCL_ABI_VERSION is bumped on any layout change and a newer agent refuses stale pinned maps.
 */
#ifndef TCL_ABI_H
#define TCL_ABI_H

#ifdef __BPF__
/* vmlinux.h provides __u8.. */
#else
#include <linux/types.h>
#endif

#define TCL_ABI_VERSION 5

#define TCL_SHA256_LEN 32
#define TCL_COMM_LEN 16
#define TCL_PATH_LEN 256
#define TCL_MAX_CGROUP_DEPTH 64

/* Which LSM hook produced a record. */
enum tcl_hook {
	TCL_HOOK_EXEC = 1,	/* bprm_check_security */
	TCL_HOOK_MMAP = 2,	/* mmap_file with PROT_EXEC */
	TCL_HOOK_MPROTECT = 3,	/* file_mprotect adding PROT_EXEC to a file mapping */
	TCL_HOOK_OPEN = 4,	/* file_open */
	TCL_HOOK_CGROUP_MKDIR = 5,	/* a container cgroup appeared (path = cgroup path) */
	TCL_HOOK_CGROUP_RMDIR = 6,	/* a container cgroup went away */
	TCL_HOOK_GUARD = 7,	/* self-protection refused an operation (guard_op says which) */
};

enum tcl_verdict {
	TCL_VERDICT_ALLOW = 0,
	TCL_VERDICT_DENY = 1,	/* enforce mode: the operation failed with EPERM */
	TCL_VERDICT_AUDIT = 2,	/* audit mode: would have been denied */
};

enum tcl_reason {
	TCL_REASON_NONE = 0,
	TCL_REASON_NOT_ALLOWED = 1,	/* digest in no allow set of this scope */
	TCL_REASON_HASH_FAILED = 2,	/* bpf_ima_file_hash failed: unhashable, fail closed */
	TCL_REASON_WRITERS = 3,		/* executable mapping of a file open for write */
	TCL_REASON_NO_IMAGE = 4,	/* container without a verified image set */
	TCL_REASON_FIRST_SEEN = 5,	/* allowed, first time in this scope: a measurement */
	TCL_REASON_TAMPER = 6,		/* an in-scope task reached for tcl's own objects */
	TCL_REASON_UNSEALED = 7,	/* shmem without a name (memfd, SysV shm, O_TMPFILE) not
					 * sealed with F_SEAL_WRITE: writable unseen */
	TCL_REASON_UNSTABLE_FS = 8,	/* FUSE: content may differ between check and use */
	TCL_REASON_MAPPED_WRITE = 9,	/* write-open/truncate of a file mapped executable in
					 * scope (ETXTBSY) */
	TCL_REASON_SCOPE_FULL = 10,	/* a container cgroup got no scope entry: map full */
	TCL_REASON_INJECT = 11,		/* enforce: a guarded task reached into another process's
					 * memory (ptrace attach, /proc/PID/mem, process_vm_*) */
	TCL_REASON_REVOKED = 12,	/* the container's image (or the key that signed its
					 * golden manifest) is revoked: nothing new runs in it */
};

enum tcl_mode {
	TCL_MODE_AUDIT = 0,
	TCL_MODE_ENFORCE = 1,
};

/* Runtime configuration, element 0 of the "tcl_config" array map. */
struct tcl_config {
	__u32 abi_version;
	__u32 mode;		/* enum tcl_mode */
	__u32 scope_all;	/* 1: every task is in scope (--scope all) */
	__u32 scope_containers;	/* 1: new container cgroups join the scope in-kernel */
	__u64 loaded_at_ns;	/* CLOCK_BOOTTIME of the first load */
	/* Self-protection (ABI 2), written by every agent at start. */
	__u32 agent_tgid;	/* the running agent: may touch tcl's objects, cannot be ptraced */
	__u32 ready;		/* 1 once an agent put mode, scope and allow sets in place: from
				 * then on the kernel enforces what was asked, agent or not */
	__u64 agent_start;	/* its start time in clock ticks after boot (/proc/PID/stat field 22):
				 * a recycled pid of a dead agent is not the agent */
	__u64 pin_dev;		/* kernel dev_t (major << 20 | minor) of the bpffs holding the pins */
};
_Static_assert(sizeof(struct tcl_config) == 48, "tcl_config size");

/* Clock ticks of agent_start: USER_HZ is 100 on every architecture the kernel exports it for. */
#define TCL_NSEC_PER_TICK 10000000ULL

/*
 * The guard set ("tcl_guard" hash map): tcl's own maps, programs and links by id, and the pin
 * directory and its pins by inode number. Tasks in scope (other than the agent) cannot obtain
 * an fd of these objects, open, unlink or rename these inodes, or detach these links.
 */
enum tcl_guard_kind {
	TCL_GUARD_MAP = 1,
	TCL_GUARD_PROG = 2,
	TCL_GUARD_LINK = 3,
	TCL_GUARD_INODE = 4,	/* id: inode number on the bpffs of tcl_config.pin_dev */
};
struct tcl_guard_key {
	__u32 kind;		/* enum tcl_guard_kind */
	__u32 pad;
	__u64 id;
};
_Static_assert(sizeof(struct tcl_guard_key) == 16, "tcl_guard_key size");

/* What a TCL_HOOK_GUARD record refused (tcl_event.guard_op). */
enum tcl_guard_op {
	TCL_GUARD_OP_NONE = 0,
	TCL_GUARD_OP_MAP_FD = 1,	/* an fd of a tcl map (BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET) */
	TCL_GUARD_OP_PROG_FD = 2,	/* an fd of a tcl program */
	TCL_GUARD_OP_LINK_FD = 3,	/* BPF_LINK_GET_FD_BY_ID of a tcl link */
	TCL_GUARD_OP_LINK_DETACH = 4,	/* BPF_LINK_DETACH or BPF_LINK_UPDATE of a tcl link */
	TCL_GUARD_OP_PIN_ACCESS = 5,	/* open or BPF_OBJ_GET of the pin dir or a pin */
	TCL_GUARD_OP_PIN_REMOVE = 6,	/* unlink or rename of the pin dir or a pin */
	TCL_GUARD_OP_CGROUP_MOVE = 7,	/* moving a task to a cgroup outside its scope */
	TCL_GUARD_OP_PTRACE = 8,	/* ptrace attach or memory access to the agent, or (reason
					 * TCL_REASON_INJECT) by a guarded task to any process */
};

/* Scope map: cgroup id -> what applies to tasks in that cgroup and below it. */
#define TCL_SCOPE_CONTAINER 0x1	/* a container cgroup (vs a --scope cgroup:PATH root) */
#define TCL_SCOPE_REQUIRE_IMAGE 0x2	/* enforce: deny all but global allowlist until image set */
#define TCL_SCOPE_REVOKED 0x4	/* (ABI 5) its image is revoked: every exec and executable
				 * mapping is refused (enforce) or reported (audit) */
struct tcl_scope_val {
	__u32 image_idx;	/* 0: no per-image set, global allowlist only */
	__u32 flags;
};
_Static_assert(sizeof(struct tcl_scope_val) == 8, "tcl_scope_val size");

/* Allow map key: image index 0 is the global allowlist. */
struct tcl_allow_key {
	__u32 image_idx;
	__u8 sha256[TCL_SHA256_LEN];
};
_Static_assert(sizeof(struct tcl_allow_key) == 36, "tcl_allow_key size");

/*
 * A live inode, as the digest cache and the exec-mapped map name it: its address (unique while
 * it lives) with its device, number and generation (random per inode on tmpfs, ext4, xfs), so
 * an address reused by a later inode does not match.
 */
struct tcl_inode_key {
	__u64 inode;
	__u64 dev;
	__u64 ino;
	__u32 generation;
	__u32 pad;
};
_Static_assert(sizeof(struct tcl_inode_key) == 32, "tcl_inode_key size");

/*
 * Digest cache value ("tcl_digests", keyed by the tcl_inode_key of the inode holding the
 * content: the overlayfs layer inode, or the file's own). An entry is valid only while the
 * invalidation counter of that inode's bucket still equals inval_seq and its change attributes
 * are unchanged: a write-open or truncate bumps the counter, so an entry hashed concurrently
 * with a write can never validate later.
 */
#define TCL_INVAL_BUCKETS 4096
struct tcl_digest_val {
	__u8 sha256[TCL_SHA256_LEN];
	__u64 inval_seq;
	__s64 ctime_sec;
	__s64 ctime_nsec;
	__s64 mtime_sec;
	__s64 mtime_nsec;
	__s64 size;
	__u64 i_version;
	__u64 check;		/* mix of the fields above and the key: a copy torn by an LRU
				 * element reused under the reader does not pass */
};
_Static_assert(sizeof(struct tcl_digest_val) == 96, "tcl_digest_val size");

/* "Seen" map key: first use of a digest in a scope cgroup is reported once (a measurement). */
struct tcl_seen_key {
	__u64 scope_cgid;
	__u8 sha256[TCL_SHA256_LEN];
};
_Static_assert(sizeof(struct tcl_seen_key) == 40, "tcl_seen_key size");

/* Per-CPU counters, indices of the "tcl_counters" per-CPU array. */
enum tcl_counter {
	TCL_CNT_EVENTS = 0,	/* records written to the ring buffer */
	TCL_CNT_DROPS,		/* records lost: ring buffer full */
	TCL_CNT_DENIALS,	/* operations denied (enforce) */
	TCL_CNT_AUDITS,		/* operations that would have been denied (audit) */
	TCL_CNT_CACHE_HITS,
	TCL_CNT_CACHE_MISSES,
	TCL_CNT_HASH_ERRORS,
	TCL_CNT_CHECKS,		/* in-scope checks */
	TCL_CNT_SCOPE_FULL,	/* container cgroups that got no scope entry (map full) */
	TCL_CNT_MAX,
};

/*
 * Per-CPU statistics for metrics (ABI 4), indices of the "tcl_stats" per-CPU array: every
 * decision by hook, verdict and reason (an allow with reason NONE), and how long
 * bpf_ima_file_hash took, as a histogram (non-cumulative bucket counts; the last bucket holds
 * what took longer than the last bound) plus the sum in nanoseconds.
 */
#define TCL_STAT_HOOKS 8	/* enum tcl_hook values, 0 unused */
#define TCL_STAT_VERDICTS 3	/* enum tcl_verdict */
#define TCL_STAT_REASONS 16	/* enum tcl_reason values fit */
#define TCL_STAT_DECISION(h, v, r) ((((h) * TCL_STAT_VERDICTS) + (v)) * TCL_STAT_REASONS + (r))
#define TCL_STAT_DECISIONS (TCL_STAT_HOOKS * TCL_STAT_VERDICTS * TCL_STAT_REASONS)
#define TCL_STAT_HASH_BOUNDS 11
#define TCL_STAT_HASH_BOUNDS_NS                                                                  \
	{ 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,     \
	  50000000 }
#define TCL_STAT_HASH_BUCKET(b) (TCL_STAT_DECISIONS + (b))	/* b <= TCL_STAT_HASH_BOUNDS */
#define TCL_STAT_HASH_NS (TCL_STAT_HASH_BUCKET(TCL_STAT_HASH_BOUNDS) + 1)
#define TCL_STAT_MAX (TCL_STAT_HASH_NS + 1)

#define TCL_EV_F_PATH_TRUNC 0x1	/* path did not fit TCL_PATH_LEN */
#define TCL_EV_F_CACHED 0x2		/* digest came from the cache */

/* Ring buffer record. */
struct tcl_event {
	__u64 ts_boot_ns;	/* bpf_ktime_get_boot_ns(); user space converts to wall time */
	__u64 cgroup_id;	/* the task's own cgroup */
	__u64 scope_cgid;	/* the scope entry that matched (container cgroup), 0 for scope all */
	__u64 dev;
	__u64 ino;
	__u32 pid;		/* tgid */
	__u32 ppid;
	__u32 uid;
	__u16 hook;		/* enum tcl_hook */
	__u8 verdict;		/* enum tcl_verdict */
	__u8 reason;		/* enum tcl_reason */
	__u32 flags;		/* TCL_EV_F_* */
	__s32 hash_err;		/* <0: bpf_ima_file_hash error */
	__u32 image_idx;
	__u32 guard_op;		/* TCL_HOOK_GUARD: enum tcl_guard_op; ino holds the object id */
	__u8 sha256[TCL_SHA256_LEN];
	char comm[TCL_COMM_LEN];
	char path[TCL_PATH_LEN];
};
_Static_assert(sizeof(struct tcl_event) == 376, "tcl_event size");

#endif /* TCL_ABI_H */
