/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a file's content is and what it hashes to: the inode that holds it (overlayfs: the layer,
 * core_fixes.bpf.h), how far it can be trusted between the check and its use, and the digest
 * cache with the write-invalidation counters that keep its entries honest.
 */
#ifndef TCL_CONTENT_BPF_H
#define TCL_CONTENT_BPF_H

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
	__u64 t0;
	long ret;

	if (!ff->content)
		return -ENOENT; /* an overlay nested too deep, or no inode */
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
		return -EAGAIN;
	t0 = bpf_ktime_get_ns();
	ret = bpf_ima_file_hash(file, cur.sha256, TCL_SHA256_LEN);
	count_hash_time(bpf_ktime_get_ns() - t0);
	if (ret != HASH_ALGO_SHA256) {
		count(TCL_CNT_HASH_ERRORS);
		return ret < 0 ? ret : -EOPNOTSUPP; /* IMA hashes with another algorithm */
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

#endif
