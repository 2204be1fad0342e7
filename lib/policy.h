/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy file, version 1 (JSON):
 *   {"version": 1,
 *    "allow":  [{"sha256": "<64 hex>", "path": "<informational>"}, ...],
 *    "images": {"<image name or digest>": {"allow": [{"sha256": "..."}, ...]}, ...}}
 * "allow" is the global allowlist (every scope); "images" gives an image its own golden set.
 * Unknown keys are errors that name the key and its line; nothing is ever guessed.
 */
#ifndef TCL_POLICY_H
#define TCL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define TCL_POLICY_MAX_BYTES (64u << 20)
#define TCL_POLICY_MAX_ENTRIES (1u << 20)

struct tcl_policy_entry {
	uint8_t sha256[32];
	char *path; /* may be NULL */
};

struct tcl_policy_image {
	char *name;
	struct tcl_policy_entry *allow;
	size_t n_allow;
};

struct tcl_policy {
	int version;
	struct tcl_policy_entry *allow;
	size_t n_allow;
	struct tcl_policy_image *images;
	size_t n_images;
};

/* Parse policy text; origin names the source in messages. On error, err holds
 * "<origin>:<line>: <what>" and the return is -EINVAL (or -ENOMEM/-E2BIG). */
int tcl_policy_parse(const char *text, size_t len, const char *origin, struct tcl_policy **out,
		     char *err, size_t errlen);
int tcl_policy_load(const char *path, struct tcl_policy **out, char *err, size_t errlen);
void tcl_policy_free(struct tcl_policy *p);
/* Append a digest to the global allowlist (runtime binaries found by the agent). */
int tcl_policy_add(struct tcl_policy *p, const uint8_t sha256[32], const char *path);
/* Serialise (entries in the given order) as pretty JSON; caller frees *out. */
int tcl_policy_to_json(const struct tcl_policy *p, char **out);
/* The image set named by an image reference or digest, or NULL. */
const struct tcl_policy_image *tcl_policy_image(const struct tcl_policy *p, const char *name);

#endif
