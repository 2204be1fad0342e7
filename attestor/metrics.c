// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

static const double bounds[ATT_HIST_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
						 0.25, 1, 5 };

const char *att_route_name(enum att_route r)
{
	static const char *const n[ATT_R_N] = { "enrol", "activate", "challenge", "evidence",
		"node", "container", "filter", "metrics", "other" };

	return r < ATT_R_N ? n[r] : "other";
}

const char *att_reject_name(enum att_reject r)
{
	static const char *const n[ATT_REJ_N] = { "malformed", "auth", "nonce_unknown",
		"nonce_expired", "signature", "binding", "quote", "pcr_digest", "log_malformed",
		"log_replay", "offset", "golden_unavailable" };

	return r < ATT_REJ_N ? n[r] : "other";
}

void att_metrics_observe(struct att_metrics *m, enum att_route r, int status, double seconds)
{
	if (r >= ATT_R_N)
		r = ATT_R_OTHER;
	m->requests[r][status >= 500 ? 2 : status >= 400 ? 1 : 0]++;
	for (int i = 0; i < ATT_HIST_BUCKETS; i++)
		if (seconds <= bounds[i]) {
			m->hist[r][i]++;
			break;
		}
	m->dur_sum[r] += seconds;
	m->dur_count[r]++;
}

struct tally {
	uint64_t v[4];
	int64_t now, stale_after;
};

static void count_node(void *val, void *arg)
{
	const struct att_node *n = val;
	struct tally *t = arg;
	char buf[2 * ATT_REASON_MAX];

	if (n->enrolled)
		t->v[att_node_verdict(n, t->now, t->stale_after, NULL, buf, sizeof(buf))]++;
}

int att_metrics_render(const struct att_metrics *m, const struct att_state *st,
		       const struct att_goldcache_stats *gs, int64_t now, int64_t stale_after,
		       char **out, size_t *len)
{
	static const char *const cls[3] = { "2xx", "4xx", "5xx" };
	struct tally t = { .now = now, .stale_after = stale_after };
	FILE *f = open_memstream(out, len);

	if (!f)
		return -ENOMEM;
	tcl_map_each(&st->nodes, count_node, &t);
	fprintf(f, "# HELP tcl_attestor_evidence_accepted_total Evidence verified and appraised.\n"
		"# TYPE tcl_attestor_evidence_accepted_total counter\n"
		"tcl_attestor_evidence_accepted_total %" PRIu64 "\n", m->evidence_accepted);
	fprintf(f, "# HELP tcl_attestor_evidence_rejected_total Evidence refused, by reason.\n"
		"# TYPE tcl_attestor_evidence_rejected_total counter\n");
	for (int i = 0; i < ATT_REJ_N; i++)
		fprintf(f, "tcl_attestor_evidence_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
			att_reject_name(i), m->evidence_rejected[i]);
	fprintf(f, "# HELP tcl_attestor_enrolments_total Enrolments by outcome.\n"
		"# TYPE tcl_attestor_enrolments_total counter\n"
		"tcl_attestor_enrolments_total{result=\"started\"} %" PRIu64 "\n"
		"tcl_attestor_enrolments_total{result=\"completed\"} %" PRIu64 "\n"
		"tcl_attestor_enrolments_total{result=\"rejected\"} %" PRIu64 "\n",
		m->enrol_started, m->enrol_completed, m->enrol_rejected);
	fprintf(f, "# HELP tcl_attestor_nodes Enrolled nodes by verdict.\n"
		"# TYPE tcl_attestor_nodes gauge\n");
	for (int v = 0; v < 4; v++)
		fprintf(f, "tcl_attestor_nodes{verdict=\"%s\"} %" PRIu64 "\n",
			att_verdict_name(v), t.v[v]);
	fprintf(f, "# HELP tcl_attestor_log_entries_appraised_total Log entries appraised.\n"
		"# TYPE tcl_attestor_log_entries_appraised_total counter\n"
		"tcl_attestor_log_entries_appraised_total %" PRIu64 "\n"
		"# HELP tcl_attestor_findings_total Offending entries and failed evidence.\n"
		"# TYPE tcl_attestor_findings_total counter\n"
		"tcl_attestor_findings_total %" PRIu64 "\n"
		"# HELP tcl_attestor_exec_refusals_total Refused attempts (exec_refused under "
		"enforce mode): container refusals, node verdict unaffected.\n"
		"# TYPE tcl_attestor_exec_refusals_total counter\n"
		"tcl_attestor_exec_refusals_total %" PRIu64 "\n", m->entries_appraised, m->findings,
		m->refusals);
	fprintf(f, "# HELP tcl_attestor_filter_nodes_total Nodes judged by the scheduler "
		"filter.\n# TYPE tcl_attestor_filter_nodes_total counter\n"
		"tcl_attestor_filter_nodes_total{result=\"kept\"} %" PRIu64 "\n"
		"tcl_attestor_filter_nodes_total{result=\"failed\"} %" PRIu64 "\n",
		m->filter_kept, m->filter_failed);
	if (gs)
		fprintf(f, "# HELP tcl_attestor_golden_cache_hits_total Golden manifest cache "
			"hits.\n# TYPE tcl_attestor_golden_cache_hits_total counter\n"
			"tcl_attestor_golden_cache_hits_total %" PRIu64 "\n"
			"# HELP tcl_attestor_golden_fetches_total Golden manifests pulled from the "
			"registry, by outcome.\n"
			"# TYPE tcl_attestor_golden_fetches_total counter\n"
			"tcl_attestor_golden_fetches_total{result=\"ok\"} %" PRIu64 "\n"
			"tcl_attestor_golden_fetches_total{result=\"invalid\"} %" PRIu64 "\n"
			"tcl_attestor_golden_fetches_total{result=\"unavailable\"} %" PRIu64 "\n"
			"# HELP tcl_attestor_golden_cache_entries Golden manifests cached.\n"
			"# TYPE tcl_attestor_golden_cache_entries gauge\n"
			"tcl_attestor_golden_cache_entries %zu\n"
			"# HELP tcl_attestor_golden_fetches_running Golden manifest fetches running "
			"or queued on the fetch threads.\n"
			"# TYPE tcl_attestor_golden_fetches_running gauge\n"
			"tcl_attestor_golden_fetches_running %zu\n"
			"# HELP tcl_attestor_golden_fetches_refused_total Fetches not started: as "
			"many as allowed were running.\n"
			"# TYPE tcl_attestor_golden_fetches_refused_total counter\n"
			"tcl_attestor_golden_fetches_refused_total %" PRIu64 "\n", gs->hits,
			gs->fetches - gs->fetch_failures - gs->unavailable - gs->inflight,
			gs->fetch_failures, gs->unavailable, gs->entries, gs->inflight, gs->busy);
	fprintf(f, "# HELP tcl_attestor_requests_total HTTP requests by route and status class.\n"
		"# TYPE tcl_attestor_requests_total counter\n");
	for (int r = 0; r < ATT_R_N; r++)
		for (int c = 0; c < 3; c++)
			fprintf(f, "tcl_attestor_requests_total{route=\"%s\",code=\"%s\"} %" PRIu64
				"\n", att_route_name(r), cls[c], m->requests[r][c]);
	fprintf(f, "# HELP tcl_attestor_request_duration_seconds Time to answer a request.\n"
		"# TYPE tcl_attestor_request_duration_seconds histogram\n");
	for (int r = 0; r < ATT_R_N; r++) {
		uint64_t cum = 0;

		for (int i = 0; i < ATT_HIST_BUCKETS; i++) {
			cum += m->hist[r][i];
			fprintf(f, "tcl_attestor_request_duration_seconds_bucket{route=\"%s\","
				"le=\"%g\"} %" PRIu64 "\n", att_route_name(r), bounds[i], cum);
		}
		fprintf(f, "tcl_attestor_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
			"%" PRIu64 "\n", att_route_name(r), m->dur_count[r]);
		fprintf(f, "tcl_attestor_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
			att_route_name(r), m->dur_sum[r]);
		fprintf(f, "tcl_attestor_request_duration_seconds_count{route=\"%s\"} %" PRIu64
			"\n", att_route_name(r), m->dur_count[r]);
	}
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}
