/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of tcl.bpf.o, in the order the skeleton lists them. Names and pins are ABI: the
 * loader (lib/bpf_loader.c), tclctl and a restarted agent find them by name.
 */
#ifndef TCL_MAPS_BPF_H
#define TCL_MAPS_BPF_H

#include "cgroup_grammar.h"

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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCL_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_events SEC(".maps");

/* A new cgroup's name and its parent's, for the grammar (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcl_cg_names);
} cg_scratch SEC(".maps");

/* tcl's own maps, programs, links and pins, by id (filled by the loader): see guard.bpf.h. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct tcl_guard_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcl_guard SEC(".maps");

static __always_inline void count(enum tcl_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&tcl_counters, &key);

	if (v)
		*v += 1;
}

static __always_inline void stat_add(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&tcl_stats, &key);

	if (v)
		*v += n;
}

/* One decision, for the metrics (tcl_stats). */
static __always_inline void count_decision(enum tcl_hook hook, enum tcl_verdict verdict,
					   enum tcl_reason reason)
{
	if (hook < TCL_STAT_HOOKS && verdict < TCL_STAT_VERDICTS && reason < TCL_STAT_REASONS)
		stat_add(TCL_STAT_DECISION(hook, verdict, reason), 1);
}

/* One bpf_ima_file_hash call that took ns nanoseconds. */
static __always_inline void count_hash_time(__u64 ns)
{
	static const __u64 bounds[TCL_STAT_HASH_BOUNDS] = TCL_STAT_HASH_BOUNDS_NS;
	__u32 b = TCL_STAT_HASH_BOUNDS;

#pragma unroll
	for (int i = TCL_STAT_HASH_BOUNDS - 1; i >= 0; i--)
		if (ns <= bounds[i])
			b = i;
	stat_add(TCL_STAT_HASH_BUCKET(b), 1);
	stat_add(TCL_STAT_HASH_NS, ns);
}

static __always_inline struct tcl_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tcl_config, &zero);
}

#endif
