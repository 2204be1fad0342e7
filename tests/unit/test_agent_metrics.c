// SPDX-License-Identifier: GPL-2.0
/* Unit tests for agent/agent_metrics.c: the Prometheus text of a fixed state, line by line, and
 * `promtool check metrics` (Debian prometheus) on it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "agent_metrics.h"
#include "testutil.h"

#define HAS(text, line) assert_non_null(strstr(text, "\n" line "\n"))
#define HASNT(text, s) assert_null(strstr(text, s))

static void fixed_view(struct agent_metrics_view *v, struct tcl_measure_status *ms,
		       struct tcl_attest_worker_status *as, struct agent_metrics_image *im)
{
	memset(v, 0, sizeof(*v));
	memset(ms, 0, sizeof(*ms));
	memset(as, 0, sizeof(*as));
	v->enforce = true;
	v->kernel = true;
	v->cnt[TCL_CNT_EVENTS] = 40;
	v->cnt[TCL_CNT_DROPS] = 2;
	v->cnt[TCL_CNT_CACHE_HITS] = 30;
	v->cnt[TCL_CNT_CACHE_MISSES] = 12;
	v->cnt[TCL_CNT_HASH_ERRORS] = 1;
	v->stats[TCL_STAT_DECISION(TCL_HOOK_EXEC, TCL_VERDICT_ALLOW, TCL_REASON_NONE)] = 20;
	v->stats[TCL_STAT_DECISION(TCL_HOOK_EXEC, TCL_VERDICT_DENY, TCL_REASON_NOT_ALLOWED)] = 3;
	v->stats[TCL_STAT_DECISION(TCL_HOOK_EXEC, TCL_VERDICT_DENY, TCL_REASON_HASH_FAILED)] = 1;
	v->stats[TCL_STAT_DECISION(TCL_HOOK_MMAP, TCL_VERDICT_ALLOW, TCL_REASON_NONE)] = 7;
	v->stats[TCL_STAT_DECISION(TCL_HOOK_MMAP, TCL_VERDICT_AUDIT, TCL_REASON_WRITERS)] = 2;
	v->stats[TCL_STAT_DECISION(TCL_HOOK_GUARD, TCL_VERDICT_DENY, TCL_REASON_TAMPER)] = 5;
	/* a pair outside the usual table still shows when it counted something */
	v->stats[TCL_STAT_DECISION(TCL_HOOK_OPEN, TCL_VERDICT_DENY, TCL_REASON_SCOPE_FULL)] = 1;
	/* hashing: 2 within 10 us, 1 within 1 ms, 1 above 50 ms; 60.03 ms in all */
	v->stats[TCL_STAT_HASH_BUCKET(0)] = 2;
	v->stats[TCL_STAT_HASH_BUCKET(6)] = 1;
	v->stats[TCL_STAT_HASH_BUCKET(TCL_STAT_HASH_BOUNDS)] = 1;
	v->stats[TCL_STAT_HASH_NS] = 60030000;
	v->scope_entries = 4;
	ms->queued = 3;
	ms->log_bytes = 123456;
	ms->entries = 77;
	ms->measured = 70;
	ms->dropped = 1;
	ms->extended_since_open = 60;
	ms->extend_batches = 5;
	ms->extend_hist[2] = 4;	/* <= 5 ms */
	ms->extend_hist[TCL_MEASURE_EXTEND_BUCKETS] = 1;	/* > 5 s */
	ms->extend_seconds = 6.5;
	ms->state = TCL_MEASURE_TPM_ERROR;
	v->measure = ms;
	as->pushes = 9;
	as->failures = 2;
	snprintf(as->verdict, sizeof(as->verdict), "trusted");
	v->attest = as;
	v->hook_requests[AGENT_HOOK_VERIFIED] = 4;
	v->hook_requests[AGENT_HOOK_NOT_VERIFIED] = 1;
	v->hook_hist[1] = 4;	/* <= 10 ms */
	v->hook_hist[AGENT_HOOK_BUCKETS] = 1;	/* > 10 s */
	v->hook_seconds = 12.25;
	v->global_digests = 15;
	im[0] = (struct agent_metrics_image){ "registry.local/app@sha256:ab", 120 };
	im[1] = (struct agent_metrics_image){ "odd\"name\\x", 3 };
	v->images = im;
	v->n_images = 2;
}

static void test_render(void **state)
{
	struct agent_metrics_view v;
	struct tcl_measure_status ms;
	struct tcl_attest_worker_status as;
	struct agent_metrics_image im[2];
	char *out = NULL;
	size_t len = 0;

	fixed_view(&v, &ms, &as, im);
	assert_int_equal(agent_metrics_render(&v, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	assert_memory_equal(out, "# HELP tcl_agent_enforcing ", 27);
	HAS(out, "tcl_agent_enforcing 1");
	HAS(out, "# TYPE tcl_checks_total counter");
	HAS(out, "tcl_checks_total{hook=\"exec\"} 24");
	HAS(out, "tcl_checks_total{hook=\"mmap\"} 9");
	HAS(out, "tcl_checks_total{hook=\"mprotect\"} 0");
	HASNT(out, "tcl_checks_total{hook=\"guard\"}");
	HAS(out, "tcl_allows_total{hook=\"exec\"} 20");
	HAS(out, "tcl_allows_total{hook=\"mmap\"} 7");
	HAS(out, "tcl_denials_total{hook=\"exec\",reason=\"not_allowed\"} 3");
	HAS(out, "tcl_denials_total{hook=\"exec\",reason=\"hash_failed\"} 1");
	HAS(out, "tcl_denials_total{hook=\"mmap\",reason=\"not_allowed\"} 0");
	HAS(out, "tcl_denials_total{hook=\"guard\",reason=\"tamper\"} 5");
	HAS(out, "tcl_denials_total{hook=\"open\",reason=\"scope_full\"} 1");
	HASNT(out, "tcl_audits_total{hook=\"open\",reason=\"scope_full\"}");
	HAS(out, "tcl_audits_total{hook=\"mmap\",reason=\"open_for_write\"} 2");
	HAS(out, "tcl_ringbuf_events_total 40");
	HAS(out, "tcl_ringbuf_drops_total 2");
	HAS(out, "tcl_digest_cache_hits_total 30");
	HAS(out, "tcl_digest_cache_misses_total 12");
	HAS(out, "tcl_hash_errors_total 1");
	HAS(out, "# TYPE tcl_hash_duration_seconds histogram");
	HAS(out, "tcl_hash_duration_seconds_bucket{le=\"1e-05\"} 2");
	HAS(out, "tcl_hash_duration_seconds_bucket{le=\"0.0005\"} 2");
	HAS(out, "tcl_hash_duration_seconds_bucket{le=\"0.001\"} 3");
	HAS(out, "tcl_hash_duration_seconds_bucket{le=\"0.05\"} 3");
	HAS(out, "tcl_hash_duration_seconds_bucket{le=\"+Inf\"} 4");
	HAS(out, "tcl_hash_duration_seconds_sum 0.06003");
	HAS(out, "tcl_hash_duration_seconds_count 4");
	HAS(out, "tcl_hook_requests_total{result=\"verified\"} 4");
	HAS(out, "tcl_hook_requests_total{result=\"not_verified\"} 1");
	HAS(out, "tcl_hook_requests_total{result=\"malformed\"} 0");
	HAS(out, "tcl_hook_request_duration_seconds_bucket{le=\"0.005\"} 0");
	HAS(out, "tcl_hook_request_duration_seconds_bucket{le=\"0.01\"} 4");
	HAS(out, "tcl_hook_request_duration_seconds_bucket{le=\"10\"} 4");
	HAS(out, "tcl_hook_request_duration_seconds_bucket{le=\"+Inf\"} 5");
	HAS(out, "tcl_hook_request_duration_seconds_sum 12.25");
	HAS(out, "tcl_hook_request_duration_seconds_count 5");
	HAS(out, "tcl_measure_queue_depth 3");
	HAS(out, "tcl_log_bytes 123456");
	HAS(out, "tcl_log_entries 77");
	HAS(out, "tcl_measurements_total 70");
	HAS(out, "tcl_measurements_dropped_total 1");
	HAS(out, "tcl_pcr_extends_total 60");
	HAS(out, "tcl_pcr_extend_duration_seconds_bucket{le=\"0.0025\"} 0");
	HAS(out, "tcl_pcr_extend_duration_seconds_bucket{le=\"0.005\"} 4");
	HAS(out, "tcl_pcr_extend_duration_seconds_bucket{le=\"+Inf\"} 5");
	HAS(out, "tcl_pcr_extend_duration_seconds_count 5");
	HAS(out, "tcl_measure_state{state=\"ok\"} 0");
	HAS(out, "tcl_measure_state{state=\"tpm_error\"} 1");
	HAS(out, "tcl_attest_pushes_total 9");
	HAS(out, "tcl_attest_push_failures_total 2");
	HAS(out, "tcl_attest_verdict{verdict=\"trusted\"} 1");
	HAS(out, "tcl_attest_verdict{verdict=\"untrusted\"} 0");
	HAS(out, "tcl_scope_entries 4");
	HAS(out, "tcl_global_digests 15");
	HAS(out, "tcl_image_digests{image=\"registry.local/app@sha256:ab\"} 120");
	HAS(out, "tcl_image_digests{image=\"odd\\\"name\\\\x\"} 3");
	assert_int_equal(out[len - 1], '\n');
	free(out);

	/* Without kernel, pipeline or attestor: their metrics are left out, not shown as 0. */
	memset(&v, 0, sizeof(v));
	assert_int_equal(agent_metrics_render(&v, &out, &len), 0);
	HAS(out, "tcl_agent_enforcing 0");
	HASNT(out, "tcl_checks_total");
	HASNT(out, "tcl_log_bytes");
	HASNT(out, "tcl_attest_verdict");
	HAS(out, "# TYPE tcl_image_digests gauge");
	free(out);
}

/* An attestor verdict outside the known four still shows, escaped. */
static void test_odd_verdict(void **state)
{
	struct agent_metrics_view v = { 0 };
	struct tcl_attest_worker_status as = { 0 };
	char *out = NULL;
	size_t len;

	snprintf(as.verdict, sizeof(as.verdict), "we\"ird");
	v.attest = &as;
	assert_int_equal(agent_metrics_render(&v, &out, &len), 0);
	HAS(out, "tcl_attest_verdict{verdict=\"trusted\"} 0");
	HAS(out, "tcl_attest_verdict{verdict=\"we\\\"ird\"} 1");
	free(out);
}

/* The bumps: what the other modules report shows in a render of the module's own state is
 * covered by the guest test; here only their bounds (bucket choice). */
static void test_addr(void **state)
{
	assert_int_equal(agent_metrics_check_addr("127.0.0.1:9464"), 0);
	assert_int_equal(agent_metrics_check_addr("[::1]:9464"), 0);
	assert_int_equal(agent_metrics_check_addr("localhost:1"), 0);
	assert_int_equal(agent_metrics_check_addr("127.0.0.1"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr(":9464"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr("127.0.0.1:0"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr("127.0.0.1:65536"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr("127.0.0.1:94x"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr("127.0.0.1:"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr("[::1]9464"), -EINVAL);
	assert_int_equal(agent_metrics_check_addr("127.0.0.1:-5"), -EINVAL);
}

/* promtool (Debian prometheus, scripts/deps.sh) accepts the text. */
static void test_promtool(void **state)
{
	struct agent_metrics_view v;
	struct tcl_measure_status ms;
	struct tcl_attest_worker_status as;
	struct agent_metrics_image im[2];
	char *out = NULL, cmd[512];
	size_t len;
	FILE *p;
	int st;

	fixed_view(&v, &ms, &as, im);
	assert_int_equal(agent_metrics_render(&v, &out, &len), 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics > %s/promtool.out 2>&1", tu_dir);
	p = popen(cmd, "w");
	assert_non_null(p);
	assert_int_equal(fwrite(out, 1, len, p), len);
	st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		snprintf(cmd, sizeof(cmd), "cat %s/promtool.out", tu_dir);
		if (system(cmd))
			fprintf(stderr, "(no promtool output)\n");
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_odd_verdict),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests(tests, tu_group_setup, tu_group_teardown);
}
