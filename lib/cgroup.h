/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cgroup v2 path -> container attribution (runtime, container id, pod UID, QoS class).
 *
 * tcl_cgroup_parse() takes a path relative to the cgroup v2 root, as /proc/PID/cgroup
 * ("0::<path>") or a walk of /sys/fs/cgroup gives it, e.g.
 *   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/
 *       cri-containerd-<id>.scope
 * and recognises every layout kubelet and the runtimes produce:
 *   systemd driver   <root>/kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_>.slice/
 *                        {cri-containerd,crio,docker}-<id>.scope
 *                    (also under a --cgroup-root such as kubelet.slice/kubelet-kubepods.slice)
 *   cgroupfs driver  <root>/kubepods[/<qos>]/pod<uid>/{<id>,crio-<id>}
 *   literal colons   .../kubepods[-<qos>]-pod<uid_>.slice:{cri-containerd,crio,docker}:<id>
 *                    (runc's cgroupfs driver given a systemd-style "slice:prefix:name")
 *   docker           .../docker-<id>.scope, /docker/<id>
 *   podman           .../libpod-<id>.scope, libpod_parent/libpod-<id> (cgroupfs manager): a
 *                    container we do not attribute, so -EPROTO
 * The names are those of the one grammar that the BPF object shares (cgroup_grammar.h).
 * <qos> is burstable or besteffort (no level: guaranteed). <id> is exactly 64 lower-case hex.
 * <uid> is a UUID (systemd escapes its dashes as '_') or 32 lower-case hex (static pods); it is
 * returned with dashes. Anything below a container cgroup (".../<id>.scope/init", sub-cgroups the
 * container made) belongs to the outermost container, so a container cannot claim another
 * identity by naming its own sub-cgroups.
 *
 * Return values of tcl_cgroup_parse():
 *   0              a container cgroup; *out fully set.
 *   -ENOENT        plainly not a container: host cgroups ("/", system.slice/..., user.slice/...),
 *                  the kubepods/QoS/pod levels themselves (pod_uid and qos are then set when
 *                  known), the conmon cgroups of CRI-O (crio-conmon-<id>) and podman
 *                  (libpod-conmon-<id>.scope, libpod_parent/conmon), "/docker" itself.
 *   -EPROTO        looks like a container (kubepods hierarchy, runtime prefix, bare 64-hex id)
 *                  but the layout is not one we know: the caller must treat the cgroup as an
 *                  unknown container, never as the host.
 *   -ENAMETOOLONG  path of PATH_MAX bytes or more, or a component longer than NAME_MAX.
 *   -EINVAL        NULL arguments, empty path, "." or ".." components.
 * On any non-zero return container_id is "" and runtime is TCL_RT_NONE.
 *
 * A bare <id> below a cgroupfs pod directory is produced by both containerd and dockershim, so it
 * is reported as TCL_RT_UNKNOWN; the OCI bundle lookup (ocimeta.h) tells which runtime owns it.
 */
#ifndef TCL_CGROUP_H
#define TCL_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#define TCL_CONTAINER_ID_LEN 64
#define TCL_POD_UID_LEN 36

enum tcl_runtime { TCL_RT_NONE, TCL_RT_CONTAINERD, TCL_RT_CRIO, TCL_RT_DOCKER, TCL_RT_UNKNOWN };
enum tcl_qos { TCL_QOS_NONE, TCL_QOS_GUARANTEED, TCL_QOS_BURSTABLE, TCL_QOS_BESTEFFORT };

struct tcl_cgroup_info {
	enum tcl_runtime runtime;
	enum tcl_qos qos;				/* TCL_QOS_NONE outside Kubernetes */
	char container_id[TCL_CONTAINER_ID_LEN + 1];	/* "" unless 0 is returned */
	char pod_uid[TCL_POD_UID_LEN + 1];		/* "" outside Kubernetes */
};

int tcl_cgroup_parse(const char *path, struct tcl_cgroup_info *out);

/* "none", "containerd", "cri-o", "docker", "unknown" */
const char *tcl_runtime_name(enum tcl_runtime rt);
/* "none", "Guaranteed", "Burstable", "BestEffort" (the Kubernetes spelling) */
const char *tcl_qos_name(enum tcl_qos qos);

/*
 * The id of a cgroup v2 directory (what bpf_get_current_cgroup_id() returns): its kernfs file
 * handle, or its inode number where file handles are unsupported.
 * -EMEDIUMTYPE if abs_dir is not on a cgroup2 file system, -ENOTDIR, or -errno of open().
 */
int tcl_cgroup_id_of_path(const char *abs_dir, uint64_t *cgid);

/*
 * Find the directory with id cgid below cgroup_root (a cgroup2 mount point) and write its path
 * relative to that root into buf ("/" for the root itself, else "/a/b"), ready for
 * tcl_cgroup_parse(). Walks at most TCL_CGROUP_MAX_DEPTH levels; directories that vanish or
 * cannot be read during the walk are skipped.
 * -ENOENT not found, -ENAMETOOLONG buf too small, -EMEDIUMTYPE root is not cgroup2.
 */
#define TCL_CGROUP_MAX_DEPTH 64
int tcl_cgroup_path_of_id(const char *cgroup_root, uint64_t cgid, char *buf, size_t len);

/*
 * Locate the cgroup v2 mount: /sys/fs/cgroup (unified), /sys/fs/cgroup/unified (hybrid), else the
 * first cgroup2 entry of /proc/self/mountinfo. -ENOENT when there is none.
 */
int tcl_cgroup_find_root(char *buf, size_t len);

#endif
