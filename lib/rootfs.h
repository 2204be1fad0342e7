/* SPDX-License-Identifier: GPL-2.0 */
/* The in-memory model of an image's root file system (rootfs.c): what the layers of an image
 * leave, path by path, with each regular file's SHA-256.  Filled by layer.c; the rules (paths,
 * whiteouts, links) are in ocilayout.h. */
#ifndef TCL_ROOTFS_H
#define TCL_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCL_OCI_MAX_PATH 4096		/* bytes of a path or link target */

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

/* Calls cb for every entry but the root, parents before children, siblings in no set order;
 * a non-zero return from cb stops the walk and is returned. */
int tcl_rootfs_walk(const struct tcl_rootfs *fs,
		    int (*cb)(const struct tcl_fs_entry *e, void *arg), void *arg);
/* Exact path, symlinks not followed: 0 and *e filled (e->path = path), or -ENOENT. */
int tcl_rootfs_lookup(const struct tcl_rootfs *fs, const char *path, struct tcl_fs_entry *e);
size_t tcl_rootfs_count(const struct tcl_rootfs *fs);

int tcl_rootfs_new(const struct tcl_oci_opts *opts, struct tcl_rootfs **out);
void tcl_rootfs_free(struct tcl_rootfs *fs);
/* The limits in force (defaults filled in). */
const struct tcl_oci_opts *tcl_rootfs_opts(const struct tcl_rootfs *fs);

#endif
