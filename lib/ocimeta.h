/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Container metadata from the OCI bundle's config.json and the CRI annotations in it, and the
 * container_start measurement record built from it.
 *
 * Sources, first match wins; absent values stay "" (never invented):
 *   pod          io.kubernetes.cri.sandbox-name, CRI-O Labels{io.kubernetes.pod.name},
 *                io.kubernetes.cri-o.KubeName, io.kubernetes.pod.name
 *   namespace_   io.kubernetes.cri.sandbox-namespace, CRI-O Labels{io.kubernetes.pod.namespace},
 *                io.kubernetes.cri-o.Namespace, io.kubernetes.pod.namespace
 *   pod_uid      io.kubernetes.cri.sandbox-uid, CRI-O Labels{io.kubernetes.pod.uid},
 *                io.kubernetes.pod.uid
 *   container    io.kubernetes.cri.container-name, CRI-O Labels{io.kubernetes.container.name},
 *                CRI-O Metadata{name} (containers only), io.kubernetes.container.name.
 *                io.kubernetes.cri-o.ContainerName is not used: it is the composite
 *                "k8s_<container>_<pod>_<ns>_<uid>_<attempt>" name, not the container's name.
 *   image        io.kubernetes.cri.image-name, io.kubernetes.cri-o.ImageName,
 *                io.kubernetes.cri-o.Image
 *   image_digest "sha256:<64 hex>" from, in order: org.tcl.image.digest ("sha256:<hex>" or bare
 *                hex); io.kubernetes.cri-o.ImageRef when it is "<repo>@sha256:<hex>" or
 *                "sha256:<hex>"; an image name above that contains "@sha256:<hex>".
 *   image_id     a bare 64-hex io.kubernetes.cri-o.ImageRef, as "sha256:<hex>": current CRI-O
 *                puts the image *ID* (config digest) there, which is not the manifest digest,
 *                so it is kept apart rather than passed off as image_digest.
 *   is_sandbox   io.kubernetes.cri.container-type / io.kubernetes.cri-o.ContainerType == sandbox
 *   sandbox_id   io.kubernetes.cri.sandbox-id, io.kubernetes.cri-o.SandboxID (64 hex)
 *   container_id io.kubernetes.cri-o.ContainerID; for a sandbox, its sandbox id. Overwritten by
 *                tcl_ocimeta_load() with the id it looked up (which must agree).
 *   bundle       the directory holding the config.json.
 *   runtime      set by tcl_ocimeta_load() from the root the bundle was found under
 *                ("containerd", "cri-o", "runc", "podman"); tcl_ocimeta_from_config() leaves
 *                it "".
 *
 * Digests (lower-case hex SHA-256), computed only when config.json has a "process":
 *   env_sha256    over process.env sorted bytewise (strcmp), each entry followed by one NUL;
 *   args_sha256   over process.args in order, each followed by one NUL;
 *   mounts_sha256 (when "mounts" is present) over, per mount in order,
 *                 destination NUL type NUL source NUL options-joined-with-',' NUL
 *                 (an absent field is the empty string).
 *
 * Bounds: config.json and state.json larger than TCL_META_MAX_FILE are -E2BIG; more than
 * TCL_META_MAX_ARGS args or TCL_META_MAX_ARGS_BYTES of args (NULs included) is -E2BIG, likewise
 * env (TCL_META_MAX_ENV) and mounts (TCL_META_MAX_MOUNTS); a string value that does not fit its
 * field is -E2BIG. Malformed JSON, a field of the wrong type, a string with an embedded NUL or a
 * malformed id is -EINVAL. Each failure is logged once, naming the file and the field.
 */
#ifndef TCL_OCIMETA_H
#define TCL_OCIMETA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define TCL_META_MAX_FILE (4u << 20)
#define TCL_META_MAX_ARGS 1024
#define TCL_META_MAX_ARGS_BYTES 65536
#define TCL_META_MAX_ENV 32768
#define TCL_META_MAX_MOUNTS 4096

/* Fixed size (about 80 KiB): allocate it, do not put it on a small stack. */
struct tcl_container_meta {
	char container_id[65];
	char sandbox_id[65];
	bool is_sandbox;
	char pod_uid[64];
	char pod[254];			/* Kubernetes names are at most 253 bytes */
	char namespace_[254];
	char container[254];
	char image[512];
	char image_digest[80];		/* "sha256:<64 hex>" */
	char image_id[80];		/* "sha256:<64 hex>" (CRI-O image ID), see above */
	char runtime[16];
	char bundle[PATH_MAX];

	bool has_process;		/* config.json has "process": the fields below are valid */
	bool has_user;			/* process.user present */
	uint32_t uid, gid;
	char cwd[PATH_MAX];
	char env_sha256[65];
	char args_sha256[65];
	char mounts_sha256[65];		/* "" when config.json has no "mounts" */

	uint32_t nargs;
	uint32_t args_len;		/* bytes used in args[], NULs included */
	uint32_t arg_off[TCL_META_MAX_ARGS];
	char args[TCL_META_MAX_ARGS_BYTES];	/* NUL-terminated args back to back */
};

static inline const char *tcl_meta_arg(const struct tcl_container_meta *m, uint32_t i)
{
	return i < m->nargs ? m->args + m->arg_off[i] : NULL;
}

/* Parse a config.json file into *m (cleared first). 0 or -errno (see above). */
int tcl_ocimeta_from_config(const char *config_json_path, struct tcl_container_meta *m);
/* Same on a buffer (the hook's stdin, fuzzers); @what names it in messages. bundle stays "". */
int tcl_ocimeta_from_buf(const char *what, const char *buf, size_t len,
			 struct tcl_container_meta *m);

/*
 * Where bundles are looked for. A NULL or "" member is not searched.
 *   containerd_tasks  <dir>/<namespace>/<id>/config.json, every namespace tried
 *   crio_containers   <dir>/<id>/userdata/config.json
 *   podman_containers <dir>/<id>/userdata/config.json  (podman: containers/storage's graph root)
 *   runc_root         <dir>/<id>/state.json            (plain `runc run`, runc --root)
 *   containerd_runc   <dir>/<namespace>/<id>/state.json (containerd's runc root)
 * runc's state.json names the bundle directory in "bundle" (`runc state` output) or in the
 * "bundle=<dir>" entry of config.labels (what runc writes to disk); its "id" must be <id>.
 */
struct tcl_ocimeta_roots {
	const char *containerd_tasks;
	const char *crio_containers;
	const char *runc_root;
	const char *podman_containers;
	const char *containerd_runc;
};

/* /run/containerd/io.containerd.runtime.v2.task, /run/containers/storage/overlay-containers,
 * /run/runc, /var/lib/containers/storage/overlay-containers, /run/containerd/runc */
extern const struct tcl_ocimeta_roots tcl_ocimeta_default_roots;

/*
 * Find the config.json of container @container_id (64 hex, else -EINVAL) under @roots (NULL:
 * the defaults), in the order above. -ENOENT when no root has it, -ENAMETOOLONG when @len is too
 * small, other -errno when a state.json is unreadable or malformed.
 */
int tcl_ocimeta_find_bundle(const struct tcl_ocimeta_roots *roots, const char *container_id,
			    char *config_path, size_t len);

/* find_bundle + from_config; sets container_id, bundle and runtime. */
int tcl_ocimeta_load(const struct tcl_ocimeta_roots *roots, const char *container_id,
		     struct tcl_container_meta *m);

/*
 * The container_start measurement: a new json-c object (caller json_object_put()s it) with the
 * keys container_id, pod_uid, pod, namespace, container, sandbox_id, sandbox, image,
 * image_digest, image_id, runtime, args (array), env_sha256, cwd, uid, gid, mounts_sha256.
 * Empty strings are omitted; args/env_sha256/cwd/uid/gid only with a process, uid/gid only with
 * a user, "sandbox": true only for sandboxes. NULL with errno = ENOMEM on allocation failure.
 */
struct json_object *tcl_ocimeta_start_record(const struct tcl_container_meta *m);

#endif
