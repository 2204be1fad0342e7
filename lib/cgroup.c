// SPDX-License-Identifier: GPL-2.0
/* Cgroup v2 path -> container attribution; cgroup id <-> path. See cgroup.h for the layouts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_grammar.h"
#include "diag.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct comp {
	const char *s;
	size_t n;
};

#define LIT(x) (x), (sizeof(x) - 1)

static bool comp_eq(struct comp c, const char *lit, size_t n)
{
	return c.n == n && memcmp(c.s, lit, n) == 0;
}

static bool has_prefix(struct comp c, const char *p, size_t n)
{
	return c.n >= n && memcmp(c.s, p, n) == 0;
}

static bool has_suffix(struct comp c, const char *p, size_t n)
{
	return c.n >= n && memcmp(c.s + c.n - n, p, n) == 0;
}

static struct comp sub(struct comp c, size_t off, size_t n)
{
	return (struct comp){ c.s + off, n };
}

static bool contains(struct comp c, const char *p, size_t n)
{
	return c.n >= n && memmem(c.s, c.n, p, n) != NULL;
}

static bool is_lhex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!tcl_cg_is_lhex(s[i]))
			return false;
	return true;
}

/* Components are at most NAME_MAX bytes (checked before the walk), so their length fits. */
static bool is_id(struct comp c)
{
	return tcl_cg_is_id(c.s, 0, (int)c.n);
}

static void set_id(char *dst, struct comp c)
{
	memcpy(dst, c.s, TCL_CONTAINER_ID_LEN);
	dst[TCL_CONTAINER_ID_LEN] = '\0';
}

/*
 * A pod UID is a UUID (8-4-4-4-12 lower-case hex, dashes written as @sep) or, for static pods,
 * the 32 hex digits of a hash. Written out with dashes.
 */
static bool parse_uid(struct comp c, char sep, char *out)
{
	static const size_t dash[] = { 8, 13, 18, 23 };
	size_t k = 0;

	if (c.n == 32 && is_lhex(c.s, c.n)) {
		memcpy(out, c.s, 32);
		out[32] = '\0';
		return true;
	}
	if (c.n != TCL_POD_UID_LEN)
		return false;
	for (size_t i = 0; i < c.n; i++) {
		if (k < 4 && i == dash[k]) {
			if (c.s[i] != sep)
				return false;
			out[i] = '-';
			k++;
		} else if (!is_lhex(&c.s[i], 1)) {
			return false;
		} else {
			out[i] = c.s[i];
		}
	}
	out[c.n] = '\0';
	return true;
}

static bool parse_qos(struct comp c, enum tcl_qos *qos)
{
	if (comp_eq(c, LIT("burstable")))
		*qos = TCL_QOS_BURSTABLE;
	else if (comp_eq(c, LIT("besteffort")))
		*qos = TCL_QOS_BESTEFFORT;
	else
		return false;
	return true;
}

enum match { M_NONE, M_CONTAINER, M_CONMON, M_BAD };

/*
 * What the grammar (cgroup_grammar.h) found, as the walk sees it. Podman's containers are
 * containers but not ones we attribute (no OCI bundle where ocimeta looks): M_BAD, so the
 * cgroup is in scope and unattributed.
 */
static enum match from_grammar(const struct tcl_cg_match *m, struct comp c, enum tcl_runtime *rt,
			       char *id)
{
	static const enum tcl_runtime rts[] = {
		[TCL_CG_RT_CONTAINERD] = TCL_RT_CONTAINERD,
		[TCL_CG_RT_CRIO] = TCL_RT_CRIO,
		[TCL_CG_RT_DOCKER] = TCL_RT_DOCKER,
		[TCL_CG_RT_BARE] = TCL_RT_UNKNOWN,
	};

	switch (m->kind) {
	case TCL_CG_CONTAINER:
		if (m->rt == TCL_CG_RT_PODMAN || m->rt <= TCL_CG_RT_NONE || m->rt > TCL_CG_RT_BARE)
			return M_BAD;
		*rt = rts[m->rt];
		set_id(id, sub(c, m->id, TCL_CONTAINER_ID_LEN));
		return M_CONTAINER;
	case TCL_CG_CONMON:
		return M_CONMON;
	case TCL_CG_BAD:
		return M_BAD;
	default:
		return M_NONE;
	}
}

/*
 * "<prefix>-<id>.scope" as made by runc/crun's systemd driver; with @scope false the cgroupfs
 * spelling "<prefix>-<id>". A known prefix with a malformed id is M_BAD, not host.
 */
static enum match match_runtime_comp(struct comp c, bool scope, enum tcl_runtime *rt, char *id)
{
	struct tcl_cg_match m;

	tcl_cg_runtime_name(c.s, (int)c.n, scope, &m);
	return from_grammar(&m, c, rt, id);
}

static bool kubepods_ish(struct comp c)
{
	return has_prefix(c, LIT("kubepods")) || contains(c, LIT("-kubepods"));
}

/*
 * A systemd pod slice on its own, without knowing its parents:
 * "[<x>-]kubepods[-<qos>]-pod<uid_>.slice". Used for the slice half of the colon form.
 */
static bool parse_pod_slice(struct comp c, enum tcl_qos *qos, char *uid)
{
	struct comp stem, rest, seg;
	const char *dash;

	if (!has_suffix(c, LIT(".slice")))
		return false;
	stem = sub(c, 0, c.n - (sizeof(".slice") - 1));
	dash = memrchr(stem.s, '-', stem.n);
	if (!dash)
		return false;
	seg = sub(stem, dash + 1 - stem.s, stem.s + stem.n - dash - 1);
	rest = sub(stem, 0, dash - stem.s);
	if (!has_prefix(seg, LIT("pod")) ||
	    !parse_uid(sub(seg, 3, seg.n - 3), '_', uid))
		return false;
	*qos = TCL_QOS_GUARANTEED;
	dash = memrchr(rest.s, '-', rest.n);
	if (dash && parse_qos(sub(rest, dash + 1 - rest.s, rest.s + rest.n - dash - 1), qos))
		rest.n = dash - rest.s;
	return comp_eq(rest, LIT("kubepods")) || has_suffix(rest, LIT("-kubepods"));
}

/*
 * "<slice>:<prefix>:<id>": kubelet's systemd-style cgroupsPath taken literally by a cgroupfs
 * driver. Pod and QoS come from the slice when it is a pod slice.
 */
static enum match match_colon(struct comp c, struct tcl_cgroup_info *out)
{
	struct tcl_cg_match m;
	struct comp slice;
	enum tcl_runtime rt = TCL_RT_NONE;
	enum tcl_qos qos;
	char uid[TCL_POD_UID_LEN + 1], id[TCL_CONTAINER_ID_LEN + 1];
	enum match r;

	tcl_cg_colon(c.s, (int)c.n, &m);
	r = from_grammar(&m, c, &rt, id);
	if (r != M_CONTAINER)
		return r;
	slice = sub(c, 0, m.slice);
	if (!has_suffix(slice, LIT(".slice")))
		return M_BAD;
	if (parse_pod_slice(slice, &qos, uid)) {
		/* below a QoS or pod level already: the two must agree */
		if ((out->pod_uid[0] && strcmp(out->pod_uid, uid)) ||
		    (out->qos != TCL_QOS_NONE && out->qos != qos))
			return M_BAD;
		strcpy(out->pod_uid, uid);
		out->qos = qos;
	} else if (kubepods_ish(slice)) {
		return M_BAD;
	}
	out->runtime = rt;
	memcpy(out->container_id, id, sizeof(id));
	return M_CONTAINER;
}

enum state {
	S_HOST,
	S_SD_ROOT,	/* in <..>kubepods.slice */
	S_SD_QOS,	/* in kubepods-<qos>.slice */
	S_SD_POD,	/* in a pod slice */
	S_FS_ROOT,	/* in kubepods */
	S_FS_QOS,	/* in kubepods/<qos> */
	S_FS_POD,	/* in kubepods[/<qos>]/pod<uid> */
	S_DOCKER,	/* in /docker */
	S_LIBPOD,	/* in podman's libpod_parent (cgroupfs manager) */
	S_CONTAINER,	/* at or below a container cgroup */
	S_CONMON,	/* at or below a conmon cgroup */
};

/*
 * A systemd child slice is named after its parent: parent stem "a-b" -> "a-b-<suffix>.slice".
 * Returns the suffix, or .s == NULL when @c is not a child slice of @stem.
 */
static struct comp child_slice(struct comp c, struct comp stem)
{
	struct comp none = { NULL, 0 };

	if (!has_suffix(c, LIT(".slice")) || c.n < stem.n + 1 + sizeof(".slice") - 1 ||
	    memcmp(c.s, stem.s, stem.n) || c.s[stem.n] != '-')
		return none;
	return sub(c, stem.n + 1, c.n - stem.n - 1 - (sizeof(".slice") - 1));
}

static bool pod_suffix(struct comp suffix, char sep, char *uid)
{
	return has_prefix(suffix, LIT("pod")) && parse_uid(sub(suffix, 3, suffix.n - 3), sep, uid);
}

/* One step of the walk from the root down. Returns the next state, or -errno to stop. */
static int step(enum state st, struct comp c, struct comp prev, struct comp *stem,
		struct tcl_cgroup_info *o)
{
	struct tcl_cg_match gm;
	struct comp suffix;
	enum match m;

	if (st == S_CONTAINER || st == S_CONMON)
		return st;

	m = match_colon(c, o);
	if (m == M_CONTAINER)
		return S_CONTAINER;
	if (m == M_BAD)
		return -EPROTO;

	switch (st) {
	case S_HOST:
		m = match_runtime_comp(c, true, &o->runtime, o->container_id);
		if (m == M_CONTAINER)
			return S_CONTAINER;
		if (m == M_CONMON)
			return S_CONMON;
		if (m == M_BAD)
			return -EPROTO;
		if (comp_eq(c, LIT("libpod_parent")))
			return S_LIBPOD;
		if (comp_eq(c, LIT("kubepods")))
			return S_FS_ROOT;
		if (comp_eq(c, LIT("kubepods.slice"))) {
			*stem = sub(c, 0, c.n - (sizeof(".slice") - 1));
			return S_SD_ROOT;
		}
		if (has_suffix(c, LIT("-kubepods.slice"))) {
			/* kubelet --cgroup-root=X.slice: X.slice/X-kubepods.slice */
			struct comp parent = sub(c, 0, c.n - (sizeof("-kubepods.slice") - 1));

			if (prev.n == parent.n + sizeof(".slice") - 1 &&
			    !memcmp(prev.s, parent.s, parent.n) &&
			    has_suffix(prev, LIT(".slice"))) {
				*stem = sub(c, 0, c.n - (sizeof(".slice") - 1));
				return S_SD_ROOT;
			}
			return -EPROTO;
		}
		if (kubepods_ish(c) || is_id(c))
			return -EPROTO;
		if (comp_eq(c, LIT("docker")))
			return S_DOCKER;
		return S_HOST;

	case S_LIBPOD:
		tcl_cg_in_libpod_parent(c.s, (int)c.n, &gm);
		m = from_grammar(&gm, c, &o->runtime, o->container_id);
		if (m == M_CONMON)
			return S_CONMON;
		if (m == M_BAD)
			return -EPROTO;
		/* anything else below libpod_parent is looked at as if it were not there */
		return step(S_HOST, c, prev, stem, o);

	case S_DOCKER:
		if (!is_id(c))
			return -EPROTO;
		o->runtime = TCL_RT_DOCKER;
		set_id(o->container_id, c);
		return S_CONTAINER;

	case S_SD_ROOT:
	case S_SD_QOS:
		suffix = child_slice(c, *stem);
		if (!suffix.s)
			return -EPROTO;
		if (st == S_SD_ROOT && parse_qos(suffix, &o->qos)) {
			*stem = sub(c, 0, c.n - (sizeof(".slice") - 1));
			return S_SD_QOS;
		}
		if (!pod_suffix(suffix, '_', o->pod_uid))
			return -EPROTO;
		if (st == S_SD_ROOT)
			o->qos = TCL_QOS_GUARANTEED;
		return S_SD_POD;

	case S_SD_POD:
	case S_FS_POD:
		/* cgroupfs: containerd and dockershim both name it <id>: TCL_RT_UNKNOWN */
		if (st == S_FS_POD)
			tcl_cg_in_pod_dir(c.s, (int)c.n, &gm);
		else
			tcl_cg_runtime_name(c.s, (int)c.n, true, &gm);
		m = from_grammar(&gm, c, &o->runtime, o->container_id);
		if (m == M_CONTAINER)
			return S_CONTAINER;
		if (m == M_CONMON)
			return S_CONMON;
		return -EPROTO;

	case S_FS_ROOT:
		if (parse_qos(c, &o->qos))
			return S_FS_QOS;
		/* fall through */
	case S_FS_QOS:
		if (!pod_suffix(c, '-', o->pod_uid))
			return -EPROTO;
		if (st == S_FS_ROOT)
			o->qos = TCL_QOS_GUARANTEED;
		return S_FS_POD;

	default:
		return -EPROTO;
	}
}

int tcl_cgroup_parse(const char *path, struct tcl_cgroup_info *out)
{
	struct tcl_cgroup_info o = { 0 };
	struct comp prev = { "", 0 }, stem = { "", 0 };
	enum state st = S_HOST;
	const char *p;
	size_t len;
	int ret = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!path || !*path)
		return -EINVAL;
	len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;

	for (p = path; p < path + len;) {
		const char *e = memchr(p, '/', path + len - p);
		struct comp c = { p, (e ? e : path + len) - p };

		p = e ? e + 1 : path + len;
		if (!c.n)
			continue;
		if (c.n > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		if (comp_eq(c, LIT(".")) || comp_eq(c, LIT(".."))) {
			ret = -EINVAL;
			goto out;
		}
		ret = step(st, c, prev, &stem, &o);
		if (ret < 0) {
			pr_debug("cgroup", "unknown container layout at '%.*s' in %s",
				 (int)c.n, c.s, path);
			goto out;
		}
		st = ret;
		ret = 0;
		prev = c;
	}
	if (st != S_CONTAINER)
		ret = -ENOENT;
out:
	if (ret) {
		o.runtime = TCL_RT_NONE;
		o.container_id[0] = '\0';
		if (ret != -ENOENT)
			memset(&o, 0, sizeof(o));
	}
	*out = o;
	return ret;
}

const char *tcl_runtime_name(enum tcl_runtime rt)
{
	switch (rt) {
	case TCL_RT_NONE:
		return "none";
	case TCL_RT_CONTAINERD:
		return "containerd";
	case TCL_RT_CRIO:
		return "cri-o";
	case TCL_RT_DOCKER:
		return "docker";
	default:
		return "unknown";
	}
}

const char *tcl_qos_name(enum tcl_qos qos)
{
	switch (qos) {
	case TCL_QOS_GUARANTEED:
		return "Guaranteed";
	case TCL_QOS_BURSTABLE:
		return "Burstable";
	case TCL_QOS_BESTEFFORT:
		return "BestEffort";
	default:
		return "none";
	}
}

/* The kernfs file handle of a cgroup directory is its 64-bit cgroup id. */
static int id_at(int dirfd, const char *name, int flags, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + 16];
	} h;
	struct stat st;
	int mnt;

	h.fh.handle_bytes = 16;
	if (!name_to_handle_at(dirfd, name, &h.fh, &mnt, flags) && h.fh.handle_bytes == 8) {
		memcpy(id, h.fh.f_handle, 8);
		return 0;
	}
	/* older kernels: the inode number is the id on 64-bit */
	if (fstatat(dirfd, name, &st, flags | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = st.st_ino;
	return 0;
}

static int open_cgroup2_dir(const char *path)
{
	struct statfs sfs;
	int fd, ret;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		close(fd);
		return -EMEDIUMTYPE;
	}
	return fd;
}

int tcl_cgroup_id_of_path(const char *abs_dir, uint64_t *cgid)
{
	int fd, ret;

	if (!abs_dir || !cgid)
		return -EINVAL;
	fd = open_cgroup2_dir(abs_dir);
	if (fd < 0)
		return fd;
	ret = id_at(fd, "", AT_EMPTY_PATH, cgid);
	close(fd);
	return ret;
}

/*
 * Depth-first search below the directory @fd (consumed). @path holds the relative path of @fd
 * (@plen bytes) and receives the match. Returns 1 found, 0 not found, -ENAMETOOLONG.
 */
static int walk(int fd, uint64_t want, char *path, size_t plen, size_t cap, int depth)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while (ret == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		uint64_t id;
		int cfd;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (id_at(dirfd(d), de->d_name, 0, &id))
			continue;	/* gone, or not a directory */
		if (id == want) {
			if (plen + 1 + n + 1 > cap) {
				ret = -ENAMETOOLONG;
				break;
			}
			path[plen] = '/';
			memcpy(path + plen + 1, de->d_name, n + 1);
			ret = 1;
			break;
		}
		if (depth + 1 >= TCL_CGROUP_MAX_DEPTH || plen + 1 + n + 1 > cap)
			continue;
		cfd = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		ret = walk(cfd, want, path, plen + 1 + n, cap, depth + 1);
		if (ret == 0)
			path[plen] = '\0';
	}
	closedir(d);
	return ret;
}

int tcl_cgroup_path_of_id(const char *cgroup_root, uint64_t cgid, char *buf, size_t len)
{
	char path[PATH_MAX];
	uint64_t root_id;
	int fd, ret;

	if (!cgroup_root || !buf || !len)
		return -EINVAL;
	fd = open_cgroup2_dir(cgroup_root);
	if (fd < 0) {
		pr_err("cgroup", "%s: %s", cgroup_root, strerror(-fd));
		return fd;
	}
	ret = id_at(fd, "", AT_EMPTY_PATH, &root_id);
	if (ret)
		goto out_close;
	if (root_id == cgid) {
		ret = -ENAMETOOLONG;
		if (len >= 2) {
			strcpy(buf, "/");
			ret = 0;
		}
		goto out_close;
	}
	path[0] = '\0';
	ret = walk(fd, cgid, path, 0, sizeof(path), 0);
	fd = -1;	/* walk() took it */
	if (ret == 1) {
		ret = -ENAMETOOLONG;
		if (strlen(path) < len) {
			strcpy(buf, path);
			ret = 0;
		}
	} else if (ret == 0) {
		ret = -ENOENT;
	}
out_close:
	if (fd >= 0)
		close(fd);
	return ret;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return !statfs(path, &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

int tcl_cgroup_find_root(char *buf, size_t len)
{
	static const char *const cand[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;
	FILE *f;

	if (!buf || !len)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		if (!is_cgroup2(cand[i]))
			continue;
		if (strlen(cand[i]) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, cand[i]);
		return 0;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (ret == -ENOENT && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - "), *mp, *save = NULL;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		mp = strtok_r(line, " ", &save);
		for (int k = 0; mp && k < 4; k++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		unescape_octal(mp);
		if (!is_cgroup2(mp))
			continue;
		ret = -ENAMETOOLONG;
		if (strlen(mp) < len) {
			strcpy(buf, mp);
			ret = 0;
		}
	}
	free(line);
	fclose(f);
	return ret;
}
