/* SPDX-License-Identifier: GPL-2.0 */
/* OCI image layout reader: index.json -> (image index ->) manifest -> config + layers, every blob
 * checked against its descriptor's sha256 digest and size, layers applied in order into an
 * in-memory model of the final rootfs (no file is ever written).
 *
 * Layers: application/vnd.oci.image.layer.v1.tar[+gzip|+zstd] (and the nondistributable
 * variants), application/vnd.docker.image.rootfs.diff.tar[.gzip] (and the foreign variant).  The
 * compressed bytes are hashed in the same read that feeds the decompressor and the uncompressed
 * stream is checked against the config's rootfs.diff_ids, so no bytes other than the verified ones
 * can reach the result; on any mismatch the whole image is rejected.
 *
 * Rootfs model: paths are relative to the root, normalised ("/", "./", "//" and "." dropped); a
 * ".." component, a component over 255 bytes or a path over TCL_OCI_MAX_PATH is an error naming
 * the entry.  Whiteouts ".wh.NAME" remove NAME from earlier layers, ".wh..wh..opq" hides everything
 * earlier layers put below its directory (both independent of their position in the tar), other
 * ".wh..wh.*" names are ignored.  Symlinks are recorded, never followed: an entry whose parent
 * is a symlink or a non-directory is an error.  A hard link takes the content of its target, which
 * must already exist (earlier in this layer or in an earlier layer) and not be a directory.
 * Regular file content is streamed through SHA-256 (sparse holes hashed as zeros). */
#ifndef TCL_OCILAYOUT_H
#define TCL_OCILAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCL_OCI_MAX_PATH 4096		/* bytes of a path or link target */
#define TCL_OCI_DIGEST_LEN 71		/* "sha256:" + 64 hex */

/* Limits; 0 takes the default. */
struct tcl_oci_opts {
	uint64_t max_total_bytes;	/* uncompressed bytes, all layers: 16 GiB */
	uint64_t max_file_bytes;	/* one file's size: = max_total_bytes */
	uint64_t max_layer_entries;	/* tar entries in one layer: 1,000,000 */
	uint64_t max_nodes;		/* entries in the final model: 2,000,000 */
	uint32_t max_json_bytes;	/* index/manifest/config blob: 4 MiB */
	uint32_t max_layers;		/* layers in a manifest: 256 */
	const char *os, *arch;		/* platform picked from an image index: linux/amd64 */
};

enum tcl_fs_type { TCL_FS_DIR = 1, TCL_FS_REG, TCL_FS_SYMLINK, TCL_FS_OTHER /* dev/fifo/sock */ };

struct tcl_fs_entry {
	const char *path;		/* absolute: "/usr/bin/sh" ("/" is the root) */
	enum tcl_fs_type type;
	uint32_t mode;			/* permission bits, 07777 */
	uint64_t size;			/* TCL_FS_REG */
	unsigned char sha256[32];	/* TCL_FS_REG: SHA-256 of the content */
	bool elf;			/* TCL_FS_REG: content starts with "\x7fELF" */
	const char *link;		/* TCL_FS_SYMLINK: target, verbatim */
};

struct tcl_rootfs;

struct tcl_oci_image {
	char manifest_digest[TCL_OCI_DIGEST_LEN + 1];	/* the image manifest blob */
	char config_digest[TCL_OCI_DIGEST_LEN + 1];
	char index_digest[TCL_OCI_DIGEST_LEN + 1];	/* image index followed, or "" */
	/* the chosen index.json entry's io.containerd.image.name, else its
	 * org.opencontainers.image.ref.name, else NULL */
	char *ref_name;
	unsigned int nlayers;
	struct tcl_rootfs *rootfs;
};

/* tag: match org.opencontainers.image.ref.name in index.json; NULL: the only manifest (or the only
 * one for the platform).  opts may be NULL.  Errors: -ENOENT (missing file, blob, tag, or hard
 * link target), -EBADMSG (digest, size or diff_id mismatch), -EFBIG/-E2BIG (a size/count limit),
 * -ENAMETOOLONG (path limits), -ENOTDIR (an entry below a symlink or file), -ELOOP (indexes
 * nested too deep), -ENOTSUP (media type or digest algorithm), -EINVAL (malformed, '..'),
 * -ENOMEM; each logged once, naming the blob, layer and entry. */
int tcl_oci_open(const char *layout_dir, const char *tag, const struct tcl_oci_opts *opts,
		 struct tcl_oci_image **out);
void tcl_oci_free(struct tcl_oci_image *img);

/* Calls cb for every entry but the root, parents before children, siblings in no set order;
 * a non-zero return from cb stops the walk and is returned. */
int tcl_rootfs_walk(const struct tcl_rootfs *fs,
		    int (*cb)(const struct tcl_fs_entry *e, void *arg), void *arg);
/* Exact path, symlinks not followed: 0 and *e filled (e->path = path), or -ENOENT. */
int tcl_rootfs_lookup(const struct tcl_rootfs *fs, const char *path, struct tcl_fs_entry *e);
size_t tcl_rootfs_count(const struct tcl_rootfs *fs);

/* Building blocks, used by tcl_oci_open and by the fuzz target: apply one layer blob held in
 * memory (media_type as above; diff_id "sha256:..." or NULL to skip that check). */
int tcl_rootfs_new(const struct tcl_oci_opts *opts, struct tcl_rootfs **out);
int tcl_rootfs_apply_mem(struct tcl_rootfs *fs, const void *blob, size_t len,
			 const char *media_type, const char *diff_id);
void tcl_rootfs_free(struct tcl_rootfs *fs);

#endif
