/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What podman keeps about a container beside its OCI bundle. podman's config.json names no
 * image; containers/storage does, in the storage root the bundle lives in
 * (<root>/overlay-containers/<id>/userdata):
 *   <root>/overlay-containers/containers.json  [{"id", "names", "image" (image id),
 *                                                 "metadata": "{\"image-name\", \"name\"...}"}]
 *   <root>/overlay-images/images.json          [{"id", "digest" (manifest digest), "names"}]
 * Files are bounded (TCL_PODMAN_MAX); a malformed one is -EINVAL, a container or image that is
 * not listed -ENOENT.
 */
#ifndef TCL_PODMAN_H
#define TCL_PODMAN_H

#include <stdbool.h>
#include <stddef.h>

#define TCL_PODMAN_MAX (32u << 20)
#define TCL_PODMAN_ROOT "/var/lib/containers/storage"

struct tcl_container_meta;

/* Is @bundle a podman (containers/storage) bundle directory "<root>/overlay-containers/<id>/userdata"? */
bool tcl_podman_bundle(const char *bundle);
/* Fill m->container (podman's name), m->image (the name it was created from) and
 * m->image_digest from the storage root of @bundle; m->container_id must be set. */
int tcl_podman_fill_meta(const char *bundle, struct tcl_container_meta *m, char *err,
			 size_t errlen);

#endif
