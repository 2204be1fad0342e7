/* SPDX-License-Identifier: GPL-2.0 */
/* The rootfs model's insides, shared by rootfs.c (the tree) and layer.c (which changes it
 * entry by entry).  Nothing else includes this. */
#ifndef TCL_ROOTFS_INTERNAL_H
#define TCL_ROOTFS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rootfs.h"

#define MAX_NAME	255

struct node {
	struct node *parent, *child, *next, *prev;	/* tree; children doubly linked */
	struct node *hnext;				/* hash chain, key (parent, name) */
	char *link;
	uint64_t size;
	uint32_t hash, layer, mode;
	uint8_t type, elf;
	uint16_t namelen;
	unsigned char sha256[32];
	char name[];
};
struct tcl_rootfs {
	struct node *root;
	struct node **tab;
	size_t mask, count;
	uint64_t key[2];
	struct tcl_oci_opts o;
	uint64_t stream_bytes;		/* uncompressed tar bytes */
	uint64_t content_bytes;		/* file bytes, sparse holes included */
	uint32_t cur_layer;
};

struct node *rootfs_find_child(const struct tcl_rootfs *fs, const struct node *dir,
			       const char *name, size_t len);
/* A new child of @dir, stamped with the current layer; -E2BIG past max_nodes. */
int rootfs_add_child(struct tcl_rootfs *fs, struct node *dir, const char *name, size_t len,
		     struct node **out);
/* Remove @n and everything below it. */
void rootfs_unlink_subtree(struct tcl_rootfs *fs, struct node *n);
/* Drop what earlier layers put below @top; the current layer's entries stay. */
void rootfs_purge_lower(struct tcl_rootfs *fs, struct node *top);
/* Normalise @p (relative, single '/', no "."); ".." and oversize parts are refused. */
int rootfs_norm_path(const char *p, char *out, const char **why);
/* Walk the first @len bytes of a normalised path as directories (see rootfs.c). */
int rootfs_resolve_dir(struct tcl_rootfs *fs, const char *path, size_t len, bool create,
		       struct node **out, size_t *bad);
struct node *rootfs_lookup_node(struct tcl_rootfs *fs, const char *path);

#endif
