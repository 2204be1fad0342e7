/* SPDX-License-Identifier: GPL-2.0 */
/* Applying a layer blob (tar, gzip or zstd; media types in ocilayout.h) to the rootfs model,
 * checking its digest and diff_id on the way (layer.c). */
#ifndef TCL_LAYER_H
#define TCL_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rootfs.h"

/* One of the layer media types listed in ocilayout.h. */
bool tcl_layer_type_supported(const char *media_type);
/* One layer from @fd (read to its end) or @mem (@fd -1), @size bytes as the descriptor says.
 * @digest NULL: the blob is not checked (fuzzing); @diff_id NULL: nor is the uncompressed
 * stream.  @name names the layer in messages.  Errors as tcl_oci_open's. */
int tcl_layer_apply(struct tcl_rootfs *fs, int fd, const void *mem, uint64_t size,
		    const char *media_type, const char *digest, const char *diff_id,
		    const char *name);

/* The fuzz target's way in: one layer blob held in memory (diff_id "sha256:..." or NULL to
 * skip that check). */
int tcl_rootfs_apply_mem(struct tcl_rootfs *fs, const void *blob, size_t len,
			 const char *media_type, const char *diff_id);

#endif
