/* SPDX-License-Identifier: GPL-2.0 */
/* The attestor's counters and their Prometheus text exposition (format 0.0.4). */
#ifndef ATT_METRICS_H
#define ATT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "goldcache.h"
#include "state.h"

enum att_route {
	ATT_R_ENROL, ATT_R_ACTIVATE, ATT_R_CHALLENGE, ATT_R_EVIDENCE, ATT_R_NODE,
	ATT_R_CONTAINER, ATT_R_FILTER, ATT_R_METRICS, ATT_R_OTHER, ATT_R_N
};

/* Why evidence was refused: the "reason" label of tcl_attestor_evidence_rejected_total. */
enum att_reject {
	ATT_REJ_MALFORMED,	/* the JSON body */
	ATT_REJ_AUTH,		/* client certificate missing, not the node's, not enrolled */
	ATT_REJ_NONCE_UNKNOWN,	/* never issued or already used (replay) */
	ATT_REJ_NONCE_EXPIRED,
	ATT_REJ_SIGNATURE,	/* not signed by the enrolled AK */
	ATT_REJ_BINDING,	/* qualifying data is not this nonce + this TLS session */
	ATT_REJ_QUOTE,		/* malformed quote, wrong PCR selection */
	ATT_REJ_PCR_DIGEST,	/* PCR values do not hash to the quote's digest */
	ATT_REJ_LOG_MALFORMED,
	ATT_REJ_LOG_REPLAY,	/* the log does not replay to the quoted PCR */
	ATT_REJ_OFFSET,		/* log_offset is not where the attestor stands */
	ATT_REJ_UNAVAILABLE,	/* golden manifest temporarily unavailable */
	ATT_REJ_N
};

#define ATT_HIST_BUCKETS 10

struct att_metrics {
	uint64_t requests[ATT_R_N][3];		/* 2xx/3xx, 4xx, 5xx */
	uint64_t hist[ATT_R_N][ATT_HIST_BUCKETS];	/* cumulative at render time */
	double dur_sum[ATT_R_N];
	uint64_t dur_count[ATT_R_N];
	uint64_t evidence_accepted;
	uint64_t evidence_rejected[ATT_REJ_N];
	uint64_t enrol_started, enrol_completed, enrol_rejected;
	uint64_t entries_appraised, findings;
	uint64_t refusals;			/* exec_refused under enforce: container refusals */
	uint64_t filter_kept, filter_failed;
};

const char *att_route_name(enum att_route r);
const char *att_reject_name(enum att_reject r);
void att_metrics_observe(struct att_metrics *m, enum att_route r, int status, double seconds);
/* *out malloc'd. */
int att_metrics_render(const struct att_metrics *m, const struct att_state *st,
		       const struct att_goldcache_stats *gs, int64_t now, int64_t stale_after,
		       char **out, size_t *len);

#endif
