/* SPDX-License-Identifier: GPL-2.0 */
/* OCI image layout reader: index.json -> (image index ->) manifest -> config + layers, every blob
 * checked against its descriptor's sha256 digest and size, layers applied in order into an
 * in-memory model of the final rootfs (no file is ever written).  Three files: ocilayout.c (the
 * layout and its JSON), layer.c (tar, whiteouts; layer.h), rootfs.c (the model; rootfs.h);
 * this header is the one callers include.
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

#include "layer.h"	/* tcl_rootfs_apply_mem */
#include "rootfs.h"	/* the model: tcl_rootfs_walk, tcl_rootfs_lookup */

#define TCL_OCI_DIGEST_LEN 71		/* "sha256:" + 64 hex */

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

#endif
