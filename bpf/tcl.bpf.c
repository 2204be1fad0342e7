// SPDX-License-Identifier: GPL-2.0
/*
 * tcl.bpf.c: measure and enforce what in-scope tasks execute.
 * Hooks: bprm_check_security (every exec, including #! scripts and their interpreters),
 * mmap_file with PROT_EXEC (shared objects, ld.so ./prog, LD_PRELOAD), file_mprotect adding
 * PROT_EXEC to a file mapping, file_open/path_truncate (invalidate cached digests on writes).
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcl_inode_key);
	__type(value, struct tcl_digest_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_digests SEC(".maps");

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

/*
 * Is the current task in scope? Walks from its own cgroup up to the root, so a scope entry
 * covers every cgroup below it. Returns the matching scope entry's cgroup id, 0 if none.
 */
static __always_inline __u64 scope_of_current(struct tcl_config *cfg, struct tcl_scope_val *out)
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
	if (cfg->scope_all) {
		out->image_idx = 0;
		out->flags = 0;
		return 1; /* the root cgroup's id: "everything" */
	}
	return 0;
}

static __always_inline void inode_key(struct inode *inode, struct tcl_inode_key *k)
{
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->generation = BPF_CORE_READ(inode, i_generation);
	k->pad = 0;
}

static __always_inline __u32 inval_bucket(const struct tcl_inode_key *k)
{
	__u64 h = k->ino * 0x9E3779B97F4A7C15ULL ^ k->dev * 0xC2B2AE3D27D4EB4FULL ^ k->generation;

	return (__u32)(h >> 32) % TCL_INVAL_BUCKETS;
}

static __always_inline __u64 inval_seq(const struct tcl_inode_key *k)
{
	__u32 b = inval_bucket(k);
	__u64 *seq = bpf_map_lookup_elem(&tcl_inval, &b);

	return seq ? *seq : 0;
}

static __always_inline void invalidate(struct inode *inode)
{
	struct tcl_inode_key k;
	__u32 b;
	__u64 *seq;

	inode_key(inode, &k);
	b = inval_bucket(&k);
	seq = bpf_map_lookup_elem(&tcl_inval, &b);
	if (seq)
		__sync_fetch_and_add(seq, 1);
}

/* The change attributes of an inode, as stored beside a cached digest. */
static __always_inline void inode_attrs(struct inode *inode, struct tcl_digest_val *v)
{
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
	v->i_version = BPF_CORE_READ(inode, i_version.counter);
}

static __always_inline bool attrs_equal(const struct tcl_digest_val *a,
					const struct tcl_digest_val *b)
{
	return a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->size == b->size && a->i_version == b->i_version;
}

/* Scratch space for a digest-cache value: too big for the 512-byte BPF stack with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcl_digest_val);
} scratch SEC(".maps");

/*
 * Digest of a file: from the cache when its entry is still valid, else hashed in the kernel.
 * can_hash is false in non-sleepable hooks: a miss there returns -EAGAIN.
 * Returns 0 (digest in out), or a negative error; *cached tells where it came from.
 */
static __always_inline int file_digest(struct file *file, bool can_hash, __u8 *out, bool *cached)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct tcl_digest_val *cur, *hit;
	struct tcl_inode_key k;
	__u32 zero = 0;
	bool writers;
	long ret;

	cur = bpf_map_lookup_elem(&scratch, &zero);
	if (!cur || !inode)
		return -2;
	inode_key(inode, &k);
	/* Capture the invalidation state before hashing: a write racing with the hash bumps it. */
	cur->inval_seq = inval_seq(&k);
	inode_attrs(inode, cur);
	writers = BPF_CORE_READ(inode, i_writecount.counter) > 0;

	hit = bpf_map_lookup_elem(&tcl_digests, &k);
	if (hit && !writers && hit->inval_seq == cur->inval_seq && attrs_equal(hit, cur)) {
		__builtin_memcpy(out, hit->sha256, TCL_SHA256_LEN);
		*cached = true;
		count(TCL_CNT_CACHE_HITS);
		return 0;
	}
	*cached = false;
	count(TCL_CNT_CACHE_MISSES);
	if (!can_hash)
		return -11; /* -EAGAIN */
	ret = bpf_ima_file_hash(file, cur->sha256, TCL_SHA256_LEN);
	if (ret != HASH_ALGO_SHA256) {
		count(TCL_CNT_HASH_ERRORS);
		return ret < 0 ? ret : -95; /* -EOPNOTSUPP: IMA hashes with another algorithm */
	}
	__builtin_memcpy(out, cur->sha256, TCL_SHA256_LEN);
	/* Content with writers may change under us: never cache it. */
	if (!writers)
		bpf_map_update_elem(&tcl_digests, &k, cur, BPF_ANY);
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

/* First use of a digest in a scope is reported once: it becomes a measurement. */
static __always_inline bool first_seen(__u64 scope_cgid, const __u8 *sha256)
{
	struct tcl_seen_key k = { .scope_cgid = scope_cgid };
	__u8 one = 1;

	__builtin_memcpy(k.sha256, sha256, TCL_SHA256_LEN);
	if (bpf_map_lookup_elem(&tcl_seen, &k))
		return false;
	return bpf_map_update_elem(&tcl_seen, &k, &one, BPF_NOEXIST) == 0;
}

static __always_inline void emit(struct file *file, enum tcl_hook hook, enum tcl_verdict verdict,
				 enum tcl_reason reason, __u64 scope_cgid, __u32 image_idx,
				 const __u8 *sha256, int hash_err, bool cached, bool can_path)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tcl_event *e;
	long n;

	e = bpf_ringbuf_reserve(&tcl_events, sizeof(*e), 0);
	if (!e) {
		count(TCL_CNT_DROPS);
		return;
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
	e->flags = cached ? TCL_EV_F_CACHED : 0;
	e->hash_err = hash_err;
	e->image_idx = image_idx;
	e->guard_op = 0;
	if (sha256)
		__builtin_memcpy(e->sha256, sha256, TCL_SHA256_LEN);
	else
		__builtin_memset(e->sha256, 0, TCL_SHA256_LEN);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path[0] = 0;
	if (can_path) {
		n = bpf_d_path(&file->f_path, e->path, sizeof(e->path));
		if (n < 0) {
			e->flags |= TCL_EV_F_PATH_TRUNC;
			BPF_CORE_READ_STR_INTO(&e->path, file, f_path.dentry, d_name.name);
		}
	} else {
		BPF_CORE_READ_STR_INTO(&e->path, file, f_path.dentry, d_name.name);
	}
	bpf_ringbuf_submit(e, 0);
	count(TCL_CNT_EVENTS);
}

/* The decision shared by every hook. Returns 0 or -EPERM. */
static __always_inline int check_file(struct file *file, enum tcl_hook hook, bool sleepable)
{
	struct tcl_config *cfg = get_config();
	struct tcl_scope_val sv = {};
	enum tcl_reason reason = TCL_REASON_NONE;
	__u8 sha[TCL_SHA256_LEN];
	bool cached = false, enforce;
	__u64 scope;
	int err;

	if (!cfg || !file)
		return 0;
	scope = scope_of_current(cfg, &sv);
	if (!scope)
		return 0;
	count(TCL_CNT_CHECKS);
	enforce = cfg->mode == TCL_MODE_ENFORCE;

	err = file_digest(file, sleepable, sha, &cached);
	if (err) {
		reason = TCL_REASON_HASH_FAILED;
	} else if (hook == TCL_HOOK_MMAP &&
		   BPF_CORE_READ(file, f_inode, i_writecount.counter) > 0) {
		reason = TCL_REASON_WRITERS;
	} else if (!digest_allowed(sha, sv.image_idx)) {
		reason = (sv.flags & TCL_SCOPE_REQUIRE_IMAGE) && !sv.image_idx ?
				 TCL_REASON_NO_IMAGE : TCL_REASON_NOT_ALLOWED;
	}

	if (reason == TCL_REASON_NONE) {
		if (first_seen(scope, sha))
			emit(file, hook, TCL_VERDICT_ALLOW, TCL_REASON_FIRST_SEEN, scope,
			     sv.image_idx, sha, 0, cached, sleepable);
		return 0;
	}
	count(enforce ? TCL_CNT_DENIALS : TCL_CNT_AUDITS);
	emit(file, hook, enforce ? TCL_VERDICT_DENY : TCL_VERDICT_AUDIT, reason, scope,
	     sv.image_idx, err ? NULL : sha, err, cached, sleepable);
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
	file = BPF_CORE_READ(vma, vm_file);
	if (!file)
		return 0;
	return check_file(file, TCL_HOOK_MPROTECT, false);
}

SEC("lsm/file_open")
int BPF_PROG(tcl_file_open, struct file *file, int ret)
{
	if (BPF_CORE_READ(file, f_mode) & FMODE_WRITE)
		invalidate(BPF_CORE_READ(file, f_inode));
	return ret;
}

SEC("lsm/path_truncate")
int BPF_PROG(tcl_path_truncate, const struct path *path, int ret)
{
	invalidate(BPF_CORE_READ(path, dentry, d_inode));
	return ret;
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

static __always_inline bool ancestor_in_scope(struct kernfs_node *kn)
{
	for (int i = 0; i < TCL_MAX_CGROUP_DEPTH; i++) {
		__u64 id;

		kn = BPF_CORE_READ(kn, parent);
		if (!kn)
			return false;
		id = BPF_CORE_READ(kn, id);
		if (bpf_map_lookup_elem(&tcl_scope, &id))
			return true;
	}
	return false;
}

static __always_inline void emit_cgroup(enum tcl_hook hook, __u64 cgid, const char *path)
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
	s = bpf_map_lookup_elem(&cg_scratch, &zero);
	if (!s)
		return 0;
	len = bpf_probe_read_kernel_str(s->name, sizeof(s->name), BPF_CORE_READ(kn, name));
	if (len <= 1)
		return 0;
	__builtin_memset(s->parent, 0, sizeof(s->parent));
	bpf_probe_read_kernel_str(s->parent, sizeof(s->parent), BPF_CORE_READ(kn, parent, name));
	if (!container_cgroup_name(s, len - 1) || ancestor_in_scope(kn))
		return 0;
	id = BPF_CORE_READ(kn, id);
	bpf_map_update_elem(&tcl_scope, &id, &sv, BPF_NOEXIST);
	emit_cgroup(TCL_HOOK_CGROUP_MKDIR, id, path);
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
	emit_cgroup(TCL_HOOK_CGROUP_RMDIR, id, path);
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
#define CAP_SYS_PTRACE 19

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct tcl_guard_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_guard SEC(".maps");

/* Linux >= 6.3 keeps the capability set in one u64. */
struct kernel_cap_struct___v63 {
	u64 val;
} __attribute__((preserve_access_index));

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

static __always_inline bool host_root(struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	__u64 caps;

	if (BPF_CORE_READ(task, thread_pid, level) || BPF_CORE_READ(cred, user_ns, level))
		return false;
	if (bpf_core_field_exists(((struct kernel_cap_struct___v63 *)0)->val)) {
		struct kernel_cap_struct___v63 *c = (void *)&cred->cap_effective;

		caps = BPF_CORE_READ(c, val);
	} else {
		caps = BPF_CORE_READ(cred, cap_effective.cap[0]);
	}
	return caps & (1ULL << CAP_SYS_PTRACE);
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
				       const char *name)
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
	e->reason = TCL_REASON_TAMPER;
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
	emit_guard(TCL_GUARD_OP_MAP_FD, scope, 0, map->id, map->name);
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
	emit_guard(TCL_GUARD_OP_PROG_FD, scope, 0, aux->id, aux->name);
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
	emit_guard(op, scope, 0, id, "bpf_link");
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
		emit_guard(TCL_GUARD_OP_PIN_ACCESS, scope, cfg->pin_dev, inode->i_ino, NULL);
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
		   "cgroup.procs");
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
		   (const char *)BPF_CORE_READ(name, d_name.name));
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
	if (!cfg || !is_agent(cfg, child) || task->tgid == child->tgid)
		return 0;
	emit_guard(TCL_GUARD_OP_PTRACE, 0, 0, child->tgid, "tcl-agent");
	return -EPERM;
}
