/* SPDX-License-Identifier: GPL-2.0 */
/* Golden manifests for the attestor: pulled from the registry (tcl_golden_pull), signature
 * checked against the --trust-key keys, parsed, and cached by image digest.  A manifest whose
 * digests name another image is refused.  Failures that the registry may fix later (no
 * manifest yet, bad signature) are cached for negative_ttl_s; a registry that cannot be reached
 * is not cached and answers -EAGAIN.  Blocking (libcurl): called from the event loop, bounded
 * by the registry timeout. */
#ifndef ATT_GOLDCACHE_H
#define ATT_GOLDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct tcl_golden;
struct att_goldcache;

struct att_goldcache_opts {
	const char *registry_url;		/* NULL: every lookup fails (-ENOENT) */
	struct tcl_registry_opts reg;
	const char *const *trust_keys;		/* PEM public key files */
	size_t n_trust;
	size_t max_entries;			/* 0: 256 */
	int64_t negative_ttl_s;			/* 0: 60 */
};

struct att_goldcache_stats {
	uint64_t hits, fetches, fetch_failures, unavailable;
	size_t entries;
};

int att_goldcache_new(const struct att_goldcache_opts *o, struct att_goldcache **out);
void att_goldcache_free(struct att_goldcache *c);
/* Manifests handed out since the last epoch are not evicted: call once per evidence. */
void att_goldcache_epoch(struct att_goldcache *c);
/* An att_golden_fn (appraise.h); @arg is the struct att_goldcache. */
int att_goldcache_get(void *arg, const char *image, const char *image_digest,
		      const struct tcl_golden **g, const char **keyid, char *err, size_t errlen);
void att_goldcache_stats(const struct att_goldcache *c, struct att_goldcache_stats *s);

#endif
