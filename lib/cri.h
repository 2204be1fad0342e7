/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What containerd's CRI plugin knows about a container's image, asked over its gRPC socket the
 * way kubelet asks (unary gRPC over HTTP/2 cleartext on a unix socket, through libcurl).
 * containerd 1.6 writes the image *name* into a container's config.json
 * (io.kubernetes.cri.image-name, often a tag) but not the digest it resolved at pull time; the
 * CRI answers carry it as a repo digest "<repo>@sha256:<hex>".
 *
 * Only the fields read here are decoded (protobuf wire format, CRI v1 field numbers); answers
 * are bounded (TCL_CRI_MAX) and a malformed one is -EPROTO. A gRPC error status is -EREMOTEIO
 * (NOT_FOUND: -ENOENT) with the runtime's message in @err; a socket that is not there or does not
 * answer is -ECONNREFUSED / -ETIMEDOUT.
 */
#ifndef TCL_CRI_H
#define TCL_CRI_H

#include <stddef.h>

struct tcl_container_meta;

#define TCL_CRI_MAX (256u << 10)
#define TCL_CRI_DEFAULT_SOCKET "/run/containerd/containerd.sock"

/* ContainerStatus(@id): the image digest "sha256:<hex>" of the container's image (from its
 * image_ref "<repo>@sha256:<hex>"); -ENODATA when the runtime gives no digest. */
int tcl_cri_container_digest(const char *socket, const char *id, char *digest, size_t len,
			     char *err, size_t errlen);
/* ImageStatus(@image): the first repo digest of the image as "sha256:<hex>"; -ENOENT when the
 * runtime does not have the image, -ENODATA when it has no repo digest. */
int tcl_cri_image_digest(const char *socket, const char *image, char *digest, size_t len,
			 char *err, size_t errlen);

/* Status(verbose): the sandbox (pause) image of the CRI plugin's config ("sandboxImage"). */
int tcl_cri_sandbox_image(const char *socket, char *image, size_t len, char *err, size_t errlen);

/*
 * Complete what a containerd bundle leaves out, from the CRI (m->container_id must be set):
 * a container's image digest from ContainerStatus; a sandbox's image (containerd 1.6 names none
 * in its config.json) from the plugin's sandboxImage, and its digest from ImageStatus.
 * Values already there are kept. 0, or -errno with the reason in @err.
 */
int tcl_cri_fill_meta(const char *socket, struct tcl_container_meta *m, char *err, size_t errlen);

#endif
