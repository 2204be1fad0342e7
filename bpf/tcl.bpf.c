// SPDX-License-Identifier: GPL-2.0
/*
 * tcl.bpf.c: measure and enforce what in-scope tasks execute.
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

#define EPERM 1
#define PROT_EXEC 0x4
#define FMODE_WRITE 0x2
#define VM_EXEC 0x4
#define ETXTBSY 26

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcl_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tcl_scope_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_scope SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct tcl_allow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_allow SEC(".maps");

/*
 * Digest cache, by the inode that holds the content (for an overlayfs file: the layer inode).
 * The key is a live inode's identity: its address, unique while it lives, with its device,
 * number and generation (random per inode on tmpfs/shmem, ext4, xfs), so a later inode at the
 * same address (after an unmount, say) does not find its predecessor's entry; and giving any
 * cached kind of file new content takes a write-open, which bumps the invalidation counter the
 * entry was checked against. Plain LRU: no allocation in the sleeping hooks; an eviction only
 * costs a hash.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, struct tcl_inode_key);
	__type(value, struct tcl_digest_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_digests SEC(".maps");

/* Files mapped executable (or executed) in scope, by content inode: value = when (boot ns). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcl_inode_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_exec_mapped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCL_INVAL_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_inval SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct tcl_seen_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_events SEC(".maps");

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

static __always_inline void count(enum tcl_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&tcl_counters, &key);

	if (v)
		*v += 1;
}

static __always_inline struct tcl_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tcl_config, &zero);
}

/* Linux >= 6.3 keeps the capability set in one u64. */
struct kernel_cap_struct___v63 {
	u64 val;
} __attribute__((preserve_access_index));

#define CAP_SYS_PTRACE 19
#define CAP_SYS_ADMIN 21

/*
 * Does the task hold cap in the initial user namespace, by its real credentials? real_cred, not
 * cred: the kernel puts an opener's credentials in cred while a task writes through an fd that
 * someone else opened (cgroup.procs), and host root's fd must not lend its powers.
 */
static __always_inline bool real_cap(struct task_struct *task, int cap)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);
	__u64 caps;

	if (BPF_CORE_READ(cred, user_ns, level))
		return false;
	if (bpf_core_field_exists(((struct kernel_cap_struct___v63 *)0)->val)) {
		struct kernel_cap_struct___v63 *c = (void *)&cred->cap_effective;

		caps = BPF_CORE_READ(c, val);
	} else {
		caps = BPF_CORE_READ(cred, cap_effective.cap[0]);
	}
	return caps & (1ULL << cap);
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

#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define FUSE_SUPER_MAGIC 0x65735546
#define F_SEAL_WRITE 0x0008
#define LOOP_MAJOR 7
#define NBD_MAJOR 43
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

static __always_inline void inode_key(__u64 addr, struct tcl_inode_key *k)
{
	struct inode *inode = (void *)addr;

	k->inode = addr;
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->generation = BPF_CORE_READ(inode, i_generation);
	k->pad = 0;
}

static __always_inline __u32 inval_bucket(__u64 addr)
{
	return (__u32)((addr * 0x9E3779B97F4A7C15ULL) >> 40) % TCL_INVAL_BUCKETS;
}

static __always_inline __u64 inval_seq(__u64 addr)
{
	__u32 b = inval_bucket(addr);
	__u64 *seq = bpf_map_lookup_elem(&tcl_inval, &b);

	return seq ? *seq : 0;
}

static __always_inline void invalidate(__u64 inode)
{
	__u32 b = inval_bucket(inode);
	__u64 *seq = bpf_map_lookup_elem(&tcl_inval, &b);

	if (seq)
		__sync_fetch_and_add(seq, 1);
}

/* How far a file's content can be trusted between the check and its use. */
enum content_kind {
	CONTENT_CACHEABLE,   /* changes only through a VFS write-open or truncate */
	CONTENT_UNCACHED,    /* hash at every use: loop/NBD devices, network and other file systems */
	CONTENT_UNSEALED,    /* shmem without a name (memfd, SysV shm, O_TMPFILE): writable
			      * through fds and mappings that never pass a hook */
	CONTENT_UNSTABLE,    /* FUSE: the server answers each read as it likes */
};

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

static __always_inline enum content_kind content_kind(__u64 addr)
{
	struct inode *inode = (void *)addr;
	unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
	struct block_device *bdev;
	__u32 major;

	if (magic == FUSE_SUPER_MAGIC)
		return CONTENT_UNSTABLE;
	if (magic == TMPFS_MAGIC || magic == HUGETLBFS_MAGIC) {
		if (BPF_CORE_READ(inode, __i_nlink))
			return magic == TMPFS_MAGIC ? CONTENT_CACHEABLE : CONTENT_UNCACHED;
		/* F_SEAL_WRITE is refused while a writable mapping exists and stops all writes. */
		if (!(shmem_seals(inode, magic) & F_SEAL_WRITE))
			return CONTENT_UNSEALED;
		return magic == TMPFS_MAGIC ? CONTENT_CACHEABLE : CONTENT_UNCACHED;
	}
	bdev = BPF_CORE_READ(inode, i_sb, s_bdev);
	if (!bdev)
		return CONTENT_UNCACHED;
	major = BPF_CORE_READ(bdev, bd_dev) >> 20;
	/* The image behind a loop or NBD device changes without a write this kernel sees. */
	if (major == LOOP_MAJOR || major == NBD_MAJOR)
		return CONTENT_UNCACHED;
	return CONTENT_CACHEABLE;
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

static __always_inline bool entry_valid(const struct tcl_digest_val *e,
					const struct tcl_digest_val *cur)
{
	return e->inval_seq == cur->inval_seq &&
	       e->ctime_sec == cur->ctime_sec && e->ctime_nsec == cur->ctime_nsec &&
	       e->mtime_sec == cur->mtime_sec && e->mtime_nsec == cur->mtime_nsec &&
	       e->size == cur->size && e->i_version == cur->i_version;
}

/*
 * A mix of an entry's fields and its key. Elements of a preallocated map are reused as soon as
 * they are replaced, so a reader's copy can be half of one entry and half of another (of this
 * key or another): such a copy does not match its check.
 */
#define DIGEST_VAL_WORDS (offsetof(struct tcl_digest_val, check) / sizeof(__u64))

static __always_inline __u64 entry_check(const struct tcl_digest_val *v,
					 const struct tcl_inode_key *k)
{
	const __u64 *w = (const __u64 *)v;
	__u64 h = k->inode ^ k->dev * 0x9E3779B97F4A7C15ULL ^ k->ino * 0xC2B2AE3D27D4EB4FULL ^
		  ((__u64)k->generation << 32);

	for (int i = 0; i < DIGEST_VAL_WORDS; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

static __always_inline bool has_writers(__u64 addr)
{
	struct inode *inode = (void *)addr;

	return BPF_CORE_READ(inode, i_writecount.counter) > 0;
}

/* The address of a file's inode as a number (the verifier allows no arithmetic on pointers). */
static __always_inline __u64 inode_addr(struct file *file)
{
	return (__u64)BPF_CORE_READ(file, f_inode);
}

/* What one check found out about a file. */
struct file_facts {
	__u64 content;		/* address of the inode holding the content (== f_inode off overlay) */
	enum content_kind kind;
	bool writers;		/* open for writing through the file or its layer inode */
	bool cached;		/* the digest came from the cache */
};

static __always_inline void file_facts(struct file *file, struct file_facts *ff)
{
	ff->content = content_inode(file);
	ff->kind = ff->content ? content_kind(ff->content) : CONTENT_UNCACHED;
	/* A layer that cannot be told (nested too deep, an unknown layout): hash at every use. */
	if (!ff->content)
		ff->content = inode_addr(file);
	ff->writers = has_writers(inode_addr(file)) || (ff->content && has_writers(ff->content));
	ff->cached = false;
}

/*
 * Digest of a file: from the cache when its entry is still valid, else hashed in the kernel.
 * can_hash is false in non-sleepable hooks: a miss there returns -EAGAIN.
 * Returns 0 (digest in out), or a negative error.
 */
static __always_inline int file_digest(struct file *file, struct file_facts *ff, bool can_hash,
				       __u8 *out)
{
	struct tcl_digest_val cur = {}, *hit;
	struct tcl_inode_key k;
	long ret;

	if (!ff->content)
		return -2; /* -ENOENT: an overlay nested too deep, or no inode */
	inode_key(ff->content, &k);
	/* Capture the invalidation state before hashing: a write racing with the hash bumps it. */
	cur.inval_seq = inval_seq(ff->content);
	inode_attrs(ff->content, &cur);

	if (ff->kind == CONTENT_CACHEABLE && !ff->writers) {
		hit = bpf_map_lookup_elem(&tcl_digests, &k);
		if (hit) {
			/* Copy, then check the copy: the element may be reused while we read. */
			struct tcl_digest_val e = *hit;

			if (e.check == entry_check(&e, &k) && entry_valid(&e, &cur)) {
				__builtin_memcpy(out, e.sha256, TCL_SHA256_LEN);
				ff->cached = true;
				count(TCL_CNT_CACHE_HITS);
				return 0;
			}
		}
	}
	count(TCL_CNT_CACHE_MISSES);
	if (!can_hash)
		return -11; /* -EAGAIN */
	ret = bpf_ima_file_hash(file, cur.sha256, TCL_SHA256_LEN);
	if (ret != HASH_ALGO_SHA256) {
		count(TCL_CNT_HASH_ERRORS);
		return ret < 0 ? ret : -95; /* -EOPNOTSUPP: IMA hashes with another algorithm */
	}
	__builtin_memcpy(out, cur.sha256, TCL_SHA256_LEN);
	/* Cache only what cannot have changed during the hash: no writer came or went. */
	if (ff->kind != CONTENT_CACHEABLE || ff->writers || has_writers(inode_addr(file)) ||
	    has_writers(ff->content) || inval_seq(ff->content) != cur.inval_seq)
		return 0;
	cur.check = entry_check(&cur, &k);
	bpf_map_update_elem(&tcl_digests, &k, &cur, BPF_ANY);
	return 0;
}

static __always_inline bool digest_allowed(const __u8 *sha256, __u32 image_idx)
{
	struct tcl_allow_key k = {};

	__builtin_memcpy(k.sha256, sha256, TCL_SHA256_LEN);
	if (bpf_map_lookup_elem(&tcl_allow, &k))
		return true;
	if (!image_idx)
		return false;
	k.image_idx = image_idx;
	return bpf_map_lookup_elem(&tcl_allow, &k) != NULL;
}

/* A record for the ring buffer with the fields every file record has; NULL when it is full. */
static __always_inline struct tcl_event *file_event(struct file *file, enum tcl_hook hook,
						    enum tcl_verdict verdict,
						    enum tcl_reason reason, __u64 scope_cgid,
						    __u32 image_idx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_event *e;

	e = bpf_ringbuf_reserve(&tcl_events, sizeof(*e), 0);
	if (!e) {
		count(TCL_CNT_DROPS);
		return NULL;
	}
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->scope_cgid = scope_cgid;
	e->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	e->ino = BPF_CORE_READ(file, f_inode, i_ino);
	e->pid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->hook = hook;
	e->verdict = verdict;
	e->reason = reason;
	e->flags = 0;
	e->hash_err = 0;
	e->image_idx = image_idx;
	e->guard_op = 0;
	__builtin_memset(e->sha256, 0, TCL_SHA256_LEN);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
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
	bpf_ringbuf_submit(e, 0);
	count(TCL_CNT_EVENTS);
}

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
	/* What the content is comes first: an unsealed memfd is refused whether it hashes or not. */
	if (ff.kind == CONTENT_UNSEALED)
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
	if (!file || !(prot & PROT_EXEC))
		return 0;
	return check_file(file, TCL_HOOK_MMAP, true);
}

/* Not sleepable on every kernel: decided from the digest cache alone, misses are denied. */
SEC("lsm/file_mprotect")
int BPF_PROG(tcl_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot,
	     unsigned long prot, int ret)
{
	struct file *file;

	if (ret)
		return ret;
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
		.off = bpf_core_field_offset(struct vm_area_struct, shared.rb),
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
	if (file) {
		e = file_event(file, TCL_HOOK_OPEN, enforce ? TCL_VERDICT_DENY : TCL_VERDICT_AUDIT,
			       TCL_REASON_MAPPED_WRITE, scope, sv.image_idx);
		if (e)
			file_event_submit(e, file, false);
	}
	return enforce ? -ETXTBSY : 0;
}

SEC("lsm/path_truncate")
int BPF_PROG(tcl_path_truncate, const struct path *path, int ret)
{
	__u64 inode = (__u64)BPF_CORE_READ(path, dentry, d_inode);

	if (ret || !inode)
		return ret;
	return check_write(NULL, inode);
}

/* Linux >= 6.2 sends ftruncate here instead of path_truncate (loaded where the hook exists). */
SEC("lsm/file_truncate")
int BPF_PROG(tcl_file_truncate, struct file *file, int ret)
{
	if (ret)
		return ret;
	return check_write(file, inode_addr(file));
}

/*
 * Container lifecycle. A new cgroup whose name is a container's (kubelet, containerd, CRI-O and
 * docker naming, systemd or cgroupfs driver) joins the scope here, in the kernel, before any
 * process can run in it: user space learns of it afterwards and only refines the entry (image
 * set, attribution). A cgroup below one already in scope never gets its own entry, so a
 * container cannot give itself another identity by naming its sub-cgroups.
 */
#define CG_NAME_LEN 256

struct cg_scratch {
	char name[CG_NAME_LEN];
	char parent[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_scratch);
} cg_scratch SEC(".maps");

/* The mask keeps the verifier's bounds; the empty asm keeps the compiler from dropping it. */
static __always_inline char at(const char *buf, int i)
{
	unsigned int j = i;

	asm volatile("" : "+r"(j));
	return buf[j & (CG_NAME_LEN - 1)];
}

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Does name[0..end) end with the runtime word w (length wl)? */
static __always_inline bool word_before(const char *name, int end, const char *w, int wl)
{
	if (end < wl)
		return false;
	for (int i = 0; i < 16; i++) {
		if (i >= wl)
			break;
		if (at(name, end - wl + i) != w[i])
			return false;
	}
	/* The word must start the name or follow a separator. */
	return end == wl || at(name, end - wl - 1) == '-' ||
	       at(name, end - wl - 1) == ':' ||
	       at(name, end - wl - 1) == '_';
}

static __always_inline bool container_cgroup_name(struct cg_scratch *s, int len)
{
	const char *name = s->name;
	int end = len, start, sep;

	if (len < 64 || len >= CG_NAME_LEN)
		return false;
	if (len > 6 && at(name, len - 6) == '.' &&
	    at(name, len - 5) == 's' &&
	    at(name, len - 4) == 'c' &&
	    at(name, len - 3) == 'o' &&
	    at(name, len - 2) == 'p' && at(name, len - 1) == 'e')
		end = len - 6;
	start = end - 64;
	if (start < 0)
		return false;
	for (int i = 0; i < 64; i++)
		if (!is_hex(at(name, start + i)))
			return false;
	if (start == 0)
		/* cgroupfs driver: <qos>/pod<uid>/<id>, or docker's /docker/<id> */
		return end == len &&
		       ((s->parent[0] == 'p' && s->parent[1] == 'o' && s->parent[2] == 'd') ||
			(s->parent[0] == 'd' && s->parent[1] == 'o' && s->parent[2] == 'c' &&
			 s->parent[3] == 'k' && s->parent[4] == 'e' && s->parent[5] == 'r' &&
			 s->parent[6] == 0));
	sep = at(name, start - 1);
	if (sep != '-' && sep != ':')
		return false;
	/* "crio-conmon-<id>" fails here: the word before the id is "conmon". */
	return word_before(name, start - 1, "cri-containerd", 14) ||
	       word_before(name, start - 1, "crio", 4) || word_before(name, start - 1, "docker", 6);
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
	unsigned long base = (unsigned long)cgrp + bpf_core_field_offset(struct cgroup, ancestors);

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

static __always_inline void emit_cgroup(enum tcl_hook hook, __u64 cgid, const char *path,
					enum tcl_reason reason)
{
	struct tcl_event *e;

	e = bpf_ringbuf_reserve(&tcl_events, sizeof(*e), 0);
	if (!e) {
		count(TCL_CNT_DROPS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e) - sizeof(e->path));
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = cgid;
	e->scope_cgid = cgid;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->hook = hook;
	e->reason = reason;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) == sizeof(e->path))
		e->flags |= TCL_EV_F_PATH_TRUNC;
	bpf_ringbuf_submit(e, 0);
	count(TCL_CNT_EVENTS);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(tcl_cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct tcl_config *cfg = get_config();
	struct tcl_scope_val sv = { .image_idx = 0, .flags = TCL_SCOPE_CONTAINER };
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);
	struct cg_scratch *s;
	__u32 zero = 0;
	__u64 id;
	long len;

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
	sv.image_idx = 0;
	sv.flags = TCL_SCOPE_CONTAINER;
	s = bpf_map_lookup_elem(&cg_scratch, &zero);
	if (!s)
		return 0;
	len = bpf_probe_read_kernel_str(s->name, sizeof(s->name), BPF_CORE_READ(kn, name));
	if (len <= 1)
		return 0;
	__builtin_memset(s->parent, 0, sizeof(s->parent));
	bpf_probe_read_kernel_str(s->parent, sizeof(s->parent), BPF_CORE_READ(kn, parent, name));
	if (!container_cgroup_name(s, len - 1) || ancestor_in_scope(cgrp))
		return 0;
	id = BPF_CORE_READ(kn, id);
	if (bpf_map_update_elem(&tcl_scope, &id, &sv, BPF_NOEXIST) && !bpf_map_lookup_elem(&tcl_scope, &id)) {
		/* Map full: the agent refuses this container at its hook (fail closed). */
		count(TCL_CNT_SCOPE_FULL);
		emit_cgroup(TCL_HOOK_CGROUP_MKDIR, id, path, TCL_REASON_SCOPE_FULL);
		return 0;
	}
	emit_cgroup(TCL_HOOK_CGROUP_MKDIR, id, path, TCL_REASON_NONE);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(tcl_cgroup_rmdir, struct cgroup *cgrp, const char *path)
{
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	struct tcl_scope_val *sv = bpf_map_lookup_elem(&tcl_scope, &id);

	if (!sv || !(sv->flags & TCL_SCOPE_CONTAINER))
		return 0;
	bpf_map_delete_elem(&tcl_scope, &id);
	emit_cgroup(TCL_HOOK_CGROUP_RMDIR, id, path, TCL_REASON_NONE);
	return 0;
}

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
#define MAY_WRITE 0x2
#define MAY_READ 0x4
#define MAY_APPEND 0x8
#define BPF_FS_MAGIC 0xcafe4a11
#define CGROUP2_SUPER_MAGIC 0x63677270
#define PTRACE_MODE_ATTACH 0x2

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct tcl_guard_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_guard SEC(".maps");


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

/* name: the object's name (kernel memory or a string constant), may be NULL. */
static __always_inline void emit_guard(enum tcl_guard_op op, __u64 scope, __u64 dev, __u64 id,
				       const char *name, enum tcl_reason reason)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_event *e;

	e = bpf_ringbuf_reserve(&tcl_events, sizeof(*e), 0);
	if (!e) {
		count(TCL_CNT_DROPS);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e) - sizeof(e->path));
	e->ts_boot_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->scope_cgid = scope;
	e->dev = dev;
	e->ino = id;
	e->pid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->hook = TCL_HOOK_GUARD;
	e->verdict = TCL_VERDICT_DENY;
	e->reason = reason;
	e->guard_op = op;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path[0] = 0;
	if (name)
		bpf_probe_read_kernel_str(e->path, sizeof(e->path), name);
	bpf_ringbuf_submit(e, 0);
	count(TCL_CNT_EVENTS);
}

static __always_inline bool tcl_name(const char *name)
{
	char n[4];

	if (bpf_probe_read_kernel(n, sizeof(n), name))
		return false;
	return n[0] == 't' && n[1] == 'c' && n[2] == 'l' && n[3] == '_';
}

SEC("lsm/bpf_map")
int BPF_PROG(tcl_guard_map, struct bpf_map *map, fmode_t fmode, int ret)
{
	struct tcl_config *cfg = get_config();
	__u64 scope;

	if (ret || !cfg)
		return ret;
	if (!tcl_name(map->name) && !guard_has(TCL_GUARD_MAP, map->id))
		return 0;
	scope = guarded(cfg);
	if (!scope)
		return 0;
	emit_guard(TCL_GUARD_OP_MAP_FD, scope, 0, map->id, map->name, TCL_REASON_TAMPER);
	return -EPERM;
}

SEC("lsm/bpf_prog")
int BPF_PROG(tcl_guard_prog, struct bpf_prog *prog, int ret)
{
	struct tcl_config *cfg = get_config();
	struct bpf_prog_aux *aux;
	__u64 scope;

	if (ret || !cfg)
		return ret;
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

SEC("lsm/bpf")
int BPF_PROG(tcl_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	struct tcl_config *cfg;
	enum tcl_guard_op op;
	__u64 scope;
	__u32 id;

	if (ret)
		return ret;
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

static __always_inline bool procs_file(struct kernfs_node *kn)
{
	char n[16] = {};

	if (bpf_probe_read_kernel_str(n, sizeof(n), BPF_CORE_READ(kn, name)) < 0)
		return false;
	/* "cgroup.procs" or "cgroup.threads" */
	if (n[0] != 'c' || n[6] != '.')
		return false;
	return (n[7] == 'p' && n[8] == 'r' && n[9] == 'o' && n[10] == 'c' && n[11] == 's' &&
		!n[12]) ||
	       (n[7] == 't' && n[8] == 'h' && n[9] == 'r' && n[10] == 'e' && n[11] == 'a' &&
		n[12] == 'd' && n[13] == 's' && !n[14]);
}

/*
 * Called for every path component of every lookup: the mask test comes first, so a lookup
 * (MAY_EXEC only) costs the trampoline and one compare.
 */
SEC("lsm/inode_permission")
int BPF_PROG(tcl_guard_inode, struct inode *inode, int mask, int ret)
{
	struct tcl_config *cfg;
	struct kernfs_node *kn;
	unsigned long magic;
	__u64 scope;

	if (ret || !(mask & (MAY_READ | MAY_WRITE | MAY_APPEND)))
		return ret;
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
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_config *cfg;

	if (ret || !(mode & PTRACE_MODE_ATTACH))
		return ret;
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

/* Write-opens: code in use (check_write) and process memory (above all, guarded tasks). */
#define PROC_SUPER_MAGIC 0x9fa0

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
	return n[0] == 'm' && n[1] == 'e' && n[2] == 'm';
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
	e = file_event(file, TCL_HOOK_OPEN, TCL_VERDICT_DENY, TCL_REASON_INJECT, scope,
		       sv.image_idx);
	if (e)
		file_event_submit(e, file, false);
	return -EPERM;
}

SEC("lsm/file_open")
int BPF_PROG(tcl_file_open, struct file *file, int ret)
{
	if (ret || !(file->f_mode & FMODE_WRITE))
		return ret;
	if (proc_mem_file(file))
		return check_proc_mem(file);
	return check_write(file, inode_addr(file));
}
