/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcl-agent's Prometheus metrics (--metrics HOST:PORT, off by default): plain HTTP, GET /metrics,
 * text exposition format 0.0.4.  A thread of its own serves them (libevent evhttp), so that a
 * slow scraper never stalls the ring-buffer consumer or the hook socket.  Each scrape reads the
 * kernel's per-CPU counters and statistics (tcl_counters, tcl_stats), the measurement
 * pipeline's and the attestation worker's status (both thread-safe), and what the other modules
 * told this one through the agent_metrics_* bumps below.  README.md "Metrics" lists the names.
 */
#ifndef TCL_AGENT_METRICS_H
#define TCL_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest_worker.h"
#include "measure.h"
#include "tcl_abi.h"

struct agent;

/* How a tcl-hook admission request ended: the "result" label. */
enum agent_hook_result {
	AGENT_HOOK_VERIFIED = 0,	/* the container may run */
	AGENT_HOOK_NOT_VERIFIED,	/* "NOT verified": refused (enforce) or reported (audit) */
	AGENT_HOOK_MALFORMED,		/* the request itself was unusable */
	AGENT_HOOK_RESULTS
};

#define AGENT_HOOK_BUCKETS 11
#define AGENT_HOOK_BOUNDS_S { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }

struct agent_metrics_image {
	char *image;		/* the image set's key: policy image name or verified digest */
	uint64_t digests;
};

/* Everything one scrape shows; agent_metrics_render() only reads it. */
struct agent_metrics_view {
	bool enforce;
	bool kernel;				/* cnt and stats were read */
	uint64_t cnt[TCL_CNT_MAX];
	uint64_t stats[TCL_STAT_MAX];
	uint64_t scope_entries;
	const struct tcl_measure_status *measure;	/* NULL: no pipeline */
	const struct tcl_attest_worker_status *attest;	/* NULL: no --attestor */
	uint64_t hook_requests[AGENT_HOOK_RESULTS];
	uint64_t hook_hist[AGENT_HOOK_BUCKETS + 1];	/* non-cumulative, last: above the bounds */
	double hook_seconds;
	uint64_t global_digests;
	const struct agent_metrics_image *images;
	size_t n_images;
};

/* The exposition text of @v, malloc'd into *@out (length *@len). 0 or -ENOMEM. */
int agent_metrics_render(const struct agent_metrics_view *v, char **out, size_t *len);

/* Bumps, from any thread; cheap (one mutex). */
void agent_metrics_hook_request(enum agent_hook_result r, double seconds);
/* The allow set of @image now holds @n digests; 0 removes the image from the metrics. */
void agent_metrics_image_digests(const char *image, size_t n);
void agent_metrics_global_digests(size_t n);

/* Is @addr a usable --metrics value? 0, or -EINVAL after a message on stderr. */
int agent_metrics_check_addr(const char *addr);
/* Listen on @addr and start the serving thread; it reads @a's bpf, measure and attest, which
 * must outlive agent_metrics_stop(). 0 or -errno (logged). */
int agent_metrics_start(struct agent *a, const char *addr);
/* Stop the thread and close the socket; a no-op when not started. */
void agent_metrics_stop(void);

#endif
