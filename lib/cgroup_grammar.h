/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The container-cgroup grammar: which cgroup directory names are a container's, and where the
 * id is in them. One copy, compiled twice: into the BPF object (bpf/cgroup.bpf.h decides at
 * cgroup_mkdir whether a new cgroup joins the scope) and into user space (lib/cgroup.c walks a
 * whole path with it). So it is written for both compilers: static inline functions on plain
 * char arrays, bounded loops, no libc; clang -target bpf and gcc read the same lines.
 *
 * Names (<id> is exactly 64 lower-case hex):
 *   <rt>-<id>.scope      systemd driver; <rt> is cri-containerd, crio, docker or libpod (podman)
 *   <rt>-<id>            the cgroupfs spelling, below a pod directory (kubepods/.../pod<uid>)
 *   <id>                 cgroupfs: below a pod directory (containerd, dockershim), /docker/<id>
 *   libpod-<id>          podman's cgroupfs manager, below libpod_parent
 *   <slice>.slice:<rt>:<id>  a systemd-style cgroupsPath taken literally by a cgroupfs driver
 *                        (<rt> without libpod)
 * Monitors, never containers: crio-conmon-<id>[.scope], libpod-conmon-<id>.scope, and the
 * "conmon" cgroup of podman's cgroupfs manager (libpod_parent/conmon).
 *
 * The kernel sees one name and its parent's name (tcl_cg_classify); user space knows the whole
 * path and uses the same pieces from its state machine. A runtime prefix or colon form with a
 * malformed id is TCL_CG_BAD: it looks like a container but is no layout we know.
 *
 * Under BPF the name and parent are map-value buffers (struct tcl_cg_names) and every index is
 * masked: the verifier then knows each read stays inside them.
 */
#ifndef TCL_CGROUP_GRAMMAR_H
#define TCL_CGROUP_GRAMMAR_H

#define TCL_CG_ID_LEN 64
/* A kernfs name and its NUL (NAME_MAX + 1). */
#define TCL_CG_NAME_MAX 256
/* Bytes after a name that a BPF compare may cover (the longest literal compared). */
#define TCL_CG_SLACK 16

/* What the BPF programs classify: filled by bpf_probe_read_kernel_str, NUL-padded. */
struct tcl_cg_names {
	char name[TCL_CG_NAME_MAX + TCL_CG_SLACK];
	char parent[16];
};

enum tcl_cg_kind { TCL_CG_NONE, TCL_CG_CONTAINER, TCL_CG_CONMON, TCL_CG_BAD };

enum tcl_cg_rt {
	TCL_CG_RT_NONE,
	TCL_CG_RT_CONTAINERD,
	TCL_CG_RT_CRIO,
	TCL_CG_RT_DOCKER,
	TCL_CG_RT_PODMAN,
	TCL_CG_RT_BARE,		/* a bare <id> below a pod directory: containerd or dockershim */
};

struct tcl_cg_match {
	int kind;		/* enum tcl_cg_kind */
	int rt;			/* enum tcl_cg_rt */
	int id;			/* offset of the id in the name (TCL_CG_CONTAINER) */
	int slice;		/* colon form: length of the <slice> part, else -1 */
};

#ifdef __bpf__
#define TCL_CG_INLINE static __always_inline

/* The mask keeps the verifier's bounds; the empty asm keeps the compiler from dropping it. */
TCL_CG_INLINE int tcl_cg_off(int i)
{
	unsigned int j = i;

	asm volatile("" : "+r"(j));
	return j & (TCL_CG_NAME_MAX - 1);
}

TCL_CG_INLINE char tcl_cg_at(const char *s, int i)
{
	return s[tcl_cg_off(i)];
}

/*
 * s[off..off+n) == lit; lit a string literal (bpf_strncmp wants it in .rodata), n its length.
 * A constant offset is used as it is: it may point into a buffer smaller than a name.
 */
#define tcl_cg_cmp(s, off, lit, n)                                                           \
	(bpf_strncmp((s) + (__builtin_constant_p(off) ? (off) : tcl_cg_off(off)), (n), (lit)) == 0)

/* A scan of a whole name runs in bpf_loop: its callback is verified once, not per position. */
#define tcl_cg_scan(fn, ctx) bpf_loop(TCL_CG_NAME_MAX, fn, ctx, 0)
#else
#define TCL_CG_INLINE static inline

TCL_CG_INLINE char tcl_cg_at(const char *s, int i)
{
	return s[i];
}

TCL_CG_INLINE int tcl_cg_cmp(const char *s, int off, const char *lit, int n)
{
	for (int i = 0; i < n; i++)
		if (s[off + i] != lit[i])
			return 0;
	return 1;
}

#define tcl_cg_scan(fn, ctx)                                                                 \
	do {                                                                                 \
		for (unsigned int i_ = 0; i_ < TCL_CG_NAME_MAX; i_++)                        \
			if (fn(i_, ctx))                                                     \
				break;                                                       \
	} while (0)
#endif

/* Does s[off..len) start with the literal? Never reads outside s[0..len). */
#define tcl_cg_has(s, len, off, lit)                                                         \
	((off) >= 0 && (len) - (off) >= (int)sizeof(lit) - 1 &&                              \
	 tcl_cg_cmp(s, off, lit, (int)sizeof(lit) - 1))
/* Is s[0..len) exactly the literal? */
#define tcl_cg_is(s, len, lit) ((len) == (int)sizeof(lit) - 1 && tcl_cg_has(s, len, 0, lit))
/* Does s[0..len) end with the literal? */
#define tcl_cg_ends(s, len, lit) tcl_cg_has(s, len, (len) - ((int)sizeof(lit) - 1), lit)

TCL_CG_INLINE int tcl_cg_is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Runtimes only ever print ids as 64 lower-case hex; anything else is not an id. */
TCL_CG_INLINE int tcl_cg_is_id(const char *s, int off, int n)
{
	if (n != TCL_CG_ID_LEN || off < 0)
		return 0;
	for (int i = 0; i < TCL_CG_ID_LEN; i++)
		if (!tcl_cg_is_lhex(tcl_cg_at(s, off + i)))
			return 0;
	return 1;
}

TCL_CG_INLINE int tcl_cg_set(struct tcl_cg_match *m, int kind, int rt, int id)
{
	m->kind = kind;
	m->rt = rt;
	m->id = id;
	m->slice = -1;
	return kind;
}

/*
 * The id after a runtime prefix of pl bytes, before a tail of tl bytes (".scope" or none):
 * kind when it is one, else TCL_CG_BAD (the prefix says container, the rest says otherwise).
 */
TCL_CG_INLINE int tcl_cg_prefixed(const char *s, int len, int pl, int tl, int kind, int rt,
				  struct tcl_cg_match *m)
{
	if (!tcl_cg_is_id(s, pl, len - pl - tl))
		return tcl_cg_set(m, TCL_CG_BAD, TCL_CG_RT_NONE, 0);
	return tcl_cg_set(m, kind, kind == TCL_CG_CONTAINER ? rt : TCL_CG_RT_NONE, pl);
}

/*
 * "<rt>-<id>.scope" as runc/crun's systemd driver makes it; with scope 0 the cgroupfs spelling
 * "<rt>-<id>". The conmon prefixes come first: "crio-" is a prefix of "crio-conmon-".
 */
TCL_CG_INLINE int tcl_cg_runtime_name(const char *s, int len, int scope, struct tcl_cg_match *m)
{
	int tl = scope ? 6 : 0;

	tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
	if (scope && !tcl_cg_ends(s, len, ".scope"))
		return TCL_CG_NONE;
	if (tcl_cg_has(s, len, 0, "crio-conmon-"))
		return tcl_cg_prefixed(s, len, 12, tl, TCL_CG_CONMON, TCL_CG_RT_CRIO, m);
	if (tcl_cg_has(s, len, 0, "libpod-conmon-"))
		return tcl_cg_prefixed(s, len, 14, tl, TCL_CG_CONMON, TCL_CG_RT_PODMAN, m);
	if (tcl_cg_has(s, len, 0, "cri-containerd-"))
		return tcl_cg_prefixed(s, len, 15, tl, TCL_CG_CONTAINER, TCL_CG_RT_CONTAINERD, m);
	if (tcl_cg_has(s, len, 0, "crio-"))
		return tcl_cg_prefixed(s, len, 5, tl, TCL_CG_CONTAINER, TCL_CG_RT_CRIO, m);
	if (tcl_cg_has(s, len, 0, "docker-"))
		return tcl_cg_prefixed(s, len, 7, tl, TCL_CG_CONTAINER, TCL_CG_RT_DOCKER, m);
	if (tcl_cg_has(s, len, 0, "libpod-"))
		return tcl_cg_prefixed(s, len, 7, tl, TCL_CG_CONTAINER, TCL_CG_RT_PODMAN, m);
	return TCL_CG_NONE;
}

struct tcl_cg_colons {
	const char *s;
	int len;
	int first;		/* the first ':' or -1 */
	int last;		/* the last ':' or -1 */
};

/* One position of the colon scan (a bpf_loop callback): 1 stops. */
static long tcl_cg_colon_step(unsigned int i, void *ctx)
{
	struct tcl_cg_colons *c = ctx;

	if ((int)i >= c->len)
		return 1;
	if (tcl_cg_at(c->s, i) == ':') {
		if (c->first < 0)
			c->first = i;
		c->last = i;
	}
	return 0;
}

/*
 * "<slice>:<rt>:<id>": kubelet's systemd-style cgroupsPath taken literally by a cgroupfs driver.
 * <rt> is what lies between the first and the last colon. User space then checks the slice
 * (m->slice is its length): a systemd slice, of the pod it is in.
 */
TCL_CG_INLINE int tcl_cg_colon(const char *s, int len, struct tcl_cg_match *m)
{
	struct tcl_cg_colons c = { .s = s, .len = len, .first = -1, .last = -1 };
	int c1, c2, rt, ml;

	tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
	tcl_cg_scan(tcl_cg_colon_step, &c);
	c1 = c.first;
	c2 = c.last;
	if (c1 < 0 || c2 >= len || c1 >= c2)
		return TCL_CG_NONE;
	ml = c2 - c1 - 1;
	if (ml == 14 && tcl_cg_has(s, len, c1 + 1, "cri-containerd"))
		rt = TCL_CG_RT_CONTAINERD;
	else if (ml == 4 && tcl_cg_has(s, len, c1 + 1, "crio"))
		rt = TCL_CG_RT_CRIO;
	else if (ml == 6 && tcl_cg_has(s, len, c1 + 1, "docker"))
		rt = TCL_CG_RT_DOCKER;
	else
		return TCL_CG_NONE;
	/* A <slice> that is no systemd slice is still a container's: user space finds the layout
	 * unknown and keeps it in scope, unattributed. */
	if (!tcl_cg_is_id(s, c2 + 1, len - c2 - 1))
		return tcl_cg_set(m, TCL_CG_BAD, TCL_CG_RT_NONE, 0);
	tcl_cg_set(m, TCL_CG_CONTAINER, rt, c2 + 1);
	m->slice = c1;
	return TCL_CG_CONTAINER;
}

/* Below a cgroupfs pod directory: "<rt>-<id>.scope", "<rt>-<id>", or the bare "<id>". */
TCL_CG_INLINE int tcl_cg_in_pod_dir(const char *s, int len, struct tcl_cg_match *m)
{
	if (tcl_cg_runtime_name(s, len, 1, m) != TCL_CG_NONE ||
	    tcl_cg_runtime_name(s, len, 0, m) != TCL_CG_NONE)
		return m->kind;
	if (tcl_cg_is_id(s, 0, len))
		return tcl_cg_set(m, TCL_CG_CONTAINER, TCL_CG_RT_BARE, 0);
	return tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
}

/* Below podman's libpod_parent (cgroupfs manager): "libpod-<id>", and conmon's own cgroup. */
TCL_CG_INLINE int tcl_cg_in_libpod_parent(const char *s, int len, struct tcl_cg_match *m)
{
	tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
	if (tcl_cg_is(s, len, "conmon"))
		return tcl_cg_set(m, TCL_CG_CONMON, TCL_CG_RT_NONE, 0);
	if (tcl_cg_has(s, len, 0, "libpod-conmon-"))
		return tcl_cg_prefixed(s, len, 14, 0, TCL_CG_CONMON, TCL_CG_RT_PODMAN, m);
	if (tcl_cg_has(s, len, 0, "libpod-"))
		return tcl_cg_prefixed(s, len, 7, 0, TCL_CG_CONTAINER, TCL_CG_RT_PODMAN, m);
	return TCL_CG_NONE;
}

/* A cgroupfs pod directory as the kernel sees it: "pod..." (user space checks the uid). */
TCL_CG_INLINE int tcl_cg_pod_dir(const char *p, int plen)
{
	return tcl_cg_has(p, plen, 0, "pod");
}

/*
 * Is the cgroup "name" (len bytes), created in a directory "parent" (plen bytes), a container's?
 * What the kernel decides at cgroup_mkdir; only TCL_CG_CONTAINER joins the scope.
 */
TCL_CG_INLINE int tcl_cg_classify(const char *name, int len, const char *parent, int plen,
				  struct tcl_cg_match *m)
{
	if (len <= 0 || len >= TCL_CG_NAME_MAX)
		return tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
	if (tcl_cg_runtime_name(name, len, 1, m) != TCL_CG_NONE ||
	    tcl_cg_colon(name, len, m) != TCL_CG_NONE)
		return m->kind;
	if (tcl_cg_pod_dir(parent, plen))
		return tcl_cg_in_pod_dir(name, len, m);
	if (tcl_cg_is(parent, plen, "docker")) {
		if (tcl_cg_is_id(name, 0, len))
			return tcl_cg_set(m, TCL_CG_CONTAINER, TCL_CG_RT_DOCKER, 0);
		return tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
	}
	if (tcl_cg_is(parent, plen, "libpod_parent"))
		return tcl_cg_in_libpod_parent(name, len, m);
	return tcl_cg_set(m, TCL_CG_NONE, TCL_CG_RT_NONE, 0);
}

#endif
