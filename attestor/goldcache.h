/* SPDX-License-Identifier: GPL-2.0 */
/* Golden manifests for the attestor: pulled from the registry (tcl_golden_pull), signature
 * checked against the --trust-key keys, parsed, and cached by image digest.  A manifest whose
 * digests name another image is refused.  Failures that the registry may fix later (no
 * manifest yet, bad signature) are cached for negative_ttl_s; a registry that cannot be reached
 * is not cached and answers -EAGAIN.
 *
 * Fetches (libcurl, blocking, bounded by the registry timeout) run on a pool of fetch_threads
 * worker threads (lib/workq.h), never on the event loop: a miss starts a fetch and answers
 * -EINPROGRESS; the caller's waiter (att_goldcache_wait) is told when every fetch it waits for
 * has finished, and asks again.  Concurrent misses of one digest share one fetch.  At most
 * max_fetches fetches at a time; beyond that a miss answers -EAGAIN.  A worker gets the fetch's
 * inputs (digest, reference, the registry URL and options, the trust keys: none changes after
 * att_goldcache_new) and fills in the fetch's result; the cache, the waiters and the statistics
 * belong to the loop.  fetch_threads 0: fetches run in the caller (tests, tools). */
#ifndef ATT_GOLDCACHE_H
#define ATT_GOLDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#define ATT_GC_ERR_MAX	512

struct tcl_golden;
struct att_goldcache;

struct att_goldcache_opts {
	const char *registry_url;		/* NULL: every lookup fails (-ENOENT) */
	struct tcl_registry_opts reg;
	const char *const *trust_keys;		/* PEM public key files */
	size_t n_trust;
	size_t max_entries;			/* 0: 256 */
	int64_t negative_ttl_s;			/* 0: 60 */
	unsigned fetch_threads;			/* 0: fetch in the caller, blocking */
	size_t max_fetches;			/* fetches at a time; 0: 64 */
};

/* Someone waiting for fetches: @ready is called on the loop (from att_goldcache_reap) when the
 * last of them has finished; @rc is then -EAGAIN (@err says why) when one of them could not
 * reach the registry, else 0 and the manifests are cached (ask again). */
struct att_gc_waiter {
	void (*ready)(struct att_gc_waiter *w);
	size_t waiting;				/* fetches not finished yet */
	int rc;
	char err[ATT_GC_ERR_MAX];
};

struct att_goldcache_stats {
	uint64_t hits, fetches, fetch_failures, unavailable, busy;
	size_t entries, inflight;
};

int att_goldcache_new(const struct att_goldcache_opts *o, struct att_goldcache **out);
void att_goldcache_free(struct att_goldcache *c);
/* Manifests handed out since the last epoch are not evicted: call once per evidence. */
void att_goldcache_epoch(struct att_goldcache *c);
/* Misses of att_goldcache_get from now on (until att_goldcache_wait(c, NULL)) make @w wait for
 * their fetches (w->waiting counts them; 0: nothing to wait for). */
void att_goldcache_wait(struct att_goldcache *c, struct att_gc_waiter *w);
/* @w waits no more (its caller answered without the fetches); they go on and are cached. */
void att_goldcache_unwait(struct att_goldcache *c, struct att_gc_waiter *w);
/* Readable when fetches have finished: call att_goldcache_reap (-1 without fetch threads). */
int att_goldcache_fd(const struct att_goldcache *c);
void att_goldcache_reap(struct att_goldcache *c);
/* An att_golden_fn (appraise.h); @arg is the struct att_goldcache.  With fetch threads a miss
 * answers -EINPROGRESS (the fetch started or was running; the waiter set by att_goldcache_wait
 * waits for it) or -EAGAIN (max_fetches reached, or no waiter to tell). */
int att_goldcache_get(void *arg, const char *image, const char *image_digest,
		      const struct tcl_golden **g, const char **keyid, char *err, size_t errlen);
void att_goldcache_stats(const struct att_goldcache *c, struct att_goldcache_stats *s);

#endif
